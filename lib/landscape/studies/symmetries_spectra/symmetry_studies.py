r"""Studies built on the symmetry group of :mod:`landscape.geometry.symmetry` (source 003, Secs. 5.2 and 5.6.2).

* :func:`equioutput_checks`: eqs (1), (2), (3), (5) checked on random group elements and on a small net's whole
  throng;
* :func:`student_distances`: students trained on a teacher's outputs, their distances to the teacher raw, between
  canonical forms and modulo :math:`G`;
* :func:`solution_distances`: independently trained classifiers, raw and canonical pairwise distances;
* :func:`fdc_points`: random points around a teacher for the fitness-distance correlation eq (9).

Trainings are independent units run through :func:`landscape.infra.executor.map_units` (``jobs``), each with its own
seed, so the numbers do not depend on the number of workers.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from landscape.geometry import symmetry
from landscape.infra.validation import check_choice, check_scalar
from landscape.nets import models

__all__ = ["EquioutputChecks", "equioutput_checks", "student_distances", "solution_distances", "fdc_points"]


def _canonical_vector(model: nn.Module) -> np.ndarray:
    """The flat parameter vector of ``model``'s canonical form (:func:`landscape.geometry.symmetry.canonical_form`)."""
    return models.flatten(symmetry.canonical_form(model)).numpy()

def _student_unit(teacher: nn.Module, X, y, t_rows, t_canon, s: int, init_seed: int, epochs: int, lr: float,
                  momentum: float) -> dict:
    """One student of :func:`student_distances` (module-level so that worker processes can run it)."""
    from landscape.nets.approximation import train

    lins = [m for m in teacher.modules() if isinstance(m, nn.Linear)]
    sizes = [lins[0].in_features] + [lin.out_features for lin in lins]
    student = models.mlp(sizes, "tanh", seed=init_seed, dtype=torch.float64)
    res = train(student, models.loss_function("mse"), X, y, epochs=epochs, lr=lr, momentum=momentum, seed=s)
    theta = models.flatten(student).numpy()
    rows_s, els_s = symmetry.throng(student)
    D = np.linalg.norm(rows_s[1:] - rows_s[0], axis=1)
    return {"student": s, "loss": res.best_loss, "raw_distance": float(np.linalg.norm(theta - t_rows[0])),
            "canonical_distance": float(np.linalg.norm(_canonical_vector(student) - t_canon)),
            "nearest_copy_distance": symmetry.nearest_copy(theta, t_rows)[0],
            "nn_is_generator": symmetry.is_generator(els_s[1 + int(np.argmin(D))])}


def student_distances(teacher: nn.Module, X, y, n_students: int, *, epochs: int, lr: float = 0.1,
                      momentum: float = 0.9, seed: int = 0, jobs: int | None = None,
                      progress: bool = False) -> pd.DataFrame:
    """Train tanh students of the teacher's shape on ``(X, y)`` (full-batch GD with momentum, MSE) and measure
    how far each lands from the teacher: raw, between canonical forms (eq (3)) and modulo :math:`G` (the nearest
    copy in the teacher's throng); and whether a student's nearest copy of itself is one generator away
    (Sec. 5.2).

    Parameters
    ----------
    teacher : torch.nn.Sequential
        A tanh MLP (float64) small enough for :func:`throng`.
    X, y : torch.Tensor
        Inputs and the teacher's outputs.
    n_students : int
        Students ``s = 0 .. n_students - 1``; student ``s`` starts from ``models.mlp(..., seed=seed + 100 + s)``
        and its training run uses seed ``s``.
    epochs, lr, momentum
        The training run (:func:`landscape.nets.approximation.train`).
    seed : int
        Base seed of the students' initialisations.
    jobs : int or None
        Worker processes (:func:`landscape.infra.executor.map_units`); the numbers do not depend on it.
    progress : bool
        A progress bar over the students.

    Returns
    -------
    pandas.DataFrame
        ``student, loss, raw_distance, canonical_distance, nearest_copy_distance, nn_is_generator``.
    """
    from landscape.infra.executor import map_units

    check_scalar(n_students, "n_students", int, min_val=1)
    t_rows, _ = symmetry.throng(teacher)
    t_canon = _canonical_vector(teacher)
    units = [(teacher, X, y, t_rows, t_canon, s, seed + 100 + s, epochs, lr, momentum) for s in range(n_students)]
    return pd.DataFrame(map_units(_student_unit, units, star=True, jobs=jobs, progress=progress, desc="students"))


def fdc_points(teacher: nn.Module, X, y, n_points: int, *, max_scale: float = 3.0, seed: int = 0) -> pd.DataFrame:
    r"""Random points around the teacher for the fitness-distance correlation eq (9) (Sec. 5.6.2).

    Point :math:`w = w^* + s\,\xi` with :math:`s \sim U(0, \text{max\_scale})` and :math:`\xi` standard normal
    (``numpy.random.default_rng(seed)``; all scales drawn first, then all directions), its MSE against ``y`` and
    three distances to the teacher: plain, modulo :math:`G` (nearest copy in the throng) and between canonical
    forms.

    Parameters
    ----------
    teacher : torch.nn.Sequential
        A small MLP (:func:`throng`).
    X, y : torch.Tensor
        Inputs and targets of the error.
    n_points : int
        Number of random points, >= 1.
    max_scale : float
        Largest distance scale s, > 0.
    seed : int
        Seed of the scales and directions.

    Returns
    -------
    pandas.DataFrame
        ``scale, error, plain, modulo_G, canonical``.
    """
    check_scalar(n_points, "n_points", int, min_val=1)
    check_scalar(max_scale, "max_scale", float, min_val=0, include_boundaries="neither")
    t_rows, _ = symmetry.throng(teacher)
    w_star, t_canon = t_rows[0], _canonical_vector(teacher)
    rng = np.random.default_rng(seed)
    probe, mse, rows = copy.deepcopy(teacher), models.loss_function("mse"), []
    for s, xi in zip(rng.uniform(0, max_scale, n_points), rng.standard_normal((n_points, len(w_star))), strict=True):
        w = w_star + s * xi
        models.assign(probe, w)
        rows.append({"scale": s, "error": float(mse(probe(X), y).detach()), "plain": float(np.linalg.norm(w - w_star)),
                     "modulo_G": symmetry.nearest_copy(w, t_rows)[0],
                     "canonical": float(np.linalg.norm(_canonical_vector(probe) - t_canon))})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class EquioutputChecks:
    """What :func:`equioutput_checks` measured: the largest output and norm changes under random group elements
    (eqs (1), (5)), and on the small net's whole throng the number of distinct copies (eq (2)), whether 50 random
    pairs find a non-commuting one, the relative spread of the copies' norms, how many copies lie in the wedge
    eq (3), and how many distinct canonical forms the copies have.

    Parameters
    ----------
    max_output_change : float
        Largest absolute change of the big net's outputs under the random elements (eq (1): 0 up to rounding).
    max_norm_change : float
        Largest absolute change of the parameter norm under them (eq (5)).
    distinct_copies : int
        Distinct copies in the small net's throng (eq (2): ``#G`` for generic weights).
    non_abelian : bool
        Whether one of 50 random pairs of elements does not commute.
    norm_spread : float
        Spread (max - min) of the copies' parameter norms relative to the first copy's norm (isometry: 0).
    in_wedge : int
        Copies inside Chen's wedge, eq (3) (1 for generic weights).
    n_canonical : int
        Distinct canonical forms of the copies (1: every copy maps to the same one).
    """

    max_output_change: float
    max_norm_change: float
    distinct_copies: int
    non_abelian: bool
    norm_spread: float
    in_wedge: int
    n_canonical: int


def equioutput_checks(net: nn.Module, X, small: nn.Module, n_elements: int, *, seed: int = 0) -> EquioutputChecks:
    """Check Sec. 5.2's statements on two tanh MLPs: ``n_elements`` random elements of :math:`G` applied to
    ``net`` (outputs on ``X`` and weight norms unchanged), and the whole throng of ``small`` (group order, non-
    commutativity, isometry, one copy in the wedge, one canonical form).

    Parameters
    ----------
    net : torch.nn.Sequential
        A tanh MLP (any size).
    X : torch.Tensor
        Inputs for the output comparison.
    small : torch.nn.Sequential
        A tanh MLP small enough for :func:`throng`.
    n_elements : int
        Random group elements applied to ``net``.
    seed : int
        One ``numpy.random.default_rng(seed)`` draws the elements (per hidden layer a permutation, then the signs),
        then 50 index pairs of throng elements.

    Returns
    -------
    EquioutputChecks
        What was measured.
    """
    check_scalar(n_elements, "n_elements", int, min_val=1)
    out0, norm0 = net(X), float(models.flatten(net).norm())
    rng = np.random.default_rng(seed)
    changes = []
    for _ in range(n_elements):
        element = tuple((rng.permutation(w), rng.choice([1, -1], w)) for w in symmetry.hidden_widths(net))
        moved = symmetry.apply_element(copy.deepcopy(net), element)
        changes.append((float((moved(X) - out0).abs().max()), abs(float(models.flatten(moved).norm()) - norm0)))
    max_out, max_norm = np.max(changes, axis=0)
    rows, elements = symmetry.throng(small)
    pairs = [(elements[i], elements[j]) for i, j in rng.integers(len(elements), size=(50, 2))]
    non_abelian = any(not all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
                              for a, b in zip(symmetry.compose(g, h), symmetry.compose(h, g), strict=True))
                      for g, h in pairs)
    canon = {tuple(_canonical_vector(symmetry.apply_element(copy.deepcopy(small), e))) for e in elements}
    return EquioutputChecks(
        float(max_out), float(max_norm), len({tuple(np.round(r, 10)) for r in rows}), bool(non_abelian),
        float(np.ptp(np.linalg.norm(rows, axis=1)) / np.linalg.norm(rows[0])),
        sum(symmetry.in_wedge(symmetry.apply_element(copy.deepcopy(small), e)) for e in elements), len(canon))


def _solution_unit(sizes, X, y, s: int, init_seed: int, train_kwargs: dict,
                   loss: str = "cce") -> tuple[np.ndarray, np.ndarray]:
    """One solution of :func:`solution_distances`: raw and canonical flat vectors."""
    from landscape.nets.approximation import train

    m = models.mlp(sizes, "tanh", seed=init_seed, dtype=torch.float64)
    train(m, models.loss_function(loss), X, y, seed=s, **train_kwargs)
    return models.flatten(m).numpy(), _canonical_vector(m)


def solution_distances(sizes, X, y, n_solutions: int, *, epochs: int, lr: float = 0.05, batch_size: int = 32,
                       momentum: float = 0.9, seed: int = 0, jobs: int | None = None,
                       loss: str = "cce") -> pd.DataFrame:
    """Pairwise distances between independently trained tanh classifiers, raw and between canonical forms
    (Sec. 5.2: does moving every solution into Chen's wedge eq (3) bring them together?).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths of the tanh MLP (float64).
    X, y : torch.Tensor
        Training data: class labels with ``loss="cce"``, float targets (N, r) with ``"mse"`` / ``"mae"``.
    n_solutions : int
        Solution ``s`` starts from ``models.mlp(..., seed=seed + s)`` and its minibatches use seed ``s``.
    epochs, lr, batch_size, momentum
        The SGD run (:func:`landscape.nets.approximation.train`).
    seed : int
        Base seed of the initialisations.
    jobs : int or None
        Worker processes, one solution each (:func:`landscape.infra.executor.map_units`); the numbers do not depend
        on it.
    loss : str, default "cce"
        Training loss (:func:`landscape.nets.models.loss_function`): categorical cross entropy for class labels
        (source 003's classifiers), the data's own loss for a regression target.

    Returns
    -------
    pandas.DataFrame
        ``a, b, raw, canonical`` for every pair ``a < b``.
    """
    from landscape.infra.executor import map_units

    check_scalar(n_solutions, "n_solutions", int, min_val=2)
    check_choice(loss, "loss", models.LOSSES)
    kw = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "momentum": momentum}
    units = [(list(sizes), X, y, s, seed + s, kw, loss) for s in range(n_solutions)]
    sols = map_units(_solution_unit, units, star=True, jobs=jobs, progress=False)
    return pd.DataFrame([{"a": i, "b": j, "raw": float(np.linalg.norm(sols[i][0] - sols[j][0])),
                          "canonical": float(np.linalg.norm(sols[i][1] - sols[j][1]))}
                         for i in range(n_solutions) for j in range(i + 1, n_solutions)])
