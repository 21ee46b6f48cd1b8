"""The rnnkit version a saved file records: a checkpoint's header (beside "format", outside the meta and its
digest), an ``export --torch`` file's metadata, an ONNX graph's producer_version; ``rnnkit info`` shows it.
Files written before the version was recorded (the same layout without the field) still load and verify."""
from __future__ import annotations

import json

import numpy as np
import pytest
from clirun import run_cli
from safetensors import safe_open
from safetensors.numpy import save_file

import rnnkit
from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_info import checkpoint_info
from rnnkit.cli.main import main

ARRAYS = {"model/w": np.arange(6, dtype=np.float32).reshape(2, 3), "model/b": np.ones(3, np.float32)}
META = {"kind": "model", "step": 7}


def _header(path):
    with safe_open(str(path), framework="np") as f:
        return json.loads(f.metadata()["rnnkit"])


def _rewrite(source, target, edit):
    """Write ``source``'s arrays to ``target`` under its rnnkit header changed by ``edit`` (the digests kept)."""
    arrays, _ = ckpt.load_checkpoint(source)
    doc = _header(source)
    edit(doc)
    save_file(arrays, str(target), metadata={"rnnkit": json.dumps(doc)})
    return target


def _version_row(capsys, path):
    code, out, err = run_cli(capsys, ["info", str(path)])
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("version ")]
    assert len(rows) == 1, out
    return rows[0].split(None, 1)[1]


def test_a_new_checkpoint_records_the_version_outside_its_meta(tmp_path, capsys):
    path = ckpt.save_checkpoint(tmp_path / "m.safetensors", ARRAYS, META)
    doc = _header(path)
    assert doc["rnnkit_version"] == rnnkit.__version__
    assert doc["format"] == ckpt.FORMAT and doc["meta"] == META  # the meta is the caller's, nothing added
    assert ckpt.load_document(path)["rnnkit_version"] == rnnkit.__version__
    arrays, meta = ckpt.load_checkpoint(path)
    assert meta == META and set(arrays) == set(ARRAYS)
    info = checkpoint_info(path)
    assert info["rnnkit_version"] == rnnkit.__version__ and info["digests"] == "ok"
    assert _version_row(capsys, path) == f"rnnkit {rnnkit.__version__}"
    code, out, _ = run_cli(capsys, ["info", str(path), "--json"])
    assert code == 0 and json.loads(out)["rnnkit_version"] == rnnkit.__version__


def test_a_file_written_before_the_version_was_recorded_loads_verified(tmp_path, capsys):
    new = ckpt.save_checkpoint(tmp_path / "new.safetensors", ARRAYS, META)
    old = _rewrite(new, tmp_path / "old.safetensors", lambda doc: doc.pop("rnnkit_version"))
    assert "rnnkit_version" not in _header(old) and "sha256" in _header(old) and "meta_sha256" in _header(old)
    arrays, meta = ckpt.load_checkpoint(old)
    assert meta == META and all(np.array_equal(arrays[k], v) for k, v in ARRAYS.items())
    info = checkpoint_info(old)
    assert info["rnnkit_version"] is None and info["digests"] == "ok"
    assert _version_row(capsys, old).startswith("not stored")
    code, out, _ = run_cli(capsys, ["info", str(old), "--json"])
    assert code == 0 and json.loads(out)["rnnkit_version"] is None


def test_another_version_and_an_unknown_header_field_leave_the_digests_valid(tmp_path, capsys):
    new = ckpt.save_checkpoint(tmp_path / "new.safetensors", ARRAYS, META)
    later = _rewrite(new, tmp_path / "later.safetensors",
                     lambda doc: doc.update(rnnkit_version="9.1.0", written_on="a field of a later rnnkit"))
    assert ckpt.load_checkpoint(later)[1] == META
    assert checkpoint_info(later)["digests"] == "ok"
    assert _version_row(capsys, later) == "rnnkit 9.1.0"
    damaged = _rewrite(new, tmp_path / "damaged.safetensors", lambda doc: doc.update(rnnkit_version=[1, 2]))
    assert checkpoint_info(damaged)["rnnkit_version"] is None  # not a version: said as not stored, no traceback
    assert _version_row(capsys, damaged).startswith("not stored")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny classifier's run, exported as an rnnkit model and as a torch state dict."""
    d = tmp_path_factory.mktemp("version")
    rng = np.random.default_rng(0)
    words = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat"]
    lines = [" ".join(rng.choice(words, 5)) for _ in range(24)]
    (d / "cls.tsv").write_text("".join(f"{'pos' if 'cat' in x else 'neg'}\t{x}\n" for x in lines), encoding="utf-8")
    small = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--epochs", "1", "--progress", "none"]
    commands = [["train", "classifier", "--train", str(d / "cls.tsv"), *small, "--run-dir", str(d / "cls")],
                ["export", str(d / "cls"), "-o", str(d / "model.safetensors")],
                ["export", str(d / "cls"), "-o", str(d / "pt.safetensors"), "--torch"]]
    for argv in commands:
        assert main(argv) == 0, argv
    return d


@pytest.mark.parametrize("name", ["cls/last.safetensors", "model.safetensors", "pt.safetensors"])
def test_trained_and_exported_files_record_the_version(exported, name, capsys):
    path = exported / name
    with safe_open(str(path), framework="np") as f:
        meta = f.metadata()
    stored = meta["rnnkit_version"] if name == "pt.safetensors" else json.loads(meta["rnnkit"])["rnnkit_version"]
    assert stored == rnnkit.__version__
    assert checkpoint_info(path)["rnnkit_version"] == rnnkit.__version__
    assert _version_row(capsys, path) == f"rnnkit {rnnkit.__version__}"


def test_an_onnx_export_records_the_version_as_its_producer_version(exported, capsys):
    onnx = pytest.importorskip("onnx")
    out = exported / "cls.onnx"
    assert main(["export", str(exported / "cls"), "-o", str(out), "--onnx"]) == 0
    graph = onnx.load(str(out))
    assert (graph.producer_name, graph.producer_version) == ("rnnkit", rnnkit.__version__)
    assert checkpoint_info(out)["rnnkit_version"] == rnnkit.__version__
    assert _version_row(capsys, out) == f"rnnkit {rnnkit.__version__}"
