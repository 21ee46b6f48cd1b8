"""Viterbi decoding of first-order (bigram) and second-order (trigram) HMMs, in log space.

The recursion is vectorised over tags (over tag pairs for the second order) and loops over words only.
Both take the transition table with an extra index for the sentence boundary, so the start and end
transitions are scored like any other; :class:`rnnkit.hmm.HMMTagger` builds those tables.
"""
from __future__ import annotations

import numpy as np


def viterbi_first_order(log_trans: np.ndarray, log_emit: np.ndarray) -> tuple[list[int], float]:
    """Best path of a bigram HMM and its log score.

    ``log_trans`` (K+1, K+1): row K is BOS (start), column K is EOS (end); ``log_emit`` (n, K).
    delta_1[j] = log P(j | BOS) + log P(w_1 | j);
    delta_i[j] = max_k(delta_{i-1}[k] + log P(j | k)) + log P(w_i | j);
    score = max_j(delta_n[j] + log P(EOS | j)), the path read back through the argmaxes.
    """
    n, K = log_emit.shape
    if n == 0:
        return [], float(log_trans[K, K])
    A = log_trans[:K, :K]  # (K, K)
    delta = log_trans[K, :K] + log_emit[0]  # (K,)
    backpointers = np.zeros((n, K), dtype=np.int64)  # (n, K)
    for i in range(1, n):
        cand = delta[:, None] + A  # (K, K) [previous, current]
        backpointers[i] = np.argmax(cand, axis=0)
        delta = cand[backpointers[i], np.arange(K)] + log_emit[i]
    final = delta + log_trans[:K, K]  # (K,)
    path = [int(np.argmax(final))]
    score = float(final[path[0]])
    for i in range(n - 1, 0, -1):
        path.append(int(backpointers[i, path[-1]]))
    return path[::-1], score


def viterbi_second_order(log_trans: np.ndarray, log_emit: np.ndarray) -> tuple[list[int], float]:
    """Best path of a trigram HMM and its log score, over states (previous tag, tag).

    ``log_trans`` (K+1, K+1, K+1) [t1, t2, t3]: index K is BOS in t1 and t2, EOS in t3.
    delta_1[BOS, t3] = log P(t3 | BOS, BOS) + log P(w_1 | t3);
    delta_i[t2, t3] = max_t1(delta_{i-1}[t1, t2] + log P(t3 | t1, t2)) + log P(w_i | t3);
    score = max_{t2, t3}(delta_n[t2, t3] + log P(EOS | t2, t3)).
    """
    n, K = log_emit.shape
    if n == 0:
        return [], float(log_trans[K, K, K])
    delta = np.full((K + 1, K), -np.inf)  # (K+1, K) [previous tag or BOS, tag]
    delta[K] = log_trans[K, K, :K] + log_emit[0]
    inner = log_trans[:, :K, :K]  # (K+1, K, K)
    backpointers = np.zeros((n, K, K), dtype=np.intp)  # (n, K, K) best t1 for (t2, t3) at i: argmax's own dtype
    cand = np.empty((K + 1, K, K))  # (K+1, K, K) [t1, t2, t3], one buffer for every step
    for i in range(1, n):
        np.add(delta[:, :, None], inner, out=cand)
        cand.argmax(axis=0, out=backpointers[i])
        best = cand.max(axis=0)  # (K, K): the value at the argmax
        delta[K] = -np.inf  # from step 2 on no path is at BOS
        np.add(best, log_emit[i][None, :], out=delta[:K])
    final = delta + log_trans[:, :K, K]  # (K+1, K)
    t1, t2 = np.unravel_index(int(np.argmax(final)), final.shape)
    score = float(final[t1, t2])
    path = [int(t2)] if n == 1 else [int(t2), int(t1)]
    for i in range(n - 1, 1, -1):
        path.append(int(backpointers[i, path[-1], path[-2]]))
    return path[::-1], score
