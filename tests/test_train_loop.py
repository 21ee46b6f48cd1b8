"""The shared training loop on a small synthetic task: divergence, early stopping, schedules, max_steps
(a resumed run: test_train_loop_resume.py)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import numpy as np
import pytest
from quadratic_task import Quadratic, _cfg

from rnnkit.errors import TrainingDivergedError
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import StepResult, Trainer


def test_nan_loss_is_named_with_its_step(tmp_path):
    with pytest.raises(TrainingDivergedError, match="loss became nan at step 3"):
        Trainer(Quadratic(poison_at=3), _cfg(), tmp_path).fit()


def test_exploding_loss_is_caught_before_it_overflows(tmp_path):
    with pytest.raises(TrainingDivergedError, match="exploded .* at step 5"):
        Trainer(Quadratic(poison_at=5, value=1e6), _cfg(), tmp_path).fit()


def test_loss_falls_and_metrics_log_is_json_lines(tmp_path):
    task = Quadratic()
    state = Trainer(task, _cfg(), tmp_path).fit()
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in lines if r["type"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2, 3, 4, 5]
    assert epochs[-1]["valid_loss"] < epochs[0]["valid_loss"]
    assert state.step == 20 and sum(r["type"] == "train" for r in lines) == 20
    # each epoch record carries its wall-clock times and the UTC moment it ended, in order
    stamps = [datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%SZ") for r in epochs]
    assert stamps == sorted(stamps) and abs((datetime.now(timezone.utc).replace(tzinfo=None) - stamps[-1]).total_seconds()) < 600
    assert all(r["train_seconds"] >= 0 and r["valid_seconds"] >= 0 for r in epochs)


def test_early_stopping_and_plateau_halving(tmp_path):
    task = Quadratic(valid=[5.0, 4.0, 4.5, 4.6, 4.7, 4.8])
    trainer = Trainer(task, _cfg(epochs=6, schedule="plateau", patience=1), tmp_path)
    state = trainer.fit()
    assert state.stopped_early and state.epoch == 4  # epochs 3 and 4 did not improve on 4.0
    lrs = [r["lr"] for r in state.history]
    assert lrs[:3] == [0.05, 0.05, 0.05] and lrs[3] == pytest.approx(0.025)
    assert (tmp_path / "best.safetensors").exists()


def test_max_steps_stops_mid_epoch_and_checkpoints(tmp_path):
    state = Trainer(Quadratic(), _cfg(max_steps=6), tmp_path).fit()
    assert state.step == 6 and state.epoch == 1 and state.cursor == 2
    assert (tmp_path / "last.safetensors").exists()


@pytest.mark.parametrize("epochs_done", [1, 2])
def test_max_steps_at_the_end_of_an_epoch_still_ends_the_epoch(tmp_path, epochs_done):
    """Stopping on an epoch's last step validates that epoch, logs it and keeps its best checkpoint,
    as a run of that many epochs does (it once stopped before the epoch's end: no validation)."""
    steps = 4 * epochs_done  # Quadratic: 4 batches an epoch
    state = Trainer(Quadratic(), _cfg(epochs=5, max_steps=steps), tmp_path / "cut").fit()
    whole = Trainer(Quadratic(), _cfg(epochs=epochs_done), tmp_path / "whole").fit()
    assert state.step == steps and state.epoch == epochs_done and len(state.history) == epochs_done
    assert [h["valid_loss"] for h in state.history] == [h["valid_loss"] for h in whole.history]
    assert (tmp_path / "cut" / "best.safetensors").exists()


@pytest.mark.parametrize("field, value", [
    ("lr_decay", 0.0), ("lr_decay", 1.5), ("momentum", -0.1), ("weight_decay", -1.0), ("decay_start", -1),
    ("step_size", 0), ("log_every", 0), ("patience", 0), ("checkpoint_steps", 0), ("max_steps", 0),
    ("checkpoint_minutes", 0.0), ("checkpoint_minutes", float("nan")),
])
def test_train_config_rejects_values_out_of_range(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_train_config_accepts_the_edges():
    TrainConfig(lr_decay=1.0, schedule="exp", momentum=0.0, decay_start=0, step_size=1, log_every=1, patience=1,
                checkpoint_steps=1, max_steps=1, checkpoint_minutes=None)


@pytest.mark.parametrize("kw, error, said", [
    ({"epochs": 2.5}, TypeError, "Expected epochs to be an integer, got float 2.5"),  # ran 3 epochs
    ({"epochs": "3"}, TypeError, "Expected epochs to be an integer, got str '3'"),
    ({"lr": "0.1"}, TypeError, "Expected lr to be a number, got str '0.1'"),
    ({"max_steps": 10.0}, TypeError, "Expected max_steps to be an integer"),
    ({"clip": "5"}, TypeError, "Expected clip to be a number"),
    ({"optimizer": "adam", "momentum": 0.9}, ValueError, "Expected momentum 0 with optimizer 'adam'"),
    ({"lr_decay": 0.1}, ValueError, "Expected lr_decay only with a schedule"),
])
def test_train_config_refuses_what_it_would_ignore_or_coerce(kw, error, said):
    """As the command line refuses them: a library caller's momentum for Adam was dropped silently."""
    with pytest.raises(error, match=re.escape(said)):
        TrainConfig(**kw)
    cfg = TrainConfig(optimizer="sgd", momentum=0.9, schedule="exp", lr_decay=0.1, epochs=np.int64(3),
                      lr=np.float32(0.5), optimizer_options={"nesterov": np.bool_(True)})
    # numpy's numbers kept as Python's: a checkpoint's JSON holds them (np.float32 failed after an epoch)
    assert type(cfg.epochs) is int and type(cfg.lr) is float and type(cfg.optimizer_options["nesterov"]) is bool
    json.dumps(cfg.to_dict())


class TwoParams(Quadratic):
    """Quadratic with a bias ``b`` as well, to freeze one of two parameters."""

    def __init__(self):
        super().__init__()
        self.params["b"] = np.full(2, 0.5)

    def train_step(self, batch, carry, rng):
        err = self.x @ self.params["w"] + self.params["b"] - self.y
        g = 2 * err / err.size
        return StepResult(float(np.mean(err**2)), 1, {"w": self.x.T @ g, "b": g.sum(axis=0)})


def test_frozen_parameters_keep_their_values_and_stay_out_of_the_clipping_norm(tmp_path):
    task = TwoParams()
    w0, b0 = task.params["w"].copy(), task.params["b"].copy()
    first = task.train_step(None, None, None).grads
    Trainer(task, _cfg(epochs=2, clip=100.0, weight_decay=0.1, frozen=("b",)), tmp_path).fit()
    assert np.array_equal(task.params["b"], b0) and not np.allclose(task.params["w"], w0)
    logged = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])
    assert logged["grad_norm"] == pytest.approx(float(np.linalg.norm(first["w"])))  # b's gradient left out
    # unfrozen, the same run moves b too
    task = TwoParams()
    Trainer(task, _cfg(epochs=2), tmp_path / "free").fit()
    assert not np.allclose(task.params["b"], b0)


def test_frozen_names_are_checked(tmp_path):
    with pytest.raises(ValueError, match=r"frozen parameters among the model's \(w, b.*got \['embedding.weight'\]"):
        Trainer(TwoParams(), _cfg(frozen=("embedding.weight",)), tmp_path)
    with pytest.raises(TypeError, match="frozen to be a sequence of parameter names"):
        _cfg(frozen="b")
    assert TrainConfig.from_dict(_cfg(frozen=["b"]).to_dict()).frozen == ("b",)  # a checkpoint's JSON list



def test_a_layer_meeting_nan_inside_a_step_with_finite_weights_is_a_divergence(tmp_path):
    """A float32 product that overflows with both signs is NaN under some BLAS (OpenBLAS 0.3.20, numpy without
    BLAS) and inf under others; NaN met a layer's input check and ended the run as a usage error (exit 2)."""
    from rnnkit.errors import NonFiniteError, TrainingDivergedError

    class Overflowing(Quadratic):
        def train_step(self, batch, carry, rng):
            if self.steps == 2:
                raise NonFiniteError("Expected finite values in dout, got NaN or inf", stage="backward")
            return super().train_step(batch, carry, rng)

    with pytest.raises(TrainingDivergedError, match=r"loss exploded: values overflowed to NaN or inf in the backward "
                                                    r"pass of step 3: ") as caught:
        Trainer(Overflowing(), _cfg(), tmp_path).fit()
    assert "dout" not in str(caught.value) and "Expected" not in str(caught.value)  # a layer's words, no user's
    with pytest.raises(ValueError, match="not a divergence"):  # another ValueError is raised as it is

        class Wrong(Quadratic):
            def train_step(self, batch, carry, rng):
                raise ValueError("not a divergence")

        Trainer(Wrong(), _cfg(), tmp_path / "other").fit()


@pytest.mark.parametrize("stage, said", [("forward", "in the forward pass of step 3: "),
                                         ("backward", "in the backward pass of step 3: "), (None, "in step 3: ")])
def test_the_divergence_names_the_stage_the_layer_gave_not_a_guess_from_its_words(tmp_path, stage, said):
    """The pass is the one the error carries (NonFiniteError.stage, set where it is raised); the loop read it
    from the text, ' in d' for dout, so a forward input named d... was a backward pass, and a backward
    gradient named otherwise a forward one."""
    from rnnkit.errors import NonFiniteError

    words = {"forward": "Expected finite values in decoder_input, got NaN or inf",
             "backward": "Expected finite values in the incoming gradient, got NaN or inf"}.get(stage, "NaN met")

    class Overflowing(Quadratic):
        def train_step(self, batch, carry, rng):
            if self.steps == 2:
                raise NonFiniteError(words, stage=stage)
            return super().train_step(batch, carry, rng)

    said = "^loss exploded: values overflowed to NaN or inf " + re.escape(said)
    with pytest.raises(TrainingDivergedError, match=said):
        Trainer(Overflowing(), _cfg(), tmp_path).fit()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_recurrent_layer_says_which_pass_met_nan(cell):
    from rnnkit.errors import NonFiniteError
    from rnnkit.recurrent import GRU, LSTM

    rng = np.random.default_rng(0)
    layer = (LSTM if cell == "lstm" else GRU)(input_size=3, hidden_size=4, rng=rng)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)  # (T, B, D)
    h = np.zeros((1, 2, 4), np.float32)  # (L*dirs, B, H)
    state = (h, h) if cell == "lstm" else h
    nan_h = np.full_like(h, np.nan)
    out, _, cache = layer.forward(x, state)
    calls = {"x": lambda: layer.forward(np.where(x > 1, np.nan, x).astype(np.float32)),
             "h0": lambda: layer.forward(x, (nan_h, h) if cell == "lstm" else nan_h),
             "dout": lambda: layer.backward(np.full_like(out, np.nan), None, cache),
             "dstate": lambda: layer.backward(np.ones_like(out), (nan_h, h) if cell == "lstm" else nan_h, cache)}
    for name, call in calls.items():
        with pytest.raises(NonFiniteError) as caught:
            call()
        assert caught.value.stage == ("backward" if name.startswith("d") else "forward"), name


def test_sgd_scales_in_the_parameters_dtype_so_an_overflowing_update_is_inf():
    """numpy < 2 did lr * g in float64 when lr does not fit float32 (1e39): the update came out finite."""
    from rnnkit.optim import SGD

    p = {"w": np.ones((4, 3), dtype=np.float32)}
    SGD(p, lr=1e39).step({"w": np.full((4, 3), 0.5, dtype=np.float32)})
    assert p["w"].dtype == np.float32 and np.isneginf(p["w"]).all()


def test_epoch_records_name_the_metric_best_follows_only_when_the_task_says_it(tmp_path):
    """A task without a criterion picks by the loss and says so; one with its own criterion and no
    ``selected_by`` (a library user's, by accuracy) is not labelled "loss": rnnkit curves then guesses."""
    from rnnkit.train.curves import read_run, selecting_metric

    class ByAccuracy(Quadratic):
        def evaluate(self):
            self.epochs += 1
            i = min(self.epochs, 4) - 1
            return {"loss": [1.0, 0.9, 0.8, 0.7][i], "accuracy": [0.5, 0.7, 0.6, 0.8][i]}

        def criterion(self, metrics):
            return 1 - metrics["accuracy"]

    class Named(ByAccuracy):
        selected_by = "accuracy"

    for task, named, chosen in ((Quadratic(valid=[1.0, 0.9, 0.95, 0.7]), "loss", "loss"),
                                (ByAccuracy(), None, "accuracy"), (Named(), "accuracy", "accuracy")):
        run = tmp_path / type(task).__name__
        Trainer(task, _cfg(epochs=4), run).fit()
        epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        epochs = [r for r in epochs if r["type"] == "epoch"]
        assert [r.get("selected_by") for r in epochs] == [named] * 4, epochs
        assert [r["best"] for r in epochs] == [True, True, False, True], epochs
        assert selecting_metric(read_run(run)) == chosen


def test_a_run_stopped_at_once_before_its_first_checkpoint_leaves_no_log(tmp_path):
    """A second Ctrl-C (KeyboardInterrupt out of a step) before the first checkpoint of a new run: its
    metrics log went, so that the command line removes the folder it made (it kept .lock and the log, and
    curves showed a 0-epoch run); an earlier run's log comes back, and a diverged run's log stays."""
    class Interrupted(Quadratic):
        def train_step(self, batch, carry, rng):
            if self.steps == 2:
                raise KeyboardInterrupt
            return super().train_step(batch, carry, rng)

    with pytest.raises(KeyboardInterrupt):
        Trainer(Interrupted(), _cfg(epochs=2), tmp_path / "new").fit()
    assert not (tmp_path / "new" / "metrics.jsonl").exists()
    Trainer(Quadratic(), _cfg(epochs=1), tmp_path / "old").fit()
    before = (tmp_path / "old" / "metrics.jsonl").read_text(encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        Trainer(Interrupted(), _cfg(epochs=2), tmp_path / "old").fit()
    assert (tmp_path / "old" / "metrics.jsonl").read_text(encoding="utf-8") == before
    with pytest.raises(KeyboardInterrupt):  # a resumed run's log and checkpoints stay
        Trainer(Interrupted(), _cfg(epochs=3), tmp_path / "old").fit(resume=True)
    assert (tmp_path / "old" / "metrics.jsonl").read_text(encoding="utf-8").startswith(before)
    assert (tmp_path / "old" / "last.safetensors").exists()
