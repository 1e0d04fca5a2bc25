r"""Toy problems of Böttcher & Wheeler, Secs. II.2--III.3: near-orthogonality of random directions, quadratic
saddles, curvature seen through random 2-D projections, and trace estimates from 1-D projections. Sec. II.2 lives
in :mod:`landscape.studies.hessian_directions.random_directions` and the pictures in
:mod:`landscape.studies.hessian_directions.toy_pictures` (which imports this module, never the other way).

Reconstructions (the extracted source lost its equations; these follow the prose):

* eq (26): :math:`L(\theta) = \tfrac12\sum_{i=1}^{n/2}\theta_i^2 - \tfrac12\sum_{i=n/2+1}^{n}\theta_i^2`,
  critical point :math:`\theta^* = 0`, Hessian :math:`\mathrm{diag}(+1,\dots,+1,-1,\dots,-1)`, trace 0.
* eq (31): :math:`L(\theta) = \tfrac12\sum_{i=1}^{p}\theta_i^2 - \tfrac12\sum_{i=p+1}^{n}\theta_i^2`
  (empty sums are 0), trace :math:`2p - n` (600 in the source; its :math:`n` and :math:`p` were lost).
* eq (19)/(21): the projected Hessian :math:`\tilde H = [\delta\ \eta]^\top H [\delta\ \eta]` with entries
  :math:`\tilde H_{11} = \delta^\top H\delta`, :math:`\tilde H_{22} = \eta^\top H\eta`,
  :math:`\tilde H_{12} = \delta^\top H\eta`, principal curvatures
  :math:`\tilde\kappa_{1,2} = \tfrac12(\tilde H_{11}+\tilde H_{22}) \pm
  \sqrt{\tfrac14(\tilde H_{11}-\tilde H_{22})^2 + \tilde H_{12}^2}`.
* eq (22)/(23): :math:`\mathbb E[\tilde H] = (\operatorname{tr} H)\, I_2`, so the curvature of the expected
  projection is :math:`\bar{\tilde\kappa} = \operatorname{tr} H = n\bar\kappa`.
* eq (18): :math:`P(|\langle\delta,\eta\rangle|/n \ge \epsilon) \lesssim 4 e^{-n\epsilon^2/4}` for large
  :math:`n` (Laurent--Massart bounds (15)--(16) on the two :math:`\chi^2_n` variables of eq (13), union bound).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from landscape.infra.validation import check_finite, check_scalar

__all__ = [
    "QuadraticSaddle",
    "saddle_equal",
    "saddle_shifted",
    "projected_hessians",
    "ensemble_means",
    "saddle_share",
    "saddle_share_vs_dimension",
    "saddle_share_limit",
    "saddle_share_exact",
    "dimension_for_share",
    "ratio_for_share",
    "frobenius_ratio",
    "KAPPA_SKEWNESS_LIMIT",
    "curvature_skewness",
]


def _pos_int(v, name, minimum=1):
    return int(check_scalar(v, name, int, min_val=minimum))


@dataclass(frozen=True)
class QuadraticSaddle:
    r"""Quadratic loss :math:`L(\theta) = \tfrac12 \sum_i \lambda_i \theta_i^2` with critical point 0 and Hessian
    :math:`\mathrm{diag}(\lambda)`. ``loss`` works on numpy or torch vectors (last axis).

    Parameters
    ----------
    curvatures : numpy.ndarray, shape (n,)
        The Hessian eigenvalues :math:`\lambda_i` (any signs).
    """

    curvatures: np.ndarray

    @property
    def n(self) -> int:
        """Dimension of the parameter space."""
        return len(self.curvatures)

    @property
    def trace(self) -> float:
        r""":math:`\operatorname{Tr} H = \sum_i \lambda_i`."""
        return float(self.curvatures.sum())

    @property
    def hessian_diagonal(self) -> np.ndarray:
        """A copy of the curvatures: the diagonal of the (diagonal) Hessian."""
        return self.curvatures.copy()

    def loss(self, theta):
        r""":math:`L(\theta) = \tfrac12 \sum_i \lambda_i \theta_i^2` over the last axis.

        Parameters
        ----------
        theta : array_like or torch.Tensor
            Points, shape ``(..., n)``.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            The losses, shape ``(...)``; a tensor for a tensor input (differentiable).
        """
        if torch.is_tensor(theta):
            lam = torch.as_tensor(self.curvatures, dtype=theta.dtype, device=theta.device)
            return 0.5 * (lam * theta * theta).sum(-1)
        theta = np.asarray(theta, dtype=np.float64)
        return 0.5 * (self.curvatures * theta * theta).sum(-1)

    def torch_loss(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The loss as a closure of a flat tensor (for the Hessian tools): :meth:`loss` itself."""
        return self.loss

    def hessian_operator(self):
        r"""The Hessian :math:`\mathrm{diag}(\lambda)` as a :class:`landscape.curvature.hessian.CurvatureOperator`,
        :math:`Hv = \lambda \odot v`: what the forward-over-reverse product of :meth:`loss` gives (to the last
        bit for curvatures :math:`\pm 1`), without autograd.

        >>> QuadraticSaddle(np.array([1.0, -1.0])).hessian_operator() @ np.array([2.0, 3.0])
        array([ 2., -3.])
        """
        from landscape.curvature.hessian import CurvatureOperator

        lam = torch.as_tensor(self.curvatures, dtype=torch.float64)
        return CurvatureOperator(self.n, lambda v: lam * v, dtype=torch.float64, device="cpu",
                                 name="quadratic saddle", torch_matmat=lambda V: V * lam)


def saddle_equal(n: int) -> QuadraticSaddle:
    """Eq (26) (reconstructed): ``n/2`` curvatures +1 and ``n/2`` curvatures −1; trace 0. ``n`` must be even.

    Parameters
    ----------
    n : int
        Dimension (even, >= 2).

    Returns
    -------
    QuadraticSaddle
    """
    n = _pos_int(n, "n", 2)
    if n % 2:
        raise ValueError(f"n must be even, got {n}")
    return QuadraticSaddle(np.concatenate([np.ones(n // 2), -np.ones(n // 2)]))


def saddle_shifted(n: int, trace: int = 600) -> QuadraticSaddle:
    """Eq (31) (reconstructed): ``p = (n + trace)/2`` curvatures +1 and ``n − p`` curvatures −1.

    Parameters
    ----------
    n : int
        Dimension.
    trace : int
        Trace :math:`2p - n`, of the parity of ``n`` and at most ``n`` in magnitude.

    Returns
    -------
    QuadraticSaddle
    """
    n = _pos_int(n, "n")
    if (n + trace) % 2 or not -n <= trace <= n:
        raise ValueError(f"trace must have the parity of n and |trace| <= n, got n={n}, trace={trace}")
    p = (n + trace) // 2
    return QuadraticSaddle(np.concatenate([np.ones(p), -np.ones(n - p)]))


# ----------------------------------------------------------------------------------------------------------
# Secs. II.3, III.1: curvature in random 2-D projections
# ----------------------------------------------------------------------------------------------------------

def projected_hessians(curvatures, n_samples: int, seed: int = 0, *, exact: bool | None = None) -> pd.DataFrame:
    r"""``n_samples`` random 2-D projections of the Hessian :math:`H = \mathrm{diag}(\lambda)` (eqs (19), (21)).

    Returns a frame with one row per sample: ``sample, h11, h22, h12, kappa1, kappa2`` (kappa1 >= kappa2).
    For a Hessian with few distinct eigenvalues the projection is drawn exactly and cheaply:
    :math:`\tilde H = \sum_{\mu} \mu\, W_\mu` with independent Wishart matrices
    :math:`W_\mu \sim \mathcal W_2(I, n_\mu)` (:math:`n_\mu` = multiplicity of :math:`\mu`), which is the
    distribution of :math:`[\delta\ \eta]^\top H [\delta\ \eta]` for Gaussian :math:`\delta,\eta`
    (``exact=None``: used when there are at most 10 distinct values). Otherwise the Gaussian directions are
    drawn explicitly (``exact=False``).

    Parameters
    ----------
    curvatures : array_like
        Eigenvalues of :math:`H` (finite, non-empty).
    n_samples : int
        Projections.
    seed : int
        Seed of the draws.
    exact : bool, optional
        Wishart draws (True) or explicit Gaussian directions (False); default by size.

    Returns
    -------
    pandas.DataFrame

    """
    lam = np.asarray(curvatures, dtype=np.float64).reshape(-1)
    if lam.size == 0:
        raise ValueError("curvatures must be a non-empty vector")
    check_finite(lam, "curvatures")
    n_samples = _pos_int(n_samples, "n_samples")
    rng = np.random.default_rng(seed)
    vals, counts = np.unique(lam, return_counts=True)
    if exact is None:
        exact = len(vals) <= 10
    if exact:
        h11 = np.zeros(n_samples)
        h22 = np.zeros(n_samples)
        h12 = np.zeros(n_samples)
        for mu, k in zip(vals, counts, strict=True):
            # Bartlett decomposition of W_2(I, k): W = A A^T, A lower triangular
            c1 = np.sqrt(rng.chisquare(k, n_samples))
            c2 = np.sqrt(rng.chisquare(k - 1, n_samples)) if k > 1 else np.zeros(n_samples)
            z = rng.standard_normal(n_samples)
            h11 += mu * c1 ** 2
            h12 += mu * c1 * z
            h22 += mu * (z ** 2 + c2 ** 2)
    else:
        h11, h22, h12 = (np.empty(n_samples) for _ in range(3))
        chunk = max(1, 2_000_000 // lam.size)
        for i in range(0, n_samples, chunk):
            m = min(chunk, n_samples - i)
            d = rng.standard_normal((m, lam.size))
            e = rng.standard_normal((m, lam.size))
            h11[i:i + m] = (d * d) @ lam
            h22[i:i + m] = (e * e) @ lam
            h12[i:i + m] = (d * e) @ lam
    mean = 0.5 * (h11 + h22)
    rad = np.sqrt(0.25 * (h11 - h22) ** 2 + h12 ** 2)
    return pd.DataFrame({"sample": np.arange(n_samples), "h11": h11, "h22": h22, "h12": h12,
                         "kappa1": mean + rad, "kappa2": mean - rad})


def ensemble_means(frame: pd.DataFrame) -> pd.DataFrame:
    r"""Ensemble means (eq (29)) after :math:`N = 1, 2, \dots` projections: running means of ``h11, h22, h12,
    kappa1, kappa2`` and the eigenvalues of the running mean of :math:`\tilde H` (eq (30), ``kappa_bar1,
    kappa_bar2``). Column ``N`` counts projections.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame of :func:`projected_hessians`.

    Returns
    -------
    pandas.DataFrame
    """
    N = np.arange(1, len(frame) + 1)
    out = pd.DataFrame({"N": N})
    for c in ("h11", "h22", "h12", "kappa1", "kappa2"):
        out[c] = np.cumsum(frame[c].to_numpy()) / N
    mean = 0.5 * (out.h11 + out.h22)
    rad = np.sqrt(0.25 * (out.h11 - out.h22) ** 2 + out.h12 ** 2)
    out["kappa_bar1"], out["kappa_bar2"] = mean + rad, mean - rad
    return out


def projections_to_settle(means: pd.DataFrame, target: float, tol: float) -> int:
    r"""How many projections until the running means of :math:`\tilde H_{11}` and :math:`\tilde H_{22}` (from
    :func:`ensemble_means`) stay within ``tol`` of ``target`` for good (Fig. 1a of source 002): one more than the
    last count at which either is farther away (1 if none ever is).

    Parameters
    ----------
    means : pandas.DataFrame
        The frame of :func:`ensemble_means`.
    target : float
        The limit of the diagonal means (the trace).
    tol : float
        Allowed distance.

    Returns
    -------
    int
    """
    dev = np.maximum(np.abs(means.h11.to_numpy() - target), np.abs(means.h22.to_numpy() - target))
    bad = np.nonzero(dev > tol)[0]
    return int(bad[-1] + 2) if len(bad) else 1


def settle_over_seeds(saddles, n_samples: int, seeds, thresholds) -> pd.DataFrame:
    r"""Fig. 1(a) of source 002 over draws: for each seed and threshold, the projections until the running means of
    :math:`\tilde H_{11}` and :math:`\tilde H_{22}` of every saddle stay within the threshold of its trace
    (:func:`projections_to_settle` on :func:`ensemble_means` of :func:`projected_hessians`), and the log10 of
    the largest count over the saddles (the quantity the source reads off its figure).

    Parameters
    ----------
    saddles : sequence of array_like
        Eigenvalues of each Hessian; saddle ``j`` of seed ``s`` is drawn with seed ``s + j``.
    n_samples : int
        Projections per draw.
    seeds : sequence of int
        Base seeds (one run each; non-empty).
    thresholds : sequence of float
        Allowed distances from the trace (> 0; the source's "2-4" left the value unstated).

    Returns
    -------
    pandas.DataFrame
        One row per seed and threshold: ``seed, threshold, settle_<j>`` for each saddle, ``log10_settle``.
    """
    seeds = [int(s) for s in seeds]
    thresholds = [float(t) for t in thresholds]
    if not seeds:
        raise ValueError("seeds must not be empty")
    if not thresholds or min(thresholds) <= 0:
        raise ValueError(f"thresholds must be positive and non-empty, got {thresholds}")
    if not saddles:
        raise ValueError("saddles must not be empty")
    rows = []
    for s in seeds:
        runs = []
        for j, lam in enumerate(saddles):
            lam = np.asarray(lam, dtype=np.float64)
            runs.append((ensemble_means(projected_hessians(lam, n_samples, seed=s + j)), float(lam.sum())))
        for t in thresholds:
            counts = [projections_to_settle(m, trace, t) for m, trace in runs]
            rows.append({"seed": s, "threshold": t, **{f"settle_{j}": c for j, c in enumerate(counts)},
                         "log10_settle": float(np.log10(max(counts)))})
    return pd.DataFrame(rows)


def saddle_share(frame: pd.DataFrame) -> float:
    r"""Share of projections whose principal curvatures have opposite signs
    (:math:`\tilde\kappa_1\tilde\kappa_2 < 0`), i.e. that show the saddle.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame of :func:`projected_hessians`.

    Returns
    -------
    float
    """
    return float(np.mean(frame["kappa1"].to_numpy() * frame["kappa2"].to_numpy() < 0))


def frobenius_ratio(curvatures) -> float:
    r""":math:`\operatorname{tr}H / \|H\|_F` for :math:`H = \mathrm{diag}(\lambda)`: the one number that fixes the
    large-:math:`n` share of random projections showing a saddle (:func:`saddle_share_limit`).

    Parameters
    ----------
    curvatures : array_like
        Eigenvalues of :math:`H` (finite, not all zero).

    Returns
    -------
    float

    Examples
    --------
    >>> frobenius_ratio([1.0, 1.0, 1.0, -1.0])
    1.0
    """
    lam = np.asarray(curvatures, dtype=np.float64).reshape(-1)
    if not np.any(check_finite(lam, "curvatures")):
        raise ValueError("curvatures must be a non-zero vector")
    return float(lam.sum() / np.linalg.norm(lam))


def saddle_share_limit(ratio):
    r"""Large-:math:`n` share of Gaussian 2-D projections that show a saddle, :math:`e^{-t^2/4}/\sqrt2` with
    :math:`t = \operatorname{tr}H/\|H\|_F` (:func:`frobenius_ratio`).

    Derivation (ours; the source gives only sampled shares): for large :math:`n`, :math:`\tilde H/\|H\|_F
    \approx t I_2 + W` with :math:`W` a 2x2 GOE matrix (:math:`W_{11}, W_{22} \sim \mathcal N(0, 2)`,
    :math:`W_{12} \sim \mathcal N(0, 1)`: :math:`\operatorname{Var}\delta^\top H\delta = 2\|H\|_F^2`,
    :math:`\operatorname{Var}\delta^\top H\eta = \|H\|_F^2`). Its eigenvalues are :math:`t + m \pm r` with
    :math:`m = (W_{11}+W_{22})/2 \sim \mathcal N(0, 1)` and an independent Rayleigh radius
    :math:`r = \sqrt{((W_{11}-W_{22})/2)^2 + W_{12}^2}`, :math:`P(r > x) = e^{-x^2/2}`. A saddle needs
    :math:`r > |t + m|`: :math:`P = \mathbb E_m e^{-(t+m)^2/2} = e^{-t^2/4}/\sqrt2`. Trace 0 (eq (26)):
    :math:`1/\sqrt2`, i.e. :math:`1 - 1/\sqrt2 = 29.29\%` of the projections hide the saddle.

    Parameters
    ----------
    ratio : float or array_like
        :math:`t = \operatorname{tr}H/\|H\|_F`.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> round(1 - saddle_share_limit(0.0), 4)
    0.2929
    """
    t = np.asarray(ratio, dtype=np.float64)
    check_finite(t, "ratio")
    out = np.exp(-t * t / 4) / np.sqrt(2)
    return float(out) if out.ndim == 0 else out


def ratio_for_share(share: float) -> float:
    r"""Inverse of :func:`saddle_share_limit`: the :math:`\operatorname{tr}H/\|H\|_F \ge 0` at which a share
    ``share`` of random projections shows the saddle, :math:`t = 2\sqrt{\ln(1/(\sqrt2\,\mathrm{share}))}`.

    Parameters
    ----------
    share : float
        In :math:`(0, 1/\sqrt2]`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(ratio_for_share(saddle_share_limit(3.0)), 12)
    3.0
    """
    check_scalar(check_finite(share, "share"), "share", float, min_val=0, max_val=1 / np.sqrt(2),
                 include_boundaries="right")
    return float(2 * np.sqrt(np.log(1 / (np.sqrt(2) * share))))


def _jacobi_max_above_half(a: float, b: float) -> float:
    r"""P(the larger eigenvalue of a 2x2 real Jacobi ensemble with weight :math:`x^a(1-x)^b` exceeds 1/2).

    The joint density is :math:`\propto f(x_1)f(x_2)|x_1-x_2|`, :math:`f(x) = x^a(1-x)^b`, so
    :math:`P(\max < c) = \int_0^c h / \int_0^1 h` with :math:`h(x) = f(x)\int_0^x (x-t) f(t)\,dt`, and the inner
    integral is :math:`B(a+1,b+1)\,[x I_x(a+1,b+1) - \tfrac{a+1}{a+b+2} I_x(a+2,b+1)]` (regularised incomplete
    beta functions). Returned as :math:`\int_{1/2}^1 h / \int_0^1 h` (no cancellation when it is small).
    """
    from scipy import integrate, special

    r = (a + 1) / (a + b + 2)
    big = min(a, b) > 5  # a narrow peak: integrate on +-60 widths around the mode, in log scale
    if big:
        xm = a / (a + b)
        lf0 = a * np.log(xm) + b * np.log1p(-xm)
        sd = np.sqrt(xm * (1 - xm) / (a + b))
        lo, hi = max(xm - 60 * sd, 1e-300), min(xm + 60 * sd, 1 - 1e-16)
    else:
        xm, lf0, lo, hi = np.nan, 0.0, 0.0, 1.0

    def h(x):
        inner = x * special.betainc(a + 1, b + 1, x) - r * special.betainc(a + 2, b + 1, x)
        return np.exp(a * np.log(x) + b * np.log1p(-x) - lf0) * inner

    def part(x0, x1):
        if x1 <= x0:
            return 0.0
        pts = [xm] if big and x0 < xm < x1 else None
        return integrate.quad(h, x0, x1, points=pts, epsabs=0.0, epsrel=1e-10, limit=500)[0]

    below, above = part(lo, min(0.5, hi)), part(max(0.5, lo), hi)
    return above / (below + above)


def saddle_share_exact(n_pos: int, n_neg: int) -> float:
    r"""Exact share of Gaussian 2-D projections that show the saddle of :math:`H = \mathrm{diag}(+1 \times
    n_+, -1 \times n_-)` (eqs (26), (31)) at finite :math:`n = n_+ + n_-`: :math:`P(\det\tilde H < 0)`.

    Derivation (ours): :math:`\tilde H = A - B` with independent Wishart matrices :math:`A \sim \mathcal W_2(I,
    n_+)`, :math:`B \sim \mathcal W_2(I, n_-)` (:func:`projected_hessians`). With
    :math:`U = (A+B)^{-1/2} B (A+B)^{-1/2}`, a 2x2 matrix-variate beta :math:`\mathrm B_2(n_-/2, n_+/2)` whose
    eigenvalues have the Jacobi density :math:`\propto \prod_i u_i^{(n_- - 3)/2}(1-u_i)^{(n_+ - 3)/2}\,|u_1-u_2|`,
    :math:`A - B` is indefinite exactly when :math:`\max U > 1/2 > \min U`, so the share is
    :math:`P(\max U > 1/2) - P(\min U > 1/2)`, two one-dimensional integrals of incomplete beta functions
    (quadrature to relative 1e-10). Small cases have closed forms: :math:`\pi/4` for :math:`n_\pm = 2`, 5/8 for
    :math:`(5, 3)`. For large :math:`n` it tends to :func:`saddle_share_limit`.

    Parameters
    ----------
    n_pos, n_neg : int
        Multiplicities of the curvatures +1 and -1, each >= 2.

    Returns
    -------
    float

    Examples
    --------
    >>> round(saddle_share_exact(2, 2), 12) == round(np.pi / 4, 12)
    True
    >>> round(saddle_share_exact(5, 3), 10)
    0.625
    """
    n_pos, n_neg = _pos_int(n_pos, "n_pos", 2), _pos_int(n_neg, "n_neg", 2)
    a, b = (n_neg - 3) / 2, (n_pos - 3) / 2
    return float(_jacobi_max_above_half(a, b) - (1.0 - _jacobi_max_above_half(b, a)))


def dimension_for_share(share: float, trace: int, *, n_max: int = 10_000_000) -> int:
    r"""The smallest dimension :math:`n` (:math:`n + ` ``trace`` even) at which the exact share
    (:func:`saddle_share_exact`) of projections showing the saddle of eq (31) with this trace reaches ``share``:
    the :math:`n` a sampled share implies when :math:`n` is unknown (the share grows with :math:`n` at fixed trace).

    Parameters
    ----------
    share : float
        In :math:`(0, 1/\sqrt2)`.
    trace : int
        :math:`n_+ - n_- \ge 1`.
    n_max : int
        Largest dimension searched.

    Returns
    -------
    int
    """
    check_scalar(check_finite(share, "share"), "share", float, min_val=0, max_val=1 / np.sqrt(2),
                 include_boundaries="neither")
    trace = _pos_int(trace, "trace")

    def at(n):
        return saddle_share_exact((n + trace) // 2, (n - trace) // 2)

    lo, hi = trace + 4, trace + 4  # n_- >= 2
    while at(hi) < share:
        lo, hi = hi, 2 * hi
        if hi > n_max:
            raise ValueError(f"share {share!r} is not reached below n_max = {n_max}")
    while hi - lo > 2:  # keep n + trace even
        mid = lo + ((hi - lo) // 4) * 2
        lo, hi = (mid, hi) if at(mid) < share else (lo, mid)
    return int(hi)


def saddle_share_vs_dimension(dims, trace: int, n_samples: int, seed: int = 0) -> pd.DataFrame:
    """Share of random projections showing the saddle of eq (31) with the given trace, for each ``n``, beside
    its standard error, the ratio tr H / ||H||_F and the large-``n`` limit :func:`saddle_share_limit`.

    Parameters
    ----------
    dims : sequence of int
        Dimensions.
    trace : int
        Trace of every saddle.
    n_samples : int
        Projections per dimension.
    seed : int
        Seed (dimension ``i`` uses ``seed + i``).

    Returns
    -------
    pandas.DataFrame
    """
    rows = []
    for i, n in enumerate(np.atleast_1d(dims)):
        lam = saddle_shifted(int(n), trace).curvatures
        s = saddle_share(projected_hessians(lam, n_samples, seed + i))
        ratio = frobenius_ratio(lam) if trace != 0 else 0.0
        rows.append({"n": int(n), "trace": trace, "ratio": ratio, "saddle_share": s,
                     "stderr": float(np.sqrt(s * (1 - s) / n_samples)), "limit": saddle_share_limit(ratio)})
    return pd.DataFrame(rows)


def _rayleigh_plus_gaussian_skewness() -> float:
    var_r = (4 - np.pi) / 2
    mu3_r = 2 * np.sqrt(np.pi) * (np.pi - 3) / (4 - np.pi) ** 1.5 * var_r ** 1.5
    return float(mu3_r / (1 + var_r) ** 1.5)


#: Large-``n`` skewness of :math:`\tilde\kappa_1` (Gaussian mean + Rayleigh radius, see
#: :func:`saddle_share_limit`); :math:`\tilde\kappa_2` has the opposite sign. About 0.104.
KAPPA_SKEWNESS_LIMIT = _rayleigh_plus_gaussian_skewness()


def curvature_skewness(frame: pd.DataFrame) -> pd.DataFrame:
    r"""Are the principal curvatures of random projections Gaussian (Fig. 2: "plausibly Gaussian")? For
    ``kappa1`` and ``kappa2`` of :func:`projected_hessians`: sample skewness, the p-value of D'Agostino's
    skewness test (``scipy.stats.skewtest``) and the large-:math:`n` skewness :math:`\pm`
    :data:`KAPPA_SKEWNESS_LIMIT` of the Gaussian-plus-Rayleigh form :math:`\tilde\kappa = t + m \pm r`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame of :func:`projected_hessians`.

    Returns
    -------
    pandas.DataFrame
    """
    from scipy import stats

    rows = []
    for col, sign in (("kappa1", 1.0), ("kappa2", -1.0)):
        x = frame[col].to_numpy()
        rows.append({"curvature": col, "n_samples": len(x), "skewness": float(stats.skew(x)),
                     "skewtest_p": float(stats.skewtest(x).pvalue), "limit_skewness": sign * KAPPA_SKEWNESS_LIMIT})
    return pd.DataFrame(rows)
