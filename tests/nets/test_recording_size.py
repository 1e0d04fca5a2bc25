"""Recording size (issue 24 item 3): the memory and disk of a record are known exactly before training, a recording
above ``max_bytes`` is refused with the estimate and a ``record_every`` that fits, ``record_every=k`` keeps exactly
every k-th row of the full record (and the last) without changing the cache keys of k = 1, ``batch_size`` follows
the data, and long recordings report named stages.
"""

import dataclasses
import json
import logging

import numpy as np
import pandas as pd
import pytest

from landscape.nets import recording
from landscape.nets.recording import RecordConfig, Trajectory

SMALL = RecordConfig(dataset="iris", hidden=(5,), epochs=3, batch_size=20, seed=7)  # m = 4*5+5 + 5*3+3 = 43


def _array_bytes(t: Trajectory) -> int:
    return sum(v.nbytes for v in vars(t).values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize("k", [1, 4, 18, 25])
def test_record_every_keeps_exactly_every_kth_row_and_the_last(tmp_path, k):
    full = recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False)  # 3 epochs x 6 steps = 18 steps
    thin = recording.record_sgd(SMALL, record_every=k, cache_dir=tmp_path, progress=False)
    expected = sorted({*range(k, 19, k), 18})  # 1-based steps k, 2k, ... and the last step
    assert thin.step_numbers.tolist() == expected and thin.M == len(expected) and thin.n_steps == 18
    rows = np.array(expected) - 1
    for name in ("params", "batch_indices", "batch_sizes", "batch_loss"):
        np.testing.assert_array_equal(getattr(thin, name), getattr(full, name)[rows])  # the same training
    np.testing.assert_array_equal(thin.initial, full.initial)
    np.testing.assert_array_equal(thin.epoch_train_loss, full.epoch_train_loss)
    assert (thin.config.key() == full.config.key()) == (k == 1)
    row = thin.summary()
    assert row["M (SGD steps)"] == 18 and row["steps per epoch"] == 6
    assert row.get("recorded steps", thin.M) == thin.M and ("recorded steps" in row) == (k > 1)
    assert recording.record_sgd(thin.config, cache_dir=tmp_path, progress=False).M == thin.M  # cached


def test_record_every_one_keeps_the_cache_keys_and_reads_old_records(tmp_path):
    assert RecordConfig().key() == "765f61a863294c735998"  # the key every chapter's cache used before the field
    assert RecordConfig(record_every=1).key() == RecordConfig().key()
    t = recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False)
    path = recording.cache_path(SMALL, tmp_path)
    assert "steps" not in np.load(path).files  # the file of k = 1 holds what it held before
    meta, arrays = recording._safe_load(path)  # a record written before record_every existed
    config = json.loads(meta["config"])
    del config["record_every"]
    meta["config"] = json.dumps(config)
    recording._atomic_savez(path, meta, arrays)
    old = recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False, max_bytes=1)  # loaded, not recorded
    assert old.config == SMALL and np.array_equal(old.params, t.params)
    with pytest.raises(ValueError, match="record_every"):
        RecordConfig(record_every=0)


def test_resume_with_record_every_is_identical(tmp_path, monkeypatch):
    cfg = dataclasses.replace(SMALL, epochs=6, record_every=4)  # checkpoints after 12, 24 steps: not multiples
    full = recording.record_sgd(cfg, cache_dir=tmp_path / "full", progress=False)
    real, calls = recording._atomic_savez, {"n": 0}

    def save_then_die(path, meta, arrays):
        real(path, meta, arrays)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt  # right after the first checkpoint (epoch 2, step 12)

    monkeypatch.setattr(recording, "_atomic_savez", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        recording.record_sgd(cfg, cache_dir=tmp_path / "res", progress=False, checkpoint_every=2)
    monkeypatch.setattr(recording, "_atomic_savez", real)
    resumed = recording.record_sgd(cfg, cache_dir=tmp_path / "res", progress=False, checkpoint_every=2)
    for name in ("params", "steps", "batch_indices", "batch_loss", "epoch_val_loss"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(full, name))


@pytest.mark.parametrize("k", [1, 5])
def test_record_size_is_exact(tmp_path, k):
    cfg = dataclasses.replace(SMALL, epochs=7, batch_size=32, record_every=k)  # 4 steps per epoch, last of 24
    t = recording.record_sgd(cfg, cache_dir=tmp_path, progress=False)
    size = recording.record_size(cfg, 120, t.m)
    assert size["steps"] == 28 and size["rows"] == t.M == -(-28 // k)
    assert size["memory"] == size["record"] == _array_bytes(t)  # every array of the record, to the byte
    file = recording.cache_path(cfg, tmp_path).stat().st_size
    assert 0 < file - size["record"] < 8192  # uncompressed: the arrays plus zip headers and the metadata
    assert size["checkpoint"] == 0 and size["disk"] == size["record"]  # 7 epochs: no checkpoint at 50
    with_ckpt = recording.record_size(cfg, 120, t.m, checkpoint_every=3)  # the last checkpoint: 6 epochs
    assert with_ckpt["checkpoint"] == (24 // k) * (t.m + 32 + 2 + (k > 1)) * 8 + t.m * 8 + 6 * 16


def test_the_issues_large_csv_is_estimated_before_training():
    """100,000 x 50 with a 24-14-1 network, batch 20: ~1.9 GiB under the quick profile's 40 epochs (fits the
    4 GiB default), ~19 GiB under the paper profile's 400 (refused, with the record_every that fits).
    """
    quick = recording.check_record_size(RecordConfig(epochs=40), 80_000, 50 * 24 + 24 + 24 * 14 + 14 + 14 + 1)
    assert round(quick["memory"] / 2**30, 2) == 1.92
    with pytest.raises(ValueError, match=r"^max_bytes: recording iris \(1600000 SGD steps, 1600000 recorded x "
                                         r"m = 1589 parameters x 8 bytes, plus minibatch indices\) needs about "
                                         r"19\.2 GiB of memory, above max_bytes = 4 GiB; .*record_every=5 fits"):
        recording.check_record_size(RecordConfig(epochs=400), 80_000, 1589)
    assert recording.check_record_size(RecordConfig(epochs=400, record_every=5), 80_000, 1589)["memory"] < 4 * 2**30
    assert recording.check_record_size(RecordConfig(epochs=400), 80_000, 1589, max_bytes=None)["rows"] == 1_600_000


def test_record_sgd_refuses_above_max_bytes_before_training_and_the_hint_fits(tmp_path):
    size = recording.record_size(SMALL, 120, 43)
    limit = size["memory"] // 2
    with pytest.raises(ValueError, match=r"^max_bytes: .*needs about .* of memory and .* of disk.*record_every=(\d+)"
                       ) as err:
        recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False, max_bytes=limit)
    assert not any(tmp_path.rglob("*.npz"))  # nothing recorded or written
    k = int(err.value.args[0].split("record_every=")[-1].split(" ")[0])
    t = recording.record_sgd(SMALL, record_every=k, cache_dir=tmp_path, progress=False, max_bytes=limit)
    assert _array_bytes(t) <= limit and k > 1
    with pytest.raises(ValueError, match="max_bytes"):
        recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False, max_bytes=0)


def test_a_full_disk_is_refused_before_training(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**6, 10**6 - 100, 100))
    with pytest.raises(ValueError, match=r"max_bytes: .* has 100 B free"):
        recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False)
    assert recording.record_sgd(SMALL, cache_dir=tmp_path, progress=False, use_cache=False).M == 18  # no disk


def test_batch_size_follows_the_data(tmp_path):
    with pytest.raises(ValueError, match=r"^batch_size: 121 is larger than N = 120, the training rows of iris "
                                         r"\(150 rows, 30 held out for validation\); use batch_size <= 120"):
        recording.record_sgd(SMALL, batch_size=121, cache_dir=tmp_path, progress=False)
    rng = np.random.default_rng(0)
    path = tmp_path / "big.csv"  # 1000 rows: batch sizes beyond iris's 120 are fine
    pd.DataFrame({"a": rng.normal(size=1000), "b": rng.normal(size=1000), "y": rng.normal(size=1000)}).to_csv(
        path, index=False)
    t = recording.record_sgd(dataset=str(path), target="y", hidden=(3,), epochs=1, batch_size=800,
                             cache_dir=tmp_path, progress=False)
    assert t.batch_sizes.tolist() == [800] and t.dataset().N == 800
    with pytest.raises(ValueError, match=r"batch_size: 801 is larger than N = 800, the training rows of big"):
        recording.record_sgd(dataset=str(path), target="y", hidden=(3,), epochs=1, batch_size=801,
                             cache_dir=tmp_path, progress=False)


def test_named_stage_lines(tmp_path, caplog, capsys):
    cfg = dataclasses.replace(SMALL, epochs=20)
    with caplog.at_level(logging.INFO, logger="landscape.stages"):
        recording.record_sgd(cfg, cache_dir=tmp_path, progress=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "landscape.stages"]
    key8 = cfg.key()[:8]
    assert lines[0] == "stage: loading data iris"
    assert lines[1].startswith(f"stage: training iris {key8}: 20 epochs, 120 SGD steps, m = 43, 120 recorded")
    epochs = [line.split("epoch ")[1].split(",")[0] for line in lines if ": epoch " in line]
    assert epochs == [f"{e}/20" for e in range(2, 21, 2)]  # about every tenth of the epochs, and the last
    assert lines[-1].startswith(f"stage: saving iris {key8}:")
    assert capsys.readouterr().err == ""  # progress=False: nothing printed
    recording.record_sgd(cfg, cache_dir=tmp_path, progress="stages")
    assert capsys.readouterr().err == f"stage: loaded iris {key8} from the cache (120 steps)\n"
    with pytest.raises(ValueError, match="progress"):
        recording.record_sgd(cfg, cache_dir=tmp_path, progress="bar")
