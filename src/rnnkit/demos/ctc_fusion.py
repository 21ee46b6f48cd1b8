r"""``rnnkit demo ctc --lm-order N``: a character n-gram model of the training strings, fused into the prefix beam
search (:func:`rnnkit.nn.ctc_decode.prefix_beam_search`: score = log p_ctc + alpha log P_lm + beta |l|).

The n-gram model is fitted on the very strings the network trained on: those the training collected, or, for a
loaded network, the same strings drawn again from the training's generator ``default_rng([seed, 1])`` (which
draws each batch's speech too, so this replays the batches: some 1.5 ms a batch, 3 s of CPU for 2000).  Its
tokens are the symbols 1..A less one (the blank is no token: :mod:`rnnkit.nn.ctc_lm`), each string a sequence from
``<s>``.  On the default uniformly random strings the model can learn nothing (its perplexity is A): ``--text
words`` draws word-like strings (:mod:`rnnkit.demos.ctc_words`), whose next symbol it can predict.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from rnnkit.checks import check_int, check_number
from rnnkit.demos.ctc_words import text_batch
from rnnkit.lm.ngram import NGramLM


@dataclass(frozen=True)
class LMFusion:
    """The language model's settings: ``order`` 0 for none."""

    order: int = 0  # n of the character n-gram (Kneser-Ney); 0: no language model
    weight: float = 0.5  # alpha, the LM's weight
    bonus: float = 0.5  # beta, added per label (0.5 and weight 0.5: the best of a few on --text words, seed 10)

    def __post_init__(self) -> None:
        check_int("order", self.order, 0)
        check_number("weight", self.weight, low=0.0)
        check_number("bonus", self.bonus)


def training_batches(cfg, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`rnnkit.demos.ctc.train_transcriber`'s batches under ``cfg`` (a :class:`rnnkit.demos.ctc.CTCDemoConfig`),
    drawn from ``rng`` without end: per batch, each string's length from min_len..max_len, then
    :func:`rnnkit.demos.ctc_speech.speech_batch`'s (x, input lengths, targets, target lengths)."""
    while True:
        label_lengths = rng.integers(cfg.min_len, cfg.max_len + 1, size=cfg.batch_size)  # (B,)
        yield text_batch(cfg, rng, label_lengths)


def training_strings(cfg) -> list[np.ndarray]:
    """The label strings (each (n,) in 1..A) of :func:`rnnkit.demos.ctc.train_transcriber`'s batches under
    ``cfg`` (a :class:`rnnkit.demos.ctc.CTCDemoConfig`), drawn again as the training drew them."""
    batches = training_batches(cfg, np.random.default_rng([cfg.seed, 1]))  # DemoSteps' generator of the batches
    strings = []
    for _, (_, _, targets, target_lengths) in zip(range(cfg.steps), batches):
        strings += [t[:n] for t, n in zip(targets, target_lengths)]
    return strings


def fit_string_lm(strings: list[np.ndarray], symbols: int, order: int) -> NGramLM:
    """A Kneser-Ney n-gram model of ``strings`` (labels 1..A), its tokens the labels less one (0..A-1)."""
    return NGramLM(order).fit([np.asarray(s) - 1 for s in strings], symbols)
