"""Benchmark: the all-pairs Mahalanobis product of eq (2.5) against the machine's own GEMM peak, measured in the
same run. Writes benchmarks/results/bench_distances.csv; the numbers go into benchmarks/README.md.

    .venv/bin/python benchmarks/bench_distances.py [--M 2400 --m 515 --N 120 --threads 1 2]

Flops counted: the products only, ``M · 2·M·m·r`` (r = rank of each factor, N − 1 or N), not the per-point thin
SVDs (reported separately as their share of the time). Peak: a square float64 (dgemm) and float32 (sgemm)
``torch.matmul`` of size 2048 at the same thread count. Methods:

- ``per-point``: one thin product ``(M × m)(m × r)`` per point (the implementation before blocking);
- ``blocked``: ``landscape.diffusion.mahalanobis_sq``, which stacks the ``W_i`` of consecutive points into one
  product of about 2048 columns (the grouping depends only on the ranks, so results do not depend on threads).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from landscape.diffusion import mahalanobis_sq
from landscape.diffusion.distances import _inverse_root_t

RCOND = 1e-15


def gemm_peak(dtype, threads: int, n: int = 2048, repeats: int = 3) -> float:
    a = torch.randn(n, n, dtype=dtype)
    torch.set_num_threads(threads)
    a @ a  # warm up
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def per_point(X, factors, threads: int) -> np.ndarray:
    """The unblocked reference: one thin GEMM per point."""
    torch.set_num_threads(threads)
    Xt = torch.from_numpy(X - X.mean(axis=0))
    Q = torch.empty((len(X), len(X)), dtype=torch.float64)
    for i, F in enumerate(factors):
        W = _inverse_root_t(torch.from_numpy(F), RCOND)
        Y = Xt @ W.T
        Y -= Y[i].clone()
        Q[i] = (Y * Y).sum(dim=1)
    out = 0.5 * (Q + Q.T)
    out.fill_diagonal_(0.0)
    return out.numpy()


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--M", type=int, default=2400)
    ap.add_argument("--m", type=int, default=515)
    ap.add_argument("--N", type=int, default=120)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.normal(size=(args.M, args.m)) * 1e-3, axis=0)
    pool = [rng.normal(size=(args.N, args.m)) * np.geomspace(1, 1e-3, args.N)[:, None] for _ in range(32)]
    factors = [pool[i % len(pool)] for i in range(args.M)]
    ranks = [min(args.N, args.m)] * args.M
    flops = sum(2.0 * args.M * args.m * r for r in ranks)
    svd_s = _timed(lambda: [_inverse_root_t(torch.from_numpy(F), RCOND) for F in factors[:200]]) * args.M / 200
    rows, reference = [], None
    for threads in args.threads:
        with threadpool_limits(limits=threads):
            peak64, peak32 = gemm_peak(torch.float64, threads), gemm_peak(torch.float32, threads)
            t_pp = _timed(lambda: per_point(X, factors, threads))  # noqa: B023
            out = {}
            t_bl = _timed(lambda: out.setdefault("d", mahalanobis_sq(X, factors, RCOND, threads=threads)))  # noqa: B023
        reference = per_point(X[:200], factors[:200], threads) if reference is None else reference
        err = float(np.max(np.abs(out["d"][:200, :200] - mahalanobis_sq(X[:200], factors[:200], RCOND))
                           / np.maximum(np.abs(reference), 1e-300)))
        for method, t in (("per-point", t_pp), ("blocked", t_bl)):
            gflops = flops / max(t - svd_s / threads, 1e-9) / 1e9
            rows.append(dict(threads=threads, method=method, seconds=round(t, 2), gemm_gflops=round(gflops, 1),
                             dgemm_peak_gflops=round(peak64, 1), sgemm_peak_gflops=round(peak32, 1),
                             share_of_dgemm_peak=round(gflops / peak64, 3), svd_seconds=round(svd_s / threads, 2),
                             speedup_vs_per_point=round(t_pp / t, 2)))
        print(f"threads {threads}: dgemm peak {peak64:.1f} GFLOP/s; per-point {t_pp:.1f} s, blocked {t_bl:.1f} s; "
              f"max rel diff blocked vs unblocked {err:.1e}")
    df = pd.DataFrame(rows)
    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    df.to_csv(out_dir / "bench_distances.csv", index=False)
    print(df.to_string(index=False))
    return df


if __name__ == "__main__":
    main()
