"""``train classifier --resume`` on a folder that holds the other kind of run: with --folds on a single
run it started a new cross-validation beside the run's checkpoints, and without --folds on a
cross-validation it read the data before saying "no checkpoint to resume from".  Both are refused in
one line, before the data are read, saying which kind the folder holds."""
from __future__ import annotations

from clirun import run_cli


def _argv(tmp_path) -> list[str]:
    rows = "".join(f"{'pos' if i % 2 else 'neg'}\t{'great' if i % 2 else 'dull'} film {i % 7}\n" for i in range(30))
    (tmp_path / "train.tsv").write_text(rows, encoding="utf-8")
    return ["train", "classifier", "--train", str(tmp_path / "train.tsv"), "--epochs", "1", "--embed", "4",
            "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]


def test_resume_with_folds_on_a_single_run_is_refused_and_keeps_it(tmp_path, capsys):
    argv, run = _argv(tmp_path), tmp_path / "run"
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(run)])
    assert code == 0, err
    before = sorted(p.name for p in run.iterdir())
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(run), "--folds", "3", "--resume"])
    assert code == 2 and "holds a single run, not a 3-fold cross-validation" in err, err
    assert "resume it without --folds" in err and "data:" not in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in run.iterdir()) == before  # no fold folder, no cross_validation.json


def test_resume_without_folds_on_a_cross_validation_names_its_folds(tmp_path, capsys):
    argv, run = _argv(tmp_path), tmp_path / "run"
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(run), "--folds", "3"])
    assert code == 0, err
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(run), "--resume"])
    assert code == 2 and "holds a 3-fold cross-validation" in err and "add --folds 3" in err, err
    assert "data:" not in err and "no checkpoint" not in err, err
