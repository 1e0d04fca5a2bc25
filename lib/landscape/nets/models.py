"""Multilayer perceptrons with the Keras-style initialisations of source 000, and flat-vector views.

Source 000 (Fjellström & Nyström) trains fully connected ReLU networks built with Keras; Sec. 3.4.4 compares
Keras' initialisers. `mlp` reproduces them in torch:

==================  =====================================================================================
init                weights (biases are zero except for ``constant``, which sets every parameter)
==================  =====================================================================================
glorot_uniform      U(-a, a), a = sqrt(6 / (fan_in + fan_out))  (Keras' default, used throughout 000)
constant            every weight and bias equal to ``init_value`` (source: 5)
zeros               every weight and bias zero
identity            the (rectangular) identity matrix, as Keras' ``Identity`` (gain 1)
orthogonal          a (semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix, sign-fixed
random_uniform      U(-0.05, 0.05)  (Keras' ``RandomUniform`` defaults)
truncated_normal    N(0, 0.05^2) redrawn outside two standard deviations (Keras' ``TruncatedNormal``)
==================  =====================================================================================

Keras' ``constant`` and ``zeros`` initialisers are applied to kernels while biases keep Keras' default
``zeros``; the source does not say whether its constant network also had constant biases. We follow Keras:
biases are zero for every initialiser (see ``BIAS_RULE``).

Flattened parameter vectors use the order of ``torch.nn.utils.parameters_to_vector(model.parameters())``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from landscape.infra.validation import check_scalar

INITS = (
    "glorot_uniform",
    "constant",
    "zeros",
    "identity",
    "orthogonal",
    "random_uniform",
    "truncated_normal",
)
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
}
LOSSES = ("cce", "mse", "mae")
BIAS_RULE = "biases start at zero for every initialiser (Keras' bias default)"


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes!r}")
    for s in sizes:
        if not isinstance(s, int | torch.SymInt) or isinstance(s, bool) or s < 1:
            raise ValueError(f"sizes must be positive integers, got {sizes!r}")
    return sizes


def _init_weight(w: torch.Tensor, init: str, init_value: float | None, gen: torch.Generator) -> None:
    fan_out, fan_in = w.shape
    with torch.no_grad():
        if init == "glorot_uniform":
            a = math.sqrt(6.0 / (fan_in + fan_out))
            w.copy_(torch.rand(w.shape, generator=gen, dtype=torch.float64) * 2 * a - a)
        elif init == "constant":
            w.fill_(5.0 if init_value is None else float(init_value))
        elif init == "zeros":
            w.zero_()
        elif init == "identity":
            w.copy_(torch.eye(fan_out, fan_in, dtype=torch.float64))
        elif init == "orthogonal":
            rows, cols = fan_out, fan_in
            g = torch.randn((max(rows, cols), min(rows, cols)), generator=gen, dtype=torch.float64)
            q, r = torch.linalg.qr(g)
            q = q * torch.sign(torch.diagonal(r))  # unique (Haar) orthogonal factor
            w.copy_(q if rows >= cols else q.T)
        elif init == "random_uniform":
            w.copy_(torch.rand(w.shape, generator=gen, dtype=torch.float64) * 0.1 - 0.05)
        elif init == "truncated_normal":
            out = torch.randn(w.shape, generator=gen, dtype=torch.float64)
            bad = out.abs() > 2
            while bad.any():  # redraw (not clip) values beyond two standard deviations
                out[bad] = torch.randn(int(bad.sum()), generator=gen, dtype=torch.float64)
                bad = out.abs() > 2
            w.copy_(out * 0.05)
        else:  # pragma: no cover - validated by the caller
            raise AssertionError(init)


def mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    init: str = "glorot_uniform",
    seed: int = 0,
    *,
    init_value: float | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    batch_norm: bool = False,
    bias: bool = True,
) -> nn.Sequential:
    """A fully connected network ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between layers.

    The output layer is linear (logits for classification; the softmax of source 000 eq (3.4) lives in
    the loss). ``init`` is one of :data:`INITS` (see the module docstring); the same ``seed`` gives the
    same weights on every machine (weights are drawn in float64 on the CPU, then cast).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first, output last (at least two).
    activation : str
        A key of :data:`ACTIVATIONS`, applied after every hidden layer.
    init : str
        A weight initialiser of :data:`INITS`; ``init_value`` is the constant of ``init="constant"``.
    seed : int
        Seed of the weight draw.
    dtype, device
        Where the parameters live.
    batch_norm : bool
        Insert ``BatchNorm1d`` after every hidden Linear layer (before the activation). The normalisation
        always uses the statistics of the batch it sees (``track_running_stats=False``), in train and eval mode
        alike; its scale and shift start at 1 and 0 and draw nothing, so the weights equal those without it.
    bias : bool, default True
        Give every Linear layer a bias. ``False`` builds the bias-free net of source 001 ("ReLU activation network:
        nearly connected", ``H(x, theta) = W2 phi(W1 x)``): the same weights as with biases (biases
        draw nothing), and ``n_params`` is the number of weights alone.
    init_value : float, optional
        The constant of ``init="constant"`` (default 5); ignored by the other initialisers.

    Returns
    -------
    torch.nn.Sequential
        The network, in train mode.

    Examples
    --------
    >>> [type(m).__name__ for m in mlp([3, 4, 2], batch_norm=True)]
    ['Linear', 'BatchNorm1d', 'ReLU', 'Linear']
    >>> n_params(mlp([3, 4, 2], bias=False))  # 3 * 4 + 4 * 2 weights
    20
    """
    sizes = _check_sizes(sizes)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if init not in INITS:
        raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
    if init_value is not None and init != "constant":
        raise ValueError(f"init_value is only used with init='constant', got init={init!r}")
    check_scalar(seed, "seed", int)
    if not isinstance(bias, bool | np.bool_):
        raise ValueError(f"bias must be True or False, got {bias!r}")
    gen = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        lin = nn.Linear(a, b, bias=bool(bias), dtype=torch.float64)
        _init_weight(lin.weight, init, init_value, gen)
        if lin.bias is not None:
            with torch.no_grad():
                lin.bias.zero_()
        layers.append(lin)
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(b, track_running_stats=False, dtype=torch.float64))
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers).to(dtype=dtype, device=device)


def n_params(model: nn.Module) -> int:
    """Number of trainable scalars m.

    Parameters
    ----------
    model : torch.nn.Module
        Network whose trainable scalars are counted.

    Returns
    -------
    int
        m.

    Examples
    --------
    >>> n_params(nn.Linear(3, 2))  # 3 * 2 weights + 2 biases
    8
    """
    return sum(p.numel() for p in model.parameters())


def flatten(model: nn.Module) -> torch.Tensor:
    """A detached copy of the flat parameter vector (``parameters_to_vector`` order).

    Parameters
    ----------
    model : torch.nn.Module
        Network whose parameters are copied.

    Returns
    -------
    torch.Tensor
        (m,) detached copy.
    """
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()


def assign(model: nn.Module, vec) -> nn.Module:
    """Write a copy of the flat vector ``vec`` (array or tensor of length m) into ``model``; returns the model.

    The parameters never share memory with ``vec``: training the model afterwards leaves the caller's vector as it
    was (``torch.nn.utils.vector_to_parameters`` alone would make the parameters views of it, and a NumPy array
    passed in would move with every optimiser step).

    Parameters
    ----------
    model : torch.nn.Module
        Network whose parameters are overwritten in place.
    vec : array_like or torch.Tensor
        Length m.

    Returns
    -------
    torch.nn.Module
        ``model``.

    Examples
    --------
    >>> net = nn.Linear(2, 1)
    >>> flatten(assign(net, [1.0, 2.0, 3.0]))  # weights, then bias
    tensor([1., 2., 3.])
    """
    p0 = next(model.parameters())
    vec = torch.as_tensor(vec, dtype=p0.dtype, device=p0.device).clone()
    if vec.ndim != 1 or vec.numel() != n_params(model):
        raise ValueError(f"vec must have shape ({n_params(model)},), got {tuple(vec.shape)}")
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(vec, model.parameters())
    return model


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Evaluate ``model`` at other weights: eval mode and ``torch.no_grad`` inside; weights and each module's
    train/eval flag restored on exit (also after an exception). Yields the parameter list, to write into with
    ``torch.nn.utils.vector_to_parameters``.

    Parameters
    ----------
    model : torch.nn.Module
        Network evaluated inside the block and restored after it.

    Yields
    ------
    list of torch.Tensor
        ``list(model.parameters())``.

    Examples
    --------
    >>> net = nn.Linear(2, 1).train()
    >>> with evaluating(net) as params:
    ...     torch.nn.utils.vector_to_parameters(torch.zeros(3), params)
    ...     print(float(net(torch.ones(1, 2))), net.training)
    0.0 False
    >>> bool(flatten(net).abs().sum() > 0), net.training
    (True, True)
    """
    params = list(model.parameters())
    theta0 = torch.nn.utils.parameters_to_vector(params).detach().clone()
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            yield params
    finally:
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(theta0, params)
        for m, flag in flags:
            m.training = flag


def unflatten(model: nn.Module, vec: torch.Tensor) -> dict[str, torch.Tensor]:
    """Split a flat vector into ``{name: tensor}`` views for ``torch.func.functional_call``.

    Differentiable in ``vec`` (views, no copies), so ``torch.func.grad`` of a function of the flat vector works.

    Parameters
    ----------
    model : torch.nn.Module
        Network that gives the names and shapes.
    vec : torch.Tensor
        (m,) flat vector.

    Returns
    -------
    dict
        ``{name: view of vec}``.
    """
    m = n_params(model)
    if vec.ndim != 1 or vec.numel() != m:
        raise ValueError(f"vec must have shape ({m},), got {tuple(vec.shape)}")
    out, i = {}, 0
    for name, p in model.named_parameters():
        out[name] = vec[i : i + p.numel()].view_as(p)
        i += p.numel()
    return out


def loss_function(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The mean loss over samples: ``cce`` (categorical cross entropy on logits, source 000 eq (3.4)),
    ``mse`` (mean squared error), ``mae`` (mean absolute error, source 000 eq (3.5)).

    Parameters
    ----------
    name : str
        One of :data:`LOSSES`.

    Returns
    -------
    callable
        ``loss(output, target)``, a mean over samples.
    """
    if name == "cce":
        return nn.functional.cross_entropy
    if name == "mse":
        return nn.functional.mse_loss
    if name == "mae":
        return nn.functional.l1_loss
    raise ValueError(f"loss must be one of {list(LOSSES)}, got {name!r}")


def _buffers(model: nn.Module) -> list[torch.Tensor]:
    return [b for b in model.buffers() if b.is_floating_point()]


def buffer_vector(model: nn.Module) -> np.ndarray:
    """The floating-point buffers (BN running means and variances) as one flat float64 vector (possibly empty).

    Parameters
    ----------
    model : torch.nn.Module
        Network whose floating-point buffers are read.

    Returns
    -------
    numpy.ndarray
        (b,) float64, buffers in ``model.buffers()`` order.
    """
    bufs = _buffers(model)
    if not bufs:
        return np.zeros(0)
    return np.concatenate([b.detach().cpu().double().numpy().reshape(-1) for b in bufs])


def assign_buffers(model: nn.Module, vec) -> nn.Module:
    """Write a flat vector from :func:`buffer_vector` back into the model's floating-point buffers.

    Parameters
    ----------
    model : torch.nn.Module
        Network whose buffers are overwritten in place.
    vec : array_like
        Flat buffers (length of :func:`buffer_vector`).

    Returns
    -------
    torch.nn.Module
        ``model``.
    """
    bufs = _buffers(model)
    v = np.asarray(vec, dtype=np.float64).reshape(-1)
    n = sum(b.numel() for b in bufs)
    if v.size != n:
        raise ValueError(f"vec must have {n} entries (the model's floating-point buffers), got {v.size}")
    i = 0
    with torch.no_grad():
        for b in bufs:
            b.copy_(torch.as_tensor(v[i:i + b.numel()].reshape(b.shape), dtype=b.dtype))
            i += b.numel()
    return model
