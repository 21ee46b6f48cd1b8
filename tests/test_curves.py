"""``rnnkit curves`` (learning curves from metrics logs) and ``rnnkit gradflow --plot``."""
from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.diagnostics_plot import plot_gradient_flow
from rnnkit.errors import DataError
from rnnkit.train.curves import best_epoch, plot_curves, read_run, summary_lines, valid_metrics

PNG = b"\x89PNG\r\n\x1a\n"


def _log(path, valid, accuracy=True, train_every=5, steps_per_epoch=10):
    """A metrics.jsonl as the training loop writes it: train records, then an epoch record per epoch."""
    lines, best = [], float("inf")
    for e, v in enumerate(valid, start=1):
        for s in range((e - 1) * steps_per_epoch + train_every, e * steps_per_epoch + 1, train_every):
            lines.append({"type": "train", "epoch": e, "step": s, "loss": 2.0 / s, "lr": 0.1, "grad_norm": 1.0})
        rec = {"type": "epoch", "epoch": e, "step": e * steps_per_epoch, "train_loss": 1.0 / e, "lr": 0.1,
               "valid_loss": v, "best": v < best, "train_seconds": 1.0, "valid_seconds": 0.1, "time": "x"}
        if accuracy:
            rec["valid_accuracy"] = 1.0 - v
        best = min(best, v)
        lines.append(rec)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def test_read_run_and_summary_name_the_best_checkpoints_epoch(tmp_path):
    _log(tmp_path / "a" / "metrics.jsonl", [0.9, 0.5, 0.6, 0.4, 0.45])
    _log(tmp_path / "b.jsonl", [0.8, 0.7], accuracy=False)
    a, b = read_run(tmp_path / "a"), read_run(tmp_path / "b.jsonl", name="second")
    assert a.name == "a" and b.name == "second"
    assert a.steps.tolist() == list(range(5, 51, 5)) and np.allclose(a.losses, 2.0 / a.steps)
    assert best_epoch(a)["epoch"] == 4 and best_epoch(b)["epoch"] == 2
    assert valid_metrics([a]) == ["loss", "accuracy"] and valid_metrics([a, b]) == ["loss"]
    header, row_a, row_b = summary_lines([a, b])
    assert row_a.split() == ["a", "5", "0.2000", "epoch", "5", "mean", "4", "0.4000", "0.4500"], row_a
    assert row_b.split() == ["second", "2", "0.5000", "epoch", "2", "mean", "2", "0.7000", "0.7000"], row_b
    assert summary_lines([a], "accuracy")[1].split()[-2:] == ["60.00%", "55.00%"]  # as training prints them
    # columns two spaces apart at least: the headers of several words, and "epoch 5 mean", stay one cell each
    cells = [re.split(r"\s{2,}", line.strip()) for line in (header, row_a)]
    assert cells == [["run", "epochs", "last train loss", "train loss of", "best epoch", "valid loss (best)",
                      "valid loss (last)"], ["a", "5", "0.2000", "epoch 5 mean", "4", "0.4000", "0.4500"]], cells
    records = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    with_f1 = [{**r, "valid_macro_f1": r["valid_accuracy"]} if r["type"] == "epoch" else r for r in records]
    (tmp_path / "f" / "metrics.jsonl").parent.mkdir()
    (tmp_path / "f" / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in with_f1))
    # an F1 score times 100 without %, as training and the reports print it (macro-F1 52.60)
    assert summary_lines([read_run(tmp_path / "f")], "macro_f1")[1].split()[-2:] == ["60.00", "55.00"]


def test_summary_columns_line_up_with_chinese_run_names(tmp_path):
    """Run names are padded by display width (a Chinese character takes two columns), so every line
    of the table is equally wide and each column starts at the same place."""
    from rnnkit.textwidth import display_width

    _log(tmp_path / "中文模型" / "metrics.jsonl", [0.9, 0.5])
    _log(tmp_path / "charlm" / "metrics.jsonl", [0.8, 0.7])
    lines = summary_lines([read_run(tmp_path / "中文模型"), read_run(tmp_path / "charlm")])
    assert len({display_width(line) for line in lines}) == 1, lines
    assert display_width(lines[1][:lines[1].index(" 2 ")]) == display_width(lines[2][:lines[2].index(" 2 ")])
    assert display_width("中文") == 4 and display_width("e\u0301") == 1 and display_width("😀") == 2


@pytest.mark.parametrize("content,message", [
    ('{"type": "train", "step": 1, "loss": 2.0}\n{"type": "epoch", "epoch": 1}\n', r"line 2: not a metrics record"),
    ("not json\n", r"line 1: not a metrics record"),
    ('{"type": "epoch", "epoch": 1, "step": 2, "valid_loss": "low"}\n', r"line 1: not a metrics record"),
    ("\n", r"no training or epoch records"),
])
def test_bad_logs_are_one_clear_line(tmp_path, content, message):
    path = tmp_path / "metrics.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_run(tmp_path)
    with pytest.raises(DataError, match="no such file; give a run folder"):
        read_run(tmp_path / "missing")


def test_a_run_that_logged_nothing_is_said_so(tmp_path):
    """A 3-step run (fewer than --log-every, no epoch end) has checkpoints but no log: 'no such file;
    give a run folder' blamed a run folder."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.safetensors").write_bytes(b"")
    with pytest.raises(DataError, match=r"a run folder whose run logged nothing .*log_every \(--log-every\) steps .* "
                                        "smaller log_every"):
        read_run(run)


def test_curves_command_prints_the_table_and_writes_the_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    _log(tmp_path / "r1" / "metrics.jsonl", [0.9, 0.5, 0.6])
    _log(tmp_path / "r2" / "metrics.jsonl", [0.8, 0.7, 0.65, 0.6])
    out_png = tmp_path / "curves.png"
    code, out, err = run_cli(capsys, ["curves", str(tmp_path / "r1"), str(tmp_path / "r2"), "--metric", "accuracy",
                                      "--labels", "small,large", "-o", str(out_png)])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split()[:7] == ["small", "3", "0.3333", "epoch", "3", "mean", "2"]
    assert lines[2].split()[:7] == ["large", "4", "0.2500", "epoch", "4", "mean", "4"]
    assert out_png.read_bytes()[:8] == PNG and out_png.stat().st_size > 5000
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind

    code, _, err = run_cli(capsys, ["curves", str(tmp_path / "r1"), "--metric", "bleu"])
    assert code == 2 and "one of the validation metrics every run reports (loss, accuracy), got 'bleu'" in err
    code, _, err = run_cli(capsys, ["curves", str(tmp_path / "r1"), "--labels", "a,b"])
    assert code == 2 and "one --labels name per run (1), got 2" in err
    # a plot file that cannot be written is refused before the table (it came after, or not at all)
    for target, said in (("", "argument --output: expected a value, got an empty string"),
                         ("c.txt", "matplotlib does not write .txt files"),
                         (str(tmp_path / "r1" / "metrics.jsonl" / "c.png"), "metrics.jsonl is a file, not a folder")):
        code, out, err = run_cli(capsys, ["curves", str(tmp_path / "r1"), "-o", target])
        assert code == 2 and out == "" and said in err, (target, err)
    code, out, err = run_cli(capsys, ["gradflow", "--steps", "3", "--plot", "flow.txt"])
    assert code == 2 and out == "" and "--plot flow.txt: matplotlib does not write .txt" in err, err


def test_a_run_still_in_its_first_epoch_sits_beside_finished_ones(tmp_path, capsys):
    _log(tmp_path / "done" / "metrics.jsonl", [0.9, 0.5])
    young = tmp_path / "young" / "metrics.jsonl"
    young.parent.mkdir()
    young.write_text('{"type": "train", "epoch": 1, "step": 5, "loss": 3.0}\n', encoding="utf-8")
    runs = [read_run(tmp_path / "done"), read_run(young.parent)]
    assert valid_metrics(runs) == ["loss", "accuracy"]  # the young run does not narrow them
    code, out, err = run_cli(capsys, ["curves", str(tmp_path / "done"), str(young.parent), "--metric", "accuracy"])
    assert code == 0, err
    assert out.splitlines()[2].split() == ["young", "0", "3.0000", "epoch", "1", "step", "5", "-", "-", "-"]
    code, out, err = run_cli(capsys, ["curves", str(young.parent)])  # no epoch anywhere yet: the table still
    assert code == 0 and out.splitlines()[1].split()[:3] == ["young", "0", "3.0000"], err


def test_curves_of_a_real_training_run(tmp_path, capsys):
    rows = "".join(f"{'pos' if i % 2 else 'neg'}\t{'great' if i % 2 else 'dull'} movie {i % 7}\n" for i in range(60))
    (tmp_path / "t.tsv").write_text(rows, encoding="utf-8")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "t.tsv"), "--epochs", "3",
                                    "--embed", "8", "--hidden", "8", "--batch-size", "8", "--log-every", "2",
                                    "--progress", "none", "--run-dir", str(run)])
    assert code == 0, err
    code, out, err = run_cli(capsys, ["curves", str(run), "--metric", "accuracy"])
    assert code == 0 and out.splitlines()[1].split()[:2] == ["run", "3"], out + err


def test_gradflow_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "flow.png"
    code, out, err = run_cli(capsys, ["gradflow", "--all-cells", "--steps", "20", "--plot", str(path)])
    assert code == 0 and f"plot written: {path}" in out, err
    assert path.read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match=r"norms\['rnn'\] to be a 1-D array"):
        plot_gradient_flow({"rnn": np.ones((2, 3))}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="last \\(at the loss\\) > 0"):
        plot_gradient_flow({"rnn": np.array([1.0, 0.0])}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_missing_matplotlib_is_one_line_with_the_install_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes "import matplotlib" fail
    code, out, err = run_cli(capsys, ["gradflow", "--steps", "5", "--plot", str(tmp_path / "f.png")])
    assert code == 2 and err.strip() == ("rnnkit: error: plots need matplotlib: pip install 'rnnkit[plot]' "
                                         "(or pip install matplotlib)"), err


def test_a_plot_path_that_cannot_be_written_names_it(tmp_path, capsys):
    """Not the temporary file the atomic write uses, and a folder is said to be one; a missing folder is made."""
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    code, _, err = run_cli(capsys, ["gradflow", "--steps", "5", "--plot", str(tmp_path / "afile" / "f.png")])
    assert code == 2 and f"--plot {tmp_path / 'afile' / 'f.png'}: {tmp_path / 'afile'} is a file, not a folder" in err
    assert ".tmp" not in err, err
    code, _, err = run_cli(capsys, ["gradflow", "--steps", "5", "--plot", str(tmp_path / "no" / "such" / "f.png")])
    assert code == 0 and (tmp_path / "no" / "such" / "f.png").stat().st_size > 0, err
    code, _, err = run_cli(capsys, ["gradflow", "--steps", "5", "--plot", str(tmp_path)])
    assert code == 2 and f"--plot {tmp_path} is a folder; give a file name, e.g." in err, err


def test_default_metric_is_loss_where_reported_else_the_first_shared_one(tmp_path, capsys):
    """A tagger logs accuracy / F1 and no validation loss; curves without --metric shows its accuracy."""
    path = _log(tmp_path / "tagger" / "metrics.jsonl", [0.3, 0.2])
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for r in rows:
        r.pop("valid_loss", None)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, err = run_cli(capsys, ["curves", str(path.parent)])
    assert code == 0 and "valid accuracy (best)" in out and out.splitlines()[1].split()[-1] == "80.00%", out + err
    _log(tmp_path / "lm" / "metrics.jsonl", [0.3, 0.2])
    code, out, err = run_cli(capsys, ["curves", str(tmp_path / "lm")])
    assert code == 0 and "valid loss (best)" in out, out + err


def test_default_metric_is_the_one_that_chose_the_best_checkpoint(tmp_path, capsys):
    """A tree or classifier run picks its best checkpoint by accuracy while logging a loss too: curves showed
    the loss, whose 'best' was then higher than its last."""
    from rnnkit.train.curves import read_run, selecting_metric

    path = _log(tmp_path / "tree" / "metrics.jsonl", [1.50, 1.39, 1.42])
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for r, acc, best in zip((r for r in rows if r["type"] == "epoch"), (0.34, 0.20, 0.31), (True, False, False)):
        r.update(valid_accuracy=acc, best=best)  # best by accuracy (epoch 1), not by loss (epoch 2)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert selecting_metric(read_run(path.parent)) == "accuracy"
    code, out, err = run_cli(capsys, ["curves", str(path.parent)])
    assert code == 0 and "valid accuracy (best)" in out and out.splitlines()[1].split()[-2:] == ["34.00%", "31.00%"]
    assert selecting_metric(read_run(_log(tmp_path / "lm" / "metrics.jsonl", [0.3, 0.2, 0.25]).parent)) == "loss"


def test_the_metric_an_epoch_record_names_beats_one_whose_marks_only_happen_to_match(tmp_path, capsys):
    """A tree run selected by root macro-F1 whose node accuracy rose exactly when macro-F1 did: the guess
    took node_accuracy (sorted first); the records' selected_by names root_macro_f1."""
    from rnnkit.train.curves import read_run, selecting_metric

    path = _log(tmp_path / "tree" / "metrics.jsonl", [1.50, 1.39, 1.42], accuracy=False)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    epochs = [r for r in rows if r["type"] == "epoch"]
    for r, node, f1, best in zip(epochs, (0.6, 0.7, 0.65), (0.3, 0.4, 0.35), (True, True, False)):
        r.update(valid_node_accuracy=node, valid_root_macro_f1=f1, best=best)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert selecting_metric(read_run(path.parent)) == "loss"  # the loss fits the marks too: guessed first
    for r in epochs:
        r["selected_by"] = "root_macro_f1"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert selecting_metric(read_run(path.parent)) == "root_macro_f1"
    del epochs[0]["selected_by"]  # a run of an earlier version resumed by this one: its first epoch unnamed
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert selecting_metric(read_run(path.parent)) == "root_macro_f1"
    code, out, err = run_cli(capsys, ["curves", str(path.parent)])
    assert code == 0 and "valid root_macro_f1 (best)" in out, out + err


def test_chinese_run_names_get_one_warning_at_most_and_a_plot(tmp_path, capsys):
    """matplotlib warned once per missing glyph and drew boxes; now a font that has them is used, or
    one warning says which characters are spelled as code points."""
    pytest.importorskip("matplotlib")
    _log(tmp_path / "运行" / "metrics.jsonl", [0.9, 0.5])
    _log(tmp_path / "en" / "metrics.jsonl", [0.8, 0.6], train_every=100)  # no step logged: epoch losses drawn
    out_png = tmp_path / "zh.png"
    code, _, err = run_cli(capsys, ["curves", str(tmp_path / "运行"), str(tmp_path / "en"), "--labels", "中文,英文",
                                    "-o", str(out_png)])
    assert code == 0 and out_png.read_bytes()[:8] == PNG, err
    assert "Glyph" not in err and err.count("warning") <= 1, err


def test_a_cross_validation_folder_points_to_its_folds(tmp_path):
    for k in (1, 2, 10):
        _log(tmp_path / "cv" / f"fold{k}" / "metrics.jsonl", [0.9, 0.5])
    with pytest.raises(DataError, match=r"cv: a cross-validation's folder.*e.g. \S+fold1 \S+fold2 \S+fold10$"):
        read_run(tmp_path / "cv")


def test_a_plot_file_gets_the_permissions_the_umask_gives(tmp_path):
    """Written like any other output file (0666 less the umask), not 0600 as a temporary file is, and
    with no temporary file left beside it."""
    import os

    pytest.importorskip("matplotlib")
    from rnnkit.plotting import new_figure, save_figure

    old = os.umask(0o022)
    try:
        path = save_figure(new_figure(2, 2), tmp_path / "p.png")
    finally:
        os.umask(old)
    assert path.read_bytes().startswith(b"\x89PNG") and (path.stat().st_mode & 0o777) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]


def test_runs_without_a_shared_metric_or_with_empty_labels_are_refused(tmp_path, capsys):
    """A language model's run beside a tagger's accepted any --metric (even 'nope') and printed '-'."""
    tagger = _log(tmp_path / "tagger" / "metrics.jsonl", [0.3, 0.2])
    rows = [json.loads(line) for line in tagger.read_text(encoding="utf-8").splitlines()]
    tagger.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "valid_loss"}) + "\n" for r in rows),
                      encoding="utf-8")
    _log(tmp_path / "lm" / "metrics.jsonl", [0.3, 0.2], accuracy=False)
    for extra in ([], ["--metric", "nope"], ["--metric", "accuracy"]):
        code, _, err = run_cli(capsys, ["curves", str(tmp_path / "lm"), str(tmp_path / "tagger"), *extra])
        assert code == 2 and "no validation metric in common (lm: loss; tagger: accuracy)" in err, err
    code, _, err = run_cli(capsys, ["curves", str(tmp_path / "lm"), "--metric", "nope"])
    assert code == 2 and "got 'nope'" in err, err
    blind = tmp_path / "blind" / "metrics.jsonl"  # epochs without validation: said so, not "of one kind"
    blind.parent.mkdir()
    blind.write_text("".join(json.dumps({k: v for k, v in r.items() if not k.startswith("valid")}) + "\n"
                             for r in rows), encoding="utf-8")
    code, _, err = run_cli(capsys, ["curves", str(tmp_path / "lm"), str(blind.parent)])
    assert code == 2 and ("(lm: loss; blind: none); blind trained without validation data (--valid): leave it out, "
                          "or train with --valid") in err, err
    for labels, said in (("", "argument --labels: expected a value, got an empty string"),
                         (" ", "non-empty --labels name")):
        code, _, err = run_cli(capsys, ["curves", str(tmp_path / "lm"), "--labels", labels])
        assert code == 2 and said in err, err
    code, out, err = run_cli(capsys, ["curves", str(tmp_path / "lm"), "--labels", "mine"])
    assert code == 0 and out.splitlines()[1].startswith("mine"), out + err



def test_the_training_panel_shows_the_learning_rate_or_the_gradient_norm(tmp_path, capsys):
    """--train-metric lr|grad_norm: the train records' "lr" and "grad_norm" (null without --clip) read as
    series beside the loss, plotted on the left panel; without --output it is refused, and --metric lr
    points to it."""
    _log(tmp_path / "a" / "metrics.jsonl", [0.5, 0.4])
    run = read_run(tmp_path / "a")
    assert np.array_equal(run.train_series("lr"), np.full(run.steps.shape, 0.1))
    assert np.array_equal(run.train_series("grad_norm"), np.ones(run.steps.shape))
    assert np.array_equal(run.train_series("loss"), run.losses)
    rows = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    unclipped = tmp_path / "b" / "metrics.jsonl"
    unclipped.parent.mkdir()
    unclipped.write_text("".join(json.dumps({**r, "grad_norm": None} if r["type"] == "train" else r) + "\n"
                                 for r in rows), encoding="utf-8")
    assert np.isnan(read_run(unclipped.parent).train_series("grad_norm")).all()
    code, _, err = run_cli(capsys, ["curves", str(tmp_path / "a"), "--train-metric", "lr"])
    assert code == 2 and "--train-metric has no effect without --output" in err, err
    code, _, err = run_cli(capsys, ["curves", str(tmp_path / "a"), "--metric", "grad_norm"])
    assert code == 2 and "is plotted with --train-metric grad_norm --output FILE" in err, err
    pytest.importorskip("matplotlib")
    for series in ("lr", "grad_norm"):
        code, out, err = run_cli(capsys, ["curves", str(tmp_path / "a"), str(tmp_path / "b"), "--output",
                                          str(tmp_path / f"{series}.png"), "--train-metric", series])
        assert code == 0 and (tmp_path / f"{series}.png").read_bytes().startswith(b"\x89PNG"), err
    code, _, err = run_cli(capsys, ["curves", str(tmp_path / "b"), "--output", str(tmp_path / "n.png"),
                                    "--train-metric", "grad_norm"])
    assert code == 2 and "no run logged a gradient norm (it is logged with --clip)" in err, err


def test_plot_curves_refuses_a_training_series_no_run_logged(tmp_path):
    """The library refuses an empty training panel as the CLI does: no run logged a gradient norm (no --clip)
    or a coverage loss (no translator's --coverage-loss), naming its argument; nothing is written."""
    _log(tmp_path / "a" / "metrics.jsonl", [0.5, 0.4])
    path = tmp_path / "a" / "metrics.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps({**r, "grad_norm": None} if r["type"] == "train" else r) + "\n"
                            for r in rows), encoding="utf-8")
    runs = [read_run(tmp_path / "a")]
    with pytest.raises(ValueError, match=r"^train=grad_norm: no run logged a gradient norm .*plot train=loss or lr$"):
        plot_curves(runs, tmp_path / "g.png", train="grad_norm")
    with pytest.raises(ValueError, match=r"^train=coverage_loss: no run logged a coverage loss .*plot train=loss$"):
        plot_curves(runs, tmp_path / "c.png", train="coverage_loss")
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "c.png").exists()
