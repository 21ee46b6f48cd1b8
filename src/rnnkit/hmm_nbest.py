"""The n most probable tag paths of an HMM, first or second order, with P(t | w): list Viterbi.

The tables are those of :mod:`rnnkit.hmm_viterbi`.  List Viterbi (Seshadri and Sundberg 1994, as
:mod:`rnnkit.crf_nbest` runs it for the CRF) keeps for every state and step the n best partial paths,
``delta_i[state, r]`` for ranks r = 0..n-1, each with a back-pointer to the (previous state, rank) it
extends.  A first-order state is the tag; a second-order one the pair (previous tag, tag), so that

    first order:   delta_1[j, 0] = log P(j | BOS) + log P(w_1 | j)
                   delta_i[j, :] = the n largest of { delta_{i-1}[k, r] + log P(j | k) : k, r } + log P(w_i | j)
                   final         = the n largest of { delta_n[j, r] + log P(EOS | j) }
    second order:  delta_1[BOS, t3, 0] = log P(t3 | BOS, BOS) + log P(w_1 | t3)
                   delta_i[t2, t3, :] = the n largest of { delta_{i-1}[t1, t2, r] + log P(t3 | t1, t2) : t1, r }
                                        + log P(w_i | t3)
                   final         = the n largest of { delta_n[t2, t3, r] + log P(EOS | t2, t3) }

Every (state, rank) entry stands for a different partial path, so the n finals are the n best distinct tag
paths (fewer when fewer than n paths have P(w, t) > 0: those scoring -inf are dropped), and

    P(t | w) = P(w, t) / P(w),   log P(w) by the forward algorithm (:func:`rnnkit.hmm_forward.forward`).

Unknown words' scores are P(w_i | t) up to a per-word constant (:class:`rnnkit.hmm.HMMTagger`), the same
in P(w, t) and P(w), so the ratio is exact.  The CRF's own n-best cannot serve: it refuses the -inf
emissions of words seen only with some tags, and a second-order HMM as a CRF over tag pairs would carry
a dense (K+1)K x (K+1)K transition table that is zero off its band.  The cost is Viterbi's times n: a
selection among (K+1) n candidates for each of K^2 pairs and each word (K n for each of K tags in the
first order); one step's candidates are built a slice of tags at a time, at most ``CHUNK_BYTES``.
"""
from __future__ import annotations

import math

import numpy as np

from rnnkit.checks import check_int
from rnnkit.crf_nbest import CHUNK_BYTES, _check_back_bytes, _select, _top
from rnnkit.english import a_or_an
from rnnkit.hmm_forward import _check_tables, forward


def _extend(delta: np.ndarray, trans: np.ndarray, log_emit: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """One step of list Viterbi for C independent groups of states: ``delta`` (C, M, n) [group, previous state,
    rank], ``trans`` (C, M, K) [group, previous state, tag], ``log_emit`` (K,); returns the n best scores
    (C, K, n) of each tag, emission added, and their back-pointers (C, K, n), flat indices m * n + r."""
    C, M, _ = delta.shape
    K = trans.shape[2]
    top = np.empty((C, K, n))  # (C, K, n)
    back = np.empty((C, K, n), dtype=np.int32 if M * n < 2**31 else np.int64)  # (C, K, n)
    width = max(1, CHUNK_BYTES // (24 * C * M * n))  # tags a slice: the candidates, a copy and argpartition's ints
    for a in range(0, K, width):
        b = min(K, a + width)
        cand = delta[:, :, :, None] + trans[:, :, None, a:b]  # (C, M, n, k) [group, previous, rank, tag]
        cand = cand.reshape(C, M * n, b - a).transpose(0, 2, 1)  # (C, k, M n), index m * n + r
        order, best = _select(cand, n)  # (C, k, n) each: M n >= n candidates
        back[:, a:b] = order
        top[:, a:b] = best + log_emit[a:b, None]
    return top, back


def hmm_nbest(log_trans: np.ndarray, log_emit: np.ndarray, n: int) -> list[tuple[list[int], float]]:
    """The ``n`` best tag paths of one sentence, best first, each with log P(path | w): ``[(path, log p), ...]``.

    ``log_trans`` (K+1, K+1) or (K+1, K+1, K+1) and ``log_emit`` (T, K) as
    :func:`rnnkit.hmm_viterbi.viterbi_first_order` and ``viterbi_second_order`` take them (the order is read
    from ``log_trans.ndim``).  ``out[0][0]`` is Viterbi's path (ties apart).  Fewer than ``n`` paths when
    fewer have P(w, t) > 0; none when P(w) = 0.  The empty sentence has one path, the empty one, with log P = 0
    (given no words, no tags is certain), even where the model gives it P(w) = P(EOS | BOS) = 0.  ValueError
    when the back-pointers, T K n int32s (T K (K+1) n in the second order), would exceed
    ``rnnkit.crf_nbest.MAX_BACK_BYTES`` (1 GiB).
    """
    n = check_int("n", n, 1)
    log_trans, log_emit = _check_tables(log_trans, log_emit)
    T, K = log_emit.shape
    if T == 0:  # no words: the empty tag sequence is certain, whatever P(EOS | BOS) the model gives
        return [([], 0.0)]
    log_z, _ = forward(log_trans, log_emit)
    if log_z == -np.inf:
        return []
    if T * math.log(K) < math.log(n):  # more than every path: K^T of them
        n = K**T
    second = log_trans.ndim == 3
    M = K + 1 if second else K  # previous states of a tag: (t1, t2) over t1 incl. BOS, or the previous tag
    _check_back_bytes(n, T, K * M if second else K,
                      f"{a_or_an(T)} {T}-word sentence over {K} tags" + (" (second-order HMM)" if second else ""))
    # delta[g, m, r]: second order g = t2, m = t1 (K = BOS); first order one group, m = the tag itself
    delta = np.full((K, K + 1, n) if second else (1, K, n), -np.inf)  # (C, M, n)
    if second:
        delta[:, K, 0] = log_trans[K, K, :K] + log_emit[0]  # state (BOS, t3) at the first word, stored as [t3, BOS]
        trans = log_trans[:, :K, :K].transpose(1, 0, 2)  # (K, K+1, K) [t2, t1, t3]
    else:
        delta[0, :, 0] = log_trans[K, :K] + log_emit[0]
        trans = log_trans[None, :K, :K]  # (1, K, K) [-, previous, tag]
    back = np.empty((T,) + delta.shape, dtype=np.int32 if M * n < 2**31 else np.int64)  # (T, C, M, n)
    for i in range(1, T):
        top, back_i = _extend(delta, trans, log_emit[i], n)  # (C, K, n) [t2, t3, r] or [-, tag, r]
        if second:  # the new state (t2, t3) is group t3, previous t2: [t3, t2, r]
            delta = np.full((K, K + 1, n), -np.inf)
            delta[:, :K] = top.transpose(1, 0, 2)
            back[i, :, :K] = back_i.transpose(1, 0, 2)
        else:
            delta = top
            back[i] = back_i
    end = log_trans[:, :K, K].T[:, :, None] if second else log_trans[:K, K][None, :, None]  # (C, M, 1)
    final = (delta + end).ravel()  # (C M n,), index (c M + m) n + r
    found = []
    for flat in _top(final, min(n, final.size)):
        score = float(final[flat])
        if score == -np.inf:
            break
        group, m, r = np.unravel_index(flat, delta.shape)
        tag, prev = (int(group), int(m)) if second else (int(m), None)
        path = [0] * T
        for i in range(T - 1, 0, -1):
            path[i] = tag
            previous, r = divmod(int(back[i, tag if second else 0, prev if second else tag, r]), n)
            tag, prev = (prev, previous) if second else (previous, None)
        path[0] = tag
        found.append((path, score - log_z))
    return found
