"""Progress on standard error while rnnkit tag, segment and a tagger's evaluate read a file (--progress):
standard output unchanged, nothing by default off a terminal, a bar on one only after a delay."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from clirun import run_cli, write_conllu

from rnnkit.cli.apply_progress import DELAY, Shown

SMALL = ["--embed", "8", "--hidden", "8", "--batch-size", "4", "--progress", "none", "--checkpoint-minutes", "0"]
WORDS = {"DET": ["the", "a"], "NOUN": ["cat", "dog", "house"], "VERB": ["sees", "has"]}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import contextlib

    from rnnkit.cli.main import main

    tmp = tmp_path_factory.mktemp("progress")
    rng = np.random.default_rng(0)
    sents = [[(WORDS[t][int(rng.integers(len(WORDS[t])))], t) for t in ["DET", "NOUN", "VERB", "DET", "NOUN"]]
             for _ in range(300)]  # 300 sentences: three batches of 128 or fewer
    data = write_conllu(tmp / "pos.conllu", sents)
    seg = tmp / "seg.txt"
    seg.write_text("".join("我們  喜歡  北京\n" for _ in range(600)), encoding="utf-8")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["train", "tagger", "--train", str(data), "--epochs", "1", "--run-dir", str(tmp / "run"),
                     *SMALL]) == 0
        assert main(["train", "hmm", "--train", str(seg), "--format", "segmented", "--output",
                     str(tmp / "seg.safetensors")]) == 0
    return {"tagger": str(tmp / "run" / "last.safetensors"), "data": str(data), "seg": str(tmp / "seg.safetensors"),
            "seg_data": str(seg)}


LINE = r"^{} \| 100\.0% \| [\d,]+ tok/s \| eta 0m00s$"


def test_tag_shows_lines_on_stderr_and_the_same_output(models, capsys):
    argv = ["tag", models["tagger"], models["data"], "--format", "conllu"]
    code, plain, err = run_cli(capsys, argv)
    assert code == 0 and "tagging |" not in err, err  # auto, stderr no terminal: nothing
    code, out, err = run_cli(capsys, [*argv, "--progress", "lines"])
    assert code == 0 and out == plain
    assert re.search(LINE.format("tagging"), err, re.M), err
    code, out, err = run_cli(capsys, [*argv, "--progress", "none"])
    assert code == 0 and out == plain and "tagging |" not in err
    code, plain, _ = run_cli(capsys, [*argv, "--probs"])
    code, out, err = run_cli(capsys, [*argv, "--probs", "--progress", "lines"])  # counted a block at a time
    assert code == 0 and out == plain and "TagProb=" in out
    assert re.search(LINE.format("tagging"), err, re.M), err


def test_evaluate_and_segment_show_lines(models, capsys):
    code, out, err = run_cli(capsys, ["evaluate", models["tagger"], models["data"], "--progress", "lines"])
    assert code == 0 and "token accuracy" in out and "evaluating |" not in out
    assert re.search(LINE.format("evaluating"), err, re.M), err
    code, plain, _ = run_cli(capsys, ["segment", models["seg"], models["seg_data"], "--progress", "none"])
    code, out, err = run_cli(capsys, ["segment", models["seg"], models["seg_data"], "--progress", "lines"])
    assert code == 0 and out == plain and out.startswith("我們 喜歡 北京\n")
    assert re.search(LINE.format("segmenting"), err, re.M), err


def test_each_commands_progress_help_says_what_it_counts(capsys):
    """segment counts characters and has none of tag's --probs, --nbest, --spans: its help says so."""
    help_of = {}
    for command in ("tag", "segment"):
        code, out, _ = run_cli(capsys, [command, "--help"])
        assert code == 0
        help_of[command] = " ".join(out.split())
    assert "with tag's --probs, --nbest or --spans counted a block" in help_of["tag"], help_of["tag"]
    assert "--probs" not in help_of["segment"] and "--nbest" not in help_of["segment"], help_of["segment"]
    assert "the tokens: the input's characters, spaces left out" in help_of["segment"], help_of["segment"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_a_bar_on_a_terminal_only_after_the_delay():
    stream = _Terminal()
    shown = Shown("auto", 100, "tagging", stream=stream)
    shown(40)
    assert stream.getvalue() == ""  # a short input: done before the delay, nothing shown
    shown.t0 -= DELAY + 1  # the delay has passed
    shown(40)
    shown.close()
    assert "tagging" in stream.getvalue() and "80.0/100" in stream.getvalue(), stream.getvalue()
    quiet = io.StringIO()  # no terminal: nothing, however long
    shown = Shown("auto", 100, "tagging", stream=quiet)
    shown.t0 -= DELAY + 1
    shown(40)
    shown.close()
    assert quiet.getvalue() == ""


def test_lines_come_at_each_tenth_however_the_batches_grow():
    stream = io.StringIO()  # length-sorted batches: the first ones hold the shortest sentences
    with Shown("lines", 10_000, "tagging", stream=stream) as shown:
        for tokens in [10] * 10 + [990] * 10:
            shown(tokens)
    shown_pct = [float(p) for p in re.findall(r"^tagging \| +([\d.]+)%", stream.getvalue(), re.M)]
    # one line as the count passes each tenth (not one every so many calls, sized by the first and smallest)
    assert [int(p // 10) for p in shown_pct] == list(range(1, 11)) and shown_pct[-1] == 100.0, stream.getvalue()
