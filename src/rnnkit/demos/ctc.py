r"""``rnnkit demo ctc``: a bidirectional LSTM learns to transcribe synthetic speech by connectionist temporal
classification (Graves, Fernandez, Gomez & Schmidhuber 2006).

The task (:mod:`rnnkit.demos.ctc_speech`): strings of 2..6 symbols, each symbol a run of 3..6 noisy frames of a
2-D signal, with silences; nothing says which frame belongs to which symbol.  The network::

    h_1 .. h_T = BiLSTM(x_1 .. x_T)          # (T, B, 2H)
    u_t = W h_t + b                          # (T, B, A + 1): the blank and the A symbols
    loss = CTC(u, the string)                # rnnkit.nn.ctc, reduction "mean"

trains by Adam on fresh batches.  It is tested on held-out strings, of the training lengths and longer, by the
label error rate (edit distance / reference length, :mod:`rnnkit.metrics.edit_distance`) of best-path
(greedy) decoding and of prefix beam search, against the nearest-prototype baseline that sees one frame at a
time.  Randomness: ``default_rng([seed, k])``, k = 0 the weights, 1 the training batches, 2 the tests
(``[seed, 2, n]`` for strings of n symbols), 3 the examples shown.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rnnkit.checks import check_int, check_number
from rnnkit.demos.ctc_speech import ALPHABET, nearest_prototype_decode, speech_batch, spell
from rnnkit.demos.demo_steps import DemoSteps
from rnnkit.demos.training_checks import check_length_training
from rnnkit.errors import NonFiniteError
from rnnkit.metrics.edit_distance import label_error_rate
from rnnkit.nn import Linear, ctc_beam_decode, ctc_greedy_decode, ctc_loss, ctc_loss_backward
from rnnkit.optim import clip_grad_norm
from rnnkit.recurrent import LSTM


@dataclass(frozen=True)
class CTCDemoConfig:
    """Settings of :func:`train_transcriber`: the task, the model and the training."""

    seed: int = 0
    steps: int = 2000  # Adam steps, each on a fresh batch
    symbols: int = 5  # A, the alphabet's size
    noise: float = 0.3  # sigma of the frames' Gaussian noise
    min_len: int = 2  # symbols per training string, drawn per string from min_len..max_len
    max_len: int = 6
    hidden: int = 32  # LSTM units per direction
    batch_size: int = 32
    lr: float = 0.01
    clip: float = 5.0  # global gradient-norm clipping

    def __post_init__(self) -> None:
        check_length_training(self)
        check_int("symbols", self.symbols, 2)
        if self.symbols > len(ALPHABET):
            raise ValueError(f"Expected symbols <= {len(ALPHABET)} (the letters {ALPHABET}), got {self.symbols}")
        check_number("noise", self.noise, low=0.0)


class Transcriber:
    """BiLSTM + linear layer over the blank and the A symbols; ``params`` flat (``rnn.*``, ``out.*``)."""

    def __init__(self, symbols: int, hidden: int, rng: np.random.Generator) -> None:
        self.rnn = LSTM(2, hidden, bidirectional=True, rng=rng)
        self.out = Linear(2 * hidden, symbols + 1, rng)
        self.params = {f"rnn.{k}": v for k, v in self.rnn.params.items()}
        self.params.update({f"out.{k}": v for k, v in self.out.params.items()})

    def forward(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, tuple]:
        """Frames x (T, B, 2) of ``lengths`` (B,) -> logits (T, B, A + 1) and the cache."""
        h, _, rnn_cache = self.rnn.forward(x, lengths=lengths)  # (T, B, 2H)
        logits, out_cache = self.out.forward(h)  # (T, B, A + 1)
        return logits, (rnn_cache, out_cache)

    def backward(self, dlogits: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
        rnn_cache, out_cache = cache
        dh, out_grads = self.out.backward(dlogits, out_cache)  # (T, B, 2H)
        _, _, rnn_grads = self.rnn.backward(dh, None, rnn_cache)
        grads = {f"rnn.{k}": v for k, v in rnn_grads.items()}
        grads.update({f"out.{k}": v for k, v in out_grads.items()})
        return grads


def train_transcriber(cfg: CTCDemoConfig, log: Callable[[str], None] | None = None) -> Transcriber:
    """Train a :class:`Transcriber` on fresh batches of min_len..max_len symbols; ``log`` receives a progress
    line every tenth of the steps (the mean CTC loss per label since the line before, and the greedy label
    error rate on that batch)."""
    model = Transcriber(cfg.symbols, cfg.hidden, np.random.default_rng([cfg.seed, 0]))
    steps = DemoSteps(model.params, cfg, log, "CTC loss per label", width=5)
    for step in steps:
        label_lengths = steps.rng.integers(cfg.min_len, cfg.max_len + 1, size=cfg.batch_size)
        x, lengths, targets, target_lengths = speech_batch(steps.rng, label_lengths, cfg.symbols, cfg.noise)
        logits, cache = model.forward(x, lengths)
        loss, ctc_cache = ctc_loss(logits, targets, lengths, target_lengths, reduction="mean")
        if not np.isfinite(loss):
            raise NonFiniteError(f"CTC loss {loss} at step {step}: give a smaller lr (now {cfg.lr:g})",
                                 stage="forward")
        grads = model.backward(ctc_loss_backward(1.0, ctc_cache), cache)
        clip_grad_norm(grads, cfg.clip)
        steps.opt.step(grads)
        if steps.due(step, loss):
            refs = [t[:n].tolist() for t, n in zip(targets, target_lengths)]
            ler = label_error_rate(refs, ctc_greedy_decode(logits, lengths))
            steps.report(step, f"label error rate of the batch {100 * ler:5.1f}%")
    return model


def evaluate_transcriber(model: Transcriber, cfg: CTCDemoConfig, n: int, count: int, rng: np.random.Generator,
                         beam: int = 8, batch_size: int = 100) -> dict[str, float]:
    """Label error rates on ``count`` held-out strings of ``n`` symbols: {"baseline", "greedy", "beam"}."""
    refs: list[list[int]] = []
    hyps: dict[str, list[list[int]]] = {"baseline": [], "greedy": [], "beam": []}
    for lo in range(0, count, batch_size):
        x, lengths, targets, _ = speech_batch(rng, np.full(min(batch_size, count - lo), n), cfg.symbols, cfg.noise)
        logits, _ = model.forward(x, lengths)
        refs += [t.tolist() for t in targets]
        hyps["baseline"] += nearest_prototype_decode(x, lengths, cfg.symbols)
        hyps["greedy"] += ctc_greedy_decode(logits, lengths)
        hyps["beam"] += ctc_beam_decode(logits, lengths, beam)
    return {name: label_error_rate(refs, h) for name, h in hyps.items()}


def show_examples(model: Transcriber, cfg: CTCDemoConfig, n: int, count: int, rng: np.random.Generator) -> list[str]:
    """Lines showing ``count`` strings of ``n`` symbols: the truth, the frames' greedy classes (``-`` for the
    blank, so the alignment CTC found shows), the baseline's and the greedy transcription."""
    x, lengths, targets, _ = speech_batch(rng, np.full(count, n), cfg.symbols, cfg.noise)
    logits, _ = model.forward(x, lengths)
    greedy = ctc_greedy_decode(logits, lengths)
    baseline = nearest_prototype_decode(x, lengths, cfg.symbols)
    lines = []
    for b in range(count):
        frames = "".join("-" if k == 0 else ALPHABET[k - 1] for k in logits[:lengths[b], b].argmax(axis=1))
        lines.append(f"  truth {spell(targets[b])!r:<12} frames {frames}\n"
                     f"    network {spell(greedy[b])!r}, baseline {spell(baseline[b])!r}")
    return lines


def run_ctc_demo(cfg: CTCDemoConfig, test_lengths: Sequence[int], test_size: int = 200, beam: int = 8,
                 log: Callable[[str], None] = print) -> dict[int, dict[str, float]]:
    """Train, show examples, and test at each of ``test_lengths``; returns {n: evaluate_transcriber's dict}."""
    start = time.perf_counter()
    model = train_transcriber(cfg, log)
    log(f"trained in {time.perf_counter() - start:.1f} s; examples (n = {cfg.max_len}; frames: each frame's most "
        f"probable class, - the blank):")
    for line in show_examples(model, cfg, cfg.max_len, 3, np.random.default_rng([cfg.seed, 3])):
        log(line)
    log(f"label error rate (edit distance / reference length), {test_size} held-out strings per length "
        f"(trained on {cfg.min_len}..{cfg.max_len} symbols):")
    log(f"     n   nearest prototype   greedy   beam ({beam})")
    results = {}
    for n in test_lengths:
        m = evaluate_transcriber(model, cfg, n, test_size, np.random.default_rng([cfg.seed, 2, n]), beam)
        results[n] = m
        longer = "  (longer than training)" if n > cfg.max_len else ""
        log(f"  {n:>4}   {100 * m['baseline']:16.1f}%   {100 * m['greedy']:5.1f}%   {100 * m['beam']:7.1f}%{longer}")
    return results
