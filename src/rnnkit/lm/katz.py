r"""Katz backoff with Good-Turing discounting (Katz 1987), on raw counts at every order.

For the order-k history h (k-1 tokens) and token w::

    p_k(w | h) = d_r r / c(h.)                     if r = c(hw) > 0
               = alpha_k(h) p_{k-1}(w | h')        otherwise
    alpha_k(h) = (1 - sum_{w: c(hw)>0} p_k(w | h)) / (1 - sum_{w: c(hw)>0} p_{k-1}(w | h'))

Good-Turing discount ratios for counts r <= K (K = 5), from the count-of-counts n_r of the order::

    r* = (r + 1) n_{r+1} / n_r
    d_r = (r*/r - (K+1) n_{K+1} / n_1) / (1 - (K+1) n_{K+1} / n_1),   d_r = 1 for r > K

Unigrams are discounted the same way; the mass they free goes uniformly to the vocabulary tokens never
seen in training.  When every vocabulary token was seen (the usual case: the vocabulary is built on
the training file) there is nobody to give it to, and the discounted unigrams are renormalised,
p_1(w) = d_r r / sum_v d_{r_v} r_v, which is not d_r r / c.  alpha makes every distribution sum to 1.  Corner cases follow SRILM's rules:

* K is lowered while n_{K+1} = 0 (no discounting at all when n_1 = 0); d_r = 1 when n_r = 0, when
  r*/r > 1 or when d_r is outside (1e-12, 1];
* a history whose seen tokens would take all the mass while some tokens are unseen (all its counts
  are above K, say) gets c(h.) + 1 as denominator, which frees mass for those tokens (a fix SRILM
  credits to Doug Paul);
* a history whose seen tokens take all the lower-order mass has its seen probabilities rescaled to
  sum to 1, with alpha = 0.
"""
from __future__ import annotations

import numpy as np

from rnnkit.checks import check_int
from rnnkit.lm.ngram_counts import NGramCounts, check_counts

# below this, a left-over or lower-order mass is rounding error, not something to share out
_EPS = 1e-12


def good_turing_ratios(counts: np.ndarray, max_count: int = 5) -> np.ndarray:
    """d_r (max_count + 1,) for r = 0..max_count from the positive ``counts`` (d_0 is unused, 1)."""
    counts = check_counts(counts)
    max_count = check_int("max_count", max_count, 0)  # 0: no discounting
    positive = counts[counts > 0]
    n = np.bincount(np.minimum(positive, max_count + 2), minlength=max_count + 3).astype(np.float64)
    K = max_count if n[1] > 0 else 0
    while K > 0 and n[K + 1] == 0:
        K -= 1
    d = np.ones(max_count + 1)
    if K == 0:
        return d
    common = (K + 1) * n[K + 1] / n[1]
    for r in range(1, K + 1):
        if n[r] == 0:
            continue
        star_ratio = (r + 1) * n[r + 1] / (r * n[r])  # r*/r
        ratio = (star_ratio - common) / (1.0 - common) if common != 1.0 else 0.0
        if _EPS < ratio <= 1.0 and star_ratio <= 1.0:
            d[r] = ratio
    return d


def katz(ng: NGramCounts, max_count: int = 5) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Backoff terms of every order.

    Returns ``(probs, bows, ratios)``: ``probs[k-1]`` (N_k,) is p_k(w | h) of each seen entry of
    table k (table 1 holds the whole unigram distribution), ``bows[k-1]`` (N_{k-1},) is alpha_k of each
    history (1 for a history with no seen continuation; [0.] at k = 1, whose table is complete), and
    ``ratios`` (order, max_count + 1) the d_r used.
    """
    n = ng.order
    S = ng.n_symbols
    V = S - 1
    probs = []
    bows = []
    ratios = np.ones((n, max_count + 1))
    for k in range(1, n + 1):
        c = ng.counts[k - 1]  # (N_k,)
        d_r = good_turing_ratios(c, max_count)
        ratios[k - 1] = d_r
        disc = np.ones(c.size)
        small = (c > 0) & (c <= max_count)
        disc[small] = d_r[c[small]]
        if k == 1:
            probs.append(_unigram(c, disc, V))
            bows.append(np.zeros(1))
            continue
        parent, n_hist = ng.histories(k)  # (N_k,) history node in table k-1, N_{k-1}
        total = np.bincount(parent, weights=c, minlength=n_hist)  # (N_{k-1},) c(h.)
        seen = total > 0
        p = disc * c / np.where(seen, total, 1.0)[parent]  # (N_k,)
        left = 1.0 - np.bincount(parent, weights=p, minlength=n_hist)  # (N_{k-1},)
        n_seen = np.bincount(parent, minlength=n_hist)  # (N_{k-1},) distinct tokens after h
        bump = seen & (left <= _EPS) & (n_seen < V)
        if bump.any():
            total = total + bump
            p = disc * c / np.where(seen, total, 1.0)[parent]
            left = 1.0 - np.bincount(parent, weights=p, minlength=n_hist)
        # the lower-order probability of a seen hw is that of its suffix h'w, itself seen
        lower = probs[k - 2][ng.suffix[k - 1]]  # (N_k,)
        lower_left = 1.0 - np.bincount(parent, weights=lower, minlength=n_hist)
        rescale = seen & ((left <= _EPS) | (lower_left <= _EPS))
        alpha = np.ones(n_hist)  # (N_{k-1},) 1 for a history never seen: plain backoff
        shared = seen & ~rescale
        alpha[shared] = left[shared] / lower_left[shared]
        alpha[rescale] = 0.0
        kept = np.where(rescale, 1.0 - left, 1.0)  # (N_{k-1},) mass of the seen tokens
        p = p / kept[parent]
        probs.append(p)
        bows.append(alpha)
    return probs, bows, ratios


def _unigram(c: np.ndarray, disc: np.ndarray, V: int) -> np.ndarray:
    """Dense unigram distribution (S,): discounted seen tokens, the rest shared by unseen ones."""
    counts = c[:V].astype(np.float64)  # (V,) the <s> entry, last, is left at 0
    p = np.zeros(c.size)
    total = counts.sum()
    unseen = counts == 0
    p[:V] = disc[:V] * counts / total
    if unseen.any() and p.sum() > 1.0 - _EPS:
        p[:V] = disc[:V] * counts / (total + 1.0)  # leave some mass for the unseen tokens
    left = 1.0 - p.sum()
    if unseen.any():
        p[:V][unseen] = left / unseen.sum()
    else:
        p[:V] /= p[:V].sum()
    return p
