import dataclasses
import os

import numpy as np
import pytest
import torch

from landscape.nets import models, recording
from landscape.nets.recording import CorruptRecordError, RecordConfig, Trajectory

SMALL = RecordConfig(dataset="iris", hidden=(5,), epochs=3, batch_size=20, seed=7)


def test_records_every_step(tmp_path):
    t = recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False)
    assert t.M == 3 * 6 and t.m == 4 * 5 + 5 + 5 * 3 + 3
    assert t.batch_indices.shape == (18, 20) and (t.batch_sizes == 20).all()
    # each epoch visits every training row exactly once
    for e in range(3):
        assert sorted(t.batch_indices[6 * e : 6 * e + 6].ravel()) == list(range(120))
    # the last recorded vector is the trained model; replaying the recorded batches reproduces every step
    ds = t.dataset()
    X, y = ds.tensors()
    net = models.assign(recording.build_model(t.config, ds), t.initial)
    opt = torch.optim.SGD(net.parameters(), lr=t.config.lr)
    for step in range(t.M):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(X[t.batch_indices[step]]), y[t.batch_indices[step]])
        loss.backward()
        opt.step()
        assert loss.item() == pytest.approx(t.batch_loss[step], rel=1e-6)
        np.testing.assert_allclose(models.flatten(net).double().numpy(), t.params[step], rtol=0, atol=1e-6)


def test_partial_last_batch_is_recorded(tmp_path):
    t = recording.record_sgd(dataset="auto-mpg", hidden=(4,), epochs=2, cache_dir=tmp_path, progress=False)
    assert t.M == 32 and t.batch_sizes[15] == 318 - 15 * 20
    assert (t.batch_indices[15, 18:] == -1).all() and (t.batch_indices[15, :18] >= 0).all()


def test_same_seed_identical_and_cache_hit(tmp_path):
    a = recording.record_sgd(SMALL, cache_dir=tmp_path / "a", progress=False)
    b = recording.record_sgd(SMALL, cache_dir=tmp_path / "b", progress=False)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.batch_indices, b.batch_indices)
    c = recording.record_sgd(dataclasses.replace(SMALL, seed=8), cache_dir=tmp_path / "a", progress=False)
    assert not np.array_equal(a.params, c.params)
    path = recording.cache_path(SMALL, tmp_path / "a")
    mtime = path.stat().st_mtime_ns
    again = recording.record_sgd(SMALL, cache_dir=tmp_path / "a", progress=False)
    assert path.stat().st_mtime_ns == mtime  # loaded, not re-recorded
    np.testing.assert_array_equal(again.params, a.params)
    assert again.config == SMALL and again.provenance["torch"] == torch.__version__


def test_interrupted_write_keeps_old_state(tmp_path, monkeypatch):
    t = recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False)
    path = recording.cache_path(SMALL, tmp_path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        t.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.rglob("*.tmp")] == []


def test_interrupted_training_resumes_identically(tmp_path, monkeypatch):
    cfg = dataclasses.replace(SMALL, epochs=6)
    full = recording.record_sgd(cfg, cache_dir=tmp_path / "full", progress=False)
    calls = {"n": 0}
    real = recording._atomic_savez

    def save_then_die(path, meta, arrays):
        real(path, meta, arrays)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt  # interrupted right after the first checkpoint

    monkeypatch.setattr(recording, "_atomic_savez", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        recording.record_sgd(cfg, cache_dir=tmp_path / "res", progress=False, checkpoint_every=2)
    ckpt = recording.cache_path(cfg, tmp_path / "res").with_suffix(".partial.npz")
    assert ckpt.exists()
    monkeypatch.setattr(recording, "_atomic_savez", real)
    resumed = recording.record_sgd(cfg, cache_dir=tmp_path / "res", progress=False, checkpoint_every=2)
    np.testing.assert_array_equal(resumed.params, full.params)
    np.testing.assert_array_equal(resumed.epoch_train_loss, full.epoch_train_loss)
    assert not ckpt.exists()


def test_corrupt_file_gives_clear_error(tmp_path):
    recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False)
    path = recording.cache_path(SMALL, tmp_path)
    path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
    with pytest.raises(CorruptRecordError, match=f"{path}.*delete it to record again"):
        Trajectory.load(path)
    with pytest.raises(CorruptRecordError, match=str(path)):
        recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False)
    assert path.exists()  # the bad file is left for the user to inspect, not silently replaced


def test_a_cached_record_of_another_config_is_not_used(tmp_path):
    """A copied file (or a key collision): the stored config differs, so the record is made again."""
    other = dataclasses.replace(SMALL, seed=8)
    a = recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False)
    path = recording.cache_path(other, tmp_path)
    path.write_bytes(recording.cache_path(SMALL, tmp_path).read_bytes())
    b = recording.record_sgd(other, cache_dir=tmp_path, progress=False)
    assert b.config == other and not np.array_equal(a.params, b.params)
    assert Trajectory.load(path).config == other  # overwritten with the right record


def test_task_trains_a_classifier_on_an_integer_target(tmp_path):
    """The README's wine example: integer class labels train 3 outputs with cross entropy when the task is
    stated (m = 13*24+24 + 24*14+14 + 14*3+3 = 731), a 1-output regressor with task="regression" (m = 701), and
    without a task they are refused before training (issue 24: they silently trained a regressor).
    """
    from sklearn.datasets import load_wine

    csv = tmp_path / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(csv, index=False)
    cls = recording.record_sgd(dataset=str(csv), target="target", task="classification", epochs=1,
                               cache_dir=tmp_path, progress=False)
    assert cls.m == 731 and cls.dataset().task == "classification" and cls.dataset().n_classes == 3
    assert cls.model()[-1].out_features == 3
    with pytest.raises(ValueError, match="task: target column 'target' .* holds 3 distinct integers"):
        recording.record_sgd(dataset=str(csv), target="target", epochs=1, cache_dir=tmp_path, progress=False)
    reg = recording.record_sgd(dataset=str(csv), target="target", task="regression", epochs=1, cache_dir=tmp_path,
                               progress=False)
    assert reg.m == 701 and reg.dataset().task == "regression"
    assert cls.config.key() != reg.config.key()
    with pytest.raises(ValueError, match="task must be one of"):
        RecordConfig(task="foo")


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size"), (dict(lr=-1.0), "lr"), (dict(dtype="float16"), "dtype"),
    (dict(loss="hinge"), "loss"), (dict(epochs=0), "epochs"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(SMALL, **kwargs)


def test_bad_runtime_arguments(tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        recording.record_sgd(SMALL, batch_size=500, cache_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="loss"):
        recording.record_sgd(SMALL, loss="mse", cache_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="threads"):
        recording.record_sgd(SMALL, threads=0, cache_dir=tmp_path, progress=False)
    before = torch.get_num_threads()
    recording.record_sgd(SMALL, threads=1, cache_dir=tmp_path, progress=False)
    assert torch.get_num_threads() == before  # restored


def test_model_at_step(tmp_path):
    t = recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False)
    np.testing.assert_allclose(models.flatten(t.model(5)).double().numpy(), t.params[5], atol=1e-7)
    np.testing.assert_allclose(models.flatten(t.model(None)).double().numpy(), t.initial, atol=1e-7)


def test_summary_and_loss_frame_describe_the_run(tmp_path):
    t = recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False)
    row = t.summary()
    assert row["M (SGD steps)"] == t.M == 18 and row["m"] == t.m and row["steps per epoch"] == 6
    assert row["N train"] == 120 and row["N (samples)"] == 150 and row["n (batch)"] == 20
    assert row["final train loss"] == t.epoch_train_loss[-1] and row["final val loss"] == t.epoch_val_loss[-1]
    frame = t.loss_frame()
    assert list(frame.columns) == ["dataset", "epoch", "train", "validation"]
    assert frame.epoch.tolist() == [1, 2, 3] and (frame.dataset == "iris").all()
    np.testing.assert_array_equal(frame.validation, t.epoch_val_loss)


def test_split_option_keeps_every_existing_cache_key(tmp_path):
    """Adding ``split`` must not rename cached records: the default config's key is pinned (the hash every
    chapter's cache used before the field existed); the Keras split is a different record.
    """
    assert RecordConfig().key() == "765f61a863294c735998"
    assert RecordConfig(split="stratified").key() == RecordConfig().key()
    keras = RecordConfig(split="keras")
    assert keras.key() != RecordConfig().key()
    t = recording.record_sgd(dataclasses.replace(SMALL, split="keras"), cache_dir=tmp_path, progress=False)
    assert set(t.dataset().y_val.tolist()) == {2}  # the last 30 iris rows: all virginica
    assert set(np.unique(t.batch_indices[t.batch_indices >= 0])) == set(range(120))
    assert recording.record_sgd(t.config, cache_dir=tmp_path, progress=False).config.split == "keras"
    with pytest.raises(ValueError, match="split"):
        RecordConfig(split="last")
