"""Benchmark: landscape.noise.noisy_descent (replicas advanced together with numpy batched operations) vs a plain
Python loop over replicas and steps, on the tilted toy of source 004 (Fig. 7) with SGD-like noise.

    .venv/bin/python benchmarks/bench_noise.py [--replicas 1000 --steps 2000 --loop-replicas 10]

Both draw from the same model (the loop uses the same closed-form gradient and noise variance per replica). The loop
is timed on ``--loop-replicas`` replicas and its replica-steps per second compared with the vectorised run's.
Writes benchmarks/results/bench_noise.csv; the ratio is measured in the same run, on one thread.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from landscape import noise


def python_loop(alpha, lr, replicas, steps, seed=0):
    rng = np.random.default_rng(seed)
    out = np.empty((replicas, 2))
    for r in range(replicas):
        t1, t2 = 0.1, 0.1
        for _ in range(steps):
            lam = t2 * t2 + 1.0
            g1 = lam * t1 + np.sqrt(lam) * rng.standard_normal()
            g2 = t2 * t1 * t1 + alpha
            t1, t2 = t1 - lr * g1, t2 - lr * g2
        out[r] = t1, t2
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--loop-replicas", type=int, default=10)
    a = ap.parse_args()
    toy = noise.entropic_toy(1e-4)
    with threadpool_limits(1):
        t = time.perf_counter()
        noise.noisy_descent(toy.grad, np.full((a.replicas, 2), 0.1), lr=0.01, steps=a.steps,
                            noise_cov=noise.sgd_noise(toy.lambdas, 2, 1.0), every=a.steps)
        vec = time.perf_counter() - t
        t = time.perf_counter()
        python_loop(1e-4, 0.01, a.loop_replicas, a.steps)
        loop = time.perf_counter() - t
    rate_vec, rate_loop = a.replicas * a.steps / vec, a.loop_replicas * a.steps / loop
    df = pd.DataFrame([{"replicas": a.replicas, "steps": a.steps, "vectorised_s": vec,
                        "vectorised_replica_steps_per_s": rate_vec, "loop_replica_steps_per_s": rate_loop,
                        "speedup": rate_vec / rate_loop, "machine": platform.processor() or platform.machine()}])
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    df.to_csv(out / "bench_noise.csv", index=False)
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
