r"""Are the solutions of different optimizer families different functions? (chapter 06, source 003, Sec. 5.1.1;
Im et al.) Judged against the within-basin null: the disagreement between two runs of the *same* method from the
same initialisation that differ only by the minibatch order.

Heun's step (RK2) differs from SGD's by a term of order :math:`\eta^2` at the same step and batches, so SGD and
RK2 (and Adam and Adam+RK2) may end at the same function by construction; the comparison is therefore made across
the two families, SGD-type and Adam-type, and the within-family reference is the minibatch-order null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from landscape.infra.executor import map_units
from landscape.infra.validation import check_scalar
from landscape.surfaces.solutions import functional_difference

__all__ = ["disagreement_vs_null", "profile_distances_across_inits"]

#: Offset of the second minibatch order of a seed (the null's run).
BATCH_OFFSET = 1000


def _run_unit(sizes, loss_fn, train, method: str, lr: float, epochs: int, init_seed: int, batch_seed: int,
              batch_size: int, device: str) -> np.ndarray:
    """Train one MLP and return its final flat parameters (module-level so that worker processes can run it)."""
    from landscape.nets import models, optimizers

    net = models.mlp(list(sizes), seed=init_seed, device=device)
    return optimizers.train(net, loss_fn, *train, [(method, epochs, lr)], batch_size=batch_size,
                            seed=batch_seed).params[-1]


def disagreement_vs_null(sizes: Sequence[int], loss_fn: Callable, train, X_test, lrs: dict[str, float], *,
                         methods: tuple[str, str] = ("sgd", "adam"), epochs: int, seeds: Sequence[int],
                         batch_seeds: Sequence[int] | None = None, known: Mapping | None = None,
                         batch_size: int = 64, device: str = "cpu", jobs: int | None = None) -> pd.DataFrame:
    r"""Test disagreement between two optimizer families and the within-basin null, one row per seed.

    For each seed ``s`` (with batch seed ``b``, by default ``s``) both methods train ``models.mlp(sizes, seed=s)``
    twice, with minibatch orders ``b`` and ``b + 1000`` (:func:`landscape.nets.optimizers.train`; the same
    initialisation and, per order, the same batches for both methods). With :math:`D(a, b)` the share of test
    inputs on which the predicted classes of two solutions differ
    (:func:`landscape.surfaces.solutions.functional_difference`):

    * ``cross`` = mean of :math:`D(a_k, b_k)` over the two orders :math:`k` (method ``a`` vs method ``b``);
    * ``null`` = mean of :math:`D(a_0, a_1)` and :math:`D(b_0, b_1)` (one method, two batch orders);
    * ``excess`` = ``cross - null``: how much more two families disagree than two runs of one method do.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths of the ReLU MLP (a classifier).
    loss_fn : callable
        Training loss.
    train : tuple
        ``(X, y)`` training data.
    X_test : array_like
        Inputs on which the predictions are compared.
    lrs : dict
        ``{method: step size}`` holding both ``methods``.
    methods : (str, str)
        The two optimizers compared (one of each family: ``"sgd"`` and ``"adam"``).
    epochs : int
        Epochs of every run.
    seeds : sequence of int
        Initialisation seeds (at least one); each is one sample of ``excess``.
    batch_seeds : sequence of int or None
        The first minibatch order of each seed (None: the seed itself); the second is it + 1000.
    known : mapping or None
        ``{(seed, method, k): final parameters}`` of runs already trained exactly as above (``k`` = 0: first order,
        1: second), e.g. by :func:`landscape.surfaces.solutions.basin_profiles` with ``return_params``; they are
        not trained again.
    batch_size, device
        Minibatch size, where to train.
    jobs : int or None
        Worker processes, one run each (:func:`landscape.infra.executor.map_units`); the numbers do not depend on
        it.

    Returns
    -------
    pandas.DataFrame
        ``seed, cross, null, null_a, null_b, excess``.
    """
    check_scalar(epochs, "epochs", int, min_val=1)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if len(methods) != 2 or methods[0] == methods[1]:
        raise ValueError(f"methods must be two different optimizers, got {methods!r}")
    missing = [m for m in methods if m not in lrs]
    if missing:
        raise ValueError(f"lrs: no step size for {missing}")
    batch_seeds = seeds if batch_seeds is None else [int(b) for b in batch_seeds]
    if len(batch_seeds) != len(seeds):
        raise ValueError(f"batch_seeds must hold one seed per seed, got {len(batch_seeds)} for {len(seeds)}")
    first = dict(zip(seeds, batch_seeds, strict=True))
    thetas = {key: np.asarray(v) for key, v in dict(known or {}).items()}
    keys = [(s, m, k) for s in seeds for m in methods for k in (0, 1) if (s, m, k) not in thetas]
    units = [(tuple(sizes), loss_fn, train, m, float(lrs[m]), epochs, s, first[s] + k * BATCH_OFFSET, batch_size,
              device) for s, m, k in keys]
    thetas.update(zip(keys, map_units(_run_unit, units, star=True, jobs=jobs, progress=False), strict=True))
    from landscape.nets import models

    net = models.mlp(list(sizes), seed=0, device=device)
    a, b = methods
    rows = []
    for s in seeds:
        pts = {f"{m}{k}": thetas[s, m, k] for m in methods for k in (0, 1)}
        d = functional_difference(net, pts, X_test).set_index(["a", "b"]).disagreement
        cross = 0.5 * (d[f"{a}0", f"{b}0"] + d[f"{a}1", f"{b}1"])
        null_a, null_b = d[f"{a}0", f"{a}1"], d[f"{b}0", f"{b}1"]
        null = 0.5 * (null_a + null_b)
        rows.append({"seed": s, "cross": float(cross), "null": float(null), "null_a": float(null_a),
                     "null_b": float(null_b), "excess": float(cross - null)})
    return pd.DataFrame(rows)


def profile_distances_across_inits(profiles: pd.DataFrame, floor: float = 1e-12) -> tuple[float, float, int, int]:
    r"""Within- and between-optimizer distances of log-loss profiles, like for like: only pairs of runs from
    *different* initialisations (re-runs) are counted (source 003, Sec. 5.1.2, Fig. 3: "similar for re-runs of the
    same algorithm").

    :func:`landscape.surfaces.solutions.profile_distances` counts every pair: its within pairs always come from two
    initialisations, but its between pairs include two optimizers run from the *same* initialisation (same re-run
    index), which share the start and are closer for that reason alone. Here both means run over pairs
    :math:`(o, r), (o', r')` with :math:`r \ne r'`: within :math:`o = o'`, between :math:`o \ne o'`, the distance
    being :math:`\lVert \log L_{o,r}(\alpha) - \log L_{o',r'}(\alpha) \rVert_2` over the shared
    :math:`\alpha` grid (losses clipped at ``floor``).

    Parameters
    ----------
    profiles : pandas.DataFrame
        Columns ``optimizer, rerun, alpha, loss`` (one split; every run on the same ``alpha`` grid).
    floor : float
        Smallest loss before the logarithm (> 0).

    Returns
    -------
    (float, float, int, int)
        ``(within, between, n_within, n_between)``: the two mean distances and the numbers of pairs behind them.

    >>> fr = pd.DataFrame({"optimizer": list("aabb"), "rerun": [0, 1, 0, 1], "alpha": 0.0,
    ...                    "loss": np.exp([0.0, 1.0, 3.0, 3.0])})
    >>> profile_distances_across_inits(fr)  # within: |0-1|, |3-3| -> 0.5; between (a0,b1), (a1,b0): 3, 2 -> 2.5
    (0.5, 2.5, 2, 2)
    """
    if not floor > 0:
        raise ValueError(f"floor must be > 0, got {floor!r}")
    missing = {"optimizer", "rerun", "alpha", "loss"} - set(profiles.columns)
    if missing:
        raise ValueError(f"profiles: missing columns {sorted(missing)}")
    P = {k: np.log(np.maximum(g.sort_values("alpha").loss.to_numpy(dtype=float), floor))
         for k, g in profiles.groupby(["optimizer", "rerun"])}
    if len({v.size for v in P.values()}) > 1:
        raise ValueError("profiles: every run must be on the same alpha grid")
    pairs = [(a, b) for a in P for b in P if a < b and a[1] != b[1]]
    within = [float(np.linalg.norm(P[a] - P[b])) for a, b in pairs if a[0] == b[0]]
    between = [float(np.linalg.norm(P[a] - P[b])) for a, b in pairs if a[0] != b[0]]
    if not within or not between:
        raise ValueError("profiles: need at least two optimizers and two re-runs")
    return float(np.mean(within)), float(np.mean(between)), len(within), len(between)
