r"""Near-orthogonality of random directions (Böttcher & Wheeler, Sec. II.2): sampled inner products of Gaussian
pairs and the reconstructed tail bound eq (18).

* eq (18): :math:`P(|\langle\delta,\eta\rangle|/n \ge \epsilon) \lesssim 4 e^{-n\epsilon^2/4}` for large
  :math:`n` (Laurent--Massart bounds (15)--(16) on the two :math:`\chi^2_n` variables of eq (13), union bound).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from landscape.infra.validation import check_finite, check_scalar

__all__ = ["random_inner_products", "orthogonality_bound", "orthogonality_table"]


def _pos_int(v, name, minimum=1):
    return int(check_scalar(v, name, int, min_val=minimum))


def random_inner_products(dims, n_pairs: int, seed: int = 0) -> pd.DataFrame:
    r"""For each dimension :math:`n` in ``dims``, ``n_pairs`` independent pairs :math:`\delta,\eta \sim
    \mathcal N(0, I_n)`: the scaled inner product :math:`\langle\delta,\eta\rangle/n` (eqs (13)--(14): mean 0,
    variance :math:`1/n`) and the cosine of the angle. Tidy frame: ``dim, pair, inner_over_n, cosine``.

    Parameters
    ----------
    dims : sequence of int
        Dimensions :math:`n`.
    n_pairs : int
        Pairs per dimension.
    seed : int
        Seed of the draws (one generator for all dimensions, in order).

    Returns
    -------
    pandas.DataFrame
    """
    n_pairs = _pos_int(n_pairs, "n_pairs")
    dims = [_pos_int(int(d), "dims") for d in np.atleast_1d(dims)]
    rng = np.random.default_rng(seed)
    rows = []
    for n in dims:
        chunk = max(1, min(n_pairs, 2_000_000 // n))
        done = 0
        while done < n_pairs:
            m = min(chunk, n_pairs - done)
            d = rng.standard_normal((m, n))
            e = rng.standard_normal((m, n))
            ip = np.einsum("ij,ij->i", d, e)
            cos = ip / np.sqrt(np.einsum("ij,ij->i", d, d) * np.einsum("ij,ij->i", e, e))
            rows.append(pd.DataFrame({"dim": n, "pair": np.arange(done, done + m), "inner_over_n": ip / n,
                                      "cosine": cos}))
            done += m
    return pd.concat(rows, ignore_index=True)


def orthogonality_bound(n, eps) -> np.ndarray:
    r"""Reconstructed eq (18): :math:`P(|\langle\delta,\eta\rangle|/n \ge \epsilon) \le 2\bigl[
    e^{-n(\sqrt{1+2\epsilon}-1)^2/4} + e^{-n\epsilon^2/4}\bigr] \to 4e^{-n\epsilon^2/4}` (small
    :math:`\epsilon`). From eq (13), :math:`\langle\delta,\eta\rangle = (X - Y)/2` with
    :math:`X = \|\delta+\eta\|^2/2`, :math:`Y = \|\delta-\eta\|^2/2 \sim \chi^2_n`; the event needs
    :math:`|X-n| \ge n\epsilon` or :math:`|Y-n| \ge n\epsilon`, bounded by the Laurent--Massart inequalities
    (15)--(16) and a union bound. Returns the finite-:math:`n` form, clipped at 1.

    Parameters
    ----------
    n : array_like
        Dimensions.
    eps : array_like
        Thresholds (> 0).

    Returns
    -------
    numpy.ndarray
    """
    n = np.asarray(n, dtype=np.float64)
    eps = np.asarray(eps, dtype=np.float64)
    check_finite(eps, "eps")
    if np.any(eps <= 0):
        raise ValueError("eps must be > 0")
    b = 2 * (np.exp(-n * (np.sqrt(1 + 2 * eps) - 1) ** 2 / 4) + np.exp(-n * eps ** 2 / 4))
    return np.minimum(b, 1.0)


def orthogonality_table(dims, n_pairs: int, eps: float, seed: int = 0) -> pd.DataFrame:
    r"""Per dimension (Sec. II.2): the standard deviation of :math:`\langle\delta,\eta\rangle/n`, the mean
    :math:`|\cos|`, the sampled share with :math:`|\langle\delta,\eta\rangle|/n \ge \epsilon`, beside
    :math:`1/\sqrt n` and the reconstructed bound eq (18) (:func:`orthogonality_bound`).

    Parameters
    ----------
    dims : sequence of int
        Dimensions.
    n_pairs : int
        Pairs per dimension.
    eps : float
        Threshold of eq (18).
    seed : int
        Seed of the draws.

    Returns
    -------
    pandas.DataFrame
    """
    ip = random_inner_products(dims, n_pairs, seed=seed)
    out = (ip.assign(exceed=lambda d: np.abs(d.inner_over_n) >= eps, abs_cos=lambda d: np.abs(d.cosine))
             .groupby("dim").agg(std_inner_over_n=("inner_over_n", "std"), mean_abs_cos=("abs_cos", "mean"),
                                 share_exceeding=("exceed", "mean")).reset_index())
    out["one_over_sqrt_n"] = 1 / np.sqrt(out.dim)
    out["bound_eq18"] = orthogonality_bound(out.dim.to_numpy(), eps)
    return out
