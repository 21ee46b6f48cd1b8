"""Training a tiny language model from the command line inside a test: two small texts and the ``train lm`` call."""
from __future__ import annotations

from rnnkit.cli.main import main

ZH = "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n" * 40
EN = "the cat sat on the mat .\nthe dog sat on the log .\n" * 40


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return str(p)


def _train(tmp_path, text, level, run="run", extra=()):
    train = _write(tmp_path, "train.txt", text)
    valid = _write(tmp_path, "valid.txt", text[: len(text) // 4])
    args = ["train", "lm", "--train", train, "--valid", valid, "--test", valid, "--level", level,
            "--hidden", "16", "--layers", "1", "--batch-size", "2", "--bptt", "8", "--epochs", "2",
            "--optimizer", "adam", "--lr", "0.01", "--progress", "none", "--run-dir", str(tmp_path / run), *extra]
    return main(args), train, valid
