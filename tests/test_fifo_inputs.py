"""Input files given as pipes (bash's ``<(...)``, a named pipe): a pipe can be read once, and a second open of a
named pipe whose writer has gone waits for ever.  ``rnnkit info PIPE`` opened it three times (ONNX, safetensors and
ARPA looks) and hung; ``evaluate LM PIPE`` read the text, then looked at its head for CoNLL-U and hung; a classifier's
evaluation of a file without a tab looked for one again and hung.  Now a command reads its data from a pipe once,
or, for a model file (read in place, or twice), refuses at once with one line.  Each command runs in a process of
its own with a timeout, so that a hang fails the test."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli.main import main

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "red", "big"]
QUIET = ["--hidden", "4", "--embed", "4", "--batch-size", "4", "--epochs", "1", "--progress", "none"]


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Path:
    """A language model, an n-gram model (and its ARPA file) and a classifier, with their data."""
    d = tmp_path_factory.mktemp("fifo")
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, 6)) for _ in range(40)]
    (d / "lm.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "cls.tsv").write_text("".join(f"{'pos' if 'cat' in x else 'neg'}\t{x}\n" for x in lines), encoding="utf-8")
    for argv in (["train", "lm", "--train", f"{d}/lm.txt", "--bptt", "5", *QUIET, "--run-dir", f"{d}/lm"],
                 ["train", "ngram", "--train", f"{d}/lm.txt", "--order", "2", "--save", f"{d}/kn.safetensors",
                  "--arpa", f"{d}/kn.arpa"],
                 ["train", "classifier", "--train", f"{d}/cls.tsv", *QUIET, "--run-dir", f"{d}/cls"]):
        assert main(argv) == 0, argv
    return d


def _through_pipe(d: Path, tmp_path: Path, argv: list[str], source: str, name: str = "pipe"
                  ) -> subprocess.CompletedProcess:
    """``rnnkit argv`` with PIPE in it a named pipe fed ``d/source`` once, in a process of its own: a hang fails."""
    pipe = tmp_path / name
    os.mkfifo(pipe)
    data = (d / source).read_bytes()

    def feed() -> None:
        try:
            pipe.write_bytes(data)
        except BrokenPipeError:  # a reader that stopped early (a refusal after a look at the head)
            pass

    threading.Thread(target=feed, daemon=True).start()
    args = [str(pipe) if a == "PIPE" else a for a in argv]
    try:
        return subprocess.run([sys.executable, "-m", "rnnkit", *args], capture_output=True, text=True, timeout=60,
                              cwd=d)
    finally:  # a command that refused without opening it: the writer still waits for a reader
        try:
            os.close(os.open(pipe, os.O_RDONLY | os.O_NONBLOCK))
        except OSError:
            pass


def _refused(done: subprocess.CompletedProcess, *said: str) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert all(s in lines[0] for s in said), lines[0]
    return lines[0]


@pytest.mark.parametrize("source", ["lm/last.safetensors", "kn.arpa"])
def test_info_refuses_a_pipe_at_once(d, tmp_path, source):
    _refused(_through_pipe(d, tmp_path, ["info", "PIPE"], source), "not a regular file (a device or a pipe)",
             "give the file itself", ".safetensors", "ARPA")


@pytest.mark.parametrize("model", ["lm/last.safetensors", "kn.safetensors"])
def test_evaluate_reads_a_language_models_text_from_a_pipe_once(d, tmp_path, capsys, model):
    assert main(["evaluate", str(d / model), str(d / "lm.txt"), "--json"]) == 0
    from_file = capsys.readouterr().out
    done = _through_pipe(d, tmp_path, ["evaluate", model, "PIPE", "--json"], "lm.txt")
    assert done.returncode == 0 and done.stdout == from_file, done.stderr


def test_a_classifiers_data_without_a_tab_through_a_pipe_is_refused_at_once(d, tmp_path):
    """The tab was looked for again, in the whole file, to say how to give sentences alone."""
    _refused(_through_pipe(d, tmp_path, ["evaluate", "cls/last.safetensors", "PIPE"], "lm.txt"),
             "expected label<TAB>text", "without a tab")


@pytest.mark.parametrize("argv", [["evaluate", "PIPE", "lm.txt"], ["score", "PIPE", "lm.txt"],
                                  ["generate", "PIPE", "--length", "3"]])
def test_a_model_through_a_pipe_is_refused_at_once(d, tmp_path, argv):
    _refused(_through_pipe(d, tmp_path, argv, "lm/last.safetensors"), "not a regular file (a device or a pipe), "
             "so not a checkpoint", "give the file itself")
    # an ARPA file's name: its level was looked for in its head, then it was read (from the rest of the stream)
    _refused(_through_pipe(d, tmp_path, argv, "kn.arpa", name="kn.arpa"), "so not an ARPA file",
             "give the file itself")


def test_training_data_through_pipes(d, tmp_path):
    done = _through_pipe(d, tmp_path, ["train", "classifier", "--train", "PIPE", *QUIET, "--run-dir",
                                       str(tmp_path / "run")], "cls.tsv")
    assert done.returncode == 0 and (tmp_path / "run" / "best.safetensors").is_file(), done.stderr


@pytest.mark.parametrize("argv, source, said", [
    (["train", "tagger", "--train", "PIPE"], "lm.txt", "expected 10 tab-separated columns"),  # plain text
    (["train", "hmm", "--train", "PIPE", "--output", "PIPE.safetensors"], "lm.txt", "expected 10 tab-separated"),
    (["train", "classifier", "--train", "PIPE"], "lm.txt", "expected label<TAB>text"),
])
def test_training_data_of_another_kind_through_a_pipe_is_refused_at_once(d, tmp_path, argv, source, said):
    """The refusal's hint looked at the file's head again (is it CoNLL-U, a column file?) and waited."""
    argv = [str(tmp_path / "m.safetensors") if a == "PIPE.safetensors" else a for a in argv]
    run = [] if "hmm" in argv else [*QUIET, "--run-dir", str(tmp_path / "run")]
    _refused(_through_pipe(d, tmp_path, [*argv, *run], source), said)


@pytest.mark.parametrize("argv", [["tag", "PIPE", "lm.txt"], ["segment", "PIPE"], ["evaluate", "PIPE", "lm.txt"],
                                  ["evaluate", "lm/last.safetensors", "lm.txt", "--interpolate", "PIPE"]])
def test_a_model_pipe_without_a_writer_is_refused_before_any_look(d, tmp_path, argv):
    """A look at a model's head (is it an HMM's JSON, an n-gram model of the earlier format?) opened the pipe before
    the loader refused it, and an open of a named pipe waits for a writer: none came, and the command hung (in
    safetensors' open, deaf to SIGTERM, for an n-gram look)."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    args = [str(pipe) if a == "PIPE" else a for a in argv]
    done = subprocess.run([sys.executable, "-m", "rnnkit", *args], capture_output=True, text=True, timeout=30, cwd=d)
    _refused(done, "not a regular file (a device or a pipe)", "give the file itself")
