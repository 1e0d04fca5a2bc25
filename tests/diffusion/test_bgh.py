"""pyDiffMap's automatic bandwidth reproduced on precomputed distances (landscape.diffusion.bgh)."""

import numpy as np
import pytest

from landscape.diffusion import bgh, euclidean_sq


@pytest.mark.parametrize("shape, k", [((300, 3), 64), ((200, 10), 30), ((50, 2), 64)])
def test_same_choice_as_pydiffmap_on_euclidean_points(shape, k):
    pydiffmap_kernel = pytest.importorskip("pydiffmap.kernel")
    X = np.random.default_rng(shape[0]).normal(size=shape)
    ref = pydiffmap_kernel.Kernel(epsilon="bgh", k=k).fit(X)
    ours = bgh.bgh_bandwidth(euclidean_sq(X), k=k)
    assert ours.eps == ref.epsilon_fitted and ours.dimension == ref.d  # the same grid point, the same integer
    # pyDiffMap's own estimator on its own sparse distances, to compare the slope itself
    log_T = [np.log(np.exp(-ref.scaled_dists.data ** 2 / (4 * e)).sum()) for e in (ours.eps, 2 * ours.eps)]
    assert ours.slope_max == pytest.approx((log_T[1] - log_T[0]) / np.log(2), rel=1e-9)


def test_knn_values_include_self_and_scale_with_kernel():
    D2 = euclidean_sq(np.random.default_rng(0).normal(size=(40, 2)))
    v = bgh.knn_sq_values(D2, k=5)
    assert v.size == 200 and np.count_nonzero(v == 0) == 40  # one zero (the point itself) per row
    a = bgh.bgh_bandwidth(D2, k=5)
    b = bgh.bgh_bandwidth(4 * D2, k=5, kernel_scale=1.0)  # exp(-4d²/(16ε)) = exp(-d²/(4ε)): the curve moved by 2^4
    assert b.eps == 16 * a.eps and a.dimension == b.dimension and a.slope_max == pytest.approx(b.slope_max, rel=1e-12)
    assert a.k == 5


def test_line_gives_dimension_one_plane_two():
    """Points on a fine line / a fine grid: the steepest slope is d/2, the Berry-Harlim rule."""
    t = np.linspace(0, 1, 400)[:, None]
    assert bgh.bgh_bandwidth(euclidean_sq(t), k=64).dimension == 1
    g = np.stack(np.meshgrid(np.linspace(0, 1, 25), np.linspace(0, 1, 25)), -1).reshape(-1, 2)
    assert bgh.bgh_bandwidth(euclidean_sq(g), k=64).dimension == 2


@pytest.mark.parametrize("kwargs, match", [({"k": 0}, "k"), ({"epsilons": [1.0]}, "epsilons"),
                                           ({"kernel_scale": -1.0}, "kernel_scale")])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bgh.bgh_bandwidth(np.zeros((3, 3)), **kwargs)
