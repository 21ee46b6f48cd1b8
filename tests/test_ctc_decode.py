"""rnnkit.nn.ctc_decode: best path by hand, prefix beam search against brute-force enumeration of labellings."""
from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from rnnkit.nn import ctc_beam_decode, ctc_greedy_decode, ctc_loss, log_softmax
from rnnkit.nn.ctc_decode import collapse, prefix_beam_search


def _one_hot_logits(paths, C):
    """Logits (T, B, C) whose argmax at frame t of sequence b is paths[b][t] (sequences padded with class 0)."""
    T = max(len(p) for p in paths)
    logits = np.zeros((T, len(paths), C))
    for b, p in enumerate(paths):
        logits[np.arange(len(p)), b, p] = 5.0
    return logits


@pytest.mark.parametrize("path,blank,expected", [
    ([0, 1, 1, 0, 1, 2, 2, 0], 0, [1, 1, 2]),  # a blank between two 1s keeps both
    ([1, 1, 1, 2, 2, 1], 0, [1, 2, 1]),  # repeats merge
    ([0, 0, 0], 0, []),  # blanks only
    ([3, 1, 3, 3, 2], 3, [1, 2]),  # the blank need not be 0
    ([2, 0, 2, 1, 1], 3, [2, 0, 2, 1]),  # ... and then 0 is a label
])
def test_greedy_decoding_by_hand(path, blank, expected):
    assert ctc_greedy_decode(_one_hot_logits([path], 4), blank=blank) == [expected]


def test_greedy_decoding_reads_only_each_sequences_frames():
    logits = _one_hot_logits([[1, 0, 2, 2], [3, 3, 1, 2]], 4)
    assert ctc_greedy_decode(logits, np.array([4, 2])) == [[1, 2], [3]]
    assert ctc_greedy_decode(logits) == [[1, 2], [3, 1, 2]]


def _labelling_log_probs(log_probs, blank=0):
    """{labelling: log p(labelling)} over every path of log_probs (T, C), by enumeration."""
    T, C = log_probs.shape
    total = defaultdict(float)
    for path in itertools.product(range(C), repeat=T):
        total[tuple(collapse(path, blank))] += np.exp(log_probs[np.arange(T), path].sum())
    return {k: np.log(v) for k, v in total.items()}


@pytest.mark.parametrize("seed", range(4))
def test_a_beam_wide_enough_for_every_prefix_finds_every_labellings_exact_probability(seed):
    rng = np.random.default_rng(seed)
    T, C = 5, 3
    log_probs = log_softmax(rng.normal(size=(T, C)) * 1.5, axis=1)
    exact = _labelling_log_probs(log_probs)
    beams = prefix_beam_search(log_probs, beam_width=10_000)
    assert {prefix for prefix, _ in beams} == set(exact)
    for prefix, logp in beams:
        assert logp == pytest.approx(exact[prefix], abs=1e-12)
    assert beams[0][0] == max(exact, key=exact.get)  # the most probable first
    # and the CTC loss of that labelling is minus its log-probability
    best = np.array([list(beams[0][0]) or [1]])
    loss, _ = ctc_loss(log_probs[:, None, :], best, None, np.array([len(beams[0][0])]), reduction="sum")
    assert loss == pytest.approx(-beams[0][1], abs=1e-10)


def test_beam_search_can_beat_the_best_path():
    # best path: frame by frame the blank (0.6 > 0.4), so the empty labelling; but "1" has the paths
    # 1 1, 1 -, - 1: 0.16 + 0.24 + 0.24 = 0.64 > 0.36 for the empty one
    probs = np.array([[[0.6, 0.4]], [[0.6, 0.4]]])  # (T, B, C) = (2, 1, 2)
    logits = np.log(probs)
    assert ctc_greedy_decode(logits) == [[]]
    assert ctc_beam_decode(logits, beam_width=2) == [[1]]
    beams = prefix_beam_search(np.log(probs[:, 0]), beam_width=2)
    assert [p for p, _ in beams] == [(1,), ()] and beams[0][1] == pytest.approx(np.log(0.64))


@pytest.mark.parametrize("seed", range(3))
def test_narrow_beams_score_their_prefixes_exactly_and_batches_decode_each_sequence(seed):
    rng = np.random.default_rng(10 + seed)
    T, B, C = 6, 3, 4
    logits = rng.normal(size=(T, B, C)) * 2
    lengths = np.array([6, 4, 5])
    decoded = ctc_beam_decode(logits, lengths, beam_width=3)
    for b in range(B):
        log_probs = log_softmax(logits[:lengths[b], b], axis=1)
        exact = _labelling_log_probs(log_probs)
        beams = prefix_beam_search(log_probs, beam_width=3)
        assert len(beams) == 3 and decoded[b] == list(beams[0][0])
        # a kept prefix's score is the probability of that labelling over the frames (its paths were all kept
        # unless a pruned prefix would have led to it; at least it is never more)
        for prefix, logp in beams:
            assert logp <= exact[prefix] + 1e-12
        assert exact[beams[0][0]] >= sorted(exact.values())[-3] - 1e-12  # among the three most probable here


def test_the_blank_may_be_any_class_in_beam_search():
    rng = np.random.default_rng(20)
    logits = rng.normal(size=(5, 2, 3)) * 2
    moved = np.roll(logits, -1, axis=2)  # class k -> k - 1, the blank 0 -> 2
    plain = ctc_beam_decode(logits, beam_width=50)
    renamed = ctc_beam_decode(moved, beam_width=50, blank=2)
    assert renamed == [[k - 1 for k in p] for p in plain]
