"""A --valid or --test file that is the --train file (by path, or another path to the same file) is warned
about: its scores are training scores."""
from __future__ import annotations

import os

import pytest
from clirun import run_cli

TEXT = "".join(f"the cat sat on mat {i % 7}\nthe dog ran to door {i % 5}\n" for i in range(30))
LM = ["train", "lm", "--hidden", "4", "--embed", "4", "--layers", "1", "--batch-size", "2", "--bptt", "4",
      "--max-steps", "1", "--progress", "none"]


@pytest.mark.parametrize("option", ["--valid", "--test"])
def test_a_held_out_file_that_is_the_training_file_is_warned_about(tmp_path, capsys, option):
    train = tmp_path / "train.txt"
    train.write_text(TEXT, encoding="utf-8")
    os.symlink(train, tmp_path / "link.txt")
    held = tmp_path / "held.txt"
    held.write_text(TEXT[: len(TEXT) // 2], encoding="utf-8")
    for path, named in ((train, ""), (tmp_path / "link.txt", f" {train}")):
        code, _, err = run_cli(capsys, LM + ["--train", str(train), option, str(path),
                                             "--run-dir", str(tmp_path / "r")])
        what = "validation" if option == "--valid" else "test"
        assert code == 0 and (f"rnnkit: warning: {option} {path} is the training file{named}: the {what} scores "
                              "will be training scores, which cannot show overfitting") in err, err
        assert ("best epoch and early stopping" in err) == (option == "--valid"), err
        assert err.count("is the training file") == 1
    code, _, err = run_cli(capsys, LM + ["--train", str(train), option, str(held), "--run-dir", str(tmp_path / "r2")])
    assert code == 0 and "is the training file" not in err, err


def test_ngram_and_seq2seq_file_lists_are_checked_too(tmp_path, capsys):
    train = tmp_path / "train.txt"
    train.write_text(TEXT, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(train), "--valid", str(train), "--order", "2"])
    assert code == 0 and f"--valid {train} is the training file: the validation scores" in err, err
    assert "best epoch" not in err  # no epochs to pick from
    src, tgt = tmp_path / "s.txt", tmp_path / "t.txt"
    src.write_text("a b\nc d\n" * 10, encoding="utf-8")
    tgt.write_text("x y\nz w\n" * 10, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", str(src), str(tgt), "--valid", str(src), str(tgt),
                                    "--hidden", "4", "--embed", "4", "--max-steps", "1", "--progress", "none",
                                    "--run-dir", str(tmp_path / "s2s")])
    assert err.count("is the training file") == 2, err
