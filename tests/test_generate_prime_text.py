"""`generate --prime` at word level writes the prime as the model reads it: its `<eos>` was printed literally with
the sample carrying on the same line, and a prime ending in a space got a double space before the next word."""
from __future__ import annotations

import pytest
from clirun import run_cli

TEXT = "the cat sat on the mat\nthe dog sat on the log\n" * 20


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("lms")
    (d / "t.txt").write_text(TEXT, encoding="utf-8")
    from rnnkit.cli.main import main

    for level in ("word", "char"):
        assert main(["train", "lm", "--train", str(d / "t.txt"), "--level", level, "--epochs", "1", "--embed", "4",
                     "--hidden", "4", "--bptt", "4", "--batch-size", "2", "--progress", "none",
                     "--run-dir", str(d / level)]) == 0
    return d


def _generate(capsys, model, prime):
    code, out, err = run_cli(capsys, ["generate", str(model), "--prime", prime, "--length", "8", "--seed", "3"])
    assert code == 0, err
    return out


def test_a_word_primes_eos_is_a_line_end_and_its_trailing_space_no_double_space(models, capsys):
    word = models / "word" / "last.safetensors"
    out = _generate(capsys, word, "the cat <eos>")
    assert out.startswith("the cat\n") and "<eos>" not in out, out
    assert out == _generate(capsys, word, "the cat\n"), out  # the same prime, as a line end
    spaced = _generate(capsys, word, "the cat ")
    assert spaced.startswith("the cat ") and "  " not in spaced, spaced
    assert spaced == _generate(capsys, word, "the cat"), spaced
    char = _generate(capsys, models / "char" / "last.safetensors", "the cat ")  # as it was: the prime as given
    assert char.startswith("the cat "), char
