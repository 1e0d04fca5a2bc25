"""Per-sample gradients and the covariance of SGD noise.

Source: Fjellström & Nyström, "Deep learning, SGD and diffusion maps", section 2.1.

Notation (source Table 1): ``N`` samples in the loss, ``n`` batch size, ``m`` parameters. The loss is
``f(x) = (1/N) Σ_i f_i(x)`` (eq 1.1) and a minibatch gradient is the mean of ``n`` per-sample gradients
drawn without replacement (eq 1.3). Everything here works on the ``(N, m)`` matrix ``G`` of per-sample
gradients ``∇f_i(x)`` in ``torch.nn.utils.parameters_to_vector`` order.

The SGD covariance (eq 2.6) is

    C = (N - n) / (n (N - 1)) · [ (1/N) Σ_i g_i g_iᵀ − ḡ ḡᵀ ]
      = (N - n) / (n N (N - 1)) · Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ ,

so ``C = Fᵀ F`` with the ``(N, m)`` factor ``F = sqrt((N - n) / (n N (N - 1))) · (G − 1 ḡᵀ)`` of rank at most
``N − 1``. :func:`sgd_noise_factor` returns ``F``; nothing downstream needs an ``m × m`` matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch.func import functional_call, grad, vmap

from landscape.nets import models

__all__ = [
    "per_sample_grads",
    "sgd_covariance",
    "sgd_covariance_approx",
    "fisher_matrix",
    "sgd_noise_factor",
    "trajectory_covariance",
    "covariance_scale",
    "covariance_eigenvalues",
    "correlation_block",
]

def _resolve_loss(loss_name_or_fn) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if callable(loss_name_or_fn):
        return loss_name_or_fn
    if isinstance(loss_name_or_fn, str) and loss_name_or_fn.lower() in models.LOSSES:
        return models.loss_function(loss_name_or_fn.lower())
    raise ValueError(
        f"loss_name_or_fn: expected a callable or one of {list(models.LOSSES)}, got {loss_name_or_fn!r}"
    )


def _params_dict(model: torch.nn.Module, params) -> dict[str, torch.Tensor]:
    """Named parameters of ``model``, or ``params`` (a flat vector or a name -> tensor mapping)."""
    names_shapes = [(name, p) for name, p in model.named_parameters()]
    if params is None:
        return {name: p.detach() for name, p in names_shapes}
    if isinstance(params, Mapping):
        missing = [name for name, _ in names_shapes if name not in params]
        if missing:
            raise ValueError(f"params: missing entries {missing}")
        return {name: torch.as_tensor(params[name]) for name, _ in names_shapes}
    vec = torch.as_tensor(np.asarray(params) if not isinstance(params, torch.Tensor) else params)
    m = sum(p.numel() for _, p in names_shapes)
    if vec.ndim != 1 or vec.numel() != m:
        raise ValueError(f"params: expected a flat vector of length {m}, got shape {tuple(vec.shape)}")
    return models.unflatten(model, vec.to(names_shapes[0][1].dtype))


def per_sample_grads(
    model: torch.nn.Module,
    loss_name_or_fn,
    X,
    y,
    params=None,
    *,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """Per-sample gradients ``∇_x f_i(x)`` (the summands of eq 1.1 / 1.3), shape ``(N, m)``.

    Columns follow ``parameters_to_vector(model.parameters())`` order. For an ``nn.Sequential`` of ``Linear``
    layers and elementwise activations with a named loss (the networks of :func:`landscape.nets.models.mlp` without
    batch norm) they come from one batched backward pass and the outer-product rule (``∇_W f_i = δ_i a_iᵀ``),
    ~25× faster than the general path; anything else uses ``torch.func.vmap(grad(...))`` over
    ``functional_call``. Both agree to rounding (tests).

    Parameters
    ----------
    model : the network; its parameters are used unless ``params`` is given (the model is not modified).
    loss_name_or_fn : "cce" (cross entropy on logits, int64 targets), "mse", "mae", or a callable
        ``loss(output, target) -> scalar`` that averages over a batch (it is applied to batches of one).
    X, y : inputs ``(N, ...)`` and targets ``(N, ...)`` (tensors or arrays). ``X`` is cast to the
        parameters' dtype, so a float64 model gives float64 gradients.
    params : optional flat parameter vector of length ``m`` (tensor or array) or a name -> tensor mapping,
        at which to evaluate the gradients instead of the model's current parameters.
    chunk_size : forwarded to ``vmap`` to bound memory.

    Returns
    -------
    torch.Tensor, shape (N, m)
        One gradient per row, in the parameters' dtype and on their device.
    """
    loss = _resolve_loss(loss_name_or_fn)
    pdict = _params_dict(model, params)
    dtype = next(iter(pdict.values())).dtype
    X = torch.as_tensor(X)
    y = torch.as_tensor(y)
    if X.ndim < 1 or y.ndim < 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X, y: need the same number of rows, got {tuple(X.shape)} and {tuple(y.shape)}")
    if X.shape[0] == 0:
        raise ValueError("X: no samples")
    if X.is_floating_point():
        X = X.to(dtype)
    if not torch.isfinite(X).all():
        raise ValueError("X: contains NaN or inf")
    if y.is_floating_point():
        y = y.to(dtype)
        if not torch.isfinite(y).all():
            raise ValueError("y: contains NaN or inf")
    pdict = {k: v.detach() for k, v in pdict.items()}
    if chunk_size is None and isinstance(loss_name_or_fn, str) and _layered(model):
        return _layered_grads(model, pdict, loss, X, y)

    def single(p, xi, yi):
        out = functional_call(model, p, (xi.unsqueeze(0),))
        return loss(out, yi.unsqueeze(0))

    g = vmap(grad(single), in_dims=(None, 0, 0), chunk_size=chunk_size)(pdict, X, y)
    names = [name for name, _ in model.named_parameters()]
    return torch.cat([g[name].reshape(X.shape[0], -1) for name in names], dim=1)


def _layered(model: torch.nn.Module) -> bool:
    """True for an ``nn.Sequential`` of ``nn.Linear`` layers and parameter-free elementwise activations
    (:data:`landscape.nets.models.ACTIVATIONS`): every sample then passes through the network on its own.
    """
    elementwise = tuple(models.ACTIVATIONS.values())
    return (isinstance(model, torch.nn.Sequential) and len(model) > 0
            and all(isinstance(mod, torch.nn.Linear) or (isinstance(mod, elementwise)
                                                         and not any(True for _ in mod.parameters()))
                    for mod in model))


def _layered_grads(model, pdict, loss, X, y) -> torch.Tensor:
    """Per-sample gradients of a :func:`_layered` network from one batched forward and backward pass.

    With samples independent, ``∂(N·loss)/∂z_l`` at sample ``i`` is ``∂f_i/∂z_l[i]`` for every pre-activation
    ``z_l = a_l Wᵀ + b``, so ``∇_W f_i = δ_i a_iᵀ`` and ``∇_b f_i = δ_i`` (the outer-product rule of BackPACK and
    Opacus). The named losses are means over samples of per-sample terms of equal size, so ``N·loss`` is their
    sum. Equal to the ``vmap`` path up to rounding (tests).
    """
    p = {k: v.detach().requires_grad_(True) for k, v in pdict.items()}
    h, inputs, outputs, names = X, [], [], []
    with torch.enable_grad():
        for idx, mod in enumerate(model):
            if isinstance(mod, torch.nn.Linear):
                inputs.append(h)
                names.append(str(idx))
                h = torch.nn.functional.linear(h, p[f"{idx}.weight"], p.get(f"{idx}.bias"))
                outputs.append(h)
            else:
                h = mod(h)
        total = loss(h, y) * X.shape[0]
        deltas = torch.autograd.grad(total, outputs)
    per = {}
    for name, a, d in zip(names, inputs, deltas, strict=True):
        per[f"{name}.weight"] = torch.einsum("no,ni->noi", d, a.detach())
        per[f"{name}.bias"] = d
    return torch.cat([per[name].reshape(X.shape[0], -1) for name, _ in model.named_parameters()], dim=1)


def _check_grads(grads, batch_size=None) -> np.ndarray:
    if isinstance(grads, torch.Tensor):
        grads = grads.detach().cpu().numpy()
    G = np.asarray(grads)
    if G.ndim != 2:
        raise ValueError(f"grads: expected a 2-D (N, m) array, got shape {G.shape}")
    if G.shape[0] < 2:
        raise ValueError(f"grads: need at least 2 samples (rows), got {G.shape[0]}")
    if not np.issubdtype(G.dtype, np.floating):
        G = G.astype(np.float64)
    if not np.all(np.isfinite(G)):
        raise ValueError("grads: contains NaN or inf")
    if batch_size is not None:
        N = G.shape[0]
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise ValueError(f"batch_size: expected an integer, got {batch_size!r}")
        if not 1 <= batch_size <= N:
            raise ValueError(f"batch_size: must lie in [1, N={N}], got {batch_size}")
    return G


def covariance_scale(N: int, batch_size: int) -> float:
    """The finite-population factor ``(N - n) / (n (N - 1))`` of eq (2.6) and (2.7).

    Parameters
    ----------
    N : int
        Number of samples the minibatches are drawn from, at least 2.
    batch_size : int
        Minibatch size ``n``, ``1 <= n <= N`` (drawn without replacement).

    Returns
    -------
    float
        1 for ``n = 1``, 0 for ``n = N``.

    Examples
    --------
    >>> from landscape import covariance
    >>> covariance.covariance_scale(10, 1), covariance.covariance_scale(10, 10)  # one sample: 1; full batch: 0
    (1.0, 0.0)
    """
    if N < 2:
        raise ValueError(f"N: need at least 2 samples, got {N}")
    if not 1 <= batch_size <= N:
        raise ValueError(f"batch_size: must lie in [1, N={N}], got {batch_size}")
    return (N - batch_size) / (batch_size * (N - 1))


def sgd_covariance(grads, batch_size: int) -> np.ndarray:
    """Exact covariance of the minibatch gradient, eq (2.6), as a dense ``(m, m)`` matrix.

    ``C = (N - n)/(n (N - 1)) [ (1/N) Σ_i g_i g_iᵀ − ḡ ḡᵀ ]`` for minibatches of ``n = batch_size`` drawn
    uniformly without replacement from the ``N`` rows of ``grads``. ``C = 0`` for ``n = N``.
    Use :func:`sgd_noise_factor` when ``m`` is large.

    Parameters
    ----------
    grads : array_like or torch.Tensor, shape (N, m)
        Per-sample gradients ``g_i`` as rows (e.g. :func:`per_sample_grads`), finite, ``N >= 2``.
    batch_size : int
        Minibatch size ``n``, ``1 <= n <= N``.

    Returns
    -------
    numpy.ndarray, shape (m, m)
        The covariance ``C``.

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import covariance
    >>> G = np.array([[1.0, 2.0], [-1.0, 0.0], [0.0, 1.0]])  # N = 3 per-sample gradients
    >>> C = covariance.sgd_covariance(G, batch_size=1)  # n = 1: the covariance of one row drawn at random
    >>> bool(np.allclose(C, np.cov(G.T, bias=True)))
    True
    >>> F = covariance.sgd_noise_factor(G, batch_size=2)
    >>> bool(np.allclose(F.T @ F, covariance.sgd_covariance(G, batch_size=2)))
    True
    """
    G = _check_grads(grads, batch_size)
    N = G.shape[0]
    gbar = G.mean(axis=0)
    second = G.T @ G / N
    return covariance_scale(N, batch_size) * (second - np.outer(gbar, gbar))


def fisher_matrix(grads) -> np.ndarray:
    """The (empirical) Fisher / second-moment matrix ``F(x) = (1/N) Σ_i g_i g_iᵀ`` of section 2.1.

    Parameters
    ----------
    grads : array_like or torch.Tensor, shape (N, m)
        Per-sample gradients ``g_i`` as rows, finite, ``N >= 2``.

    Returns
    -------
    numpy.ndarray, shape (m, m)
        The uncentred second moment of the rows.
    """
    G = _check_grads(grads)
    return G.T @ G / G.shape[0]


def sgd_covariance_approx(grads, batch_size: int) -> np.ndarray:
    """Approximation (2.7): ``C ≈ (N - n)/(n (N - 1)) · (1/N) Σ_i g_i g_iᵀ`` (drops ``ḡ ḡᵀ``).

    Parameters
    ----------
    grads : array_like or torch.Tensor, shape (N, m)
        Per-sample gradients ``g_i`` as rows, finite, ``N >= 2``.
    batch_size : int
        Minibatch size ``n``, ``1 <= n <= N``.

    Returns
    -------
    numpy.ndarray, shape (m, m)
        The approximate covariance.
    """
    G = _check_grads(grads, batch_size)
    return covariance_scale(G.shape[0], batch_size) * fisher_matrix(G)


def sgd_noise_factor(grads, batch_size: int, *, kind: str = "sgd") -> np.ndarray:
    """A factor ``F`` (``N × m``) with ``Fᵀ F = C``, so no ``m × m`` matrix is needed.

    Parameters
    ----------
    grads : array_like, shape (N, m)
        Per-sample gradients ``g_i`` as rows (e.g. :func:`per_sample_grads`).
    batch_size : int
        Minibatch size ``n``, ``1 <= n <= N``.
    kind : {"sgd", "approx", "fisher", "sample"}
        ``"sgd"`` (default): eq (2.6), ``F = sqrt((N - n)/(n N (N - 1))) (G − 1 ḡᵀ)``, rank ≤ N − 1.
        ``"approx"``: eq (2.7), ``F = sqrt((N - n)/(n N (N - 1))) G``.
        ``"fisher"``: the Fisher matrix, ``F = G / sqrt(N)`` (``batch_size`` is only validated).
        ``"sample"``: the per-sample gradient covariance ``(1/N) Σ (g_i − ḡ)(g_i − ḡ)ᵀ``, i.e. eq (2.6)
        without the batch-size factor; it stays non-zero at full batch ``n = N``.

    Returns
    -------
    numpy.ndarray, shape (N, m)
        The factor ``F``.
    """
    G = _check_grads(grads, batch_size)
    N = G.shape[0]
    if kind == "sgd":
        return np.sqrt(covariance_scale(N, batch_size) / N) * (G - G.mean(axis=0))
    if kind == "approx":
        return np.sqrt(covariance_scale(N, batch_size) / N) * G
    if kind == "fisher":
        return G / np.sqrt(N)
    if kind == "sample":
        return (G - G.mean(axis=0)) / np.sqrt(N)
    raise ValueError(f"kind: expected 'sgd', 'approx', 'fisher' or 'sample', got {kind!r}")


def trajectory_covariance(points, t: int, half_width: int, *, factor: bool = False) -> np.ndarray:
    """Trajectory estimate of the covariance at step ``t``, eq (2.9).

    ``Ĉ(x(t)) = Σ_{τ=t-L}^{t+L} (x(τ) − μ(t)) (x(τ) − μ(t))ᵀ`` with ``μ(t)`` the mean of the window
    and ``L = half_width``. The window is clipped at the ends of the trajectory. The source writes a plain
    sum (no 1/(2L) normalisation); that is kept. With ``factor=True`` the ``(w, m)`` factor
    ``F = X_window − μ`` (``Fᵀ F = Ĉ``) is returned instead of the ``m × m`` matrix.

    Parameters
    ----------
    points : array_like, shape (M, m)
        The trajectory: one flat parameter vector per row, finite.
    t : int
        Step (row) of the estimate, ``0 <= t < M``.
    half_width : int
        ``L >= 1``: the window is rows ``t - L`` to ``t + L``, clipped at the ends.
    factor : bool, default False
        Return the ``(w, m)`` factor instead of the matrix (``w`` = rows in the window).

    Returns
    -------
    numpy.ndarray
        ``Ĉ`` of shape ``(m, m)``, or its factor ``F`` of shape ``(w, m)``.
    """
    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"points: expected (M, m), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("points: contains NaN or inf")
    M = X.shape[0]
    if not 0 <= t < M:
        raise ValueError(f"t: must lie in [0, {M - 1}], got {t}")
    if half_width < 1:
        raise ValueError(f"half_width: must be >= 1, got {half_width}")
    W = X[max(0, t - half_width) : min(M, t + half_width + 1)]
    F = W - W.mean(axis=0)
    return F if factor else F.T @ F


def covariance_eigenvalues(factor) -> np.ndarray:
    """All ``m`` eigenvalues of ``C = Fᵀ F`` (descending) from the singular values of the factor, with the
    ``m − rank`` structural zeros included: the spectrum plotted in the source's Figs 3b and 4b.

    Parameters
    ----------
    factor : array_like, shape (k, m)
        A factor ``F`` of the covariance (e.g. :func:`sgd_noise_factor`, :func:`trajectory_covariance` with
        ``factor=True``).

    Returns
    -------
    numpy.ndarray, shape (m,)
        The eigenvalues, descending (squared singular values, then zeros).
    """
    F = np.asarray(factor, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"factor: expected (k, m), got shape {F.shape}")
    s = np.linalg.svd(F, compute_uv=False)
    out = np.zeros(F.shape[1])
    out[: s.size] = s * s
    return out


def correlation_block(factor, idx) -> np.ndarray:
    """Correlation matrix ``C_ab / sqrt(C_aa C_bb)`` of ``C = Fᵀ F`` restricted to parameters ``idx`` (the
    source's Figs 3a and 4a show a 10 × 10 section). Entries of zero-variance parameters are NaN.

    Parameters
    ----------
    factor : array_like, shape (k, m)
        A factor ``F`` of the covariance.
    idx : sequence of int
        Indices of the parameters (in ``parameters_to_vector`` order), non-empty, each in ``[0, m)``.

    Returns
    -------
    numpy.ndarray, shape (len(idx), len(idx))
        The correlations (1 on the diagonal of parameters with variance).
    """
    F = np.asarray(factor, dtype=np.float64)
    idx = np.asarray(idx, dtype=int)
    if F.ndim != 2 or idx.ndim != 1 or idx.size == 0 or idx.min() < 0 or idx.max() >= F.shape[1]:
        raise ValueError(f"idx: expected indices into the {F.shape[-1]} parameters, got {idx!r}")
    B = F[:, idx]
    C = B.T @ B
    sd = np.sqrt(np.diag(C))
    with np.errstate(invalid="ignore", divide="ignore"):
        R = C / np.outer(sd, sd)
    R[~np.isfinite(R)] = np.nan
    return R
