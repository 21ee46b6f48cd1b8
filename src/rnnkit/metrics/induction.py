"""Scores of induced clusters (an unsupervised tagger's states) against gold tags: the measures of
part-of-speech induction (Christodoulopoulos, Goldwater & Steedman 2010, "Two decades of unsupervised
POS induction: how far have we come?").

All come from the contingency table n[k, c], the number of tokens of cluster k with gold tag c
(N tokens in all, n_k = sum_c n[k, c], n_c = sum_k n[k, c]):

    many-to-one  M-1 = sum_k max_c n[k, c] / N          each cluster labelled with its most frequent
                                                        gold tag (several clusters may share one)
    one-to-one   1-1 = max_m sum_k n[k, m(k)] / N       m a one-to-one map of clusters to tags (a cluster
                                                        left without a tag counts wrong): an assignment
                                                        problem, solved exactly (:func:`max_assignment`)
    homogeneity  h = 1 - H(C|K) / H(C)                  each cluster holds one tag (h = 1 when H(C) = 0)
    completeness c = 1 - H(K|C) / H(K)                  each tag in one cluster (c = 1 when H(K) = 0)
    V-measure    V = 2 h c / (h + c)                    (Rosenberg & Hirschberg 2007; V = 0 when h + c = 0)
    VI           = H(C|K) + H(K|C), in bits             variation of information (Meila 2003): 0 is best

with H(C) = -sum_c (n_c / N) log(n_c / N) and H(C|K) = -sum_{k,c} (n[k, c] / N) log(n[k, c] / n_k).
M-1 rises with the number of clusters (one cluster a word type scores 1), so compare it at equal K;
1-1 and V-measure do not reward more clusters in that way.  scikit-learn's ``homogeneity_score``,
``completeness_score`` and ``v_measure_score`` give the same h, c and V (natural log; the ratios do not
depend on the base).
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from rnnkit.metrics.classification import _check, _sorted


def contingency(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> tuple[np.ndarray, list, list]:
    """``(n, clusters, tags)``: ``n[k, c]`` (K, C) counts tokens of cluster ``clusters[k]`` (``pred``) with gold
    tag ``tags[c]``; clusters and tags are those present, sorted."""
    _check(gold, pred)
    clusters, tags = _sorted(set(pred)), _sorted(set(gold))
    row = {k: i for i, k in enumerate(clusters)}
    col = {c: j for j, c in enumerate(tags)}
    n = np.zeros((len(clusters), len(tags)), dtype=np.int64)  # (K, C)
    np.add.at(n, (np.array([row[p] for p in pred]), np.array([col[g] for g in gold])), 1)
    return n, clusters, tags


def max_assignment(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)``: a one-to-one matching of rows to columns of ``weights`` (R, C) of largest total
    weight, min(R, C) pairs (the Hungarian method with potentials, Kuhn 1955 / Munkres 1957, in the
    shortest-augmenting-path form of Jonker & Volgenant: O(R^2 C) for R <= C; each row's update is one
    vector operation, so K = 1,000 clusters take seconds).  ``rows`` ascending; the same total as
    ``scipy.optimize.linear_sum_assignment(weights, maximize=True)``."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or not np.all(np.isfinite(w)):
        raise ValueError(f"Expected weights as a finite 2-D array, got shape {w.shape}")
    if w.shape[0] > w.shape[1]:
        cols, rows = max_assignment(w.T)
        order = np.argsort(rows)
        return rows[order], cols[order]
    R, C = w.shape
    cost = w.max(initial=0.0) - w  # (R, C) >= 0: the most weight is the least cost
    u, v = np.zeros(R + 1), np.zeros(C + 1)  # potentials; index 0 of v is the free column the search starts at
    owner = np.zeros(C + 1, dtype=np.int64)  # owner[j]: the row (from 1) matched to column j, 0 for none
    way = np.zeros(C + 1, dtype=np.int64)  # the column before j on the shortest path to it
    for i in range(1, R + 1):  # add row i to the matching by the shortest augmenting path
        owner[0], j0 = i, 0
        dist = np.full(C + 1, np.inf)  # reduced length of the shortest path to each column so far
        done = np.zeros(C + 1, dtype=bool)
        while True:
            done[j0] = True
            i0 = owner[j0]
            reduced = cost[i0 - 1] - u[i0] - v[1:]  # (C,) from row i0 to every column
            closer = ~done[1:] & (reduced < dist[1:])
            dist[1:][closer] = reduced[closer]
            way[1:][closer] = j0
            left = np.where(done[1:], np.inf, dist[1:])
            j1 = int(np.argmin(left)) + 1
            delta = left[j1 - 1]
            u[owner[done]] += delta  # the rows of the tree, each once (owner is one-to-one on done columns)
            v[done] -= delta
            dist[1:][~done[1:]] -= delta
            j0 = j1
            if owner[j0] == 0:  # a free column: augment along the way back
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    cols = np.nonzero(owner[1:])[0]
    rows = owner[1:][cols] - 1
    order = np.argsort(rows)
    return rows[order], cols[order]


def _entropy(counts: np.ndarray) -> float:
    """Entropy in nats of the distribution ``counts / counts.sum()`` (zeros left out)."""
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _conditional_entropy(n: np.ndarray) -> float:
    """H(columns | rows) in nats of a contingency table n (rows, columns)."""
    rows = n.sum(axis=1, keepdims=True)
    mask = n > 0
    return float(-(n[mask] / n.sum() * np.log((n / rows)[mask])).sum())


def induction_scores(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> dict:
    """The measures of the module doc of clusters ``pred`` against tags ``gold`` (one label a token), and how
    each cluster maps: ``{"many_to_one", "one_to_one", "homogeneity", "completeness", "v_measure", "vi_bits",
    "clusters", "tags", "tokens", "contingency" (K, C) as lists, "many_to_one_map" {cluster: tag},
    "one_to_one_map" {cluster: tag or None}}``."""
    n, clusters, tags = contingency(gold, pred)
    N = int(n.sum())
    rows, cols = max_assignment(n)
    h_c, h_k = _entropy(n.sum(axis=0)), _entropy(n.sum(axis=1))
    h_c_given_k, h_k_given_c = _conditional_entropy(n), _conditional_entropy(n.T)
    homogeneity = 1.0 if h_c == 0 else 1.0 - h_c_given_k / h_c
    completeness = 1.0 if h_k == 0 else 1.0 - h_k_given_c / h_k
    v = 0.0 if homogeneity + completeness == 0 else 2 * homogeneity * completeness / (homogeneity + completeness)
    one_to_one = {k: None for k in clusters}
    one_to_one.update({clusters[r]: tags[c] for r, c in zip(rows, cols)})
    many_to_one = {k: tags[int(np.argmax(n[i]))] for i, k in enumerate(clusters)}  # a tie: the first tag sorted
    return {"many_to_one": float(n.max(axis=1).sum() / N), "one_to_one": float(n[rows, cols].sum() / N),
            "homogeneity": homogeneity, "completeness": completeness, "v_measure": v,
            "vi_bits": float((h_c_given_k + h_k_given_c) / np.log(2)), "clusters": clusters, "tags": tags,
            "tokens": N, "contingency": n.tolist(), "many_to_one_map": many_to_one, "one_to_one_map": one_to_one}
