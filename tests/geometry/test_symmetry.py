"""Equioutput symmetries (source 003, Sec. 5.2) against exact answers."""

import copy
import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from landscape.geometry import symmetry
from landscape.nets import models
from landscape.studies.symmetries_spectra import symmetry_studies


def _net(sizes=(3, 4, 3, 2), act="tanh", seed=0):
    net = models.mlp(list(sizes), act, seed=seed, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for p in net.parameters():  # random biases too (mlp starts them at zero)
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return net


X = torch.randn(50, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "identity"])
def test_equioutput_exact(act):
    net = _net(act=act)
    before, norm = net(X), models.flatten(net).norm()
    symmetry.permute_units(net, 0, [3, 1, 0, 2])
    symmetry.flip_units(net, 0, [0, 2])
    symmetry.permute_units(net, 1, [2, 0, 1])
    symmetry.flip_units(net, 1, [1])
    assert torch.max(torch.abs(net(X) - before)) <= 1e-12
    if act != "sigmoid":  # isometry eq (5); the sigmoid flip moves the next bias, so not an isometry
        assert abs(models.flatten(net).norm() - norm) <= 1e-12


def test_flip_rejects_relu_and_bad_input():
    net = _net(act="relu")
    with pytest.raises(ValueError, match="odd activation"):
        symmetry.flip_units(net, 0, [0])
    with pytest.raises(ValueError, match="perm"):
        symmetry.permute_units(_net(), 0, [0, 0, 1, 2])
    with pytest.raises(ValueError, match="layer"):
        symmetry.permute_units(_net(), 2, [0, 1])
    with pytest.raises(ValueError, match="widths"):
        symmetry.group_order([2, 0])


def test_group_order_brute_force():
    """#G eq (2) equals the number of distinct weight vectors in the throng of a generic net."""
    net = _net(sizes=(2, 3, 2, 1))
    rows, _ = symmetry.throng(net)
    distinct = len({tuple(np.round(r, 10)) for r in rows})
    assert distinct == symmetry.group_order([3, 2]) == 3 * 2 * 8 * 2 * 4
    # every copy has the same norm (eq (5)) and the same function (eq (1))
    assert np.ptp(np.linalg.norm(rows, axis=1)) <= 1e-12


def test_group_is_non_abelian_and_compose_matches_application():
    net = _net(sizes=(2, 3, 1))
    els = list(symmetry.group_elements([3]))
    rng = np.random.default_rng(0)
    non_commuting = 0
    for i, j in rng.integers(len(els), size=(20, 2)):
        g, h = els[i], els[j]
        a = models.flatten(symmetry.apply_element(symmetry.apply_element(copy.deepcopy(net), g), h))
        b = models.flatten(symmetry.apply_element(copy.deepcopy(net), symmetry.compose(h, g)))
        assert torch.equal(a, b)
        gh, hg = symmetry.compose(g, h), symmetry.compose(h, g)
        non_commuting += any(not np.array_equal(x[0], y[0]) or not np.array_equal(x[1], y[1])
                             for x, y in zip(gh, hg, strict=True))
    assert non_commuting > 0


def test_canonical_form_idempotent_and_invariant():
    net = _net()
    c = symmetry.canonical_form(net)
    assert symmetry.in_wedge(c)
    assert torch.max(torch.abs(c(X) - net(X))) <= 1e-12
    assert torch.equal(models.flatten(symmetry.canonical_form(c)), models.flatten(c))
    ref = models.flatten(c)
    for e in itertools.islice(symmetry.group_elements([4, 3]), 0, None, 97):
        moved = symmetry.apply_element(copy.deepcopy(net), e)
        assert torch.equal(models.flatten(symmetry.canonical_form(moved)), ref)


def test_throng_distances_of_single_flips_exact():
    """A single sign flip of unit u moves the weight vector by exactly 2 * |unit u's weights| (Sec. 5.2)."""
    net = _net(sizes=(2, 3, 1), seed=3)
    rows, els = symmetry.throng(net)
    W1, b1, W2 = (p.detach().numpy() for p in list(net.parameters())[:3])
    for u in range(3):
        k = next(i for i, e in enumerate(els) if np.array_equal(e[0][0], [0, 1, 2])
                 and np.array_equal(np.flatnonzero(e[0][1] < 0), [u]))
        assert symmetry.is_generator(els[k])
        unit = np.concatenate([W1[u], [b1[u]], W2[:, u]])
        assert abs(np.linalg.norm(rows[k] - rows[0]) - 2 * np.linalg.norm(unit)) <= 1e-12
    assert not symmetry.is_generator(els[0])


def _teacher():
    teacher = models.mlp([3, 2, 1], "tanh", seed=0, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    models.assign(teacher, torch.randn(models.n_params(teacher), generator=g, dtype=torch.float64))
    X = torch.randn(30, 3, generator=g, dtype=torch.float64)
    return teacher, X, teacher(X).detach()


def test_student_distances_bit_identical_for_one_and_two_workers():
    teacher, X, y = _teacher()
    one = symmetry_studies.student_distances(teacher, X, y, 3, epochs=20, jobs=1)
    pd.testing.assert_frame_equal(one, symmetry_studies.student_distances(teacher, X, y, 3, epochs=20, jobs=2),
                                  check_exact=True)
    assert list(one.student) == [0, 1, 2]
    assert (one.nearest_copy_distance <= one.raw_distance + 1e-12).all()  # the identity is in the throng
    with pytest.raises(ValueError, match="n_students"):
        symmetry_studies.student_distances(teacher, X, y, 0, epochs=1)


def test_fdc_points_distances_exact():
    teacher, X, y = _teacher()
    fr = symmetry_studies.fdc_points(teacher, X, y, 20, seed=3)
    rows, _ = symmetry.throng(teacher)
    rng = np.random.default_rng(3)
    scales, xis = rng.uniform(0, 3, 20), rng.standard_normal((20, rows.shape[1]))
    assert np.array_equal(fr.scale, scales)
    np.testing.assert_allclose(fr.plain, scales * np.linalg.norm(xis, axis=1), rtol=1e-12)
    assert (fr.modulo_G <= fr.plain + 1e-12).all() and (fr.error >= 0).all()
    assert symmetry_studies.fdc_points(teacher, X, y, 1, max_scale=1e-300).error.iloc[0] == pytest.approx(0, abs=1e-12)
    with pytest.raises(ValueError, match="max_scale"):
        symmetry_studies.fdc_points(teacher, X, y, 2, max_scale=0.0)


def test_equioutput_checks_on_tanh_nets_exact():
    g = torch.Generator().manual_seed(0)
    net = models.mlp([4, 5, 3], "tanh", seed=0, dtype=torch.float64)
    small = models.mlp([2, 3, 2, 1], "tanh", seed=0, dtype=torch.float64)
    models.assign(small, torch.randn(models.n_params(small), generator=g, dtype=torch.float64))
    c = symmetry_studies.equioutput_checks(net, torch.randn(10, 4, generator=g, dtype=torch.float64), small, 5, seed=1)
    assert c.max_output_change <= 1e-14 and c.max_norm_change <= 1e-14  # eq (1), eq (5): rounding only
    assert c.distinct_copies == symmetry.group_order([3, 2]) == 3 * 2 * 1 * 8 * 2 * 1 * 4  # eq (2): 384
    assert c.non_abelian and c.norm_spread <= 1e-15 and c.in_wedge == 1 and c.n_canonical == 1


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_moved_copies_are_the_deepcopied_moves_bit_for_bit(act):
    net = _net(act=act)
    before = models.flatten(net).clone()
    elements = list(itertools.islice(symmetry.group_elements(symmetry.hidden_widths(net)), 0, 2000, 37))
    for moved, e in zip(symmetry.moved_copies(net, elements), elements, strict=True):
        ref = symmetry.apply_element(copy.deepcopy(net), e)
        assert torch.equal(models.flatten(moved), models.flatten(ref))  # the same values, not close ones
        assert torch.equal(moved(X), ref(X))
    assert torch.equal(models.flatten(net), before)  # the model itself never moves
    rows, found = symmetry.throng(_net((2, 3, 2, 1)))
    assert len(rows) == len(found) == 384 and np.array_equal(rows[0], models.flatten(_net((2, 3, 2, 1))).numpy())


def test_solution_distances_bit_identical_for_one_and_two_workers():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(40, 4, generator=g, dtype=torch.float64), torch.randint(0, 3, (40,), generator=g)
    one = symmetry_studies.solution_distances([4, 3, 3], X, y, 3, epochs=2, batch_size=10, jobs=1)
    pd.testing.assert_frame_equal(one, symmetry_studies.solution_distances([4, 3, 3], X, y, 3, epochs=2, batch_size=10,
                                                                   jobs=2), check_exact=True)
    assert list(zip(one.a, one.b, strict=True)) == [(0, 1), (0, 2), (1, 2)] and (one.raw > 0).all()
