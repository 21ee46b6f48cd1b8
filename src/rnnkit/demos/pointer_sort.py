r"""``rnnkit demo pointer``: a pointer network learns to sort numbers (Vinyals, Fortunato & Jaitly 2015).

Each example is n numbers drawn uniformly from [0, 1), x (n, 1); the answer is the positions of the
numbers in increasing order, C = argsort(x), so the output "vocabulary" is the input's own positions
and grows with n: a fixed-vocabulary seq2seq model cannot even write the answer for an n it never saw.
The network (:class:`rnnkit.seq2seq.pointer.PointerNet`) trains by Adam on fresh batches of lengths
drawn uniformly from ``min_len`` .. ``max_len`` (so every batch has unequal lengths and uses the
masking), then is tested by greedy decoding (or beam search) on lengths both seen and longer than in training:

- exact match: the share of test sequences whose whole output is the sorted order;
- per position: the share of output steps that point at the right number;
- chance, for a guess among the n positions: 1/n per position and 1/n! for a whole sequence.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.checks import check_number
from rnnkit.demos.demo_steps import DemoSteps, train_unless_given
from rnnkit.demos.training_checks import check_length_training
from rnnkit.optim import clip_grad_norm
from rnnkit.seq2seq.pointer import PointerNet
from rnnkit.seq2seq.pointer_io import save_pointer



@dataclass(frozen=True)
class PointerDemoConfig:
    """Settings of :func:`train_sorter`: training lengths, model size and training."""

    seed: int = 0
    steps: int = 3000  # Adam steps, each on a fresh batch
    min_len: int = 5  # training lengths, drawn per sequence from min_len..max_len
    max_len: int = 10
    hidden: int = 64  # encoder and decoder units; the pointer's attention size too
    batch_size: int = 64
    lr: float = 0.02  # Adam's, falling linearly to lr_end over the steps (seed 0: 67.5% exact at n = 10, against
    lr_end: float = 0.0005  # 46.7% for a constant 0.005)
    clip: float = 5.0  # global gradient-norm clipping

    def __post_init__(self) -> None:
        check_length_training(self)
        check_number("lr_end", self.lr_end, low=0.0)


def sort_batch(rng: np.random.Generator, lengths: np.ndarray, dtype: object = np.float32
               ) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of ``lengths`` (B,) numbers from U[0, 1): x (T, B, 1), zero-padded after each length, and
    targets (T, B), the positions in increasing order of the numbers, 0 after each length (T = max length)."""
    lengths = np.asarray(lengths)
    T, B = int(lengths.max()), lengths.shape[0]
    values = rng.random((T, B))  # (T, B)
    real = np.arange(T)[:, None] < lengths[None, :]  # (T, B)
    values = np.where(real, values, np.inf)  # padding sorts last, so argsort's first n_b are the real ones
    targets = np.where(real, np.argsort(values, axis=0, kind="stable"), 0)  # (T, B)
    x = np.where(real, values, 0.0)[:, :, None].astype(dtype)  # (T, B, 1)
    return x, targets


# a task's batch: (rng, lengths (B,)) -> (x (T, B, D), input lengths (B,), targets (T_out, B), target lengths (B,))
Batch = Callable[[np.random.Generator, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def train_pointer(cfg: PointerDemoConfig, batch: Batch, input_size: int,
                  log: Callable[[str], None] | None = None) -> PointerNet:
    """Train a pointer network on ``batch``'s examples of min_len..max_len elements; ``log`` receives a progress
    line every tenth of the steps."""
    model = PointerNet(input_size, cfg.hidden, rng=np.random.default_rng([cfg.seed, 0]))
    steps = DemoSteps(model.params, cfg, log)
    for step in steps:
        x, lengths, targets, target_lengths = batch(steps.rng, steps.rng.integers(cfg.min_len, cfg.max_len + 1,
                                                                                  size=cfg.batch_size))
        loss, cache = model.forward(x, lengths, targets, target_lengths)
        grads = model.backward(cache)
        clip_grad_norm(grads, cfg.clip)
        steps.opt.lr = cfg.lr + (cfg.lr_end - cfg.lr) * (step - 1) / max(1, cfg.steps - 1)
        steps.opt.step(grads)
        if steps.due(step, loss):
            right = (cache.probs.argmax(axis=2) == targets) & (np.arange(len(targets))[:, None] < target_lengths)
            steps.report(step, f"teacher-forced pointing accuracy {100 * right.sum() / target_lengths.sum():5.1f}%")
    return model


def trained_or_loaded(cfg: PointerDemoConfig, batch: Batch, input_size: int, task: str, model: PointerNet | None,
                      save: str | os.PathLike | None, log: Callable[[str], None]) -> tuple[PointerNet, str]:
    """``model`` when given (a loaded one: nothing is trained), else one trained on ``batch`` (:func:`train_pointer`)
    and, with ``save`` a folder, written to its model.safetensors (:func:`rnnkit.seq2seq.pointer_io.save_pointer`,
    the demo's ``task`` and ``cfg`` in its metadata); and a line saying which."""
    return train_unless_given(model, f"a loaded {task} model, not trained here",
                              lambda: train_pointer(cfg, batch, input_size, log), save,
                              lambda path, trained: save_pointer(path, trained, {"demo": {"task": task, **asdict(cfg)}}))


def _sort_examples(rng: np.random.Generator, lengths: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, targets = sort_batch(rng, lengths)
    return x, lengths, targets, lengths


def train_sorter(cfg: PointerDemoConfig, log: Callable[[str], None] | None = None) -> PointerNet:
    """Train a pointer network to sort (:func:`train_pointer` on :func:`sort_batch`)."""
    return train_pointer(cfg, _sort_examples, 1, log)


def evaluate_sorter(model: PointerNet, n: int, count: int, rng: np.random.Generator, batch_size: int = 250,
                    distinct: bool = False, beam: int = 1) -> dict[str, float]:
    """Decoding (greedy, or ``beam`` beams) of ``count`` sequences of ``n`` numbers: {"exact": share of whole
    sequences right, "per_position": share of output steps right}."""
    exact = positions = 0
    for lo in range(0, count, batch_size):
        lengths = np.full(min(batch_size, count - lo), n)
        x, targets = sort_batch(rng, lengths, model.dtype)
        right = model.beam_search(x, lengths, beam, distinct=distinct)[0] == targets  # (n, B)
        exact += int(right.all(axis=0).sum())
        positions += int(right.sum())
    return {"exact": exact / count, "per_position": positions / (count * n)}


def show_examples(model: PointerNet, n: int, count: int, rng: np.random.Generator, beam: int = 1) -> list[str]:
    """Lines showing ``count`` sequences of ``n`` numbers, the network's greedy order and whether it is right."""
    lengths = np.full(count, n)
    x, targets = sort_batch(rng, lengths, model.dtype)
    out = model.beam_search(x, lengths, beam)[0]
    lines = []
    for b in range(count):
        numbers = " ".join(f"{v:.3f}" for v in x[:, b, 0])
        got = " ".join(f"{v:.3f}" for v in x[out[:, b], b, 0])
        wrong = np.flatnonzero(out[:, b] != targets[:, b])
        mark = "ok" if wrong.size == 0 else f"wrong from output step {wrong[0] + 1}"
        lines.append(f"  {numbers}\n    -> {got}  {mark}")
    return lines


def run_pointer_demo(cfg: PointerDemoConfig, test_lengths: Sequence[int], test_size: int = 1000, beam: int = 1,
                     log: Callable[[str], None] = print, model: PointerNet | None = None,
                     save: str | os.PathLike | None = None) -> dict[int, dict[str, float]]:
    """Train (or take ``model``; ``save``: :func:`trained_or_loaded`), show examples, and test at each of
    ``test_lengths`` (the same sequences of each length for both decodings, never the training stream's); returns
    {n: evaluate_sorter's dict and "exact_distinct", the exact match when no position may be pointed at twice}."""
    model, said = trained_or_loaded(cfg, _sort_examples, 1, "sort", model, save, log)
    how = "greedy decoding" if beam == 1 else f"beam search, {beam} beams"
    log(f"{said}; examples ({how}, n = {cfg.max_len}):")
    for line in show_examples(model, cfg.max_len, 3, np.random.default_rng([cfg.seed, 3]), beam):
        log(line)
    log(f"test, {test_size} sequences per length, {how} (trained on n = {cfg.min_len}..{cfg.max_len}):")
    log("     n   exact match   per position   chance per position   exact match, each position once")
    results = {}
    for n in test_lengths:
        m = evaluate_sorter(model, n, test_size, np.random.default_rng([cfg.seed, 2, n]), beam=beam)
        once = evaluate_sorter(model, n, test_size, np.random.default_rng([cfg.seed, 2, n]), distinct=True,
                               beam=beam)
        m["exact_distinct"] = once["exact"]
        results[n] = m
        longer = "  (longer than training)" if n > cfg.max_len else ""
        log(f"  {n:>4}   {100 * m['exact']:10.1f}%   {100 * m['per_position']:11.1f}%   "
            f"{100 / n:18.1f}%   {100 * once['exact']:30.1f}%{longer}")
    log(f"(chance of a whole sequence: 1/n!, 1 in {math.factorial(cfg.max_len):,} at n = {cfg.max_len})")
    return results
