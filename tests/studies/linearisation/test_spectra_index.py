"""landscape.studies.linearisation: the two-layer nets' H1 mapped to the model energy with the relation of their own
activation (issue 22: the ReLU rows used the linear relation, eps = m2 / 2, 4 / phi too small).
"""

import numpy as np
import pytest

from landscape.geometry import linearise, spectra
from landscape.studies.linearisation import linearise_studies


@pytest.mark.parametrize("activation, eps, phi", [("linear", 0.1, 0.5), ("relu", 0.2, 0.5), ("relu", 0.05, 0.25)])
def test_model_density_variance_is_phi_plus_the_h1_moment(activation, eps, phi):
    """Free cumulants add: Var rho_H = phi (Marchenko-Pastur, mean 1) + m2(H1); energy_from_h1_moment inverts m2 to
    the energy on the density itself (quadrature on 40,001 points: 1e-3 relative).
    """
    x = np.linspace(-4.0, 8.0, 40001)
    rho = spectra.pennington_bahri_density(x, eps, phi, activation)
    mass = np.trapezoid(rho, x)
    mean = np.trapezoid(x * rho, x) / mass
    var = np.trapezoid(x**2 * rho, x) / mass - mean**2
    assert mass == pytest.approx(1.0, abs=1e-3) and mean == pytest.approx(1.0, abs=1e-3)
    assert spectra.energy_from_h1_moment(var - phi, phi, activation) == pytest.approx(eps, rel=1e-3)
    if activation == "relu":  # the linear relation gets the ReLU energy 4 / phi times too small
        assert (var - phi) / 2 == pytest.approx(eps * phi / 4, rel=1e-3)


def test_sampled_linear_model_recovers_its_energy():
    """Sampled Wishart + Wigner matrices (n = 600, two draws): Var(H) - Var(H0) (the same H0 draw) / 2 = eps within
    3 % (the sampling error of a mean square of ~n^2 / 2 independent entries is ~0.3 %, the H0-H1 cross term
    ~1 / n).
    """
    eps, phi, n = 0.1, 0.5, 600
    for seed in range(2):
        ev = spectra.sample_hessian_model(n, eps, phi, seed=seed)
        ev0 = spectra.sample_hessian_model(n, 0.0, phi, seed=seed)  # the same H0 (same draw order), H1 = 0
        m2 = ev.var() - ev0.var()
        assert spectra.energy_from_h1_moment(m2, phi) == pytest.approx(eps, rel=0.03)


def test_split_study_maps_each_activation_with_its_own_relation():
    """The ReLU and linear nets' sampled H1: eps_model = m2 / 2 (linear) and 2 m2 / phi (ReLU), m2 the mean square
    eigenvalue of the normalised H1 recomputed here, and alpha_model the density's index at that energy.
    """
    n, phi, eps = 3, 0.5, 0.3
    df, _ = linearise_studies.split_study(n, [phi], [eps], seed=0)
    m = int(round(2 * n / phi))
    X = np.random.default_rng([0, m]).standard_normal((m, n))
    for act, factor in (("linear", 0.5), ("relu", 2 / phi)):
        net = linearise.two_layer(n, n, n_out=n, activation=act, seed=0, scaled=False, second="normal")
        H, H0, H1 = linearise.hessian_split(net, X, linearise_studies.residual_targets(net, X, eps, seed=1))
        m2 = np.mean(np.linalg.eigvalsh(H1 / (np.trace(H0) / H.shape[0])) ** 2)
        row = df[df.activation == act].iloc[0]
        assert row.eps_model == pytest.approx(factor * m2, rel=1e-12)
        assert row.alpha_model == spectra.negative_fraction(row.eps_model, phi, act)
    with pytest.raises(ValueError, match="activation"):
        spectra.energy_from_h1_moment(0.1, 0.5, "tanh")
    with pytest.raises(ValueError, match="second_moment"):
        spectra.energy_from_h1_moment(-0.1, 0.5)
