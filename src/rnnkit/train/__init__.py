"""The training loop shared by every task: optimizer, clipping, schedules, early stopping,
progress display, metrics log, checkpoints and exact resume."""
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import StepResult, Task, Trainer

__all__ = ["StepResult", "Task", "TrainConfig", "Trainer"]
