r"""Hessian toolkit: curvature operators, extreme eigenpairs, traces and spectral densities.

One operator per concept, estimators as plain functions (the layout of curvlinops):

* :func:`hessian_operator` -- the loss Hessian :math:`H = \nabla^2_\theta L(\theta)` as a
  :class:`scipy.sparse.linalg.LinearOperator` that multiplies with Hessian-vector products (HVPs,
  Pearlmutter's trick, eq (33) of Böttcher & Wheeler), never forming :math:`H`.
* :func:`function_hessian_operator` -- the same for a plain scalar function of a flat vector (toy losses).
* :func:`gauss_newton` -- the positive semi-definite Gauss--Newton part :math:`G = J^\top H_L J`
  (eqs (9)--(11): the empirical Fisher for MSE / cross entropy at a perfect fit), so :math:`H - G` is available.
* :func:`dense_hessian`, :func:`dense_function_hessian`, :func:`dense_gauss_newton` -- dense float64
  matrices from ``torch.func`` for small models: the oracles of the test-suite.
* :func:`eigenpairs` (Lanczos, ``scipy.sparse.linalg.eigsh``), :func:`opposite_extreme` (the annihilation
  step of Appendix B), :func:`power_iteration` (the PyHessian baseline), :func:`hutchinson_trace` (eq (25)),
  :func:`curvature_trace` (the curvature-based estimate, eq (23)), :func:`slq_density` (stochastic Lanczos
  quadrature, Ghorbani et al. 2019, Algorithm 1), :func:`smoothed_density` (the exact smoothed density).

All vectors are float64 numpy arrays in ``torch.nn.utils.parameters_to_vector(model.parameters())`` order.
Every random draw takes an explicit ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla
import torch
from torch import nn
from torch.func import functional_call, grad, jacrev, jvp, vjp, vmap

from .. import models
from ..linalg import fix_signs

__all__ = [
    "CurvatureOperator",
    "hessian_operator",
    "function_hessian_operator",
    "gauss_newton",
    "dense_hessian",
    "dense_function_hessian",
    "dense_gauss_newton",
    "Eigenpairs",
    "eigenpairs",
    "OppositeExtreme",
    "opposite_extreme",
    "PowerIteration",
    "power_iteration",
    "TraceEstimate",
    "probe_vectors",
    "hutchinson_trace",
    "curvature_trace",
    "SLQDensity",
    "lanczos",
    "slq_density",
    "smoothed_density",
    "density_l1",
]


# ----------------------------------------------------------------------------------------------------------
# helpers: data, parameters, validation
# ----------------------------------------------------------------------------------------------------------

def _check_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _resolve_dtype(model: nn.Module | None, dtype) -> torch.dtype:
    if model is not None and not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if dtype is None:
        if model is not None:
            for p in model.parameters():
                return p.dtype
        return torch.float64
    if isinstance(dtype, str):
        try:
            dtype = getattr(torch, dtype)
        except AttributeError:
            raise ValueError(f"dtype: unknown torch dtype {dtype!r}") from None
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    return dtype


def _as_tensor(a, dtype: torch.dtype, device, name: str) -> torch.Tensor:
    t = torch.as_tensor(a, device=device)
    if t.is_floating_point():
        t = t.to(dtype)
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} contains NaN or inf")
    return t


def _split_xy(data, name: str = "data"):
    """(X, y) from a tuple/list of two arrays or an object with ``tensors(split)`` (``landscape.data.Dataset``)."""
    if hasattr(data, "tensors") and callable(data.tensors):
        return data.tensors("train")
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], (tuple, list)):
        return data[0], data[1]
    raise ValueError(f"{name} must be a pair (X, y), a sequence of (X, y) batches or a Dataset")


def _batches(data, batch_size, dtype, device) -> list[tuple[torch.Tensor, torch.Tensor, float]]:
    """List of (X_b, y_b, weight_b) with weight_b = n_b / N (exact size-weighted sum of mean losses)."""
    if batch_size is not None:
        batch_size = _check_int(batch_size, "batch_size")
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], (tuple, list)):
        pairs = [_split_xy(data)]
    elif hasattr(data, "tensors"):
        pairs = [_split_xy(data)]
    else:
        try:
            pairs = [tuple(b) for b in data]
        except TypeError:
            raise ValueError("data must be a pair (X, y), a sequence of (X, y) batches or a Dataset") from None
        if not pairs or any(len(p) != 2 for p in pairs):
            raise ValueError("data: every batch must be a pair (X, y)")
    out = []
    for X, y in pairs:
        X = _as_tensor(X, dtype, device, "data (X)")
        y = _as_tensor(y, dtype, device, "data (y)")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"data: X has {X.shape[0]} rows but y has {y.shape[0]}")
        if X.shape[0] == 0:
            raise ValueError("data: empty batch")
        if batch_size is None:
            out.append((X, y))
        else:
            out.extend(zip(torch.split(X, batch_size), torch.split(y, batch_size), strict=True))
    n_total = sum(int(X.shape[0]) for X, _ in out)
    return [(X, y, X.shape[0] / n_total) for X, y in out]


class _FlatModel:
    """Functional view of a model: loss and outputs as functions of one flat parameter vector."""

    def __init__(self, model: nn.Module, dtype: torch.dtype, device):
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        named = [(n, p) for n, p in model.named_parameters()]
        if not named:
            raise ValueError("model has no parameters")
        self.dtype, self.device = dtype, device
        self.theta = torch.cat([p.detach().reshape(-1) for _, p in named]).to(dtype=dtype, device=device)
        self.buffers = {
            n: (b.detach().to(dtype=dtype, device=device) if b.is_floating_point() else b.detach().to(device))
            for n, b in model.named_buffers()
        }

    @property
    def n(self) -> int:
        return int(self.theta.numel())

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        params = models.unflatten(self.model, flat)
        params.update(self.buffers)
        return params

    def output(self, flat: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        return functional_call(self.model, self.unflatten(flat), (X,))

    def eval_mode(self):
        return _EvalMode(self.model)


class _EvalMode:
    """Context manager: model.eval() inside, the previous train/eval flags restored afterwards."""

    def __init__(self, model: nn.Module):
        self.model = model

    def __enter__(self):
        self.flags = [(m, m.training) for m in self.model.modules()]
        self.model.eval()

    def __exit__(self, *exc):
        for m, flag in self.flags:
            m.training = flag
        return False


# ----------------------------------------------------------------------------------------------------------
# operators
# ----------------------------------------------------------------------------------------------------------

class CurvatureOperator(spla.LinearOperator):
    r"""A symmetric ``LinearOperator`` (float64 numpy in/out) that counts its matrix-vector products.

    ``n_matvecs`` is the number of operator applications to single vectors so far (a block of ``k`` columns
    counts ``k``); :meth:`reset_count` sets it to zero. ``torch_matvec`` applies the operator to a torch
    vector of the compute dtype without the numpy round trip. ``name`` says what the operator is.
    """

    def __init__(self, n: int, torch_matvec: Callable[[torch.Tensor], torch.Tensor], *, dtype: torch.dtype,
                 device, name: str, torch_matmat: Callable[[torch.Tensor], torch.Tensor] | None = None):
        super().__init__(dtype=np.float64, shape=(n, n))
        self.torch_matvec = torch_matvec
        self._torch_matmat = torch_matmat
        self.torch_dtype = dtype
        self.device = device
        self.name = name
        self.n_matvecs = 0

    def reset_count(self) -> None:
        self.n_matvecs = 0

    def _matvec(self, x):
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(x)):
            raise ValueError("x contains NaN or inf")
        v = torch.as_tensor(x, dtype=self.torch_dtype, device=self.device)
        self.n_matvecs += 1
        return self.torch_matvec(v).detach().to("cpu", torch.float64).numpy()

    def _matmat(self, X):
        X = np.asarray(X, dtype=np.float64)
        if self._torch_matmat is None or X.shape[1] == 1:
            return np.column_stack([self._matvec(X[:, j]) for j in range(X.shape[1])])
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or inf")
        V = torch.as_tensor(X.T.copy(), dtype=self.torch_dtype, device=self.device)
        self.n_matvecs += X.shape[1]
        return self._torch_matmat(V).detach().to("cpu", torch.float64).numpy().T

    def _adjoint(self):
        return self  # symmetric

    def _rmatvec(self, x):
        return self._matvec(x)

    def to_dense(self, chunk: int = 256) -> np.ndarray:
        """Dense matrix by applying the operator to blocks of identity columns (``n`` products)."""
        n = self.shape[0]
        out = np.empty((n, n))
        for i in range(0, n, chunk):
            j = min(n, i + chunk)
            E = np.zeros((n, j - i))
            E[np.arange(i, j), np.arange(j - i)] = 1.0
            out[:, i:j] = self.matmat(E)
        return out


def _block(fn_single: Callable[[torch.Tensor], torch.Tensor], chunk: int = 32, fallback: bool = True):
    """Apply a vector map to the rows of V with ``vmap`` in chunks; loop if vmap is not supported."""
    vm = vmap(fn_single)

    def apply(V: torch.Tensor) -> torch.Tensor:
        outs = []
        for i in range(0, V.shape[0], chunk):
            try:
                outs.append(vm(V[i:i + chunk]))
            except Exception:  # noqa: BLE001 - some ops have no batching rule: fall back to a loop
                if not fallback:
                    raise
                outs.append(torch.stack([fn_single(v) for v in V[i:i + chunk]]))
        return torch.cat(outs)

    return apply


def hessian_operator(model: nn.Module, loss_fn: Callable, data, *, batch_size: int | None = None,
                     dtype=None, device=None, method: str = "auto") -> CurvatureOperator:
    r"""Hessian of the data loss as a matrix-free ``LinearOperator`` (Böttcher & Wheeler, eq (33)).

    .. math:: H v = \nabla_\theta\bigl(\nabla_\theta L(\theta)^\top v\bigr),
              \qquad L(\theta) = \sum_b \frac{n_b}{N}\, L_b(\theta),

    where :math:`L_b` is ``loss_fn(model(X_b), y_b)`` (a *mean* over the batch) and the sum over minibatches
    of sizes :math:`n_b` (``batch_size``, or the batches given in ``data``) reproduces the full-data mean loss
    exactly, so the minibatch-summed HVP equals the full-batch HVP. The model is evaluated in eval mode
    (``model.training`` is restored afterwards) at its current weights, which are copied: later changes of
    the model do not change the operator.

    Parameters
    ----------
    model: ``torch.nn.Module``.
    loss_fn: ``loss_fn(output, target) -> scalar`` (mean over samples).
    data: a pair ``(X, y)`` (tensors or arrays), a sequence of such batches, or a ``landscape.data.Dataset``
        (its training split).
    batch_size: split every pair into minibatches of this size (memory), result unchanged.
    dtype: compute dtype (``torch.float32``/``torch.float64``); default the model's. float64 makes the
        operator exact to rounding (the model's own weights are not converted).
    device: compute device; default the device of the model's parameters.
    method: ``"reverse"`` (double backward, reverse-over-reverse: eq (33) literally), ``"forward"``
        (forward-over-reverse, ``torch.func.jvp`` of ``torch.func.grad``, batched over blocks of vectors with
        ``vmap``) or ``"auto"`` (default: reverse for single vectors, forward+vmap for blocks, falling back to
        reverse where an operation has no forward-mode rule, e.g. ``mse_loss`` in some torch versions).

    Returns
    -------
    CurvatureOperator of shape (m, m) in ``parameters_to_vector`` order; ``n_matvecs`` counts HVPs.
    """
    if method not in ("forward", "reverse", "auto"):
        raise ValueError(f"method must be 'auto', 'forward' or 'reverse', got {method!r}")
    if not callable(loss_fn):
        raise ValueError("loss_fn must be callable")
    dtype = _resolve_dtype(model, dtype)
    if device is None:
        device = next(model.parameters()).device
    fm = _FlatModel(model, dtype, device)
    batches = _batches(data, batch_size, dtype, device)
    theta = fm.theta

    def batch_loss(flat, X, y):
        return loss_fn(fm.output(flat, X), y)

    def hvp_forward(v: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(theta)
        with fm.eval_mode():
            for X, y, w in batches:
                g = grad(lambda t, X=X, y=y: batch_loss(t, X, y))
                out = out + w * jvp(g, (theta,), (v,))[1]
        return out.detach()

    def hvp_reverse(v: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(theta)
        with fm.eval_mode():
            for X, y, w in batches:
                t = theta.detach().requires_grad_(True)
                (gr,) = torch.autograd.grad(batch_loss(t, X, y), t, create_graph=True)
                (hv,) = torch.autograd.grad(gr @ v, t)
                out = out + w * hv
        return out.detach()

    if method == "reverse":
        return CurvatureOperator(fm.n, hvp_reverse, dtype=dtype, device=device, name="hessian")
    if method == "forward":
        return CurvatureOperator(fm.n, hvp_forward, dtype=dtype, device=device, name="hessian",
                                 torch_matmat=_block(hvp_forward))
    state = {"forward_ok": True}
    block_fwd = _block(hvp_forward, fallback=False)

    def matmat(V):
        if state["forward_ok"]:
            try:
                return block_fwd(V)
            except RuntimeError:
                state["forward_ok"] = False
        return torch.stack([hvp_reverse(v) for v in V])

    return CurvatureOperator(fm.n, hvp_reverse, dtype=dtype, device=device, name="hessian", torch_matmat=matmat)


def function_hessian_operator(fn: Callable[[torch.Tensor], torch.Tensor], x0, *, dtype=torch.float64,
                              device="cpu") -> CurvatureOperator:
    r"""Hessian :math:`\nabla^2 f(x_0)` of a scalar function of a flat vector, as a ``LinearOperator``.

    For toy losses such as the saddles of eqs (26) and (31): :math:`H v = \frac{d}{d\epsilon}
    \nabla f(x_0 + \epsilon v)\big|_{\epsilon=0}` (forward-over-reverse). ``fn`` takes a 1-D torch tensor.
    """
    if not callable(fn):
        raise ValueError("fn must be callable")
    dtype = _resolve_dtype(None, dtype)
    x0 = _as_tensor(np.asarray(x0, dtype=np.float64) if not torch.is_tensor(x0) else x0, dtype, device, "x0")
    if x0.ndim != 1 or x0.numel() == 0:
        raise ValueError(f"x0 must be a non-empty 1-D vector, got shape {tuple(x0.shape)}")
    g = grad(fn)

    def hvp_single(v):
        return jvp(g, (x0,), (v,))[1].detach()

    return CurvatureOperator(int(x0.numel()), hvp_single, dtype=dtype, device=device, name="function hessian",
                             torch_matmat=_block(hvp_single))


def gauss_newton(model: nn.Module, loss_fn: Callable, data, *, batch_size: int | None = None, dtype=None,
                 device=None) -> CurvatureOperator:
    r"""Generalised Gauss--Newton matrix :math:`G = \sum_b \frac{n_b}{N} J_b^\top H_{L,b} J_b` as an operator.

    :math:`J_b = \partial f(X_b;\theta)/\partial\theta` is the Jacobian of the network outputs on batch
    :math:`b` and :math:`H_{L,b} = \partial^2 L_b / \partial f^2` the Hessian of the loss w.r.t. the outputs.
    The full Hessian is :math:`H = G + \sum_{b} \frac{n_b}{N} \sum_{i,k} \frac{\partial L_b}{\partial f_{ik}}
    \nabla^2_\theta f_{ik}`; for the MSE loss eq (8) the second term carries the residuals :math:`f - y` of
    eq (9) and vanishes at a perfect fit, where :math:`G` equals the empirical Fisher (eqs (7), (9)--(11)).
    :math:`G` is positive semi-definite whenever the loss is convex in the outputs (MSE, cross entropy).

    Products: :math:`v \mapsto J v` (``jvp``), :math:`\mapsto H_L (J v)` (``jvp`` of the output gradient),
    :math:`\mapsto J^\top (\cdot)` (``vjp``). Arguments as in :func:`hessian_operator`.
    """
    dtype = _resolve_dtype(model, dtype)
    if device is None:
        device = next(model.parameters()).device if isinstance(model, nn.Module) else "cpu"
    fm = _FlatModel(model, dtype, device)
    batches = _batches(data, batch_size, dtype, device)
    theta = fm.theta

    def ggn_single(v):
        out = torch.zeros_like(theta)
        with fm.eval_mode():
            for X, y, w in batches:
                def f(t, X=X):
                    return fm.output(t, X)
                o, jv = jvp(f, (theta,), (v,))
                hl = jvp(grad(lambda z, y=y: loss_fn(z, y)), (o,), (jv,))[1]
                _, pullback = vjp(f, theta)
                out = out + w * pullback(hl)[0]
        return out.detach()

    return CurvatureOperator(fm.n, ggn_single, dtype=dtype, device=device, name="gauss-newton",
                             torch_matmat=_block(ggn_single))


def dense_hessian(model: nn.Module, loss_fn: Callable, data, *, dtype=torch.float64, device=None) -> np.ndarray:
    """Dense Hessian of the full-data loss from ``torch.func.hessian`` in float64 (the oracle; small models)."""
    dtype = _resolve_dtype(model, dtype)
    if device is None:
        device = next(model.parameters()).device if isinstance(model, nn.Module) else "cpu"
    fm = _FlatModel(model, dtype, device)
    batches = _batches(data, None, dtype, device)

    def full_loss(t):
        return sum(w * loss_fn(fm.output(t, X), y) for X, y, w in batches)

    with fm.eval_mode():
        H = torch.func.hessian(full_loss)(fm.theta)
    return H.detach().to("cpu", torch.float64).numpy()


def dense_function_hessian(fn: Callable[[torch.Tensor], torch.Tensor], x0, *, dtype=torch.float64) -> np.ndarray:
    """Dense Hessian of a scalar function of a flat vector (``torch.func.hessian``)."""
    x0 = _as_tensor(np.asarray(x0, dtype=np.float64) if not torch.is_tensor(x0) else x0, dtype, "cpu", "x0")
    return torch.func.hessian(fn)(x0).detach().to(torch.float64).numpy()


def dense_gauss_newton(model: nn.Module, loss_fn: Callable, data, *, dtype=torch.float64,
                       device=None) -> np.ndarray:
    r"""Dense :math:`G = J^\top H_L J` with :math:`J` from ``jacrev`` and :math:`H_L` from ``torch.func.hessian``."""
    dtype = _resolve_dtype(model, dtype)
    if device is None:
        device = next(model.parameters()).device if isinstance(model, nn.Module) else "cpu"
    fm = _FlatModel(model, dtype, device)
    G = torch.zeros(fm.n, fm.n, dtype=dtype, device=device)
    with fm.eval_mode():
        for X, y, w in _batches(data, None, dtype, device):
            o = fm.output(fm.theta, X)
            J = jacrev(lambda t, X=X: fm.output(t, X))(fm.theta).reshape(o.numel(), fm.n)
            HL = torch.func.hessian(lambda z, y=y: loss_fn(z, y))(o).reshape(o.numel(), o.numel())
            G = G + w * J.T @ HL @ J
    return G.detach().to("cpu", torch.float64).numpy()


# ----------------------------------------------------------------------------------------------------------
# eigenpairs
# ----------------------------------------------------------------------------------------------------------

def _as_operator(op) -> spla.LinearOperator:
    if isinstance(op, spla.LinearOperator):
        A = op
    elif isinstance(op, np.ndarray):
        if op.ndim != 2 or op.shape[0] != op.shape[1]:
            raise ValueError(f"op must be a square matrix or LinearOperator, got shape {op.shape}")
        if not np.all(np.isfinite(op)):
            raise ValueError("op contains NaN or inf")
        A = spla.aslinearoperator(op)
    else:
        raise ValueError(f"op must be a LinearOperator or a square numpy array, got {type(op).__name__}")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"op must be square, got shape {A.shape}")
    return A


def _count(op) -> int:
    return int(getattr(op, "n_matvecs", 0))


def _start_vector(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


@dataclass(frozen=True)
class Eigenpairs:
    """Eigenvalues (ordered as requested), unit eigenvectors as columns, residuals ``‖Hv − λv‖``.

    ``n_matvecs`` counts the operator products the solver used (the residual check costs ``k`` more).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residuals: np.ndarray
    which: str
    n_matvecs: int

    def __len__(self) -> int:
        return len(self.eigenvalues)


_WHICH = {"largest": "LA", "smallest": "SA", "magnitude": "LM"}


def eigenpairs(op, k: int = 1, which: str = "largest", *, seed: int = 0, tol: float = 0.0,
               ncv: int | None = None, maxiter: int | None = None) -> Eigenpairs:
    r"""Extreme eigenpairs of a symmetric operator by implicitly restarted Lanczos (``eigsh``, ARPACK).

    This is how Böttcher & Wheeler compute dominant Hessian directions (Sec. IV, Algorithm 1).

    ``which``: ``"largest"`` (algebraically largest, ordered descending), ``"smallest"`` (algebraically
    smallest, ascending) or ``"magnitude"`` (largest :math:`|\lambda|`, ordered by :math:`|\lambda|`
    descending). The start vector is a standard normal vector drawn with ``seed``; each eigenvector's sign is
    fixed so that its largest-magnitude entry is positive. ``tol=0`` asks ARPACK for machine precision.
    Small problems (``k >= n - 1``) fall back to a dense ``eigh`` of the operator.
    """
    A = _as_operator(op)
    n = A.shape[0]
    k = _check_int(k, "k")
    if k > n:
        raise ValueError(f"k must be <= the dimension {n}, got {k}")
    if which not in _WHICH:
        raise ValueError(f"which must be one of {sorted(_WHICH)}, got {which!r}")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    before = _count(A)
    if k >= n - 1:
        M = A.matmat(np.eye(n))
        M = 0.5 * (M + M.T)
        w, V = np.linalg.eigh(M)
    else:
        try:
            w, V = spla.eigsh(A, k=k, which=_WHICH[which], v0=_start_vector(n, seed), tol=tol, ncv=ncv,
                              maxiter=maxiter)
        except spla.ArpackNoConvergence as err:
            # degenerate clusters (e.g. a large null space) can stall the residual test at tol=0; the Ritz
            # values are then converged to rounding: keep them if ARPACK returned all k (residuals reported)
            if err.eigenvalues is None or len(err.eigenvalues) < k:
                raise
            w, V = err.eigenvalues, err.eigenvectors
    used = _count(A) - before
    if which == "largest":
        order = np.argsort(-w)
    elif which == "smallest":
        order = np.argsort(w)
    else:
        order = np.argsort(-np.abs(w), kind="stable")
    w, V = w[order][:k], fix_signs(V[:, order][:, :k])
    AV = A.matmat(V)
    res = np.linalg.norm(AV - V * w, axis=0)
    return Eigenpairs(eigenvalues=w, eigenvectors=V, residuals=res, which=which, n_matvecs=used)


@dataclass(frozen=True)
class OppositeExtreme:
    r"""Result of the annihilation step (Appendix B).

    ``dominant_value``/``dominant_vector``: the eigenpair of largest magnitude :math:`\lambda_1`.
    ``opposite_value``/``opposite_vector``: the eigenpair of largest magnitude among the eigenvalues of the
    opposite sign, or ``None`` when there is none (``is_saddle`` False: the operator is semi-definite up to
    ``tol``; ``extreme_value`` then holds the other end of the spectrum, of the same sign as
    :math:`\lambda_1` or zero). ``message`` says which case occurred.
    """

    dominant_value: float
    dominant_vector: np.ndarray
    opposite_value: float | None
    opposite_vector: np.ndarray | None
    extreme_value: float
    is_saddle: bool
    message: str
    n_matvecs: int
    residuals: tuple[float, float] = field(default=(np.nan, np.nan))


def opposite_extreme(op, *, seed: int = 0, tol: float = 1e-6, eig_tol: float = 1e-10,
                     dominant: tuple[float, np.ndarray] | None = None, ncv: int | None = None) -> OppositeExtreme:
    r"""Largest-magnitude eigenvalue of the sign opposite to the dominant one (annihilation, Appendix B).

    Let :math:`|\lambda_1| \ge \dots` with :math:`\lambda_1` the eigenvalue of largest magnitude (found by
    Lanczos, or passed as ``dominant=(value, vector)``). The shifted operator
    :math:`B = H - \lambda_1 I` (eq (40), reconstructed) has eigenvalues :math:`\lambda_i - \lambda_1`, all of
    the sign opposite to :math:`\lambda_1`; the dominant eigenvalue has been *annihilated* (mapped to 0), and
    the largest-magnitude eigenvalue of :math:`B` is :math:`\mu = \lambda_{\rm opp} - \lambda_1`, where
    :math:`\lambda_{\rm opp}` is the other end of the spectrum. The paper iterates the Rayleigh quotient of
    :math:`B` (eq (41)); we hand :math:`B` to Lanczos (``eigsh``, ``which="LM"``) which converges to the same
    eigenpair in fewer products. Then :math:`\lambda_{\rm opp} = \mu + \lambda_1`.

    If :math:`\lambda_{\rm opp}` has the sign opposite to :math:`\lambda_1` and
    :math:`|\lambda_{\rm opp}| > \mathrm{tol}\,|\lambda_1|` the point is a saddle of the quadratic model and
    the pair is returned. Otherwise the operator is positive (or negative) semi-definite up to the tolerance:
    no saddle direction exists and ``opposite_value`` is ``None`` (with an explanation in ``message``); no
    spurious saddle is ever reported. ``ncv``: Lanczos basis size for the shifted problem (a larger basis
    helps when the opposite end of the spectrum is small and clustered, the usual case for trained networks).
    """
    A = _as_operator(op)
    n = A.shape[0]
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    before = _count(A)
    if dominant is None:
        top = eigenpairs(A, 1, "magnitude", seed=seed, tol=eig_tol)
        lam1, v1 = float(top.eigenvalues[0]), top.eigenvectors[:, 0]
    else:
        lam1, v1 = float(dominant[0]), np.asarray(dominant[1], dtype=np.float64)
        if v1.shape != (n,):
            raise ValueError(f"dominant: vector must have shape ({n},), got {v1.shape}")
    if lam1 == 0.0:
        return OppositeExtreme(0.0, v1, None, None, 0.0, False, "the operator is zero: no curvature at all",
                               _count(A) - before)
    shifted = spla.LinearOperator(A.shape, matvec=lambda x: A.matvec(x) - lam1 * np.asarray(x).reshape(-1),
                                  matmat=lambda X: A.matmat(X) - lam1 * np.asarray(X), dtype=np.float64)
    shifted = _Symmetric(shifted)
    sec = eigenpairs(shifted, 1, "magnitude", seed=seed + 1, tol=eig_tol, ncv=ncv)
    lam_opp = float(sec.eigenvalues[0]) + lam1
    v_opp = sec.eigenvectors[:, 0]
    r1 = float(np.linalg.norm(A.matvec(v1) - lam1 * v1))
    r2 = float(np.linalg.norm(A.matvec(v_opp) - lam_opp * v_opp))
    used = _count(A) - before
    sign = "positive" if lam1 > 0 else "negative"
    if np.sign(lam_opp) == -np.sign(lam1) and abs(lam_opp) > tol * abs(lam1):
        msg = (f"saddle: dominant eigenvalue {lam1:.6g} ({sign}), largest-magnitude eigenvalue of the "
               f"opposite sign {lam_opp:.6g}")
        return OppositeExtreme(lam1, v1, lam_opp, v_opp, lam_opp, True, msg, used, (r1, r2))
    msg = (f"no saddle: the dominant eigenvalue is {lam1:.6g} and the other end of the spectrum is "
           f"{lam_opp:.6g}, which is not of the opposite sign beyond tol*|lambda_1| = {tol * abs(lam1):.3g}; "
           f"the operator is {sign} semi-definite here, so no direction of opposite curvature exists")
    return OppositeExtreme(lam1, v1, None, None, lam_opp, False, msg, used, (r1, r2))


class _Symmetric(spla.LinearOperator):
    """Wrap a LinearOperator and declare it symmetric (adjoint = itself); forwards the matvec count."""

    def __init__(self, A):
        super().__init__(dtype=np.float64, shape=A.shape)
        self.A = A

    def _matvec(self, x):
        return self.A.matvec(x)

    def _matmat(self, X):
        return self.A.matmat(X)

    def _adjoint(self):
        return self


@dataclass(frozen=True)
class PowerIteration:
    """Power iteration history: ``eigenvalue`` estimate, ``vector``, ``history`` (Rayleigh quotient after each
    product), ``n_matvecs``, ``converged``."""

    eigenvalue: float
    vector: np.ndarray
    history: np.ndarray
    n_matvecs: int
    converged: bool


def power_iteration(op, *, shift: float = 0.0, tol: float = 1e-3, maxiter: int = 100, seed: int = 0) -> PowerIteration:
    r"""Power iteration on :math:`H - s I` as in PyHessian (Yao et al. 2020): the baseline of the benchmark.

    :math:`v \leftarrow (H - sI)v / \|(H - sI)v\|`, eigenvalue estimate :math:`\lambda = v^\top H v`;
    stops when :math:`|\lambda_t - \lambda_{t-1}| / (|\lambda_{t-1}| + 10^{-6}) < \mathrm{tol}` (PyHessian's
    rule) or after ``maxiter`` products. With ``shift = λ_max`` it finds :math:`\lambda_{\min}`.
    """
    A = _as_operator(op)
    maxiter = _check_int(maxiter, "maxiter")
    v = _start_vector(A.shape[0], seed)
    v /= np.linalg.norm(v)
    hist, lam_old, converged = [], None, False
    for _ in range(maxiter):
        Hv = A.matvec(v)
        lam = float(v @ Hv)
        hist.append(lam)
        w = Hv - shift * v
        nw = np.linalg.norm(w)
        if nw == 0:
            converged = True
            break
        v = w / nw
        if lam_old is not None and abs(lam - lam_old) / (abs(lam_old) + 1e-6) < tol:
            converged = True
            break
        lam_old = lam
    return PowerIteration(hist[-1], v, np.asarray(hist), len(hist), converged)


# ----------------------------------------------------------------------------------------------------------
# traces
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TraceEstimate:
    """A Monte-Carlo trace estimate: ``estimate`` (mean of ``samples``), ``stderr`` (std/√k, ddof=1)."""

    estimate: float
    stderr: float
    samples: np.ndarray

    @property
    def n_probes(self) -> int:
        return len(self.samples)

    def running(self) -> np.ndarray:
        """Running mean after 1, 2, ..., k probes (the convergence curves of Fig. 3)."""
        return np.cumsum(self.samples) / np.arange(1, len(self.samples) + 1)


def probe_vectors(n: int, n_probes: int, seed: int, dist: str = "rademacher") -> np.ndarray:
    """``(n_probes, n)`` i.i.d. probe vectors with zero mean and unit variance: Rademacher (±1) or Gaussian.

    The same ``(n, seed, dist)`` gives the same probes whatever ``n_probes`` (row ``i`` is the ``i``-th draw),
    so :func:`hutchinson_trace` and :func:`curvature_trace` can share directions, as in Sec. III.2.
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
    """
    if not callable(loss):
        raise ValueError("loss must be callable")
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    alphas = np.linspace(-1.0, 1.0, 50) if alphas is None else np.asarray(alphas, dtype=np.float64)
    if alphas.ndim != 1 or len(alphas) < 3 or not np.all(np.isfinite(alphas)):
        raise ValueError("alphas must be a 1-D finite array of at least 3 values")
    V = probe_vectors(len(x0), n_probes, seed, dist)
    A = np.vander(alphas, 3, increasing=True)
    samples = []
    for d in V:
        ell = np.array([float(loss(x0 + a * d)) for a in alphas])
        c = np.linalg.lstsq(A, ell, rcond=None)[0]
        samples.append(2.0 * c[2])
    return _trace_from_samples(samples)


# ----------------------------------------------------------------------------------------------------------
# stochastic Lanczos quadrature
# ----------------------------------------------------------------------------------------------------------

def lanczos(op, v0, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``n_steps`` Lanczos steps from ``v0`` with full reorthogonalisation (float64).

    Returns ``(alpha, beta, Q)``: the diagonal and off-diagonal of the tridiagonal
    :math:`T = Q^\top H Q` and the orthonormal basis ``Q`` (n, m). Stops early at an invariant subspace
    (:math:`\beta_j \le 10^{-10}\,\|T\|`), so ``m <= n_steps``.
    """
    A = _as_operator(op)
    n = A.shape[0]
    n_steps = min(_check_int(n_steps, "n_steps"), n)
    q = np.asarray(v0, dtype=np.float64).reshape(-1)
    if q.shape != (n,) or not np.all(np.isfinite(q)) or not np.any(q):
        raise ValueError(f"v0 must be a finite non-zero vector of length {n}")
    Q = np.zeros((n, n_steps))
    alpha, beta = [], []
    Q[:, 0] = q / np.linalg.norm(q)
    scale = 0.0
    for j in range(n_steps):
        w = A.matvec(Q[:, j])
        a = float(Q[:, j] @ w)
        alpha.append(a)
        w = w - a * Q[:, j] - (beta[-1] * Q[:, j - 1] if j > 0 else 0.0)
        # full reorthogonalisation (twice is enough)
        for _ in range(2):
            w -= Q[:, :j + 1] @ (Q[:, :j + 1].T @ w)
        b = float(np.linalg.norm(w))
        scale = max(scale, abs(a), b)
        if j == n_steps - 1:
            break
        if b <= 1e-10 * max(scale, 1e-300):
            break
        beta.append(b)
        Q[:, j + 1] = w / b
    m = len(alpha)
    return np.asarray(alpha), np.asarray(beta[:m - 1]), Q[:, :m]


@dataclass(frozen=True)
class SLQDensity:
    r"""Spectral density estimate: ``density`` on ``grid``; quadrature ``nodes`` and ``weights`` per probe
    (lists of arrays: each probe's weights sum to 1); ``sigma`` the Gaussian smoothing standard deviation;
    ``n_matvecs`` the operator products used."""

    grid: np.ndarray
    density: np.ndarray
    nodes: list
    weights: list
    sigma: float
    n_matvecs: int

    def pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """All nodes and weights pooled (weights divided by the number of probes, summing to 1)."""
        k = len(self.nodes)
        return np.concatenate(self.nodes), np.concatenate(self.weights) / k


def smoothed_density(eigenvalues, grid, sigma: float, weights=None) -> np.ndarray:
    r"""Gaussian-smoothed spectral density :math:`\phi_\sigma(t) = \sum_i w_i\, \mathcal N(t; \lambda_i,
    \sigma^2)` with :math:`\mathcal N(t;\lambda,\sigma^2) = e^{-(t-\lambda)^2/(2\sigma^2)} / (\sigma\sqrt{2\pi})`
    (Ghorbani et al. 2019, eq (6); :math:`\sigma` is the standard deviation of the kernel), weights
    :math:`w_i = 1/n` by default, so the density integrates to 1."""
    lam = np.asarray(eigenvalues, dtype=np.float64).reshape(-1)
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    w = np.full(len(lam), 1.0 / len(lam)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != lam.shape:
        raise ValueError("weights must have the same length as eigenvalues")
    out = np.zeros_like(grid)
    for i in range(0, len(lam), 2048):
        z = (grid[:, None] - lam[None, i:i + 2048]) / sigma
        out += np.exp(-0.5 * z * z) @ w[i:i + 2048]
    return out / (sigma * np.sqrt(2.0 * np.pi))


def density_l1(grid, p, q) -> float:
    r""":math:`L_1(p, q) = \int |p(t) - q(t)|\,dt` by the trapezoid rule on ``grid`` (Ghorbani et al. report
    :math:`\approx 0.0012` for their SLQ on a 15,910-parameter MNIST model)."""
    return float(np.trapezoid(np.abs(np.asarray(p) - np.asarray(q)), np.asarray(grid)))


def slq_density(op, n_probes: int = 10, n_steps: int = 90, grid=None, sigma: float | None = None,
                seed: int = 0, *, n_grid: int = 1000) -> SLQDensity:
    r"""Stochastic Lanczos quadrature estimate of the smoothed spectral density (Ghorbani et al. 2019, Alg. 1).

    For each of ``n_probes`` probes :math:`v_j \sim \mathcal N(0, I)/\|\cdot\|`: run ``n_steps`` Lanczos steps
    with full reorthogonalisation (:func:`lanczos`), diagonalise the tridiagonal :math:`T = U L U^\top` in
    float64 (``scipy.linalg.eigh_tridiagonal``), take nodes :math:`\ell_i = L_{ii}` and Gauss quadrature
    weights :math:`\omega_i = U_{1i}^2`; then
    :math:`\hat\phi_\sigma(t) = \frac1k \sum_j \sum_i \omega^{(j)}_i \mathcal N(t; \ell^{(j)}_i, \sigma^2)`
    (see :func:`smoothed_density` for the kernel; ``sigma`` is its standard deviation, in eigenvalue units).
    Costs ``n_probes * n_steps`` operator products.

    Defaults: ``sigma`` = 1% of the node range; ``grid`` = ``n_grid`` points from the smallest node − 5σ to
    the largest + 5σ.
    """
    A = _as_operator(op)
    n = A.shape[0]
    n_probes = _check_int(n_probes, "n_probes")
    n_steps = _check_int(n_steps, "n_steps")
    if sigma is not None and (not np.isfinite(sigma) or sigma <= 0):
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    before = _count(A)
    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    for _ in range(n_probes):
        v = rng.standard_normal(n)
        a, b, _ = lanczos(A, v, n_steps)
        if len(a) == 1:
            ln, U = a.copy(), np.ones((1, 1))
        else:
            ln, U = scipy.linalg.eigh_tridiagonal(a, b)
        nodes.append(ln)
        weights.append(U[0, :] ** 2)
    allnodes = np.concatenate(nodes)
    if sigma is None:
        spread = float(allnodes.max() - allnodes.min())
        sigma = 0.01 * spread if spread > 0 else 1.0
    if grid is None:
        grid = np.linspace(allnodes.min() - 5 * sigma, allnodes.max() + 5 * sigma, n_grid)
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    if len(grid) < 2 or not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be a finite, strictly increasing 1-D array of at least 2 points")
    dens = np.mean([smoothed_density(l, grid, sigma, w) for l, w in zip(nodes, weights, strict=True)], axis=0)
    return SLQDensity(grid, dens, nodes, weights, float(sigma), _count(A) - before)
