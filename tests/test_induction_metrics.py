"""The measures of induced tags (rnnkit.metrics.induction) against values computed by hand, the exact
assignment against every permutation (and scipy's, when installed), V-measure against scikit-learn's
(when installed), and the edge cases."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from rnnkit.metrics.induction import contingency, induction_scores, max_assignment

# 8 tokens: cluster 1 = A A A; cluster 2 = A A B; cluster 3 = C B
GOLD = ["A", "A", "A", "A", "A", "B", "C", "B"]
PRED = ["1", "1", "1", "2", "2", "2", "3", "3"]


def H(*p):
    """Entropy in nats of the probabilities p."""
    return -sum(x * math.log(x) for x in p if x > 0)


def test_hand_computed_example():
    m = induction_scores(GOLD, PRED)
    # many-to-one: 1 -> A (3), 2 -> A (2), 3 -> B or C (1): 6 of 8
    assert m["many_to_one"] == 6 / 8
    # one-to-one: A can go to one cluster only; best is 1 -> A (3), 2 -> B (1), 3 -> C (1): 5 of 8
    assert m["one_to_one"] == 5 / 8
    assert m["one_to_one_map"] == {"1": "A", "2": "B", "3": "C"}
    assert m["many_to_one_map"] == {"1": "A", "2": "A", "3": "B"}  # a tie (B 1, C 1): the first tag sorted
    # tags A 5, B 2, C 1; clusters 3, 3, 2
    h_c, h_k = H(5 / 8, 2 / 8, 1 / 8), H(3 / 8, 3 / 8, 2 / 8)
    h_c_k = 3 / 8 * 0 + 3 / 8 * H(2 / 3, 1 / 3) + 2 / 8 * H(1 / 2, 1 / 2)  # H(C | K), cluster by cluster
    h_k_c = 5 / 8 * H(3 / 5, 2 / 5) + 2 / 8 * H(1 / 2, 1 / 2) + 1 / 8 * 0  # H(K | C), tag by tag
    h, c = 1 - h_c_k / h_c, 1 - h_k_c / h_k
    assert m["homogeneity"] == pytest.approx(h, abs=1e-12)
    assert m["completeness"] == pytest.approx(c, abs=1e-12)
    assert m["v_measure"] == pytest.approx(2 * h * c / (h + c), abs=1e-12)
    assert m["vi_bits"] == pytest.approx((h_c_k + h_k_c) / math.log(2), abs=1e-12)
    # the numbers themselves, worked on paper, so a change of convention (h and c swapped) shows:
    # H(C) = .900256, H(C|K) = .375 (.636514) + .25 (.693147) = .411980, h = 1 - .411980 / .900256 = .542375;
    # H(K) = 1.082196, H(K|C) = .625 (.673012) + .25 (.693147) = .593919, c = 1 - .593919 / 1.082196 = .451190
    assert (round(m["homogeneity"], 4), round(m["completeness"], 4), round(m["v_measure"], 4)) == (0.5424, 0.4512,
                                                                                                    0.4926)
    n, clusters, tags = contingency(GOLD, PRED)
    assert clusters == ["1", "2", "3"] and tags == ["A", "B", "C"]
    assert n.tolist() == [[3, 0, 0], [2, 1, 0], [0, 1, 1]] and m["tokens"] == 8


def test_perfect_clusters_and_one_cluster():
    gold = ["D", "N", "V", "D", "N", "V", "N"]
    renamed = {"D": "S2", "N": "S0", "V": "S1"}
    m = induction_scores(gold, [renamed[g] for g in gold])  # a relabelling of the gold tags: all perfect
    assert m["many_to_one"] == m["one_to_one"] == 1.0
    assert m["homogeneity"] == pytest.approx(1.0) and m["completeness"] == pytest.approx(1.0)
    assert m["vi_bits"] == pytest.approx(0.0, abs=1e-12)
    one = induction_scores(gold, ["S0"] * len(gold))  # everything one cluster: M-1 = 1-1 = the majority tag
    assert one["many_to_one"] == one["one_to_one"] == 3 / 7
    assert one["homogeneity"] == pytest.approx(0.0, abs=1e-12) and one["completeness"] == 1.0  # H(K) = 0
    assert one["v_measure"] == pytest.approx(0.0, abs=1e-12)
    single = induction_scores(["N"] * 4, ["S0", "S1", "S0", "S2"])  # one gold tag: H(C) = 0, h = 1
    assert single["homogeneity"] == 1.0 and single["many_to_one"] == 1.0 and single["one_to_one"] == 2 / 4
    assert single["one_to_one_map"] == {"S0": "N", "S1": None, "S2": None}


def _brute_force(w):
    R, C = w.shape
    if R <= C:
        return max(sum(w[i, p[i]] for i in range(R)) for p in itertools.permutations(range(C), R))
    return _brute_force(w.T)


def test_max_assignment_against_every_permutation():
    rng = np.random.default_rng(0)
    for trial in range(300):
        R, C = (int(x) for x in rng.integers(1, 6, size=2))
        # whole counts with many ties, as contingency tables have, and real weights
        w = rng.integers(0, 4, size=(R, C)).astype(float) if trial % 2 else rng.random((R, C))
        rows, cols = max_assignment(w)
        assert len(rows) == min(R, C) and len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
        assert list(rows) == sorted(rows)
        assert w[rows, cols].sum() == pytest.approx(_brute_force(w), abs=1e-12), (w, rows, cols)


def test_max_assignment_against_scipy():
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(1)
    for R, C in ((17, 17), (45, 17), (17, 45), (60, 60)):
        w = rng.integers(0, 2000, size=(R, C)).astype(float)  # (clusters, tags) counts
        rows, cols = max_assignment(w)
        r2, c2 = optimize.linear_sum_assignment(w, maximize=True)
        assert w[rows, cols].sum() == w[r2, c2].sum()


def test_v_measure_against_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    for _ in range(20):
        n = int(rng.integers(5, 300))
        gold = [f"T{x}" for x in rng.integers(0, int(rng.integers(1, 8)), size=n)]
        pred = [f"S{x}" for x in rng.integers(0, int(rng.integers(1, 12)), size=n)]
        m = induction_scores(gold, pred)
        h, c, v = metrics.homogeneity_completeness_v_measure(gold, pred)
        assert m["homogeneity"] == pytest.approx(h, abs=1e-10)
        assert m["completeness"] == pytest.approx(c, abs=1e-10)
        assert m["v_measure"] == pytest.approx(v, abs=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="as many predictions"):
        induction_scores(["A", "B"], ["S0"])
    with pytest.raises(ValueError, match="at least one"):
        induction_scores([], [])
    with pytest.raises(ValueError, match="finite 2-D"):
        max_assignment(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="finite 2-D"):
        max_assignment(np.array([[1.0, np.nan]]))
