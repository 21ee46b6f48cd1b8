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
    assert code == 0 and "none yet: the run has not finished (2 of 2 folds have a model" in out, out
