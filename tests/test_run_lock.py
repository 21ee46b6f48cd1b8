"""One training process per run folder: a second run into a folder in use stops with one line, and a
killed run leaves nothing locked."""
from __future__ import annotations

import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest
from clirun import run_cli

from rnnkit.errors import RunInUseError
from rnnkit.train.run_lock import make_run_folder, run_lock

pytest.importorskip("fcntl")  # no lock where there is no flock (Windows)


def _train(capsys, tmp_path, run):
    data = tmp_path / "train.txt"
    data.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 30, encoding="utf-8")
    return run_cli(capsys, ["train", "lm", "--train", str(data), "--epochs", "1", "--embed", "4", "--hidden", "4",
                            "--bptt", "4", "--batch-size", "2", "--progress", "none", "--run-dir", str(run)])


@contextmanager
def _held_elsewhere(run):
    """The run folder's lock held by another process for the ``with`` block (the lock is re-entrant
    within one process, so a second run must be another process to be refused)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom rnnkit.train.run_lock import run_lock\n"
         f"with run_lock({str(run)!r}):\n    print('locked', flush=True)\n    time.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)


def test_second_run_into_a_folder_in_use_stops_with_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    with _held_elsewhere(run) as pid:
        code, _, err = _train(capsys, tmp_path, run)
        errors = [line for line in err.splitlines() if line.startswith("rnnkit: error:")]
        assert code == 2 and len(errors) == 1, err
        assert f"in use by another training run (pid {pid}" in errors[0] and "--run-dir" in errors[0], err
        assert "vocabulary" not in err  # refused before it read its data
        assert not (run / "last.safetensors").exists()  # it did not start
        with pytest.raises(RunInUseError):
            with run_lock(run):
                pass
    code, _, err = _train(capsys, tmp_path, run)  # released: the folder trains again
    assert code == 0 and (run / "last.safetensors").exists(), err


def test_a_killed_run_leaves_the_folder_unlocked(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with _held_elsewhere(run) as pid:
        with pytest.raises(RunInUseError, match=rf"pid {pid}"):
            with run_lock(run):
                pass
    with run_lock(run):  # the holder was killed (SIGKILL): the kernel dropped the lock with the process
        pass


def test_cross_validation_locks_its_whole_folder_and_an_empty_run_dir_is_refused(tmp_path, capsys):
    rows = "".join(f"{'pos' if i % 2 else 'neg'}\t{'great' if i % 2 else 'dull'} film\n" for i in range(40))
    (tmp_path / "train.tsv").write_text(rows, encoding="utf-8")
    run = tmp_path / "cv"
    run.mkdir()
    argv = ["train", "classifier", "--train", str(tmp_path / "train.tsv"), "--folds", "2", "--epochs", "1",
            "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]
    with _held_elsewhere(run):
        code, out, err = run_cli(capsys, argv + ["--run-dir", str(run)])
    assert code == 2 and "in use by another training run" in err and "fold 1/2" not in out, (out, err)
    assert not (run / "fold1").exists()  # refused before any fold trained
    code, _, err = run_cli(capsys, argv + ["--run-dir", ""])
    assert code == 2 and "--run-dir" in err and "empty path" in err, err


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with run_lock(run):
        with run_lock(run):  # the command line's, then the training loop's
            pass
        with run_lock(str(run) + "/"):  # the same folder, spelled otherwise
            pass
    with run_lock(run):  # released by the outermost one
        pass


def _locked_by_another_process(run) -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom rnnkit.errors import RunInUseError\n"
         "from rnnkit.train.run_lock import run_lock\ntry:\n"
         f"    with run_lock({str(run)!r}):\n        pass\nexcept RunInUseError:\n    sys.exit(3)\n"],
        capture_output=True, text=True, timeout=60)
    assert probe.returncode in (0, 3), probe.stderr
    return probe.returncode == 3


def test_a_new_run_folder_is_made_and_locked_before_the_data_is_read(tmp_path):
    import argparse

    from rnnkit.cli.main import _early_lock

    def train_lm(args):  # the early lock applies to training commands, known by their function's name
        return 0

    run = tmp_path / "a" / "b" / "run"
    with _early_lock(train_lm, argparse.Namespace(run_dir=str(run))):
        assert run.is_dir() and _locked_by_another_process(run)  # a second run started now is refused
        (run / "metrics.jsonl").write_text("{}\n", encoding="utf-8")  # the run wrote something: it stays
    assert run.is_dir() and not _locked_by_another_process(run)


def test_a_command_that_fails_leaves_no_new_run_folder(tmp_path, capsys):
    run = tmp_path / "a" / "b" / "run"
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(tmp_path / "missing.txt"), "--run-dir", str(run)])
    assert code == 2 and "missing.txt" in err, err
    assert not (tmp_path / "a").exists()  # the folders it made for the lock are gone again
    data = tmp_path / "short.txt"
    data.write_text("a b c\n", encoding="utf-8")
    (tmp_path / "a").mkdir()
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(data), "--run-dir", str(run)])
    assert code == 2 and "batch" in err, err  # too short for one batch
    assert (tmp_path / "a").is_dir() and not (tmp_path / "a" / "b").exists()  # only what it made is removed


def test_a_model_too_large_for_memory_is_one_line(tmp_path, capsys):
    data = tmp_path / "train.txt"
    data.write_text("the cat sat on the mat\n" * 40, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(data), "--hidden", "100000000", "--bptt", "4",
                                    "--batch-size", "2", "--progress", "none", "--run-dir", str(tmp_path / "r")])
    errors = [line for line in err.splitlines() if line.startswith("rnnkit: error:")]
    assert code == 2 and len(errors) == 1 and "out of memory" in errors[0] and "--hidden" in errors[0], err
    assert "Traceback" not in err


def test_make_run_folder_returns_what_it_made_and_names_a_file_in_the_way(tmp_path):
    """The one run-folder check the command line and Trainer.fit share: made folders innermost first,
    an existing folder left alone, a file as the folder or above it refused in one line."""
    run = tmp_path / "a" / "b" / "run"
    assert make_run_folder(run) == [run, run.parent, run.parent.parent] and run.is_dir()
    assert make_run_folder(run) == []
    (tmp_path / "f").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match=r"f is a file, not a run folder; give run_dir \(--run-dir\) a folder"):
        make_run_folder(tmp_path / "f")
    with pytest.raises(ValueError, match=r"sub: .*f is a file, not a folder; give run_dir \(--run-dir\) a folder"):
        make_run_folder(tmp_path / "f" / "sub")
    assert not (tmp_path / "f" / "sub").exists()
