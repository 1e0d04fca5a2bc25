"""Directions and loss surfaces: exact answers on small models."""

import numpy as np
import pytest
import torch
from torch import nn

from landscape.curvature import hessian as hs
from landscape.surfaces import projections as pj

CE = nn.functional.cross_entropy


def _cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 3))


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))


def _data(n=30):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 4, generator=g), torch.randint(0, 3, (n,), generator=g)


def test_gaussian_direction_deterministic():
    a = pj.random_direction(1000, seed=3)
    b = pj.random_direction(1000, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1000,) and abs(a.std() - 1) < 0.1
    m = _mlp()
    assert pj.random_direction(m, 0).shape == (sum(p.numel() for p in m.parameters()),)


@pytest.mark.parametrize("bias", ["zero", "copy"])
def test_filter_normalised_unit_norms(bias):
    m = _cnn()
    d = pj.random_direction(m, seed=1, kind="filter", bias=bias)
    i = 0
    for p in m.parameters():
        w = p.detach().double().numpy()
        di = d[i:i + w.size].reshape(w.shape)
        i += w.size
        if w.ndim >= 2:  # each output unit / filter has the weight's norm
            np.testing.assert_allclose(np.linalg.norm(di.reshape(w.shape[0], -1), axis=1),
                                       np.linalg.norm(w.reshape(w.shape[0], -1), axis=1), rtol=1e-12)
        elif bias == "zero":
            assert not di.any()
        else:
            np.testing.assert_array_equal(di, w)


def test_direction_validation():
    with pytest.raises(ValueError, match="kind"):
        pj.random_direction(10, 0, kind="uniform")
    with pytest.raises(ValueError, match="model_or_dim"):
        pj.random_direction(10, 0, kind="filter")
    with pytest.raises(ValueError, match="model_or_dim"):
        pj.random_direction(0, 0)
    with pytest.raises(ValueError, match="bias"):
        pj.random_direction(_mlp(), 0, kind="filter", bias="keep")


def test_hessian_directions_saddle_and_psd():
    lam = np.concatenate([[5.0, 2.0], np.linspace(-0.2, 0.2, 20), [-1.5]])
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((23, 23)))
    A = (Q * lam) @ Q.T
    hd = pj.hessian_directions(A)
    assert hd.is_saddle
    np.testing.assert_allclose(hd.eigenvalues, [5.0, -1.5])
    for v, l in zip(hd.directions, hd.eigenvalues, strict=True):
        np.testing.assert_allclose(A @ v, l * v, atol=1e-8)
    psd = pj.hessian_directions(np.diag(np.arange(1.0, 11.0)))
    assert not psd.is_saddle and "semi-definite" in psd.message
    np.testing.assert_allclose(psd.eigenvalues, [10.0, 9.0])
    one = pj.hessian_directions(A, k=1)
    np.testing.assert_allclose(one.eigenvalues, [5.0])


def test_loss_surface_origin_and_weights_restored():
    m = _mlp()
    X, y = _data()
    Xt, yt = _data(50)
    before = [p.detach().clone() for p in m.parameters()]
    m.train()
    d1 = pj.random_direction(m, 0, kind="filter")
    d2 = pj.random_direction(m, 1, kind="filter")
    a = np.linspace(-1, 1, 5)
    df = pj.loss_surface(m, CE, {"train": (X, y), "test": (Xt, yt)}, d1, d2, a, a,
                         metrics={"accuracy": pj.accuracy})
    assert len(df) == 5 * 5 * 2 and set(df.columns) == {"alpha", "beta", "split", "loss", "accuracy"}
    for p, q in zip(m.parameters(), before, strict=True):
        assert torch.equal(p, q)
    assert m.training
    o = df[(df.alpha == 0) & (df.beta == 0)].set_index("split")
    with torch.no_grad():
        assert o.loc["train", "loss"] == pytest.approx(float(CE(m(X), y)), rel=1e-6)
        assert o.loc["test", "loss"] == pytest.approx(float(CE(m(Xt), yt)), rel=1e-6)
    mn = pj.surface_minimum(df, "train")
    assert mn["loss"] == df[df.split == "train"].loss.min()


def test_loss_surface_matches_explicit_evaluation():
    m = _mlp()
    X, y = _data()
    d1, d2 = pj.random_direction(m, 0), pj.random_direction(m, 1)
    df = pj.loss_surface(m, CE, (X, y), d1, d2, [-0.5, 0, 0.5], [-0.2, 0.0, 0.3])
    theta = torch.nn.utils.parameters_to_vector(m.parameters()).detach().double()
    m2 = _mlp().double()
    torch.nn.utils.vector_to_parameters(theta + 0.5 * torch.from_numpy(d1) + 0.3 * torch.from_numpy(d2),
                                        m2.parameters())
    ref = float(CE(m2(X.double()), y))
    got = df[(df.alpha == 0.5) & (df.beta == 0.3)].loss.item()
    assert got == pytest.approx(ref, rel=1e-5)


def test_weights_restored_on_exception():
    m = _mlp()
    X, y = _data()
    before = torch.nn.utils.parameters_to_vector(m.parameters()).clone()
    calls = {"n": 0}

    def bad_loss(out, t):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom")
        return CE(out, t)

    with pytest.raises(RuntimeError):
        pj.loss_line(m, bad_loss, (X, y), pj.random_direction(m, 0), np.linspace(-1, 1, 5))
    assert torch.equal(before, torch.nn.utils.parameters_to_vector(m.parameters()))


def test_loss_line_curvature_equals_rayleigh_quotient():
    m = _mlp().double()
    X, y = _data()
    X = X.double()
    H = hs.dense_hessian(m, CE, (X, y))
    d = pj.random_direction(m, 2)
    d /= np.linalg.norm(d)
    h = 1e-3
    df = pj.loss_line(m, CE, (X, y), d, [-h, 0.0, h])
    L = df.loss.to_numpy()
    assert (L[0] - 2 * L[1] + L[2]) / h**2 == pytest.approx(d @ H @ d, rel=1e-4)


@pytest.mark.parametrize("grid, name", [
    (np.linspace(-1, 1, 4), "alphas"),        # no exact zero
    (np.array([0.0, 1.0, 0.5]), "alphas"),    # not increasing
    (np.array([-1.0, 0.0, np.nan]), "alphas"),
])
def test_grid_validation(grid, name):
    m = _mlp()
    with pytest.raises(ValueError, match=name):
        pj.loss_line(m, CE, _data(), pj.random_direction(m, 0), grid)


def test_direction_shape_validation():
    m = _mlp()
    with pytest.raises(ValueError, match="d2"):
        pj.loss_surface(m, CE, _data(), pj.random_direction(m, 0), np.ones(3), [0.0], [0.0])
    with pytest.raises(ValueError, match="betas"):
        pj.loss_surface(m, CE, _data(), pj.random_direction(m, 0), pj.random_direction(m, 1), [0.0], [1.0])


def test_symmetric_grid():
    g = pj.symmetric_grid(0.3, 7)
    assert len(g) == 7 and g[3] == 0.0 and g[-1] == 0.3
    np.testing.assert_array_equal(g, -g[::-1])
    with pytest.raises(ValueError, match="n_points"):
        pj.symmetric_grid(1.0, 4)
    with pytest.raises(ValueError, match="half_width"):
        pj.symmetric_grid(0.0, 5)
