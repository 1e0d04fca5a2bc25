"""Toy saddles, projected curvatures and the chapter's training helpers."""

import numpy as np
import pytest
import torch

from landscape.curvature import hessian as hs
from landscape.nets import approximation as ap
from landscape.studies.hessian_directions import random_directions, toy_pictures, toys


def test_saddles_hessian_and_trace():
    s = toys.saddle_equal(10)
    assert s.trace == 0 and s.n == 10
    H = hs.dense_function_hessian(s.loss, np.zeros(10))
    np.testing.assert_allclose(H, np.diag(s.curvatures), atol=1e-14)
    t = toys.saddle_shifted(1000, 600)
    assert t.trace == 600 and (t.curvatures > 0).sum() == 800
    op = hs.function_hessian_operator(t.loss, np.zeros(1000))
    res = hs.opposite_extreme(op)
    assert res.is_saddle
    assert sorted([res.dominant_value, res.opposite_value]) == pytest.approx([-1.0, 1.0])
    with pytest.raises(ValueError, match="n"):
        toys.saddle_equal(7)
    with pytest.raises(ValueError, match="trace"):
        toys.saddle_shifted(10, 3)


@pytest.mark.parametrize("lam", [np.array([1.0] * 30 + [-1.0] * 20), np.linspace(-2, 3, 40)])
def test_projected_hessians_exact_vs_explicit(lam):
    a = toys.projected_hessians(lam, 40000, seed=0, exact=True)
    b = toys.projected_hessians(lam, 40000, seed=1, exact=False)
    # same distribution: means (eq 22: E[H~] = tr(H) I) and variances (Var h11 = 2 sum lam^2, Var h12 = sum lam^2)
    for df in (a, b):
        assert df.h11.mean() == pytest.approx(lam.sum(), abs=5 * np.sqrt(2 * (lam**2).sum() / 40000))
        assert df.h12.mean() == pytest.approx(0.0, abs=5 * np.sqrt((lam**2).sum() / 40000))
        assert df.h11.var() == pytest.approx(2 * (lam**2).sum(), rel=0.05)
        assert df.h12.var() == pytest.approx((lam**2).sum(), rel=0.05)
    assert abs(toys.saddle_share(a) - toys.saddle_share(b)) < 0.02
    assert np.all(a.kappa1 >= a.kappa2)


def test_principal_curvatures_are_eigenvalues():
    df = toys.projected_hessians(np.linspace(-1, 2, 9), 50, seed=3, exact=False)
    for _, r in df.iterrows():
        w = np.linalg.eigvalsh([[r.h11, r.h12], [r.h12, r.h22]])
        np.testing.assert_allclose([r.kappa2, r.kappa1], w, atol=1e-10)


def test_ensemble_means_and_trace0_share():
    df = toys.projected_hessians(toys.saddle_equal(1000).curvatures, 20000, seed=0)
    em = toys.ensemble_means(df)
    assert em.N.iloc[-1] == 20000
    assert em.h11.iloc[-1] == pytest.approx(df.h11.mean())
    # trace 0 at n = 1000: no saddle in 1 - 1/sqrt(2) = 29.29 % of projections up to O(1/n) (source: ~30 %);
    # 20,000 samples: standard error 0.0032, margin 4 standard errors
    assert 1 - toys.saddle_share(df) == pytest.approx(1 - 1 / np.sqrt(2), abs=0.013)


def test_orthogonality_bound_holds():
    from scipy.stats import norm

    df = random_directions.random_inner_products([100, 1000], 2000, seed=0)
    for n, g in df.groupby("dim"):
        assert g.inner_over_n.std() == pytest.approx(1 / np.sqrt(n), rel=0.1)
        for eps in (0.1, 0.2, 0.3):
            share = np.mean(np.abs(g.inner_over_n) >= eps)
            # eqs (13)-(14): <delta, eta>/n is nearly N(0, 1/n); the share matches its tail within 4 binomial SE
            tail = 2 * norm.sf(eps * np.sqrt(n))
            assert abs(share - tail) <= 4 * np.sqrt(tail * (1 - tail) / len(g)) + 1e-3
            assert share <= random_directions.orthogonality_bound(n, eps)
    # the cases where eq (18) says something (bound < 1) are among those checked, and it is not vacuous there
    assert random_directions.orthogonality_bound(1000, 0.1) < 0.4
    assert random_directions.orthogonality_bound(100, 0.3) < 0.6
    assert random_directions.orthogonality_bound(100, 0.1) == 1.0  # clipped: small n and eps give no information


def test_function_surface_origin():
    s = toys.saddle_equal(4)
    df = toy_pictures.function_surface(s.loss, np.zeros(4), np.eye(4)[0], np.eye(4)[2], [-1, 0, 1], [-1, 0, 1])
    assert df.loss[(df.alpha == 0) & (df.beta == 0)].item() == 0
    assert df.loss[(df.alpha == 1) & (df.beta == 0)].item() == 0.5
    assert df.loss[(df.alpha == 0) & (df.beta == 1)].item() == -0.5


def test_fcnn_parameter_counts_and_data():
    assert sum(p.numel() for p in ap.fcnn(2).parameters()) == 20501
    assert sum(p.numel() for p in ap.fcnn(10).parameters()) == 101301
    d = ap.function_data(50, 1000, seed=0)
    assert d["train"][0].shape == (50, 1) and d["test"][1].shape == (1000, 1)
    assert np.all(np.abs(d["train"][0]) <= 1)
    assert sum(p.numel() for p in ap.digits_cnn().parameters()) == 6090
    assert ap.digits_cnn()(torch.zeros(3, 64)).shape == (3, 10)


def test_train_keeps_best_and_cache(tmp_path):
    d = ap.function_data(20, 30, seed=1)
    X, y = (torch.tensor(a, dtype=torch.float32) for a in d["train"])
    m = ap.fcnn(1, width=8, seed=0)
    r = ap.cached_train(m, torch.nn.functional.mse_loss, X, y, key={"t": 1}, cache_dir=tmp_path, epochs=50, lr=0.1,
                        log_every=10)
    with torch.no_grad():
        assert float(torch.nn.functional.mse_loss(m(X), y)) == pytest.approx(r.best_loss, rel=1e-6)
    assert r.best_loss <= r.history.train_loss.min() + 1e-12
    m2 = ap.fcnn(1, width=8, seed=0)
    r2 = ap.cached_train(m2, torch.nn.functional.mse_loss, X, y, key={"t": 1}, cache_dir=tmp_path, epochs=50,
                         lr=0.1, log_every=10)
    assert r2.seconds == 0.0 and r2.best_loss == pytest.approx(r.best_loss)
    for p, q in zip(m.parameters(), m2.parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="epochs"):
        ap.train(m, torch.nn.functional.mse_loss, X, y, epochs=0, lr=0.1)


def test_compare_planes_locations():
    import pandas as pd
    g = np.array([-1.0, 0.0, 1.0])
    A, B = np.meshgrid(g, g, indexing="ij")
    a, b = A.ravel(), B.ravel()
    tr = pd.DataFrame({"alpha": a, "beta": b, "split": "train", "loss": (a - 1) ** 2 + b ** 2 + 1})
    te = tr.assign(split="test", loss=tr.loss + 0.5)
    out = ap.compare_planes({"p": pd.concat([tr, te], ignore_index=True)})
    row = out.iloc[0]
    assert row.alpha_train_min == 1.0 and row.beta_train_min == 0.0
    assert row.train_loss_min == 1.0 and row.train_loss_origin == 2.0
    assert row.test_loss_at_train_min == 1.5


def test_projections_to_settle_counts_the_last_excursion():
    import pandas as pd

    means = pd.DataFrame({"h11": [9.0, 1.0, 6.0, 0.5, 0.2], "h22": [0.0, 0.0, 0.0, -5.0, 0.1]})
    # deviations from 0 with tol 4: 9 (N=1), 1, 6 (N=3), 5 (N=4), 0.2 -> settled from N = 5 on
    assert toys.projections_to_settle(means, 0.0, 4.0) == 5
    assert toys.projections_to_settle(means, 0.0, 10.0) == 1


def test_settle_over_seeds_matches_single_runs_and_orders_thresholds():
    lam26 = np.r_[np.ones(50), -np.ones(50)]
    lam31 = np.r_[np.ones(60), -np.ones(40)]
    table = toys.settle_over_seeds([lam26, lam31], 400, seeds=[3, 7], thresholds=[2.0, 4.0])
    assert len(table) == 4
    for s in (3, 7):
        m26 = toys.ensemble_means(toys.projected_hessians(lam26, 400, seed=s))
        m31 = toys.ensemble_means(toys.projected_hessians(lam31, 400, seed=s + 1))
        for t in (2.0, 4.0):
            row = table[(table.seed == s) & (table.threshold == t)].iloc[0]
            c26, c31 = toys.projections_to_settle(m26, 0.0, t), toys.projections_to_settle(m31, 20.0, t)
            assert (row.settle_0, row.settle_1) == (c26, c31)
            assert row.log10_settle == pytest.approx(np.log10(max(c26, c31)), abs=1e-12)
        tight, loose = (table[(table.seed == s) & (table.threshold == t)].log10_settle.iloc[0] for t in (2.0, 4.0))
        assert tight >= loose  # a wider band is reached no later
    # a zero Hessian projects to zero: settled from the first projection
    assert toys.settle_over_seeds([np.zeros(10)], 50, seeds=[0], thresholds=[0.5]).log10_settle.iloc[0] == 0.0
    with pytest.raises(ValueError, match="thresholds"):
        toys.settle_over_seeds([lam26], 10, seeds=[0], thresholds=[0.0])
    with pytest.raises(ValueError, match="seeds"):
        toys.settle_over_seeds([lam26], 10, seeds=[], thresholds=[1.0])


def test_trace0_share_pinned_to_goe_limit():
    # large n: the share of projections hiding the trace-0 saddle is exactly 1 - 1/sqrt(2) (2x2 GOE)
    assert 1 - toys.saddle_share_limit(0.0) == pytest.approx(0.29289321881, abs=1e-10)
    df = toys.projected_hessians(toys.saddle_equal(20000).curvatures, 10000, seed=3)
    assert 1 - toys.saddle_share(df) == pytest.approx(0.2929, abs=0.013)  # SE 0.0045: ~3 SE


def test_trace0_share_depends_on_n_at_small_n():
    # n = 4: far fewer projections hide the saddle than the limit (about 21 %); SE 0.0013 at 1e5 samples
    s4 = toys.saddle_share_vs_dimension([4, 20000], 0, 100000, seed=0)
    hide = 1 - s4.saddle_share.to_numpy()
    assert hide[0] < 0.2929 - 0.05
    assert hide[1] == pytest.approx(0.2929, abs=0.006)


def test_trace600_share_follows_frobenius_ratio():
    lam = toys.saddle_shifted(20000, 600).curvatures
    t = toys.frobenius_ratio(lam)
    assert t == pytest.approx(600 / np.sqrt(20000), rel=1e-12)
    df = toys.saddle_share_vs_dimension([20000], 600, 400000, seed=1)
    # limit exp(-t^2/4)/sqrt(2) = 0.00786; SE 0.00014; margin 4 SE (finite-n corrections are smaller)
    assert df.saddle_share.iloc[0] == pytest.approx(df.limit.iloc[0], abs=6e-4)
    assert df.limit.iloc[0] == pytest.approx(np.exp(-4.5) / np.sqrt(2), rel=1e-12)
    # the source's 0.5 % fixes tr H/||H||_F = 4.4505, i.e. n = 18,175 for +-1 curvatures and trace 600
    assert toys.ratio_for_share(0.005) == pytest.approx(4.4505, abs=1e-4)
    with pytest.raises(ValueError, match="share"):
        toys.ratio_for_share(0.8)


def test_curvature_skewness_is_gaussian_plus_rayleigh():
    df = toys.projected_hessians(toys.saddle_equal(20000).curvatures, 200000, seed=2)
    sk = toys.curvature_skewness(df).set_index("curvature")
    # closed form 0.10386; sample SE sqrt(6/N) = 0.0055: margin 0.02 (3.6 SE)
    assert toys.KAPPA_SKEWNESS_LIMIT == pytest.approx(0.10386, abs=1e-5)
    assert sk.skewness["kappa1"] == pytest.approx(toys.KAPPA_SKEWNESS_LIMIT, abs=0.02)
    assert sk.skewness["kappa2"] == pytest.approx(-toys.KAPPA_SKEWNESS_LIMIT, abs=0.02)
    assert sk.skewtest_p.max() < 1e-6  # "plausibly Gaussian" is rejected


def test_orthogonality_table():
    t = random_directions.orthogonality_table([100, 10000], 2000, 0.1, seed=0)
    assert list(t.dim) == [100, 10000]
    np.testing.assert_allclose(t.std_inner_over_n, 1 / np.sqrt(t.dim), rtol=0.1)  # SE of a std: 1.6 %
    assert (t.share_exceeding <= t.bound_eq18 + 0.01).all()


def test_toy_trace_estimates_agree_sample_by_sample():
    s = toys.saddle_shifted(200, 20)
    running, hut, cur = toy_pictures.toy_trace_estimates(s, 30, np.linspace(-1, 1, 50), seed=4)
    np.testing.assert_allclose(cur.samples, hut.samples, rtol=1e-9)  # quadratic: the fit is exact
    assert running.true_trace.iloc[0] == 20.0 and running.hutchinson.iloc[-1] == pytest.approx(hut.estimate)


def test_toy_planes_show_the_saddle():
    surfaces, vals = toy_pictures.toy_planes(toys.saddle_shifted(100, 20), 5, seed=0)
    np.testing.assert_allclose(sorted(vals), [-1.0, 1.0], atol=1e-8)
    a = surfaces["(a) Hessian: largest + most negative"]
    corner = a[(a.alpha == 1.0) & (a.beta == 0.0)].loss.iloc[0]
    assert corner == pytest.approx(0.5, abs=1e-8)  # 0.5 * lambda_max * alpha^2 along v_max
    assert (surfaces["(c) Hessian: two negative"].loss <= 1e-12).all()


def test_saddle_operator_is_the_autograd_hessian_to_the_last_bit():
    s = toys.saddle_shifted(400, 100)
    V = np.random.default_rng(3).standard_normal((400, 5))
    auto = hs.function_hessian_operator(s.loss, np.zeros(400))
    exact = s.hessian_operator()
    np.testing.assert_array_equal(exact @ V, auto @ V)
    np.testing.assert_array_equal(exact @ V[:, 0], s.curvatures * V[:, 0])
    assert exact.n_matvecs == 6


@pytest.mark.parametrize("n_pos, n_neg, exact", [(2, 2, np.pi / 4), (5, 3, 5 / 8), (5, 5, 35 / 48)])
def test_saddle_share_exact_closed_forms(n_pos, n_neg, exact):
    assert toys.saddle_share_exact(n_pos, n_neg) == pytest.approx(exact, abs=1e-10)


def test_saddle_share_exact_against_wishart_sampling():
    lam = np.r_[np.ones(7), -np.ones(4)]
    n = 400_000
    s = toys.saddle_share(toys.projected_hessians(lam, n, seed=11))
    exact = toys.saddle_share_exact(7, 4)
    assert abs(s - exact) < 4 * np.sqrt(exact * (1 - exact) / n)


def test_saddle_share_exact_tends_to_the_limit():
    assert toys.saddle_share_exact(10_000, 10_000) == pytest.approx(1 / np.sqrt(2), abs=1e-4)
    t = toys.frobenius_ratio(toys.saddle_shifted(20_000, 600).curvatures)
    assert toys.saddle_share_exact(10_300, 9_700) == pytest.approx(toys.saddle_share_limit(t), rel=0.01)


def test_dimension_for_share_brackets_the_share():
    n = toys.dimension_for_share(0.005, 600)
    assert (n + 600) % 2 == 0
    assert toys.saddle_share_exact((n + 600) // 2, (n - 600) // 2) >= 0.005
    assert toys.saddle_share_exact((n + 598) // 2, (n - 602) // 2) < 0.005
    with pytest.raises(ValueError, match="n_pos"):
        toys.saddle_share_exact(1, 4)
    with pytest.raises(ValueError, match="share"):
        toys.dimension_for_share(0.8, 600)
