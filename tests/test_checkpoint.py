"""Checkpoints: exact round trips, atomic writes, clear errors on damaged files, rng continuation."""
from __future__ import annotations

import os

import numpy as np
import pytest

from rnnkit import checkpoint as ckpt
from rnnkit.errors import CheckpointError


def _arrays():
    rng = np.random.default_rng(0)
    return {
        "model/w": rng.standard_normal((3, 4)).astype(np.float32),
        "model/b": rng.standard_normal(4),
        "carry/ids": np.arange(5, dtype=np.int64),
    }


def test_round_trip_is_exact(tmp_path):
    path = tmp_path / "a.safetensors"
    meta = {"step": 7, "lr": 0.1, "nested": {"vocab": ["<unk>", "中", "\n"]}, "none": None}
    ckpt.save_checkpoint(path, _arrays(), meta)
    arrays, got = ckpt.load_checkpoint(path)
    assert got == meta
    for k, v in _arrays().items():
        assert arrays[k].dtype == v.dtype and np.array_equal(arrays[k], v), k


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "a.safetensors"
    ckpt.save_checkpoint(path, _arrays(), {"step": 1})
    before = path.read_bytes()

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(path, {"x": np.zeros(1000)}, {"step": 2})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors"]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "header"])
def test_damaged_files_raise_checkpoint_error(tmp_path, damage):
    path = tmp_path / "a.safetensors"
    ckpt.save_checkpoint(path, _arrays(), {"step": 1})
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\x01not a checkpoint" * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(data[:9] + b"#" + data[10:])  # break the JSON header
    with pytest.raises(CheckpointError) as info:
        ckpt.load_checkpoint(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_foreign_and_future_files(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        ckpt.load_checkpoint(tmp_path / "nope.safetensors")
    from safetensors.numpy import save_file

    save_file({"x": np.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="not an rnnkit checkpoint"):
        ckpt.load_checkpoint(tmp_path / "foreign.safetensors")
    save_file({"x": np.zeros(2)}, str(tmp_path / "future.safetensors"),
              metadata={"rnnkit": '{"format": "rnnkit-checkpoint/99", "meta": {}}'})
    with pytest.raises(CheckpointError, match="upgrade rnnkit"):
        ckpt.load_checkpoint(tmp_path / "future.safetensors")


def test_rng_state_round_trip_continues_the_stream(tmp_path):
    rng = np.random.default_rng(123)
    rng.random(17)
    state = ckpt.rng_state(rng)
    ckpt.save_checkpoint(tmp_path / "r.safetensors", {}, {"rng": state})
    _, meta = ckpt.load_checkpoint(tmp_path / "r.safetensors")
    again = ckpt.restore_rng(meta["rng"])
    assert np.array_equal(rng.random(50), again.random(50))


def test_no_pickle_in_the_format(tmp_path):
    path = tmp_path / "a.safetensors"
    ckpt.save_checkpoint(path, {"o": np.array([1, 2])}, {})
    with pytest.raises(TypeError, match="numpy arrays"):
        ckpt.save_checkpoint(path, {"o": [1, 2]}, {})
    assert b"pickle" not in path.read_bytes()
