r"""``rnnkit demo ctc``: a bidirectional LSTM learns to transcribe synthetic speech by connectionist temporal
classification (Graves, Fernandez, Gomez & Schmidhuber 2006).

The task (:mod:`rnnkit.demos.ctc_speech`): strings of 2..6 symbols, each symbol a run of 3..6 noisy frames of a
2-D signal, with silences; nothing says which frame belongs to which symbol.  The network::

    h_1 .. h_T = BiLSTM(x_1 .. x_T)          # (T, B, 2H)
    u_t = W h_t + b                          # (T, B, A + 1): the blank and the A symbols
    loss = CTC(u, the string)                # rnnkit.nn.ctc, reduction "mean"

trains by Adam on fresh batches.  It is tested on held-out strings, of the training lengths and longer, by the
label error rate (edit distance / reference length, :mod:`rnnkit.metrics.edit_distance`) of best-path
(greedy) decoding and of prefix beam search, alone and with a character n-gram model of the training strings
(shallow fusion, :mod:`rnnkit.demos.ctc_fusion`), against the nearest-prototype baseline that sees one frame at a
time.  The strings' symbols are uniformly random, or word-like (``text="words"``, :mod:`rnnkit.demos.ctc_words`).
Randomness: ``default_rng([seed, k])``, k = 0 the weights, 1 the training batches, 2 the tests (``[seed, 2, n]``
for strings of n symbols), 3 the examples shown, 4 the language model's held-out strings (its perplexity).
:func:`save_transcriber` and :func:`load_transcriber` keep a trained network in a checkpoint
(``meta["task"]["model"] = "ctc"``, the settings under ``"demo"``).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.checkpoint_task import (copy_into, load_task_checkpoint, reading_metadata, restore_params,
                                   save_task_checkpoint)
from rnnkit.checks import check_int, check_number
from rnnkit.demos.ctc_fusion import LMFusion, fit_string_lm, training_batches, training_strings
from rnnkit.demos.ctc_speech import ALPHABET, nearest_prototype_decode, spell
from rnnkit.demos.ctc_words import text_batch, text_drawer
from rnnkit.demos.demo_steps import DemoSteps, saved_model, train_unless_given
from rnnkit.demos.training_checks import check_length_training
from rnnkit.errors import NonFiniteError
from rnnkit.metrics.edit_distance import label_error_rate
from rnnkit.nn import Linear, ctc_beam_decode, ctc_greedy_decode, ctc_loss, ctc_loss_backward
from rnnkit.nn.ctc_lm import label_lm
from rnnkit.optim import clip_grad_norm
from rnnkit.recurrent import LSTM

KIND = "ctc"  # meta["task"]["model"] of a saved transcriber
SAVE = "rnnkit demo ctc --save DIR"  # the command that writes what --load reads


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
    text: str = "random"  # "random": symbols drawn uniformly; "words": word-like strings (demos.ctc_words)

    def __post_init__(self) -> None:
        check_length_training(self)
        check_int("symbols", self.symbols, 2)
        if self.symbols > len(ALPHABET):
            raise ValueError(f"Expected symbols <= {len(ALPHABET)} (the letters {ALPHABET}), got {self.symbols}")
        check_number("noise", self.noise, low=0.0)
        text_drawer(self.text, self.symbols)  # a known text, and words enough over the symbols


class Transcriber:
    """BiLSTM + linear layer over the blank and the A symbols; ``params`` flat (``rnn.*``, ``out.*``)."""

    def __init__(self, symbols: int, hidden: int, rng: np.random.Generator) -> None:
        self.symbols, self.hidden = symbols, hidden
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

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy ``arrays`` (every parameter, by :attr:`params`' names) into the parameters in place."""
        copy_into(self.params, arrays, "the transcriber's")


def train_transcriber(cfg: CTCDemoConfig, log: Callable[[str], None] | None = None,
                      seen: list[np.ndarray] | None = None) -> Transcriber:
    """Train a :class:`Transcriber` on fresh batches of min_len..max_len symbols; ``log`` receives a progress
    line every tenth of the steps (the mean CTC loss per label since the line before, and the greedy label
    error rate on that batch); ``seen``, when given, the label strings trained on (each (n,))."""
    model = Transcriber(cfg.symbols, cfg.hidden, np.random.default_rng([cfg.seed, 0]))
    steps = DemoSteps(model.params, cfg, log, "CTC loss per label", width=5)
    for step, (x, lengths, targets, target_lengths) in zip(steps, training_batches(cfg, steps.rng)):
        if seen is not None:
            seen += [t[:n] for t, n in zip(targets, target_lengths)]
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
                         beam: int = 8, batch_size: int = 100, lm: Any = None,
                         fusion: LMFusion = LMFusion()) -> dict[str, float]:
    """Label error rates on ``count`` held-out strings of ``n`` symbols: {"baseline", "greedy", "beam"}, and
    "beam+lm" with ``lm`` (an n-gram model over the labels, :func:`rnnkit.demos.ctc_fusion.fit_string_lm`, or it
    wrapped by :func:`rnnkit.nn.ctc_lm.label_lm`, whose cache then serves several calls) fused by ``fusion``'s
    weight and bonus."""
    refs: list[list[int]] = []
    hyps: dict[str, list[list[int]]] = {"baseline": [], "greedy": [], "beam": []}
    if lm is not None:
        hyps["beam+lm"] = []
        lm = label_lm(lm, cfg.symbols + 1, 0)  # an n-gram model wrapped once: its cache serves every batch
    for lo in range(0, count, batch_size):
        x, lengths, targets, _ = text_batch(cfg, rng, np.full(min(batch_size, count - lo), n))
        logits, _ = model.forward(x, lengths)
        refs += [t.tolist() for t in targets]
        hyps["baseline"] += nearest_prototype_decode(x, lengths, cfg.symbols)
        hyps["greedy"] += ctc_greedy_decode(logits, lengths)
        hyps["beam"] += ctc_beam_decode(logits, lengths, beam)
        if lm is not None:
            hyps["beam+lm"] += ctc_beam_decode(logits, lengths, beam, lm=lm, lm_weight=fusion.weight,
                                               length_bonus=fusion.bonus)
    return {name: label_error_rate(refs, h) for name, h in hyps.items()}


def show_examples(model: Transcriber, cfg: CTCDemoConfig, n: int, count: int, rng: np.random.Generator) -> list[str]:
    """Lines showing ``count`` strings of ``n`` symbols: the truth, the frames' greedy classes (``-`` for the
    blank, so the alignment CTC found shows), the baseline's and the greedy transcription."""
    x, lengths, targets, _ = text_batch(cfg, rng, np.full(count, n))
    logits, _ = model.forward(x, lengths)
    greedy = ctc_greedy_decode(logits, lengths)
    baseline = nearest_prototype_decode(x, lengths, cfg.symbols)
    lines = []
    for b in range(count):
        frames = "".join("-" if k == 0 else ALPHABET[k - 1] for k in logits[:lengths[b], b].argmax(axis=1))
        lines.append(f"  truth {spell(targets[b])!r:<12} frames {frames}\n"
                     f"    network {spell(greedy[b])!r}, baseline {spell(baseline[b])!r}")
    return lines


def save_transcriber(path: str | os.PathLike, model: Transcriber, cfg: CTCDemoConfig) -> Path:
    """Write ``model`` and the demo settings ``cfg`` it trained under to the checkpoint ``path`` (atomically)."""
    config = {"symbols": model.symbols, "hidden_size": model.hidden, "input_size": 2, "dtype": "float32"}
    task = {"model": KIND, "transcriber_config": config, "demo": asdict(cfg)}
    return save_task_checkpoint(path, model.params, task)


def load_transcriber(path: str | os.PathLike) -> tuple[Transcriber, CTCDemoConfig]:
    """(the network, its demo settings) of a checkpoint :func:`save_transcriber` wrote; another kind of file, a
    damaged one or weights of other shapes raise CheckpointError naming the file and ``rnnkit demo ctc --save``."""
    path = saved_model(path, SAVE)  # the folder --save wrote: its model.safetensors
    arrays, task = load_task_checkpoint(path, KIND, "CTC transcriber", SAVE)
    with reading_metadata(path, "CTC transcriber"):
        cfg = CTCDemoConfig(**task["demo"])
        size = task["transcriber_config"]
        if (size["symbols"], size["hidden_size"]) != (cfg.symbols, cfg.hidden):
            raise ValueError(f"a network of {size['symbols']} symbols and {size['hidden_size']} units trained with "
                             f"{cfg.symbols} and {cfg.hidden}")
        model = Transcriber(cfg.symbols, cfg.hidden, np.random.default_rng(0))  # weights overwritten next
    restore_params(model, arrays, path)
    return model, cfg


def trained_or_loaded(cfg: CTCDemoConfig, model: Transcriber | None, save: str | os.PathLike | None,
                      fusion: LMFusion, log: Callable[[str], None],
                      train_seed: int | None = None) -> tuple[Transcriber, Any]:
    """(``model``, or one trained under ``cfg`` and with ``save`` written to its model.safetensors; the n-gram
    model of its training strings when ``fusion.order``, else None), the lines saying so to ``log``.
    ``train_seed``: the seed a loaded ``model`` trained with, when ``cfg.seed`` (the tests') is another."""
    seen: list[np.ndarray] | None = [] if fusion.order else None
    given = model is not None
    model, said = train_unless_given(model, "a loaded network, not trained here",
                                     lambda: train_transcriber(cfg, log, seen), save,
                                     lambda path, trained: save_transcriber(path, trained, cfg))
    log(said)
    if given and fusion.order:
        seen = training_strings(cfg if train_seed is None else replace(cfg, seed=train_seed))
    if not fusion.order:
        return model, None
    lm = fit_string_lm(seen, cfg.symbols, fusion.order)
    fresh = np.random.default_rng([cfg.seed, 4])
    held_out = text_batch(cfg, fresh, np.full(1000, cfg.max_len), noise=0.0)[2]  # (1000, max_len)
    log(f"language model: a {fusion.order}-gram (Kneser-Ney) of the {len(seen)} training strings' symbols, "
        f"perplexity {lm.perplexity(list(held_out - 1)):.2f} on 1000 fresh ones (uniform: {cfg.symbols}); fused "
        f"with weight {fusion.weight:g} and length bonus {fusion.bonus:g}")
    return model, lm


def run_ctc_demo(cfg: CTCDemoConfig, test_lengths: Sequence[int], test_size: int = 200, beam: int = 8,
                 log: Callable[[str], None] = print, fusion: LMFusion = LMFusion(), model: Transcriber | None = None,
                 save: str | os.PathLike | None = None, train_seed: int | None = None) -> dict[int, dict[str, float]]:
    """Train (or take ``model``, trained with ``train_seed`` if not ``cfg.seed``), show examples, and test at each
    of ``test_lengths``, with the language model of ``fusion`` too when its order is not 0; returns
    {n: evaluate_transcriber's dict}."""
    model, lm = trained_or_loaded(cfg, model, save, fusion, log, train_seed)
    log(f"examples (n = {cfg.max_len}; frames: each frame's most probable class, - the blank):")
    for line in show_examples(model, cfg, cfg.max_len, 3, np.random.default_rng([cfg.seed, 3])):
        log(line)
    log(f"label error rate (edit distance / reference length), {test_size} held-out strings per length "
        f"(trained on {cfg.min_len}..{cfg.max_len} symbols):")
    log(f"     n   nearest prototype   greedy   beam ({beam})" + ("   beam+LM" if lm is not None else ""))
    results = {}
    scorer = label_lm(lm, cfg.symbols + 1, 0)  # wrapped once: its cache of distributions serves every length
    for n in test_lengths:
        m = evaluate_transcriber(model, cfg, n, test_size, np.random.default_rng([cfg.seed, 2, n]), beam, lm=scorer,
                                 fusion=fusion)
        results[n] = m
        longer = "  (longer than training)" if n > cfg.max_len else ""
        fused = f"   {100 * m['beam+lm']:6.1f}%" if lm is not None else ""
        log(f"  {n:>4}   {100 * m['baseline']:16.1f}%   {100 * m['greedy']:5.1f}%   {100 * m['beam']:7.1f}%{fused}"
            f"{longer}")
    return results
