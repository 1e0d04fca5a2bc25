"""Premises of the fixed-eps claims of chapter 02 (landscape.studies.diffusion_maps.dimension_tables): kernel support
on hand-made distance matrices, the training-length premise and their combination.
"""

import numpy as np
import pytest

from landscape.studies.diffusion_maps import dimension_tables as dt


def test_kernel_support_counts_exactly():
    # 3 points: d²(0,1) = 1, d²(0,2) = d²(1,2) = 100; at eps = 1: exp(-1) > 1e-12, exp(-100) = 3.7e-44 < 1e-12
    sq = np.array([[0.0, 1.0, 100.0], [1.0, 0.0, 100.0], [100.0, 100.0, 0.0]])
    nbrs, flat = dt.kernel_support(sq, 1.0)
    assert nbrs == pytest.approx(2 / 3)  # 2 ordered pairs (0,1), (1,0) over 3 points
    assert flat == 0.0
    # at eps = 1e16 every entry is 1 within 1e-12 (exp(-100/1e16) = 1 - 1e-14)
    nbrs, flat = dt.kernel_support(sq, 1e16)
    assert nbrs == 2.0 and flat == 1.0


def test_identity_and_constant_kernels_are_degenerate_and_a_middle_one_is_not():
    x = np.arange(50.0)
    sq = (x[:, None] - x[None, :]) ** 2
    assert not dt.nondegenerate(*dt.kernel_support(sq, 1e-3))  # nearest pair exp(-1000): identity kernel
    assert not dt.nondegenerate(*dt.kernel_support(np.zeros((50, 50)), 1.0))  # all distances 0: constant kernel
    assert dt.nondegenerate(*dt.kernel_support(sq, 10.0))  # neighbours within |i-j| <= 16: 29 on average


def test_kernel_premise_takes_the_worst_kernel():
    name, ok, detail = dt.kernel_premise([5.0, 0.2], [0.0, 0.0], where="at eps = 3")
    assert name == "kernel non-degenerate at eps = 3" and not ok and "0.2 effective" in detail
    assert dt.kernel_premise([5.0, 2.0], [0.0, 0.5])[1]
    assert not dt.kernel_premise([5.0], [1.0])[1]


def test_length_premise_and_all_premises():
    assert dt.length_premise(2400, 400)[1]
    assert not dt.length_premise(120, 20)[1]
    assert not dt.length_premise(2400, 400, src_d=2400)[1]  # d = M needs M - 1 >= d
    assert dt.length_premise(2400, 400, src_d=868)[1]
    both = dt.all_premises(dt.length_premise(2400, 400), dt.kernel_premise(0.5, 0.0))
    assert not both[1] and "(holds)" in both[2] and "(FAILS)" in both[2]
    assert dt.all_premises(dt.length_premise(2400, 400))[1]


def test_bad_input_raises():
    with pytest.raises(ValueError, match="eps"):
        dt.kernel_support(np.zeros((3, 3)), 0.0)
    with pytest.raises(ValueError, match="sq"):
        dt.kernel_support(np.zeros((3, 2)), 1.0)
    with pytest.raises(ValueError, match="neighbours"):
        dt.kernel_premise([], [])
    with pytest.raises(ValueError, match="M and epochs"):
        dt.length_premise(0, 10)
    with pytest.raises(ValueError, match="premises"):
        dt.all_premises()


def test_cv_interval_matches_the_chi_square_formula():
    from scipy import stats

    x = np.array([16.0, 17.0, 18.0, 17.0, 19.0])  # mean 17.4, s = 1.1402
    cv, lo, hi = dt.cv_interval(x)
    s = np.std(x, ddof=1)
    assert cv == pytest.approx(s / 17.4, rel=1e-12)
    assert lo == pytest.approx(s * np.sqrt(4 / stats.chi2.ppf(0.975, 4)) / 17.4, rel=1e-12)
    assert hi == pytest.approx(s * np.sqrt(4 / stats.chi2.ppf(0.025, 4)) / 17.4, rel=1e-12)
    assert lo < cv < hi
    with pytest.raises(ValueError, match="sample"):
        dt.cv_interval([3.0])
    with pytest.raises(ValueError, match="level"):
        dt.cv_interval(x, level=1.0)


def test_bracket_at_d_takes_the_scanned_neighbours_without_interpolating():
    import pandas as pd

    scan = pd.DataFrame({"eps": [0.1, 1.0, 10.0, 100.0], "d": [118, 42, 8, 0], "auc": [0.99, 0.922, 0.908, 0.5]})
    b = dt.bracket_at_d(scan, 17)
    assert b == {"eps_lo": 10.0, "eps_hi": 1.0, "d_lo": 8, "d_hi": 42, "auc_lo": 0.908, "auc_hi": 0.922}
    exact = dt.bracket_at_d(scan, 42)
    assert exact["d_lo"] == exact["d_hi"] == 42 and exact["auc_lo"] == exact["auc_hi"] == 0.922
    assert dt.bracket_at_d(scan, 200) is None  # never reached
    assert dt.bracket_at_d(scan, 5) is None  # d = 0 rows do not count
    with pytest.raises(ValueError, match="scan"):
        dt.bracket_at_d(scan[["eps", "d"]], 17)


def test_eps_at_d_interpolates_log_eps_against_log_d():
    import pandas as pd

    scan = pd.DataFrame({"eps": [1.0, 100.0], "d": [100, 1]})  # log d = 2 log 10 - log eps: d = 100 / eps
    assert dt.eps_at_d(scan, 10) == pytest.approx(10.0, rel=1e-12)
    assert dt.eps_at_d(scan, 1000) is None
    with pytest.raises(ValueError, match="d_target"):
        dt.eps_at_d(scan, 0)


def test_fitted_eps_hits_the_target_d_on_a_curve():
    from landscape.diffusion import euclidean_sq, manifold

    t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    sq = euclidean_sq(np.c_[np.cos(t), np.sin(t)])  # a circle: d falls continuously with eps
    eps = dt.fitted_eps(sq, 17, np.geomspace(1e-6, 1e3, 40), n_scan=12)
    assert eps is not None
    d = manifold.summarise(sq, eps).d
    assert abs(d - 17) <= 3  # interpolated between scanned eps: within the d step of the 12-point scan
    with pytest.raises(ValueError, match="n_scan"):
        dt.fitted_eps(sq, 17, np.geomspace(1e-6, 1e3, 40), n_scan=1)
