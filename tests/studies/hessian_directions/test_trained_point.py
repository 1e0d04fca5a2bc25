"""The trained-point pipeline of chapter 03 and the digits stand-ins: exact answers on small models."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from landscape.curvature import hessian
from landscape.studies.hessian_directions import digits_nets, trained_point
from landscape.surfaces import projections

MSE = nn.functional.mse_loss
CE = nn.functional.cross_entropy


def _regression():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    g = torch.Generator().manual_seed(1)
    X = torch.randn(30, 2, generator=g, dtype=torch.float64)
    Xt = torch.randn(20, 2, generator=g, dtype=torch.float64)
    return net, {"train": (X, torch.sin(X[:, :1])), "test": (Xt, torch.sin(Xt[:, :1]))}


def test_study_point_against_dense_hessian():
    net, data = _regression()
    point = trained_point.study_point("toy", net, MSE, data, lr=0.1)
    lam = np.linalg.eigvalsh(hessian.dense_hessian(net, MSE, data["train"]))
    assert point.diagnostics.lambda_max == pytest.approx(lam[-1], rel=1e-8)
    assert point.diagnostics.lambda_min == pytest.approx(lam[0], rel=1e-6, abs=1e-10)
    assert point.scale == pytest.approx(np.sqrt(point.diagnostics.train_loss / lam[-1]), rel=1e-8)
    assert point.n_params == 21 and point.row()["network"] == "toy"


def test_point_planes_headline_and_table2():
    net, data = _regression()
    point = trained_point.study_point("toy", net, MSE, data, lr=0.1)
    sweep = trained_point.point_planes(point, MSE, data, factors=[1.0, 3.0], random_ranges=[1.0], n_points=5)
    s = sweep.summary
    assert sorted(s.plane.unique()) == ["filter", "gaussian", "hessian"]
    np.testing.assert_allclose(s[s.plane == "hessian"].half_width, [point.scale, 3 * point.scale], rtol=1e-14)
    assert s[(s.plane == "filter") & (s.half_width == 1.0)].factor.isna().all()
    # unit directions: the extent of the Hessian and Gaussian planes is the half-width
    unit = s[s.plane != "filter"]
    np.testing.assert_allclose(unit.extent, unit.half_width, rtol=1e-12)
    head = trained_point.headline(s, 3.0, 1.0)
    ref = s[(s.plane == "filter") & (s.half_width == 1.0)].iloc[0]
    hes = s[(s.plane == "hessian") & np.isclose(s.factor, 3.0)].iloc[0]
    row = head[head.plane == "hessian"].iloc[0]
    assert row.train_gain_pct == pytest.approx(100 * (1 - hes.train_loss_min / ref.train_loss_min), rel=1e-12)
    with pytest.raises(ValueError, match="factor"):
        trained_point.headline(s, 7.0, 1.0)


def test_table2_rows_on_a_classifier():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    g = torch.Generator().manual_seed(0)
    data = {"train": (torch.randn(40, 4, generator=g), torch.randint(0, 3, (40,), generator=g)),
            "test": (torch.randn(20, 4, generator=g), torch.randint(0, 3, (20,), generator=g))}
    point = trained_point.study_point("c", net, CE, data, lr=0.1, dtype=torch.float64)
    sweep = trained_point.point_planes(point, CE, data, factors=[3.0], random_ranges=[1.0], n_points=5,
                                       random_on_factors=False, metrics={"accuracy": projections.accuracy})
    t = trained_point.table2(sweep.summary, "c", 3.0, 1.0)
    assert list(t.row) == ["trained point", "random plane", "Hessian plane"]
    with torch.no_grad():
        acc = float((net(data["test"][0]).argmax(1) == data["test"][1]).double().mean())
        loss = float(CE(net(data["train"][0]), data["train"][1]))
    assert t.test_accuracy[0] == pytest.approx(acc) and t.train_loss[0] == pytest.approx(loss, rel=1e-6)
    assert t.train_loss[2] <= t.train_loss[0] and t.train_loss[1] <= t.train_loss[0]  # the origin is on each grid


def test_network_traces_share_directions_with_hutchinson():
    net, data = _regression()
    tr = trained_point.network_traces(net, MSE, data["train"], [1e-3, 1.0], 8, seed=3)
    H = hessian.dense_hessian(net, MSE, data["train"])
    V = hessian.probe_vectors(H.shape[0], 8, seed=3, dist="gaussian")
    exact = float(np.mean(np.einsum("ij,jk,ik->i", V, H, V)))
    assert tr.estimate[0] == pytest.approx(exact, rel=1e-10)  # Hutchinson, same probes
    assert tr.estimate[1] == pytest.approx(exact, rel=1e-4)  # small interval: quadratic regime
    assert list(tr.method) == ["hutchinson", "curvature", "curvature"]


@pytest.mark.parametrize("name", sorted(digits_nets.ARCHITECTURES))
def test_digits_nets_shapes_and_skip(name):
    net = digits_nets.digits_net(name, seed=0, width=8)
    assert net(torch.zeros(3, 64)).shape == (3, 10)
    assert digits_nets.source_name(name) == digits_nets.ARCHITECTURES[name]


def test_resnet_skip_is_the_only_difference():
    a, b = digits_nets.digits_net("resnet", 0, 8), digits_nets.digits_net("resnet_noskip", 0, 8)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    x = torch.randn(5, 64)
    h = a[1](a[0](x))  # stem output
    block = a[2]
    expected = torch.relu(h + block.fc2(torch.relu(block.fc1(h))))
    torch.testing.assert_close(block(h), expected)
    torch.testing.assert_close(b[2](h), torch.relu(block.fc2(torch.relu(block.fc1(h)))))
    with pytest.raises(ValueError, match="name"):
        digits_nets.digits_net("vgg")


def test_point_planes_kinds():
    net, data = _regression()
    point = trained_point.study_point("toy", net, MSE, data, lr=0.1)
    sweep = trained_point.point_planes(point, MSE, data, factors=[3.0], random_ranges=[1.0], n_points=3,
                                       random_on_factors=False, kinds=("hessian", "filter"))
    assert sorted(sweep.surfaces) == sorted([("hessian", 3 * point.scale), ("filter", 1.0)])
    head = trained_point.headline(sweep.summary, 3.0, 1.0)
    assert list(head.plane) == ["hessian"]
    with pytest.raises(ValueError, match="kinds"):
        trained_point.point_planes(point, MSE, data, factors=[3.0], random_ranges=[1.0], n_points=3, kinds=("pca",))


def test_study_points_do_not_depend_on_jobs():
    net, data = _regression()
    torch.manual_seed(5)
    other = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    models = {"a": net, "b": other}
    one = trained_point.study_points(models, MSE, data, lr=0.1, seed=2, jobs=1)
    two = trained_point.study_points(models, MSE, data, lr=0.1, seed=2, jobs=2)
    assert list(one) == list(two) == ["a", "b"]
    for name in models:
        assert one[name].row() == two[name].row()
        np.testing.assert_array_equal(one[name].directions.directions, two[name].directions.directions)
    single = trained_point.study_point("a", net, MSE, data, lr=0.1, seed=2)
    np.testing.assert_array_equal(single.directions.eigenvalues, one["a"].directions.eigenvalues)


def test_point_planes_do_not_depend_on_jobs():
    net, data = _regression()
    point = trained_point.study_point("toy", net, MSE, data, lr=0.1)
    kw = dict(factors=[1.0, 3.0], random_ranges=[1.0], n_points=5, seed=4)
    one = trained_point.point_planes(point, MSE, data, jobs=1, **kw)
    two = trained_point.point_planes(point, MSE, data, jobs=2, **kw)
    pd.testing.assert_frame_equal(one.summary, two.summary, check_exact=True)
    with pytest.raises(ValueError, match="factors"):
        trained_point.point_planes(point, MSE, data, factors=[0.0], random_ranges=[1.0], n_points=5)
    with pytest.raises(ValueError, match="factors"):
        trained_point.point_planes(point, MSE, data, factors=[float("nan")], random_ranges=[1.0], n_points=5)


def test_classifier_studies_do_not_depend_on_jobs(tmp_path):
    g = torch.Generator().manual_seed(0)
    data = {"train": (torch.rand(60, 64, generator=g), torch.randint(0, 10, (60,), generator=g)),
            "test": (torch.rand(30, 64, generator=g), torch.randint(0, 10, (30,), generator=g))}
    kw = dict(seed=0, width=4, epochs=2, lr=0.05, plane_factor=3.0, plane_range=1.0, n_points=3, plane_seed=7,
              ncv=20, eig_tol=1e-6, cache_dir=tmp_path)
    one = trained_point.classifier_studies(["resnet", "densenet"], data, jobs=1, **kw)
    two = trained_point.classifier_studies(["resnet", "densenet"], data, jobs=2, **kw)  # from the cache
    assert list(one) == ["resnet", "densenet"] and len(list(tmp_path.glob("*.pt"))) == 2
    for name in one:
        assert one[name][0].row() == two[name][0].row()
        pd.testing.assert_frame_equal(one[name][1].summary, two[name][1].summary, check_exact=True)
    t = trained_point.table2(one["resnet"][1].summary, "resnet", 3.0, 1.0)
    assert list(t.row) == ["trained point", "random plane", "Hessian plane"]
    with pytest.raises(ValueError, match="name"):
        trained_point.classifier_studies(["vgg"], data, **kw)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_study_point_and_planes_on_cuda_match_cpu():
    net, data = _regression()
    cpu = trained_point.study_point("toy", net, MSE, data, lr=0.1)
    gpu = trained_point.study_point("toy", copy.deepcopy(net), MSE, data, lr=0.1, device="cuda")
    assert next(gpu.model.parameters()).is_cuda
    np.testing.assert_allclose(gpu.directions.eigenvalues, cpu.directions.eigenvalues, rtol=1e-8)
    assert gpu.diagnostics.train_loss == pytest.approx(cpu.diagnostics.train_loss, rel=1e-12)
    kw = dict(factors=[3.0], random_ranges=[1.0], n_points=5, seed=4, kinds=("filter",))
    a, b = (trained_point.point_planes(p, MSE, data, **kw).summary for p in (cpu, gpu))
    np.testing.assert_allclose(b.train_loss_min, a.train_loss_min, rtol=1e-10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_train_on_cuda_matches_cpu(tmp_path):
    from landscape.nets import approximation

    X = torch.linspace(-1, 1, 20, dtype=torch.float64).reshape(-1, 1)
    nets = [approximation.fcnn(1, 8, seed=0, dtype=torch.float64) for _ in range(2)]
    a = approximation.cached_train(nets[0], MSE, X, torch.sin(3 * X), key={"k": 1}, cache_dir=tmp_path, epochs=20,
                                   lr=0.1)
    b = approximation.cached_train(nets[1], MSE, X, torch.sin(3 * X), key={"k": 1}, cache_dir=tmp_path, epochs=20,
                                   lr=0.1, device="cuda")
    assert len(list(tmp_path.glob("*.pt"))) == 2  # the GPU run is cached apart from the CPU run
    assert next(nets[1].parameters()).is_cuda
    assert b.best_loss == pytest.approx(a.best_loss, rel=1e-10)


def test_table2_comparison_and_trace_interval_z():
    t = pd.DataFrame({"row": ["trained point", "random plane", "Hessian plane"] * 2,
                      "test_accuracy": [0.9, 0.9, 0.905, 0.8, 0.8, 0.85],
                      "train_test_distance": [np.nan, 1.0, 0.5, np.nan, 0.2, 0.3]})
    assert trained_point.table2_comparison(t) == {"comparable": False, "aligned": 1, "networks": 2}
    assert trained_point.table2_comparison(t, accuracy_tol=0.05)["comparable"]
    with pytest.raises(ValueError, match="accuracy_tol"):
        trained_point.table2_comparison(t, accuracy_tol=-1.0)
    net, data = _regression()
    tr = trained_point.network_traces(net, MSE, data["train"], [1e-3, 1.0], 8, seed=3)
    z = trained_point.trace_interval_z(tr)
    h = tr.iloc[0]
    expected = abs(tr.estimate[2] - h.estimate) / np.sqrt(tr.stderr[2] ** 2 + h.stderr ** 2)
    assert list(z.index) == [1e-3, 1.0] and z[1.0] == pytest.approx(expected, rel=1e-14)
    with pytest.raises(ValueError, match="Hutchinson"):
        trained_point.trace_interval_z(tr.iloc[1:])


def _dense_symmetric(n=8, seed=0):
    A = np.random.default_rng(seed).standard_normal((n, n))
    return A + A.T


def test_paired_traces_quadratic_agree_probe_by_probe():
    A = _dense_symmetric()
    k = 400
    t = trained_point.paired_traces(lambda x: 0.5 * float(x @ A @ x), np.zeros(8), A, [1e-7, 1e-2, 10.0], k, seed=2)
    V = hessian.probe_vectors(8, k, seed=2, dist="gaussian")
    samples = np.einsum("ij,jk,ik->i", V, A, V)
    assert t.estimate[0] == pytest.approx(samples.mean(), rel=1e-12)  # Hutchinson on the same directions
    assert abs(t.estimate[0] - np.trace(A)) < 4 * t.stderr[0]  # exact trace known: within 4 standard errors
    cur = t[t.method == "curvature"]
    scale = np.abs(samples).max()
    # the fit is exact for a quadratic: paired differences at rounding level at every width, even h = 1e-7
    assert (cur.paired_diff.abs() <= 1e-6 * scale).all()
    assert cur.agrees.all()
    assert list(cur.half_width) == [1e-7, 1e-2, 10.0] and t.method[0] == "hutchinson"


def test_paired_traces_quartic_bias_is_exact():
    A, c, k, n = _dense_symmetric(), 0.5, 30, 8

    def f(x):  # Hessian at 0 is A exactly
        return 0.5 * float(x @ A @ x) + c * float(np.sum(x ** 4))

    t = trained_point.paired_traces(f, np.zeros(n), A, [1e-4, 0.3], k, n_points=21, seed=5)
    u = np.linspace(-1, 1, 21)
    kappa = np.linalg.lstsq(np.vander(u, 3, increasing=True), u ** 4, rcond=None)[0][2]  # u^4's u^2 coefficient
    V = hessian.probe_vectors(n, k, seed=5, dist="gaussian")
    for h, row in zip([1e-4, 0.3], t.iloc[1:].itertuples(), strict=True):
        d = 2 * c * kappa * h ** 2 * np.sum(V ** 4, axis=1)  # the bias of each probe's fitted curvature
        se = d.std(ddof=1) / np.sqrt(k)
        half = 2.045229642132703 * se  # t_{0.975, 29}
        assert row.paired_diff == pytest.approx(d.mean(), rel=1e-6)
        assert row.paired_se == pytest.approx(se, rel=1e-5)
        assert row.paired_z == pytest.approx(d.mean() / se, rel=1e-5)
        assert row.paired_low == pytest.approx(d.mean() - half, rel=1e-5)
        assert row.differs  # systematic: the paired test sees it at every width
    assert t.agrees[1] and not t.agrees[2]  # below Hutchinson's standard error at h = 1e-4, far above at 0.3


@pytest.mark.parametrize("kw, match", [({"n_probes": 1}, "n_probes"), ({"half_widths": [0.0]}, "half_widths"),
                                       ({"n_points": 2}, "n_points")])
def test_paired_traces_rejects_bad_input(kw, match):
    A = _dense_symmetric()
    args = {"half_widths": [0.1], "n_probes": 4, "n_points": 5} | kw
    with pytest.raises(ValueError, match=match):
        trained_point.paired_traces(lambda x: 0.5 * float(x @ A @ x), np.zeros(8), A, args["half_widths"],
                                    args["n_probes"], n_points=args["n_points"])


def _plane_min(net, data, d1, d2, e, n_points):
    """Lowest training loss on the grid theta + a d1 + b d2, a, b in linspace(-e, e, n_points), and the test loss
    there, by direct evaluation.
    """
    loss_tr, theta = hessian.flat_loss(net, MSE, data["train"])
    loss_te, _ = hessian.flat_loss(net, MSE, data["test"])
    grid = np.linspace(-e, e, n_points)
    best = min((loss_tr(theta + a * d1 + b * d2), a, b) for a in grid for b in grid)
    return best[0], loss_te(theta + best[1] * d1 + best[2] * d2)


def test_equal_extent_gains_against_direct_grids():
    from landscape.surfaces import planes

    net, data = _regression()
    point = trained_point.study_point("toy", net, MSE, data, lr=0.1)
    g = trained_point.equal_extent_gains(point, MSE, data, [0.05, 0.5], n_points=5, seed=7)
    d = point.directions.directions
    gauss = planes.unit_gaussian_plane(point.n_params, 7 + 2)
    loss0, theta = hessian.flat_loss(net, MSE, data["train"])
    for e, row in zip([0.05, 0.5], g.itertuples(), strict=True):
        h_tr, h_te = _plane_min(net, data, d[0], d[-1], e, 5)
        g_tr, g_te = _plane_min(net, data, *gauss, e, 5)
        assert row.extent == e
        assert row.train_gain_pct == pytest.approx(100 * (1 - h_tr / g_tr), rel=1e-5, abs=1e-9)
        assert row.test_gain_pct == pytest.approx(100 * (1 - h_te / g_te), rel=1e-5, abs=1e-9)
        assert row.hessian_reduction_pct == pytest.approx(100 * (1 - h_tr / loss0(theta)), rel=1e-5, abs=1e-9)
    with pytest.raises(ValueError, match="extents"):
        trained_point.equal_extent_gains(point, MSE, data, [0.0], n_points=5)


def test_fcnn_gains_over_seeds_and_intervals(tmp_path):
    from landscape.infra.results import interval95
    from landscape.nets import approximation

    fd = {s: tuple(torch.tensor(a, dtype=torch.float32) for a in arr)
          for s, arr in approximation.function_data(12, 20, seed=0).items()}
    kw = dict(epochs=30, lr=0.05, extents=[0.1, 1.0], plane_factor=1.0, plane_range=1.0, n_points=3, plane_seed=4,
              cache_dir=tmp_path, jobs=1)
    g = trained_point.fcnn_gains_over_seeds(1, 6, fd, MSE, seeds=[0, 1, 2], **kw)
    assert list(g.init_seed.unique()) == [0, 1, 2]
    assert list(g.comparison[:3]) == ["equal extent", "equal extent", "headline"]
    # each seed is the network trained alone with that init seed: seed 1's equal-extent rows again, independently
    net = approximation.fcnn(1, 6, seed=1)
    approximation.cached_train(net, MSE, *fd["train"], key={"experiment": "fcnn", "n_layers": 1, "seed": 1},
                               epochs=30, lr=0.05, log_every=1, cache_dir=tmp_path / "again")
    point = trained_point.study_point("again", net, MSE, fd, lr=0.05, eig_tol=1e-6)
    again = trained_point.equal_extent_gains(point, MSE, fd, [0.1, 1.0], n_points=3, seed=5)  # plane_seed 4 + 1
    mine = g[(g.init_seed == 1) & (g.comparison == "equal extent")].reset_index(drop=True)
    np.testing.assert_allclose(mine.train_gain_pct, again.train_gain_pct, rtol=1e-6, atol=1e-9)
    other = trained_point.equal_extent_gains(point, MSE, fd, [0.1, 1.0], n_points=3, seed=4)
    assert not np.allclose(other.gaussian_reduction_pct, again.gaussian_reduction_pct)  # the plane seed matters
    d = point.diagnostics
    assert mine.stationarity.iloc[0] == pytest.approx(d.grad_norm / (d.lambda_max * point.scale), rel=1e-6)
    s = trained_point.gain_intervals(g)
    assert len(s) == 3 and (s.n_runs == 3).all()
    at = g[(g.comparison == "equal extent") & (g.extent == 1.0)].train_gain_pct
    row = s[(s.comparison == "equal extent") & (s.extent == 1.0)].iloc[0]
    assert (row.train_mean, row.train_low, row.train_high) == pytest.approx(interval95(at)[:3])


def test_stationarity_is_sqrt2_on_a_quadratic_valley_and_zero_at_a_stationary_point():
    # L = lam x^2 / 2 at x: |g| = lam |x|, L0 = lam x^2 / 2, s = sqrt(L0 / lam) = |x| / sqrt(2) -> r = sqrt(2)
    lam, x = 3.0, 0.7
    g, s = lam * x, np.sqrt(0.5 * lam * x ** 2 / lam)
    ratio, ok, detail = trained_point.stationarity(g, lam, -0.1, s)
    assert ratio == pytest.approx(np.sqrt(2.0), rel=1e-12) and not ok and "v_min" in detail
    ratio, ok, _ = trained_point.stationarity(0.0, lam, -0.1, s)
    assert ratio == 0.0 and ok
    assert trained_point.stationarity(0.05, 1.0, 0.2, 1.0, limit=0.1)[1]  # 0.05 < 0.1
    assert not trained_point.stationarity(0.15, 1.0, 0.2, 1.0, limit=0.1)[1]
    with pytest.raises(ValueError, match="lambda_max"):
        trained_point.stationarity(1.0, 0.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="grad_norm"):
        trained_point.stationarity(-1.0, 1.0, -1.0, 1.0)
