"""Checkpoints: bit-exact round trips, atomic writes (also under SIGKILL), nested-state flattening and
exact resumption of random streams.  Clear errors for bad files: test_checkpoint_errors.py."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from checkpoint_bits import _same_bits
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import load_file

from rnnkit import checkpoint as ckpt
from rnnkit.errors import CheckpointError


def _arrays(rng: np.random.Generator) -> dict[str, np.ndarray]:
    f64 = rng.standard_normal((3, 4))
    f64[0, 0] = np.nan  # NaN and -0.0 must survive bit for bit
    f64[0, 1] = -0.0
    return {
        "model/encoder.weight_ih_l0": rng.standard_normal((8, 5)).astype(np.float32),
        "model/bias": f64,
        "optim/step_counts": rng.integers(-(2**62), 2**62, size=(7,), dtype=np.int64),
        "flags": rng.random(6) < 0.5,
        "scalar": np.array(2.5, np.float64),
        "empty": np.zeros((0, 3), np.float32),
        "strided": rng.standard_normal((6, 6))[::2, 1::2],  # not contiguous
        "bigendian": rng.standard_normal(4).astype(">f8"),
    }


def _meta(rng: np.random.Generator) -> dict:
    return {
        "kind": "training-run",
        "step": 1234,
        "config": {"cell": "lstm", "hidden_size": 32, "dropout": 0.25, "tbptt": None},
        "optimizer": {"lr": 1e-3, "betas": [0.9, 0.999]},
        "rng": ckpt.rng_state(rng),
        "history": [1.5, float("inf"), 0.1 + 0.2],
        "text": "naïve — ünïcode",
    }


def test_round_trip_is_bit_exact(tmp_path):
    rng = np.random.default_rng(11)
    arrays, meta = _arrays(rng), _meta(rng)
    path = ckpt.save_checkpoint(tmp_path / "run.safetensors", arrays, meta)
    loaded, meta2 = ckpt.load_checkpoint(path)
    assert list(loaded) == list(arrays), "key order changed"
    for k in arrays:
        _same_bits(k, arrays[k], loaded[k])
        assert loaded[k].flags.writeable, f"{k} came back read-only"
    assert json.dumps(meta2) == json.dumps(meta)
    assert meta2["rng"]["state"]["state"] == meta["rng"]["state"]["state"]  # a 128-bit integer


def test_file_is_plain_safetensors(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {"a": rng.standard_normal((2, 3)), "b": rng.integers(0, 9, (4,))}
    ckpt.save_checkpoint(tmp_path / "x.safetensors", arrays, {"kind": "model"})
    other = load_file(str(tmp_path / "x.safetensors"))
    for k in arrays:
        _same_bits(k, arrays[k], other[k])


def test_overwrite_replaces_content_and_leaves_no_temp_files(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "last.safetensors"
    ckpt.save_checkpoint(path, {"w": rng.standard_normal(5)}, {"step": 1})
    new = {"w": rng.standard_normal(7), "v": rng.standard_normal(2)}
    ckpt.save_checkpoint(path, new, {"step": 2})
    loaded, meta = ckpt.load_checkpoint(path)
    assert meta == {"step": 2}
    for k in new:
        _same_bits(k, new[k], loaded[k])
    assert sorted(os.listdir(tmp_path)) == ["last.safetensors"]


def _failing_write(exc: BaseException):
    def write(f, data):
        f.write(data[: len(data) // 2])  # the temporary file is half written when it fails
        raise exc
    return write


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["enospc", "interrupt"])
def test_failed_write_keeps_old_file(tmp_path, monkeypatch, exc):
    rng = np.random.default_rng(3)
    path = tmp_path / "last.safetensors"
    old = {"w": rng.standard_normal((20, 20))}
    ckpt.save_checkpoint(path, old, {"step": 1})
    before = path.read_bytes()
    monkeypatch.setattr(ckpt, "_write_all", _failing_write(exc))
    expected = CheckpointError if isinstance(exc, OSError) else KeyboardInterrupt
    with pytest.raises(expected):
        ckpt.save_checkpoint(path, {"w": rng.standard_normal((30, 30))}, {"step": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before, "the old checkpoint was modified"
    assert sorted(os.listdir(tmp_path)) == ["last.safetensors"], "a temporary file was left behind"
    loaded, meta = ckpt.load_checkpoint(path)
    assert meta == {"step": 1}
    _same_bits("w", old["w"], loaded["w"])


def test_failed_fsync_or_rename_keeps_old_file(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    path = tmp_path / "last.safetensors"
    ckpt.save_checkpoint(path, {"w": rng.standard_normal(9)}, {"step": 1})
    before = path.read_bytes()
    for name in ("fsync", "replace"):
        def boom(*args, **kwargs):
            raise OSError(5, "Input/output error")
        monkeypatch.setattr(ckpt.os, name, boom)
        with pytest.raises(CheckpointError, match="last.safetensors"):
            ckpt.save_checkpoint(path, {"w": rng.standard_normal(9)}, {"step": 2})
        monkeypatch.undo()
        assert path.read_bytes() == before, f"old checkpoint modified when {name} failed"
        assert sorted(os.listdir(tmp_path)) == ["last.safetensors"], f"temporary file left when {name} failed"


_WRITER = """
import sys, numpy as np
from rnnkit import checkpoint as ckpt
path, n = sys.argv[1], int(sys.argv[2])
i = 0
while True:
    ckpt.save_checkpoint(path, {"w": np.full(n, float(i % 2))}, {"version": i % 2})
    i += 1
    if i == 2:
        print("ready", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkill_during_writes_leaves_a_complete_file(tmp_path):
    """Kill a process that rewrites a 4 MB checkpoint in a loop: the file is always old or new."""
    path = tmp_path / "last.safetensors"
    n = 500_000
    rng = np.random.default_rng(5)
    for trial in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(n)], stdout=subprocess.PIPE)
        try:
            assert proc.stdout.readline().strip() == b"ready"
            time.sleep(float(rng.uniform(0.0, 0.2)))
        finally:
            proc.kill()
            proc.wait()
        arrays, meta = ckpt.load_checkpoint(path)
        assert meta["version"] in (0, 1)
        expected = np.full(n, float(meta["version"]))
        diff = float(np.max(np.abs(arrays["w"] - expected)))
        assert diff == 0.0, f"trial {trial}: w differs from version {meta['version']} by {diff}"


def test_creates_missing_directories(tmp_path):
    path = tmp_path / "runs" / "a" / "last.safetensors"
    w = np.random.default_rng(9).standard_normal(3)
    ckpt.save_checkpoint(path, {"w": w}, {"step": 1})
    _same_bits("w", w, ckpt.load_checkpoint(path)[0]["w"])


def test_save_returns_the_file_written_where_a_link_leads(tmp_path):
    """A symbolic link is followed before the write (as /dev/stdout -> /proc/self/fd/1 -> a file): the file returned
    is the one written, which the link named, so its size can be read after the write (rnnkit export's report)."""
    target, link = tmp_path / "real.safetensors", tmp_path / "link.safetensors"
    target.write_bytes(b"old")
    link.symlink_to(target)
    written = ckpt.save_checkpoint(link, {"w": np.ones(3, np.float32)}, {"step": 1})
    assert written == target and written.stat().st_size > 3 and link.is_symlink()
    assert ckpt.save_checkpoint(tmp_path / "plain.safetensors", {"w": np.ones(1)}, {}) == tmp_path / "plain.safetensors"


# ---------------------------------------------------------------------------- nested state
def test_flatten_unflatten_round_trip(tmp_path):
    rng = np.random.default_rng(8)
    nested = {
        "model": {"encoder.weight_ih_l0": rng.standard_normal((4, 3)), "decoder.bias": rng.standard_normal(4)},
        "optim": {"m": {"encoder.weight_ih_l0": rng.standard_normal((4, 3))}, "t": np.int64(7)},
    }
    flat = ckpt.flatten(nested)
    assert set(flat) == {"model/encoder.weight_ih_l0", "model/decoder.bias", "optim/m/encoder.weight_ih_l0", "optim/t"}
    ckpt.save_checkpoint(tmp_path / "n.safetensors", flat, {})
    back = ckpt.unflatten(ckpt.load_checkpoint(tmp_path / "n.safetensors")[0])
    assert back.keys() == nested.keys() and back["optim"].keys() == nested["optim"].keys()
    for name, a in flat.items():
        b = back
        for part in name.split("/"):
            b = b[part]
        _same_bits(name, a, b)


def test_flatten_errors():
    with pytest.raises(ValueError, match="a/b"):
        ckpt.flatten({"a/b": np.ones(1)})
    with pytest.raises(TypeError, match="'m/lr'"):
        ckpt.flatten({"m": {"lr": 0.1}})
    with pytest.raises(ValueError):
        ckpt.unflatten({"a": np.ones(1), "a/b": np.ones(1)})
    with pytest.raises(ValueError):
        ckpt.unflatten({"a/b": np.ones(1), "a": np.ones(1)})


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text(st.characters(blacklist_characters="/"), min_size=1, max_size=5),
                       st.dictionaries(st.text(st.characters(blacklist_characters="/"), min_size=1, max_size=5),
                                       st.integers(0, 4), min_size=1, max_size=4),
                       min_size=1, max_size=4))
def test_flatten_property(tree):
    nested = {k: {kk: np.arange(n) for kk, n in v.items()} for k, v in tree.items()}
    back = ckpt.unflatten(ckpt.flatten(nested))
    assert back.keys() == nested.keys()
    for k in nested:
        assert back[k].keys() == nested[k].keys()
        for kk in nested[k]:
            np.testing.assert_array_equal(back[k][kk], nested[k][kk], err_msg=f"{k}/{kk}")


# ---------------------------------------------------------------------------- random streams
@pytest.mark.parametrize("bit_gen", ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"])
def test_rng_resumes_exact_stream(tmp_path, bit_gen):
    seed = np.random.SeedSequence(12345)
    gen = np.random.Generator(getattr(np.random, bit_gen)(seed))
    gen.standard_normal(17)
    gen.integers(0, 100, size=3, dtype=np.uint32)  # leaves a buffered half-word in some generators
    path = tmp_path / "rng.safetensors"
    ckpt.save_checkpoint(path, {}, {"rng": ckpt.rng_state(gen)})
    resumed = ckpt.restore_rng(ckpt.load_checkpoint(path)[1]["rng"])
    assert type(resumed.bit_generator).__name__ == bit_gen
    for draw in ("random", "standard_normal", "uint32"):
        if draw == "uint32":
            a = gen.integers(0, 2**32, size=100, dtype=np.uint32)
            b = resumed.integers(0, 2**32, size=100, dtype=np.uint32)
        else:
            a = getattr(gen, draw)(100)
            b = getattr(resumed, draw)(100)
        assert np.array_equal(a, b), f"{bit_gen} {draw}: streams differ after restore"
    # the control: a generator that was not advanced draws different numbers
    fresh = np.random.Generator(getattr(np.random, bit_gen)(np.random.SeedSequence(12345)))
    assert not np.array_equal(fresh.random(100), gen.random(100))


def test_restore_rng_rejects_bad_state():
    with pytest.raises(ValueError, match="bit_generator"):
        ckpt.restore_rng({"bit_generator": "os.system"})
    with pytest.raises(ValueError, match="PCG64"):
        ckpt.restore_rng({"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}, "has_uint32": 0, "uinteger": 0})
    with pytest.raises(TypeError, match="Generator"):
        ckpt.rng_state(np.random.RandomState(0))


def test_a_training_run_removes_the_temporary_files_a_killed_write_left(tmp_path):
    """SIGKILL in the middle of a checkpoint write leaves .last.safetensors.PID.XXXX.tmp behind; the
    next run in the folder removes those of processes that are gone, and keeps a running one's."""
    from rnnkit.train.config import TrainConfig
    from rnnkit.train.loop import Trainer
    from quadratic_task import Quadratic

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)  # a process that has ended (its pid is not reused within this test, in practice)
    alive = os.getppid()
    tmp_path.mkdir(exist_ok=True)
    from rnnkit.atomic import HOST_TAG

    other_host = format((int(HOST_TAG, 16) + 1) % 0x10000, "04x")
    left = [tmp_path / f".last.safetensors.{dead}.{HOST_TAG}3d4e5f00.tmp",
            tmp_path / f".best.safetensors.{dead}.{HOST_TAG}ffff0000.tmp",
            tmp_path / f".metrics.jsonl.{dead}.{HOST_TAG}0000abcd.tmp"]  # a resume's cut-back of the log, killed
    kept = [tmp_path / f".last.safetensors.{alive}.{HOST_TAG}56789abc.tmp", tmp_path / "notes.tmp",
            tmp_path / f".other.safetensors.{dead}.{HOST_TAG}aaaaaaaa.tmp",
            tmp_path / f".last.safetensors.{dead}.{other_host}aaaaaaaa.tmp"]  # another machine's (NFS): its pid
    for p in left + kept:
        p.write_bytes(b"partial")
    assert sorted(ckpt.remove_stale_temporaries(tmp_path / "best.safetensors")) == [left[1]]
    cfg = TrainConfig(epochs=1, optimizer="sgd", lr=0.05, progress="none")
    Trainer(Quadratic(), cfg, tmp_path).fit()
    assert not any(p.exists() for p in left) and all(p.exists() for p in kept)
