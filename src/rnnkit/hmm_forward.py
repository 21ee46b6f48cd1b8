"""The forward algorithm (sentence likelihood) and forward-backward (posteriors of tags and tag pairs) of an HMM.

The tables are those of :mod:`rnnkit.hmm_viterbi`: ``log_trans`` (K+1, K+1) for a first-order
(bigram) HMM, row K the start (BOS) and column K the end (EOS); (K+1, K+1, K+1) [t1, t2, t3] for a
second-order (trigram) one, index K BOS in t1 and t2 and EOS in t3; ``log_emit`` (n, K) log P(w_i | t).
Viterbi takes the max over paths where the forward algorithm takes the sum (Rabiner 1989, problem 1):

    first order:   alpha_1[j] = P(j | BOS) P(w_1 | j)
                   alpha_i[j] = sum_k alpha_{i-1}[k] P(j | k) P(w_i | j)
                   P(w) = sum_j alpha_n[j] P(EOS | j)
    second order:  alpha_1[BOS, t3] = P(t3 | BOS, BOS) P(w_1 | t3)
                   alpha_i[t2, t3] = sum_t1 alpha_{i-1}[t1, t2] P(t3 | t1, t2) P(w_i | t3)
                   P(w) = sum_{t2, t3} alpha_n[t2, t3] P(EOS | t2, t3)

and the backward variables beta_i = P(w_{i+1} .. w_n, EOS | state at i) run the same sums from the
end, so that P(state at i | w) = alpha_i beta_i / P(w) (problem 3's E-step; :mod:`rnnkit.hmm_em`).
The same sums restricted to some tag pairs over a stretch of words give that stretch's probability
(:func:`window_probability`: a span's, for ``rnnkit tag --spans``).

Scaling (Rabiner's, in probability space: one matrix product per word, no log-sum-exp): every
alpha_i is divided by its sum c_i, so log P(w) = sum_{i=1}^{n+1} log c_i with c_{n+1} the end step's
sum; beta_i is divided by c_{i+1} and then alpha_i beta_i is the posterior itself.  Each row of
emission scores is shifted by its maximum m_i before exp (unknown words' scores can exceed 0, and a
word of probability 1e-320 would underflow), and sum_i m_i is added back: a 100,000-word sentence
is as safe as a 3-word one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ForwardCache:
    """What the backward pass needs from the forward one (``n`` words, ``K`` tags)."""

    trans: np.ndarray  # (K+1, K+1) or (K+1, K+1, K+1) transition probabilities
    emit: np.ndarray  # (n, K) exp(log_emit - shift): each row's maximum is 1
    shift: np.ndarray  # (n,) m_i = max_k log_emit[i, k]
    alpha: np.ndarray  # (n, K) or (n, K+1, K) scaled forward variables, each step sums to 1
    scale: np.ndarray  # (n+1,) c_i; scale[n] is the end step's
    log_likelihood: float  # log P(w); -inf when no path has non-zero probability


def _check_tables(log_trans: np.ndarray, log_emit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    log_trans = np.asarray(log_trans, dtype=np.float64)
    log_emit = np.asarray(log_emit, dtype=np.float64)
    K1 = log_trans.shape[0] if log_trans.ndim else 0
    if log_trans.ndim not in (2, 3) or log_trans.shape != (K1,) * log_trans.ndim or K1 < 2:
        raise ValueError(f"Expected log_trans of shape (K+1, K+1) or (K+1, K+1, K+1), got {log_trans.shape}")
    if log_emit.ndim != 2 or log_emit.shape[1] != K1 - 1:
        raise ValueError(f"Expected log_emit of shape (n, {K1 - 1}) to match log_trans, got {log_emit.shape}")
    return log_trans, log_emit


def forward(log_trans: np.ndarray, log_emit: np.ndarray) -> tuple[float, ForwardCache]:
    """``(log P(w), cache)`` by the scaled forward algorithm; the order is read from ``log_trans.ndim``."""
    log_trans, log_emit = _check_tables(log_trans, log_emit)
    n, K = log_emit.shape
    second = log_trans.ndim == 3
    trans = np.exp(log_trans)
    alpha = np.zeros((n, K + 1, K) if second else (n, K))
    scale = np.zeros(n + 1)
    if n == 0:  # the empty sentence: BOS straight to EOS
        ll = float(log_trans[(K,) * log_trans.ndim])
        return ll, ForwardCache(trans, log_emit, np.zeros(0), alpha, scale, ll)
    shift = log_emit.max(axis=1)  # (n,)
    with np.errstate(invalid="ignore"):  # a row of -inf: that word has probability 0 under every tag
        emit = np.exp(log_emit - shift[:, None])  # (n, K)
    cache = ForwardCache(trans, emit, shift, alpha, scale, -np.inf)
    if not np.all(np.isfinite(shift)):
        return -np.inf, cache
    if second:
        # (K, K+1, K) [t2, t1, t3]: one batched product per word, alpha_i[t2] = alpha_{i-1}[:, t2] @ inner[:, t2]
        inner = np.ascontiguousarray(trans[:, :K, :K].transpose(1, 0, 2))
        step = trans[K, K, :K] * emit[0]  # (K,) the BOS row
    else:
        A = trans[:K, :K]  # (K, K) [previous, current]
        step = trans[K, :K] * emit[0]  # (K,)
    for i in range(n):
        if i > 0:
            if second:
                step = (alpha[i - 1].T[:, None, :] @ inner)[:, 0, :] * emit[i]  # (K, K) [t2, t3]
            else:
                step = (alpha[i - 1] @ A) * emit[i]  # (K,)
        c = step.sum()
        if not c > 0:
            return -np.inf, cache
        scale[i] = c
        if second and i == 0:
            alpha[0, K] = step / c
        elif second:
            alpha[i, :K] = step / c
        else:
            alpha[i] = step / c
    end = trans[:, :K, K] if second else trans[:K, K]  # (K+1, K) or (K,)
    scale[n] = float((alpha[n - 1] * end).sum())
    if not scale[n] > 0:
        return -np.inf, cache
    cache.log_likelihood = float(np.log(scale).sum() + shift.sum())
    return cache.log_likelihood, cache


def backward(cache: ForwardCache) -> np.ndarray:
    """Scaled backward variables, the shape of ``cache.alpha``; ``alpha * beta`` is then the state posterior.

    first order:   beta_n[j] = P(EOS | j) / c_{n+1},
                   beta_i[j] = sum_k P(k | j) P(w_{i+1} | k) beta_{i+1}[k] / c_{i+1};
    second order:  beta_n[t1, t2] = P(EOS | t1, t2) / c_{n+1},
                   beta_i[t1, t2] = sum_t3 P(t3 | t1, t2) P(w_{i+1} | t3) beta_{i+1}[t2, t3] / c_{i+1}.
    """
    trans, emit, scale = cache.trans, cache.emit, cache.scale
    n, K = emit.shape
    beta = np.zeros_like(cache.alpha)
    if n == 0:  # no words, no states: nothing to condition, whatever P(EOS | BOS) is
        return beta
    if not cache.log_likelihood > -np.inf:
        raise ValueError("Expected a sentence of non-zero probability, got one no tag path can produce "
                         "(its forward log-likelihood is -inf), so it has no posteriors")
    if trans.ndim == 3:
        beta[n - 1] = trans[:, :K, K] / scale[n]  # (K+1, K) [t1, t2]
        inner = np.ascontiguousarray(trans[:, :K, :K].transpose(1, 0, 2))  # (K, K+1, K) [t2, t1, t3]
        for i in range(n - 2, -1, -1):
            nxt = (emit[i + 1] * beta[i + 1, :K])[:, :, None]  # (K, K, 1) [t2, t3]
            beta[i] = (inner @ nxt)[:, :, 0].T / scale[i + 1]  # (K+1, K) [t1, t2]
    else:
        A = trans[:K, :K]  # (K, K)
        beta[n - 1] = trans[:K, K] / scale[n]
        for i in range(n - 2, -1, -1):
            beta[i] = A @ (emit[i + 1] * beta[i + 1]) / scale[i + 1]  # (K,)
    return beta


def forward_backward(log_trans: np.ndarray, log_emit: np.ndarray) -> tuple[np.ndarray, float]:
    """``(gamma, log P(w))``: gamma (n, K), gamma[i, k] = P(t_i = k | w), each row summing to 1.

    gamma_i = alpha_i beta_i / P(w) (summed over the previous tag t1 for the second order).
    ValueError when P(w) = 0 for a sentence of one word or more: no path is possible, so no posterior is
    defined; the empty sentence has none to define, (0, K) whatever its P(w).
    """
    ll, cache = forward(log_trans, log_emit)
    return tag_posteriors(cache, backward(cache)), ll


def tag_posteriors(cache: ForwardCache, beta: np.ndarray) -> np.ndarray:
    """(n, K) P(t_i = k | w) from the scaled forward and backward variables (:func:`forward_backward`)."""
    joint = cache.alpha * beta  # (n, K) or (n, K+1, K)
    gamma = joint.sum(axis=1) if joint.ndim == 3 else joint  # (n, K)
    # each row already sums to 1 up to rounding; dividing makes it exact to the last bit or two
    return gamma / gamma.sum(axis=1, keepdims=True)


def pair_posteriors(cache: ForwardCache, beta: np.ndarray) -> np.ndarray:
    """(n-1, K, K) xi, xi[i-1, j, k] = P(t_{i-1} = j, t_i = k | w) for i = 1 .. n-1 (Rabiner's xi), from the
    scaled forward and backward variables as :func:`tag_posteriors`:

        first order:   xi_i[j, k] = alpha_{i-1}[j] P(k | j) P(w_i | k) beta_i[k] / c_i
        second order:  xi_i[t2, t3] = alpha_i[t2, t3] beta_i[t2, t3]  (the state at i is the pair itself)

    Each xi_i sums to 1 and over j gives gamma_i.  ``beta`` from :func:`backward` (which raises ValueError
    when P(w) = 0).
    """
    n, K = cache.emit.shape
    if n < 2:
        return np.zeros((0, K, K))
    if cache.alpha.ndim == 3:
        xi = cache.alpha[1:, :K] * beta[1:, :K]  # (n-1, K, K) [t2, t3]
    else:
        A = cache.trans[:K, :K]  # (K, K)
        right = cache.emit[1:] * beta[1:] / cache.scale[1:n, None]  # (n-1, K)
        xi = cache.alpha[:-1, :, None] * A[None] * right[:, None, :]  # (n-1, K, K)
    return xi / xi.sum(axis=(1, 2), keepdims=True)


def window_probability(cache: ForwardCache, beta: np.ndarray, first: int, allowed: np.ndarray) -> float:
    """P(every pair (t_{i-1}, t_i), i = first .. first+m-1, is in ``allowed[i - first]`` | w).

    ``allowed`` (m, K+1, K) bool [previous tag, tag], row K the BOS before the first word; ``beta`` from
    :func:`backward`.  It is the forward recursion from alpha_{first-1} with every pair outside
    ``allowed`` left out, closed by beta at the window's last word (beta_n holds the end transition):

        first order:   v_i[k] = sum_j v_{i-1}[j] P(k | j) [(j, k) allowed] P(w_i | k) / c_i
        second order:  v_i[t2, t3] = sum_t1 v_{i-1}[t1, t2] P(t3 | t1, t2) P(w_i | t3) / c_i [(t2, t3) allowed]
        P = sum v_{first+m-1} beta_{first+m-1}

    with v_{first-1} = alpha_{first-1} (the BOS state when first = 0).  The scaled variables make it
    P / P(w) directly, as alpha_i beta_i sums to 1; with every pair allowed it is 1.  A span's
    probability is one window: begun at its first word, continued inside, not continued after it.
    """
    trans, emit, scale = cache.trans, cache.emit, cache.scale
    n, K = emit.shape
    allowed = np.asarray(allowed, dtype=bool)
    m = allowed.shape[0] if allowed.ndim == 3 else 0
    if allowed.shape != (m, K + 1, K) or m < 1 or not 0 <= first <= n - m:
        raise ValueError(f"Expected allowed of shape (m, {K + 1}, {K}) for words first .. first+m-1 of {n}, "
                         f"got shape {allowed.shape} from word {first}")
    if not cache.log_likelihood > -np.inf:
        raise ValueError("Expected a sentence of non-zero probability, got one of forward log-likelihood -inf")
    second = trans.ndim == 3
    prev = np.zeros((K + 1, K + 1) if second else K + 1)  # (K+1, K+1) [t1, t2] or (K+1,): v_{first-1}, BOS at K
    if first == 0:
        prev[(K,) * prev.ndim] = 1.0
    else:
        prev[..., :K] = cache.alpha[first - 1]
    for j in range(m):
        i = first + j
        if second:
            v = np.einsum("ab,abc->bc", prev, trans[:, :, :K]) * allowed[j]  # (K+1, K) [t2, t3]
        else:
            v = prev @ (trans[:, :K] * allowed[j])  # (K,)
        v = v * emit[i] / scale[i]
        prev = np.zeros_like(prev)
        prev[..., :K] = v
    return float((v * beta[first + m - 1]).sum())
