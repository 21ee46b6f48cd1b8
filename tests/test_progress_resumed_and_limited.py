"""The progress display of a resumed epoch, of a run with a step limit and of a small input: a run resumed
part-way through an epoch shows it from where it stopped (each task's, through the command line), a bar's ETA
counts to --max-steps as the lines' does, and --progress lines of the commands that read a file says how many
lines a small input gets."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from clirun import run_cli, write_conllu
from quadratic_task import Quadratic, _cfg

import rnnkit.train.progress as progress
from rnnkit.cli.apply_progress import Shown
from rnnkit.train.loop import Trainer

TINY = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--checkpoint-minutes", "0", "--epochs", "1",
        "--progress", "lines", "--log-every", "1"]


def _task_argv(task: str, d) -> list[str]:
    """``rnnkit train TASK`` on a tiny training file of 40 lines written into ``d``: 10 or more steps an epoch."""
    rng = np.random.default_rng(0)
    path = d / f"{task}.txt"
    if task == "tagger":
        words = [[("the", "DET"), (str(rng.choice(["cat", "dog"])), "NOUN"), ("sees", "VERB")] for _ in range(40)]
        return ["train", "tagger", "--train", str(write_conllu(path, words))]
    if task == "lm":
        lines = [" ".join(rng.choice(list("abcdef"), 8)) for _ in range(40)]
        extra = ["--bptt", "5"]
    elif task == "classifier":
        lines = [f"{'pos' if i % 2 else 'neg'}\t{'great' if i % 2 else 'dull'} film {i % 7}" for i in range(40)]
        extra = ["--valid-fraction", "0"]
    elif task == "seq2seq":
        pairs = zip(rng.choice(list("abcd"), 40), rng.choice(list("efgh"), 40))
        lines = [f"{a} {b} .\t{b.upper()} {a.upper()} ." for a, b in pairs]
        extra = []
    else:  # tree
        lines = [f"({p} (2 the) ({p} {w}))" for p, w in (("4", "good") if i % 2 else ("0", "bad") for i in range(40))]
        extra = []
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return ["train", task, "--train", str(path), *extra]


def _shown(err: str) -> list[str]:
    """The percentages of the progress lines of epoch 1 in standard error ``err``."""
    return re.findall(r"^epoch 1 \| +([\d.]+)%", err, re.M)


@pytest.mark.parametrize("task", ["lm", "tagger", "classifier", "seq2seq", "tree"])
def test_a_run_resumed_mid_epoch_shows_the_epoch_from_where_it_stopped(tmp_path, capsys, task):
    """A run stopped after 3 steps and resumed showed its epoch from 0% (the lm's lines 5.6%, 11.2% ... where the
    uninterrupted run said 22.5%, 28.1% ...): its lines are now the uninterrupted run's from the 4th on."""
    argv = _task_argv(task, tmp_path) + TINY
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(tmp_path / "whole")])
    assert code == 0, err
    whole = _shown(err)
    assert len(whole) >= 10 and whole[-1] == "100.0", err
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(tmp_path / "cut"), "--max-steps", "3"])
    assert code == 0 and _shown(err) == whole[:3], err
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(tmp_path / "cut"), "--resume"])
    assert code == 0 and _shown(err) == whole[3:], (whole, err)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Timed(Quadratic):
    """Quadratic whose every step takes 10 s of the clock ``now`` (a list of one float)."""

    def __init__(self, now: list[float]) -> None:
        super().__init__()
        self.now = now

    def train_step(self, batch, carry, rng):
        self.now[0] += 10.0
        return super().train_step(batch, carry, rng)


def test_a_resumed_epochs_eta_counts_the_units_left_only(tmp_path, monkeypatch):
    """Resumed after 2 of an epoch's 4 units (1 a step), the first step after it at 10 s: 75% done, 1 unit left
    at 0.1 units/s, eta 10 s (it said 25% and 30 s, as if the epoch had started anew); a bar starts at 50%."""
    Trainer(Quadratic(), _cfg(epochs=1, max_steps=2), tmp_path / "lines").fit()
    Trainer(Quadratic(), _cfg(epochs=1, max_steps=2), tmp_path / "bar").fit()
    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    stream = io.StringIO()
    Trainer(_Timed(now), _cfg(epochs=1), tmp_path / "lines",
            progress=progress.Progress("lines", every=1, stream=stream)).fit(resume=True)
    lines = [line for line in stream.getvalue().splitlines() if line.startswith("epoch 1 |")]
    assert [(line.split(" | ")[1].strip(), line.split(" | ")[-1]) for line in lines] == \
        [("75.0%", "eta 0m10s"), ("100.0%", "eta 0m00s")], stream.getvalue()
    terminal = _Terminal()
    Trainer(_Timed(now), _cfg(epochs=1), tmp_path / "bar",
            progress=progress.Progress("bar", stream=terminal)).fit(resume=True)
    assert re.search(r"epoch 1:  50%\|[^\r]*\| 2\.00/4\.00 ", terminal.getvalue()), terminal.getvalue()


def test_a_bars_eta_counts_to_the_step_limit_as_the_lines_do(monkeypatch):
    """--max-steps: the bar's ETA (tqdm's own) ran to the epoch's end while the lines' counted to the limit.  Ten
    steps of 1 s, 2 left: both say 2 s; without a limit both say the epoch's 990 s."""
    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    for steps_left, seconds in ((12, 2), (None, 990)):
        etas = []
        for mode, stream in (("bar", _Terminal()), ("lines", io.StringIO())):
            p = progress.Progress(mode, every=10, stream=stream)
            p.start_epoch(2, 1000 * 20, steps_left=steps_left)
            for _ in range(10):
                now[0] += 1.0
                p.update(20, 1.0, 0.1)
            shown = str(p._bar) if mode == "bar" else stream.getvalue()
            m, s = re.search(r"<(\d+):(\d\d)," if mode == "bar" else r"eta (\d+)m(\d\d)s", shown).groups()
            etas.append((mode, 60 * int(m) + int(s)))
            p.end_epoch(None)
        assert etas == [("bar", seconds), ("lines", seconds)], (steps_left, etas)


def test_a_small_inputs_lines_are_one_per_batch_passing_tenths_as_help_says(capsys):
    """300 tokens in batches of 128, 128 and 44: three lines, not ten (a line per tenth would repeat one
    count); --help said 'a plain line as each tenth of the input is done', and now says how many."""
    stream = io.StringIO()
    batches = (128, 128, 44)
    with Shown("lines", sum(batches), "tagging", stream=stream) as shown:
        for n in batches:
            shown(n)
    done = np.cumsum(batches)
    assert re.findall(r"^tagging \| +([\d.]+)%", stream.getvalue(), re.M) == \
        [f"{100 * d / done[-1]:.1f}" for d in done], stream.getvalue()
    for command in ("tag", "segment", "classify", "translate", "score", "evaluate"):
        code, out, _ = run_cli(capsys, [command, "--help"])
        text = " ".join(out.split())
        assert code == 0 and "ten at most, one for a batch that passes several tenths" in text, (command, text)
