r"""The index :math:`\alpha(\epsilon, \phi)` of the Wishart + Wigner Hessian model (source 001, after Pennington &
Bahri 2017) as the chapter measures it: :math:`\alpha(\epsilon)` curves of the density, Monte-Carlo indices of sampled
matrices (independent draws through :func:`landscape.infra.executor.map_units`), the exponent of the onset just above
:math:`\epsilon_c` (theory 3/2) and the check that negative eigenvalues switch on at a given :math:`\epsilon_c`.
The densities themselves are in :mod:`landscape.geometry.spectra`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from landscape.geometry.spectra import ACTIVATIONS, critical_energy, negative_fraction, sample_hessian_model
from landscape.infra.validation import check_scalar

__all__ = ["alpha_curves", "sampled_index", "onset_exponent", "switches_on"]


def alpha_curves(phis, activations=ACTIVATIONS, *, points: int = 40, span: float = 6.0):
    r"""The model's index :math:`\alpha(\epsilon)` (:func:`negative_fraction`) on ``points - 1`` energies up to
    ``span`` :math:`\epsilon_c` (``linspace(0, span eps_c, points)[1:]``) for each :math:`\phi` and activation.

    Parameters
    ----------
    phis : sequence of float
    activations : sequence of str
    points : int
    span : float

    Returns
    -------
    pandas.DataFrame
        Tidy: phi, activation, eps, eps_c, alpha.

    Examples
    --------
    >>> df = alpha_curves([0.5], ["linear"], points=5, span=2.0)  # eps_c / 2 ... 2 eps_c
    >>> bool(df.alpha.iloc[0] == 0.0), bool(df.alpha.iloc[-1] > 0)  # below eps_c: none negative; above: some
    (True, True)
    """
    check_scalar(points, "points", int, min_val=2)
    rows = []
    for phi in phis:
        for act in activations:
            ec = critical_energy(phi, act)
            for eps in np.linspace(0, span * ec, points)[1:]:
                rows.append({"phi": phi, "activation": act, "eps": eps, "eps_c": ec,
                             "alpha": negative_fraction(eps, phi, act)})
    return pd.DataFrame(rows)


def _sampled_index(n: int, eps: float, phi: float, seed: int) -> float:
    """Fraction of negative eigenvalues of one :func:`sample_hessian_model` draw (a unit for ``map_units``)."""
    return float(np.mean(sample_hessian_model(n, eps, phi, seed=seed) < 0))


def sampled_index(sizes, phis, eps_values, *, draws: int = 1, seed: int = 0, jobs=None, progress: bool = False):
    r"""Monte-Carlo index of the Wishart + Wigner model beside the density's :func:`negative_fraction`.

    Parameters
    ----------
    sizes : sequence of int
        Matrix sizes ``n``.
    phis, eps_values : sequences of float
        Model parameters :math:`\phi`, :math:`\epsilon`.
    draws : int
        Draws per (n, phi, eps); draw ``d`` uses seed ``1000 seed + d`` (the same for every n, phi, eps).
    jobs : int or None
        Worker processes for the draws (:func:`landscape.infra.executor.map_units`); the numbers do not depend on it.
    seed : int, default 0
        Base of the draw seeds (above).
    progress : bool, default False
        Show a progress bar over the units.

    Returns
    -------
    pandas.DataFrame
        One row per draw (n-major, then draw, phi, eps): n, phi, eps, draw, alpha_mc, alpha_model.
    """
    from landscape.infra.executor import map_units

    check_scalar(draws, "draws", int, min_val=1)
    keys = [(int(n), d, phi, eps) for n in sizes for d in range(draws) for phi in phis for eps in eps_values]
    mc = map_units(_sampled_index, [(n, eps, phi, 1000 * seed + d) for n, d, phi, eps in keys], star=True,
                   jobs=jobs, progress=progress, desc="sampled spectra")
    return pd.DataFrame([{"n": n, "phi": phi, "eps": eps, "draw": d, "alpha_mc": a,
                          "alpha_model": negative_fraction(eps, phi)} for (n, d, phi, eps), a in zip(keys, mc,
                                                                                                     strict=True)])


def onset_exponent(phi, activation: str = "linear", rel=(2e-3, 3e-2), points: int = 8) -> float:
    r"""Exponent of :math:`\alpha \propto ((\epsilon-\epsilon_c)/\epsilon_c)^{\beta}` just above the critical energy
    (:func:`critical_energy`): the least-squares log-log slope of :func:`negative_fraction` at ``points`` relative
    distances spaced geometrically over ``rel`` (theory: 3/2).

    Parameters
    ----------
    phi : float
    activation : str
    rel : (float, float)
        Range of relative distances above the critical energy.
    points : int

    Returns
    -------
    float
        The fitted exponent.

    Examples
    --------
    >>> 1.4 < onset_exponent(0.5) < 1.6
    True
    """
    from landscape.geometry.linearise import power_law_fit

    ec = critical_energy(phi, activation)
    d = np.geomspace(rel[0], rel[1], check_scalar(points, "points", int, min_val=3))
    return power_law_fit(d, [negative_fraction(ec * (1 + x), phi, activation) for x in d]).slope


def switches_on(eps_c, phi, activation: str = "linear", margin: float = 0.01) -> bool:
    r"""Whether the model's negative eigenvalues appear at ``eps_c``: :func:`negative_fraction` is zero at
    :math:`(1-` ``margin`` :math:`)\,\epsilon_c` and positive at :math:`(1+` ``margin`` :math:`)\,\epsilon_c`.

    Parameters
    ----------
    eps_c, phi : float
    activation : str
    margin : float
        In (0, 1).

    Returns
    -------
    bool
        True when the index is zero just below and positive just above.

    Examples
    --------
    >>> switches_on(critical_energy(0.5), 0.5), switches_on(2 * critical_energy(0.5), 0.5)
    (True, False)
    """
    check_scalar(margin, "margin", float, min_val=0, max_val=1, include_boundaries="neither")
    below = negative_fraction((1 - margin) * eps_c, phi, activation)
    return bool(below == 0 and negative_fraction((1 + margin) * eps_c, phi, activation) > 0)
