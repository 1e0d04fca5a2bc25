"""Optimizer families against the within-basin null of chapter 06 (source 003, Sec. 5.1.1)."""

import numpy as np
import pandas as pd
import pytest
import torch

from landscape.nets import models, optimizers
from landscape.studies.interpolation_planes.functions import BATCH_OFFSET, disagreement_vs_null
from landscape.surfaces.solutions import functional_difference

F = torch.nn.functional.cross_entropy


def _data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(60, 4, generator=g, dtype=torch.float64)
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).long() + (X[:, 2] > 1).long()


def test_rows_match_independent_runs():
    X, y = _data()
    lrs = {"sgd": 0.2, "adam": 0.02}
    fr = disagreement_vs_null([4, 6, 3], F, (X, y), X, lrs, epochs=3, seeds=[7], batch_size=16).iloc[0]
    theta = {}
    for m in lrs:
        for k in (0, 1):
            net = models.mlp([4, 6, 3], seed=7)
            theta[m, k] = optimizers.train(net, F, X, y, [(m, 3, lrs[m])], batch_size=16,
                                           seed=7 + k * BATCH_OFFSET).params[-1]

    def d(a, b):
        return float(functional_difference(net, {"a": theta[a], "b": theta[b]}, X).disagreement.iloc[0])

    assert fr.null_a == d(("sgd", 0), ("sgd", 1)) and fr.null_b == d(("adam", 0), ("adam", 1))
    assert fr.cross == pytest.approx(0.5 * (d(("sgd", 0), ("adam", 0)) + d(("sgd", 1), ("adam", 1))), abs=1e-15)
    assert fr.excess == pytest.approx(fr.cross - 0.5 * (fr.null_a + fr.null_b), abs=1e-15)


def test_full_batch_null_is_zero():
    X, y = _data()  # one minibatch holding every row: the batch order cannot matter, the null is exactly 0
    fr = disagreement_vs_null([4, 6, 3], F, (X, y), X, {"sgd": 0.2, "adam": 0.02}, epochs=5, seeds=[0, 1],
                              batch_size=len(X))
    assert np.all(fr.null.to_numpy() == 0.0)
    assert np.all(fr.excess.to_numpy() == fr.cross.to_numpy())


def test_bad_input():
    X, y = _data()
    with pytest.raises(ValueError, match="seeds"):
        disagreement_vs_null([4, 3], F, (X, y), X, {"sgd": 0.1, "adam": 0.01}, epochs=1, seeds=[])
    with pytest.raises(ValueError, match="methods"):
        disagreement_vs_null([4, 3], F, (X, y), X, {"sgd": 0.1}, methods=("sgd", "sgd"), epochs=1, seeds=[0])
    with pytest.raises(ValueError, match="lrs"):
        disagreement_vs_null([4, 3], F, (X, y), X, {"sgd": 0.1}, epochs=1, seeds=[0])


def test_known_runs_from_basin_profiles_give_the_same_rows():
    from landscape.surfaces.solutions import basin_profiles

    X, y = _data()
    lrs = {"sgd": 0.2, "adam": 0.02}
    kw = dict(epochs=3, batch_size=16)
    _, params = basin_profiles([4, 6, 3], F, (X, y), lrs, reruns=2, alphas=[0.0, 1.0, 2.0], level=1.0, seed=5,
                               return_params=True, **kw)
    seeds, batch = [105, 106], [5, 6]  # basin_profiles: initialisation seed + 100 + r, batches seed + r
    known = {(105 + r, m, 0): params[m, r] for m in lrs for r in range(2)}
    fresh = disagreement_vs_null([4, 6, 3], F, (X, y), X, lrs, seeds=seeds, batch_seeds=batch, **kw)
    reused = disagreement_vs_null([4, 6, 3], F, (X, y), X, lrs, seeds=seeds, batch_seeds=batch, known=known, **kw)
    pd.testing.assert_frame_equal(fresh, reused)
    with pytest.raises(ValueError, match="batch_seeds"):
        disagreement_vs_null([4, 6, 3], F, (X, y), X, lrs, seeds=seeds, batch_seeds=[5], **kw)


def test_profile_distances_across_inits_skips_same_init_pairs():
    from landscape.studies.interpolation_planes.functions import profile_distances_across_inits
    from landscape.surfaces.solutions import profile_distances

    # two optimizers a, b from the same two inits: b's run r equals a's run r exactly (same start), while the two
    # inits differ by 2 in log-loss. All-pairs counting puts the identical same-init pairs into "between".
    logs = {("a", 0): [0.0, 0.0], ("a", 1): [2.0, 0.0], ("b", 0): [0.0, 0.0], ("b", 1): [2.0, 0.0]}
    fr = pd.DataFrame([{"optimizer": o, "rerun": r, "alpha": float(i), "loss": float(np.exp(v))}
                       for (o, r), vs in logs.items() for i, v in enumerate(vs)])
    within_all, between_all = profile_distances(fr)
    assert within_all == pytest.approx(2.0) and between_all == pytest.approx(1.0)  # the artefact: between < within
    within, between, nw, nb = profile_distances_across_inits(fr)
    assert (nw, nb) == (2, 2)
    assert within == pytest.approx(2.0, abs=1e-12) and between == pytest.approx(2.0, abs=1e-12)


def test_profile_distances_across_inits_rejects_bad_input():
    from landscape.studies.interpolation_planes.functions import profile_distances_across_inits

    fr = pd.DataFrame({"optimizer": ["a", "b"], "rerun": [0, 0], "alpha": 0.0, "loss": 1.0})
    with pytest.raises(ValueError, match="two re-runs"):
        profile_distances_across_inits(fr)
    with pytest.raises(ValueError, match="floor"):
        profile_distances_across_inits(fr, floor=0.0)
