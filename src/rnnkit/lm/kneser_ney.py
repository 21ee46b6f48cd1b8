r"""Interpolated modified Kneser-Ney smoothing (Chen & Goodman 1998).

For the order-k history h (k-1 tokens) and token w, with c_k the counts used at order k::

    p_k(w | h) = max(c_k(hw) - D_k(c_k(hw)), 0) / c_k(h.)  +  gamma_k(h) p_{k-1}(w | h')
    gamma_k(h) = (D_k1 N_1(h.) + D_k2 N_2(h.) + D_k3+ N_3+(h.)) / c_k(h.)
    p_0(w)     = 1 / V                                   (uniform over the vocabulary)

where h' drops the first token of h, c_k(h.) = sum_w c_k(hw), and N_r(h.) is the number of tokens w
with c_k(hw) = r (3 or more for N_3+).  A history never seen at order k leaves p_{k-1} unchanged.
A discount is never more than its count (D = min(D_k(c), c), which only bites when
:func:`kneser_ney` is called directly with a discount above its count, such as D_1 = 1.5;
:class:`~rnnkit.lm.NGramLM` refuses such discounts): gamma_k(h) is then sum_w min(D_k(c_k(hw)), c_k(hw)) / c_k(h.), what
the discounts actually took, so that p_k still sums to 1.

Counts: the highest order uses raw counts; a lower order uses continuation counts
N_1+(. g) = |{v : c(v g) > 0}|, except for n-grams that begin with <s>, which cannot be extended to
the left and keep their raw counts (as SRILM does).

Discounts, per order, from the count-of-counts n_r of that order's counts::

    Y = n_1 / (n_1 + 2 n_2)
    D_1 = 1 - 2 Y n_2 / n_1,   D_2 = 2 - 3 Y n_3 / n_2,   D_3+ = 3 - 4 Y n_4 / n_3

On a corpus too small for these (some n_r = 0 or a discount <= 0) every count gets the single
absolute discount Y (0.5 when n_1 or n_2 is 0).
"""
from __future__ import annotations

import numpy as np

from rnnkit.lm.ngram_counts import NGramCounts, check_counts


def modified_kn_discounts(counts: np.ndarray) -> np.ndarray:
    """(D_1, D_2, D_3+) (3,) from the positive entries of ``counts`` (see the module docstring)."""
    counts = check_counts(counts)
    positive = counts[counts > 0]
    n = np.bincount(np.minimum(positive, 5), minlength=6).astype(np.float64)  # n[r], r = 0..5
    if n[1] > 0 and n[2] > 0:
        y = n[1] / (n[1] + 2.0 * n[2])
    else:
        y = 0.5
    if np.all(n[1:5] > 0):
        d = np.array(
            [1.0 - 2.0 * y * n[2] / n[1], 2.0 - 3.0 * y * n[3] / n[2], 3.0 - 4.0 * y * n[4] / n[3]]
        )
        if np.all(d > 0):
            return d
    return np.full(3, y)


def kneser_ney(
    ng: NGramCounts, discounts: np.ndarray | None = None
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Interpolation terms of every order.

    Returns ``(probs, bows, discounts)``: ``probs[k-1]`` (N_k,) is the first term of p_k for each
    entry of table k, ``bows[k-1]`` (N_{k-1},) is gamma_k of each history (a node of table k-1; one
    entry, the empty history, at k = 1), and ``discounts`` (order, 3) the D_k used.  ``discounts``
    given as (3,) or (order, 3) replaces the estimates.
    """
    n = ng.order
    fixed = None
    if discounts is not None:
        fixed = np.broadcast_to(np.asarray(discounts, dtype=np.float64), (n, 3))
    probs = []
    bows = []
    used = np.zeros((n, 3))
    for k in range(1, n + 1):
        raw = ng.counts[k - 1]
        if k == n:
            c = raw
        else:
            c = np.where(ng.starts[k - 1], raw, ng.continuation[k - 1])  # (N_k,)
        d3 = modified_kn_discounts(c) if fixed is None else fixed[k - 1]
        used[k - 1] = d3
        d = np.zeros(c.size)  # (N_k,) D(c), 0 for c = 0
        d[c == 1] = d3[0]
        d[c == 2] = d3[1]
        d[c >= 3] = d3[2]
        # never take away more than the count: keeps every term >= 0 whatever the discounts
        d = np.minimum(d, c)
        parent, n_hist = ng.histories(k)  # (N_k,), N_{k-1}
        total = np.bincount(parent, weights=c, minlength=n_hist)  # (N_{k-1},) c_k(h.)
        removed = np.bincount(parent, weights=d, minlength=n_hist)  # (N_{k-1},) gamma_k * c_k(h.)
        seen = total > 0
        safe_total = np.where(seen, total, 1.0)
        probs.append(np.where(seen[parent], (c - d) / safe_total[parent], 0.0))
        # what the discounts removed is exactly what gamma hands down: each p_k sums to 1
        bows.append(np.where(seen, removed / safe_total, 1.0))
    return probs, bows, used
