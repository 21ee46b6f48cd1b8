"""``rnnkit translate`` as a filter: --nbest 1 written as a row with its score."""
from __future__ import annotations

import io

import pytest
from clirun import run_cli

from rnnkit.cli.main import main

SOURCES = ["ein rot hund", "katze läuft", "ein groß haus"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("stream")
    pairs = [("ein rot hund", "a red dog"), ("katze läuft", "cat runs"), ("ein groß haus", "a big house")] * 10
    (d / "pairs.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    assert main(["train", "seq2seq", "--train", str(d / "pairs.tsv"), "--epochs", "1", "--embed", "8", "--hidden",
                 "8", "--progress", "none", "--run-dir", str(d / "run")]) == 0
    return str(d / "run" / "last.safetensors")


def test_nbest_1_given_prints_the_row_with_its_score(model, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(s + "\n" for s in SOURCES)))
    code, plain, _ = run_cli(capsys, ["translate", model])
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(s + "\n" for s in SOURCES)))
    code2, rows, _ = run_cli(capsys, ["translate", model, "--nbest", "1"])
    assert code == code2 == 0
    parts = [row.split(" ||| ") for row in rows.splitlines()]
    assert [p[0] for p in parts] == ["0", "1", "2"] and [p[1] for p in parts] == plain.splitlines()
    assert all(float(p[2]) <= 0 for p in parts), rows
