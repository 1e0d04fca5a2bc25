"""Input checks and conversions shared by the Hessian tools: integers, dtypes, tensors, data batches."""

from __future__ import annotations

import torch
from torch import nn

from landscape.infra.validation import check_scalar


def _check_int(value, name: str, minimum: int = 1) -> int:
    return int(check_scalar(value, name, int, min_val=minimum))


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
    """(X, y) from a tuple/list of two arrays or an object with ``tensors(split)`` (``landscape.nets.data.Dataset``)."""
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
