r"""Additive (add-delta) smoothing; Laplace when delta = 1.

For the history h and token w, at the model's order only (no backoff)::

    p(w | h) = (c(hw) + delta) / (c(h.) + delta V)

written as an interpolation with the uniform distribution, so it shares the scorer of the others::

    p(w | h) = c(hw) / (c(h.) + delta V)  +  [delta V / (c(h.) + delta V)] * (1 / V)

A history the model has never seen gets the uniform 1 / V.  A history shortened by a sentence start
(``<s> a`` in a 4-gram model) uses the counts of its own length, which are raw counts of n-grams that
begin with ``<s>``.
"""
from __future__ import annotations

import numpy as np

from rnnkit.lm.ngram_counts import NGramCounts


def add_delta(ng: NGramCounts, delta: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(probs, bows)``: per order k, c(hw) / (c(h.) + delta V) (N_k,) and delta V / (c(h.) + delta V)."""
    S = ng.n_symbols
    V = S - 1
    probs = []
    bows = []
    for k in range(1, ng.order + 1):
        c = ng.counts[k - 1].astype(np.float64)  # (N_k,)
        parent, n_hist = ng.histories(k)  # (N_k,), N_{k-1}
        denom = np.bincount(parent, weights=c, minlength=n_hist) + delta * V  # (N_{k-1},)
        probs.append(c / denom[parent])
        bows.append(delta * V / denom)
    return probs, bows
