"""Restoring the best epoch restores the whole state, batch-norm running statistics included (issue 23).

:func:`landscape.nets.approximation.train` keeps the epoch of lowest training loss. A batch-norm net is evaluated with
its running statistics, so the restored net must carry the statistics of that epoch: it must equal, bit for bit
(one device, one thread count, float64), the same net trained for exactly its best epoch. Restoring the parameters
alone (the bug) leaves the last epoch's statistics, which the tests also show differ from the best epoch's.
"""

import hashlib
import json

import numpy as np
import pytest
import torch

from landscape.nets import approximation
from landscape.nets.residual import residual_mlp

F = torch.nn.functional


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(60, 6, generator=g, dtype=torch.float64), torch.randint(0, 3, (60,), generator=g)


def _net():
    return residual_mlp(6, 3, width=8, depth=2, skip=False, bn=True, seed=1, dtype=torch.float64)


def _eval_loss(net, X, y):
    net.eval()
    with torch.no_grad():
        return float(F.cross_entropy(net(X), y))


# (batch_size, lr): settings where the training loss rises after its minimum, so the best epoch is not the last
SETTINGS = [(16, 0.5), (None, 1.0)]


@pytest.mark.parametrize(("batch_size", "lr"), SETTINGS)
def test_restored_bn_net_equals_the_net_trained_for_its_best_epoch(batch_size, lr):
    X, y = _data()
    kw = dict(lr=lr, batch_size=batch_size, momentum=0.9, seed=3, log_every=1)
    epochs = 12
    full = _net()
    res = approximation.train(full, F.cross_entropy, X, y, epochs=epochs, **kw)
    assert 1 <= res.best_epoch < epochs  # otherwise nothing is restored and the test proves nothing

    exact = _net()
    res_b = approximation.train(exact, F.cross_entropy, X, y, epochs=res.best_epoch, **kw)
    assert res_b.best_epoch == res.best_epoch and res_b.best_loss == res.best_loss

    a, b = full.state_dict(), exact.state_dict()
    assert a.keys() == b.keys()
    assert any("running_mean" in k for k in a) and any("running_var" in k for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k  # bit for bit, buffers included
    assert _eval_loss(full, X, y) == _eval_loss(exact, X, y)


@pytest.mark.parametrize(("batch_size", "lr"), SETTINGS)
def test_parameters_alone_would_keep_the_wrong_statistics(batch_size, lr):
    """The test above can fail: the last epoch's running statistics differ from the best epoch's, and a net with
    the best weights but the last statistics (what restoring the parameters alone gave) has another eval loss.
    """
    X, y = _data()
    kw = dict(lr=lr, batch_size=batch_size, momentum=0.9, seed=3, log_every=1)
    best = _net()
    approximation.train(best, F.cross_entropy, X, y, epochs=12, **kw)
    last = _net()
    stats = {}
    real_load = last.load_state_dict

    def no_restore(state, *args, **kwargs):  # record the final state instead of restoring the best one
        stats.update({k: v.clone() for k, v in last.state_dict().items()})
        return real_load(state, *args, **kwargs)

    last.load_state_dict = no_restore
    approximation.train(last, F.cross_entropy, X, y, epochs=12, **kw)
    assert stats, "train did not restore a state although the best epoch is not the last"
    run_keys = [k for k in stats if "running_" in k]
    assert run_keys and all(not torch.equal(stats[k], best.state_dict()[k]) for k in run_keys)
    # the bug: best parameters with the last epoch's statistics
    buggy = _net()
    buggy.load_state_dict({**best.state_dict(), **{k: stats[k] for k in stats if k in dict(buggy.named_buffers())}})
    assert abs(_eval_loss(buggy, X, y) - _eval_loss(best, X, y)) > 1e-3


def test_cached_bn_net_is_loaded_with_its_statistics(tmp_path):
    X, y = _data()
    kw = dict(epochs=12, lr=0.5, batch_size=16, momentum=0.9, seed=3)
    first, second = _net(), _net()
    r1 = approximation.cached_train(first, F.cross_entropy, X, y, key={"t": 1}, cache_dir=tmp_path, **kw)
    r2 = approximation.cached_train(second, F.cross_entropy, X, y, key={"t": 1}, cache_dir=tmp_path, **kw)
    assert r1.seconds > 0 and r2.seconds == 0.0  # the second call loaded the file
    a, b = first.state_dict(), second.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _eval_loss(first, X, y) == _eval_loss(second, X, y)


def _old_name(model, X, y, key, train_kwargs):
    """The cache file name as computed before the fix (the recipe of ``cached_train`` without the restore entry)."""
    h = hashlib.sha256()
    h.update(json.dumps({k: str(v) for k, v in key.items()}, sort_keys=True).encode())
    h.update(json.dumps({k: str(v) for k, v in train_kwargs.items()}, sort_keys=True).encode())
    h.update(np.ascontiguousarray(np.asarray(X, dtype=np.float64)).tobytes())
    h.update(np.ascontiguousarray(np.asarray(y)).tobytes())
    for p in model.parameters():
        h.update(p.detach().cpu().double().numpy().tobytes())
    return f"{h.hexdigest()[:20]}.pt"


@pytest.mark.parametrize("bn", [False, True])
def test_only_nets_with_buffers_get_new_cache_names(tmp_path, bn):
    """Stale files (best weights, last statistics) are not reused for BN nets; other nets keep their files."""
    X, y = _data()
    kw = dict(epochs=2, lr=0.1, batch_size=16, seed=3)
    net = residual_mlp(6, 3, width=8, depth=1, skip=True, bn=bn, seed=1, dtype=torch.float64)
    old = _old_name(net, X, y, {"t": 2}, kw)
    approximation.cached_train(net, F.cross_entropy, X, y, key={"t": 2}, cache_dir=tmp_path, **kw)
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 1
    assert (names[0] == old) is (not bn)


def test_family_member_reports_the_plane_loss_of_the_restored_net(tmp_path):
    """``plane_loss`` is the eval-mode loss the plane shows at its centre: the restored net with its own running
    statistics (float32 net: the plane evaluates the same forward pass, so agreement to float32 rounding).
    """
    from landscape.studies.interpolation_planes.family import family_member
    from landscape.surfaces import projections

    X, y = _data()
    X = X.float()
    m = family_member(2, 8, False, train=(X, y), splits={"train": (X, y), "test": (X[:30], y[:30])},
                      loss_fn=F.cross_entropy, grid=np.linspace(-1, 1, 3), epochs=12, lr=0.5, batch_size=16,
                      metrics={"accuracy": projections.accuracy}, cache_dir=tmp_path)
    assert m.row["plane_loss"] == pytest.approx(_eval_loss(m.model, X, y), rel=1e-6)
    assert m.row["plane_loss"] != m.row["train_loss"]  # train-mode best loss vs eval-mode plane centre
