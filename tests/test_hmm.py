"""HMM tagger: Viterbi by hand and by enumeration, TnT estimates from hand counts, the suffix model
for unknown words, constrained BMES segmentation, and a JSON save/load round trip."""
from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.constraints import allowed_transitions, is_allowed
from rnnkit.data.segmentation import tags_to_words, words_to_tags
from rnnkit.errors import DataError
from rnnkit.hmm import HMMTagger
from rnnkit.hmm_viterbi import viterbi_first_order, viterbi_second_order
from rnnkit.suffix_model import SuffixModel

TAGS = ["D", "N", "V"]
WORDS = ["the", "dog", "fish", "barks"]
START = np.array([0.6, 0.3, 0.1])
TRANS = np.array([[0.0, 0.9, 0.05],  # from D; the rest of each row is its end probability
                  [0.1, 0.3, 0.3],
                  [0.4, 0.3, 0.1]])
END = np.array([0.05, 0.3, 0.2])
EMIT = np.array([[1.0, 0.0, 0.0],  # the: only D
                 [0.0, 0.5, 0.0],  # dog: only N
                 [0.0, 0.4, 0.3],  # fish
                 [0.0, 0.1, 0.7]])  # barks

# Toy sentences with their Viterbi paths and probabilities worked out by hand (delta tables in the
# comments: delta[i][tag], argmax pointer in brackets).
HAND = [
    # the: D .6 | dog: N .6*.9*.5 = .27 [D] | barks: N .27*.3*.1 = .0081 [N], V .27*.3*.7 = .0567 [N]
    # end: N .0081*.3 = .00243, V .0567*.2 = .01134  -> D N V
    (["the", "dog", "barks"], ["D", "N", "V"], 0.6 * 1.0 * 0.9 * 0.5 * 0.3 * 0.7 * 0.2),
    # fish: N .3*.4 = .12, V .1*.3 = .03 | fish: N max(.12*.3, .03*.3)*.4 = .0144 [N],
    # V max(.12*.3, .03*.1)*.3 = .0108 [N] | end: N .0144*.3 = .00432, V .0108*.2 = .00216 -> N N
    (["fish", "fish"], ["N", "N"], 0.3 * 0.4 * 0.3 * 0.4 * 0.3),
    # the: D .6 | fish: N .216 [D], V .6*.05*.3 = .009 [D] | barks: N .0648*.1 = .00648 [N],
    # V .0648*.7 = .04536 [N] | fish: N max(.00648*.3, .04536*.3)*.4 = .0054432 [V],
    # V max(.00648*.3, .04536*.1)*.3 = .0013608 [V] | end: N .00163296, V .00027216 -> D N V N
    (["the", "fish", "barks", "fish"], ["D", "N", "V", "N"], 0.6 * 1.0 * 0.9 * 0.4 * 0.3 * 0.7 * 0.3 * 0.4 * 0.3),
    # dog: N .3*.5 = .15, end .15*.3 = .045 (D and V cannot emit dog)
    (["dog"], ["N"], 0.3 * 0.5 * 0.3),
]


def hand_model(**kwargs):
    return HMMTagger.from_probabilities(TAGS, START, TRANS, WORDS, EMIT, end=END, **kwargs)


@pytest.mark.parametrize("sentence,expected,probability", HAND)
def test_viterbi_path_and_probability_by_hand(sentence, expected, probability):
    tags, log_p = hand_model().tag_with_score(sentence)
    assert tags == expected, f"{sentence}: tagger {tags}, hand {expected}"
    diff = abs(log_p - math.log(probability))
    assert diff < 1e-12, f"log probability: max abs difference {diff:.3e}"


def random_tables(rng, K, order, forbid=0.0):
    """Random log tables of a K-tag HMM (order 2 or 3), with a fraction of moves forbidden."""
    probs = rng.dirichlet(np.ones(K + 1), size=(K + 1,) * (order - 1))
    logs = np.log(probs)
    logs[rng.random(logs.shape) < forbid] = -np.inf
    return logs


def enumerate_best(log_trans, log_emit, order):
    n, K = log_emit.shape
    best, best_score = None, -np.inf
    for path in itertools.product(range(K), repeat=n):
        states = [K] * (order - 1) + list(path) + [K]  # BOS ... EOS, both index K
        score = sum(log_emit[i, t] for i, t in enumerate(path))
        for i in range(order - 1, len(states)):
            score += log_trans[tuple(states[i - order + 1: i + 1])]
        if score > best_score:
            best, best_score = list(path), score
    return best, best_score


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("forbid", [0.0, 0.3])
def test_viterbi_equals_enumeration_on_random_hmms(order, forbid):
    rng = np.random.default_rng(order * 10 + int(forbid * 10))
    decode = viterbi_first_order if order == 2 else viterbi_second_order
    checked = 0
    for _ in range(12):
        K = int(rng.integers(2, 4))
        n = int(rng.integers(1, 6))
        log_trans = random_tables(rng, K, order, forbid)
        log_emit = np.log(rng.dirichlet(np.ones(K), size=n))  # (n, K)
        best, best_score = enumerate_best(log_trans, log_emit, order)
        if best is None:
            continue  # every path forbidden
        path, score = decode(log_trans, log_emit)
        assert path == best, f"order {order}: Viterbi {path} != enumeration {best}"
        assert abs(score - best_score) < 1e-10, f"score differs by {abs(score - best_score):.3e}"
        checked += 1
    assert checked >= 8


CORPUS = [
    ("the dog barks", "D N V"),
    ("the dogs bark loudly", "D N V R"),
    ("a dog chased the cat", "D N V D N"),
    ("the cat sleeps", "D N V"),
]


def toy_corpus():
    return [s.split() for s, _ in CORPUS], [t.split() for _, t in CORPUS]


def test_bigram_estimates_match_hand_counts():
    sentences, tags = toy_corpus()
    model = HMMTagger(order=2, emission="ml").fit(sentences, tags)
    K = len(model.tags_)
    padded = [["<s>"] + t + ["</s>"] for t in tags]
    uni = Counter(t for p in padded for t in p[1:])
    bi = Counter((a, b) for p in padded for a, b in zip(p[:-1], p[1:]))
    ctx = Counter(a for p in padded for a in p[:-1])
    N = sum(uni.values())
    votes = [0, 0]
    for (a, b), f in bi.items():
        est = [(uni[b] - 1) / (N - 1), (f - 1) / (ctx[a] - 1) if ctx[a] > 1 else 0.0]
        votes[0 if est[0] >= est[1] else 1] += f
    l1, l2 = votes[0] / sum(votes), votes[1] / sum(votes)
    names = model.tags_ + ["</s>"]
    for i, a in enumerate(model.tags_ + ["<s>"]):
        for j, b in enumerate(names):
            want = l1 * uni[b] / N + l2 * bi[(a, b)] / ctx[a]
            got = math.exp(model.log_trans_[i, j])
            assert abs(got - want) < 1e-12, f"P({b} | {a}): {got} != {want}"
    word_tag = Counter((w, t) for s, ts in zip(sentences, tags) for w, t in zip(s, ts))
    tag_count = Counter(t for ts in tags for t in ts)
    for (w, t), c in word_tag.items():
        got = math.exp(model.log_emit_[model.vocab_[w], model.tags_.index(t)])
        assert abs(got - c / tag_count[t]) < 1e-12, f"P({w} | {t}): {got} != {c / tag_count[t]}"
    assert K == 4
    assert model.predict([["the", "cat", "barks"]]) == [["D", "N", "V"]]


def test_trigram_rows_sum_to_one_and_tagger_learns_toy_corpus():
    sentences, tags = toy_corpus()
    for emission in ("ml", "add_k", "witten_bell"):
        model = HMMTagger(order=3, emission=emission).fit(sentences, tags)
        K = len(model.tags_)
        rows = np.exp(model.log_trans_).sum(axis=2)
        assert np.allclose(rows, 1.0), f"{emission}: transition rows sum to {rows.min()}..{rows.max()}"
        assert model.predict(sentences) == tags, f"{emission}: cannot reproduce its own training data"
        if emission != "ml":
            emitted = np.exp(model.log_emit_).sum(axis=0)  # (K,) known-word mass per tag
            assert np.all((emitted > 0) & (emitted < 1)), "smoothing must leave mass for unknown words"
        assert model.log_trans_.shape == (K + 1,) * 3


def test_suffix_model_successive_abstraction_by_hand():
    counts = {"running": np.array([0, 3]), "jumping": np.array([0, 1]), "king": np.array([2, 0]),
              "table": np.array([5, 0]), "the": np.array([40, 0])}
    model = SuffixModel(max_length=10, rare_threshold=5).fit(counts, K=2)
    corpus = np.array([47.0, 4.0]) / 51.0
    theta = np.std(corpus, ddof=1)
    assert abs(model.theta_ - theta) < 1e-15
    rare_prior = np.array([7.0, 4.0]) / 11.0  # "the" (40) is not rare
    p = rare_prior
    for suffix_counts in ([2, 4], [2, 4], [2, 4], [0, 1], [0, 1]):  # g ng ing ping mping; "omping" unseen
        estimate = np.array(suffix_counts, dtype=float) / sum(suffix_counts)
        p = (estimate + theta * p) / (1 + theta)
    got = model.distribution("stomping")
    assert np.max(np.abs(got - p)) < 1e-12, f"P(t | suffix) differs by {np.max(np.abs(got - p)):.3e}"
    unseen = model.distribution("xyz")
    assert np.max(np.abs(unseen - rare_prior)) < 1e-12, "no known suffix: the rare-word prior"


def test_unknown_words_get_a_distribution_that_sums_to_one():
    rng = np.random.default_rng(0)
    sentences, tags = toy_corpus()
    model = HMMTagger(order=3).fit(sentences * 3 + [["walking", "quickly"], ["Paris", "sleeps"]],
                                   tags * 3 + [["V", "R"], ["N", "V"]])
    letters = list("abcdefghijklmnopqrstuvwxyz")
    for word in ["barking", "Berlin", "zzz", "slowly", "x"] + ["".join(rng.choice(letters, 6)) for _ in range(20)]:
        p = model.suffix_model_.distribution(word)
        assert p.shape == (len(model.tags_),) and np.all(p >= 0), word
        assert abs(p.sum() - 1.0) < 1e-12, f"{word}: sums to {p.sum()}"
    r = model.tags_.index("R")
    assert np.argmax(model.suffix_model_.distribution("slowly")) == r, "-ly words look like R here"
    assert model.predict([["the", "hamster", "sleeps"]]) == [["D", "N", "V"]]


def segmented(lines):
    chars, tags = [], []
    for line in lines:
        c, t = words_to_tags(line.split())
        chars.append(c)
        tags.append(t)
    return chars, tags


SEGMENTED = ["我们 爱 北京 大学", "他 爱 北京", "大学 生 爱 我们", "北京 大学 很 大", "我 在 北京"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(list("我们爱北京大学生他很在好天")), min_size=1, max_size=9),
       st.sampled_from([2, 3]))
def test_bmes_segmentation_is_always_well_formed(chars, order):
    train_chars, train_tags = segmented(SEGMENTED)
    model = HMMTagger(order=order, scheme="bmes").fit(train_chars, train_tags)
    legal = allowed_transitions(model.tags_, "bmes")
    tags = model.predict([chars])[0]
    path = [model.tags_.index(t) for t in tags]
    assert is_allowed(path, *legal), f"illegal BMES sequence {tags}"
    assert words_to_tags(tags_to_words(chars, tags))[1] == tags


def test_bmes_segments_its_training_sentences():
    chars, tags = segmented(SEGMENTED)
    model = HMMTagger(order=3, scheme="bmes").fit(chars, tags)
    predicted = model.predict(chars)
    assert [tags_to_words(c, t) for c, t in zip(chars, predicted)] == [s.split() for s in SEGMENTED]
    # "们" was only ever seen as E: no legal path has non-zero probability, yet the answer is legal
    assert model.predict([["们"]]) == [["S"]]
    assert model.tag_with_score(["们"])[1] == -np.inf


@pytest.mark.parametrize("config", [dict(order=2, emission="add_k", k=0.5), dict(order=3, emission="witten_bell"),
                                    dict(order=3, emission="ml", scheme="bmes")])
def test_save_load_round_trip_gives_identical_predictions(tmp_path, config):
    if config.get("scheme") == "bmes":
        sentences, tags = segmented(SEGMENTED)
        test = [list("我们在大学很好"), list("天天")]
    else:
        sentences, tags = toy_corpus()
        test = [["the", "cat", "chased", "a", "hamster"], ["Dogs", "bark"], ["loudly"]]
    model = HMMTagger(**config).fit(sentences, tags)
    path = tmp_path / "model.json"
    model.save(path)
    loaded = HMMTagger.load(path)
    assert loaded.predict(test) == model.predict(test)
    for sentence in test:
        assert loaded.tag_with_score(sentence)[1] == model.tag_with_score(sentence)[1]
    assert json.loads(path.read_text(encoding="utf-8"))["config"]["order"] == config["order"]


def test_hand_built_model_round_trip(tmp_path):
    path = tmp_path / "hand.json"
    hand_model().save(path)
    loaded = HMMTagger.load(path)
    for sentence, expected, probability in HAND:
        tags, log_p = loaded.tag_with_score(sentence)
        assert tags == expected and log_p == hand_model().tag_with_score(sentence)[1]


def test_bad_files_and_arguments(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "rnnkit-hmm-tagger",\n "config": [1, 2\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.json, line \d+"):
        HMMTagger.load(bad)
    other = tmp_path / "other.json"
    other.write_text('{"format": "something-else"}', encoding="utf-8")
    with pytest.raises(DataError, match="format"):
        HMMTagger.load(other)
    with pytest.raises(ValueError, match="order"):
        HMMTagger(order=4).fit(*toy_corpus())
    with pytest.raises(ValueError, match="emission"):
        HMMTagger(emission="kneser").fit(*toy_corpus())
    with pytest.raises(ValueError, match="sentence 1"):
        HMMTagger().fit([["a"], ["b", "c"]], [["X"], ["Y"]])
    with pytest.raises(ValueError, match="unknown word 'cat'"):
        hand_model().predict([["the", "cat"]])
    with pytest.raises(ValueError, match="emissions"):
        HMMTagger.from_probabilities(TAGS, START, TRANS, WORDS, EMIT[:2])


@pytest.mark.parametrize("order", [2, 3])
def test_a_tag_sequence_never_seen_in_a_tiny_corpus_is_still_tagged(order):
    """Every training sentence is DET NOUN VERB, so deleted interpolation gives the unigram weight 0
    and NOUN -> end has probability 0: "the cat" had no path and tagging raised ValueError."""
    hmm = HMMTagger(order=order).fit([["the", "cat", "sees"], ["a", "dog", "barks"]],
                                     [["DET", "NOUN", "VERB"], ["DET", "NOUN", "VERB"]])
    tags, score = hmm.tag_with_score(["the", "cat"])
    assert tags == ["DET", "NOUN"] and score == -np.inf  # the best of the impossible paths
    assert hmm.predict([["a", "dog", "sees"]]) == [["DET", "NOUN", "VERB"]]
