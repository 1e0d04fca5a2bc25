"""The XOR surface (source 003, Secs. 5.3 / 5.6.2): the error, its symmetry, the non-ascending search."""

import copy

import numpy as np
import torch

from landscape.geometry import symmetry
from landscape.nets import models
from landscape.studies.symmetries_spectra import xor


def test_error_matches_the_model_and_is_group_invariant():
    net = models.mlp([2, 2, 1], "sigmoid", seed=0, dtype=torch.float64)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(generator=torch.Generator().manual_seed(p.numel()))
    ref = 0.5 * ((torch.sigmoid(net(xor.PATTERNS)).squeeze(1) - xor.TARGETS) ** 2).sum()
    e = xor.error(models.flatten(net)).detach()
    assert abs(float(ref.detach() - e)) <= 1e-15
    values = [float(xor.error(models.flatten(symmetry.apply_element(copy.deepcopy(net), g))))
              for g in symmetry.group_elements([2])]
    assert len(values) == symmetry.group_order([2]) == 8
    assert max(abs(v - float(e)) for v in values) <= 1e-14


def test_classify_origin_closed_form_and_descend_is_non_ascending():
    zero = torch.zeros(1, 9, dtype=torch.float64)
    row = xor.classify(zero).iloc[0]
    # at the origin every output is 1/2: E = 1/2, gradient 0, and only the output block (w2, b2) is curved:
    # H = sum_p J_p J_p^T with J_p = sigma'(0) (1/2, 1/2, 1), whose one non-zero eigenvalue is 4 * 1/16 * 3/2 = 3/8
    assert row.error == 0.5 and row.grad_norm == 0.0 and abs(row.lambda_max - 0.375) <= 1e-15
    assert row["kind"] == "flat" and row["index"] == 0
    start = (torch.rand(4, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1)
    d = xor.descend(start, max_steps=80, seed=0)
    assert np.all(np.diff(d.errors, axis=0) <= 0)  # non-ascending by construction
    assert np.array_equal(d.reached, d.errors[-1] < 1e-3) and d.reached.any()


def test_restart_study_marks_solved_runs_escaped_and_searches_only_the_stalled():
    kinds, hist = xor.restart_study(12, steps=150, lr=0.5, init_range=1.0, descend_steps=50, seed=0)
    assert hist.shape == (151, 12) and len(kinds) == 12
    solved = kinds.kind == "solved"
    assert kinds.escaped[solved].all()
    if "error_after_search" in kinds:
        assert kinds.error_after_search[solved].isna().all() and kinds.error_after_search[~solved].notna().all()
    assert (~solved).any()  # 150 steps are too few for some restarts: the search branch runs


def test_descend_measures_the_rise_of_its_paths_and_slack_bounds_it():
    start = (torch.rand(6, 9, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1)
    strict = xor.descend(start, max_steps=60, seed=0, dense=8)
    assert strict.max_rise.shape == (6,) and np.all(strict.max_rise >= 0)
    relaxed = xor.descend(start, max_steps=60, seed=0, slack=1e-3, dense=1)  # dense=1: only the step's end point
    assert np.all(relaxed.max_rise <= 1e-3 + 1e-15)  # the end points are among the points the search checked


def test_stationary_point_of_a_stall_near_the_symmetric_saddle():
    ends, _ = xor.train_restarts(1, steps=600, lr=0.5, init_range=1.0, seed=0)
    row = xor.stationary_points(ends).iloc[0]
    # the search lands where every output is 1/2 (E = 4 x 1/8 exactly), a saddle with two negative directions
    assert abs(row.error - 0.5) <= 1e-12 and row.grad_norm <= 1e-8 and row.newton_length <= 1e-7
    assert row["kind"] == "saddle" and row.n_negative == 2 and row.norm < 20
    far = xor.stationary_points(ends * 40).iloc[0]  # saturated weights: the iterate stays at large norm
    assert far["kind"] == "at infinity" and far.norm >= 20


def test_stall_study_rows_follow_the_restart_study():
    kinds, _, ends = xor.restart_study(4, steps=300, lr=0.5, init_range=1.0, descend_steps=40, seed=0, with_ends=True)
    assert torch.equal(ends, xor.train_restarts(4, steps=300, lr=0.5, init_range=1.0, seed=0)[0])
    st = xor.stall_study(kinds, ends, descend_steps=40, seed=0)
    assert st.restart.tolist() == np.flatnonzero(kinds.kind != "solved").tolist()
    assert ((st.path == "strict") == st.escaped).all()
    assert st.relaxed_rise[st.escaped].isna().all()
    empty = xor.stall_study(kinds.assign(kind="solved"), ends, descend_steps=40)
    assert len(empty) == 0 and "path" in empty
