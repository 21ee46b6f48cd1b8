"""Running the command line inside a test: exit code and captured output, usage errors included."""
from __future__ import annotations

import re

from rnnkit.cli.main import main

# a tagger or classifier small enough to train in a second
SMALL = ["--embed", "8", "--hidden", "8", "--batch-size", "4", "--dropout", "0.1", "--progress", "none",
         "--checkpoint-minutes", "0"]


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``rnnkit argv``; argparse's usage errors (a value out of an
    option's range) end in SystemExit and give its code."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line(text: str, *fragments: str, usage: bool = True) -> str:
    """The one line of a refused command's standard error ``text``, holding each of ``fragments`` and nothing else
    (no traceback, no warning): ``rnnkit: error: ...``, or with ``usage`` argparse's ``rnnkit COMMAND: error: ...``
    too (the usage itself left out); returned without its newline."""
    head = r"rnnkit( [a-z][a-z0-9 -]*)?: error: " if usage else r"rnnkit: error: "
    assert re.match(head, text) and text.count("\n") == 1 and text.endswith("\n"), \
        f"expected one error line, got {text!r}"
    for f in fragments:
        assert f in text, f"{f!r} not in {text!r}"
    return text[:-1]


def error_line(code: int, err: str, *fragments: str, usage: bool = False) -> str:
    """:func:`_one_line` of the standard error ``err`` of a command that exited with ``code``, which must be 2;
    ``rnnkit: error: ...`` only (the main handler's), unless ``usage``."""
    assert code == 2, f"exit code {code}, stderr {err!r}"
    return _one_line(err, *fragments, usage=usage)


def refused(result: tuple[int, str, str], *fragments: str, usage: bool = False) -> str:
    """:func:`error_line` of :func:`run_cli`'s ``result``, whose standard output must be empty."""
    code, out, err = result
    assert out == "", (code, out)
    return error_line(code, err, *fragments, usage=usage)


def write(path, lines) -> str:
    """Write ``lines``, each ending in a newline, as UTF-8 to ``path`` (a pathlib.Path); returns it as a str, an
    argument for the command line."""
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def info_row(out: str, label: str) -> str:
    """The text after ``label`` on its line of ``rnnkit info``'s table ``out`` (its first such line)."""
    found = re.search(rf"^{re.escape(label)} +(.*)$", out, re.M)
    assert found, (label, out)
    return found.group(1)


WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "red", "big"]  # the toy tasks' vocabulary


def toy_task_files(d, tag_sentences: int | None = 12) -> list[str]:
    """40 lines of 6 of :data:`WORDS` (drawn with seed 0) written as each task's training file in folder ``d``:
    lm.txt, cls.tsv (pos where the line holds 'cat', else neg), s2s.tsv (each line to itself reversed) and
    tag.conllu (the first ``tag_sentences`` lines, None: all; DET for the and a, else NOUN); returns the lines."""
    import numpy as np

    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, 6)) for _ in range(40)]
    (d / "lm.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "cls.tsv").write_text("".join(f"{'pos' if 'cat' in x else 'neg'}\t{x}\n" for x in lines), encoding="utf-8")
    (d / "s2s.tsv").write_text("".join(f"{x}\t{' '.join(x.split()[::-1])}\n" for x in lines), encoding="utf-8")
    write_conllu(d / "tag.conllu", [[(w, "DET" if w in ("the", "a") else "NOUN") for w in x.split()]
                                    for x in lines[:tag_sentences]])
    return lines


def write_conllu(path, sentences, xpos=None):
    """Write ``[[(word, upos), ...], ...]`` as CoNLL-U, a ``# sent_id = k`` comment (from 1) before each
    sentence, XPOS ``xpos`` or ``_``; returns the path."""
    lines = []
    for k, sent in enumerate(sentences, start=1):
        lines.append(f"# sent_id = {k}\n")
        for i, (w, t) in enumerate(sent, start=1):
            lines.append(f"{i}\t{w}\t{w}\t{t}\t{xpos or '_'}\t_\t0\tdep\t_\t_\n")
        lines.append("\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def train_tiny_tagger(kind, train, test, tmp_path, capsys):
    """Train an HMM (``kind`` "hmm") or a 4-unit neural tagger for one epoch (with ``--test test``) on the
    CoNLL-U file ``train``; returns (the model's path, the command's standard output)."""
    if kind == "hmm":
        model = tmp_path / "model.safetensors"
        args = ["train", "hmm", "--train", str(train), "--output", str(model)]
    else:
        model = tmp_path / "run" / "last.safetensors"
        args = ["train", "tagger", "--train", str(train), "--epochs", "1", "--embed", "4", "--hidden", "4",
                "--progress", "none", "--checkpoint-minutes", "0", "--run-dir", str(tmp_path / "run"),
                "--test", str(test)]
    code, out, err = run_cli(capsys, args)
    assert code == 0, err
    return model, out
