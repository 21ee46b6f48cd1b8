r"""Linear interpolation of two language models, token by token (Mikolov et al. 2011: RNN + KN5).

For two models over the same vocabulary, with per-token probabilities p_A(w_t | h_t) and
p_B(w_t | h_t) of one token stream::

    p(w_t | h_t) = lambda * p_A(w_t | h_t) + (1 - lambda) * p_B(w_t | h_t)
    log p        = logaddexp(log lambda + log p_A, log(1 - lambda) + log p_B)

The mixture is a distribution whenever both are, so its perplexity compares with theirs.  The weight
that maximises the mean log-likelihood L(lambda) of held-out tokens is found exactly: L is concave in
lambda, with derivative::

    L'(lambda) = mean_t (p_A(w_t) - p_B(w_t)) / (lambda p_A(w_t) + (1 - lambda) p_B(w_t))

decreasing from L'(0) to L'(1); the maximiser is 0 when L'(0) <= 0, 1 when L'(1) >= 0, and else the
root of L', found by bisection.  (The classic EM update of Jelinek & Mercer, lambda <- mean_t of
lambda p_A / (lambda p_A + (1 - lambda) p_B), climbs to the same point, but crawls when the two
models agree, and stops short of an end point.)

:func:`stream_log_probs` gives a model's per-token log-probabilities over a whole stream: a
recurrent model carries its state across the stream (one stream, so every token is scored exactly)
after reading ``start``; an n-gram model follows its own sentence conventions (see
:mod:`rnnkit.lm.ngram`).  Both score every token of ``ids``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.checks import check_int, check_number
from rnnkit.lm.ngram import NGramLM


def stream_log_probs(model: Any, ids: np.ndarray, start_id: int, bptt: int = 100) -> np.ndarray:
    """log p(ids[t] | start, ids[:t]) (N,) float64, for a recurrent or n-gram model."""
    given = np.asarray(ids)
    if given.size and given.dtype.kind not in "iu":  # a float id would be truncated silently
        raise TypeError(f"Expected ids to be integer token ids, got {given.dtype}")
    if given.ndim != 1:
        raise ValueError(f"Expected ids of shape (N,) (one stream), got {given.shape}")
    ids = given.astype(np.int64, copy=False)
    if isinstance(model, NGramLM):
        return model.token_logprobs(ids)
    check_int("bptt", bptt, 1)
    check_int("start_id", start_id, 0)
    inputs = np.concatenate([[start_id], ids[:-1]])  # (N,)
    out = np.empty(ids.size, dtype=np.float64)
    state = None
    for a in range(0, ids.size, bptt):
        b = min(a + bptt, ids.size)
        logp, state = model.token_log_probs(inputs[a:b, None], ids[a:b, None], state)  # (T, 1)
        out[a:b] = logp[:, 0]
    return out


def mix(logp_a: np.ndarray, logp_b: np.ndarray, weight: float) -> np.ndarray:
    """log(weight p_A + (1 - weight) p_B) per token; weight in [0, 1]."""
    weight = check_number("weight", weight)  # TypeError for a str, as for a bool
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"Expected an interpolation weight in [0, 1], got {weight!r}")
    a, b = np.asarray(logp_a, np.float64), np.asarray(logp_b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"Expected log-probabilities of the same tokens, got shapes {a.shape} and {b.shape}")
    if weight == 1.0:
        return a.copy()
    if weight == 0.0:
        return b.copy()
    return np.logaddexp(np.log(weight) + a, np.log1p(-weight) + b)


def fit_weight(logp_a: np.ndarray, logp_b: np.ndarray, tol: float = 1e-12, max_iter: int = 100
               ) -> tuple[float, int]:
    """The weight of model A that maximises the mean log-likelihood; returns (weight, bisection steps)."""
    a, b = np.asarray(logp_a, np.float64), np.asarray(logp_b, np.float64)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"Expected log-probabilities of the same tokens (at least one), got shapes {a.shape} "
                         f"and {b.shape}")
    top = np.maximum(a, b)
    pa, pb = np.exp(a - top), np.exp(b - top)  # (N,) scaled so that the larger of each pair is 1

    def slope(w: float) -> float:  # L'(w); +inf or -inf at an end point where a token has p = 0
        with np.errstate(divide="ignore"):
            return float(np.mean((pa - pb) / (w * pa + (1.0 - w) * pb)))

    if slope(0.0) <= 0.0:
        return 0.0, 0
    if slope(1.0) >= 0.0:
        return 1.0, 0
    lo, hi, steps = 0.0, 1.0, 0
    while hi - lo > tol and steps < max_iter:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if slope(mid) > 0.0 else (lo, mid)
        steps += 1
    return 0.5 * (lo + hi), steps
