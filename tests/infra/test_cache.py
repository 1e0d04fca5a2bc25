"""landscape.infra.cache: stable content keys, one atomic-write helper (unique temp files: concurrent writers never lose
or mix a write), verified loads.
"""

import hashlib
import json
import threading

import numpy as np
import pandas as pd
import pytest

from landscape.infra import cache
from landscape.infra.results import save_table


def test_content_key_is_the_sha256_of_the_canonical_json():
    config = {"b": [1, 2], "a": None}
    expected = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:20]
    assert cache.content_key(config) == expected == cache.content_key({"a": None, "b": (1, 2)})
    assert cache.content_key(config) != cache.content_key({"b": [2, 1], "a": None})


def test_record_keys_are_unchanged():
    """The key of the book's iris trajectory before landscape.infra.cache existed (and before RecordConfig.task)."""
    from landscape.nets.recording import RecordConfig

    assert RecordConfig().key() == "765f61a863294c735998"
    assert RecordConfig(task="classification").key() != RecordConfig().key()


def test_atomic_write_replaces_whole_files_and_cleans_up_on_error(tmp_path):
    path = tmp_path / "sub" / "x.txt"
    with cache.atomic_write(path, "w") as f:
        f.write("old")
    with pytest.raises(RuntimeError), cache.atomic_write(path, "w") as f:
        f.write("half a new file")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert [p.name for p in path.parent.iterdir()] == ["x.txt"]  # no temp file left


def test_two_concurrent_writers_never_lose_or_mix_a_table(tmp_path, monkeypatch):
    """300 writes of two different tables to one name: every read sees one complete table, no write fails."""
    monkeypatch.setenv("LANDSCAPE_ROOT", str(tmp_path))
    frames = [pd.DataFrame({"writer": [w] * 200, "i": np.arange(200)}) for w in (0, 1)]
    errors = []

    def write(w):
        try:
            for _ in range(150):
                save_table(frames[w], "01_x", "quick", "t")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    path = tmp_path / "data" / "results" / "quick" / "01_x" / "t.csv"
    reads = 0
    while any(t.is_alive() for t in threads):
        if path.exists():
            df = pd.read_csv(path)
            assert len(df) == 200 and df.writer.nunique() == 1, "a table mixing both writers"
            reads += 1
    for t in threads:
        t.join()
    assert errors == [] and reads > 0
    assert sorted(p.name for p in path.parent.iterdir()) == ["t.csv"]


def test_verified_load(tmp_path):
    path = tmp_path / "c.json"
    read = lambda p: json.loads(p.read_text())  # noqa: E731
    config_of = lambda d: d["config"]  # noqa: E731
    assert cache.verified_load(path, {"a": 1}, read, config_of=config_of) is None  # missing
    path.write_text(json.dumps({"config": {"a": [1, 2]}, "value": 7}))
    assert cache.verified_load(path, {"a": (1, 2)}, read, config_of=config_of)["value"] == 7
    assert cache.verified_load(path, {"a": 3}, read, config_of=config_of) is None  # recompute
    with pytest.raises(cache.StaleCacheError, match="c.json: the cached configuration differs"):
        cache.verified_load(path, {"a": 3}, read, config_of=config_of, recompute=False)


def test_file_sha256(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert cache.file_sha256(p) == hashlib.sha256(b"abc").hexdigest()
