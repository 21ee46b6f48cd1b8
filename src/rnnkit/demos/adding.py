r"""The adding problem (Hochreiter & Schmidhuber 1997; as set in Le et al. 2015 and Arjovsky et al. 2016).

Each of the T steps gives two numbers: a value drawn uniformly from [0, 1] and a marker, 0 or 1.  Exactly
two steps are marked, one uniformly in the first half (t < T // 2) and one in the second half; after the
last step the network must output the sum of the two marked values::

    x_t = (v_t, m_t),   v_t ~ U[0, 1],   m_t = [t == i] + [t == j]      # (T, B, 2)
    y   = v_i + v_j                                                     # (B,)

a real-valued regression trained with the mean squared error.  A network that remembers nothing does best
by predicting E[y] = 1 every time, whose error is Var(v_i + v_j) = 2 / 12 = 1/6 ~ 0.167: the baseline.
The first marked value must be held for T / 2 steps or more, with T // 2 - 1 steps of unmarked noise
after it, so the gradient that would teach the network to store it has to cross that distance.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rnnkit.checks import check_int
from rnnkit.demos.longrange import LongRangeConfig, run_long_range
from rnnkit.nn import mse_loss, mse_loss_backward

BASELINE_MSE = 1.0 / 6.0  # E[(v_i + v_j - 1)^2] for two independent U[0, 1] values


def adding_batch(rng: np.random.Generator, length: int, batch: int,
                 dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` adding-problem sequences of ``length`` >= 2 steps: x (T, B, 2) (value, marker) and y (B,)."""
    T = check_int("length", length, 2)
    B = check_int("batch", batch, 1)
    values = rng.random((T, B))  # (T, B) ~ U[0, 1)
    half = T // 2
    first = rng.integers(0, half, size=B)  # (B,) a step of the first half
    second = rng.integers(half, T, size=B)  # (B,) a step of the second half
    cols = np.arange(B)
    x = np.zeros((T, B, 2), dtype=dtype)  # (T, B, 2)
    x[:, :, 0] = values
    x[first, cols, 1] = 1
    x[second, cols, 1] = 1
    y = (values[first, cols] + values[second, cols]).astype(dtype)  # (B,) from the float64 draws
    return x, y


class AddingTask:
    """The adding problem as a :class:`rnnkit.demos.longrange.LongRangeTask`: one output after step T."""

    name = "adding"
    input_size = 2
    output_size = 1
    every_step = False

    def __init__(self, length: int = 50) -> None:
        self.length = check_int("length", length, 2)

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        return adding_batch(rng, self.length, size)

    def loss(self, z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean squared error of the predictions z (B, 1) against the sums y (B,), and dL/dz."""
        loss, cache = mse_loss(z, y[:, None])
        return loss, mse_loss_backward(1.0, cache)

    def metrics(self, z: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """``mse`` of the predictions and ``baseline_mse``, that of always predicting 1, on the same sums."""
        y64 = y.astype(np.float64)
        return {"mse": float(np.mean((z[:, 0].astype(np.float64) - y64) ** 2)),
                "baseline_mse": float(np.mean((1.0 - y64) ** 2))}

    def loss_note(self) -> str:
        return (f"loss: mean squared error of the sum, averaged over the training steps since the line before "
                f"(remembering nothing, always predicting 1: {BASELINE_MSE:.3f})")

    def summary(self, metrics: dict[str, float]) -> list[str]:
        mse, base = metrics["mse"], metrics["baseline_mse"]
        return [f"test MSE {mse:.4f} against {base:.4f} for always predicting 1: {100 * mse / base:.1f}% of the "
                "baseline's error"]

    def table(self) -> list[tuple[str, Callable[[dict[str, float]], str]]]:
        return [("test MSE", lambda m: f"{m['mse']:.4f}"),
                ("baseline MSE", lambda m: f"{m['baseline_mse']:.4f}"),
                ("of baseline", lambda m: f"{100 * m['mse'] / m['baseline_mse']:.1f}%")]


# Measured with these defaults, seeds 0-5: the Elman RNN's test MSE is 99-108% of the baseline's (still 109%
# after 10000 steps, seed 0), the LSTM's 0.1-0.4% and the GRU's 0.0-0.1%; the LSTM leaves the baseline's
# plateau after about 600-1000 steps here, after 1250-1750 at T = 100
ADDING_DEFAULTS = LongRangeConfig(cell="lstm", steps=2000, hidden=32, batch_size=32, lr=0.01)
ADDING_LENGTH = 50


def run_adding_demo(cfg: LongRangeConfig | None = None, length: int = ADDING_LENGTH,
                    cells: Sequence[str] | None = None,
                    log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Train ``cfg.cell`` (or each of ``cells``, same seed and budget) on the adding problem of ``length``
    steps; returns :func:`rnnkit.demos.longrange.run_long_range`'s results, whose ``metrics`` hold ``mse``
    and ``baseline_mse`` on the test set."""
    return run_long_range(AddingTask(length), cfg if cfg is not None else ADDING_DEFAULTS, cells, log)
