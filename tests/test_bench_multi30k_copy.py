"""benchmarks/bench_multi30k.py --copy: the option reaches the ``rnnkit train seq2seq`` command line, in a run
folder and RESULTS.md subsection of its own; without it the command is the recorded plain one."""
from __future__ import annotations

import gzip
import importlib.util
import sys
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("bench_multi30k", Path(__file__).resolve().parents[1] / "benchmarks" /
                                              "bench_multi30k.py")
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)


class Started(Exception):
    """Raised by the stand-in trainer: the arguments training would have started with."""


def fake_multi30k(root: Path) -> Path:
    for split in ("train", "val", "test_2016_flickr"):
        for lang in ("de", "en"):
            with gzip.open(root / f"{split}.{lang}.gz", "wt", encoding="utf-8") as f:
                f.write("ein Hund .\n")
    return root


def started_with(monkeypatch, tmp_path: Path, *options: str) -> tuple[list[str], Path]:
    def trainer(argv, run, *args, **kwargs):
        raise Started(argv, run)

    monkeypatch.setattr(bench, "train_with_budget", trainer)
    monkeypatch.setattr(sys, "argv", ["bench_multi30k.py", "--data", str(fake_multi30k(tmp_path)),
                                      "--work", str(tmp_path / "work"), *options])
    with pytest.raises(Started) as info:
        bench.main()
    return info.value.args


def test_copy_reaches_the_train_command(monkeypatch, tmp_path):
    argv, run = started_with(monkeypatch, tmp_path, "--copy")
    assert argv.count("--copy") == 1 and argv[:2] == ["train", "seq2seq"]
    assert run == tmp_path / "work" / "de-en-copy" and argv[argv.index("--run-dir") + 1] == str(run)


def test_without_copy_the_command_is_unchanged(monkeypatch, tmp_path):
    argv, run = started_with(monkeypatch, tmp_path)
    assert "--copy" not in argv and run == tmp_path / "work" / "de-en"
    assert argv == bench.train_command(tmp_path, "de", "en", run)


def test_copy_and_plain_commands_differ_only_by_copy(tmp_path):
    fake_multi30k(tmp_path)
    plain = bench.train_command(tmp_path, "de", "en", tmp_path / "run")
    copy = bench.train_command(tmp_path, "de", "en", tmp_path / "run", copy=True)
    assert [a for a in copy if a != "--copy"] == plain and len(copy) == len(plain) + 1
