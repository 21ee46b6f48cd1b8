"""Checkpoints: clear one-line errors for bad files (missing, truncated, garbage, flipped bits, not rnnkit's,
edited metadata), bad save arguments, the task loaders' wrong-kind and wrong-shape errors, and load_meta's."""
from __future__ import annotations

import json

import numpy as np
import pytest
from checkpoint_bits import _same_bits
from safetensors.numpy import load_file, save_file

from rnnkit import checkpoint as ckpt
from rnnkit.errors import CheckpointError, RnnkitError


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


# ------------------------------------------------------------------ task checkpoints (model loaders)
def _lm_checkpoint(tmp_path, **task_changes):
    from rnnkit.data.vocab import Vocabulary
    from rnnkit.lm.io import lm_meta
    from rnnkit.lm.model import LanguageModel, LMConfig

    vocab = Vocabulary(["<unk>", "a", "b"], eos_token=None)
    model = LanguageModel(LMConfig(vocab_size=len(vocab), hidden_size=4, embedding_dim=3, num_layers=1),
                          np.random.default_rng(0))
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
