"""A small synthetic task for the training loop's tests: least squares on a fixed batch (Quadratic), and the
TrainConfig the loop's tests start from."""
from __future__ import annotations

import numpy as np

from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import StepResult


class Quadratic:
    """Least squares on a fixed batch; ``poison`` makes the loss NaN (or huge) from a given step on."""

    def __init__(self, poison_at=None, value=float("nan"), valid=None):
        rng = np.random.default_rng(0)
        self.params = {"w": rng.standard_normal((3, 2))}
        self.x = rng.standard_normal((8, 3))
        self.y = rng.standard_normal((8, 2))
        self.poison_at = poison_at
        self.value = value
        self.valid = valid or []
        self.steps = 0
        self.epochs = 0

    def epoch_units(self):
        return 4

    def train_batches(self, epoch, cursor, rng):
        for i in range(cursor, 4):
            yield i + 1, i

    def train_step(self, batch, carry, rng):
        self.steps += 1
        err = self.x @ self.params["w"] - self.y
        loss = float(np.mean(err**2))
        if self.poison_at is not None and self.steps >= self.poison_at:
            loss = self.value
        return StepResult(loss, 1, {"w": 2 * self.x.T @ err / err.size})

    def evaluate(self):
        self.epochs += 1
        if self.valid:
            return {"loss": self.valid[min(self.epochs, len(self.valid)) - 1]}
        return {"loss": float(np.mean((self.x @ self.params["w"] - self.y) ** 2))}

    def carry_arrays(self, carry):
        return {}

    def carry_from_arrays(self, arrays):
        return None

    def meta(self):
        return {"model": "quadratic"}


def _cfg(**kw):
    base = dict(epochs=5, optimizer="sgd", lr=0.05, clip=None, progress="none", log_every=1)
    base.update(kw)
    return TrainConfig(**base)
