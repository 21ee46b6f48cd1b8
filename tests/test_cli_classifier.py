"""End to end through ``rnnkit.cli.main.main``: train classifier, classify, evaluate, cross-validation folds."""
from __future__ import annotations

import io
import re

import numpy as np
from clirun import SMALL, run_cli

from rnnkit.checkpoint import load_checkpoint


def _cue_rows(n=120, seed=3):
    """label<TAB>text lines whose label is given away by one cue word among filler."""
    rng = np.random.default_rng(seed)
    filler = "the a movie plot it was is and".split()
    rows = []
    for _ in range(n):
        label = ["pos", "neg"][int(rng.integers(2))]
        cue = "great" if label == "pos" else "dull"
        words = list(rng.choice(filler, 4))
        words.insert(int(rng.integers(5)), cue)
        rows.append(f"{label}\t{' '.join(words)}\n")
    return rows


def test_classifier_train_evaluate_classify_and_folds(tmp_path, capsys, monkeypatch):
    rows = _cue_rows()
    (tmp_path / "train.tsv").write_text("".join(rows[:90]), encoding="utf-8")
    (tmp_path / "test.tsv").write_text("".join(rows[90:]), encoding="utf-8")
    run = tmp_path / "cls"
    code, out, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "train.tsv"),
                                   "--test", str(tmp_path / "test.tsv"), "--epochs", "4", "--lr", "0.03",
                                   "--run-dir", str(run), *SMALL])
    assert code == 0, err
    # the data line counts tokens and types; English text is not taken for unsegmented Chinese
    assert re.search(r"^data: 90 texts, [\d,]+ words, \d+ word types$", err, re.M), err
    # no warning but that 9 held-out texts are few (the data is small on purpose)
    assert [w for w in err.splitlines() if "warning" in w] == [w for w in err.splitlines() if "held out to pick" in w]
    assert re.search(r"test: accuracy [\d.]+%, macro-F1", out) and "confusion matrix" in out, out
    model = str(run / "best.safetensors")
    code, out, _ = run_cli(capsys, ["evaluate", model, str(tmp_path / "test.tsv")])
    assert code == 0 and float(re.search(r"accuracy ([\d.]+)%", out).group(1)) > 90, out
    monkeypatch.setattr("sys.stdin", io.StringIO("the movie was great\nit was dull\n"))
    code, out, _ = run_cli(capsys, ["classify", model, "--probs"])
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("pos\t") and lines[1].startswith("neg\t"), out
    probs = [float(x.split(":")[1]) for x in lines[0].split("\t")[1].split()]
    assert abs(sum(probs) - 1) < 1e-3

    pos, neg = tmp_path / "p.txt", tmp_path / "n.txt"
    pos.write_bytes("".join(r.split("\t")[1] for r in rows if r.startswith("pos")).encode("cp1252"))
    neg.write_bytes("".join(r.split("\t")[1] for r in rows if r.startswith("neg")).replace("dull", "dull caf\u00e9")
                    .encode("cp1252"))
    argv = ["train", "classifier", "--format", "polarity", "--pos", str(pos), "--neg", str(neg), "--folds", "2",
            "--epochs", "2", "--lr", "0.03", "--run-dir", str(tmp_path / "cv"), *SMALL]
    code, out, err = run_cli(capsys, argv)
    assert code == 2 and re.search(r"n\.txt:\d+: .*cp1252", err) and len(err.strip().splitlines()) == 1, err
    code, out, err = run_cli(capsys, argv + ["--encoding", "cp1252"])
    assert code == 0 and re.search(r"2-fold cross-validation: accuracy [\d.]+% \(std [\d.]+\)", out), err
    assert out.count("fold ") >= 2
    cv = tmp_path / "cv"
    assert f"models, one a fold: {cv / 'fold1' / 'best.safetensors'} to {cv / 'fold2' / 'best.safetensors'}" in err
    for given in (cv, cv / "best.safetensors"):  # the run's folder holds no model: its folds' models are named
        code, _, err = run_cli(capsys, ["classify", str(given), str(pos)])
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"2-fold cross-validation run: its models are {cv / 'fold1' / 'best.safetensors'} to " \
               f"{cv / 'fold2' / 'best.safetensors'}" in err, err


def test_train_with_weight_average_and_word_dropout(tmp_path, capsys):
    rows = _cue_rows()
    (tmp_path / "train.tsv").write_text("".join(rows[:90]), encoding="utf-8")
    (tmp_path / "test.tsv").write_text("".join(rows[90:]), encoding="utf-8")
    run = tmp_path / "avg"
    code, out, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "train.tsv"), "--epochs", "4",
                                   "--lr", "0.03", "--average", "0.9", "--word-dropout", "0.1", "--weight-drop", "0.2",
                                   "--run-dir", str(run), *SMALL])
    assert code == 0, err
    arrays, meta = load_checkpoint(run / "best.safetensors")
    assert meta["train_config"]["average"] == 0.9
    assert meta["task"]["classifier_config"]["weight_drop"] == 0.2
    assert meta["task"]["word_dropout"] == 0.1  # the checkpoint says how it was trained
    raw = {k[4:]: v for k, v in arrays.items() if k.startswith("raw/")}
    model = {k[6:]: v for k, v in arrays.items() if k.startswith("model/")}
    assert raw.keys() == model.keys() and any(not np.array_equal(raw[k], model[k]) for k in raw)
    code, out, _ = run_cli(capsys, ["evaluate", str(run / "best.safetensors"), str(tmp_path / "test.tsv")])
    assert code == 0 and float(re.search(r"accuracy ([\d.]+)%", out).group(1)) > 90, out
    code, out, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "train.tsv"),
                                   "--average", "1.5", "--run-dir", str(run), *SMALL])
    errors = [line for line in err.splitlines() if "error" in line]
    assert code == 2 and len(errors) == 1 and "average" in errors[0] and "got 1.5" in errors[0], err


def test_a_label_only_in_test_is_warned_of_as_the_data_load(tmp_path, capsys):
    rows = _cue_rows(60)
    (tmp_path / "train.tsv").write_text("".join(rows[:40]), encoding="utf-8")
    (tmp_path / "test.tsv").write_text("".join(rows[40:]) + "neutral\tthe plot\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "train.tsv"), "--test",
                                      str(tmp_path / "test.tsv"), "--epochs", "1", "--run-dir", str(tmp_path / "r"),
                                      *SMALL])
    assert code == 0 and "test: accuracy" in out, err
    lines = err.splitlines()
    warned = [k for k, line in enumerate(lines) if "a label the training data lack ('neutral'" in line]
    data = [k for k, line in enumerate(lines) if line.startswith("data: ")]
    assert len(warned) == 1 and warned[0] < data[0], err  # before the training, not after it
    assert f"{tmp_path / 'test.tsv'}:21:" in lines[warned[0]], err
