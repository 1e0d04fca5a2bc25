r"""Studies built on the symmetry group of :mod:`landscape.geometry.symmetry` (source 003, Secs. 5.2 and 5.6.2).

* :func:`equioutput_checks`: eqs (1), (2), (3), (5) checked on random group elements and on a small net's whole
  throng;
* :func:`student_distances`: students trained on a teacher's outputs, their distances to the teacher raw, between
  canonical forms and modulo :math:`G`;
* :func:`solution_distances`: independently trained classifiers, raw and canonical pairwise distances;
* :func:`fdc_points`: random points around a teacher for the fitness-distance correlation eq (9);
* checks that can fail: :func:`in_cone` / :func:`cone_members` (Chen's cone eq (4), a second minimal sufficient
  search set), :func:`wedge_descent` (gradient descent with every iterate moved into the wedge eq (3) has the plain
  run's losses: the group acts by loss-preserving orthogonal maps, the reason the wedge formulas are "of no use in
  learning") and :func:`trained_autoencoder_error` (a linear autoencoder trained by L-BFGS from random weights
  against the principal projector, Sec. 5.6.3, so the closed-form minimum is not checked against itself).

Trainings are independent units run through :func:`landscape.infra.executor.map_units` (``jobs``), each with its own
seed, so the numbers do not depend on the number of workers.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.optimize
import torch
from torch import nn

from landscape.geometry import symmetry
from landscape.infra.validation import check_choice, check_finite, check_scalar
from landscape.nets import models

__all__ = ["EquioutputChecks", "equioutput_checks", "student_distances", "solution_distances", "fdc_points", "in_cone",
           "cone_members", "wedge_descent", "trained_autoencoder_error"]


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
    drawn = [tuple((rng.permutation(w), rng.choice([1, -1], w)) for w in symmetry.hidden_widths(net))
             for _ in range(n_elements)]
    changes = [(float((moved(X) - out0).abs().max()), abs(float(models.flatten(moved).norm()) - norm0))
               for moved in symmetry.moved_copies(net, drawn)]
    max_out, max_norm = np.max(changes, axis=0)
    rows, elements = symmetry.throng(small)
    pairs = [(elements[i], elements[j]) for i, j in rng.integers(len(elements), size=(50, 2))]
    non_abelian = any(not all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
                              for a, b in zip(symmetry.compose(g, h), symmetry.compose(h, g), strict=True))
                      for g, h in pairs)
    canon, wedged = set(), 0
    for moved in symmetry.moved_copies(small, elements):
        canon.add(tuple(_canonical_vector(moved)))
        wedged += symmetry.in_wedge(moved)
    return EquioutputChecks(
        float(max_out), float(max_norm), len({tuple(np.round(r, 10)) for r in rows}), bool(non_abelian),
        float(np.ptp(np.linalg.norm(rows, axis=1)) / np.linalg.norm(rows[0])), wedged, len(canon))


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


def _hidden_linears(model: nn.Module) -> list[nn.Linear]:
    lins = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(lins) < 2:
        raise ValueError("model must be an MLP with at least one hidden layer")
    return lins


def in_cone(model: nn.Module) -> bool:
    r"""Whether ``model`` lies in Chen et al.'s open cone eq (4):
    :math:`w_{K10}\,w_{li0} > 0` and :math:`w_{K10}(w_{li0} - w_{l(i+1)0}) > 0` for every hidden layer :math:`l`
    (:math:`w_{li0}` the hidden biases, :math:`w_{K10}` the bias of the first output unit).

    Parameters
    ----------
    model : torch.nn.Sequential
        An MLP with at least one hidden layer.

    Returns
    -------
    bool

    Examples
    --------
    >>> net = models.mlp([2, 2, 1], "tanh", seed=0, dtype=torch.float64)
    >>> with torch.no_grad():
    ...     _ = net[0].bias.copy_(torch.tensor([-2.0, -1.0])), net[2].bias.fill_(-0.5)
    >>> in_cone(net)  # negative output bias: biases negative and increasing
    True
    """
    lins = _hidden_linears(model)
    out = float(lins[-1].bias[0].detach())
    for lin in lins[:-1]:
        b = lin.bias.detach().double().numpy()
        if not (np.all(out * b > 0) and np.all(out * (b[:-1] - b[1:]) > 0)):
            return False
    return True


def cone_members(model: nn.Module) -> int:
    """Members of ``model``'s throng (:func:`landscape.geometry.symmetry.throng`) inside the cone eq (4).

    Parameters
    ----------
    model : torch.nn.Sequential
        A tanh MLP small enough for the throng.

    Returns
    -------
    int
        1 for generic weights (eq (4) is a minimal sufficient search set).

    Examples
    --------
    >>> cone_members(models.mlp([2, 3, 1], "tanh", seed=0, dtype=torch.float64))  # biases zero: on the boundary
    0
    """
    rows, _ = symmetry.throng(model)
    probe = copy.deepcopy(model)
    return int(sum(in_cone(models.assign(probe, torch.as_tensor(r))) for r in rows))


def wedge_descent(model: nn.Module, loss: str, X, y, *, steps: int, lr: float) -> dict:
    r"""Full-batch gradient descent from ``model``'s weights, plainly and with every iterate moved into the wedge
    eq (3) by :func:`landscape.geometry.symmetry.canonical_form` (Sec. 5.2: "if we are going downhill, and happen to
    cross the boundary of the minimal sufficient search set, we should just continue the descent").

    Each group element :math:`g` is an orthogonal map with :math:`L(gw) = L(w)`, hence
    :math:`\nabla L(gw) = g\nabla L(w)` and gradient descent commutes with it: the canonicalised run is the plain
    run moved by some :math:`g_t` at every step, with the same losses.

    Parameters
    ----------
    model : torch.nn.Sequential
        A tanh MLP (float64); it is not changed.
    loss : str
        Loss name (:func:`landscape.nets.models.loss_function`).
    X, y : torch.Tensor
        Full batch.
    steps : int
        Gradient steps, >= 1.
    lr : float
        Step size, > 0.

    Returns
    -------
    dict
        ``max_loss_diff`` (largest absolute loss difference over the steps), ``end_distance`` (distance between the two
        runs' canonical end points), ``crossings`` (steps at which the plain run's iterate left the wedge, i.e.
        canonicalisation moved the other run), ``final_loss``.
    """
    check_scalar(steps, "steps", int, min_val=1)
    check_finite(check_scalar(lr, "lr", float, min_val=0, include_boundaries="neither"), "lr")
    fn = models.loss_function(loss)
    plain, wedge = copy.deepcopy(model).double(), symmetry.canonical_form(copy.deepcopy(model).double())
    diffs, crossings, last = [], 0, 0.0
    for _ in range(steps):
        losses = []
        for net in (plain, wedge):
            net.zero_grad(set_to_none=True)
            value = fn(net(X), y)
            value.backward()
            with torch.no_grad():
                for p in net.parameters():
                    p -= lr * p.grad
            losses.append(float(value.detach()))
        diffs.append(abs(losses[0] - losses[1]))
        last = losses[0]
        if not symmetry.in_wedge(wedge):
            crossings += 1
            wedge = symmetry.canonical_form(wedge)
    end = float(np.linalg.norm(models.flatten(symmetry.canonical_form(plain)).numpy()
                               - models.flatten(symmetry.canonical_form(wedge)).numpy()))
    return {"max_loss_diff": float(max(diffs)), "end_distance": end, "crossings": crossings, "final_loss": last}


def trained_autoencoder_error(X, p: int, *, seed: int = 0, scale: float = 0.1) -> float:
    r"""Train the linear autoencoder :math:`\hat X = ABX` (hidden width ``p``) on the mean squared error by L-BFGS
    from random weights :math:`\mathcal N(0, \text{scale}^2)` (``seed``) and return
    :math:`\|AB - U_pU_p^\top\|_F`, :math:`U_p` the first ``p`` eigenvectors of :math:`XX^\top/N` (Baldi & Hornik,
    Sec. 5.6.3: the unique minimum is this projector). Small when training finds the minimum; a saddle (another
    subset of eigenvectors) or an unconverged run leaves it of order one.

    Parameters
    ----------
    X : array_like
        (n, N) data, samples as columns.
    p : int
        Hidden width, ``1 <= p < n``.
    seed : int
        Seed of the initial weights.
    scale : float
        Standard deviation of the initial weights, > 0.

    Returns
    -------
    float
        Frobenius distance between the trained :math:`AB` and the projector.

    Examples
    --------
    >>> X = np.diag([3.0, 2.0, 1.0]) @ np.random.default_rng(0).standard_normal((3, 50))
    >>> trained_autoencoder_error(X, 2) < 1e-6
    True
    """
    X = check_finite(np.asarray(X, dtype=np.float64), "X")
    if X.ndim != 2:
        raise ValueError(f"X must be a (n, N) array, got shape {X.shape}")
    n, N = X.shape
    check_scalar(p, "p", int, min_val=1, max_val=n - 1)
    check_scalar(scale, "scale", float, min_val=0, include_boundaries="neither")
    S = X @ X.T / N

    def f(theta):
        A, B = theta[:n * p].reshape(n, p), theta[n * p:].reshape(p, n)
        R = A @ B - np.eye(n)  # loss tr(R S R^T) = mean ||(AB - I) x||^2
        RS = R @ S
        return float(np.sum(RS * R)), np.concatenate([(2 * RS @ B.T).ravel(), (2 * A.T @ RS).ravel()])

    theta0 = np.random.default_rng(seed).standard_normal(2 * n * p) * scale
    res = scipy.optimize.minimize(f, theta0, jac=True, method="L-BFGS-B",
                                  options={"maxiter": 20000, "ftol": 1e-30, "gtol": 1e-14})
    A, B = res.x[:n * p].reshape(n, p), res.x[n * p:].reshape(p, n)
    U = np.linalg.eigh(S)[1][:, ::-1][:, :p]
    return float(np.linalg.norm(A @ B - U @ U.T))
