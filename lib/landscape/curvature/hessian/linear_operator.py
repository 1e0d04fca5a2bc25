"""The symmetric, product-counting ``LinearOperator`` that every curvature operator returns, and helpers
that accept an operator or a dense matrix wherever one is expected.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse.linalg as spla
import torch


class CurvatureOperator(spla.LinearOperator):
    r"""A symmetric ``LinearOperator`` (float64 numpy in/out) that counts its matrix-vector products.

    ``n_matvecs`` is the number of operator applications to single vectors so far (a block of ``k`` columns
    counts ``k``); :meth:`reset_count` sets it to zero. ``torch_matvec`` applies the operator to a torch
    vector of the compute dtype without the numpy round trip. ``name`` says what the operator is.

    Parameters
    ----------
    n : int
        Dimension (the operator is n x n).
    torch_matvec : callable
        ``v -> H v`` on torch vectors of ``dtype`` on ``device``.
    dtype : torch.dtype
        Compute dtype of the products.
    device : str or torch.device
        Where the products run.
    name : str
        What the operator is ("Hessian", "Gauss-Newton", ...).
    torch_matmat : callable or None
        ``V -> H V`` on a block of columns, when faster than one product per column.
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
        """Set :attr:`n_matvecs` to zero."""
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
