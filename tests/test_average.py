"""Parameter averaging (Polyak / exponential moving average): the recurrence, the loop, checkpoints, resume."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.checkpoint import load_checkpoint
from rnnkit.errors import CheckpointError
from rnnkit.optim import ParameterAverage
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import Trainer
from quadratic_task import Quadratic


def _by_hand(trail, decay):
    """avg_0 = theta_0; avg_s = b_s avg_{s-1} + (1 - b_s) theta_s with b_s = min(decay, (1 + s) / (10 + s))."""
    avg = trail[0].astype(np.float64)
    for s, theta in enumerate(trail[1:], start=1):
        b = min(decay, (1 + s) / (10 + s))
        avg = b * avg + (1 - b) * theta
    return avg


def test_average_follows_the_recurrence_and_keeps_float32():
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((3, 4)).astype(np.float32), "b": rng.standard_normal(4).astype(np.float32)}
    avg = ParameterAverage(params, decay=0.9)
    trail = {k: [v.copy()] for k, v in params.items()}
    for step in range(1, 40):
        for v in params.values():
            v += rng.standard_normal(v.shape).astype(np.float32)  # an "optimizer step"
        avg.update(step)
        for k, v in params.items():
            trail[k].append(v.copy())
    for k in params:
        assert avg.average[k].dtype == np.float32
        np.testing.assert_allclose(avg.average[k], _by_hand(trail[k], 0.9), rtol=1e-5, atol=1e-5)
        assert not np.allclose(avg.average[k], params[k])  # the average is not the last weights


def test_swapped_puts_the_training_weights_back_even_after_an_error():
    params = {"w": np.arange(6.0).reshape(2, 3)}
    avg = ParameterAverage(params, decay=0.5)
    params["w"] += 10.0
    avg.update(1)  # b_1 = min(0.5, 2 / 11)
    expected = (2 / 11) * np.arange(6.0).reshape(2, 3) + (9 / 11) * (np.arange(6.0).reshape(2, 3) + 10)
    weights = params["w"]
    with pytest.raises(RuntimeError):
        with avg.swapped():
            np.testing.assert_allclose(params["w"], expected)
            assert params["w"] is weights  # the model's own array, written in place
            raise RuntimeError("evaluation failed")
    np.testing.assert_array_equal(params["w"], np.arange(6.0).reshape(2, 3) + 10)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, float("nan")])
def test_decay_outside_zero_one_is_refused(decay):
    with pytest.raises(ValueError, match="average"):
        TrainConfig(average=decay)
    with pytest.raises(ValueError, match="decay"):
        ParameterAverage({"w": np.zeros(2)}, decay)


class Recording(Quadratic):
    """Remembers the weights each step starts from and the weights each evaluation sees."""

    def __init__(self):
        super().__init__()
        self.trail = []
        self.evaluated = []

    def train_step(self, batch, carry, rng):
        self.trail.append(self.params["w"].copy())
        return super().train_step(batch, carry, rng)

    def evaluate(self):
        self.evaluated.append(self.params["w"].copy())
        return super().evaluate()


def _cfg(**kw):
    base = dict(epochs=3, optimizer="sgd", lr=0.05, clip=None, progress="none", log_every=1, average=0.8)
    base.update(kw)
    return TrainConfig(**base)


def test_trainer_validates_and_saves_the_average_and_keeps_training_the_raw_weights(tmp_path):
    task = Recording()
    Trainer(task, _cfg(), tmp_path).fit()
    trail = task.trail + [task.params["w"].copy()]  # theta_0 .. theta_12
    assert len(trail) == 13
    # each epoch's validation saw the average of the weights up to that epoch's last step
    for epoch, seen in enumerate(task.evaluated, start=1):
        np.testing.assert_allclose(seen, _by_hand(trail[: 4 * epoch + 1], 0.8), rtol=1e-12)
    arrays, _ = load_checkpoint(tmp_path / "last.safetensors")
    np.testing.assert_allclose(arrays["model/w"], _by_hand(trail, 0.8), rtol=1e-12)
    np.testing.assert_array_equal(arrays["raw/w"], task.params["w"])  # training went on from the raw weights
    best, _ = load_checkpoint(tmp_path / "best.safetensors")
    np.testing.assert_allclose(best["model/w"], _by_hand(trail, 0.8), rtol=1e-12)  # the loss fell every epoch
    # without averaging, the same seed trains to the same raw weights
    plain = Quadratic()
    Trainer(plain, _cfg(average=None), tmp_path / "plain").fit()
    np.testing.assert_array_equal(plain.params["w"], task.params["w"])


def test_resumed_averaging_run_equals_uninterrupted(tmp_path):
    full = Quadratic()
    Trainer(full, _cfg(), tmp_path / "full").fit()
    part = Quadratic()
    Trainer(part, _cfg(max_steps=6), tmp_path / "cut").fit()  # stops mid-epoch 2
    again = Quadratic()
    Trainer(again, _cfg(), tmp_path / "cut").fit(resume=True)
    a, _ = load_checkpoint(tmp_path / "full" / "last.safetensors")
    b, _ = load_checkpoint(tmp_path / "cut" / "last.safetensors")
    assert a.keys() == b.keys() and {"model/w", "raw/w"} <= a.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_resuming_with_a_different_averaging_choice_is_refused(tmp_path):
    Trainer(Quadratic(), _cfg(max_steps=3), tmp_path / "avg").fit()
    with pytest.raises(CheckpointError, match=r"other training options \(--average \(TrainConfig.average\) "
                                              r"0.8 then, none now\); resume with the same ones \(only --epochs, "
                                              r"--max-steps and --patience, TrainConfig's epochs, max_steps and "
                                              r"patience, the checkpoint.* start a "
                                              r"new run \(without --resume; in Python, fit\(resume=False\)\)$"):
        Trainer(Quadratic(), _cfg(average=None), tmp_path / "avg").fit(resume=True)
    # another decay was taken silently: the average, the best checkpoint and the log then differed
    with pytest.raises(CheckpointError, match=r"other training options \(--average \(TrainConfig.average\) "
                                              r"0.8 then, 0.9 now\)"):
        Trainer(Quadratic(), _cfg(average=0.9), tmp_path / "avg").fit(resume=True)
    Trainer(Quadratic(), _cfg(max_steps=3, average=None), tmp_path / "plain").fit()
    with pytest.raises(CheckpointError, match=r"other training options \(--average \(TrainConfig.average\) "
                                              r"none then, 0.8 now\)"):
        Trainer(Quadratic(), _cfg(), tmp_path / "plain").fit(resume=True)


def test_a_checkpoint_of_the_other_averaging_choice_names_the_config_field(tmp_path):
    """The loader's own check, behind the resume check above: it names TrainConfig's field, not only the option."""
    from rnnkit.train.run_checkpoint import model_arrays

    w = {"w": np.zeros(2)}
    with pytest.raises(CheckpointError, match=r"averaging its weights; resume with the same --average "
                       r"\(TrainConfig.average\)$"):
        model_arrays({"model/w": w["w"], "raw/w": w["w"]}, tmp_path / "last.safetensors", w, averaging=False)
    with pytest.raises(CheckpointError, match=r"not averaging its weights; resume without --average "
                       r"\(TrainConfig.average None\)$"):
        model_arrays({"model/w": w["w"]}, tmp_path / "last.safetensors", w, averaging=True)
