r"""Linearisation of a network about :math:`\theta_0` (source 001, Tanner lecture 9, slides "Linearization of the
neural network").

With outputs :math:`\hat y = H(X;\theta_0)` and the Jacobian :math:`J_0 = \nabla_\theta H(X;\theta)|_{\theta_0}`
(one row per output entry, columns in ``parameters_to_vector`` order), the linearised loss
:math:`\tilde L(\theta) = \|\hat y - y + J_0(\theta-\theta_0)\|^2` is minimised with least norm by the
Gauss--Newton / Moore--Penrose step :math:`\theta_1 - \theta_0 = J_0^+(y - \hat y)`.

* :func:`two_layer` -- the slides' network :math:`H(x) = p^{-1/2}\sum_i w^{(2)}_i\phi(w^{(1)\top}_i x)` (no biases).
* :func:`jacobian`, :func:`min_norm_step` (dense ``lstsq`` for small problems, LSQR on matrix-free
  :math:`J` products otherwise), :func:`linearisation_error`.
* :func:`linear_gd` -- gradient descent on :math:`\tilde L` and :func:`gd_rate`, the slide's
  :math:`(\kappa-1)/(\kappa+1)` with :math:`\kappa` the condition number of :math:`J_0J_0^\top`.
* :func:`power_law_fit` -- least-squares slope of :math:`\log y` on :math:`\log x` with a confidence interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as spla
import scipy.stats
import torch
from torch import nn
from torch.func import functional_call, jacrev, jvp, vjp

from landscape.infra.validation import check_choice, check_finite, check_scalar
from landscape.nets import models

__all__ = ["TwoLayer", "two_layer", "jacobian", "min_norm_step", "LinearisationError", "linearisation_error",
           "output_hessian_norm", "linear_gd", "gd_rate", "gd_step_scan", "PowerLaw", "power_law_fit",
           "residual_targets", "hessian_split"]

_ACT = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z, "erf": torch.erf,
        "softplus": torch.nn.functional.softplus}


class TwoLayer(nn.Module):
    r"""Two-layer network without biases: :math:`H(x) = s\, W_2\,\phi(W_1 x)`, :math:`s = p^{-1/2}` when ``scaled``.

    The weights start at zero, in float64 (:func:`two_layer` draws them).

    Parameters
    ----------
    d : int
        Inputs.
    p : int
        Hidden units.
    n_out : int
        Outputs.
    activation : str
        :math:`\phi`: ``"tanh"``, ``"relu"``, ``"linear"`` or ``"erf"``.
    scaled : bool
        Output scale :math:`s = p^{-1/2}` (True) or 1.
    """

    def __init__(self, d: int, p: int, n_out: int, activation: str, scaled: bool):
        super().__init__()
        self.w1 = nn.Parameter(torch.zeros(p, d, dtype=torch.float64))
        self.w2 = nn.Parameter(torch.zeros(n_out, p, dtype=torch.float64))
        self.activation = activation
        self.scale = p**-0.5 if scaled else 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(N, n_out)`` of inputs ``x`` ``(N, d)``."""
        return self.scale * _ACT[self.activation](x @ self.w1.T) @ self.w2.T


def two_layer(d: int, p: int, n_out: int = 1, activation: str = "tanh", seed: int = 0, *, sigma_w: float = 1.0,
              second: str = "sign", scaled: bool = True) -> TwoLayer:
    r"""The network of slide "Network approaches linear in large width limit", in float64.

    :math:`w^{(1)}_i \sim \mathcal N(0, \sigma_w^2/d)`; :math:`w^{(2)}_i = \pm1` (``second="sign"``),
    :math:`\mathcal N(0, 1)` (``"normal"``) or :math:`+1` (``"positive"``: no sign cancellation in sums over
    units); output scale :math:`p^{-1/2}` when ``scaled`` (else 1 and
    :math:`w^{(2)}\sim\mathcal N(0,1/p)`, the same law of the output: the two-layer net of the Hessian slides).

    Parameters
    ----------
    d, p, n_out : int
        Inputs, hidden units, outputs.
    activation : str
        "tanh", "relu", "linear", "erf" or "softplus".
    seed : int
    sigma_w : float
    second : str
        "sign", "normal" or "positive".
    scaled : bool

    Returns
    -------
    TwoLayer
    """
    for name, v in (("d", d), ("p", p), ("n_out", n_out)):
        check_scalar(v, name, int, min_val=1)
    check_choice(activation, "activation", sorted(_ACT))
    check_choice(second, "second", ("sign", "normal", "positive"))
    gen = torch.Generator().manual_seed(int(seed))
    net = TwoLayer(int(d), int(p), int(n_out), activation, scaled)
    with torch.no_grad():
        net.w1.copy_(torch.randn(p, d, generator=gen, dtype=torch.float64) * sigma_w / np.sqrt(d))
        w2 = torch.randn(n_out, p, generator=gen, dtype=torch.float64)
        net.w2.copy_({"sign": torch.sign(w2), "normal": w2, "positive": torch.ones_like(w2)}[second])
        if not scaled:
            net.w2.mul_(p**-0.5)
    return net


def _inputs(model: nn.Module, X) -> tuple[torch.Tensor, torch.Tensor]:
    p0 = next(model.parameters())
    X = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X, dtype=p0.dtype, device=p0.device)
    if X.ndim != 2 or X.shape[0] < 1:
        raise ValueError(f"X must be a non-empty 2-D array (m, d), got shape {tuple(X.shape)}")
    check_finite(X.detach().cpu().numpy(), "X")
    return X, models.flatten(model).to(p0.dtype)


def _output_fn(model: nn.Module, X: torch.Tensor):
    def f(theta):
        return functional_call(model, models.unflatten(model, theta), (X,)).reshape(-1)
    return f


def jacobian(model: nn.Module, X) -> np.ndarray:
    r"""Dense :math:`J_0\in\mathbb R^{(m\cdot r)\times p}` of the flattened outputs (row :math:`\mu r + i` is output
    :math:`i` of sample :math:`\mu`) with respect to the flat parameters (slide "Least squares loss and linearized
    network"), float64.

    Parameters
    ----------
    model : torch.nn.Module
        The network at :math:`\theta_0`.
    X : array (m, d)

    Returns
    -------
    ndarray (m r, p)

    Examples
    --------
    >>> net = two_layer(3, 5, activation="linear", seed=0)
    >>> J = jacobian(net, np.eye(3))
    >>> J.shape, bool(np.allclose(J[:, 15:], (np.eye(3) @ net.w1.detach().numpy().T) / 5**0.5))
    ((3, 20), True)
    """
    X, theta = _inputs(model, X)
    return jacrev(_output_fn(model, X))(theta).detach().to("cpu", torch.float64).numpy()


def _residual(model, X, y, f, theta) -> np.ndarray:
    with torch.no_grad():
        out = f(theta).detach().cpu().numpy().astype(np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.shape != out.shape:
        raise ValueError(f"y must have m * n_outputs = {out.size} entries, got {y.size}")
    check_finite(y, "y")
    return y - out


def min_norm_step(model: nn.Module, X, y, *, method: str = "auto", tol: float = 1e-12,
                  max_iter: int | None = None) -> np.ndarray:
    r"""Gauss--Newton / Moore--Penrose step :math:`\Delta = J_0^+(y-\hat y)` as a flat float64 vector.

    ``method="dense"``: ``numpy.linalg.lstsq`` on the dense :math:`J_0` (SVD); ``"lsqr"``: LSQR on the
    matrix-free products :math:`J_0v` (``jvp``) and :math:`J_0^\top u` (``vjp``), started at 0 so that it converges
    to the least-norm solution without forming :math:`J_0` or :math:`J_0^\top J_0`; ``"auto"``: dense when
    :math:`J_0` has at most 4 million entries.

    Parameters
    ----------
    model : torch.nn.Module
        The network at :math:`\theta_0` (not modified).
    X : array (m, d)
    y : array (m r,)
    method : str
        "auto", "dense" or "lsqr".
    tol : float
        LSQR tolerance.
    max_iter : int or None
        LSQR iterations (None: 10 m r).

    Returns
    -------
    ndarray (p,)

    Examples
    --------
    >>> net = two_layer(2, 50, seed=1)
    >>> X = np.random.default_rng(0).standard_normal((10, 2)); y = np.ones(10)
    >>> step = min_norm_step(net, X, y)
    >>> bool(np.allclose(jacobian(net, X) @ step, y - net(torch.as_tensor(X)).detach().numpy().ravel()))
    True
    """
    check_choice(method, "method", ("auto", "dense", "lsqr"))
    Xt, theta = _inputs(model, X)
    f = _output_fn(model, Xt)
    r = _residual(model, Xt, y, f, theta)
    p = theta.numel()
    if method == "dense" or (method == "auto" and r.size * p <= 4_000_000):
        return np.linalg.lstsq(jacobian(model, Xt), r, rcond=None)[0]
    dt, dev = theta.dtype, theta.device
    _, pull = vjp(f, theta)

    def mv(v):
        return jvp(f, (theta,), (torch.as_tensor(np.ravel(v), dtype=dt, device=dev),))[1].detach().cpu().numpy()

    def rmv(u):
        return pull(torch.as_tensor(np.ravel(u), dtype=dt, device=dev))[0].detach().cpu().numpy()

    op = spla.LinearOperator((r.size, p), matvec=mv, rmatvec=rmv, dtype=np.float64)
    return spla.lsqr(op, r, atol=tol, btol=tol, iter_lim=max_iter or 10 * r.size)[0]


@dataclass(frozen=True)
class LinearisationError:
    r"""Network minus its linearisation at :math:`\theta_0+\Delta`: largest and root-mean-square entry, step norm.

    Parameters
    ----------
    max_abs : float
        Largest absolute entry of :math:`H(X;\theta_0+\Delta) - (\hat y + J_0\Delta)`.
    rms : float
        Root-mean-square entry of the same difference.
    step_norm : float
        :math:`\|\Delta\|_2`.
    """

    max_abs: float
    rms: float
    step_norm: float


def linearisation_error(model: nn.Module, X, delta) -> LinearisationError:
    r""":math:`|H(X;\theta_0+\Delta) - (\hat y + J_0\Delta)|` (slide "Difference of network and linear approximation").

    :math:`J_0\Delta` is a Jacobian-vector product; the model is not modified.

    Parameters
    ----------
    model : torch.nn.Module
        The network at :math:`\theta_0` (not modified); ``delta`` is added to a copy of its weights.
    X : array (m, d)
    delta : vector (p,)

    Returns
    -------
    LinearisationError

    Examples
    --------
    >>> net = two_layer(2, 4, activation="linear", seed=0)
    >>> X = np.ones((3, 2)); d = np.zeros(12); d[8:] = 0.1  # a step in the output layer only: exactly linear
    >>> linearisation_error(net, X, d).max_abs < 1e-15
    True
    """
    Xt, theta = _inputs(model, X)
    d = torch.as_tensor(np.asarray(delta, dtype=np.float64), dtype=theta.dtype, device=theta.device)
    if d.shape != theta.shape:
        raise ValueError(f"delta must be a vector of length {theta.numel()}, got shape {tuple(d.shape)}")
    check_finite(d.cpu().numpy(), "delta")
    f = _output_fn(model, Xt)
    with torch.no_grad():
        y0, jd = jvp(f, (theta,), (d,))
        diff = (f(theta + d) - (y0 + jd)).detach().cpu().numpy()
    return LinearisationError(float(np.abs(diff).max()), float(np.sqrt(np.mean(diff**2))), float(d.norm()))


def output_hessian_norm(model: TwoLayer, X) -> float:
    r"""Lipschitz constant of :math:`\nabla_\theta H` at :math:`\theta_0`:
    :math:`L = \max_\mu\|\nabla^2_\theta H(x_\mu;\theta_0)\|_2`
    (slide "Network approaches linear in large width limit", which bounds it by :math:`O(p^{-1/2})`).

    For :math:`H(x) = s\sum_i w^{(2)}_i\phi(w^{(1)\top}_i x)` the Hessian in :math:`\theta` is block diagonal over
    hidden units; unit :math:`i`'s block on :math:`(w^{(1)}_i, w^{(2)}_i)` is
    :math:`s\begin{pmatrix}w^{(2)}_i\phi''(z_i)xx^\top & \phi'(z_i)x\\ \phi'(z_i)x^\top & 0\end{pmatrix}`, whose
    non-zero eigenvalues are those of :math:`s\begin{pmatrix}a|x|^2 & b|x|\\ b|x| & 0\end{pmatrix}`,
    :math:`a = w^{(2)}_i\phi''(z_i)`, :math:`b = \phi'(z_i)`: closed form, no :math:`p\times p` matrix. With
    :math:`\|\Delta\|` the step, :math:`\tfrac12 L\|\Delta\|^2` bounds the second-order term of the linearisation
    error (with :math:`L` taken at :math:`\theta_0`).

    Parameters
    ----------
    model : TwoLayer
        One output (``n_out = 1``).
    X : array (m, d)

    Returns
    -------
    float
        :math:`L = \max_\mu \|\nabla^2_\theta H(x_\mu)\|_2`.

    Examples
    --------
    >>> net = two_layer(3, 10, activation="linear", seed=0)  # phi'' = 0: blocks [[0, x], [x^T, 0]] / sqrt(p)
    >>> X = np.array([[1.0, 2.0, 2.0]])
    >>> round(float(output_hessian_norm(net, X) * np.sqrt(10)), 12)  # = |x| = 3
    3.0
    """
    if not isinstance(model, TwoLayer) or model.w2.shape[0] != 1:
        raise ValueError("model must be a TwoLayer with one output (two_layer(..., n_out=1))")
    Xt, _ = _inputs(model, X)
    z = (Xt @ model.w1.T).detach().requires_grad_(True)  # (m, p)
    (d1,) = torch.autograd.grad(_ACT[model.activation](z).sum(), z, create_graph=True)
    d2 = torch.autograd.grad(d1.sum(), z, allow_unused=True)[0] if d1.requires_grad else None
    d2 = torch.zeros_like(z) if d2 is None else d2
    a = (model.w2.detach()[0] * d2.detach()) * (Xt**2).sum(1, keepdim=True)  # a |x|^2
    b = d1.detach() * Xt.norm(dim=1, keepdim=True)  # b |x|
    top = 0.5 * a.abs() + torch.sqrt(0.25 * a**2 + b**2)  # largest |eigenvalue| of [[a|x|^2, b|x|], [b|x|, 0]]
    return float(model.scale * top.max())


def gd_rate(J) -> tuple[float, float]:
    r"""(:math:`\kappa`, :math:`(\kappa-1)/(\kappa+1)`) for :math:`\kappa = \sigma_{\max}/\sigma_{\min}` of
    :math:`J J^\top` (smallest non-zero eigenvalue; slide "Solving the linear system with gradient descent").

    Parameters
    ----------
    J : array (m, p)
        Finite.

    Returns
    -------
    (float, float)

    Examples
    --------
    >>> gd_rate(np.diag([1.0, 3.0]))
    (9.0, 0.8)
    """
    J = np.asarray(J, dtype=np.float64)
    if J.ndim != 2:
        raise ValueError(f"J must be a 2-D array, got shape {J.shape}")
    check_finite(J, "J")
    ev = np.linalg.eigvalsh(J @ J.T)
    ev = ev[ev > ev.max() * J.shape[0] * np.finfo(float).eps * 10]
    kappa = float(ev.max() / ev.min())
    return kappa, (kappa - 1) / (kappa + 1)


def linear_gd(J, r, steps: int, lr: float | None = None) -> np.ndarray:
    r"""Losses :math:`\tilde L(\Delta^{(k)}) = \|J\Delta^{(k)} - r\|^2`, :math:`k = 0..\text{steps}`, of descent
    :math:`\Delta^{(k+1)} = \Delta^{(k)} - \alpha J^\top(J\Delta^{(k)} - r)` from :math:`\Delta^{(0)}=0`.

    The default step :math:`\alpha = 2/(\sigma_{\max}+\sigma_{\min})` of :math:`JJ^\top` is the slide's choice (the
    factor 2 of the gradient of the square is absorbed in :math:`\alpha`, as on the slide).

    Parameters
    ----------
    J : array (m, p)
    r : array (m,)
    steps : int
    lr : float or None
        Step size (None: the slides' optimal step).

    Returns
    -------
    ndarray (steps + 1,)
    """
    J, r = np.asarray(J, dtype=np.float64), np.asarray(r, dtype=np.float64).ravel()
    if J.ndim != 2 or r.size != J.shape[0]:
        raise ValueError(f"r must have {J.shape[0]} entries (rows of J), got {r.size}")
    check_scalar(steps, "steps", int, min_val=1)
    if lr is None:
        ev = np.linalg.eigvalsh(J @ J.T)
        ev = ev[ev > ev.max() * J.shape[0] * np.finfo(float).eps * 10]
        lr = 2.0 / (ev.max() + ev.min())
    # iterate on the residual e = J Delta - r (m-dimensional): e <- (I - lr J J^T) e
    K = J @ J.T
    e, out = -r.copy(), np.empty(steps + 1)
    for k in range(steps + 1):
        out[k] = e @ e
        e = e - lr * (K @ e)
    return out


def gd_step_scan(J, r, lrs, steps: int):
    r"""Gradient descent on the linearised least squares :math:`\tilde L = \|J\Delta - r\|^2` for a range of step
    sizes: where it converges and how fast (the slide's ":math:`\alpha < 2/(\sigma_{\max}+\sigma_{\min})`" tested).

    With the slide's update (the factor 2 of the gradient absorbed in :math:`\alpha`) the residual obeys
    :math:`e_{k+1} = (I-\alpha K)e_k`, :math:`K = JJ^\top` with eigenvalues :math:`\sigma_{\min}\le\dots\le
    \sigma_{\max}`, so :math:`\tilde L_{k+1} \le \rho(\alpha)^2\tilde L_k` with
    :math:`\rho(\alpha) = \max(|1-\alpha\sigma_{\min}|, |1-\alpha\sigma_{\max}|)`, sharp on the slowest mode. What
    holds: GD converges iff :math:`0 < \alpha < 2/\sigma_{\max}` (for the true gradient :math:`2J^\top(J\Delta-r)`:
    :math:`\eta < 1/\sigma_{\max} = 2/\lambda_{\max}(\nabla^2\tilde L)`, the Hessian being :math:`2J^\top J`);
    :math:`\rho` is smallest, :math:`(\kappa-1)/(\kappa+1)`, at :math:`\alpha^* = 2/(\sigma_{\max}+\sigma_{\min})`
    only. The slide's condition is neither necessary (GD converges up to :math:`2/\sigma_{\max}`) nor sufficient for
    its rate (for :math:`\alpha < \alpha^*`, :math:`\rho = 1-\alpha\sigma_{\min} > (\kappa-1)/(\kappa+1)`); and the
    per-step factor of the loss is :math:`\rho^2`, not :math:`\rho`.

    Parameters
    ----------
    J : array_like, shape (m, p)
        The Jacobian :math:`J_0`, finite.
    r : array_like, shape (m,)
        The residual target :math:`y - \hat y`.
    lrs : sequence of float
        Step sizes :math:`\alpha > 0`.
    steps : int
        Steps per step size (>= 2).

    Returns
    -------
    pandas.DataFrame
        One row per step size: lr, lr_sigma_max (:math:`\alpha\sigma_{\max}`; convergence iff < 2), converged
        (final loss below the initial one), loss_ratio (final / initial), observed (late per-step factor
        :math:`(\tilde L_k/\tilde L_{k-1})^{1/2}` at the last step), rho (:math:`\rho(\alpha)`), slide_rate
        (:math:`(\kappa-1)/(\kappa+1)`), below_slide_step (:math:`\alpha < 2/(\sigma_{\max}+\sigma_{\min})`),
        slide_bound_run (the slide's :math:`\tilde L_k \le ((\kappa-1)/(\kappa+1))^k\tilde L_0` at every step of
        this run; it can hold for a residual with little weight on the slowest mode even where :math:`\rho` exceeds
        the rate), rho_bound_run (:math:`\tilde L_k\le\rho^{2k}\tilde L_0` at every step: what holds for every
        :math:`\alpha`).

    Examples
    --------
    >>> J = np.diag([1.0, 2.0])  # sigma = 1, 4: converges iff alpha < 0.5
    >>> df = gd_step_scan(J, [1.0, 1.0], [0.1, 0.4, 0.45, 0.55], steps=200)
    >>> df.converged.tolist(), df.rho.round(3).tolist()
    ([True, True, True, False], [0.9, 0.6, 0.8, 1.2])
    """
    import pandas as pd

    J, r = np.asarray(J, dtype=np.float64), np.asarray(r, dtype=np.float64).ravel()
    if J.ndim != 2 or r.size != J.shape[0]:
        raise ValueError(f"r must have {J.shape[0]} entries (rows of J), got {r.size}")
    check_finite(J, "J")
    check_finite(r, "r")
    check_scalar(steps, "steps", int, min_val=2)
    lrs = np.asarray(lrs, dtype=np.float64).ravel()
    if lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"lrs must be a non-empty sequence of step sizes > 0, got {lrs!r}")
    ev = np.linalg.eigvalsh(J @ J.T)
    ev = ev[ev > ev.max() * J.shape[0] * np.finfo(float).eps * 10]
    smin, smax = float(ev.min()), float(ev.max())
    kappa = smax / smin
    rows = []
    rate, k = (kappa - 1) / (kappa + 1), np.arange(steps + 1)
    for lr in lrs:
        rho = max(abs(1 - lr * smin), abs(1 - lr * smax))
        with np.errstate(over="ignore", invalid="ignore"):
            losses = linear_gd(J, r, steps, lr=float(lr))
            observed = float(np.sqrt(losses[-1] / losses[-2])) if losses[-2] > 0 else float("nan")
            rows.append({"lr": float(lr), "lr_sigma_max": float(lr) * smax,
                         "converged": bool(np.isfinite(losses[-1]) and losses[-1] < losses[0]),
                         "loss_ratio": float(losses[-1] / losses[0]), "observed": observed,
                         "rho": rho, "slide_rate": rate, "below_slide_step": bool(lr < 2 / (smax + smin)),
                         "slide_bound_run": bool(np.all(losses <= rate**k * losses[0] * (1 + 1e-9))),
                         "rho_bound_run": bool(np.all(losses <= rho ** (2 * k) * losses[0] * (1 + 1e-9)))})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class PowerLaw:
    r"""Fit :math:`y \approx c\,x^{b}`: exponent ``slope`` with a ``level`` confidence interval ``[lo, hi]``.

    Parameters
    ----------
    slope : float
        The exponent :math:`b`.
    lo, hi : float
        Ends of the confidence interval of :math:`b`.
    prefactor : float
        :math:`c`.
    level : float
        Confidence level of the interval.
    """

    slope: float
    lo: float
    hi: float
    prefactor: float
    level: float


def power_law_fit(x, y, level: float = 0.95) -> PowerLaw:
    r"""Least-squares line through :math:`(\log x, \log y)`; the interval uses Student's t with n - 2 dof.

    Parameters
    ----------
    x, y : array_like
        Positive, finite, equal length >= 3.
    level : float
        Confidence level of the interval.

    Returns
    -------
    PowerLaw

    Examples
    --------
    >>> round(power_law_fit([1, 2, 4, 8], [3, 3 / 2**0.5, 1.5, 3 / 8**0.5]).slope, 12)
    -0.5
    """
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    check_finite(x, "x")
    check_finite(y, "y")
    if x.size != y.size or x.size < 3 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive, of equal length >= 3")
    fit = scipy.stats.linregress(np.log(x), np.log(y))
    t = scipy.stats.t.ppf(0.5 + level / 2, x.size - 2)
    return PowerLaw(float(fit.slope), float(fit.slope - t * fit.stderr), float(fit.slope + t * fit.stderr),
                    float(np.exp(fit.intercept)), float(level))


def residual_targets(model: nn.Module, X, eps: float, seed: int = 0) -> np.ndarray:
    r"""Targets :math:`y = \hat y - e` with residuals :math:`e_{i\mu}\sim\mathcal N(0, 2\epsilon)`, so that the energy
    :math:`\epsilon = n^{-1}\mathcal L` of the slides' loss :math:`\mathcal L=(2m)^{-1}\sum\|e_\mu\|^2` is
    :math:`\epsilon` in expectation (slide "Loss function landscape through Hessian eigenvalues").

    Parameters
    ----------
    model : torch.nn.Module
        Its outputs are the targets' means.
    X : array (m, d)
    eps : float
        Energy, >= 0.
    seed : int

    Returns
    -------
    ndarray
        Targets of the shape of the outputs.
    """
    check_finite(check_scalar(eps, "eps", float, min_val=0), "eps")
    Xt, _ = _inputs(model, X)
    with torch.no_grad():
        out = model(Xt).detach().cpu().numpy().astype(np.float64)
    return out - np.random.default_rng(seed).standard_normal(out.shape) * np.sqrt(2 * eps)


def hessian_split(model: nn.Module, X, Y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Dense float64 :math:`(H, H_0, H_1)` of :math:`\mathcal L = (2m)^{-1}\sum_\mu\|H(x_\mu)-y_\mu\|^2`:
    :math:`H_0 = m^{-1}J^\top J` (Gauss--Newton, positive semi-definite) and :math:`H_1 = H - H_0` (the residual
    term :math:`m^{-1}\sum e_{i\mu}\nabla^2\hat y_{i\mu}`), slide "Hessian for two layer net".

    Parameters
    ----------
    model : torch.nn.Module
    X, Y : arrays
        Data and targets.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        ``(H, H0, H1)``, each (p, p).
    """
    from landscape.curvature.hessian import dense_hessian

    Xt, _ = _inputs(model, X)
    Yt = torch.as_tensor(np.asarray(Y, dtype=np.float64), dtype=Xt.dtype)
    J = jacobian(model, Xt)
    H0 = J.T @ J / Xt.shape[0]
    H = dense_hessian(model, lambda o, t: 0.5 * ((o - t) ** 2).sum(dim=1).mean(), (Xt, Yt))
    return H, H0, H - H0
