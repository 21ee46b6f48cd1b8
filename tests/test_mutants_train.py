"""Tests that close gaps found by hand-picked mutation testing of the training loop, its resume and
its checkpoints: each kills a mutant that every other test let through.

Every test builds its own tiny least-squares task; no data files are read.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from rnnkit import checkpoint as ckpt
from rnnkit.errors import CheckpointError, TrainingDivergedError
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import StepResult, Trainer

posix = pytest.mark.skipif(os.name != "posix", reason="os.kill(pid, 0) and flock are POSIX")


class Toy:
    """Least squares on a fixed batch, 4 batches an epoch; validation losses from ``valid`` if given.

    ``shuffle``: each epoch's batch order is drawn from the loop's generator.  ``grad_nan_at``: the
    gradient (not the loss) is NaN from that step on.  ``losses``: the loss each step reports."""

    def __init__(self, valid=None, shuffle=False, grad_nan_at=None, losses=None):
        rng = np.random.default_rng(0)
        self.params = {"w": rng.standard_normal((3, 2))}
        self.x = rng.standard_normal((8, 3))
        self.y = rng.standard_normal((8, 2))
        self.valid, self.shuffle, self.grad_nan_at, self.losses = valid, shuffle, grad_nan_at, losses
        self.evals = 0
        self.steps = 0
        self.carries = []  # the carry each step was given
        self.batches = []  # the batches trained on, in order

    def epoch_units(self):
        return 4

    def train_batches(self, epoch, cursor, rng):
        order = rng.permutation(4) if self.shuffle else np.arange(4)
        for i in range(cursor, 4):
            yield i + 1, int(order[i])

    def train_step(self, batch, carry, rng):
        self.steps += 1
        self.carries.append(carry)
        self.batches.append(batch)
        rows = slice(2 * batch, 2 * batch + 2)
        err = self.x[rows] @ self.params["w"] - self.y[rows]
        loss = float(np.mean(err**2)) if self.losses is None else self.losses[self.steps - 1]
        grad = 2 * self.x[rows].T @ err / err.size
        if self.grad_nan_at is not None and self.steps >= self.grad_nan_at:
            grad = np.full_like(grad, np.nan)
        return StepResult(loss, 2, {"w": grad}, carry=self.steps)

    def evaluate(self):
        self.evals += 1
        if self.valid is not None:
            return {"loss": self.valid[min(self.evals, len(self.valid)) - 1]}
        return {"loss": float(np.mean((self.x @ self.params["w"] - self.y) ** 2))}

    def carry_arrays(self, carry):
        return {"n": np.array([carry])}

    def carry_from_arrays(self, arrays):
        return int(arrays["n"][0])

    def meta(self):
        return {"model": "toy"}


def _cfg(**kw):
    base = dict(epochs=4, optimizer="sgd", lr=0.05, clip=None, progress="none", log_every=1,
                checkpoint_minutes=None)
    base.update(kw)
    return TrainConfig(**base)


def _records(run, kind):
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r["type"] == kind]


def test_resume_restores_the_schedule(tmp_path):
    """A resumed run goes on with the schedule's epoch count (step decay every 2 epochs), not a fresh one."""
    cfg = _cfg(schedule="step", step_size=2, lr_decay=0.5)
    whole = Trainer(Toy(), cfg, tmp_path / "whole").fit()
    Trainer(Toy(), _cfg(schedule="step", step_size=2, lr_decay=0.5, max_steps=4), tmp_path / "cut").fit()
    resumed = Trainer(Toy(), cfg, tmp_path / "cut").fit(resume=True)
    assert [h["lr"] for h in whole.history] == [0.05, 0.05, 0.025, 0.025]
    assert [h["lr"] for h in resumed.history] == [h["lr"] for h in whole.history]


def test_resume_restores_the_best_criterion(tmp_path):
    """After a resume, an epoch worse than the best before it neither replaces best.safetensors nor resets patience."""
    valid = [3.0, 5.0, 6.0, 7.0]
    Trainer(Toy(valid=valid), _cfg(max_steps=4), tmp_path).fit()  # epoch 1: best 3.0
    best_before = ckpt.load_checkpoint(tmp_path / "best.safetensors")[0]["model/w"]
    task = Toy(valid=valid)
    task.evals = 1
    state = Trainer(task, _cfg(epochs=2), tmp_path).fit(resume=True)  # epoch 2: 5.0, worse
    assert state.best == 3.0 and state.bad_epochs == 1 and state.history[-1]["best"] is False
    np.testing.assert_array_equal(ckpt.load_checkpoint(tmp_path / "best.safetensors")[0]["model/w"], best_before)


def test_resume_refuses_another_process_count(tmp_path):
    """A checkpoint written by 2 processes is refused by a single-process resume, naming mpiexec -n."""
    Trainer(Toy(), _cfg(max_steps=3), tmp_path).fit()
    arrays, meta = ckpt.load_checkpoint(tmp_path / "last.safetensors")
    meta["processes"] = 2
    ckpt.save_checkpoint(tmp_path / "last.safetensors", arrays, meta)
    with pytest.raises(CheckpointError, match=r"trained by 2 process.*mpiexec -n"):
        Trainer(Toy(), _cfg(), tmp_path).fit(resume=True)


def test_resume_drops_a_train_line_logged_after_the_checkpoint(tmp_path):
    """A train line of step N+1 (logged, then killed before its checkpoint) is cut on resume from step N."""
    Trainer(Toy(), _cfg(epochs=2), tmp_path / "whole").fit()
    Trainer(Toy(), _cfg(epochs=2, max_steps=6), tmp_path / "cut").fit()
    with open(tmp_path / "cut" / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"type": "train", "epoch": 2, "step": 7, "loss": 99.0, "lr": 0.05, "grad_norm": None}) + "\n")
    Trainer(Toy(), _cfg(epochs=2), tmp_path / "cut").fit(resume=True)
    assert [r["step"] for r in _records(tmp_path / "cut", "train")] == list(range(1, 9))
    assert 99.0 not in [r["loss"] for r in _records(tmp_path / "cut", "train")]


def test_an_equal_validation_loss_is_no_improvement(tmp_path):
    """A criterion equal to the best is not an improvement: patience 1 stops after two equal epochs."""
    state = Trainer(Toy(valid=[5.0, 5.0, 5.0, 5.0]), _cfg(patience=1), tmp_path).fit()
    assert state.stopped_early and state.epoch == 3
    assert [h["best"] for h in state.history] == [True, False, False]


def test_no_validation_data_never_stops_early_nor_halves_the_rate(tmp_path):
    """A NaN criterion (no validation data) counts as no bad epoch and does not step the plateau schedule."""
    state = Trainer(Toy(valid=[math.nan]), _cfg(patience=1, schedule="plateau"), tmp_path).fit()
    assert state.epoch == 4 and not state.stopped_early and state.bad_epochs == 0
    assert [h["lr"] for h in state.history] == [0.05] * 4
    assert not (tmp_path / "best.safetensors").exists()


def test_an_improvement_resets_the_count_of_bad_epochs(tmp_path):
    """Patience counts epochs since the last improvement: 5, 6, 4, 5, 6 with patience 1 stops after epoch 5."""
    state = Trainer(Toy(valid=[5.0, 6.0, 4.0, 5.0, 6.0, 7.0]), _cfg(epochs=6, patience=1), tmp_path).fit()
    assert state.stopped_early and state.epoch == 5 and state.best == 4.0


def test_every_epoch_starts_without_carry_and_with_its_own_loss(tmp_path):
    """The carry is dropped at an epoch's end, and an epoch's train_loss is the mean of its own steps only."""
    task = Toy()
    state = Trainer(task, _cfg(epochs=3), tmp_path).fit()
    assert [task.carries[i] for i in (0, 4, 8)] == [None, None, None]
    assert task.carries[1:4] == [1, 2, 3]
    losses = [r["loss"] for r in _records(tmp_path, "train")]
    for e, h in enumerate(state.history):
        assert h["train_loss"] == pytest.approx(np.mean(losses[4 * e:4 * e + 4]), rel=1e-12)


def test_max_steps_at_an_epoch_end_does_not_start_the_next_epoch(tmp_path):
    """Stopping at max_steps on an epoch's last step leaves the generator as a run of that many epochs does."""
    Trainer(Toy(shuffle=True), _cfg(epochs=5, max_steps=4), tmp_path / "cut").fit()
    Trainer(Toy(shuffle=True), _cfg(epochs=1), tmp_path / "whole").fit()
    cut = ckpt.load_meta(tmp_path / "cut" / "last.safetensors")
    whole = ckpt.load_meta(tmp_path / "whole" / "last.safetensors")
    assert cut["rng"] == whole["rng"] and cut["loop"]["step"] == whole["loop"]["step"] == 4


def test_the_explosion_limit_is_at_least_20_for_a_small_first_loss(tmp_path):
    """20x the first loss, but never below 20: a first loss of 0.01 then 1.5 is no blow-up."""
    losses = [0.01, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5]
    state = Trainer(Toy(losses=losses), _cfg(epochs=2, lr=1e-3), tmp_path).fit()
    assert state.step == 8


def test_a_first_loss_of_exactly_zero_still_arms_the_explosion_guard(tmp_path):
    """A perfect first batch (loss 0.0) sets the limit at 20 like any small first loss: a later 1e6 is named."""
    losses = [0.0, 0.5, 1e6, 1.0]
    with pytest.raises(TrainingDivergedError, match=r"loss exploded to 1e\+06 at step 3 \(threshold 20\)"):
        Trainer(Toy(losses=losses), _cfg(epochs=1, lr=1e-3), tmp_path).fit()


def test_a_nan_gradient_with_a_finite_loss_is_named(tmp_path):
    """Without clipping the gradients themselves are checked: a NaN one is named with its step."""
    with pytest.raises(TrainingDivergedError, match="gradient of w has NaN values at step 3"):
        Trainer(Toy(grad_nan_at=3), _cfg(), tmp_path).fit()


@posix
def test_a_stale_best_temporary_is_removed_even_when_no_best_is_written(tmp_path, capsys):
    """A killed run's temporary of best.safetensors is removed at the start of the next run."""
    from rnnkit.atomic import HOST_TAG

    stale = tmp_path / f".best.safetensors.999999999.{HOST_TAG}00000000.tmp"
    stale.write_bytes(b"half")
    Trainer(Toy(valid=[math.nan]), _cfg(epochs=1), tmp_path).fit()
    assert not stale.exists()
    assert "removed 1 unfinished checkpoint or log write" in capsys.readouterr().err


def test_the_array_checksum_covers_shapes(tmp_path):
    """An array reshaped in the file (same bytes, same name) fails the checksum."""
    from safetensors.numpy import save_file
    from safetensors import safe_open

    path = tmp_path / "c.safetensors"
    ckpt.save_checkpoint(path, {"a": np.arange(6.0).reshape(2, 3)}, {"kind": "x"})
    with safe_open(str(path), framework="np") as f:
        header = f.metadata()
    save_file({"a": np.arange(6.0).reshape(3, 2)}, str(path), metadata=header)
    with pytest.raises(CheckpointError, match="does not match its checksum"):
        ckpt.load_checkpoint(path)


@posix
def test_a_temporary_of_another_users_running_process_is_kept(tmp_path, monkeypatch):
    """os.kill(pid, 0) refused (PermissionError): the process runs, so its temporary is not removed."""
    import rnnkit.atomic as atomic

    def refused(pid, sig):
        raise PermissionError(1, "Operation not permitted")

    live = tmp_path / f".out.txt.424242.{atomic.HOST_TAG}00000000.tmp"
    live.write_bytes(b"writing")
    monkeypatch.setattr(atomic.os, "kill", refused)
    assert atomic.remove_stale_temporaries(tmp_path / "out.txt") == [] and live.exists()


def test_infinite_weights_are_caught_before_a_checkpoint(tmp_path):
    """check_weights refuses inf as well as NaN weights."""
    from rnnkit.guard import check_weights

    with pytest.raises(TrainingDivergedError, match=r"weights \(w\) became NaN or inf in the update of step 3"):
        check_weights(3, {"w": np.array([1.0, np.inf])})
    check_weights(3, {"w": np.array([1.0, 1e300])})


def test_checkpoint_steps_saves_on_multiples_of_n(tmp_path):
    """checkpoint_steps=2 writes last.safetensors after steps 2, 4, ...: a run failing at step 4 leaves step 2's."""
    with pytest.raises(TrainingDivergedError, match="at step 4"):
        Trainer(Toy(grad_nan_at=4), _cfg(epochs=1, checkpoint_steps=2), tmp_path).fit()
    assert ckpt.load_meta(tmp_path / "last.safetensors")["loop"]["step"] == 2


@pytest.mark.parametrize("seed", [0, 2])
def test_the_batch_order_follows_the_seed(tmp_path, seed):
    """The loop's generator (shuffling, jitter) is seeded with TrainConfig.seed."""
    task = Toy(shuffle=True)
    Trainer(task, _cfg(epochs=1, seed=seed), tmp_path).fit()
    assert task.batches == [int(i) for i in np.random.default_rng(seed).permutation(4)]


@posix
def test_a_released_run_lock_is_taken_again_by_the_next_run(tmp_path):
    """After a run_lock ends, the next one in the same process really holds the flock again."""
    import fcntl

    from rnnkit.train.run_lock import LOCK, run_lock

    with run_lock(tmp_path):
        pass
    with run_lock(tmp_path), open(tmp_path / LOCK, "a+", encoding="utf-8") as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_the_commands_fit_says_an_early_stop_and_offers_the_best_checkpoint(tmp_path, capsys):
    """cli.common.fit, which every neural 'train' command ends with: the early stop and the model's file are
    said, and the file is the best checkpoint (epoch 1's), not the last."""
    from rnnkit.cli.common import fit

    state, path = fit(Toy(valid=[1.0, 2.0, 3.0, 4.0]), _cfg(patience=1), tmp_path, False, [])
    err = capsys.readouterr().err
    assert state.stopped_early and state.epoch == 3
    assert err.count("stopped early after epoch 3: no improvement for 2 epochs") == 1, err
    assert f"model saved: {tmp_path / 'best.safetensors'}" in err and path == tmp_path / "best.safetensors"
    fit(Toy(valid=[1.0, 2.0, 3.0, 4.0]), _cfg(patience=1, progress="lines"), tmp_path / "lines", False, [])
    err = capsys.readouterr().err  # with progress lines the loop's notice and the command's were two lines
    assert err.count("no improvement for 2 epochs") == 1, err
    assert ckpt.load_checkpoint(path)[1]["loop"]["epoch"] == 1


def test_the_commands_fit_on_a_finished_run_names_the_model_without_saying_it_was_saved(tmp_path, capsys):
    """A resume of a run that has finished trains nothing: fit points to the model ("model: PATH"), and says
    neither "model saved" nor its own early-stop line, since nothing was saved or stopped in this run."""
    from rnnkit.cli.common import fit

    fit(Toy(valid=[1.0, 2.0, 3.0, 4.0]), _cfg(patience=1), tmp_path, False, [])
    capsys.readouterr()
    state, path = fit(Toy(valid=[1.0, 2.0, 3.0, 4.0]), _cfg(patience=1), tmp_path, True, [])
    err = capsys.readouterr().err
    assert "nothing to train" in err and f"model: {tmp_path / 'best.safetensors'}" in err, err
    assert "model saved" not in err and "stopped early after epoch 3:" not in err, err
    assert state.epoch == 3 and path == tmp_path / "best.safetensors"
