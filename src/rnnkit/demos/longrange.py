r"""Training on the long-range synthetic tasks (the adding problem, the copy-memory task) with a choice of cell.

The model is one recurrent layer (Elman RNN, LSTM or GRU) and a linear readout::

    h_1 .. h_T = cell(x_1 .. x_T)                 # (T, B, H)
    z = W_o h_T + b_o            (one answer at the end: the adding problem)    # (B, O)
    z_t = W_o h_t + b_o          (an answer at every step: the copy task)       # (T, B, O)

trained by Adam on fresh random batches, the gradient clipped to a global norm.  The task (an object
with the :class:`LongRangeTask` methods) draws the batches and owns the loss and the test metrics.

Why the cells differ here: an error at the end must reach the step that held the information, T steps
back.  Through an Elman cell dL/dh_t is multiplied by W_hh^T diag(f'(a)) once per step, which shrinks it
geometrically (``rnnkit gradflow`` shows the norms); the LSTM's cell state c_t = f_t * c_{t-1} + ... and
the GRU's h_t = (1 - z_t) * n_t + z_t * h_{t-1} carry it through a gate that can stay near 1.

Gradients come from BPTT, or (``gradient="rtrl"``) from real-time recurrent learning
(:mod:`rnnkit.rtrl`, :mod:`rnnkit.rtrl_gated`): the same numbers by forward-mode sensitivities, at a
cost of O(H^4) per step instead of O(H^2).

Randomness: three streams from the seed, ``default_rng([seed, k])``: k = 0 the initial weights, k = 1 the
training batches, k = 2 the test set.  So every cell of a comparison sees the same batches and the same
test set, and the same seed gives the same numbers.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from rnnkit.cells.layout import GATES
from rnnkit.checks import check_int
from rnnkit.errors import NonFiniteError
from rnnkit.nn import Linear
from rnnkit.optim import Adam, clip_grad_norm
from rnnkit.recurrent import GRU, LSTM, RNN

CELLS = ("rnn", "lstm", "gru")
GRADIENTS = ("bptt", "rtrl")
CELL_NAMES = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}
_LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
LOG_SECONDS = 5.0  # a progress line at least this often, whatever log_every is (RTRL: ~0.2 s a step)
ESTIMATE_STEPS = 3  # the training time is estimated once, after this many steps or LOG_SECONDS, whichever first
LONG_SECONDS = 120.0  # ... and told when it is longer than this


class LongRangeTask(Protocol):
    """What :func:`train_long_range` asks of a task."""

    name: str
    length: int  # T, the length of every sequence
    input_size: int  # D
    output_size: int  # O
    every_step: bool  # an answer at every step (z (T, B, O)) or only after the last (z (B, O))

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs x (T, B, D) float32 and the targets of ``size`` fresh sequences."""

    def loss(self, z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The training loss and its gradient dL/dz, shaped like z."""

    def metrics(self, z: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Test metrics (and the baselines they are read against) of outputs z for targets y."""

    def loss_note(self) -> str:
        """One line: what the logged loss is, and the baseline to read it against."""

    def summary(self, metrics: dict[str, float]) -> list[str]:
        """Lines that say the test result against the baseline."""

    def table(self) -> list[tuple[str, Callable[[dict[str, float]], str]]]:
        """Columns of the comparison table: (header, format one run's metrics)."""


@dataclass(frozen=True)
class LongRangeConfig:
    """A training run's settings (change one with ``dataclasses.replace``); each task has its defaults."""

    cell: str = "lstm"  # "rnn" (Elman, tanh), "lstm" or "gru"
    steps: int = 2000  # Adam steps, each on a fresh batch
    hidden: int = 32  # H
    batch_size: int = 32  # B
    lr: float = 0.01  # Adam's learning rate, the same for every cell
    clip: float = 1.0  # global gradient-norm clipping
    seed: int = 0
    gradient: str = "bptt"  # "bptt", or "rtrl": the same gradient in forward mode, O(H^4) a step
    test_size: int = 1000  # test sequences, drawn once from their own stream
    log_every: int = 0  # steps between progress lines (and history entries); 0: a tenth of the steps

    def check(self) -> LongRangeConfig:
        """Self if every field is valid; ValueError naming the first that is not."""
        if self.cell not in CELLS:
            raise ValueError(f"Expected cell one of {CELLS}, got {self.cell!r}")
        if self.gradient not in GRADIENTS:
            raise ValueError(f"Expected gradient one of {GRADIENTS}, got {self.gradient!r}")
        for name in ("steps", "hidden", "batch_size", "test_size"):
            check_int(name, getattr(self, name), 1)
        check_int("seed", self.seed, 0)
        check_int("log_every", self.log_every, 0)
        for name in ("lr", "clip"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise ValueError(f"Expected {name} to be a finite number > 0, got {value!r}")
        return self


class LongRangeModel:
    """One recurrent layer (``cell``) over inputs of ``input_size`` and a linear readout to ``output_size``;
    one flat params dict (``rnn.weight_ih_l0`` ..., ``readout.weight``, ``readout.bias``)."""

    def __init__(self, cell: str, input_size: int, hidden: int, output_size: int, every_step: bool,
                 rng: np.random.Generator, dtype: Any = np.float32) -> None:
        if cell not in CELLS:
            raise ValueError(f"Expected cell one of {CELLS}, got {cell!r}")
        self.cell = cell
        self.every_step = every_step
        self.rnn = _LAYERS[cell](input_size, hidden, rng=rng, dtype=dtype)
        self.readout = Linear(hidden, output_size, rng, dtype=dtype)
        # one dict over the same arrays, so the optimizer's in-place updates reach both blocks
        self.params = {f"rnn.{k}": v for k, v in self.rnn.params.items()}
        self.params.update({f"readout.{k}": v for k, v in self.readout.params.items()})

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        """Outputs z, (T, B, O) or (B, O) (see the module docstring), for inputs x (T, B, D), and the cache."""
        out, _, rnn_cache = self.rnn.forward(x)  # (T, B, H)
        read = out if self.every_step else out[-1]  # (T, B, H) or (B, H)
        z, lin_cache = self.readout.forward(read)
        return z, (x, out.shape, rnn_cache, lin_cache)

    def backward(self, dz: np.ndarray, cache: tuple, gradient: str = "bptt") -> dict[str, np.ndarray]:
        """Gradients of every parameter given dL/dz, by BPTT or by RTRL."""
        if gradient not in GRADIENTS:
            raise ValueError(f"Expected gradient one of {GRADIENTS}, got {gradient!r}")
        x, out_shape, rnn_cache, lin_cache = cache
        dread, lin_grads = self.readout.backward(dz, lin_cache)
        if self.every_step:
            dout = dread  # (T, B, H)
        else:
            dout = np.zeros(out_shape, dtype=dread.dtype)  # (T, B, H): only h_T is read
            dout[-1] = dread
        if gradient == "rtrl":  # runs the layer forward again, carrying dh_t/dθ beside h_t; no cache needed
            rnn_grads = rtrl_grads(self.cell, self.rnn.params, x, dout)
        else:
            _, _, rnn_grads = self.rnn.backward(dout, None, rnn_cache)
        grads = {f"rnn.{k}": v for k, v in rnn_grads.items()}
        grads.update({f"readout.{k}": v for k, v in lin_grads.items()})
        return grads


def rtrl_grads(cell: str, params: dict[str, np.ndarray], x: np.ndarray, dout: np.ndarray) -> dict[str, np.ndarray]:
    """The layer's parameter gradients by RTRL, for dL/dh_t = ``dout`` (T, B, H), from zero initial state."""
    from rnnkit.rtrl import rtrl_gradients  # here: --gradient rtrl only (the CLI loads this module at start-up)
    from rnnkit.rtrl_gated import gru_rtrl_gradients, lstm_rtrl_gradients

    if cell == "lstm":
        grads, _ = lstm_rtrl_gradients(params, x, None, dout)
    elif cell == "gru":
        grads, _ = gru_rtrl_gradients(params, x, None, dout)
    else:
        grads, _ = rtrl_gradients(params, x, None, dout)
    return grads


def multiply_adds(cell: str, length: int, input_size: int, hidden: int, batch: int) -> dict[str, float]:
    """Rough multiply-adds of one training step's gradient: ``bptt`` (the forward's products, and twice
    that for the backward) and ``rtrl`` (the forward's, and W_hh times the (H, N) sensitivity every step,
    N the layer's parameter count).  For the cost line of an RTRL run, not a benchmark."""
    G, H, D = GATES[cell], hidden, input_size
    forward = batch * length * G * H * (D + H)
    n_params = G * H * (D + H) + 2 * G * H
    return {"bptt": 3.0 * forward, "rtrl": forward + float(batch * length * G * H * H * n_params)}


def outputs_in_chunks(model: LongRangeModel, x: np.ndarray, chunk: int) -> np.ndarray:
    """The model's outputs for x (T, N, D), ``chunk`` sequences at a time: a pass holds no more than a
    training batch does, whatever the test set's size.  (T, N, O) or (N, O), as :meth:`LongRangeModel.forward`."""
    parts = [model.forward(x[:, i:i + chunk])[0] for i in range(0, x.shape[1], chunk)]
    return np.concatenate(parts, axis=1 if model.every_step else 0)


def time_estimate(seconds_a_step: float, steps: int) -> str | None:
    """A line saying how long ``steps`` steps take at ``seconds_a_step`` (the first few steps' mean), or None
    when that is under LONG_SECONDS: RTRL's O(H^4) a step makes a default-sized run take hours."""
    total = seconds_a_step * steps
    if total < LONG_SECONDS:
        return None
    said = f"{total / 60:.0f} min" if total < 5400 else f"{total / 3600:.1f} h"
    return (f"about {said} for --steps {steps} ({seconds_a_step:.2g} s a step); a smaller --hidden, shorter "
            "sequences or fewer --steps are quicker")


def train_long_range(task: LongRangeTask, cfg: LongRangeConfig,
                     log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train one cell on ``task``; returns a dict: ``cell``, ``metrics`` (the task's, on the test set),
    ``history`` [(step, mean training loss since the previous entry)], ``final_loss``, ``seconds`` (of
    training), ``steps`` and ``params`` (the trained arrays).  ``log`` receives progress lines, and
    once, after the first few steps, the estimated training time when it is long (:func:`time_estimate`)."""
    cfg.check()
    emit = log if log is not None else (lambda line: None)
    model = LongRangeModel(cfg.cell, task.input_size, cfg.hidden, task.output_size, task.every_step,
                           np.random.default_rng([cfg.seed, 0]))
    opt = Adam(model.params, lr=cfg.lr)
    data_rng = np.random.default_rng([cfg.seed, 1])
    log_every = cfg.log_every or max(1, cfg.steps // 10)
    history: list[tuple[int, float]] = []
    recent: list[float] = []  # losses since the last history entry
    shown: list[float] = []  # losses since the last progress line
    estimated = False  # the training time told (or found short)
    start = last_line = time.perf_counter()
    for step in range(1, cfg.steps + 1):
        x, y = task.batch(data_rng, cfg.batch_size)
        with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is told below, in one line
            z, cache = model.forward(x)
            loss, dz = task.loss(z, y)
        if not np.isfinite(loss):
            raise NonFiniteError(f"the {CELL_NAMES[cfg.cell]}'s training loss became {loss} at step {step}: the "
                                 f"weights blew up; give a smaller lr (--lr, now {cfg.lr:g})", stage="forward")
        grads = model.backward(dz, cache, cfg.gradient)
        clip_grad_norm(grads, cfg.clip)
        with np.errstate(over="ignore"):  # an absurd lr overflows the float32 weights: the next loss tells it
            opt.step(grads)
        recent.append(loss)
        shown.append(loss)
        now = time.perf_counter()
        logged = step % log_every == 0 or step == cfg.steps
        if logged:
            history.append((step, float(np.mean(recent))))
            recent = []
        # a line every log_every steps, and at least every LOG_SECONDS in between (the history, which a
        # run returns, keeps to the steps: the same seed gives the same history however fast the machine)
        if not estimated and step < cfg.steps and (step >= ESTIMATE_STEPS or now - start >= LOG_SECONDS):
            estimated = True
            line = time_estimate((now - start) / step, cfg.steps)
            if line:
                emit(line)
        if logged or now - last_line >= LOG_SECONDS:
            emit(f"step {step:>6}/{cfg.steps}  loss {np.mean(shown):.4f}  {now - start:6.1f}s")
            shown, last_line = [], now
    seconds = time.perf_counter() - start
    x, y = task.batch(np.random.default_rng([cfg.seed, 2]), cfg.test_size)
    z = outputs_in_chunks(model, x, cfg.batch_size)
    return {"cell": cfg.cell, "metrics": task.metrics(z, y), "history": history, "final_loss": float(loss),
            "seconds": seconds, "steps": cfg.steps, "params": model.params}


def run_long_range(task: LongRangeTask, cfg: LongRangeConfig, cells: Sequence[str] | None = None,
                   log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Train ``cfg.cell``, or each of ``cells`` with the rest of ``cfg`` (same seed, batches, budget),
    logging each run's progress and result, and for several cells a table of them; returns the
    results of :func:`train_long_range` in order."""
    emit = log if log is not None else (lambda line: None)
    cells = [cfg.check().cell] if cells is None else list(cells)
    if not cells or any(c not in CELLS for c in cells):
        raise ValueError(f"Expected cells from {CELLS}, got {cells!r}")
    results = []
    emit(task.loss_note())
    for cell in cells:
        run_cfg = replace(cfg, cell=cell)
        if len(cells) > 1:
            emit(f"-- {CELL_NAMES[cell]}")
        if cfg.gradient == "rtrl":
            cost = multiply_adds(cell, task.length, task.input_size, cfg.hidden, cfg.batch_size)
            emit(f"RTRL: about {cost['rtrl']:.1e} multiply-adds per step against BPTT's {cost['bptt']:.1e} "
                 f"({cost['rtrl'] / cost['bptt']:.0f} times): a few hidden units and short sequences keep it quick")
        result = train_long_range(task, run_cfg, log)
        for line in task.summary(result["metrics"]):
            emit(line)
        emit(f"trained in {result['seconds']:.1f}s")
        results.append(result)
    if len(cells) > 1:
        for line in format_table(task, results):
            emit(line)
    return results


def format_table(task: LongRangeTask, results: Sequence[dict[str, Any]]) -> list[str]:
    """The comparison as aligned text lines: a row per cell, the task's columns and the training time."""
    columns = [("cell", lambda r: CELL_NAMES[r["cell"]])]
    columns += [(head, lambda r, f=fmt: f(r["metrics"])) for head, fmt in task.table()]
    columns.append(("train time", lambda r: f"{r['seconds']:.1f}s"))
    cells = [[head for head, _ in columns]] + [[fmt(r) for _, fmt in columns] for r in results]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for row in cells:
        first = row[0].ljust(widths[0])
        lines.append("  ".join([first] + [v.rjust(w) for v, w in zip(row[1:], widths[1:])]))
    return lines
