"""Checkpoints: bit-exact round trips, atomic writes (also under SIGKILL), clear errors for bad files,
nested-state flattening and exact resumption of random streams."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import load_file, save_file

from rnnkit import checkpoint as ckpt
from rnnkit.errors import CheckpointError, RnnkitError


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


def _same_bits(name: str, a: np.ndarray, b: np.ndarray) -> None:
    native_a = a.astype(a.dtype.newbyteorder("="))  # big-endian input comes back native
    assert native_a.dtype == b.dtype, f"{name}: dtype {a.dtype} came back as {b.dtype}"
    assert a.shape == b.shape, f"{name}: shape {a.shape} came back as {b.shape}"
    diff = np.nanmax(np.abs(native_a.astype(np.float64) - b)) if a.size else 0.0
    assert native_a.tobytes() == b.tobytes(), f"{name}: bytes differ, max difference {diff}"


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


# ---------------------------------------------------------------------------- bad files
def _good(tmp_path) -> bytes:
    rng = np.random.default_rng(6)
    path = tmp_path / "good.safetensors"
    ckpt.save_checkpoint(path, {"w": rng.standard_normal((3, 2)), "i": np.arange(4)}, {"kind": "model"})
    return path.read_bytes()


def _assert_checkpoint_error(path, match: str | None = None) -> str:
    with pytest.raises(CheckpointError) as info:
        ckpt.load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message, f"path missing from: {message}"
    assert "\n" not in message, f"not one line: {message!r}"
    if match is not None:
        assert match in message, f"expected {match!r} in: {message}"
    return message


def test_missing_file_and_directory(tmp_path):
    _assert_checkpoint_error(tmp_path / "nope.safetensors", "no such checkpoint")
    _assert_checkpoint_error(tmp_path, "directory")
    (tmp_path / "notes.txt").write_text("x")
    _assert_checkpoint_error(tmp_path / "notes.txt" / "best.safetensors", "notes.txt is a file, not a folder")


def test_every_truncation_is_a_checkpoint_error(tmp_path):
    data = _good(tmp_path)
    path = tmp_path / "cut.safetensors"
    for n in range(len(data)):
        path.write_bytes(data[:n])
        _assert_checkpoint_error(path)


def test_garbage_and_corrupt_header(tmp_path):
    data = _good(tmp_path)
    path = tmp_path / "bad.safetensors"
    rng = np.random.default_rng(7)
    path.write_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
    _assert_checkpoint_error(path)
    path.write_bytes(b"this is a text file\n" * 10)
    _assert_checkpoint_error(path)
    header_len = int.from_bytes(data[:8], "little")
    broken = bytearray(data)
    broken[8] = ord("[")  # the header JSON no longer parses as an object
    path.write_bytes(bytes(broken))
    _assert_checkpoint_error(path)
    broken = bytearray(data)
    broken[:8] = (header_len + 5).to_bytes(8, "little")  # header length points into the data
    path.write_bytes(bytes(broken))
    _assert_checkpoint_error(path)


def test_flipped_data_bit_fails_checksum(tmp_path):
    data = bytearray(_good(tmp_path))
    data[-3] ^= 0x10  # inside the last array's bytes; the header is untouched
    path = tmp_path / "flip.safetensors"
    path.write_bytes(bytes(data))
    _assert_checkpoint_error(path, "checksum")


def _raw(path, header: dict | None) -> None:
    save_file({"w": np.ones(3)}, str(path), metadata=header)


def _doc(**changes) -> dict:
    doc = {"format": ckpt.FORMAT, "meta": {}, "keys": ["w"], "sha256": ckpt._digest({"w": np.ones(3)})}
    doc.update(changes)
    return {"rnnkit": json.dumps(doc)}


def test_not_rnnkit_wrong_version_damaged_meta(tmp_path):
    path = tmp_path / "other.safetensors"
    _raw(path, None)
    _assert_checkpoint_error(path, "not an rnnkit checkpoint")
    _raw(path, {"format": "pt"})
    _assert_checkpoint_error(path, "not an rnnkit checkpoint")
    _raw(path, _doc(format="rnnkit-checkpoint/2"))
    _assert_checkpoint_error(path, "rnnkit-checkpoint/2")
    _raw(path, {"rnnkit": "{not json"})
    _assert_checkpoint_error(path, "damaged")
    _raw(path, {"rnnkit": "[1, 2]"})
    _assert_checkpoint_error(path, "damaged")
    _raw(path, _doc(meta="a string"))
    _assert_checkpoint_error(path, "damaged")
    _raw(path, _doc(keys=["w", "v"]))
    _assert_checkpoint_error(path, "damaged")
    _raw(path, _doc(sha256="0" * 64))
    _assert_checkpoint_error(path, "checksum")
    _raw(path, _doc(meta={"kind": "model"}))
    arrays, meta = ckpt.load_checkpoint(path)  # the control: the same header, intact, loads
    assert meta == {"kind": "model"} and list(arrays) == ["w"]


def test_edited_or_flipped_meta_fails_its_checksum(tmp_path):
    """A training run's cursor, step and epoch live in the meta: a flipped digit there resumed another
    run silently, as the array digest does not cover it."""
    path = tmp_path / "run.safetensors"
    meta = {"kind": "training-run", "loop": {"epoch": 2, "cursor": 17, "step": 40}, "history": [(1, 2.5)], 3: "x"}
    ckpt.save_checkpoint(path, {"w": np.ones(3)}, meta)
    assert ckpt.load_checkpoint(path)[1]["loop"]["cursor"] == 17  # the control: tuples and int keys round-trip
    arrays = load_file(str(path))
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        doc = json.loads(json.loads(f.read(size))["__metadata__"]["rnnkit"])
    for edit in ({"cursor": 71}, {"step": 41}, {"epoch": 3}):
        doc["meta"]["loop"] = {**meta["loop"], **edit}
        save_file(arrays, str(path), metadata={"rnnkit": json.dumps(doc)})
        _assert_checkpoint_error(path, "metadata does not match its checksum")
        with pytest.raises(CheckpointError, match="metadata does not match its checksum"):
            ckpt.load_meta(path)


def test_reads_files_without_keys_and_digest(tmp_path):
    """Files of the same format written before the key list and the digest were added."""
    path = tmp_path / "early.safetensors"
    _raw(path, {"rnnkit": json.dumps({"format": ckpt.FORMAT, "meta": {"step": 3}})})
    arrays, meta = ckpt.load_checkpoint(path)
    assert meta == {"step": 3}
    _same_bits("w", np.ones(3), arrays["w"])


def test_checkpoint_error_is_rnnkit_error():
    assert issubclass(CheckpointError, RnnkitError)


def test_bad_save_arguments(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="arrays\\['w'\\]"):
        ckpt.save_checkpoint(path, {"w": [1.0, 2.0]}, {})
    with pytest.raises(TypeError, match="arrays\\['o'\\]"):
        ckpt.save_checkpoint(path, {"o": np.array([object()])}, {})
    with pytest.raises(TypeError, match="JSON"):
        ckpt.save_checkpoint(path, {"w": np.ones(2)}, {"x": np.ones(2)})
    with pytest.raises(ValueError, match="__metadata__"):
        ckpt.save_checkpoint(path, {"__metadata__": np.ones(2)}, {})
    assert not path.exists()
    blocker = tmp_path / "a_file"
    blocker.write_bytes(b"")
    with pytest.raises(CheckpointError, match="a_file"):
        ckpt.save_checkpoint(blocker / "x.safetensors", {"w": np.ones(2)}, {})


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


# ------------------------------------------------------------------ task checkpoints (model loaders)
def _lm_checkpoint(tmp_path, **task_changes):
    from rnnkit.data.vocab import Vocabulary
    from rnnkit.lm.io import lm_meta
    from rnnkit.lm.model import LanguageModel, LMConfig

    vocab = Vocabulary(["<unk>", "a", "b"], eos_token=None)
    model = LanguageModel(LMConfig(vocab_size=len(vocab), hidden_size=4, embedding_dim=3, num_layers=1), np.random.default_rng(0))
    task = {**lm_meta(model, vocab, "char"), **task_changes}
    arrays = {f"model/{k}": v for k, v in model.params.items()}
    return ckpt.save_checkpoint(tmp_path / "lm.safetensors", arrays, {"task": task}), model


def test_task_loaders_name_the_wrong_kind_and_the_command(tmp_path):
    from rnnkit.classify.task import load_classifier
    from rnnkit.lm.io import load_lm

    path, model = _lm_checkpoint(tmp_path)
    loaded, vocab, level, _ = load_lm(path)
    assert level == "char" and len(vocab) == model.config.vocab_size
    for k, v in model.params.items():
        assert np.array_equal(loaded.params[k], v)
    with pytest.raises(CheckpointError, match=r"not a classifier checkpoint; it is a language model: use it with "
                                              r"rnnkit generate, evaluate or score, or pass a checkpoint written by "
                                              r"'rnnkit train classifier'$"):
        load_classifier(path)
    from rnnkit.tagging.loaded import LoadedTagger

    with pytest.raises(CheckpointError, match=r"not a tagger or HMM checkpoint; it is a language model: use it with"):
        LoadedTagger(path)


def test_task_loaders_report_damaged_metadata_and_wrong_shapes(tmp_path):
    from rnnkit.lm.io import load_lm

    path, _ = _lm_checkpoint(tmp_path, lm_config={"vocab_size": 3, "hidden": "x"})
    with pytest.raises(CheckpointError, match="damaged language-model metadata"):
        load_lm(path)
    path, model = _lm_checkpoint(tmp_path)
    arrays, meta = ckpt.load_checkpoint(path)
    arrays["model/embedding.weight"] = np.zeros((9, 3), np.float32)
    ckpt.save_checkpoint(path, arrays, meta)
    with pytest.raises(CheckpointError, match=r"embedding.weight of shape \(3, 3\), got \(9, 3\)"):
        load_lm(path)


def test_load_meta_reads_the_header_alone_with_the_same_errors(tmp_path):
    path = tmp_path / "m.safetensors"
    ckpt.save_checkpoint(path, {"w": np.arange(6.0)}, {"task": {"model": "lm"}, "step": 3})
    assert ckpt.load_meta(path) == ckpt.load_checkpoint(path)[1] == {"task": {"model": "lm"}, "step": 3}
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10  # damaged array data: load_meta does not read the arrays, load_checkpoint does
    path.write_bytes(bytes(data))
    assert ckpt.load_meta(path)["step"] == 3
    _assert_checkpoint_error(path, "checksum")
    for header, needle in ((None, "not an rnnkit checkpoint"), (_doc(format="rnnkit-checkpoint/2"), "checkpoint/2"),
                           ({"rnnkit": "{not json"}, "damaged")):
        _raw(path, header)
        with pytest.raises(CheckpointError, match=needle):
            ckpt.load_meta(path)
    for bad, needle in ((tmp_path / "nope.safetensors", "no such checkpoint"), (tmp_path, "directory")):
        with pytest.raises(CheckpointError, match=needle):
            ckpt.load_meta(bad)
    path.write_bytes(b"this is a text file\n" * 10)
    with pytest.raises(CheckpointError, match="is a text file, not a checkpoint"):
        ckpt.load_meta(path)
    path.write_bytes(b"\x07\x00\x00\x00\x00\x00\x00\x00{\"a\":" + b"\x00" * 30)  # a damaged header
    with pytest.raises(CheckpointError, match="unreadable"):
        ckpt.load_meta(path)


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
