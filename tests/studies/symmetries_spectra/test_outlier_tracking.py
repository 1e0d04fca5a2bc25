"""SLQ quadrature smoothed at a second kernel width (source 003, Sec. 5.5.2): exact answers on small matrices."""

import numpy as np
import pytest

from landscape.curvature import hessian
from landscape.studies.symmetries_spectra.outlier_tracking import resmoothed_density


def _spectrum(n=60, seed=0):
    """A symmetric matrix with a bulk and two outliers, and its eigenvalues."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.concatenate([rng.uniform(-0.2, 1.0, n - 2), [8.0, 15.0]])
    return (q * lam) @ q.T, lam


def test_at_its_own_width_it_is_the_estimate_itself():
    H, lam = _spectrum()
    sigma = 0.05
    grid = np.linspace(lam.min() - 1, lam.max() + 1, 800)
    for deflate in (False, True):
        est = hessian.slq_density(H, 6, 12, grid=grid, sigma=sigma, seed=3, deflate=deflate)
        assert np.max(np.abs(resmoothed_density(est, grid, sigma) - est.density)) <= 1e-12 * est.density.max()


def test_a_run_at_a_narrow_width_gives_the_wide_density_up_to_probe_noise():
    H, lam = _spectrum(n=30)
    est = hessian.slq_density(H, 30, 30, sigma=0.01, seed=1, deflate=False)  # m = n: nodes are the eigenvalues
    grid = np.linspace(lam.min() - 2, lam.max() + 2, 1500)
    wide = 0.3  # 30x the run's own width
    exact = hessian.smoothed_density(lam, grid, wide)
    # 30 probes: only probe noise is left (L1 0.02-0.05 over seeds 0-3); at the run's own width the L1 is 0.97
    assert hessian.density_l1(grid, exact, resmoothed_density(est, grid, wide)) < 0.1
    assert float(np.trapezoid(resmoothed_density(est, grid, wide), grid)) == pytest.approx(1.0, abs=1e-6)


def test_deflated_outliers_are_point_masses_at_any_width():
    lam = np.array([-1.0, 0.5, 2.0, 3.0])
    est = hessian.slq_density(np.diag(lam), n_probes=4, n_steps=4, sigma=0.1)  # all four deflated exactly
    grid = np.linspace(-4, 6, 2001)
    for sigma in (0.1, 0.7):
        ref = hessian.smoothed_density(lam, grid, sigma)
        assert np.max(np.abs(resmoothed_density(est, grid, sigma) - ref)) <= 1e-10 * ref.max()


def test_bad_width_or_grid_is_a_value_error():
    est = hessian.slq_density(np.diag([1.0, 2.0]), n_probes=1, n_steps=2, sigma=0.1)
    with pytest.raises(ValueError, match="sigma"):
        resmoothed_density(est, [0.0, 1.0], 0.0)
    with pytest.raises(ValueError, match="grid"):
        resmoothed_density(est, [1.0, 0.0], 0.1)
