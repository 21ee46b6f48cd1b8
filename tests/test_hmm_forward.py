"""HMM forward algorithm and forward-backward: log P(w) and P(t_i | w) against the sum over every tag
path (K^n of them), against products of a hand-built model's tables, and against a plain log-space
recursion on 2,000-word sentences (no underflow)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from rnnkit.hmm import HMMTagger
from rnnkit.hmm_forward import backward, forward, forward_backward, pair_posteriors

TAGS = ["D", "N", "V"]
WORDS = ["the", "dog", "fish", "barks"]
START = np.array([0.6, 0.3, 0.1])
TRANS = np.array([[0.0, 0.9, 0.05], [0.1, 0.3, 0.3], [0.4, 0.3, 0.1]])
END = np.array([0.05, 0.3, 0.2])
EMIT = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.4, 0.3], [0.0, 0.1, 0.7]])  # (V, K)

CORPUS = [("the dog barks", "D N V"), ("the dogs bark loudly", "D N V R"),
          ("a dog chased the cat", "D N V D N"), ("the cat sleeps", "D N V"),
          ("a cat sees the dogs", "D N V D N"), ("dogs bark", "N V"), ("cats sleep", "N V"), ("dogs sleep", "N V"),
          ("the big dog barks", "D A N V"), ("a big cat sleeps", "D A N V"), ("big dogs bark loudly", "A N V R")]
BMES = [("我们爱北京", "BEBSE"), ("他爱北京", "SSBE"), ("北京大学很大", "BEBESS"), ("我在北京", "SSBE")]


def toy(bmes=False):
    data = BMES if bmes else CORPUS
    if bmes:
        return [list(s) for s, _ in data], [list(t) for _, t in data]
    return [s.split() for s, _ in data], [t.split() for _, t in data]


def all_paths(log_trans, log_emit):
    """(path, log P(w, path)) for every tag path, straight from the model definition: the tables with
    the boundary index K for BOS (in the context) and EOS (as the outcome)."""
    n, K = log_emit.shape
    order = log_trans.ndim
    for path in itertools.product(range(K), repeat=n):
        states = [K] * (order - 1) + list(path) + [K]
        score = sum(log_emit[i, t] for i, t in enumerate(path))
        for i in range(order - 1, len(states)):
            score += log_trans[tuple(states[i - order + 1: i + 1])]
        yield path, score


def brute_force(log_trans, log_emit):
    """log P(w) = log sum_t P(w, t) and the marginals P(t_i = k | w), by enumeration."""
    n, K = log_emit.shape
    paths = list(all_paths(log_trans, log_emit))
    scores = np.array([s for _, s in paths])
    top = scores.max()
    if top == -np.inf:
        return -np.inf, None, top
    log_p = top + math.log(np.exp(scores - top).sum())
    marginals = np.zeros((n, K))
    for (path, _), weight in zip(paths, np.exp(scores - log_p)):
        marginals[np.arange(n), list(path)] += weight
    return log_p, marginals, top


def log_space_forward(log_trans, log_emit):
    """A plain log-sum-exp forward recursion (no scaling), the independent check for long sentences."""
    n, K = log_emit.shape
    if log_trans.ndim == 2:
        a = log_trans[K, :K] + log_emit[0]
        for i in range(1, n):
            a = np.logaddexp.reduce(a[:, None] + log_trans[:K, :K], axis=0) + log_emit[i]
        return float(np.logaddexp.reduce(a + log_trans[:K, K]))
    a = np.full((K + 1, K), -np.inf)
    a[K] = log_trans[K, K, :K] + log_emit[0]
    for i in range(1, n):
        new = np.logaddexp.reduce(a[:, :, None] + log_trans[:, :K, :K], axis=0) + log_emit[i]
        a = np.full((K + 1, K), -np.inf)
        a[:K] = new
    return float(np.logaddexp.reduce((a + log_trans[:, :K, K]).ravel()))


def random_tables(rng, K, order, forbid=0.0):
    logs = np.log(rng.dirichlet(np.ones(K + 1), size=(K + 1,) * (order - 1)))
    logs[rng.random(logs.shape) < forbid] = -np.inf
    return logs


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("forbid", [0.0, 0.3])
def test_forward_and_posteriors_equal_enumeration_on_random_hmms(order, forbid):
    rng = np.random.default_rng(7 * order + int(10 * forbid))
    checked = 0
    for _ in range(15):
        K = int(rng.integers(2, 4))
        n = int(rng.integers(1, 6))
        log_trans = random_tables(rng, K, order, forbid)
        log_emit = rng.normal(0.0, 3.0, size=(n, K))  # scores above 0 too, as unknown words' are
        want, marginals, best = brute_force(log_trans, log_emit)
        got, _ = forward(log_trans, log_emit)
        if want == -np.inf:
            assert got == -np.inf, f"no possible path, yet forward gives {got}"
            continue
        assert abs(got - want) < 1e-10, f"order {order}: log P(w) differs by {abs(got - want):.3e}"
        gamma, ll = forward_backward(log_trans, log_emit)
        assert ll == got
        _, cache = forward(log_trans, log_emit)
        joint = (cache.alpha * backward(cache)).reshape(n, -1)  # the scaled variables' product is the posterior
        assert np.max(np.abs(joint.sum(axis=1) - 1.0)) < 1e-12, "alpha_i beta_i does not sum to 1"
        diff = np.max(np.abs(gamma - marginals))
        assert diff < 1e-10, f"order {order}: posteriors differ by {diff:.3e}"
        assert np.max(np.abs(gamma.sum(axis=1) - 1.0)) < 1e-12
        checked += 1
    assert checked >= 10



@pytest.mark.parametrize("order", [2, 3])
def test_pair_posteriors_equal_enumeration(order):
    """xi[i-1, j, k] = P(t_{i-1} = j, t_i = k | w): the weight of every path through j then k, summed."""
    rng = np.random.default_rng(11 + order)
    checked = 0
    for _ in range(30):
        K = int(rng.integers(2, 4))
        n = int(rng.integers(1, 6))
        log_trans = random_tables(rng, K, order, 0.3)
        log_emit = rng.normal(0.0, 3.0, size=(n, K))
        want, _, _ = brute_force(log_trans, log_emit)
        _, cache = forward(log_trans, log_emit)
        if want == -np.inf:
            with pytest.raises(ValueError):
                pair_posteriors(cache, backward(cache))
            continue
        pairs = np.zeros((n - 1, K, K))
        for path, score in all_paths(log_trans, log_emit):
            for i in range(1, n):
                pairs[i - 1, path[i - 1], path[i]] += math.exp(score - want)
        got = pair_posteriors(cache, backward(cache))
        assert got.shape == (n - 1, K, K)
        diff = np.max(np.abs(got - pairs)) if n > 1 else 0.0
        assert diff < 1e-10, f"order {order}, n {n}: pair posteriors differ by {diff:.3e}"
        checked += n > 1
    assert checked >= 12

MODELS = [dict(order=2, emission="ml"), dict(order=3, emission="ml"), dict(order=2, emission="add_k", k=0.5),
          dict(order=3, emission="witten_bell"), dict(order=2, scheme="bmes"), dict(order=3, scheme="bmes")]


@pytest.mark.parametrize("config", MODELS, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_trained_tagger_likelihood_posteriors_and_viterbi_agree_with_enumeration(config):
    bmes = config.get("scheme") == "bmes"
    model = HMMTagger(**config).fit(*toy(bmes))
    if config["order"] == 3:  # a real trigram model: P(t3 | t1, t2) depends on t1 (deleted interpolation's l3 > 0)
        trans = np.exp(model.log_trans_)
        assert np.abs(trans[:-1] - trans[:1]).max() > 0.01
    if bmes:
        tests = [list("我们爱大学"), list("北京很好"), list("他"), list("天天")]  # 好, 天: unknown
    else:
        tests = [["the", "cat", "barks"], ["a", "big", "hamster", "sleeps", "loudly"], ["Dogs", "chased", "the", "cat"]]
    for sentence in tests:
        log_emit = model._emission_scores(sentence, {})  # the scores Viterbi uses, unknown words too
        want, marginals, best = brute_force(model.log_trans_, log_emit)
        tags, viterbi_score = model.tag_with_score(sentence)
        # the enumeration reads the model as Viterbi does: its best path is Viterbi's
        assert abs(viterbi_score - best) < 1e-10, f"{sentence}: Viterbi {viterbi_score} != enumeration {best}"
        got = model.log_likelihood(sentence)
        assert abs(got - want) < 1e-10, f"{sentence}: log P(w) {got} != enumeration {want}"
        assert viterbi_score <= got + 1e-12, "one path cannot be more probable than all of them"
        gamma = model.posteriors(sentence)
        assert gamma.shape == (len(sentence), len(model.tags_))
        diff = np.max(np.abs(gamma - marginals))
        assert diff < 1e-10, f"{sentence}: posteriors differ by {diff:.3e}"
        assert model.tag_posterior(sentence) == [model.tags_[k] for k in marginals.argmax(axis=1)]


def test_scheme_constraints_remove_paths_from_the_sum():
    chars, tags = toy(bmes=True)
    free = HMMTagger(order=2).fit(chars, tags)
    constrained = HMMTagger(order=2, scheme="bmes").fit(chars, tags)
    sentence = list("北京大学")
    gamma = constrained.posteriors(sentence)
    B, E = constrained.tags_.index("B"), constrained.tags_.index("E")
    assert gamma[0, E] == 0.0 and gamma[-1, B] == 0.0, "E cannot open a sentence, B cannot close one"
    assert constrained.log_likelihood(sentence) < free.log_likelihood(sentence)


def test_hand_built_model_likelihood_is_the_sum_of_table_products():
    model = HMMTagger.from_probabilities(TAGS, START, TRANS, WORDS, EMIT, end=END)
    for sentence in (["the", "dog", "barks"], ["fish", "fish"], ["the", "fish", "barks", "fish"], ["dog"]):
        ids = [WORDS.index(w) for w in sentence]
        total = 0.0
        for path in itertools.product(range(3), repeat=len(ids)):
            p = START[path[0]] * END[path[-1]]
            for i, (v, t) in enumerate(zip(ids, path)):
                p *= EMIT[v, t] * (TRANS[path[i - 1], t] if i > 0 else 1.0)
            total += p
        got = model.log_likelihood(sentence)
        assert abs(got - math.log(total)) < 1e-12, f"{sentence}: {got} != log {total}"
    # the probabilities of all sentences of length n add up to P(length n) = START A^(n-1) END
    for n in (1, 2, 3):
        mass = sum(math.exp(model.log_likelihood([WORDS[v] for v in ids]))
                   for ids in itertools.product(range(4), repeat=n))
        want = START @ np.linalg.matrix_power(TRANS, n - 1) @ END
        assert abs(mass - want) < 1e-12, f"length {n}: total mass {mass} != {want}"


def test_no_end_factor_makes_each_length_a_distribution():
    trans = TRANS / TRANS.sum(axis=1, keepdims=True)
    model = HMMTagger.from_probabilities(TAGS, START, trans, WORDS, EMIT)
    mass = sum(math.exp(model.log_likelihood([WORDS[v] for v in ids])) for ids in itertools.product(range(4), repeat=3))
    assert abs(mass - 1.0) < 1e-12, f"sum over all 3-word sentences: {mass}"


@pytest.mark.parametrize("order", [2, 3])
def test_long_sentence_does_not_underflow(order):
    rng = np.random.default_rng(order)
    sentences, tags = toy()
    model = HMMTagger(order=order, emission="witten_bell").fit(sentences, tags)
    pool = sorted(model.vocab_) + ["hamsters", "Paris", "quickly"]  # known and unknown words
    sentence = list(rng.choice(pool, size=2000))
    got = model.log_likelihood(sentence)
    want = log_space_forward(model.log_trans_, model._emission_scores(sentence, {}))
    assert np.isfinite(got) and got < -2000, f"log P(w) of 2000 words: {got}"
    assert abs(got - want) < 1e-9 * abs(want), f"scaled {got} != log-space {want}"
    gamma = model.posteriors(sentence)
    assert np.all(np.isfinite(gamma)) and np.max(np.abs(gamma.sum(axis=1) - 1.0)) < 1e-12
    assert model.tag_with_score(sentence)[1] <= got


def test_empty_and_impossible_sentences():
    chars, tags = toy(bmes=True)
    model = HMMTagger(order=3, scheme="bmes").fit(chars, tags)
    assert model.log_likelihood([]) == model.log_trans_[-1, -1, -1]
    assert model.posteriors([]).shape == (0, len(model.tags_))
    # "们" was only seen as E, which cannot be a whole sentence: probability 0
    assert model.log_likelihood(["们"]) == -np.inf
    with pytest.raises(ValueError, match="non-zero probability"):
        model.posteriors(["们"])


def test_bad_input():
    with pytest.raises(ValueError, match="fitted"):
        HMMTagger().log_likelihood(["a"])
    model = HMMTagger(order=2).fit(*toy())
    with pytest.raises(TypeError, match="list of words"):
        model.posteriors("the dog barks")
    with pytest.raises(TypeError, match="strings"):
        model.log_likelihood(["the", 7])
    with pytest.raises(ValueError, match="log_trans"):
        forward(np.zeros((3, 4)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="log_emit"):
        forward(np.zeros((3, 3)), np.zeros((2, 3)))
