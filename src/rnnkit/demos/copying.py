r"""The copy-memory task (Arjovsky, Shah & Bengio 2016; after Hochreiter & Schmidhuber 1997).

Symbols: 0 is the blank, 1..A the data symbols (A = 8 in the paper), A + 1 the delimiter.  A sequence
shows K data symbols drawn uniformly with replacement, then T - 1 blanks, the delimiter, and K blanks; at
those last K steps the network must output the K symbols in their order, and the blank everywhere before::

    input   s_1 .. s_K  0 .. 0 (T - 1)  A+1  0 .. 0 (K)        # T + 2K steps, one-hot (T + 2K, B, A + 2)
    target  0 .. 0 (T + K)                   s_1 .. s_K        # (T + 2K, B) in 0..A: A + 1 classes

(the paper: K = 10, A = 8, T from 100 up).  The loss is the softmax cross-entropy averaged over all
T + 2K steps.  A network that remembers nothing can still output blanks until the delimiter and then
guess uniformly, at a cross-entropy of K ln A / (T + 2K) per step (the paper's baseline), ln A per
recalled symbol and an accuracy of 1 / A on them.  The test reports the recalled symbols' accuracy and
cross-entropy against that chance level, and the whole sequence's cross-entropy against the baseline.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rnnkit.checks import check_int
from rnnkit.demos.longrange import LongRangeConfig, run_long_range
from rnnkit.nn import log_softmax, softmax_cross_entropy, softmax_cross_entropy_backward

BLANK = 0
# the demo's task, smaller than the paper's (K = 10, T >= 100) so that it takes seconds.  Measured with the
# demo's other defaults, seeds 0-2: at T = 15 an Elman RNN stays at chance; at T = 10 it recalls some symbols
# (21-39% against 12.5%); at T = 20 and K = 5 the LSTM recalls only 24-33% after 2000 steps (44% after 8000)
COPY_DELAY = 15
COPY_LENGTH = 3


def copy_batch(rng: np.random.Generator, delay: int, batch: int, copy_length: int = 10,
               symbols: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` copy-task sequences as symbol ids: inputs (T + 2K, B) and targets (T + 2K, B), int64, for
    the delay T = ``delay``, K = ``copy_length`` symbols to copy from an alphabet of A = ``symbols``."""
    T = check_int("delay", delay, 1)
    K = check_int("copy_length", copy_length, 1)
    A = check_int("symbols", symbols, 2)
    B = check_int("batch", batch, 1)
    data = rng.integers(1, A + 1, size=(K, B))  # (K, B) in 1..A
    inputs = np.full((T + 2 * K, B), BLANK, dtype=np.int64)  # (T + 2K, B)
    inputs[:K] = data
    inputs[K + T - 1] = A + 1  # the delimiter, the T-th step after the data
    targets = np.full((T + 2 * K, B), BLANK, dtype=np.int64)  # (T + 2K, B)
    targets[T + K:] = data
    return inputs, targets


class CopyTask:
    """The copy-memory task as a :class:`rnnkit.demos.longrange.LongRangeTask`: an output at every step."""

    name = "copy"
    every_step = True

    def __init__(self, delay: int = COPY_DELAY, copy_length: int = COPY_LENGTH, symbols: int = 8) -> None:
        self.delay = check_int("delay", delay, 1)
        self.copy_length = check_int("copy_length", copy_length, 1)
        self.symbols = check_int("symbols", symbols, 2)
        self.length = self.delay + 2 * self.copy_length
        self.input_size = self.symbols + 2  # blank, A data symbols, delimiter
        self.output_size = self.symbols + 1  # blank and the data symbols: the delimiter is never a target

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """One-hot inputs (T + 2K, B, A + 2) float32 and the targets (T + 2K, B)."""
        inputs, targets = copy_batch(rng, self.delay, size, self.copy_length, self.symbols)
        return np.eye(self.input_size, dtype=np.float32)[inputs], targets

    def loss(self, z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Cross-entropy per step, averaged over all (T + 2K, B) outputs z (T + 2K, B, A + 1), and dL/dz."""
        loss, cache = softmax_cross_entropy(z, y)
        return loss, softmax_cross_entropy_backward(1.0, cache)

    def baseline_ce(self) -> float:
        """K ln A / (T + 2K): blanks for sure until the delimiter, then a uniform guess."""
        return self.copy_length * math.log(self.symbols) / self.length

    def metrics(self, z: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """``recall_accuracy`` and ``recall_ce`` (nats) on the K recalled symbols, ``sequence_ce`` per step
        over the whole sequence, and their chance levels (``chance_accuracy``, ``chance_ce``,
        ``baseline_ce``)."""
        logp = log_softmax(z.astype(np.float64))  # (T + 2K, B, A + 1)
        nll = -np.take_along_axis(logp, y[:, :, None], axis=2)[:, :, 0]  # (T + 2K, B)
        K = self.copy_length
        recalled = z[-K:].argmax(axis=-1) == y[-K:]  # (K, B)
        return {"recall_accuracy": float(recalled.mean()), "recall_ce": float(nll[-K:].mean()),
                "sequence_ce": float(nll.mean()), "chance_accuracy": 1.0 / self.symbols,
                "chance_ce": math.log(self.symbols), "baseline_ce": self.baseline_ce()}

    def loss_note(self) -> str:
        return (f"loss: cross-entropy in nats per output of the {self.length}-step sequences, averaged over the "
                f"training steps since the line before (remembering nothing: {self.baseline_ce():.3f})")

    def summary(self, metrics: dict[str, float]) -> list[str]:
        m = metrics
        return [f"recalled symbols: {100 * m['recall_accuracy']:.1f}% right (guessing: "
                f"{100 * m['chance_accuracy']:.1f}%), cross-entropy {m['recall_ce']:.3f} (guessing: "
                f"{m['chance_ce']:.3f})",
                f"whole sequence: cross-entropy {m['sequence_ce']:.4f} per step against {m['baseline_ce']:.4f} "
                "for remembering nothing"]

    def table(self) -> list[tuple[str, Callable[[dict[str, float]], str]]]:
        return [("recall accuracy", lambda m: f"{100 * m['recall_accuracy']:.1f}%"),
                ("chance", lambda m: f"{100 * m['chance_accuracy']:.1f}%"),
                ("recall CE", lambda m: f"{m['recall_ce']:.3f}"),
                ("sequence CE", lambda m: f"{m['sequence_ce']:.4f}"),
                ("baseline CE", lambda m: f"{m['baseline_ce']:.4f}")]


COPY_DEFAULTS = LongRangeConfig(cell="lstm", steps=2000, hidden=64, batch_size=32, lr=0.01)


def run_copy_demo(cfg: LongRangeConfig | None = None, delay: int = COPY_DELAY, copy_length: int = COPY_LENGTH,
                  symbols: int = 8, cells: Sequence[str] | None = None,
                  log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Train ``cfg.cell`` (or each of ``cells``, same seed and budget) on the copy task; returns
    :func:`rnnkit.demos.longrange.run_long_range`'s results, with :meth:`CopyTask.metrics` on the test set."""
    task = CopyTask(delay, copy_length, symbols)
    return run_long_range(task, cfg if cfg is not None else COPY_DEFAULTS, cells, log)
