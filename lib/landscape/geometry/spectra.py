r"""Random-matrix spectra of the Hessian model of Pennington & Bahri (2017), as in source 001 (Tanner, lecture 9).

The Hessian of the square loss splits as :math:`H = H_0 + H_1` (slide "Hessian for two layer net"):
:math:`H_0 = m^{-1} J J^\top` (positive semi-definite, modelled as Wishart, Marchenko--Pastur law with ratio
:math:`\phi`) and :math:`H_1` (the residual term, modelled as Wigner with variance :math:`2\epsilon`, semicircle law).
If :math:`H_0` and :math:`H_1` are freely independent the R-transforms add,
:math:`\mathcal R_H = \mathcal R_{H_0} + \mathcal R_{H_1}` with :math:`\mathcal R_{H_0}(z) = 1/(1 - \phi z)` and
:math:`\mathcal R_{H_1}(z) = 2\epsilon z`, and the Stieltjes transform :math:`G` of :math:`H` solves
:math:`\mathcal R_H(G) + 1/G = z`. Clearing denominators gives the cubic (reconstructed: the slide's figure and
equation were lost in extraction)

.. math:: 2\epsilon\phi\, G^3 - (2\epsilon + \phi z)\, G^2 + (z + \phi - 1)\, G - 1 = 0,

and the density is :math:`\rho_H(\lambda) = \pi^{-1} |\operatorname{Im} G(\lambda)|` of the physical root (the one of
a complex-conjugate pair; all roots are real where :math:`\rho_H = 0`). With a ReLU the residual term is block
off-diagonal with :math:`\mathcal R_{H_1}(z) = \epsilon\phi z / (2 - \epsilon\phi^2 z^2)` and the equation becomes a
quartic. Every density is vectorised over ``x``; the Marchenko--Pastur point mass at zero (``phi > 1``) is not part
of :func:`marchenko_pastur_density` (see :func:`marchenko_pastur_atom`).
"""

from __future__ import annotations

import functools

import numpy as np

from landscape.infra.validation import check_choice, check_finite, check_scalar

__all__ = [
    "marchenko_pastur_density",
    "marchenko_pastur_atom",
    "semicircle_density",
    "pennington_bahri_density",
    "negative_fraction",
    "critical_energy",
    "critical_energy_relu_slide",
    "energy_from_h1_moment",
    "sample_hessian_model",
    "ACTIVATIONS",
]

ACTIVATIONS = ("linear", "relu")


def _positive(value, name: str, *, allow_zero: bool = False) -> float:
    check_finite(check_scalar(value, name, float), name)
    return float(check_scalar(value, name, float, min_val=0, include_boundaries="both" if allow_zero else "right"))


def _grid(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    check_finite(x, "x")
    return x


def marchenko_pastur_density(x, phi, sigma=1.0) -> np.ndarray:
    r"""Continuous part of the Marchenko--Pastur law (slide "Wigner and Wishart distributions").

    Eigenvalues of :math:`JJ^\top` with :math:`J\in\mathbb R^{n\times p}`, entries :math:`\mathcal N(0,\sigma^2/p)`,
    :math:`\phi = n/p`: :math:`\rho(\lambda) = \sqrt{(\lambda-\lambda_-)(\lambda_+-\lambda)}/(2\pi\sigma^2\phi\lambda)`
    on :math:`[\lambda_-, \lambda_+]`, :math:`\lambda_\pm = \sigma^2(1\pm\sqrt\phi)^2`. The slide writes
    :math:`\sigma` for our :math:`\sigma^2` (the variance scale). Its mass is :math:`\min(1, 1/\phi)`.

    Parameters
    ----------
    x : array_like
    phi : float
        Ratio, > 0.
    sigma : float
        Scale: the entries of J have variance sigma^2 / p.

    Returns
    -------
    ndarray
        The density at ``x``.

    Examples
    --------
    >>> float(marchenko_pastur_density(1.0, 0.25))  # sqrt((1 - 0.25)(2.25 - 1)) / (2 pi 0.25)
    0.6164...
    """
    phi, s2 = _positive(phi, "phi"), _positive(sigma, "sigma") ** 2
    x = _grid(x)
    lo, hi = s2 * (1 - np.sqrt(phi)) ** 2, s2 * (1 + np.sqrt(phi)) ** 2
    inside = (x > lo) & (x < hi)
    xs = np.where(inside, x, 1.0)
    return np.where(inside, np.sqrt(np.clip((xs - lo) * (hi - xs), 0, None)) / (2 * np.pi * s2 * phi * xs), 0.0)


def marchenko_pastur_atom(phi) -> float:
    r"""Marchenko--Pastur point mass at zero, :math:`\max(0, 1 - 1/\phi)` (slide: :math:`1-\tau^{-1}`).

    Parameters
    ----------
    phi : float
        Ratio n/p, > 0.

    Returns
    -------
    float
        The mass at zero, in [0, 1).
    """
    phi = _positive(phi, "phi")
    return max(0.0, 1.0 - 1.0 / phi)


def semicircle_density(x, sigma) -> np.ndarray:
    r"""Wigner semicircle :math:`\rho_{sc}(\lambda) = \sqrt{4\sigma^2-\lambda^2}/(2\pi\sigma^2)`
    on :math:`|\lambda|\le 2\sigma`.

    Parameters
    ----------
    x : array_like
    sigma : float

    Returns
    -------
    ndarray
        The semicircle density at ``x``.

    Examples
    --------
    >>> round(float(semicircle_density(0.0, 1.0)), 6)  # 1/pi
    0.31831
    """
    s = _positive(sigma, "sigma")
    x = _grid(x)
    return np.sqrt(np.clip(4 * s**2 - x**2, 0, None)) / (2 * np.pi * s**2)


def _coefficients(z: np.ndarray, eps: float, phi: float, activation: str) -> np.ndarray:
    """Polynomial coefficients (highest first, one row per z) of R_H(G) + 1/G - z = 0 times its denominators."""
    one = np.ones_like(z)
    if activation == "linear":
        # 1/(1 - phi G) + 2 eps G + 1/G = z, times G (1 - phi G)
        return np.stack([2 * eps * phi * one, -(2 * eps + phi * z), z + phi - 1, -one], axis=1)
    # 1/(1 - phi G) + eps phi G / (2 - eps phi^2 G^2) + 1/G = z, times G (1 - phi G)(2 - eps phi^2 G^2): P(G) = z Q(G)
    q = np.array([-eps * phi**2, 0.0, 2.0])  # 2 - eps phi^2 G^2
    lin = np.array([-phi, 1.0])  # 1 - phi G
    P = np.polyadd(np.polyadd(np.polymul([1.0, 0.0], q), np.polymul([eps * phi, 0.0, 0.0], lin)), np.polymul(lin, q))
    Q = np.polymul([1.0, 0.0], np.polymul(lin, q))
    P = np.pad(P, (len(Q) - len(P), 0))
    return P[None, :] * one[:, None] - z[:, None] * Q[None, :]


def _roots(coef: np.ndarray) -> np.ndarray:
    """Roots G of many polynomials at once, found as w = 1/G from the reversed polynomials (batched companion
    eigenvalues). The constant term never vanishes (it is -1 or 2) while the leading one may (the quartic's at
    z = 0), so the reversed form is always of full degree.
    """
    rev = coef[:, ::-1]
    monic = rev[:, 1:] / rev[:, :1]
    k = monic.shape[1]
    comp = np.zeros((coef.shape[0], k, k), dtype=np.complex128)
    comp[:, 0, :] = -monic
    comp[:, np.arange(1, k), np.arange(k - 1)] = 1.0
    w = np.linalg.eigvals(comp)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w == 0, np.inf, 1.0 / w)


def pennington_bahri_density(x, eps, phi, activation: str = "linear") -> np.ndarray:
    r"""Density :math:`\rho_H(\lambda;\epsilon,\phi)` of :math:`H_0 \boxplus H_1`
    (Pennington & Bahri 2017; the slides' Fig. 1).

    ``activation="linear"``: :math:`\mathcal R_{H_1} = 2\epsilon z` (cubic, see the module docstring);
    ``"relu"``: :math:`\mathcal R_{H_1} = \epsilon\phi z/(2-\epsilon\phi^2 z^2)` (quartic). ``eps = 0`` gives the
    continuous Marchenko--Pastur part. The density is :math:`\pi^{-1}\max_k|\operatorname{Im} G_k(\lambda)|` over the
    roots (the physical root is the complex one); imaginary parts below 1e-9 (round-off) count as zero.

    Parameters
    ----------
    x : array_like
    eps : float
        Energy, >= 0.
    phi : float
        Ratio, > 0.
    activation : str
        "linear" or "relu".

    Returns
    -------
    ndarray
        :math:`\rho_H` at ``x``.

    Examples
    --------
    >>> x = np.linspace(-1, 6, 7001)
    >>> round(float(np.trapezoid(pennington_bahri_density(x, 0.1, 0.5), x)), 4)
    1.0
    """
    eps = _positive(eps, "eps", allow_zero=True)
    phi = _positive(phi, "phi")
    check_choice(activation, "activation", ACTIVATIONS)
    x = _grid(x)
    if eps == 0:
        return marchenko_pastur_density(x, phi)
    flat = x.reshape(-1).astype(np.complex128)
    if activation == "relu":  # the quartic loses its leading term at z = 0 exactly: step off it
        flat = np.where(flat == 0, 1e-12, flat)
    roots = _roots(_coefficients(flat, eps, phi, activation))
    im = np.abs(roots.imag).max(axis=1)
    scale = np.maximum(1.0, np.abs(roots).max(axis=1))
    im = np.where(im > 1e-9 * scale, im, 0.0)
    return (im / np.pi).reshape(x.shape)


def _lower_edge(eps: float, phi: float, activation: str) -> float:
    """A point left of the support: the semicircle edge for linear, a loose bound from the ReLU cumulants."""
    if activation == "linear":
        return -2 * np.sqrt(2 * eps) - 1e-9
    return -4 * np.sqrt(eps * phi) - 2 * eps * phi**1.5 - 1e-9


def _support_start(eps: float, phi: float, activation: str) -> float:
    """Lower edge of the support of rho_H: bracketed on a grid, then refined by bisection."""
    lo = _lower_edge(eps, phi, activation)
    xs = np.linspace(lo, (1 + np.sqrt(phi)) ** 2, 2001)
    nz = np.nonzero(pennington_bahri_density(xs, eps, phi, activation) > 0)[0]
    if nz.size == 0:  # eps so small that the density is resolved only as Marchenko-Pastur: no negative mass
        return 0.0
    a, b = xs[max(nz[0] - 1, 0)], xs[nz[0]]
    for _ in range(45):
        mid = 0.5 * (a + b)
        if pennington_bahri_density(mid, eps, phi, activation) > 0:
            b = mid
        else:
            a = mid
    return float(a)


@functools.lru_cache(maxsize=8)
def _gauss_legendre_01(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss--Legendre nodes and weights on [0, 1], computed once per ``nodes`` (numpy's ``leggauss(256)`` takes
    about 2 s, far more than the quadrature it serves).
    """
    t, w = np.polynomial.legendre.leggauss(nodes)
    t, w = 0.5 * (t + 1), 0.5 * w
    t.setflags(write=False)
    w.setflags(write=False)
    return t, w


def negative_fraction(eps, phi, activation: str = "linear", nodes: int = 256) -> float:
    r"""Index :math:`\alpha(\epsilon,\phi) = \int_{-\infty}^0 \rho_H(\lambda;\epsilon,\phi)\,d\lambda`
    (slide "Fraction of negative eigenvalues").

    Gauss--Legendre quadrature of :func:`pennington_bahri_density` from the lower edge :math:`a` of the support
    (bisection) to 0 in the variable :math:`t`, :math:`\lambda = a + |a| t^2`, which makes the square-root edge
    smooth.

    Parameters
    ----------
    eps, phi : float
    activation : str
    nodes : int
        Gauss-Legendre nodes.

    Returns
    -------
    float
        The index, in [0, 1].

    Examples
    --------
    >>> negative_fraction(0.5 * critical_energy(0.5), 0.5)  # below eps_c: no negative eigenvalues
    0.0
    """
    eps = _positive(eps, "eps", allow_zero=True)
    phi = _positive(phi, "phi")
    if eps == 0:
        return 0.0
    a = _support_start(eps, phi, activation)
    if a >= 0:
        return 0.0
    t, w = _gauss_legendre_01(int(nodes))
    x = a - a * t**2
    return float(np.sum(w * pennington_bahri_density(x, eps, phi, activation) * 2 * (-a) * t))


def critical_energy(phi, activation: str = "linear") -> float:
    r"""Energy below which the Wishart+Wigner model has no negative eigenvalues.

    Linear: :math:`\epsilon_c = \tfrac1{16}\bigl(1 - 20\phi - 8\phi^2 + (1+8\phi)^{3/2}\bigr)` for
    :math:`\phi\le1` (slide "Fraction of negative eigenvalues"), 0 for :math:`\phi \ge 1` (:math:`H_0` has a
    null space). ReLU: :math:`\epsilon_c = (27-18\xi-\xi^2+8\xi^{3/2})/(32\phi(1-\phi)^3)`,
    :math:`\xi = 1+16\phi-8\phi^2`, for :math:`0<\phi<1`. Both are where the discriminant of the equation for
    :math:`G(0)` vanishes (the lower edge of the support reaches 0). The ReLU value is the slide's formula
    divided by :math:`\phi^2` (:func:`critical_energy_relu_slide`): with the slide's own
    :math:`\mathcal R_{H_1}` the printed prefactor :math:`\phi^2` does not fit (see chapter 05).

    Parameters
    ----------
    phi : float
        Ratio, in [0, 1) for ReLU.
    activation : str

    Returns
    -------
    float
        :math:`\epsilon_c(\phi)`.

    Examples
    --------
    >>> critical_energy(0.0), critical_energy(1.0)
    (0.125, 0.0)
    """
    check_choice(activation, "activation", ACTIVATIONS)
    phi = _positive(phi, "phi", allow_zero=activation == "linear")
    if activation == "relu":
        check_scalar(phi, "phi", float, max_val=1, include_boundaries="left")  # the ReLU critical energy needs phi < 1
        xi = 1 + 16 * phi - 8 * phi**2
        return float((27 - 18 * xi - xi**2 + 8 * xi**1.5) / (32 * phi * (1 - phi) ** 3))
    if phi >= 1:
        return 0.0
    return float((1 - 20 * phi - 8 * phi**2 + (1 + 8 * phi) ** 1.5) / 16)


def critical_energy_relu_slide(phi) -> float:
    r"""The ReLU critical energy as printed on the slide: :math:`\phi^2(27-18\xi-\xi^2+8\xi^{3/2})/(32\tau(1-\tau)^3)`
    with :math:`\tau=\phi` (equal to :math:`\phi^2` times :func:`critical_energy` with ``activation="relu"``).

    Parameters
    ----------
    phi : float
        In (0, 1), the slide's tau.

    Returns
    -------
    float
        The slide's ReLU critical energy.

    Examples
    --------
    >>> round(critical_energy_relu_slide(0.5) / critical_energy(0.5, "relu"), 12)
    0.25
    """
    return float(_positive(phi, "phi") ** 2 * critical_energy(phi, "relu"))


def energy_from_h1_moment(second_moment, phi, activation: str = "linear") -> float:
    r"""The model energy :math:`\epsilon` whose :math:`H_1` has the given second spectral moment
    :math:`m_2 = \int\lambda^2\rho_{H_1}` (mean 0).

    The R-transform's expansion :math:`\mathcal R(z) = \kappa_1 + \kappa_2 z + \kappa_3 z^2 + \dots` gives the free
    cumulants; with :math:`\kappa_1 = 0`, :math:`m_2 = \kappa_2`. Linear: :math:`\mathcal R_{H_1} = 2\epsilon z`,
    so :math:`m_2 = 2\epsilon` and :math:`\epsilon = m_2/2`. ReLU: :math:`\mathcal R_{H_1} =
    \epsilon\phi z/(2-\epsilon\phi^2z^2) = \tfrac{\epsilon\phi}{2}z + O(z^3)`, so :math:`m_2 = \epsilon\phi/2`
    and :math:`\epsilon = 2m_2/\phi` -- :math:`4/\phi` times the linear relation (8 at :math:`\phi = 0.5`).
    Free cumulants add, so :math:`\operatorname{Var}\rho_H = \phi + m_2` for the mean-1 Marchenko--Pastur
    :math:`H_0` of ratio :math:`\phi`: the test suite checks both relations on the densities and on sampled matrices.

    Parameters
    ----------
    second_moment : float
        :math:`m_2 \ge 0` of the (normalised) :math:`H_1` spectrum.
    phi : float
        Ratio :math:`\phi > 0`.
    activation : str, default "linear"
        "linear" or "relu".

    Returns
    -------
    float
        :math:`\epsilon`.

    Examples
    --------
    >>> energy_from_h1_moment(0.1, 0.5), energy_from_h1_moment(0.1, 0.5, "relu")
    (0.05, 0.4)
    """
    m2 = _positive(second_moment, "second_moment", allow_zero=True)
    phi = _positive(phi, "phi")
    check_choice(activation, "activation", ACTIVATIONS)
    return m2 / 2 if activation == "linear" else 2 * m2 / phi


def sample_hessian_model(n: int, eps: float, phi: float, seed: int = 0) -> np.ndarray:
    r"""Eigenvalues of one draw of the model :math:`H_0 + H_1` (Wishart + Wigner), size ``n``.

    :math:`H_0 = AA^\top` with :math:`A\in\mathbb R^{n\times k}`, :math:`k=\lceil n/\phi\rceil`, entries
    :math:`\mathcal N(0, 1/k)` (Marchenko--Pastur, mean 1, ratio :math:`\phi`); :math:`H_1` symmetric with
    off-diagonal entries :math:`\mathcal N(0, 2\epsilon/n)` (semicircle of variance :math:`2\epsilon`).

    Parameters
    ----------
    n : int
    eps, phi : float
    seed : int

    Returns
    -------
    ndarray (n,)
        Ascending eigenvalues.
    """
    check_scalar(n, "n", int, min_val=1)
    eps, phi = _positive(eps, "eps", allow_zero=True), _positive(phi, "phi")
    rng = np.random.default_rng(seed)
    k = max(1, int(round(n / phi)))
    A = rng.standard_normal((n, k)) / np.sqrt(k)
    W = rng.standard_normal((n, n)) * np.sqrt(2 * eps / n)
    W = (W + W.T) / np.sqrt(2)
    return np.linalg.eigvalsh(A @ A.T + W)
