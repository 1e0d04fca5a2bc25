"""Dense float64 Hessian and Gauss--Newton matrices from ``torch.func``: the oracles of the test-suite
(small models only).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.func import jacrev

from landscape.curvature.hessian.flat_model import _flat_model
from landscape.curvature.hessian.inputs import _as_tensor, _batches


def dense_hessian(model: nn.Module, loss_fn: Callable, data, *, dtype=torch.float64, device=None) -> np.ndarray:
    """Dense Hessian of the full-data loss from ``torch.func.hessian`` in float64 (the oracle; small models).

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    loss_fn : callable
        ``loss_fn(output, target) -> scalar``.
    data : tuple or landscape.nets.data.Dataset
        The data.
    dtype : torch.dtype
        Compute dtype.
    device : str or torch.device, optional
        Compute device.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from landscape import hessian
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> data = (X, torch.zeros(2, 1, dtype=torch.float64))
    >>> hessian.dense_hessian(nn.Linear(2, 1, bias=False).double(), nn.MSELoss(), data)  # 2 X^T X / N
    array([[1., 0.],
           [0., 4.]])
    """
    fm = _flat_model(model, dtype, device)
    dtype, device = fm.dtype, fm.device
    batches = _batches(data, None, dtype, device)

    def full_loss(t):
        return sum(w * loss_fn(fm.output(t, X), y) for X, y, w in batches)

    with fm.eval_mode():
        H = torch.func.hessian(full_loss)(fm.theta)
    return H.detach().to("cpu", torch.float64).numpy()


def dense_function_hessian(fn: Callable[[torch.Tensor], torch.Tensor], x0, *, dtype=torch.float64) -> np.ndarray:
    """Dense Hessian of a scalar function of a flat vector (``torch.func.hessian``).

    Parameters
    ----------
    fn : callable
        Scalar function of a 1-D tensor.
    x0 : array_like
        The point.
    dtype : torch.dtype
        Compute dtype.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> from landscape import hessian
    >>> hessian.dense_function_hessian(lambda x: (x ** 3).sum(), [1.0, -2.0]) + 0.0  # diag(6 x)
    array([[  6.,   0.],
           [  0., -12.]])
    """
    x0 = _as_tensor(np.asarray(x0, dtype=np.float64) if not torch.is_tensor(x0) else x0, dtype, "cpu", "x0")
    return torch.func.hessian(fn)(x0).detach().to(torch.float64).numpy()


def dense_gauss_newton(model: nn.Module, loss_fn: Callable, data, *, dtype=torch.float64,
                       device=None) -> np.ndarray:
    r"""Dense :math:`G = J^\top H_L J` with :math:`J` from ``jacrev`` and :math:`H_L` from ``torch.func.hessian``.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    loss_fn : callable
        ``loss_fn(output, target) -> scalar``.
    data : tuple or landscape.nets.data.Dataset
        The data.
    dtype : torch.dtype
        Compute dtype.
    device : str or torch.device, optional
        Compute device.

    Returns
    -------
    numpy.ndarray
    """
    fm = _flat_model(model, dtype, device)
    dtype, device = fm.dtype, fm.device
    G = torch.zeros(fm.n, fm.n, dtype=dtype, device=device)
    with fm.eval_mode():
        for X, y, w in _batches(data, None, dtype, device):
            o = fm.output(fm.theta, X)
            J = jacrev(lambda t, X=X: fm.output(t, X))(fm.theta).reshape(o.numel(), fm.n)
            HL = torch.func.hessian(lambda z, y=y: loss_fn(z, y))(o).reshape(o.numel(), o.numel())
            G = G + w * J.T @ HL @ J
    return G.detach().to("cpu", torch.float64).numpy()
