"""Tag distributions for unknown words from their last letters, by TnT's successive abstraction.

Brants (2000), "TnT - a statistical part-of-speech tagger": a word never seen in training is most
like the rare training words that end the same way.  From the words seen at most
``rare_threshold`` times, count tags per suffix (the last 1..m letters, m = ``max_length``), then
estimate, from the shortest suffix to the longest one the model knows,

    P(t | l_{n-i+1} ... l_n) = (P^(t | l_{n-i+1} ... l_n) + theta * P(t | l_{n-i+2} ... l_n)) / (1 + theta)

starting from ``P(t | empty suffix) = P^(t)``, the tag distribution of the rare words, and stopping
at the first suffix never seen.  P^ is relative frequency.  ``theta`` is the standard deviation of
the unconditioned tag probabilities of the whole corpus (``s`` tags, mean ``mean``):

    theta = sqrt( 1/(s-1) * sum_j (P^(t_j) - mean)^2 )

Each step mixes two distributions, so every result sums to 1.  Capitalised and other words get
separate suffix tables, as TnT keeps them apart ("Wilson" and "wilson" end alike but are tagged
differently); a class with no rare words borrows the other's tables.  The tagger turns
``P(t | suffix)`` into an emission score by Bayes' rule, ``P(w | t) ∝ P(t | suffix) / P(t)``.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def is_capitalised(word: str) -> bool:
    """True when the first character of ``word`` is upper-case."""
    return word[:1].isupper()


class SuffixModel:
    """``P(tag | suffix)`` for unknown words; ``fit(word_tag_counts, K)`` then ``distribution(word)``."""

    def __init__(self, max_length: int = 10, rare_threshold: int = 10) -> None:
        if not isinstance(max_length, int) or max_length < 0:
            raise ValueError(f"Expected max_length to be an int >= 0, got {max_length!r}")
        if not isinstance(rare_threshold, int) or rare_threshold < 1:
            raise ValueError(f"Expected rare_threshold to be an int >= 1, got {rare_threshold!r}")
        self.max_length = max_length
        self.rare_threshold = rare_threshold

    def fit(self, word_tag_counts: Mapping[str, np.ndarray], K: int) -> SuffixModel:
        """Learn from ``{word: (K,) tag counts}``; words seen <= ``rare_threshold`` times feed the suffixes."""
        if not word_tag_counts:
            raise ValueError("Expected word_tag_counts with at least one word, got none")
        totals = np.zeros(K)  # (K,) corpus tag counts
        for counts in word_tag_counts.values():
            totals += counts
        corpus_probs = totals / totals.sum()  # (K,) P^(t)
        self.theta_ = float(np.std(corpus_probs, ddof=1)) if K > 1 else 0.0
        rare = {w: c for w, c in word_tag_counts.items() if c.sum() <= self.rare_threshold}
        if not rare:
            rare = dict(word_tag_counts)  # a tiny corpus: every word is as good a witness as any
        self.tables_ = {}
        for capital in (False, True):
            words = {w: c for w, c in rare.items() if is_capitalised(w) == capital}
            if words:
                self.tables_[capital] = self._count(words, K)
        if len(self.tables_) == 1:
            only = next(iter(self.tables_.values()))
            self.tables_ = {False: only, True: only}
        return self

    def _count(self, words: Mapping[str, np.ndarray], K: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(prior (K,), {suffix: (K,) probabilities}) for one capitalisation class."""
        prior = np.zeros(K)  # (K,)
        index: dict[str, int] = {}  # suffix -> its row of the count table, in order of first sight
        rows, of_word = [], []  # for every (word, suffix) pair: the suffix's row and the word's
        for w, (word, counts) in enumerate(words.items()):
            prior += counts
            for i in range(1, min(self.max_length, len(word)) + 1):
                rows.append(index.setdefault(word[-i:], len(index)))
                of_word.append(w)
        word_counts = np.array(list(words.values()), dtype=np.float64).reshape(len(words), K)  # (W, K)
        table = np.zeros((len(index), K))  # (S, K) counts of each suffix's words' tags, whole numbers: exact sums
        np.add.at(table, np.array(rows, dtype=np.intp), word_counts[np.array(of_word, dtype=np.intp)])
        table /= table.sum(axis=1, keepdims=True)
        return prior / prior.sum(), dict(zip(index, table))

    def distribution(self, word: str) -> np.ndarray:
        """(K,) ``P(t | longest known suffix of word)`` by successive abstraction; sums to 1."""
        if not hasattr(self, "tables_"):
            raise ValueError("Expected a fitted SuffixModel, got one without tables: call fit first")
        prior, probs = self.tables_[is_capitalised(word)]
        p = prior.copy()  # (K,)
        theta = self.theta_
        for i in range(1, min(self.max_length, len(word)) + 1):
            estimate = probs.get(word[-i:])
            if estimate is None:
                break
            p = (estimate + theta * p) / (1.0 + theta)
        return p
