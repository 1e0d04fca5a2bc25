"""Our curvature tools against curvlinops-for-pytorch (Dangel et al.), the maintained library for the same job.

The same float64 model, loss and data go to both; the data are batched differently on each side (both sum
size-weighted batch means, so the full-data operator must come out). Margins: products of float64 operators
agree to rounding (1e-13 relative to the largest entry; measured <= 4e-16); the estimators get the *same*
random probes on both sides (curvlinops' sampler is patched to hand out ours), so they too must agree to
rounding (Hutchinson: 1e-13 relative, measured 3e-16).
"""

import numpy as np
import pytest
import torch
from torch import nn

from landscape.curvature import hessian

curvlinops = pytest.importorskip("curvlinops")
spectrum = pytest.importorskip("curvlinops.papyan2020traces.spectrum")
hutchinson_module = pytest.importorskip("curvlinops.trace.hutchinson")

N, D_IN, D_OUT = 23, 4, 3


def _problem(loss: str, seed: int = 0):
    """A small tanh MLP in float64 at random weights (far from a minimum: H != GGN) and its data."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(D_IN, 6), nn.Tanh(), nn.Linear(6, D_OUT)).double()
    X = torch.randn(N, D_IN, dtype=torch.float64)
    if loss == "mse":
        y, loss_fn = torch.randn(N, D_OUT, dtype=torch.float64), nn.MSELoss()
    else:
        y, loss_fn = torch.randint(0, D_OUT, (N,)), nn.CrossEntropyLoss()
    return model, loss_fn, X, y


def _theirs(cls, model, loss_fn, X, y):
    batches = list(zip(X.split(10), y.split(10), strict=True))  # sizes 10, 10, 3
    return cls(model, loss_fn, list(model.parameters()), batches)


def _dense(op_torch, n):
    return (op_torch @ torch.eye(n, dtype=torch.float64)).detach().numpy()


def _close(ours, theirs, rel=1e-13):
    scale = np.abs(theirs).max()
    assert np.abs(ours - theirs).max() <= rel * scale, np.abs(ours - theirs).max() / scale


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_hessian_matches_curvlinops(loss):
    model, loss_fn, X, y = _problem(loss)
    ours = hessian.hessian_operator(model, loss_fn, (X, y), batch_size=7).to_dense()
    theirs = _dense(_theirs(curvlinops.HessianLinearOperator, model, loss_fn, X, y), ours.shape[0])
    _close(ours, theirs)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_gauss_newton_matches_curvlinops(loss):
    model, loss_fn, X, y = _problem(loss)
    ours = hessian.gauss_newton(model, loss_fn, (X, y), batch_size=7).to_dense()
    theirs = _dense(_theirs(curvlinops.GGNLinearOperator, model, loss_fn, X, y), ours.shape[0])
    _close(ours, theirs)
    # and the two really differ (away from a minimum the residual term of H - G is not small)
    H = hessian.dense_hessian(model, loss_fn, (X, y))
    assert np.abs(H - ours).max() > 1e-3 * np.abs(H).max()


def test_hutchinson_trace_matches_curvlinops(monkeypatch):
    model, loss_fn, X, y = _problem("mse")
    op = hessian.hessian_operator(model, loss_fn, (X, y))
    n_probes, seed = 12, 3
    probes = iter(torch.from_numpy(hessian.probe_vectors(op.shape[0], n_probes, seed)))
    monkeypatch.setattr(hutchinson_module, "random_vector", lambda *args, **kwargs: next(probes))
    theirs = float(curvlinops.hutchinson_trace(
        _theirs(curvlinops.HessianLinearOperator, model, loss_fn, X, y), num_matvecs=n_probes))
    ours = hessian.hutchinson_trace(op, n_probes, seed=seed)
    assert ours.estimate == pytest.approx(theirs, rel=1e-13)


def test_slq_density_matches_curvlinops(monkeypatch):
    """Papyan's Lanczos spectrum (curvlinops) is our SLQ with sigma = d * 2/(ncv-1)/sqrt(8 log kappa).

    curvlinops rescales the spectrum to [-1, 1] by ``(A - c)/d`` and smooths there; undoing the rescaling
    gives our density with the standard deviation above. Its Lanczos does not reorthogonalise, ours does:
    with 10 steps on a 64-dimensional operator in float64 the densities still agree to 1e-12 of their peak
    (measured 3e-15).
    """
    model, loss_fn, X, y = _problem("mse")
    op = hessian.hessian_operator(model, loss_fn, (X, y))
    n, ncv, seed, kappa, margin, num_points = op.shape[0], 10, 5, 3.0, 0.05, 400
    v = np.random.default_rng(seed).standard_normal(n)  # the probe slq_density draws for this seed
    monkeypatch.setattr(spectrum, "randn", lambda *args, **kwargs: torch.from_numpy(v.copy()))
    w = np.linalg.eigvalsh(op.to_dense())
    lo, hi = float(w[0]), float(w[-1])
    grid, theirs = spectrum.lanczos_approximate_spectrum(
        _theirs(curvlinops.HessianLinearOperator, model, loss_fn, X, y), ncv, num_points=num_points,
        kappa=kappa, boundaries=(lo, hi), margin=margin)
    d = (hi - lo) * (1 + 2 * margin) / 2
    sigma = d * 2 / (ncv - 1) / np.sqrt(8 * np.log(kappa))
    ours = hessian.slq_density(op, n_probes=1, n_steps=ncv, grid=grid.numpy(), sigma=sigma, seed=seed)
    _close(ours.density, theirs.numpy(), rel=1e-12)
