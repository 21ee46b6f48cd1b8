"""A run trained with validation data that stopped before its first epoch's end (``--max-steps``, or killed) has
validated nothing yet: ``rnnkit info`` and ``rnnkit export`` said it "had no validation" (trained without
validation data), for every kind of run.  And ``rnnkit info RUN_DIR`` takes a run folder, as export does."""
from __future__ import annotations

import json
import re

import pytest
from clirun import SMALL, error_line, info_row, run_cli, toy_task_files

from rnnkit.cli.main import main



@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """For each kind, a run with --valid stopped after one step of its first epoch (of 10 steps), and one
    without --valid stopped alike."""
    d = tmp_path_factory.mktemp("unvalidated")
    toy_task_files(d, tag_sentences=None)
    data = {"tagger": "tag.conllu", "lm": "lm.txt", "classifier": "cls.tsv", "seq2seq": "s2s.tsv"}
    extra = {"lm": ["--level", "word", "--bptt", "5"]}
    for kind, name in data.items():
        for valid in (True, False):
            argv = ["train", kind, "--train", str(d / name), *SMALL, "--epochs", "2", "--max-steps", "1",
                    *extra.get(kind, []), "--run-dir", str(d / f"{kind}-{valid}")]
            # a classifier holds out --valid-fraction of its training data without --valid
            alone = ["--valid-fraction", "0"] if kind == "classifier" else []
            assert main(argv + (["--valid", str(d / name)] if valid else alone)) == 0, argv
    return d


@pytest.mark.parametrize("kind", ["tagger", "lm", "classifier", "seq2seq"])
def test_a_run_stopped_before_its_first_validation_is_not_said_to_have_none(runs, tmp_path, capsys, kind):
    run = runs / f"{kind}-True"
    assert not (run / "best.safetensors").exists()
    code, out, err = run_cli(capsys, ["info", str(run / "last.safetensors")])
    assert code == 0, err
    best = info_row(out, "best")
    assert "no epoch validated yet (stopped at step 1, before epoch 1's end)" in best, best
    assert "without validation" not in best
    code, out, err = run_cli(capsys, ["info", "--json", str(run / "last.safetensors")])
    assert json.loads(out)["training"]["validation"] is True and json.loads(out)["training"]["unvalidated"] is True
    code, _, err = run_cli(capsys, ["export", str(run), "-o", str(tmp_path / "m.safetensors")])
    assert code == 0, err
    assert "no best.safetensors: no epoch validated yet (stopped at step 1, before epoch 1's end); its last " \
           "state is exported" in err, err
    assert "it had no validation" not in err
    # the control: a run without --valid is said to have had none, as before
    plain = runs / f"{kind}-False"
    code, out, err = run_cli(capsys, ["info", str(plain / "last.safetensors")])
    assert info_row(out, "best").startswith("no validation figure (trained without validation data)")
    code, _, err = run_cli(capsys, ["export", str(plain), "-o", str(tmp_path / "p.safetensors")])
    assert code == 0 and "no best.safetensors: it had no validation" in err, err


def test_info_of_a_run_folder_describes_its_best_else_its_last_checkpoint(runs, tmp_path, capsys):
    code, out, err = run_cli(capsys, ["info", str(runs / "tagger-True")])
    assert code == 0, err
    assert info_row(out, "run") == f"{runs / 'tagger-True'}: its last.safetensors (the run holds no best.safetensors)"
    assert info_row(out, "file").startswith(str(runs / "tagger-True" / "last.safetensors"))
    done = tmp_path / "done"  # a run that validated an epoch: its best.safetensors
    assert main(["train", "tagger", "--train", str(runs / "tag.conllu"), "--valid", str(runs / "tag.conllu"),
                 *SMALL, "--epochs", "1", "--run-dir", str(done)]) == 0
    capsys.readouterr()
    code, out, err = run_cli(capsys, ["info", str(done)])
    assert code == 0, err
    assert info_row(out, "run").startswith(f"{done}: its best.safetensors, the one validation chose")
    assert info_row(out, "file").startswith(str(done / "best.safetensors"))
    # as the epoch lines show it: a percentage with two decimals, not the stored fraction
    assert re.fullmatch(r"validation accuracy \d+\.\d\d% at epoch 1", info_row(out, "best")), info_row(out, "best")
    code, out, err = run_cli(capsys, ["info", "--json", str(done)])
    info = json.loads(out)
    assert info["run_folder"] == str(done) and info["file"] == str(done / "best.safetensors")
    code, out, err = run_cli(capsys, ["info", "--json", str(done / "best.safetensors")])
    assert json.loads(out)["run_folder"] is None
    code, _, err = run_cli(capsys, ["info", str(tmp_path)])  # a folder without checkpoints: one line
    error_line(code, err, f"{tmp_path}: no best.safetensors or last.safetensors in it")


def test_info_and_export_read_unvalidated_from_the_one_field(runs, tmp_path, capsys, monkeypatch):
    """"Has validation data and no epoch ended" was computed twice (export and info); both now read
    checkpoint_info.training()'s field: with it turned off, neither says the run is unvalidated."""
    import rnnkit.checkpoint_info as checkpoint_info

    training = checkpoint_info.training
    monkeypatch.setattr(checkpoint_info, "training", lambda meta: {**training(meta), "unvalidated": False})
    run = runs / "tagger-True"
    code, out, err = run_cli(capsys, ["info", str(run / "last.safetensors")])
    assert code == 0 and "no epoch validated yet" not in info_row(out, "best"), out
    code, _, err = run_cli(capsys, ["export", str(run), "-o", str(tmp_path / "m.safetensors")])
    assert code == 0 and "no epoch validated yet" not in err, err
