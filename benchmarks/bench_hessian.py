"""Benchmark of landscape.curvature.hessian on a model with >= 10,000 parameters (one run, ratios not timings asserted).

1. Extreme eigenvalues: Hessian-vector products (HVPs) that Lanczos (ARPACK ``eigsh`` as used by
   ``landscape.curvature.hessian.eigenpairs``, and plain Lanczos with full reorthogonalisation) and power iteration
   (PyHessian's method; shifted by lambda_max for lambda_min) need to reach a relative accuracy eps of
   lambda_max and lambda_min, against the exact eigenvalues of the dense Hessian. Target: ratio <= 1/3.
2. Spectral density: stochastic Lanczos quadrature (10 probes x 90 steps) vs the full eigendecomposition
   (dense Hessian from HVP columns + numpy.linalg.eigh): time and L1 distance of the smoothed densities.

Usage: .venv/bin/python benchmarks/bench_hessian.py [--quick]
Writes benchmarks/results/hessian_*.csv (git-ignored).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from landscape.curvature import hessian as hs
from landscape.nets import data as ldata

OUT = Path(__file__).resolve().parent / "results"


def build(hidden: int, epochs: int, seed: int = 0):
    ds = ldata.load("digits", seed=seed)
    X, y = ds.tensors("train")
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, hidden), nn.Tanh(), nn.Linear(hidden, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=g)
        for i in range(0, len(X), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
    return model, (X, y)


def first_hit(history, ref, eps):
    err = np.abs(np.asarray(history) - ref) / abs(ref)
    idx = np.nonzero(err <= eps)[0]
    return int(idx[0]) + 1 if len(idx) else None


def main(quick: bool = False):
    torch.set_num_threads(1)  # 2 threads on a shared 2-core machine oversubscribe badly
    OUT.mkdir(parents=True, exist_ok=True)
    hidden = 40 if quick else 140  # 140 -> 64*140+140+140*10+10 = 10,510 parameters
    model, (X, y) = build(hidden, 5 if quick else 20)
    m = sum(p.numel() for p in model.parameters())
    op = hs.hessian_operator(model, nn.functional.cross_entropy, (X, y), dtype=torch.float64)
    print(f"model: MLP 64-{hidden}-10 tanh on digits ({len(X)} training images), {m} parameters")

    # one HVP
    v = np.random.default_rng(0).standard_normal(m)
    t = time.perf_counter()
    for _ in range(5):
        op @ v
    t_hvp = (time.perf_counter() - t) / 5

    # exact spectrum
    t = time.perf_counter()
    H = op.to_dense(chunk=128)
    t_dense = time.perf_counter() - t
    H = 0.5 * (H + H.T)
    t = time.perf_counter()
    w = np.linalg.eigvalsh(H)
    t_eigh = time.perf_counter() - t
    del H
    lmin, lmax = float(w[0]), float(w[-1])
    print(f"HVP {t_hvp * 1e3:.1f} ms; dense Hessian {t_dense:.1f} s; eigh {t_eigh:.1f} s; "
          f"lambda_max {lmax:.6g}, lambda_min {lmin:.6g}")

    rows = []
    eps_list = (1e-2, 1e-4, 1e-6)
    maxit = 300 if quick else 5000
    # power iteration (PyHessian), full histories
    op.reset_count()
    p_top = hs.power_iteration(op, tol=0.0, maxiter=maxit, seed=0)
    p_bot = hs.power_iteration(op, shift=lmax, tol=0.0, maxiter=maxit, seed=0)
    # plain Lanczos (full reorthogonalisation): Ritz values after every step
    n_l = 150 if not quick else 80
    a, b, _ = hs.lanczos(op, np.random.default_rng(0).standard_normal(m), n_l)
    ritz_top, ritz_bot = [], []
    for j in range(1, len(a) + 1):
        T = np.diag(a[:j]) + np.diag(b[:j - 1], 1) + np.diag(b[:j - 1], -1)
        e = np.linalg.eigvalsh(T)
        ritz_top.append(e[-1])
        ritz_bot.append(e[0])
    # ARPACK eigsh at decreasing tolerances
    arp = {"max": [], "min": []}
    for tol in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8, 1e-10, 0.0):
        for which, key in (("largest", "max"), ("smallest", "min")):
            op.reset_count()
            r = hs.eigenpairs(op, 1, which, seed=0, tol=tol)
            arp[key].append((r.n_matvecs, float(r.eigenvalues[0])))
    for eps in eps_list:
        for key, ref, pw, rz in (("max", lmax, p_top, ritz_top), ("min", lmin, p_bot, ritz_bot)):
            n_pow = first_hit(pw.history, ref, eps)
            n_lan = first_hit(rz, ref, eps)
            ok = [n for n, val in arp[key] if abs(val - ref) / abs(ref) <= eps]
            n_arp = min(ok) if ok else None
            # lambda_min by power iteration needs lambda_max first: count those products too
            extra = first_hit(p_top.history, lmax, eps) if key == "min" else 0
            n_pow_total = None if n_pow is None or extra is None else n_pow + extra
            rows.append({"eigenvalue": f"lambda_{key}", "eps": eps, "exact": ref,
                         "hvp_power": n_pow_total, "hvp_lanczos": n_lan, "hvp_eigsh": n_arp,
                         "ratio_lanczos_power": (n_lan / n_pow_total) if n_lan and n_pow_total else np.nan,
                         "ratio_eigsh_power": (n_arp / n_pow_total) if n_arp and n_pow_total else np.nan,
                         "power_cap": maxit})
    eig = pd.DataFrame(rows)
    eig.insert(0, "n_params", m)
    eig.to_csv(OUT / "hessian_eigen.csv", index=False)
    print(eig.to_string(index=False))

    # SLQ vs full eigendecomposition
    srows = []
    for rel_sigma in (0.01, 0.05):
        sigma = rel_sigma * (lmax - lmin)
        grid = np.linspace(lmin - 6 * sigma, lmax + 6 * sigma, 4000)
        exact = hs.smoothed_density(w, grid, sigma)
        for k, steps in ((10, 90), (10, 30)) if not quick else ((5, 30),):
            t = time.perf_counter()
            res = hs.slq_density(op, k, steps, grid=grid, sigma=sigma, seed=0)
            t_slq = time.perf_counter() - t
            srows.append({"n_params": m, "sigma_over_range": rel_sigma, "sigma": sigma, "n_probes": k,
                          "n_steps": steps, "hvps": res.n_matvecs, "slq_seconds": t_slq,
                          "full_seconds": t_dense + t_eigh, "dense_build_seconds": t_dense,
                          "eigh_seconds": t_eigh, "speedup": (t_dense + t_eigh) / t_slq,
                          "l1": hs.density_l1(grid, res.density, exact)})
    slq = pd.DataFrame(srows)
    slq.to_csv(OUT / "hessian_slq.csv", index=False)
    print(slq.to_string(index=False))
    pd.DataFrame([{"n_params": m, "hvp_ms": t_hvp * 1e3, "dense_seconds": t_dense, "eigh_seconds": t_eigh,
                   "lambda_max": lmax, "lambda_min": lmin}]).to_csv(OUT / "hessian_setup.csv", index=False)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
