"""A training run's folder given where a command reads a model stands for its best.safetensors, else its
last.safetensors, as export takes it (one rule: rnnkit.checkpoint_files.find_checkpoint), with one line on
standard error naming the file read; a folder without them, a cross-validation's, is refused naming its folds."""
from __future__ import annotations

import shutil

import pytest
from clirun import run_cli
from test_export import models  # noqa: F401 (the fixture: a tiny model of each kind)

from rnnkit.checkpoint_files import find_checkpoint


def _commands(d):
    """(run folder, the command's arguments after the model) of each model-reading command."""
    return [(d / "lm", ["evaluate", str(d / "lm.txt")]), (d / "lm", ["score", str(d / "lm.txt")]),
            (d / "lm", ["generate", "--length", "20", "--seed", "3"]), (d / "lm", ["states", "--text", "the cat"]),
            (d / "tagger", ["tag", str(d / "lm.txt")]), (d / "cls", ["classify", str(d / "lm.txt"), "--probs"]),
            (d / "s2s", ["translate", str(d / "src.txt")]),
            (d / "s2s", ["evaluate", str(d / "src.txt"), "--ref", str(d / "ref.txt")])]


def test_a_run_folder_reads_its_best_else_last_checkpoint(models, capsys):  # noqa: F811
    read = set()
    for folder, (command, *rest) in _commands(models):
        file = find_checkpoint(folder)
        assert file.name == ("best.safetensors" if (folder / "best.safetensors").exists() else "last.safetensors")
        read.add(file.name)
        code, want, _ = run_cli(capsys, [command, str(file), *rest])
        assert code == 0
        code, got, err = run_cli(capsys, [command, str(folder), *rest])
        assert code == 0 and got == want and want.strip(), (command, err)
        said = [line for line in err.splitlines() if line.startswith(f"rnnkit: reading {folder}: its {file.name}")]
        assert len(said) == 1, err
    assert read == {"best.safetensors", "last.safetensors"}  # the tagger's and translator's runs had no validation
    code, _, err = run_cli(capsys, ["evaluate", str(models / "lm"), str(models / "lm.txt"), "--interpolate",
                                    str(models / "lm")])
    assert code == 0 and err.count(": its best.safetensors") == 2, err


def test_a_folder_without_checkpoints_is_refused_naming_a_cross_validations_folds(models, tmp_path, capsys):  # noqa: F811
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(capsys, ["translate", str(empty), str(models / "src.txt")])
    assert code == 2 and err.count("\n") == 1 and "no best.safetensors or last.safetensors in it" in err, err
    folds = tmp_path / "cv"
    for k in (1, 2):
        (folds / f"fold{k}").mkdir(parents=True)
        shutil.copy(models / "cls" / "last.safetensors", folds / f"fold{k}" / "best.safetensors")
    code, _, err = run_cli(capsys, ["classify", str(folds), str(models / "lm.txt")])
    assert code == 2 and err.count("\n") == 1, err
    assert f"is a 2-fold cross-validation run: its models are {folds / 'fold1' / 'best.safetensors'} to" in err


@pytest.mark.parametrize("last", [False, True])
def test_export_still_reads_the_folder_itself(models, tmp_path, capsys, last):  # noqa: F811
    out = tmp_path / "m.safetensors"
    code, _, err = run_cli(capsys, ["export", str(models / "lm"), "-o", str(out), *(["--last"] if last else [])])
    assert code == 0 and "rnnkit: reading" not in err, err
    assert f"read {find_checkpoint(models / 'lm', last)}" in err, err
