"""`rnnkit export` and standard output: `-o -` names the way that works, an ONNX export's vocabulary is never
written into /dev beside `-o /dev/stdout`, and code that standard output would lose in a replaced file is said so."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clirun import refused, run_cli


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny word-level language model's run folder."""
    from rnnkit.cli.main import main

    d = tmp_path_factory.mktemp("stdout")
    rng = np.random.default_rng(0)
    (d / "t.txt").write_text("".join(" ".join(rng.choice(list("abcdef"), 5)) + "\n" for _ in range(40)),
                             encoding="utf-8")
    assert main(["train", "lm", "--train", str(d / "t.txt"), "--level", "word", "--epochs", "1", "--hidden", "8",
                 "--embed", "8", "--batch-size", "2", "--bptt", "5", "--run-dir", str(d / "r"), "--progress",
                 "none"]) == 0
    return d / "r"


def _export(run, stdout_path: Path, *argv: str) -> subprocess.CompletedProcess:
    with open(stdout_path, "wb") as out:
        return subprocess.run([sys.executable, "-m", "rnnkit.cli.main", "export", str(run), *argv], stdout=out,
                              stderr=subprocess.PIPE, text=True, timeout=120)


def test_dash_is_refused_with_the_way_that_works(run, capsys):
    refused(run_cli(capsys, ["export", str(run), "-o", "-"]), "-o -: a model cannot go to standard output",
            "(or -o /dev/stdout with standard output redirected to a file: > model.safetensors)")
    pytest.importorskip("onnx")  # an ONNX graph's vocabulary goes beside it: /dev/stdout would be refused
    line = refused(run_cli(capsys, ["export", str(run), "-o", "-", "--onnx"]), "e.g. model.onnx (its vocabulary")
    assert "/dev/stdout" not in line, line


@pytest.mark.skipif(not Path("/dev/stdout").is_symlink(), reason="needs /dev/stdout as a link to the open file")
def test_onnx_to_dev_stdout_writes_nothing_into_dev(run, tmp_path):
    pytest.importorskip("onnx")
    done = _export(run, tmp_path / "g.onnx", "-o", "/dev/stdout", "--onnx")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "its vocabulary file is written beside it, as /dev/stdout.vocab.json, and /dev holds devices" in done.stderr
    assert not Path("/dev/stdout.vocab.json").exists()


@pytest.mark.skipif(not Path("/proc/self/fd/1").exists(), reason="needs /proc to name standard output's file")
def test_standard_output_that_the_export_replaces_is_said(run, tmp_path):
    """`export -o f.onnx --onnx > f.vocab.json`: the vocabulary replaces the file the code went to, so the code is
    lost; one warning says so, and the vocabulary file holds the vocabulary."""
    pytest.importorskip("onnx")
    vocab = tmp_path / "f.vocab.json"
    done = _export(run, vocab, "-o", str(tmp_path / "f.onnx"), "--onnx")
    assert done.returncode == 0, done.stderr
    assert f"standard output went to a file this export replaced ({vocab}), so the onnxruntime code that runs it " \
           "is not printed" in done.stderr, done.stderr
    assert vocab.read_text(encoding="utf-8").lstrip().startswith(("{", "["))
    code = tmp_path / "code.py"  # and an ordinary redirection still gets the code, without the warning
    done = _export(run, code, "-o", str(tmp_path / "h.onnx"), "--onnx")
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    assert "onnxruntime" in code.read_text(encoding="utf-8")
