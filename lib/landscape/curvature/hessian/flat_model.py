"""A model seen as a function of one flat parameter vector (the view every curvature operator works on)."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from landscape.curvature.hessian.inputs import _resolve_dtype
from landscape.nets import models


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


def _flat_model(model: nn.Module, dtype, device) -> _FlatModel:
    """The flat view of ``model`` in the compute ``dtype`` (default: the model's) on ``device`` (default: the
    device of the model's parameters).
    """
    dtype = _resolve_dtype(model, dtype)
    if device is None:
        device = next(model.parameters()).device
    return _FlatModel(model, dtype, device)
