"""Trace estimators: Hutchinson's (Hessian-vector products) and the curvature-based one (loss
evaluations only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from landscape.curvature.hessian.inputs import _check_int
from landscape.curvature.hessian.linear_operator import _as_operator


@dataclass(frozen=True)
class TraceEstimate:
    """A Monte-Carlo trace estimate.

    Parameters
    ----------
    estimate : float
        Mean of ``samples``.
    stderr : float
        Standard error, std/√k (ddof=1).
    samples : numpy.ndarray, shape (k,)
        One estimate per probe.
    """

    estimate: float
    stderr: float
    samples: np.ndarray

    @property
    def n_probes(self) -> int:
        """Number of probes, k."""
        return len(self.samples)

    def running(self) -> np.ndarray:
        """Running mean after 1, 2, ..., k probes (the convergence curves of Fig. 3)."""
        return np.cumsum(self.samples) / np.arange(1, len(self.samples) + 1)


def probe_vectors(n: int, n_probes: int, seed: int, dist: str = "rademacher") -> np.ndarray:
    """``(n_probes, n)`` i.i.d. probe vectors with zero mean and unit variance: Rademacher (±1) or Gaussian.

    The same ``(n, seed, dist)`` gives the same probes whatever ``n_probes`` (row ``i`` is the ``i``-th draw),
    so :func:`hutchinson_trace` and :func:`curvature_trace` can share directions, as in Sec. III.2.

    Parameters
    ----------
    n : int
        Dimension.
    n_probes : int
        Number of probes.
    seed : int
        Seed.
    dist : {"rademacher", "gaussian"}
        Entry distribution.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import hessian
    >>> V = hessian.probe_vectors(4, 3, seed=0)
    >>> V.shape, np.unique(V)
    ((3, 4), array([-1.,  1.]))
    >>> bool((hessian.probe_vectors(4, 5, seed=0)[:3] == V).all())  # more probes extend, never change, the first
    True
    """
    n = _check_int(n, "n")
    n_probes = _check_int(n_probes, "n_probes")
    if dist not in ("rademacher", "gaussian"):
        raise ValueError(f"dist must be 'rademacher' or 'gaussian', got {dist!r}")
    rng = np.random.default_rng(seed)
    if dist == "gaussian":
        return np.stack([rng.standard_normal(n) for _ in range(n_probes)])
    return np.stack([rng.integers(0, 2, n) * 2.0 - 1.0 for _ in range(n_probes)])


def _trace_from_samples(samples) -> TraceEstimate:
    s = np.asarray(samples, dtype=np.float64)
    se = float(s.std(ddof=1) / np.sqrt(len(s))) if len(s) > 1 else float("nan")
    return TraceEstimate(float(s.mean()), se, s)


def hutchinson_trace(op, n_probes: int, seed: int = 0, dist: str = "rademacher") -> TraceEstimate:
    r"""Hutchinson's estimator (eq (25)): :math:`\operatorname{tr} H \approx \frac1k \sum_j v_j^\top H v_j`.

    Probes have i.i.d. entries of zero mean and unit variance (:func:`probe_vectors`), so each
    :math:`v^\top H v` is unbiased. Variance per probe: :math:`2\sum_{i\ne j} H_{ij}^2` (Rademacher) or
    :math:`2\|H\|_F^2` (Gaussian); the reported standard error is the sample standard deviation over
    :math:`\sqrt{k}`.

    Parameters
    ----------
    op : scipy.sparse.linalg.LinearOperator or numpy.ndarray
        A square operator or matrix.
    n_probes : int
        Number of probes ``k`` (one product each).
    seed : int
        Seed of the probes (:func:`probe_vectors`).
    dist : {"rademacher", "gaussian"}
        Distribution of the probe entries.

    Returns
    -------
    TraceEstimate
        The mean, its standard error and the per-probe samples.

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import hessian
    >>> D = np.diag([3.0, -1.0, 2.0, 0.5])
    >>> hessian.hutchinson_trace(D, 1).estimate  # Rademacher probes: exact for a diagonal matrix
    4.5
    >>> A = np.random.default_rng(0).standard_normal((30, 30)); A = A + A.T
    >>> est = hessian.hutchinson_trace(A, 400, seed=1)
    >>> bool(abs(est.estimate - np.trace(A)) < 4 * est.stderr)
    True
    """
    A = _as_operator(op)
    V = probe_vectors(A.shape[0], n_probes, seed, dist)
    samples = [float(v @ A.matvec(v)) for v in V]
    return _trace_from_samples(samples)


def curvature_trace(loss: Callable[[np.ndarray], float], x0, n_probes: int, *, alphas=None, seed: int = 0,
                    dist: str = "gaussian") -> TraceEstimate:
    r"""Curvature-based (HVP-free) Hutchinson-type trace estimate (Sec. II.4 / III.2, eq (23)).

    For a random direction :math:`\delta` with i.i.d. zero-mean unit-variance entries, the 1-D projection
    :math:`\ell(\alpha) = L(x_0 + \alpha\delta)` has curvature :math:`\ell''(0) = \delta^\top H \delta`
    and :math:`\mathbb E[\delta^\top H\delta] = \operatorname{tr} H` (the diagonal of eq (22):
    :math:`\mathbb E[\tilde H_{11}] = \sum_i \lambda_i = n\bar\kappa`, our reading of eq (23)).
    Each sample is :math:`2c_2`, where :math:`c_0 + c_1\alpha + c_2\alpha^2` is the least-squares fit of
    :math:`\ell` on ``alphas`` (default 50 equidistant points in [-1, 1], as the 50 points of Sec. III.2;
    the paper's interval was lost in extraction). Only loss evaluations, no HVPs; exact for quadratic
    losses, otherwise biased by higher-order terms unless the interval is small.

    ``loss`` maps a flat float64 numpy vector to a float; directions as in :func:`probe_vectors`.

    Parameters
    ----------
    loss : callable
        Flat float64 vector -> float.
    x0 : array_like
        The point.
    n_probes : int
        Directions.
    alphas : array_like, optional
        Fit points.
    seed : int
        Seed of the directions.
    dist : {"gaussian", "rademacher"}
        Entry distribution.

    Returns
    -------
    TraceEstimate

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import hessian
    >>> A = np.diag([1.0, 2.0, 3.0])
    >>> est = hessian.curvature_trace(lambda x: 0.5 * x @ A @ x + x.sum(), np.zeros(3), 200, seed=0)
    >>> bool(abs(est.estimate - 6.0) < 4 * est.stderr)  # tr A = 6; each sample is exact v^T A v
    True
    """
    if not callable(loss):
        raise ValueError("loss must be callable")
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    alphas = np.linspace(-1.0, 1.0, 50) if alphas is None else np.asarray(alphas, dtype=np.float64)
    if alphas.ndim != 1 or len(alphas) < 3 or not np.all(np.isfinite(alphas)):
        raise ValueError("alphas must be a 1-D finite array of at least 3 values")
    V = probe_vectors(len(x0), n_probes, seed, dist)
    scale = float(np.abs(alphas).max())
    if scale == 0.0:
        raise ValueError("alphas must not all be 0")
    # fit in u = alpha / scale: on [-1e-7, 1e-7] the columns 1, alpha, alpha^2 span 14 orders of magnitude and
    # lstsq's cutoff dropped the alpha^2 column (the estimate came out ~0); in u they are all of order one
    A = np.vander(alphas / scale, 3, increasing=True)
    samples = []
    for d in V:
        ell = np.array([float(loss(x0 + a * d)) for a in alphas])
        c = np.linalg.lstsq(A, ell, rcond=None)[0]
        samples.append(2.0 * c[2] / scale**2)
    return _trace_from_samples(samples)


def flat_loss(model, loss_fn: Callable, data, *, dtype=None) -> tuple[Callable[[np.ndarray], float], np.ndarray]:
    r"""The data loss of ``model`` as a function of one flat float64 numpy vector, and the model's current
    vector :math:`\theta^*` (``parameters_to_vector`` order): the ``loss`` and ``x0`` that
    :func:`curvature_trace` takes for a network. Evaluated in eval mode in ``dtype`` (default float64) on a
    copy of the weights; ``data`` is a pair ``(X, y)`` or a ``Dataset`` (its training split).

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    loss_fn : callable
        ``loss_fn(output, target) -> scalar``.
    data : tuple or landscape.nets.data.Dataset
        Training data.
    dtype : torch.dtype, optional
        Compute dtype (default float64).

    Returns
    -------
    tuple
        ``(loss, theta)``.
    """
    import torch

    from landscape.curvature.hessian.flat_model import _FlatModel
    from landscape.curvature.hessian.inputs import _as_tensor, _resolve_dtype, _split_xy

    if not callable(loss_fn):
        raise ValueError("loss_fn must be callable")
    dtype = _resolve_dtype(model, torch.float64 if dtype is None else dtype)
    device = next(model.parameters()).device
    fm = _FlatModel(model, dtype, device)
    X, y = _split_xy(data)
    X, y = _as_tensor(X, dtype, device, "data (X)"), _as_tensor(y, dtype, device, "data (y)")

    def loss(flat: np.ndarray) -> float:
        t = torch.as_tensor(np.asarray(flat, dtype=np.float64), dtype=dtype, device=device)
        with torch.no_grad(), fm.eval_mode():
            return float(loss_fn(fm.output(t, X), y))

    return loss, fm.theta.detach().to("cpu", torch.float64).numpy().copy()


def curvature_trace_scan(loss: Callable[[np.ndarray], float], x0, n_probes: int, half_widths, *,
                         n_points: int = 50, seed: int = 0, dist: str = "gaussian"):
    r"""The curvature-based trace (:func:`curvature_trace`, eq (23)) as a function of the fit interval
    :math:`[-h, h]` (``n_points`` equidistant :math:`\alpha`), with the same probe directions for every
    :math:`h`: the caveat of Sec. III.2 ("an appropriate interval ... in a quadratic-approximation regime")
    made visible. Returns a tidy frame ``half_width, estimate, stderr, n_probes, n_points``.

    For a quadratic loss every :math:`h` gives the same samples :math:`\delta^\top H\delta`; for a
    non-quadratic loss the quartic term biases each sample by :math:`O(h^2)`.

    Parameters
    ----------
    loss : callable
        Flat float64 vector -> float.
    x0 : array_like
        The point.
    n_probes : int
        Directions (the same for every half-width).
    half_widths : sequence of float
        Fit half-widths :math:`h`.
    n_points : int
        Points per fit.
    seed : int
        Seed of the directions.
    dist : {"gaussian", "rademacher"}
        Entry distribution.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> f = lambda x: 0.5 * float(x @ x)  # quadratic: the fit interval does not matter
    >>> s = curvature_trace_scan(f, np.zeros(3), 200, [0.1, 10.0])
    >>> bool(np.isclose(s.estimate[0], s.estimate[1], rtol=1e-9))
    True
    """
    import pandas as pd

    n_points = _check_int(n_points, "n_points", 3)
    hs = np.atleast_1d(np.asarray(half_widths, dtype=np.float64))
    if hs.size == 0 or not np.all(np.isfinite(hs)) or np.any(hs <= 0):
        raise ValueError(f"half_widths must be finite and > 0, got {half_widths!r}")
    rows = []
    for h in hs:
        est = curvature_trace(loss, x0, n_probes, alphas=np.linspace(-h, h, n_points), seed=seed, dist=dist)
        rows.append({"half_width": float(h), "estimate": est.estimate, "stderr": est.stderr,
                     "n_probes": est.n_probes, "n_points": n_points})
    return pd.DataFrame(rows)
