"""An output path that ends in a separator (``newdir/``) names a folder: every command refuses it in one line,
before any work, rather than writing a file named ``newdir``."""
from __future__ import annotations

import os

import pytest
from clirun import run_cli

from rnnkit.data.files import check_output_path


def test_a_path_ending_in_a_separator_is_refused_whether_or_not_it_exists(tmp_path):
    (tmp_path / "f.txt").write_text("kept\n", encoding="utf-8")
    for given, said in [(f"{tmp_path}/newdir/", "names a folder"), (f"{tmp_path}/f.txt/", "names a folder"),
                        (f"{tmp_path}/", "is a folder")]:
        with pytest.raises(ValueError, match=f"^-o {given} {said}; give a file name, e.g. .*model.safetensors$"):
            check_output_path(given, "-o", make_folders=True, suffix=".safetensors")
    with pytest.raises(ValueError, match=r"--output x/ names a folder; give a file name, e.g. x/output\.txt"):
        check_output_path("x/", "--output", make_folders=True)
    check_output_path(f"{tmp_path}/newdir/model.safetensors", "-o", make_folders=True, suffix=".safetensors")
    assert sorted(os.listdir(tmp_path)) == ["f.txt"]  # the check made nothing


def test_commands_refuse_an_output_ending_in_a_separator_and_write_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.txt").write_text("a b c\nb c d\n" * 5, encoding="utf-8")
    code, _, err = run_cli(capsys, ["step", "--cell", "gru", "--save-weights", "sw/"])
    assert code == 2 and err == "rnnkit: error: --save-weights sw/ names a folder; give a file name, e.g. " \
                                "sw/weights.json\n", err
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", "t.txt", "--order", "2", "--save", "ng/"])
    assert code == 2 and "--save ng/ names a folder; give a file name, e.g. ng/model.safetensors" in err, err
    code, _, err = run_cli(capsys, ["train", "lm", "--train", "t.txt", "--embed", "3", "--hidden", "3", "--bptt", "3",
                                    "--batch-size", "2", "--epochs", "1", "--progress", "none", "--run-dir", "run/"])
    assert code == 0, err  # a run folder is a folder: the separator is welcome there
    code, _, err = run_cli(capsys, ["export", "run/", "-o", "newdir/"])
    assert code == 2 and err.count("\n") == 1 and "-o newdir/ names a folder; give a file name, e.g. " \
                                                  "newdir/model.safetensors" in err, err
    code, _, err = run_cli(capsys, ["export", "run", "-o", "newdir/", "--torch"])
    assert code == 2 and "-o newdir/ names a folder" in err, err
    assert sorted(os.listdir(tmp_path)) == ["run", "t.txt"]
    code, _, err = run_cli(capsys, ["export", "run", "-o", "newdir/lm.safetensors"])
    assert code == 0 and (tmp_path / "newdir" / "lm.safetensors").is_file(), err
