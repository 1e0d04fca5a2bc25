"""Benchmark: low-rank Mahalanobis (eq 2.5) vs dense per-point pinv, and torch.func per-sample gradients
vs a Python loop. Writes benchmarks/results/bench_diffusion.csv; the numbers go into benchmarks/README.md.

    .venv/bin/python benchmarks/bench_diffusion.py [--M 2400 --m 515 --N 120 --dense-points 24]

The dense method forms each m × m covariance C_i = F_iᵀ F_i, takes numpy.linalg.pinv(C_i) and evaluates
(x_j − x_i)ᵀ C_i⁺ (x_j − x_i) for all j. It is timed on ``--dense-points`` points and extrapolated to M
(its cost per point does not depend on which point). Accuracy is compared on the block of pairs among those
points, where both methods use the same covariances. Factors are random (Gaussian rows with geometrically
decaying scales, a pool of 64 reused cyclically); both methods use one BLAS thread and rcond = 1e-10.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from landscape.curvature.covariance import per_sample_grads
from landscape.diffusion import mahalanobis_sq

RCOND = 1e-10


def make_problem(M, m, N, seed=0, pool=64):
    rng = np.random.default_rng(seed)
    X = np.cumsum(rng.normal(scale=0.05, size=(M, m)), axis=0)  # a random walk, like a trajectory
    scales = np.geomspace(1.0, 1e-2, N)[:, None]
    factors = [rng.normal(size=(N, m)) * scales for _ in range(pool)]
    return X, (lambda i: factors[i % pool])


def dense_rows(X, get, idx, rcond=RCOND):
    Q = np.empty((len(idx), X.shape[0]))
    for r, i in enumerate(idx):
        F = get(i)
        Cp = np.linalg.pinv(F.T @ F, rcond=rcond)
        diff = X - X[i]
        Q[r] = np.einsum("jk,kl,jl->j", diff, Cp, diff, optimize=True)
    return Q


def bench_mahalanobis(M, m, N, dense_points, repeat_dense=1):
    X, get = make_problem(M, m, N)
    rows = []
    t0 = time.perf_counter()
    D = mahalanobis_sq(X, get, rcond=RCOND, threads=1)
    t_low = time.perf_counter() - t0
    t0 = time.perf_counter()
    D32 = mahalanobis_sq(X, get, rcond=RCOND, threads=1, dtype=np.float32)
    t_low32 = time.perf_counter() - t0
    idx = np.linspace(0, M - 1, dense_points).astype(int)
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        for _ in range(repeat_dense):
            Qd = dense_rows(X, get, idx)
        t_dense_pp = (time.perf_counter() - t0) / repeat_dense / dense_points
    Dd = 0.5 * (Qd[:, idx] + Qd[:, idx].T)
    blk = D[np.ix_(idx, idx)]
    off = ~np.eye(dense_points, dtype=bool)
    rel = np.max(np.abs(blk - Dd)[off] / np.abs(Dd)[off])
    rel32 = np.max(np.abs(D32[np.ix_(idx, idx)] - Dd)[off] / np.abs(Dd)[off])
    t_dense = t_dense_pp * M
    rows.append(dict(benchmark="mahalanobis_sq", M=M, m=m, N=N, method="low-rank SVD, float64", seconds=t_low,
                     extrapolated=False, speedup_vs_baseline=t_dense / t_low, max_rel_err=rel))
    rows.append(dict(benchmark="mahalanobis_sq", M=M, m=m, N=N, method="low-rank SVD, float32 product", seconds=t_low32,
                     extrapolated=False, speedup_vs_baseline=t_dense / t_low32, max_rel_err=rel32))
    rows.append(dict(benchmark="mahalanobis_sq", M=M, m=m, N=N, method=f"dense pinv (timed on {dense_points} points)",
                     seconds=t_dense, extrapolated=True, speedup_vs_baseline=1.0, max_rel_err=0.0))
    return rows


def iris_net(dtype):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 24), torch.nn.ReLU(), torch.nn.Linear(24, 14), torch.nn.ReLU(), torch.nn.Linear(14, 3)
    ).to(dtype)


def loop_grads(model, X, y):
    out = []
    for i in range(X.shape[0]):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(X[i : i + 1]), y[i : i + 1]).backward()
        out.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    return torch.stack(out)


def timeit(fn, n):
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        r = fn()
    return (time.perf_counter() - t0) / n, r


def bench_grads(N=120, reps=50):
    rows = []
    for dtype in (torch.float32, torch.float64):
        model = iris_net(dtype)
        g = torch.Generator().manual_seed(0)
        X = torch.randn(N, 4, generator=g, dtype=dtype)
        y = torch.randint(0, 3, (N,), generator=g)
        t_v, Gv = timeit(lambda: per_sample_grads(model, "cce", X, y), reps)  # noqa: B023 - called at once
        t_l, Gl = timeit(lambda: loop_grads(model, X, y), max(3, reps // 10))  # noqa: B023 - called at once
        err = float((Gv - Gl).abs().max() / Gl.abs().max())
        name = str(dtype).replace("torch.", "")
        m = sum(p.numel() for p in model.parameters())
        rows.append(dict(benchmark="per_sample_grads", M=1, m=m, N=N, method=f"torch.func vmap(grad), {name}",
                         seconds=t_v, extrapolated=False, speedup_vs_baseline=t_l / t_v, max_rel_err=err))
        rows.append(dict(benchmark="per_sample_grads", M=1, m=m, N=N, method=f"python loop, {name}",
                         seconds=t_l, extrapolated=False, speedup_vs_baseline=1.0, max_rel_err=0.0))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--M", type=int, default=2400)
    ap.add_argument("--m", type=int, default=515)
    ap.add_argument("--N", type=int, default=120)
    ap.add_argument("--dense-points", type=int, default=24)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_diffusion.csv"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    rows = bench_grads(a.N) + bench_mahalanobis(a.M, a.m, a.N, a.dense_points)
    df = pd.DataFrame(rows)
    df["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    df["torch"] = torch.__version__
    df["numpy"] = np.__version__
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(a.out, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df.drop(columns=["machine", "torch", "numpy"]).to_string(index=False))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
