r"""Exponential moving average of the parameters (Polyak averaging), for evaluation and the saved model.

Training moves the weights noisily around a minimum; the average of recent weights usually sits
closer to it and scores better on held-out data than any single step's weights (Polyak & Juditsky
1992; ``tf.train.ExponentialMovingAverage``; Marian's ``--exponential-smoothing``).  After optimizer
step s = 1, 2, ...::

    beta_s = min(decay, (1 + s) / (10 + s))          # short memory while the run is young
    avg_s  = beta_s * avg_{s-1} + (1 - beta_s) * theta_s ,    avg_0 = theta_0

The warm-up term keeps the average from clinging to the random initialisation (TensorFlow's
``num_updates``).  With decay 0.999 the average spans roughly the last 1,000 steps.

    avg = ParameterAverage(model.params, decay=0.999)
    ...; opt.step(grads); avg.update(step)
    with avg.swapped():          # model.params hold the average inside the block
        metrics = evaluate()
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import numpy as np

from rnnkit.checks import check_int
from rnnkit.optim.base import check_number
from rnnkit.workspace import Scratch


class ParameterAverage:
    """The running average of ``params`` (the model's own arrays, updated in place by the optimizer).

    ``decay`` in (0, 1): the weight of the old average at each step, after the warm-up of the module
    docstring (0.999: about the last 1,000 steps).  ``update(step)`` after every optimizer step;
    ``swapped()`` puts the average into ``params`` for the length of a ``with`` block."""

    def __init__(self, params: Mapping[str, np.ndarray], decay: float) -> None:
        self.decay = check_number("decay", decay, 0.0, 1.0, low_open=True, high_open=True)
        if not isinstance(params, Mapping):
            raise TypeError(f"Expected params to be a dict of name -> numpy array, got {type(params).__name__}")
        for k, v in params.items():  # an int array cannot hold an average (nor be trained)
            if not isinstance(v, np.ndarray) or not np.issubdtype(v.dtype, np.floating):
                got = f"dtype {v.dtype}" if isinstance(v, np.ndarray) else type(v).__name__
                raise TypeError(f"Expected params[{k!r}] to be a float numpy array, got {got}")
        self.params = params
        self.average = {k: np.array(v, copy=True) for k, v in params.items()}
        self._scratch = Scratch()  # one work buffer for all parameters: no allocation per step

    def update(self, step: int) -> None:
        """Fold in the parameters as they are after optimizer step ``step`` (1-based)."""
        step = check_int("step", step, 1)  # step <= 0 makes beta negative (or divides by zero at -10)
        beta = min(self.decay, (1.0 + step) / (10.0 + step))
        for k, p in self.params.items():
            a = self.average[k]
            t = self._scratch.like(p)
            np.multiply(p, 1.0 - beta, out=t)
            a *= beta  # in place: avg = beta avg + (1 - beta) theta
            a += t

    @contextmanager
    def swapped(self) -> Iterator[None]:
        """Inside the block the model's arrays hold the average; the training weights come back after."""
        saved = {k: p.copy() for k, p in self.params.items()}
        try:
            for k, p in self.params.items():
                p[...] = self.average[k]
            yield
        finally:
            for k, p in self.params.items():
                p[...] = saved[k]

    def load(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restore the average from a checkpoint's arrays (same names and shapes as the parameters)."""
        if set(arrays) != set(self.average):
            missing = sorted(set(self.average) - set(arrays))
            raise ValueError(f"Expected averaged values for every parameter; missing {missing[:3]}")
        for k, v in arrays.items():
            if not isinstance(v, np.ndarray):
                raise TypeError(f"Expected the average of {k} as a numpy array, got {type(v).__name__}")
            if v.shape != self.average[k].shape:
                raise ValueError(f"Expected the average of {k} with shape {self.average[k].shape}, got {v.shape}")
            self.average[k][...] = v
