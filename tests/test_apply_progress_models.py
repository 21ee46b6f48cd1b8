"""--progress of classify (sentence and tree models), translate, score and evaluate of a classifier, tree model,
translator or language model, and evaluate --dict's second pass: plain lines on standard error that end at the
whole input with --progress lines, nothing with none (nor by default off a terminal), standard output the same
byte for byte."""
from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest
from clirun import run_cli

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "red", "big"]
FAST = ["--embed", "4", "--hidden", "4", "--epochs", "1", "--progress", "none", "--checkpoint-minutes", "0"]


def _tree(rng: np.random.Generator, words: list[str]) -> str:
    label = lambda: str(int(rng.integers(2)))  # noqa: E731
    a, b, c, d = words
    return (f"({label()} ({label()} ({label()} {a}) ({label()} {b})) "
            f"({label()} ({label()} {c}) ({label()} {d})))")


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """Tiny trained models and inputs of several batches each (classify: 256 texts a batch, trees 256,
    translate 64 sentences, score 32 lines)."""
    from rnnkit.cli.main import main

    d = tmp_path_factory.mktemp("progress_models")
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, 6)) for _ in range(700)]
    (d / "texts.txt").write_text("\n".join(lines[:350]) + "\n\n" + "\n".join(lines[350:]) + "\n", encoding="utf-8")
    (d / "cls.tsv").write_text("".join(f"{'pos' if 'cat' in x else 'neg'}\t{x}\n" for x in lines), encoding="utf-8")
    (d / "trees.txt").write_text("\n".join(_tree(rng, list(rng.choice(WORDS, 4))) for _ in range(600)) + "\n",
                                 encoding="utf-8")
    (d / "s2s.tsv").write_text("".join(f"{x}\t{' '.join(x.split()[::-1])}\n" for x in lines[:200]), encoding="utf-8")
    (d / "src.txt").write_text("\n".join(lines[:200]) + "\n", encoding="utf-8")
    (d / "seg.txt").write_text("".join("我們  喜歡  北京\n" for _ in range(600)), encoding="utf-8")
    (d / "dict.txt").write_text("北京\n", encoding="utf-8")
    commands = [
        ["train", "classifier", "--train", str(d / "cls.tsv"), *FAST, "--run-dir", str(d / "cls")],
        ["train", "classifier", "--train", str(d / "cls.tsv"), "--pooling", "attention", *FAST, "--run-dir",
         str(d / "attn")],
        ["train", "tree", "--train", str(d / "trees.txt"), "--labels", "as-is", *FAST, "--run-dir", str(d / "tree")],
        ["train", "seq2seq", "--train", str(d / "s2s.tsv"), *FAST, "--run-dir", str(d / "s2s")],
        ["train", "lm", "--train", str(d / "src.txt"), "--level", "word", "--bptt", "5", *FAST, "--run-dir",
         str(d / "lm")],
        ["train", "ngram", "--train", str(d / "src.txt"), "--order", "3", "--save", str(d / "kn.safetensors")],
        ["train", "hmm", "--train", str(d / "seg.txt"), "--format", "segmented", "--output",
         str(d / "seg.safetensors")],
    ]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for argv in commands:
            assert main(argv) == 0, argv
    return d


def _shown(err: str, desc: str) -> list[float]:
    """The percentages of the progress lines of ``desc`` in ``err``."""
    pattern = rf"^{re.escape(desc)} \| +([\d.]+)% \| [\d,]+ tok/s \| eta \d+m\d\ds$"
    return [float(p) for p in re.findall(pattern, err, re.M)]


def _same_output_and_lines(capsys, argv: list[str], desc: str, least: int = 2) -> str:
    """Run ``argv`` by default, with --progress none and with lines: the same standard output, nothing shown
    but with lines, and there at least ``least`` rising lines that end at 100%; returns the output."""
    code, plain, err = run_cli(capsys, argv)
    assert code == 0 and f"{desc} |" not in err, err  # auto: standard error is no terminal here
    code, out, err = run_cli(capsys, [*argv, "--progress", "none"])
    assert code == 0 and out == plain and f"{desc} |" not in err, err
    code, out, err = run_cli(capsys, [*argv, "--progress", "lines"])
    assert code == 0 and out == plain and f"{desc} |" not in out
    shown = _shown(err, desc)
    assert len(shown) >= least and shown == sorted(shown) and shown[-1] == 100.0, err
    return plain


# (command, model, input, options, the display's name, what the output holds: its line count, or a text in it)
CASES = [("classify", "cls/last.safetensors", "texts.txt", [], "classifying", 701),  # a blank input line kept
         ("classify", "cls/last.safetensors", "texts.txt", ["--probs"], "classifying", 701),
         ("classify", "attn/last.safetensors", "texts.txt", ["--attention"], "classifying", "\n  "),
         ("classify", "tree/last.safetensors", "trees.txt", ["--format", "tree"], "classifying", 600),
         ("evaluate", "tree/last.safetensors", "trees.txt", [], "evaluating", "root accuracy"),
         ("evaluate", "cls/last.safetensors", "cls.tsv", [], "evaluating", "over 700 texts"),
         ("translate", "s2s/last.safetensors", "src.txt", ["--beam", "2"], "translating", 200),
         ("evaluate", "s2s/last.safetensors", "s2s.tsv", [], "evaluating", "BLEU")]


@pytest.mark.parametrize("command, model, data, options, desc, holds", CASES)
def test_lines_on_stderr_and_the_same_output(d, capsys, command, model, data, options, desc, holds):
    out = _same_output_and_lines(capsys, [command, str(d / model), str(d / data), *options], desc)
    assert out.count("\n") == holds if isinstance(holds, int) else holds in out, out


@pytest.mark.parametrize("model", ["lm/last.safetensors", "kn.safetensors"])
def test_score_shows_lines_before_its_summary(d, capsys, model):
    argv = ["score", str(d / model), str(d / "src.txt")]
    out = _same_output_and_lines(capsys, argv, "scoring", 1 if model.startswith("kn") else 2)  # n-gram: one call
    assert out.count("\n") == 200
    _, _, err = run_cli(capsys, [*argv, "--progress", "lines"])
    assert err.index("scoring | 100.0%") < err.index("src.txt: 200 lines"), err  # closed before the summary


def test_evaluate_dict_shows_both_passes(d, capsys):
    argv = ["evaluate", str(d / "seg.safetensors"), str(d / "seg.txt"), "--dict", str(d / "dict.txt")]
    code, plain, err = run_cli(capsys, [*argv, "--progress", "none"])
    assert code == 0 and "evaluating" not in err
    code, out, err = run_cli(capsys, [*argv, "--progress", "lines"])
    assert code == 0 and out == plain and "with --dict" in out
    for desc in ("evaluating without --dict", "evaluating with --dict"):
        assert _shown(err, desc)[-1:] == [100.0], err
    assert err.index("evaluating without --dict |") < err.index("evaluating with --dict |")


@pytest.mark.parametrize("model, options, least", [("lm/last.safetensors", [], 2),
                                                    ("lm/last.safetensors", ["--batch-size", "3", "--bptt", "7"], 2),
                                                    ("kn.safetensors", [], 1)])  # n-gram: a million at a time
def test_evaluate_of_a_language_model_shows_lines_ending_at_its_predicted_tokens(d, capsys, model, options, least):
    """It refused --progress.  1,400 tokens (<eos> included), <eos> read first: 3 streams of 467 predict 1,398."""
    out = _same_output_and_lines(capsys, ["evaluate", str(d / model), str(d / "src.txt"), *options], "evaluating",
                                 least)
    assert "perplexity" in out, out


def test_evaluate_of_a_character_model_counts_no_start_token(d, capsys):
    """A character model reads no <eos> first (its vocabulary has none): the total counted one, and with
    (n + 1) // B > n // B the lines ended at 98.9%."""
    run = d / "charlm"
    assert run_cli(capsys, ["train", "lm", "--train", str(d / "src.txt"), "--level", "char", "--bptt", "5", *FAST,
                            "--run-dir", str(run)])[0] == 0
    text = d / "sixty.txt"  # 59 characters: (59 + 1) // B > 59 // B for B = 3, 4, 5
    text.write_text((d / "src.txt").read_text(encoding="utf-8").replace("\n", " ")[:58] + "\n", encoding="utf-8")
    for b in (3, 4, 5):
        _same_output_and_lines(capsys, ["evaluate", str(run / "last.safetensors"), str(text), "--batch-size", str(b),
                                        "--bptt", "4"], "evaluating", 1)


def test_evaluate_of_two_interpolated_language_models_refuses_progress(d, capsys):
    code, _, err = run_cli(capsys, ["evaluate", str(d / "lm" / "last.safetensors"), str(d / "src.txt"),
                                    "--interpolate", str(d / "kn.safetensors"), "--progress", "lines"])
    assert code != 0 and "--progress does not apply with --interpolate" in err, err


def test_evaluate_of_a_translator_shows_its_loss_pass_too(d, capsys):
    """The teacher-forced pass over the references (the loss and perplexity) comes after the decoding's 100%: it has
    its own display, which counts the target tokens and their ends to its whole, 100%."""
    argv = ["evaluate", str(d / "s2s/last.safetensors"), str(d / "s2s.tsv")]
    code, plain, err = run_cli(capsys, [*argv, "--progress", "none"])
    assert code == 0 and "evaluating" not in err and "perplexity" in plain.lower(), plain
    code, out, err = run_cli(capsys, [*argv, "--progress", "lines"])
    assert code == 0 and out == plain
    loss = "evaluating the references' loss"
    assert _shown(err, "evaluating")[-1:] == [100.0] and _shown(err, loss)[-1:] == [100.0], err
    assert err.index("evaluating |") < err.index(f"{loss} |"), err


def test_score_of_blank_lines_alone_shows_no_display_of_nothing(d, capsys):
    """An n-gram model scores a file in one call: blank lines alone made --progress bar draw 'scoring: 0.00tok'."""
    (d / "blank.txt").write_text("\n\n  \n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["score", str(d / "kn.safetensors"), str(d / "blank.txt"), "--progress", "bar"])
    assert code == 0 and out.count("\n") == 3 and "scoring" not in err, err
