"""landscape.geometry.spectra against closed forms, moments of the R-transforms and Monte-Carlo spectra."""

import doctest

import numpy as np
import pytest

from landscape.geometry import spectra
from landscape.studies.linearisation import spectra_index

X = np.linspace(-4.0, 8.0, 48001)


def _mass(d, x=X):
    return float(np.trapezoid(d, x))


@pytest.mark.parametrize("phi", [0.2, 0.5, 0.9, 2.0])
def test_marchenko_pastur_mass_and_mean(phi):
    # continuous part has mass min(1, 1/phi); with the atom the mean is sigma^2 = 1 and the variance phi
    d = spectra.marchenko_pastur_density(X, phi)
    assert _mass(d) + spectra.marchenko_pastur_atom(phi) == pytest.approx(1.0, abs=2e-4)
    assert _mass(X * d) == pytest.approx(1.0, abs=2e-4)
    assert _mass(X**2 * d) - 1.0 == pytest.approx(phi, abs=5e-4)


def test_marchenko_pastur_sigma_scales_and_matches_wishart():
    d2 = spectra.marchenko_pastur_density(X, 0.5, sigma=np.sqrt(2.0))
    assert np.allclose(d2, spectra.marchenko_pastur_density(X / 2, 0.5) / 2, atol=1e-12)
    rng = np.random.default_rng(0)
    n, p = 800, 1600
    J = rng.standard_normal((n, p)) / np.sqrt(p)
    ev = np.linalg.eigvalsh(J @ J.T)
    edges = np.linspace(0, 3, 31)
    hist, _ = np.histogram(ev, edges)
    prob = np.array([_mass(spectra.marchenko_pastur_density(np.linspace(a, b, 401), 0.5), np.linspace(a, b, 401))
                     for a, b in zip(edges[:-1], edges[1:], strict=True)])
    # 800 eigenvalues, bins of expected count up to ~60: sampling error sqrt(60)/800 ~ 0.01 (eigenvalues are rigid)
    assert np.max(np.abs(hist / n - prob)) < 0.01


def test_semicircle_closed_form():
    d = spectra.semicircle_density(X, 0.7)
    assert _mass(d) == pytest.approx(1.0, abs=1e-4)
    assert _mass(X**2 * d) == pytest.approx(0.49, abs=1e-4)  # variance sigma^2
    assert spectra.semicircle_density(1.4001, 0.7) == 0.0
    assert spectra.semicircle_density(0.0, 0.7) == pytest.approx(2 * 0.7 / (2 * np.pi * 0.49))


@pytest.mark.parametrize("activation", ["linear", "relu"])
@pytest.mark.parametrize("eps, phi", [(0.05, 0.3), (0.3, 0.5), (1.0, 0.8), (0.2, 1.5)])
def test_free_convolution_moments(activation, eps, phi):
    # mass 1; mean R(0) = 1; variance = R'(0) = phi + 2 eps (linear) or phi + eps phi / 2 (ReLU)
    d = spectra.pennington_bahri_density(X, eps, phi, activation)
    var = phi + (2 * eps if activation == "linear" else eps * phi / 2)
    assert _mass(d) == pytest.approx(1.0, abs=2e-4)
    assert _mass(X * d) == pytest.approx(1.0, abs=2e-4)
    assert _mass(X**2 * d) - 1.0 == pytest.approx(var, abs=1e-3)


def test_eps_zero_is_marchenko_pastur_and_small_eps_is_close():
    assert np.array_equal(spectra.pennington_bahri_density(X, 0.0, 0.5), spectra.marchenko_pastur_density(X, 0.5))
    d = spectra.pennington_bahri_density(X, 1e-6, 0.5)
    assert np.max(np.abs(d - spectra.marchenko_pastur_density(X, 0.5))) < 0.02


def test_density_matches_sampled_wishart_plus_wigner():
    eps, phi = 0.2, 0.5
    ev = np.concatenate([spectra.sample_hessian_model(600, eps, phi, seed=s) for s in range(3)])
    edges = np.linspace(-1.5, 4.0, 23)
    hist, _ = np.histogram(ev, edges)
    prob = np.array([_mass(spectra.pennington_bahri_density(np.linspace(a, b, 401), eps, phi),
                           np.linspace(a, b, 401)) for a, b in zip(edges[:-1], edges[1:], strict=True)])
    assert np.max(np.abs(hist / ev.size - prob)) < 0.012
    assert np.mean(ev < 0) == pytest.approx(spectra.negative_fraction(eps, phi), abs=0.01)


@pytest.mark.parametrize("phi", [0.25, 0.5, 0.75])
@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_negative_fraction_switches_on_at_critical_energy(phi, activation):
    ec = spectra.critical_energy(phi, activation)
    assert spectra.negative_fraction(0.98 * ec, phi, activation) == 0.0
    assert spectra.negative_fraction(1.02 * ec, phi, activation) > 0.0
    # the 3/2 law near eps_c: alpha(1.04) / alpha(1.02) ~ 2^{3/2}
    a1, a2 = (spectra.negative_fraction(f * ec, phi, activation) for f in (1.02, 1.04))
    ratio = a2 / a1
    assert ratio == pytest.approx(2**1.5, rel=0.05)


def test_critical_energy_closed_form_and_slide_relu_factor():
    assert spectra.critical_energy(0.5) == pytest.approx((1 - 10 - 2 + 125**0.5) / 16)
    assert spectra.critical_energy(2.0) == 0.0
    for phi in (0.25, 0.5):
        assert spectra.critical_energy_relu_slide(phi) == pytest.approx(phi**2 * spectra.critical_energy(phi, "relu"))


def test_validation():
    with pytest.raises(ValueError, match="phi"):
        spectra.marchenko_pastur_density(X, -1)
    with pytest.raises(ValueError, match="eps"):
        spectra.pennington_bahri_density(X, np.nan, 0.5)
    with pytest.raises(ValueError, match="x"):
        spectra.semicircle_density([np.inf], 1.0)
    with pytest.raises(ValueError, match="activation"):
        spectra.negative_fraction(0.1, 0.5, "tanh")
    with pytest.raises(ValueError, match="n"):
        spectra.sample_hessian_model(0, 0.1, 0.5)


def test_doctests():
    assert doctest.testmod(spectra, optionflags=doctest.ELLIPSIS).failed == 0


def test_sampled_index_units_bit_identical():
    """Issue 15: one draw per unit with its own seed; one worker or two give the same frame, equal to direct draws."""
    import pandas as pd

    one = spectra_index.sampled_index([20, 40], [0.5], [0.1, 0.5], draws=2, seed=3, jobs=1)
    two = spectra_index.sampled_index([20, 40], [0.5], [0.1, 0.5], draws=2, seed=3, jobs=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    row = one.iloc[-1]  # n = 40, draw 1, eps = 0.5
    direct = np.mean(spectra.sample_hessian_model(40, 0.5, 0.5, seed=3001) < 0)
    assert (row.n, row.draw, row.eps) == (40, 1, 0.5) and row.alpha_mc == direct
    assert row.alpha_model == spectra.negative_fraction(0.5, 0.5)
    curves = spectra_index.alpha_curves([0.5], points=6, span=5.0)
    assert len(curves) == 2 * 5
    assert curves.groupby("activation").alpha.apply(lambda a: a.is_monotonic_increasing).all()
