"""Loss planes scaled by curvature: exact answers on quadratic losses (a linear model with MSE)."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from landscape.surfaces import planes
from landscape.surfaces.projections import HessianDirections, symmetric_grid

MSE = nn.functional.mse_loss


def _linear(seed=0, n_in=3):
    torch.manual_seed(seed)
    return nn.Linear(n_in, 1, bias=False).double()


def _data(n, seed, n_in=3):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, n_in, generator=g, dtype=torch.float64)
    return X, X @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64) + 0.1 * torch.randn(n, 1, generator=g,
                                                                                               dtype=torch.float64)


def _quadratic(model, X, y):
    """Closed form of the MSE of a linear model: L(w) = |Xw - y|^2 / N, gradient, Hessian."""
    w = model.weight.detach().reshape(-1).numpy()
    Xn, yn = X.numpy(), y.numpy().reshape(-1)
    N = len(yn)
    loss = lambda v: float(np.sum((Xn @ v - yn) ** 2) / N)  # noqa: E731
    return w, loss, 2 / N * Xn.T @ (Xn @ w - yn), 2 / N * Xn.T @ Xn


def test_curvature_scale_and_validation():
    assert planes.curvature_scale(2e-5, 20.0) == pytest.approx(1e-3, rel=1e-14)
    with pytest.raises(ValueError, match="lambda_max"):
        planes.curvature_scale(1.0, -1.0)


def test_unit_gaussian_plane_orthonormal():
    d1, d2 = planes.unit_gaussian_plane(500, seed=4)
    D = np.column_stack([d1, d2])
    np.testing.assert_allclose(D.T @ D, np.eye(2), atol=1e-13)
    np.testing.assert_array_equal(d1, planes.unit_gaussian_plane(500, seed=4)[0])


def test_point_diagnostics_gradient_shares():
    m = _linear()
    X, y = _data(40, 0)
    _, loss, g, H = _quadratic(m, X, y)
    lam, V = np.linalg.eigh(H)
    # directions: the exact gradient direction as "v_max", an exact orthogonal vector as "v_min"
    u = g / np.linalg.norm(g)
    o = np.cross(u, V[:, 0])
    o /= np.linalg.norm(o)
    hd = HessianDirections(np.stack([u, o]), np.array([lam[-1], lam[0]]), False, "", 0)
    d = planes.point_diagnostics(m, MSE, {"train": (X, y), "test": _data(30, 1)}, hd, lr=0.1)
    assert d.train_loss == pytest.approx(loss(m.weight.detach().reshape(-1).numpy()), rel=1e-13)
    assert d.grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-12)
    assert d.share_vmax == pytest.approx(1.0, abs=1e-12) and d.share_vmin == pytest.approx(0.0, abs=1e-12)
    assert d.lr_lambda_half == pytest.approx(0.1 * lam[-1] / 2, rel=1e-14)
    assert list(d.frame(net="x").columns[:2]) == ["net", "train_loss"]


def test_plane_sweep_matches_closed_form_quadratic():
    m = _linear()
    train, test = _data(40, 0), _data(30, 1)
    w, ltr, _, _ = _quadratic(m, *train)
    _, lte, _, _ = _quadratic(m, *test)
    d1, d2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.6, 0.8])
    neg = {"neg": lambda out, y: -float(MSE(out, y))}  # a metric: its maximum is minus the minimum loss
    sweep = planes.plane_sweep(m, MSE, {"train": train, "test": test}, {"p": (d1, d2)}, [0.5, 2.0], 21, metrics=neg)
    for _, row in sweep.summary.iterrows():
        g = symmetric_grid(row.half_width, 21)
        tr = np.array([[ltr(w + a * d1 + b * d2) for b in g] for a in g])
        te = np.array([[lte(w + a * d1 + b * d2) for b in g] for a in g])
        i, j = np.unravel_index(tr.argmin(), tr.shape), np.unravel_index(te.argmin(), te.shape)
        assert row.train_loss_min == pytest.approx(tr[i], rel=1e-12)
        assert (row.alpha_train_min, row.beta_train_min) == pytest.approx((g[i[0]], g[i[1]]), abs=1e-15)
        assert row.test_loss_at_train_min == pytest.approx(te[i], rel=1e-12)
        step = (g[j[0]] - g[i[0]]) * d1 + (g[j[1]] - g[i[1]]) * d2
        assert row.train_test_distance == pytest.approx(np.linalg.norm(step), abs=1e-14)
        assert row.extent == pytest.approx(row.half_width, rel=1e-14)  # unit directions
        assert row.train_test_distance_rel == pytest.approx(row.train_test_distance / row.half_width, rel=1e-14)
        assert row.train_neg_max == pytest.approx(-tr[i], rel=1e-12)
        assert row.test_neg_at_train_min == pytest.approx(-te[i], rel=1e-12)
        assert row.train_reduction_pct == pytest.approx(100 * (1 - tr[i] / tr[10, 10]), rel=1e-10)
    assert set(sweep.surfaces) == {("p", 0.5), ("p", 2.0)}


def test_plane_gains_against_reference():
    s = pd.DataFrame({"plane": ["ref", "h", "ref", "h"], "half_width": [1.0, 1.0, 2.0, 2.0],
                      "train_loss_min": [2.0, 1.0, 4.0, 5.0], "test_loss_at_train_min": [1.0, 0.9, 1.0, 1.0]})
    g = planes.plane_gains(s, "ref")
    np.testing.assert_allclose(g.train_gain_pct, [50.0, -25.0])
    np.testing.assert_allclose(g.test_gain_pct, [10.0, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="reference"):
        planes.plane_gains(s, "nope")


def test_direction_scans_minimum_along_gradient():
    m = _linear()
    train, test = _data(40, 0), _data(30, 1)
    w, ltr, g, H = _quadratic(m, *train)
    v = -g / np.linalg.norm(g)
    scans = planes.direction_scans(m, MSE, {"train": train, "test": test}, {"down": v}, [4.0], 4001)
    mins = planes.scan_minima(scans)
    a_star = -(g @ v) / (v @ H @ v)  # exact minimiser of the quadratic along v
    assert mins.alpha_min.iloc[0] == pytest.approx(a_star, abs=1e-3 + 1e-15)  # grid step 2e-3
    assert mins.train_loss_min.iloc[0] == pytest.approx(ltr(w + mins.alpha_min.iloc[0] * v), rel=1e-12)


def test_projected_curvatures_dense():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    H = A + A.T
    d1, d2 = rng.standard_normal(6), rng.standard_normal(6)
    out = planes.projected_curvatures({"H": H}, {"r": (d1, d2)})
    D = np.column_stack([d1, d2])
    M = D.T @ H @ D
    r = out.iloc[0]
    np.testing.assert_allclose([r.h11, r.h12, r.h22], [M[0, 0], M[0, 1], M[1, 1]], rtol=1e-12)
    np.testing.assert_allclose([r.kappa2, r.kappa1], np.linalg.eigvalsh(M), rtol=1e-12)
    with pytest.raises(ValueError, match="entries"):
        planes.projected_curvatures({"H": H}, {"r": (d1[:5], d2[:5])})


def test_plane_gains_fixed_reference_width():
    s = pd.DataFrame({"plane": ["ref", "h", "ref", "h"], "half_width": [1.0, 0.01, 0.5, 0.02],
                      "train_loss_min": [2.0, 1.0, 4.0, 0.5], "test_loss_at_train_min": [1.0, 0.9, 1.0, 1.2]})
    g = planes.plane_gains(s, "ref", reference_width=1.0)
    np.testing.assert_allclose(g.train_gain_pct, [50.0, 75.0])
    np.testing.assert_allclose(g.test_gain_pct, [10.0, -20.0])
    with pytest.raises(ValueError, match="reference_width"):
        planes.plane_gains(s, "ref", reference_width=3.0)


def test_plane_sweep_and_scans_do_not_depend_on_jobs():
    m = _linear()
    data = {"train": _data(20, 0), "test": _data(10, 1)}
    d1, d2 = planes.unit_gaussian_plane(3, seed=1)
    ps = {"a": (d1, d2), "b": (d2, d1)}
    one = planes.plane_sweep(m, MSE, data, ps, [0.5, 2.0], 5, jobs=1)
    two = planes.plane_sweep(m, MSE, data, ps, [0.5, 2.0], 5, jobs=2)
    pd.testing.assert_frame_equal(one.summary, two.summary, check_exact=True)
    assert list(one.surfaces) == list(two.surfaces) == [("a", 0.5), ("a", 2.0), ("b", 0.5), ("b", 2.0)]
    for key in one.surfaces:
        pd.testing.assert_frame_equal(one.surfaces[key], two.surfaces[key], check_exact=True)
    lines = [planes.direction_scans(m, MSE, data, {"u": d1, "v": d2}, [0.1, 1.0], 5, jobs=j) for j in (1, 2)]
    pd.testing.assert_frame_equal(lines[0], lines[1], check_exact=True)
    assert list(lines[0].drop_duplicates(["direction", "half_width"]).direction) == ["u", "u", "v", "v"]
