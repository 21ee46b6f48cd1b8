"""``rnnkit curves``' latest training loss: it showed the last ended epoch's mean, so a run stopped part-way
through an epoch (``--max-steps``, Ctrl-C) or still in it showed nothing of that epoch's steps; now it shows the
last logged batch's loss then, and says which epoch and step each figure covers."""
from __future__ import annotations

import json

from clirun import run_cli
from quadratic_task import Quadratic, _cfg

from rnnkit.train.curves import last_train_loss, read_run, summary_lines
from rnnkit.train.loop import Trainer


def _records(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]


def test_a_run_stopped_inside_an_epoch_shows_its_last_logged_batch(tmp_path):
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=6, log_every=1), tmp_path / "a").fit()  # 4 steps an epoch
    last = _records(tmp_path / "a")[-1]
    assert last["type"] == "train" and last["step"] == 6
    run = read_run(tmp_path / "a")
    assert last_train_loss(run) == (last["loss"], "epoch 2 step 6")
    header, row, note = summary_lines([run])
    assert row.split()[:6] == ["a", "1", f"{last['loss']:.4f}", "epoch", "2", "step"], row
    assert "train loss of" in header and note.startswith("(epoch N step S: the batch logged at step S")


def test_a_run_at_an_epochs_end_shows_that_epochs_mean(tmp_path):
    Trainer(Quadratic(), _cfg(epochs=2, log_every=1), tmp_path / "b").fit()
    ended = [r for r in _records(tmp_path / "b") if r["type"] == "epoch"]
    run = read_run(tmp_path / "b")
    assert last_train_loss(run) == (ended[-1]["train_loss"], "epoch 2 mean")
    assert len(summary_lines([run])) == 2  # no note: no batch's loss shown


def test_batches_logged_before_the_last_epochs_end_and_a_run_in_its_first_epoch(tmp_path):
    """log_every longer than the steps after the last epoch's end: nothing newer was logged, so the epoch's mean;
    a run in its first epoch: its last logged batch, in epoch 1."""
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=6, log_every=3), tmp_path / "c").fit()  # logged at 3 and 6
    assert last_train_loss(read_run(tmp_path / "c"))[1] == "epoch 2 step 6"
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=5, log_every=3), tmp_path / "d").fit()  # logged at 3 only
    assert last_train_loss(read_run(tmp_path / "d"))[1] == "epoch 1 mean"
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=3, log_every=1), tmp_path / "e").fit()
    assert last_train_loss(read_run(tmp_path / "e"))[1] == "epoch 1 step 3"


def test_the_command_shows_both_kinds(tmp_path, capsys):
    Trainer(Quadratic(), _cfg(epochs=5, max_steps=6, log_every=1), tmp_path / "part").fit()
    Trainer(Quadratic(), _cfg(epochs=2, log_every=1), tmp_path / "whole").fit()
    capsys.readouterr()
    code, out, err = run_cli(capsys, ["curves", str(tmp_path / "part"), str(tmp_path / "whole")])
    assert code == 0, err
    lines = out.splitlines()
    assert "epoch 2 step 6" in lines[1] and "epoch 2 mean" in lines[2] and lines[3].startswith("(epoch N step S")
