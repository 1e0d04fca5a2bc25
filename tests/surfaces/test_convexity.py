"""|lambda_min / lambda_max| maps, picture convexity, sharpness; VTK export read back; residual MLPs."""

import numpy as np
import pandas as pd
import pytest
import torch

from landscape.curvature import hessian
from landscape.nets import models
from landscape.nets.residual import residual_mlp
from landscape.surfaces import convexity
from landscape.surfaces.export import read_vts, surface_to_vtk

F = torch.nn.functional


def _tiny():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(25, 3, generator=g, dtype=torch.float64), torch.randint(0, 2, (25,), generator=g)
    return models.mlp([3, 4, 2], activation="tanh", seed=1, dtype=torch.float64), X, y


def test_curvature_ratio_matches_dense_eigenvalues():
    net, X, y = _tiny()
    w = np.linalg.eigvalsh(hessian.dense_hessian(net, F.cross_entropy, (X, y)))
    r = convexity.curvature_ratio(net, F.cross_entropy, (X, y), tol=1e-12)
    assert w[0] < 0 < w[-1]  # a random tanh net is at a saddle region: the test exercises the shift
    assert r.lambda_max == pytest.approx(w[-1], rel=1e-9)
    assert r.lambda_min == pytest.approx(w[0], abs=1e-9 * w[-1])
    assert r.ratio == pytest.approx(abs(w[0] / w[-1]), rel=1e-6)


def test_curvature_ratio_map_restores_weights_and_matches_pointwise():
    net, X, y = _tiny()
    theta = models.flatten(net).clone()
    d1 = np.random.default_rng(0).standard_normal(theta.numel())
    d2 = np.random.default_rng(1).standard_normal(theta.numel())
    fr = convexity.curvature_ratio_map(net, F.cross_entropy, (X, y), d1, d2, [0.0, 0.3], [-0.2], tol=1e-12)
    assert torch.equal(models.flatten(net), theta)
    models.assign(net, theta.numpy() + 0.3 * d1 - 0.2 * d2)
    w = np.linalg.eigvalsh(hessian.dense_hessian(net, F.cross_entropy, (X, y)))
    row = fr[(fr.alpha == 0.3)].iloc[0]
    assert row.lambda_max == pytest.approx(w[-1], rel=1e-9)
    assert row.lambda_min == pytest.approx(w[0], abs=1e-9 * w[-1])


def test_curvature_ratio_map_is_bit_identical_for_one_and_two_workers():
    net, X, y = _tiny()
    d1, d2 = (np.random.default_rng(k).standard_normal(models.n_params(net)) for k in (0, 1))

    def run(jobs):
        return convexity.curvature_ratio_map(net, F.cross_entropy, (X, y), d1, d2, [0.0, 0.3], [-0.2, 0.1], tol=1e-8,
                                             jobs=jobs)

    pd.testing.assert_frame_equal(run(1), run(2), check_exact=True)
    with pytest.raises(ValueError, match="d2"):
        convexity.curvature_ratio_map(net, F.cross_entropy, (X, y), d1, np.full_like(d2, np.nan), [0.0], [0.0])


def test_surface_nonconvexity_of_a_rotated_saddle_and_a_bowl():
    g = np.linspace(-1, 1, 9)
    A, B = np.meshgrid(g, g, indexing="ij")
    assert convexity.surface_nonconvexity(g, g, (A + B) ** 2 + 0.1 * (A - B) ** 2) == 0.0
    assert convexity.surface_nonconvexity(g, g, A * B) == 1.0  # zero diagonal curvature, negative eigenvalue


def test_sharpness_closed_form():
    g = np.linspace(-1, 1, 21)
    A, B = np.meshgrid(g, g, indexing="ij")
    fr = pd.DataFrame({"alpha": A.ravel(), "beta": B.ravel(), "split": "train", "loss": 1 + (A ** 2 + B ** 2).ravel()})
    inside = (A ** 2 + B ** 2 <= 0.25)
    assert convexity.sharpness(fr, 0.5) == pytest.approx(float((A ** 2 + B ** 2)[inside].mean()), rel=1e-14)


def test_vtk_round_trip(tmp_path):
    a, b = np.linspace(-1, 1, 5), np.linspace(0, 2, 4)
    Z = np.add.outer(a ** 2, b)
    R = np.outer(a, b)
    path = surface_to_vtk(tmp_path / "surf", a, b, {"loss": Z, "ratio": R}, z_scale=2.0)
    assert path.suffix == ".vts" and path.exists()
    pts, arrays = read_vts(path)
    assert np.array_equal(pts[..., 0], np.broadcast_to(a[:, None], Z.shape))
    assert np.array_equal(pts[..., 1], np.broadcast_to(b[None, :], Z.shape))
    assert np.array_equal(pts[..., 2], 2.0 * Z)
    assert np.array_equal(arrays["loss"], Z) and np.array_equal(arrays["ratio"], R)
    with pytest.raises(ValueError, match="shape"):
        surface_to_vtk(tmp_path / "bad", a, b, {"loss": Z.T})


def test_residual_mlp_counts_and_skip():
    for depth in (0, 1, 3):
        net = residual_mlp(64, 10, width=8, depth=depth)
        assert sum(p.numel() for p in net.parameters()) == 64 * 8 + 8 + depth * 2 * (8 * 8 + 8) + 8 * 10 + 10
    x = torch.randn(5, 64)
    a, b = residual_mlp(64, 10, depth=2, skip=True, seed=3), residual_mlp(64, 10, depth=2, skip=False, seed=3)
    assert torch.equal(models.flatten(a), models.flatten(b)) and not torch.allclose(a(x), b(x))
    with pytest.raises(ValueError, match="depth"):
        residual_mlp(64, 10, depth=-1)


def test_train_family_is_bit_identical_for_one_and_two_workers(tmp_path):
    from landscape.studies.interpolation_planes.family import train_family
    from landscape.surfaces import projections

    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(40, 5, generator=g), torch.randint(0, 3, (40,), generator=g)
    kw = dict(train=(X, y), splits={"train": (X, y), "test": (X[:20], y[:20])}, loss_fn=F.cross_entropy,
              grid=np.linspace(-1, 1, 3), epochs=2, batch_size=10, metrics={"accuracy": projections.accuracy})
    one = train_family([(1, 4, True), (0, 3, False)], jobs=1, cache_dir=tmp_path / "a", **kw)
    two = train_family([(1, 4, True), (0, 3, False)], jobs=2, cache_dir=tmp_path / "b", **kw)
    for a, b in zip(one, two, strict=True):
        assert a.row == b.row
        pd.testing.assert_frame_equal(a.surface, b.surface, check_exact=True)
        assert torch.equal(models.flatten(a.model), models.flatten(b.model)) and np.array_equal(a.d1, b.d1)
    assert [m.row["layers"] for m in one] == [4, 2]
    assert one[0].row["n_params"] == 6 * 4 + 2 * 20 + 2 * 2 * 4 + 4 * 3 + 3  # inp, fc1 + fc2, two BNs, out
    centre = one[0].surface.query("alpha == 0 and beta == 0 and split == 'test'")
    assert one[0].row["test_error"] == 1 - float(centre.accuracy.iloc[0])


def test_random_direction_curvatures_chi_square_decomposition_and_mean():
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    lam = np.array([5.0, 2.0, 1.0, 0.5, 0.1, 0.0, 0.0, -0.05, -0.2, -0.3, -1.0, -2.0])  # tr = 5.05
    H = Q @ np.diag(lam) @ Q.T
    fr = convexity.random_direction_curvatures(H, 4000, seed=1)
    assert np.allclose(fr.curvature, fr.chi2_sum, rtol=0, atol=1e-10)
    assert fr.trace.iloc[0] == pytest.approx(lam.sum(), abs=1e-12)
    # the variance of sum lambda_i z_i^2 is 2 sum lambda_i^2 = 67.2: the mean of 4000 is within 4 sd (0.52) of tr H
    assert abs(fr.curvature.mean() - lam.sum()) < 4 * np.sqrt(2 * (lam ** 2).sum() / 4000)
    with pytest.raises(ValueError, match="symmetric"):
        convexity.random_direction_curvatures(np.triu(H), 3)
    with pytest.raises(ValueError, match="square"):
        convexity.random_direction_curvatures(H[:3], 3)
