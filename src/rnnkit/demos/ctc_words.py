"""Word-like strings for ``rnnkit demo ctc --text words``: English words over the letters a..h, said one after
another without a space, so that which symbol follows which is predictable (a language model has something to
learn), unlike the default's uniformly random symbols (where the best model of the next symbol is 1/A).

A string of n symbols is words drawn uniformly from :data:`WORDS` (those written with the first A letters only),
joined, and cut after its n-th symbol: it starts at a word's start and may end inside one.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial

import numpy as np

from rnnkit.demos.ctc_speech import ALPHABET, speech_batch, uniform_string

TEXTS = ("random", "words")  # how a demo string's symbols are drawn
WORDS = ("ab", "abbe", "abed", "ace", "aced", "add", "added", "babe", "bad", "bade", "bead", "beaded", "bed",
         "bedded", "bee", "cab", "cede", "ceded", "dab", "dace", "dad", "dead", "deed", "ebb", "ebbed", "accede",
         "decade", "face", "fade", "faded", "cafe", "beef", "feed", "fee", "deaf", "fad", "head", "headed", "hedge",
         "badge", "ache", "each", "chef", "egg", "bag", "gag", "had", "hag", "gab", "beach", "heed", "edge")
MIN_WORDS = 4  # fewer words than that over the first A letters is hardly a language


def word_labels(symbols: int) -> list[np.ndarray]:
    """The words of :data:`WORDS` written with the first ``symbols`` letters only, as labels 1..A."""
    letters = ALPHABET[:symbols]
    words = [np.array([letters.index(c) + 1 for c in w], dtype=np.int64) for w in WORDS if set(w) <= set(letters)]
    if len(words) < MIN_WORDS:
        raise ValueError(f"Expected symbols >= 4 for word-like text (the words need the letters a..d at least), got "
                         f"{symbols}: give more symbols or random text")
    return words


def word_string(rng: np.random.Generator, n: int, words: list[np.ndarray]) -> np.ndarray:
    """n labels (n,): words drawn uniformly from ``words`` (:func:`word_labels`), joined, cut after n."""
    pieces, length = [], 0
    while length < n:
        pieces.append(words[int(rng.integers(len(words)))])
        length += pieces[-1].size
    return np.concatenate(pieces)[:n]


@cache  # one drawer per (text, symbols): the demo's training, tests and examples share it
def text_drawer(text: str, symbols: int) -> Callable[[np.random.Generator, int], np.ndarray]:
    """What :func:`rnnkit.demos.ctc_speech.speech_batch` draws a string's labels with:
    :func:`rnnkit.demos.ctc_speech.uniform_string` for "random", :func:`word_string` over :func:`word_labels` for
    "words"."""
    if text not in TEXTS:
        raise ValueError(f"Expected text in {TEXTS}, got {text!r}")
    if text == "random":
        return partial(uniform_string, symbols=symbols)
    return partial(word_string, words=word_labels(symbols))


def text_batch(cfg, rng: np.random.Generator, label_lengths: np.ndarray, noise: float | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`rnnkit.demos.ctc_speech.speech_batch` of strings of ``label_lengths`` (B,) symbols under ``cfg`` (a
    :class:`rnnkit.demos.ctc.CTCDemoConfig`: its text, symbols and noise, or ``noise`` when given)."""
    return speech_batch(rng, label_lengths, cfg.symbols, cfg.noise if noise is None else noise,
                        draw=text_drawer(cfg.text, cfg.symbols))
