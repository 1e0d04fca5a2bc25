"""Baldi-Hornik critical points of linear networks (source 003, Sec. 5.6.1) against dense Hessians."""

import numpy as np
import pytest

from landscape.geometry import linear_networks as ln


@pytest.mark.parametrize("p, autoencoder", [(1, False), (2, False), (3, False), (2, True)])
def test_critical_points_are_minimum_or_saddles_with_the_predicted_index(p, autoencoder):
    rng = np.random.default_rng(p)
    X = rng.standard_normal((5, 200))
    Y = X if autoencoder else rng.standard_normal((4, 5)) @ X + 0.3 * rng.standard_normal((4, 200))
    problem = ln.linear_problem(X, Y, p)
    df = ln.critical_points(problem)
    assert df.grad_norm.max() <= 1e-12  # every eigenvector subset gives a critical point
    assert (df["index"] == df.expected_index).all()  # index = #pairs (i in I, j not in I, lambda_j > lambda_i)
    assert (df.n_zero == p * p).all()  # the GL(p) orbit A C, C^-1 B: p^2 flat directions
    assert (df.kind == "minimum").sum() == 1 and df.loc[df.kind == "minimum", "subset"].item() == " ".join(
        map(str, range(p)))
    assert df.loss.idxmin() == df.index[df.kind == "minimum"][0]


def test_bad_input():
    with pytest.raises(ValueError, match=r"\bp\b"):
        ln.linear_problem(np.ones((3, 10)), np.ones((2, 10)), 3)
    with pytest.raises(ValueError, match="subset"):
        ln.critical_point(ln.linear_problem(np.eye(3), np.eye(3), 2), [0, 0])
