"""``rnnkit info`` of a cross-validation folder: its folds' scores, mean and standard deviation."""
from __future__ import annotations

import json
import re

import numpy as np
from clirun import SMALL, run_cli


def test_info_summarises_a_cross_validation_folder(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [f"{lab}\t{'great' if lab == 'pos' else 'dull'} the movie {int(rng.integers(9))}\n"
            for lab in rng.choice(["pos", "neg"], 40)]
    (tmp_path / "t.tsv").write_text("".join(rows), encoding="utf-8")
    run = tmp_path / "cv"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "t.tsv"), "--folds", "2",
                                    "--epochs", "1", "--run-dir", str(run), *SMALL])
    assert code == 0, err
    record = json.loads((run / "cross_validation.json").read_text())
    code, out, err = run_cli(capsys, ["info", str(run)])
    assert code == 0 and "export one of them" not in out + err, err
    acc = [100 * f["accuracy"] for f in record["per_fold"]]
    line = re.search(r"^accuracy +(.*)$", out, re.M).group(1)
    assert line == (f"{100 * record['mean']['accuracy']:.2f}% (std {100 * record['std']['accuracy']:.2f}), mean of "
                    f"the folds' {acc[0]:.2f}%, {acc[1]:.2f}%"), out  # as training says it
    assert re.search(r"^macro_f1 +[\d.]+ \(std [\d.]+\), mean of", out, re.M), out
    assert "2-fold cross-validation" in out and f"{run / 'fold1' / 'best.safetensors'} to" in out, out
    code, out, _ = run_cli(capsys, ["info", "--json", str(run)])
    info = json.loads(out)
    assert info["kind"] == "cross-validation" and info["mean"] == record["mean"] and len(info["models"]) == 2
    # a run not finished yet has no results in its record: said so
    (run / "cross_validation.json").write_text(json.dumps({"folds": 2, "fold_seed": 0}))
    code, out, _ = run_cli(capsys, ["info", str(run)])
    assert code == 0 and "none yet: the run has not finished; folds 1-2 of 2 have a model; --resume" in out, out
    (run / "fold2" / "best.safetensors").unlink()  # a fold under way: its folder, no model yet
    code, out, _ = run_cli(capsys, ["info", str(run)])
    assert code == 0 and "fold 1 of 2 has a model, fold 2 started without one; --resume with" in out, out


def test_which_folds_have_a_model_is_said_as_runs(tmp_path):
    from rnnkit.cli.info_crossval import fold_states

    for i in (1, 2, 3, 5):
        (tmp_path / f"fold{i}").mkdir()
        if i < 5:
            (tmp_path / f"fold{i}" / "best.safetensors").write_bytes(b"")
    (tmp_path / "fold2" / "best.safetensors").unlink()
    assert fold_states(tmp_path, 7) == ("folds 1, 3 of 7 have a model, folds 2, 5 started without one, "
                                        "folds 4, 6-7 not started")
