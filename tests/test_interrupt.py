"""Ctrl-C or SIGTERM during `rnnkit train`: the step under way finishes, the run is saved and says so,
and --resume then ends exactly where an uninterrupted run ends.  A second signal stops at once."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.checkpoint import load_checkpoint
from rnnkit.lm.task import LMTask

TEXT = "".join(f"the {w} sat on the mat and the {v} ran\n" for w in ("cat", "dog", "bird") for v in ("fox", "cow")) * 8


def _argv(tmp_path, run):
    (tmp_path / "train.txt").write_text(TEXT, encoding="utf-8")
    return ["train", "lm", "--train", str(tmp_path / "train.txt"), "--hidden", "8", "--embed", "8", "--layers", "1",
            "--batch-size", "2", "--bptt", "6", "--epochs", "2", "--dropout", "0.2", "--optimizer", "adam",
            "--lr", "0.01", "--progress", "none", "--checkpoint-minutes", "0", "--seed", "4", "--run-dir", str(run)]


def _signal_at(monkeypatch, step: int, *signums: int) -> None:
    """Send ``signums`` to this process during training step ``step`` (1-based), inside the step."""
    original = LMTask.train_step
    count = {"n": 0}

    def train_step(self, *args, **kwargs):
        count["n"] += 1
        result = original(self, *args, **kwargs)
        if count["n"] == step:
            for signum in signums:
                os.kill(os.getpid(), signum)
        return result

    monkeypatch.setattr(LMTask, "train_step", train_step)


@pytest.mark.parametrize("signum, code, said", [(signal.SIGINT, 130, "interrupted"),
                                                (signal.SIGTERM, 143, "terminated")])
def test_a_signal_saves_the_step_under_way_and_resume_ends_as_an_uninterrupted_run(tmp_path, capsys, monkeypatch,
                                                                                  signum, code, said):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert run_cli(capsys, _argv(tmp_path, whole))[0] == 0
    with monkeypatch.context() as m:
        _signal_at(m, 5, signum)
        got, _, err = run_cli(capsys, _argv(tmp_path, cut))
    assert got == code, err
    assert (f"{said} after step 5: saved {cut / 'last.safetensors'}; run the same command with --resume (in "
            "Python, fit(resume=True)) to go on") in err
    assert err.rstrip().endswith(f"rnnkit: {said}"), err
    _, meta = load_checkpoint(cut / "last.safetensors")
    assert meta["loop"]["step"] == 5
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are put back
    assert run_cli(capsys, _argv(tmp_path, cut) + ["--resume"])[0] == 0
    a, _ = load_checkpoint(whole / "last.safetensors")
    b, _ = load_checkpoint(cut / "last.safetensors")
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)


def test_a_second_signal_stops_at_once_unsaved(tmp_path, capsys, monkeypatch):
    _signal_at(monkeypatch, 3, signal.SIGINT, signal.SIGINT)
    code, _, err = run_cli(capsys, _argv(tmp_path, tmp_path / "run"))
    assert code == 130 and err.rstrip().endswith("rnnkit: interrupted") and "saved" not in err, err
    assert not (tmp_path / "run" / "last.safetensors").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_new_run_that_fails_before_its_first_checkpoint_puts_the_earlier_run_back(tmp_path, capsys, monkeypatch):
    """A new run in a used folder deleted the earlier run's models at once: a --lr typo that blew the loss
    up at step 2 left the folder empty.  They are now set aside until the new run saves, and come back."""
    run = tmp_path / "run"
    assert run_cli(capsys, _argv(tmp_path, run))[0] == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert set(before) == {"last.safetensors", "metrics.jsonl"}
    code, _, err = run_cli(capsys, _argv(tmp_path, run) + ["--lr", "1e30", "--optimizer", "sgd", "--log-every", "1"])
    assert code == 1 and "the earlier run's last.safetensors goes when this run saves its first checkpoint" in err, err
    assert f"this run saved no checkpoint, so the earlier run's last.safetensors is back in {run}" in err, err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and not p.name.startswith(".")} == before
    assert not list(run.glob(".*.earlier"))
    # a second Ctrl-C before the first checkpoint: the same
    with monkeypatch.context() as m:
        _signal_at(m, 2, signal.SIGINT, signal.SIGINT)
        code, _, err = run_cli(capsys, _argv(tmp_path, run))
    assert code == 130 and "is back in" in err, err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and not p.name.startswith(".")} == before


def test_files_a_killed_new_run_left_aside_stay_the_earlier_runs(tmp_path, capsys):
    """SIGKILL before the new run's first checkpoint leaves the earlier run's files set aside: --resume
    says where, and the next new run treats them as the earlier run's."""
    from rnnkit.train.earlier_run import aside

    run = tmp_path / "run"
    assert run_cli(capsys, _argv(tmp_path, run))[0] == 0
    last, log = run / "last.safetensors", run / "metrics.jsonl"
    earlier = {p.name: p.read_bytes() for p in (last, log)}
    last.rename(aside(last))  # what a new run killed outright leaves: the earlier run's files set aside,
    log.rename(aside(log))
    log.write_text('{"type": "train", "epoch": 1, "step": 1, "loss": 9.0}\n', encoding="utf-8")  # its own log
    code, _, err = run_cli(capsys, _argv(tmp_path, run) + ["--resume"])
    assert code == 2 and f"the earlier run's files are set aside in {run}" in err, err
    # every file set aside is named (the hint named the last checkpoint alone, and the run resumed without its log)
    assert ("rename .last.safetensors.earlier to last.safetensors, .metrics.jsonl.earlier to metrics.jsonl to "
            "resume that run") in err, err
    code, _, err = run_cli(capsys, _argv(tmp_path, run) + ["--lr", "1e30", "--optimizer", "sgd"])  # fails early
    assert code == 1 and "is back in" in err, err
    assert {p.name: p.read_bytes() for p in (last, log)} == earlier  # the earlier run's, not the killed run's log
    code, _, err = run_cli(capsys, _argv(tmp_path, run))
    assert code == 0 and "the earlier run's last.safetensors goes when this run saves" in err, err
    assert last.exists() and not aside(last).exists() and not aside(log).exists()


@pytest.mark.parametrize("mode", ["lines", "bar"])
def test_a_run_whose_output_reader_goes_away_trains_on_and_saves(tmp_path, mode):
    """`rnnkit train ... 2>&1 | head -3` ended the run at head's exit (exit code 141), no checkpoint
    written, while metrics.jsonl recorded a best epoch."""
    import subprocess
    import sys

    run = tmp_path / "run"
    argv = _argv(tmp_path, run)
    argv[argv.index("--progress") + 1] = mode
    argv[argv.index("--checkpoint-minutes") + 1] = "60"  # nothing saved before the epoch's end
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit.cli.main", *argv, "--log-every", "1", "--valid",
                             str(tmp_path / "train.txt")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    proc.stdout.readline()  # what `head -1` reads, then it goes
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    assert (run / "last.safetensors").exists() and (run / "best.safetensors").exists()
    _, meta = load_checkpoint(run / "last.safetensors")
    assert meta["loop"]["epoch"] == 2  # every epoch trained


def test_progress_stops_writing_to_a_closed_pipe_and_keeps_counting():
    from rnnkit.train.progress import Progress

    class Gone:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

        def isatty(self):
            return False

    for mode in ("lines", "bar"):
        p = Progress(mode, every=1, stream=Gone())
        p.start_epoch(1, 100)
        for _ in range(5):
            p.update(10, 1.0, 0.1)
        p.message("a notice", always=True)
        p.end_epoch("epoch 1 done")
        assert p.gone and p.done == 50


@pytest.mark.parametrize("first, second", [("TERM", "TERM"), ("INT", "TERM"), ("TERM", "INT")])
def test_a_second_signal_while_the_first_is_said_changes_nothing(monkeypatch, capsys, first, second):
    """A second SIGTERM right after the first one's checkpoint arrived while the run was saying
    "terminated": it escaped, and the run said "interrupted" as well and exited 130."""
    from rnnkit.cli import main as cli
    from rnnkit.errors import Terminated

    def stopped(args):
        raise Terminated() if first == "TERM" else KeyboardInterrupt()

    real = cli._interrupted

    def said_with_a_second_signal(exc):
        os.kill(os.getpid(), getattr(signal, f"SIG{second}"))  # arrives while the first is being said
        return real(exc)

    monkeypatch.setattr(cli, "_interrupted", said_with_a_second_signal)
    monkeypatch.setattr(cli, "_run", lambda func, args: stopped(args))
    int_before, term_before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    code = cli.main(["gradflow", "--steps", "3"])
    err = capsys.readouterr().err
    assert code == (143 if first == "TERM" else 130)
    assert err.strip().splitlines() == ["rnnkit: terminated" if first == "TERM" else "rnnkit: interrupted"], err
    # the handlers are back as they were
    assert signal.getsignal(signal.SIGINT) is int_before and signal.getsignal(signal.SIGTERM) is term_before


def test_following_the_set_aside_hint_resumes_the_whole_earlier_run(tmp_path, capsys):
    """Renaming back what the hint names gives the earlier run whole: its best checkpoint and its log too."""
    import re

    from rnnkit.train.earlier_run import aside

    run = tmp_path / "run"
    argv = _argv(tmp_path, run) + ["--valid", str(tmp_path / "train.txt")]
    assert run_cli(capsys, argv + ["--epochs", "1"])[0] == 0  # then resumed to the 2 epochs of argv
    files = [run / n for n in ("last.safetensors", "best.safetensors", "metrics.jsonl")]
    log = files[2].read_text(encoding="utf-8")
    for p in files:
        p.rename(aside(p))  # a new run killed before its first checkpoint
    code, _, err = run_cli(capsys, argv + ["--resume"])
    moves = re.search(r"rename (.*) to resume that run", err)
    assert code == 2 and moves, err
    pairs = [m.split(" to ") for m in moves.group(1).split(", ")]
    assert sorted(new for _, new in pairs) == ["best.safetensors", "last.safetensors", "metrics.jsonl"], err
    for old, new in pairs:
        (run / old).rename(run / new)
    code, _, err = run_cli(capsys, argv + ["--resume"])
    assert code == 0 and "resumed from" in err, err
    assert files[2].read_text(encoding="utf-8").startswith(log) and (run / "best.safetensors").exists()


@pytest.mark.parametrize("second", ["SIGTERM", "SIGINT"])
def test_the_console_script_survives_a_second_signal_after_main_restored_its_handlers(second):
    """The last instants: rnnkit.cli.main.main has said 'terminated' and put the handlers back, and a second
    signal arrives before the entry point returns; a SIGTERM there killed the interpreter (status -15)."""
    import subprocess
    import sys

    script = f"""
import os, signal, sys
from rnnkit.cli import main as cli, processes
from rnnkit.errors import Terminated
def stopped(func, args):
    raise Terminated()
cli._run = stopped
real_leave = processes.leave
def leave(code):
    os.kill(os.getpid(), signal.{second})  # the second signal, after main() restored the handlers
    real_leave(code)
processes.leave = leave
from rnnkit.cli.entry import main
sys.exit(main(["gradflow", "--steps", "3"]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 143 and done.stderr.strip().splitlines() == ["rnnkit: terminated"], done


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_a_finished_run_resumes_still_stops_the_command(tmp_path, capsys, monkeypatch, signum, code):
    """A resume with nothing to train never reached the loop's check: the signal was said, then dropped,
    and the command went on (the next fold, the test) and exited 0."""
    from rnnkit.train.loop import Trainer

    run = tmp_path / "run"
    assert run_cli(capsys, _argv(tmp_path, run))[0] == 0
    original = Trainer._resume

    def resume_then_signal(self):
        original(self)
        os.kill(os.getpid(), signum)

    monkeypatch.setattr(Trainer, "_resume", resume_then_signal)
    got, _, err = run_cli(capsys, _argv(tmp_path, run) + ["--resume"])
    how = "terminated" if signum == signal.SIGTERM else "interrupted"
    assert got == code and "nothing to train" in err and f"{how} after step" in err, err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_run_started_with_sigint_ignored_keeps_ignoring_it(tmp_path, capsys, monkeypatch):
    """A background job (cmd &) starts with SIGINT ignored, so that the shell's Ctrl-C stops the script that
    started it only; the training put its own handler in and stopped at that Ctrl-C."""
    _signal_at(monkeypatch, 3, signal.SIGINT)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code, _, err = run_cli(capsys, _argv(tmp_path, tmp_path / "run"))
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 0 and "stopping after this step" not in err, err
