r"""No repeated n-gram in a hypothesis: the ``no_repeat_ngram_size`` of fairseq and Hugging Face.

With size N, a hypothesis y_1..y_t may not be extended by a token v that would complete an N-gram it
already holds::

    banned(y_1..y_t) = { y_{i+N-1} : 1 <= i <= t - N + 1,  (y_i .. y_{i+N-2}) = (y_{t-N+2} .. y_t) }

that is, every token that once followed the hypothesis's last N-1 tokens (N = 1: every token it already
holds).  Decoding sets their log-probabilities to -inf before choosing, so no search path can take them,
and no N-gram ever appears twice in an output.  The n-grams are those of the generated tokens: BOS is
never generated and EOS ends a hypothesis, so an n-gram holding either can never repeat, and EOS is never
banned by this rule.  As with the other banned tokens, the scores are not renormalised
(:mod:`rnnkit.seq2seq.decode`): a hypothesis's score stays the model's log-probability of its tokens.

The cost is O(t N) per hypothesis and step (the prefix is compared at every earlier position), small
beside a decoder step for the lengths of sentences.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def repeat_bans(tokens: Sequence[int], n: int) -> list[int]:
    """The tokens that would complete an ``n``-gram already in ``tokens`` (see the module docstring);
    [] when ``n`` is 0 (off) or ``tokens`` holds no complete n-gram yet."""
    t = len(tokens)
    if n < 1 or t < n:
        return []
    tokens = tuple(tokens)
    prefix = tokens[t - n + 1:]  # the last n-1 tokens, () for n = 1
    return [tokens[i + n - 1] for i in range(t - n + 1) if tokens[i:i + n - 1] == prefix]


def ban_repeats(logp: np.ndarray, histories: Sequence[Sequence[int]], n: int) -> None:
    """Set ``logp[r, v]`` (rows, V) to -inf, in place, for each token v that would complete an ``n``-gram
    already in ``histories[r]``, the generated tokens of row r's hypothesis (n = 0: nothing)."""
    if n < 1:
        return
    for row, tokens in enumerate(histories):
        banned = repeat_bans(tokens, n)
        if banned:
            logp[row, banned] = -np.inf

