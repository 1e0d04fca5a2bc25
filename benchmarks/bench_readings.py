"""Where chapter 02's paper-profile time goes: one cutoff pass (landscape.diffusion.manifold.cutoff_distances) on the
iris reference trajectory.

Times, at one thread, per trajectory of M = 2400 points (m = 515, N = 120), extrapolated from ``--points`` points:
per-sample gradients (the general vmap path before, the outer-product path now), the thin SVD of one covariance
factor (direct before, QR first now), the all-pairs product of eq (2.5) one point at a time
(the former form of the pass) and blocked as ``manifold._pass`` does it now (``diffusion.distances.Blocks``), and one
diffusion spectrum (dense and 64-NN). Then one full pass (``--full``). Writes benchmarks/results/bench_readings.csv.

Run: .venv/bin/python benchmarks/bench_readings.py [--points 200] [--full]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from landscape import diffusion as dm
from landscape.curvature import covariance as cov
from landscape.diffusion import manifold
from landscape.diffusion.distances import Blocks, right_svd
from landscape.infra.linalg import limit_threads
from landscape.nets.recording import RecordConfig, record_sgd


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--full", action="store_true", help="also time one whole pass (sample kind, two cutoffs)")
    args = ap.parse_args()
    traj = record_sgd(RecordConfig(batch_size=20, epochs=400, lr=0.01, seed=0), progress=False)
    net, X, y, loss = manifold._grad_setup(traj)
    N, M, k = X.shape[0], traj.M, args.points
    scale = M / k
    Xt = torch.from_numpy(traj.params - traj.params.mean(axis=0))
    idx = np.linspace(0, M - 1, k).astype(int)
    rows = []
    with limit_threads(1):
        p0 = torch.from_numpy(traj.params[0])
        cov.per_sample_grads(net, loss, X, y, params=p0, chunk_size=N)  # warm-up (vmap setup)
        cov.per_sample_grads(net, loss, X, y, params=p0)
        G = {}
        t_vmap = _timed(lambda: [cov.per_sample_grads(net, loss, X, y, params=torch.from_numpy(traj.params[i]),
                                                      chunk_size=N) for i in idx])  # chunk_size: the vmap path
        rows.append({"step": "per-sample gradients, vmap (before)", "seconds_per_trajectory": t_vmap * scale})
        t = _timed(lambda: G.update({i: cov.per_sample_grads(net, loss, X, y, params=torch.from_numpy(traj.params[i]))
                                     for i in idx}))
        rows.append({"step": "per-sample gradients, outer products (now)", "seconds_per_trajectory": t * scale,
                     "speedup": t_vmap / t})
        W = {}

        def svds(right_svd):
            for i in idx:
                s, Vt = right_svd((G[i] - G[i].mean(dim=0)) / np.sqrt(N))
                r = int((s * s > 1e-15 * s[0] * s[0]).sum())
                W[i] = Vt[:r] / s[:r, None]

        t_direct = _timed(lambda: svds(lambda F: torch.linalg.svd(F, full_matrices=False)[1:])) * scale
        rows.append({"step": "thin SVD of one factor, direct (before)", "seconds_per_trajectory": t_direct})
        t = _timed(lambda: svds(right_svd)) * scale
        rows.append({"step": "thin SVD of one factor, QR first (now)", "seconds_per_trajectory": t,
                     "speedup": t_direct / t})

        def per_point():
            for i in idx:
                Y = Xt @ W[i].T
                Y -= Y[i].clone()
                torch.cumsum(Y * Y, dim=1)

        def blocked():
            b = Blocks(Xt, lambda i, Y, _: torch.cumsum(Y * Y, dim=1))
            for i in idx:
                b.add(int(i), W[i])
            b.flush()

        rank = float(np.mean([w.shape[0] for w in W.values()]))
        for name, fn in (("product, per point", per_point), ("product, blocked", blocked)):
            t = _timed(fn) * scale
            rows.append({"step": name, "seconds_per_trajectory": t, "gflops": 2 * M * M * traj.m * rank / t / 1e9})
        sq = manifold.cutoff_distances(traj, [1e-15])["sample", 1e-15] if args.full else None
        if sq is None:
            sq = np.abs(np.random.default_rng(0).normal(size=(M, M)))
            sq = sq + sq.T
            np.fill_diagonal(sq, 0.0)
        med = float(np.median(sq))
        rows.append({"step": "one spectrum (dense eigvalsh)", "seconds_per_trajectory": _timed(
            lambda: dm.diffusion_spectrum(sq, med))})
        rows.append({"step": "one spectrum (64-NN)", "seconds_per_trajectory": _timed(
            lambda: dm.diffusion_spectrum(sq, med, knn=64))})
        if args.full:
            t = _timed(lambda: manifold._pass(traj, ("sample",), (1e-15, 6e-4), False))
            rows.append({"step": "whole pass, one kind, two cutoffs", "seconds_per_trajectory": t})
    out = pd.DataFrame(rows)
    print(out.to_string(index=False))
    path = Path(__file__).parent / "results" / "bench_readings.csv"
    path.parent.mkdir(exist_ok=True)
    out.to_csv(path, index=False)


if __name__ == "__main__":
    main()
