"""rnnkit.nn.ctc_decode with a language model (shallow fusion): the plain beam at weight 0, brute-force argmax of
the fused score over every labelling, an LM that forbids a label, and the n-gram model over the labels."""
from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
import pytest

from rnnkit.lm.ngram import NGramLM
from rnnkit.nn import ctc_beam_decode, log_softmax
from rnnkit.nn.ctc_decode import collapse, prefix_beam_search
from rnnkit.nn.ctc_lm import NGramLabelLM


def _bigram_lm(rng, C, blank=0):
    """A random bigram model over the labels as a callable: log P(k | the last label, or the start)."""
    table = {}
    for last in [None] + [k for k in range(C) if k != blank]:
        p = rng.dirichlet(np.ones(C - 1))
        table[last] = np.insert(np.log(p), blank, 0.0).tolist()
    return lambda prefix: table[prefix[-1] if prefix else None]


def _fused_scores(log_probs, lm, alpha, beta, blank=0):
    """{labelling l: log p_ctc(l | x) + alpha sum_i log P_lm(l_i | l_<i) + beta |l|} over every path of
    log_probs (T, C), by enumeration: the score the beam search ranks by (ctc_decode's docstring)."""
    T, C = log_probs.shape
    total = defaultdict(float)
    for path in itertools.product(range(C), repeat=T):
        total[tuple(collapse(path, blank))] += np.exp(log_probs[np.arange(T), path].sum())
    scores = {}
    for labels, p in total.items():
        lm_logp = sum(lm(labels[:i])[k] for i, k in enumerate(labels))
        scores[labels] = math.log(p) + alpha * lm_logp + beta * len(labels)
    return scores


@pytest.mark.parametrize("seed", range(3))
def test_weight_zero_and_no_bonus_is_the_plain_beam_search_exactly(seed):
    rng = np.random.default_rng(seed)
    log_probs = log_softmax(rng.normal(size=(12, 4)) * 2, axis=1)
    lm = _bigram_lm(rng, 4)
    for width in (1, 3, 8):
        assert prefix_beam_search(log_probs, width, lm=lm) == prefix_beam_search(log_probs, width)
    logits = rng.normal(size=(12, 3, 4)) * 2
    model = NGramLM(2, smoothing="add_delta").fit([[0, 1, 2, 1], [2, 2, 0]], 3)
    assert ctc_beam_decode(logits, beam_width=3, lm=model) == ctc_beam_decode(logits, beam_width=3)


@pytest.mark.parametrize("seed,alpha,beta", [(0, 1.0, 0.0), (1, 0.5, 1.5), (2, 2.0, -0.7), (3, 0.0, 2.0),
                                             (4, 1.3, 0.4)])
def test_a_beam_wide_enough_returns_the_argmax_of_the_fused_score_over_every_labelling(seed, alpha, beta):
    rng = np.random.default_rng(100 + seed)
    T, C = 5, 3  # 3^5 = 243 paths, labels 1 and 2
    log_probs = log_softmax(rng.normal(size=(T, C)) * 1.5, axis=1)
    lm = _bigram_lm(rng, C)
    exact = _fused_scores(log_probs, lm, alpha, beta)
    beams = prefix_beam_search(log_probs, 10_000, lm=lm, lm_weight=alpha, length_bonus=beta)
    assert {prefix for prefix, _ in beams} == set(exact)
    for prefix, score in beams:
        assert score == pytest.approx(exact[prefix], abs=1e-12)
    assert beams[0][0] == max(exact, key=exact.get)
    assert [s for _, s in beams] == sorted((s for _, s in beams), reverse=True)


def test_the_fused_argmax_differs_from_the_plain_one_where_the_lm_disagrees():
    # CTC alone prefers "1 2" a little; an LM that finds "2 after 1" unlikely turns it to "1 1"
    probs = np.array([[0.1, 0.9, 0.0], [0.5, 0.0, 0.5], [0.1, 0.5, 0.4]])  # (T, C)
    with np.errstate(divide="ignore"):
        log_probs = np.log(probs)

    def lm(prefix):
        return [0.0, math.log(0.9), math.log(0.1)] if prefix[-1:] == (1,) else [0.0, math.log(0.5), math.log(0.5)]

    assert prefix_beam_search(log_probs, 50)[0][0] == (1, 2)
    assert prefix_beam_search(log_probs, 50, lm=lm, lm_weight=1.0)[0][0] == (1, 1)


def test_an_lm_that_forbids_a_label_pushes_it_out():
    rng = np.random.default_rng(7)
    path = [1, 1, 0, 2, 2, 0, 3, 0, 2, 1]  # the frames say "1 2 3 2 1" clearly
    logits = rng.normal(size=(10, 1, 4)) * 0.3
    logits[np.arange(10), 0, path] += 4.0
    assert ctc_beam_decode(logits, beam_width=8) == [[1, 2, 3, 2, 1]]

    def no_two(prefix):
        return [0.0, math.log(0.5), -math.inf, math.log(0.5)]

    def no_two_after_one(prefix):
        return [0.0, math.log(0.4), -math.inf if prefix[-1:] == (1,) else math.log(0.2), math.log(0.4)]

    log_probs = log_softmax(logits[:, 0], axis=1)  # (T, C)
    for weight in (0.1, 1.0):  # however small its weight, probability 0 is 0
        decoded = ctc_beam_decode(logits, beam_width=8, lm=no_two, lm_weight=weight)[0]
        assert decoded[0] == 1 and 3 in decoded and 2 not in decoded
        for prefix, score in prefix_beam_search(log_probs, 8, lm=no_two, lm_weight=weight):
            assert math.isfinite(score) and 2 not in prefix  # no beam through a forbidden label
        decoded = ctc_beam_decode(logits, beam_width=8, lm=no_two_after_one, lm_weight=weight)[0]
        assert 2 in decoded and (1, 2) not in set(zip(decoded, decoded[1:]))


def test_the_lm_is_asked_only_about_beam_prefixes_with_a_new_extension_once_a_frame():
    rng = np.random.default_rng(11)
    T, C, width = 9, 3, 4
    log_probs = log_softmax(rng.normal(size=(T, C)) * 2, axis=1)  # (T, C)
    blank_only = [0, 1, 3, 4, 7]  # frames that cannot emit a label: no prefix is extended, the LM has no say
    log_probs[blank_only, 1:] = -math.inf
    log_probs[blank_only, 0] = 0.0
    lm = _bigram_lm(rng, C)
    asked_before = []
    for t in range(T + 1):  # the search over the first t frames asks what the longer one asked before frame t
        asked = []
        prefix_beam_search(log_probs[:t], width, lm=lambda prefix: asked.append(prefix) or lm(prefix), lm_weight=1.0)
        assert asked[:len(asked_before)] == asked_before
        at_frame = asked[len(asked_before):]  # the prefixes asked at frame t - 1
        if t:
            beam = {prefix for prefix, _ in prefix_beam_search(log_probs[:t - 1], width, lm=lm, lm_weight=1.0)}
            assert set(at_frame) <= beam and len(set(at_frame)) == len(at_frame), t
            if t - 1 in blank_only:
                assert at_frame == [], t
            else:
                assert at_frame, t  # the longest prefix's extensions are new
        asked_before = asked
    assert len(asked_before) > 0


def test_an_ngram_model_over_the_labels_numbers_them_without_the_blank():
    model = NGramLM(3).fit([[0, 1, 2, 2], [2, 0, 1], [1, 1, 0, 2]], 3)  # tokens 0..2
    for blank in (0, 2, 3):  # the classes: the three labels and the blank, wherever it is
        scorer = NGramLabelLM(model, 4, blank)
        label = [k for k in range(4) if k != blank]  # token i is class label[i]
        for history in [(), (1,), (2, 0), (0, 2, 1)]:
            classes = tuple(label[i] for i in history)
            row = scorer(classes)
            assert len(row) == 4 and row[blank] == 0.0
            for i in range(3):
                assert row[label[i]] == pytest.approx(model.logprob(list(history), i), abs=1e-12)
    assert len(scorer.cache) == 4  # (), (1,), (2, 0) and (2, 1): order 3 reads the last two labels only


def test_wrong_language_models_and_weights_say_what_was_expected():
    logits = np.zeros((4, 1, 4))
    model = NGramLM(2).fit([[0, 1, 2, 3]], 4)
    with pytest.raises(ValueError, match=r"Expected an n-gram model over the 3 labels \(C = 4 classes without the "
                                         r"blank\), got one of vocabulary 4"):
        ctc_beam_decode(logits, lm=model, lm_weight=1.0)
    with pytest.raises(TypeError, match=r"Expected lm to be an NGramLM over the labels, a callable"):
        ctc_beam_decode(logits, lm="lm.arpa", lm_weight=1.0)
    with pytest.raises(ValueError, match=r"Expected a fitted model"):
        ctc_beam_decode(logits, lm=NGramLM(2), lm_weight=1.0)
    with pytest.raises(ValueError, match=r"Expected lm_weight"):
        ctc_beam_decode(logits, lm=model, lm_weight=-1.0)
    with pytest.raises(ValueError, match=r"Expected length_bonus to be finite"):
        ctc_beam_decode(logits, length_bonus=math.inf)
