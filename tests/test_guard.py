import numpy as np
import pytest

from rnnkit.errors import TrainingDivergedError
from rnnkit.guard import check_finite


def test_finite_passes():
    check_finite(3, 1.5, {"w": np.ones((2, 2), np.float32)})


@pytest.mark.parametrize("loss,words", [(float("nan"), "loss became nan at step 7"), (float("inf"), "loss became inf")])
def test_bad_loss_named_with_step(loss, words):
    with pytest.raises(TrainingDivergedError, match=words):
        check_finite(7, loss)


def test_bad_gradient_named():
    g = {"ok": np.zeros(3), "weight_hh_l0": np.array([[1.0, np.nan]])}
    with pytest.raises(TrainingDivergedError, match="gradient of weight_hh_l0 has NaN values at step 2"):
        check_finite(2, 0.1, g)
    g["weight_hh_l0"] = np.array([np.inf, 1.0], np.float32)
    with pytest.raises(TrainingDivergedError, match="has inf values"):
        check_finite(2, 0.1, g)


def test_explosion_threshold():
    with pytest.raises(TrainingDivergedError, match="exploded"):
        check_finite(9, 100.0, explode_threshold=50.0)


def test_the_cure_suggested_follows_the_settings_in_use():
    from rnnkit.guard import divergence_hint

    assert divergence_hint(1.0, 5.0) == ("lower the learning rate (lr, --lr: 1 now, e.g. 0.1), or clip gradients "
                                         "harder (clip, --clip: 5 now, e.g. 1)")  # not "e.g. 5" when it is 5
    assert divergence_hint(0.01, None).endswith("or clip gradients (e.g. clip=5, --clip 5)")
    with pytest.raises(TrainingDivergedError, match=r"at step 3: lower the learning rate \(lr, --lr: 2 now"):
        check_finite(3, float("nan"), hint=divergence_hint(2.0, 0.5))


def test_a_checkpoint_refused_for_blown_up_weights_names_the_peak_lr_of_a_per_step_schedule(tmp_path):
    """A cosine schedule has lowered the optimizer's lr by the time a checkpoint is written; the cure to
    suggest is a lower *peak* rate (--lr as given), as the epoch-end check says, not the decayed one."""
    from rnnkit.train.config import TrainConfig
    from rnnkit.train.loop import Trainer
    from quadratic_task import Quadratic

    task = Quadratic()
    cfg = TrainConfig(epochs=2, optimizer="sgd", lr=0.05, schedule="cosine", clip=None, progress="none")
    trainer = Trainer(task, cfg, tmp_path / "run")
    trainer.optimizer.lr = 0.001  # as far down as the schedule has brought it
    task.params["w"][0, 0] = np.inf
    with pytest.raises(TrainingDivergedError, match=r"\(lr, --lr: 0\.05 now"):
        trainer._save("last.safetensors")
