r"""Matrix-free curvature operators: the loss Hessian (HVPs), the Hessian of a plain function, and the
Gauss--Newton matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.func import grad, jvp, vjp, vmap

from landscape.curvature.hessian.flat_model import _flat_model
from landscape.curvature.hessian.inputs import _as_tensor, _batches, _resolve_dtype
from landscape.curvature.hessian.linear_operator import CurvatureOperator


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


def _flat_batches(model, data, batch_size, dtype, device):
    """The flat view of ``model`` and the weighted batches of ``data`` in its compute dtype and on its device."""
    fm = _flat_model(model, dtype, device)
    return fm, _batches(data, batch_size, fm.dtype, fm.device)


def parameter_indices(model: nn.Module, params) -> np.ndarray:
    r"""Positions of named parameters in the flat ``parameters_to_vector`` order: the index set :math:`S` of a
    Hessian block :math:`H_{SS}` (one layer's spectrum, a user ask of the peers).

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    params : str or sequence of str
        Parameter names as in ``model.named_parameters()`` (``"0.weight"``) or module prefixes (``"0"``: every
        parameter of module ``0``; ``"layer1.conv"``).

    Returns
    -------
    numpy.ndarray
        Sorted int64 positions.

    Examples
    --------
    >>> from landscape import hessian  # np, torch and nn as imported by this module
    >>> net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))  # 8 + 3 parameters
    >>> hessian.parameter_indices(net, "2"), hessian.parameter_indices(net, ["0.bias"])
    (array([ 8,  9, 10]), array([6, 7]))
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    names = [params] if isinstance(params, str) else list(params) if params is not None else []
    if not names or not all(isinstance(p, str) and p for p in names):
        raise ValueError(f"params must be a parameter name or module prefix or a non-empty list of them, "
                         f"got {params!r}")
    spans, start = [], 0
    for name, p in model.named_parameters():
        spans.append((name, start, start + p.numel()))
        start += p.numel()
    out = []
    for want in names:
        hit = [(a, b) for name, a, b in spans if name == want or name.startswith(want + ".")]
        if not hit:
            raise ValueError(f"params: {want!r} names no parameter of the model (names: {[n for n, _, _ in spans]})")
        out.extend(np.arange(a, b) for a, b in hit)
    return np.unique(np.concatenate(out)).astype(np.int64)


def _restrict(full: CurvatureOperator, idx: np.ndarray, label: str) -> CurvatureOperator:
    r"""The block :math:`P_S^\top A P_S` of a curvature operator: embed, multiply, select (one full product each)."""
    sel = torch.as_tensor(idx, device=full.device)
    n = full.shape[0]

    def embed(V: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(*V.shape[:-1], n, dtype=V.dtype, device=V.device)
        out[..., sel] = V
        return out

    def matvec(v: torch.Tensor) -> torch.Tensor:
        return full.torch_matvec(embed(v))[sel]

    matmat = None
    if full._torch_matmat is not None:
        def matmat(V: torch.Tensor) -> torch.Tensor:
            return full._torch_matmat(embed(V))[:, sel]

    return CurvatureOperator(len(idx), matvec, dtype=full.torch_dtype, device=full.device,
                             name=f"{full.name} block ({label})", torch_matmat=matmat)


def _maybe_block(full: CurvatureOperator, model: nn.Module, params) -> CurvatureOperator:
    if params is None:
        return full
    idx = parameter_indices(model, params)
    label = params if isinstance(params, str) else ", ".join(params)
    return _restrict(full, idx, label)


class _Cache:
    """Per-process memo of autograd graphs (or pullbacks) that an operator reuses between products; pickling
    (to a worker process) drops the contents, which the worker then builds again.
    """

    def __init__(self, build: Callable[[], list]):
        self.build, self.items = build, None

    def get(self) -> list:
        if self.items is None:
            self.items = self.build()
        return self.items

    def __getstate__(self):
        return {"build": self.build, "items": None}


def hessian_operator(model: nn.Module, loss_fn: Callable, data, *, batch_size: int | None = None,
                     dtype=None, device=None, method: str = "auto", cache: bool | None = None,
                     params=None) -> CurvatureOperator:
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
    model : torch.nn.Module
        The network, at the weights where the Hessian is taken.
    loss_fn : callable
        ``loss_fn(output, target) -> scalar``, a mean over the samples.
    data : tuple, sequence of tuples or landscape.nets.data.Dataset
        A pair ``(X, y)`` (tensors or arrays), a sequence of such batches, or a ``Dataset`` (its training split).
    batch_size : int, optional
        Split every pair into minibatches of this size (memory); the result is unchanged.
    dtype : torch.dtype or str, optional
        Compute dtype (``torch.float32``/``torch.float64``); default the model's. float64 makes the operator
        exact to rounding (the model's own weights are not converted).
    device : torch.device or str, optional
        Compute device; default the device of the model's parameters.
    method : {"auto", "reverse", "forward"}
        ``"reverse"``: double backward, reverse-over-reverse (eq (33) literally); ``"forward"``:
        forward-over-reverse, ``torch.func.jvp`` of ``torch.func.grad``, batched over blocks of vectors with
        ``vmap``; ``"auto"`` (default): reverse for single vectors, forward+vmap for blocks, falling back to
        reverse where an operation has no forward-mode rule (e.g. ``mse_loss`` in some torch versions).
    cache : bool, optional
        Keep, for the reverse products, the graph of the gradient :math:`\nabla_\theta L_b` of every batch between
        products, so each product is one backward pass through it instead of a forward and two backward passes
        (about twice as fast, the same numbers to the last bit; memory: the graphs of all batches). Default: cache
        when the data form a single batch (no ``batch_size`` split).
    params : str or sequence of str, optional
        Restrict to the Hessian block :math:`H_{SS}` of these parameters (names or module prefixes, see
        :func:`parameter_indices`), e.g. one layer: the operator then has shape ``(|S|, |S|)`` and multiplies by
        embedding a vector with zeros, one full product and selecting :math:`S` (exact; same cost as a full HVP).
        Every solver (``eigenpairs``, ``slq_density``, ...) then gives that layer's spectrum.

    Returns
    -------
    CurvatureOperator
        Shape ``(m, m)`` in ``parameters_to_vector`` order (``(|S|, |S|)`` with ``params``); ``n_matvecs`` counts
        the HVPs.

    Examples
    --------
    >>> from landscape import hessian  # np, torch and nn as imported by this module
    >>> _ = torch.manual_seed(0)
    >>> model = nn.Linear(3, 1, bias=False).double()
    >>> X, y = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, 1, dtype=torch.float64)

    >>> H = hessian.hessian_operator(model, nn.MSELoss(), (X, y), batch_size=8)
    >>> bool(np.allclose(H.to_dense(), 2 * (X.T @ X).numpy() / 20))  # least squares: H = 2 X^T X / N
    True
    >>> H.n_matvecs  # one product per identity column
    3
    """
    if method not in ("forward", "reverse", "auto"):
        raise ValueError(f"method must be 'auto', 'forward' or 'reverse', got {method!r}")
    if not callable(loss_fn):
        raise ValueError("loss_fn must be callable")
    if params is not None:
        parameter_indices(model, params)  # a bad name fails before any work
    fm, batches = _flat_batches(model, data, batch_size, dtype, device)
    dtype, device, theta = fm.dtype, fm.device, fm.theta

    def batch_loss(flat, X, y):
        return loss_fn(fm.output(flat, X), y)

    def hvp_forward(v: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(theta)
        with fm.eval_mode():
            for X, y, w in batches:
                g = grad(lambda t, X=X, y=y: batch_loss(t, X, y))
                out = out + w * jvp(g, (theta,), (v,))[1]
        return out.detach()

    def gradient_graph(X, y):
        t = theta.detach().requires_grad_(True)
        (gr,) = torch.autograd.grad(batch_loss(t, X, y), t, create_graph=True)
        return t, gr

    def build():
        with fm.eval_mode():
            return [(*gradient_graph(X, y), w) for X, y, w in batches]

    graphs = _Cache(build)
    keep = len(batches) == 1 if cache is None else bool(cache)

    def hvp_reverse(v: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(theta)
        if keep:
            for t, gr, w in graphs.get():
                out = out + w * torch.autograd.grad(gr @ v, t, retain_graph=True)[0]
            return out.detach()
        with fm.eval_mode():
            for X, y, w in batches:
                t, gr = gradient_graph(X, y)
                out = out + w * torch.autograd.grad(gr @ v, t)[0]
        return out.detach()

    if method == "reverse":
        return _maybe_block(CurvatureOperator(fm.n, hvp_reverse, dtype=dtype, device=device, name="hessian"),
                            model, params)
    if method == "forward":
        return _maybe_block(CurvatureOperator(fm.n, hvp_forward, dtype=dtype, device=device, name="hessian",
                                              torch_matmat=_block(hvp_forward)), model, params)
    state = {"forward_ok": True}
    block_fwd = _block(hvp_forward, fallback=False)

    def matmat(V):
        if state["forward_ok"]:
            try:
                return block_fwd(V)
            except RuntimeError:
                state["forward_ok"] = False
        return torch.stack([hvp_reverse(v) for v in V])

    return _maybe_block(CurvatureOperator(fm.n, hvp_reverse, dtype=dtype, device=device, name="hessian",
                                          torch_matmat=matmat), model, params)


def function_hessian_operator(fn: Callable[[torch.Tensor], torch.Tensor], x0, *, dtype=torch.float64,
                              device="cpu") -> CurvatureOperator:
    r"""Hessian :math:`\nabla^2 f(x_0)` of a scalar function of a flat vector, as a ``LinearOperator``.

    For toy losses such as the saddles of eqs (26) and (31): :math:`H v = \frac{d}{d\epsilon}
    \nabla f(x_0 + \epsilon v)\big|_{\epsilon=0}` (forward-over-reverse). ``fn`` takes a 1-D torch tensor.

    Parameters
    ----------
    fn : callable
        Scalar function of a 1-D torch tensor.
    x0 : array_like
        The point.
    dtype : torch.dtype
        Compute dtype.
    device : str or torch.device
        Compute device.

    Returns
    -------
    CurvatureOperator

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import hessian
    >>> H = hessian.function_hessian_operator(lambda x: x[0] ** 2 - 3 * x[1] ** 2 + x[0] * x[1], [0.5, 1.0])
    >>> H.to_dense()
    array([[ 2.,  1.],
           [ 1., -6.]])
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


def _output_hessian_product(loss_fn: Callable, o: torch.Tensor, y: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    r""":math:`H_L u` with :math:`H_L = \partial^2 L / \partial f^2` at the outputs ``o``: forward-over-reverse, or
    reverse-over-reverse where the loss has no forward-mode rule for its gradient (``nn.MSELoss`` in torch 2.13
    raises "ZeroTensors are immutable"; found by the cross-check against curvlinops).
    """
    g = grad(lambda z: loss_fn(z, y))
    try:
        return jvp(g, (o,), (u,))[1]
    except RuntimeError:
        return grad(lambda z: torch.sum(g(z) * u))(o)


def gauss_newton(model: nn.Module, loss_fn: Callable, data, *, batch_size: int | None = None, dtype=None,
                 device=None, cache: bool | None = None, params=None) -> CurvatureOperator:
    r"""Generalised Gauss--Newton matrix :math:`G = \sum_b \frac{n_b}{N} J_b^\top H_{L,b} J_b` as an operator.

    :math:`J_b = \partial f(X_b;\theta)/\partial\theta` is the Jacobian of the network outputs on batch
    :math:`b` and :math:`H_{L,b} = \partial^2 L_b / \partial f^2` the Hessian of the loss w.r.t. the outputs.
    The full Hessian is :math:`H = G + \sum_{b} \frac{n_b}{N} \sum_{i,k} \frac{\partial L_b}{\partial f_{ik}}
    \nabla^2_\theta f_{ik}`; for the MSE loss eq (8) the second term carries the residuals :math:`f - y` of
    eq (9) and vanishes at a perfect fit, where :math:`G` equals the empirical Fisher (eqs (7), (9)--(11)).
    :math:`G` is positive semi-definite whenever the loss is convex in the outputs (MSE, cross entropy).

    Products: :math:`v \mapsto J v` (``jvp``), :math:`\mapsto H_L (J v)` (``jvp`` of the output gradient, or a
    second ``grad`` where the loss has no forward-mode rule),
    :math:`\mapsto J^\top (\cdot)` (``vjp``; with ``cache`` the pullback of every batch is built once and reused,
    the same numbers to the last bit). Arguments as in :func:`hessian_operator`.

    Parameters
    ----------
    model, loss_fn, data, batch_size, dtype, device, cache, params
        As in :func:`hessian_operator` (``params``: the block :math:`G_{SS}` of one layer).

    Returns
    -------
    CurvatureOperator

    Examples
    --------
    >>> from landscape import hessian  # np, torch and nn as imported by this module
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> data = (X, torch.ones(2, 1, dtype=torch.float64))
    >>> G = hessian.gauss_newton(nn.Linear(2, 1).double(), nn.MSELoss(), data).to_dense()
    >>> np.round(G, 12) + 0.0  # 2 A^T A / N with A = [X, 1] (weights, then bias): a linear model, so G = H
    array([[1., 0., 1.],
           [0., 4., 2.],
           [1., 2., 2.]])
    """
    if params is not None:
        parameter_indices(model, params)
    fm, batches = _flat_batches(model, data, batch_size, dtype, device)
    dtype, device, theta = fm.dtype, fm.device, fm.theta

    def output_map(X):
        return lambda t: fm.output(t, X)

    def build():
        with fm.eval_mode():
            return [vjp(output_map(X), theta)[1] for X, _, _ in batches]

    pullbacks = _Cache(build)
    keep = len(batches) == 1 if cache is None else bool(cache)

    def ggn_single(v):
        out = torch.zeros_like(theta)
        with fm.eval_mode():
            for b, (X, y, w) in enumerate(batches):
                o, jv = jvp(output_map(X), (theta,), (v,))
                hl = _output_hessian_product(loss_fn, o, y, jv)
                pullback = pullbacks.get()[b] if keep else vjp(output_map(X), theta)[1]
                out = out + w * pullback(hl)[0]
        return out.detach()

    return _maybe_block(CurvatureOperator(fm.n, ggn_single, dtype=dtype, device=device, name="gauss-newton",
                                          torch_matmat=_block(ggn_single)), model, params)
