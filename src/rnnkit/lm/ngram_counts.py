"""N-gram counts of every order 1..n, stored as a trie of sorted integer keys.

Sentence boundaries (the convention of SRILM, and so of Mikolov's PTB numbers): each sequence, and
each sentence after an ``eos_id`` token, starts with a start symbol ``<s>`` that is context only.
``<s>`` gets the id ``V`` (one past the vocabulary), so the trie has ``S = V + 1`` symbols.  With
PTB's ``<eos>`` this turns the stream ``a b <eos> c <eos>`` into ``<s> a b <eos> <s> c <eos>``:
``<eos>`` is predicted (SRILM's ``</s>``), ``<s>`` is never predicted, and no n-gram spans a sentence
boundary.  Without ``eos_id`` (character level) each whole sequence gets one ``<s>`` in front.

Table ``k`` lists the distinct k-grams whose last token is predicted.  Table 1 is dense: entry ``w``
is the token ``w`` itself (``V`` being ``<s>``, with count 0).  An entry of table ``k >= 2`` is
``key = parent * S + w``, where ``parent`` is the index of its first k-1 tokens in table ``k-1``.
Keys are sorted, so a lookup is one ``searchsorted`` per order, and all vectorised.

``depth[i]`` is the number of tokens from the sequence's ``<s>`` to position ``i`` inclusive: the
k-gram ending at ``i`` exists when ``depth[i] >= k``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def check_counts(counts: object) -> np.ndarray:
    """``counts`` as an integer array (a list of ints is fine); TypeError for floats and anything else."""
    given = np.asarray(counts)
    if given.size and given.dtype.kind not in "iu":
        raise TypeError(f"Expected counts to be integer n-gram counts, got {given.dtype}")
    return given.astype(np.int64, copy=False)


@dataclass
class NGramCounts:
    """Count tables of orders 1..order; list index ``k - 1`` holds table ``k``."""

    order: int
    n_symbols: int  # S = V + 1: the vocabulary and <s>
    keys: list[np.ndarray]  # (N_k,) int64, sorted; table 1 is arange(S)
    counts: list[np.ndarray]  # (N_k,) int64: occurrences as a predicted n-gram
    starts: list[np.ndarray]  # (N_k,) bool: the n-gram begins with <s>
    suffix: list[np.ndarray | None]  # (N_k,) index in table k-1 of the n-gram minus its first token
    continuation: list[np.ndarray | None]  # (N_k,) distinct left extensions, N1+(. g); None at k = n

    def histories(self, k: int) -> tuple[np.ndarray, int]:
        """``(parent, n_hist)``: for each n-gram of table k its history's index in table k-1 (N_k,), and
        the number of histories N_{k-1}; at k = 1 the single empty history 0."""
        if k == 1:
            return np.zeros(self.keys[0].size, dtype=np.int64), 1
        return self.keys[k - 1] // self.n_symbols, self.keys[k - 2].size


def pad_sequences(
    sequences: Sequence[np.ndarray], eos_id: int | None, start_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``sequences`` with ``start_id`` before each sentence; return (seq, depth), both (N',)."""
    seqs = []
    depths = []
    for ids in sequences:
        if ids.size == 0:
            continue
        if eos_id is None:
            starts = np.zeros(1, dtype=np.int64)
        else:
            after_eos = np.flatnonzero(ids[:-1] == eos_id) + 1  # a final <eos> starts nothing
            starts = np.concatenate([[0], after_eos]).astype(np.int64)
        padded = np.insert(ids, starts, start_id)  # (N + n_sentences,)
        marks = np.zeros(padded.size, dtype=np.int64)
        start_pos = starts + np.arange(starts.size)  # where the <s> landed
        marks[start_pos] = start_pos
        sentence_start = np.maximum.accumulate(marks)  # (N',) position of the current <s>
        seqs.append(padded)
        depths.append(np.arange(padded.size) - sentence_start + 1)
    if not seqs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(seqs), np.concatenate(depths)


def count_ngrams(seq: np.ndarray, depth: np.ndarray, order: int, n_symbols: int) -> NGramCounts:
    """Count all k-grams (k = 1..order) of a padded stream (see :func:`pad_sequences`)."""
    S = n_symbols
    start_id = S - 1
    unigram = np.bincount(seq, minlength=S).astype(np.int64)  # (S,)
    unigram[start_id] = 0  # <s> is context only, never a predicted token
    unigram_starts = np.zeros(S, dtype=bool)
    unigram_starts[start_id] = True
    keys = [np.arange(S, dtype=np.int64)]
    counts = [unigram]
    starts = [unigram_starts]
    suffix: list[np.ndarray | None] = [None]
    continuation: list[np.ndarray | None] = []
    node_prev = seq  # index in table 1 of the unigram ending at each position
    for k in range(2, order + 1):
        pos = np.flatnonzero(depth >= k)  # positions where a k-gram ends
        key = node_prev[pos - 1] * S + seq[pos]  # (P,)
        uniq, first, inverse, cnt = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        first_pos = pos[first]  # (N_k,) one position of each distinct k-gram
        # the suffix (last k-1 tokens) of the k-gram ending at i is the (k-1)-gram ending at i
        suf = node_prev[first_pos]  # (N_k,)
        continuation.append(np.bincount(suf, minlength=keys[-1].size).astype(np.int64))
        keys.append(uniq.astype(np.int64))
        counts.append(cnt.astype(np.int64))
        # a k-gram reaching back to its sentence's first position begins with <s>
        starts.append(depth[first_pos] == k)
        suffix.append(suf.astype(np.int64))
        node = np.full(seq.size, -1, dtype=np.int64)
        node[pos] = inverse.reshape(-1)
        node_prev = node
    continuation.append(None)
    return NGramCounts(order, S, keys, counts, starts, suffix, continuation)


def find(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of each ``query`` key in the sorted ``keys``, or -1 where absent (or query < 0)."""
    if keys.size == 0:
        return np.full(query.shape, -1, dtype=np.int64)
    idx = np.searchsorted(keys, query)
    idx = np.minimum(idx, keys.size - 1)
    found = (keys[idx] == query) & (query >= 0)
    return np.where(found, idx, -1)


def lookup_nodes(keys: list[np.ndarray], seq: np.ndarray, depth: np.ndarray) -> list[np.ndarray]:
    """For k = 1..len(keys): index in table k of the k-gram ending at each position, -1 if unseen."""
    S = keys[0].size
    nodes = [seq.astype(np.int64)]
    for k in range(2, len(keys) + 1):
        prev = nodes[-1]
        node = np.full(seq.size, -1, dtype=np.int64)
        pos = np.flatnonzero(depth >= k)
        parent = prev[pos - 1]
        query = np.where(parent >= 0, parent * S + seq[pos], -1)
        node[pos] = find(keys[k - 1], query)
        nodes.append(node)
    return nodes
