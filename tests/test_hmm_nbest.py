"""HMM n-best (list Viterbi) and window (span) probabilities against enumeration of every tag path (K^n of
them), on random tables of both orders and on small HMMs trained on a made-up corpus, unknown words included."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from rnnkit.data.spans import spans as read_spans
from rnnkit.hmm import HMMTagger
from rnnkit.hmm_forward import backward, forward, window_probability
from rnnkit.hmm_nbest import hmm_nbest
from rnnkit.tagging.confidence import _SpanReader


def enumerate_paths(log_trans, log_emit):
    """[(path, log P(path | w))] of every path with P(w, path) > 0, most probable first, from the model's
    definition: the tables with index K for BOS (as context) and EOS (as outcome); [] when P(w) = 0."""
    n, K = log_emit.shape
    order = log_trans.ndim
    scored = []
    for path in itertools.product(range(K), repeat=n):
        states = [K] * (order - 1) + list(path) + [K]
        score = sum(log_emit[i, t] for i, t in enumerate(path))
        score += sum(log_trans[tuple(states[i - order + 1: i + 1])] for i in range(order - 1, len(states)))
        if score > -np.inf:
            scored.append((list(path), score))
    if not scored:
        return []
    log_z = np.logaddexp.reduce([s for _, s in scored])
    return sorted(((p, s - log_z) for p, s in scored), key=lambda item: -item[1])


def check_nbest(got, want, where):
    """``got`` (hmm_nbest's) is a best-first list of distinct paths whose log-probabilities are their
    enumerated ones and are the top of the enumeration's (ties may come in any order)."""
    exact = {tuple(p): lp for p, lp in want}
    paths = [tuple(p) for p, _ in got]
    assert len(set(paths)) == len(paths), f"{where}: a path twice"
    for path, lp in got:
        assert abs(lp - exact[tuple(path)]) < 1e-10, f"{where}: {path} log p {lp} != {exact[tuple(path)]}"
    got_lp = np.array([lp for _, lp in got])
    want_lp = np.array([lp for _, lp in want[: len(got)]])
    assert np.all(np.diff(got_lp) <= 1e-12), f"{where}: not best first"
    assert np.max(np.abs(got_lp - want_lp), initial=0.0) < 1e-10, f"{where}: not the top {len(got)}"


def random_tables(rng, K, order, forbid):
    logs = np.log(rng.dirichlet(np.ones(K + 1), size=(K + 1,) * (order - 1)))
    logs[rng.random(logs.shape) < forbid] = -np.inf  # a scheme's forbidden moves, unseen transitions
    return logs


@pytest.mark.parametrize("order", [2, 3])
def test_nbest_and_windows_equal_enumeration_on_random_tables(order, monkeypatch):
    rng = np.random.default_rng(order)
    checked = impossible = 0
    for trial in range(40):
        K = int(rng.integers(1, 5))
        n = int(rng.integers(1, 6))
        log_trans = random_tables(rng, K, order, forbid=0.3 * (trial % 2))
        log_emit = rng.normal(0.0, 2.0, size=(n, K))  # above 0 too, as unknown words' scores are
        log_emit[rng.random((n, K)) < 0.2] = -np.inf  # a known word never seen with the tag ("ml")
        want = enumerate_paths(log_trans, log_emit)
        if not want:
            assert hmm_nbest(log_trans, log_emit, 5) == []
            impossible += 1
            continue
        every = hmm_nbest(log_trans, log_emit, K**n)  # all of them: the probabilities sum to 1
        assert len(every) == len(want), f"{len(every)} paths found, {len(want)} have P > 0"
        assert abs(sum(math.exp(lp) for _, lp in every) - 1.0) < 1e-10
        check_nbest(every, want, f"trial {trial}, all")
        assert hmm_nbest(log_trans, log_emit, 10**12) == every  # capped at K^n: no 10^12-wide tables
        for top in (1, 3):
            check_nbest(hmm_nbest(log_trans, log_emit, top), want, f"trial {trial}, top {top}")
        # one step's candidates a tag at a time (the memory cap), and selected by argpartition rather than
        # by passes of argmax: the same paths, bit for bit
        with monkeypatch.context() as m:
            m.setattr("rnnkit.hmm_nbest.CHUNK_BYTES", 1)
            m.setattr("rnnkit.crf_nbest.FEW", 0)
            other = hmm_nbest(log_trans, log_emit, 4)
        assert other == hmm_nbest(log_trans, log_emit, 4)
        # a window of random allowed (previous tag, tag) pairs: the sum of the paths that keep to them
        _, cache = forward(log_trans, log_emit)
        beta = backward(cache)
        for _ in range(3):
            first = int(rng.integers(0, n))
            m_steps = int(rng.integers(1, n - first + 1))
            allowed = rng.random((m_steps, K + 1, K)) < 0.6
            exact = sum(math.exp(lp) for p, lp in want
                        if all(allowed[j, ([K] + p)[first + j], p[first + j]] for j in range(m_steps)))
            got = window_probability(cache, beta, first, allowed)
            assert abs(got - exact) < 1e-12, f"trial {trial}: window {first}+{m_steps}: {got} != {exact}"
        assert abs(window_probability(cache, beta, 0, np.ones((n, K + 1, K), dtype=bool)) - 1.0) < 1e-12
        checked += 1
    assert checked >= 25 and impossible >= 1, (checked, impossible)


TAGS = ["B-LOC", "B-PER", "I-PER", "O"]
# tag -> words it emits; "lee", "paris", "jordan" and "in" are ambiguous
VOCAB = {"B-LOC": ["paris", "jordan", "lee"], "B-PER": ["ann", "jordan", "paris"], "I-PER": ["lee", "smith", "Jordan"],
         "O": ["in", "saw", "the", "lives", "in"]}
RARE = {"B-LOC": ["rome", "oslo", "lima", "Kyiv"], "B-PER": ["bob", "eve", "Carl", "dora"],
        "I-PER": ["jones", "brown", "Young", "ito"], "O": ["ran", "sees", "at", "ate", "Then"]}  # for the suffix model
NEXT = {"<s>": ["B-PER", "O", "B-LOC"], "B-PER": ["I-PER", "O", "O", "B-LOC"], "I-PER": ["O", "I-PER", "B-LOC"],
        "O": ["O", "B-LOC", "B-PER"], "B-LOC": ["O", "B-PER"]}


def made_up_corpus(rng, size=60):
    """Random-ish BIO sentences of 1-6 words over a few ambiguous words and some rare ones."""
    sentences, tags = [], []
    for _ in range(size):
        prev, words, labels = "<s>", [], []
        for _ in range(int(rng.integers(1, 7))):
            prev = NEXT[prev][int(rng.integers(len(NEXT[prev])))]
            labels.append(prev)
            pool = RARE[prev] if rng.random() < 0.25 else VOCAB[prev]
            words.append(pool[int(rng.integers(len(pool)))])
        sentences.append(words)
        tags.append(labels)
    return sentences, tags


TESTS = [["ann"], ["paris", "lee"], ["ann", "lee", "lives", "in", "paris"], ["zed", "Quux", "saw"],
         ["the", "jordan", "Smithers", "in", "berlin"], ["lee", "lee", "lee", "in"], ["smith"]]
MODELS = [dict(order=2), dict(order=3), dict(order=2, emission="add_k", k=0.5), dict(order=3, emission="witten_bell"),
          dict(order=2, scheme="bio"), dict(order=3, scheme="bio"), dict(order=3, emission="add_k", scheme="bio")]


@pytest.mark.parametrize("config", MODELS, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_trained_hmm_nbest_and_span_probabilities_equal_enumeration(config):
    model = HMMTagger(**config).fit(*made_up_corpus(np.random.default_rng(5)))
    assert model.tags_ == TAGS and "zed" not in model.vocab_ and "smith" in model.vocab_
    reader = _SpanReader(model.tags_, "bio")
    spans_checked = 0
    for sentence in TESTS:
        log_trans, log_emit = model._scores(sentence)  # Viterbi's scores, the suffix model's for unknown words
        want = enumerate_paths(log_trans, log_emit)
        if not want:  # "smith" (only ever I-PER) cannot open a BIO sentence
            assert config.get("scheme") == "bio" and model.nbest(sentence, 3) == []
            continue
        n, K = log_emit.shape
        every = model.nbest(sentence, K**n)
        probs = [p for _, p in every]
        assert len(every) == len(want) and abs(sum(probs) - 1.0) < 1e-10
        assert all(a >= b for a, b in zip(probs, probs[1:])), f"{sentence}: not best first"
        for (tags, p), (path, lp) in zip(every, want):
            assert abs(p - math.exp(lp)) < 1e-10, f"{sentence}: {tags} {p} != {math.exp(lp)}"
        exact = {tuple(model.tags_[i] for i in path): math.exp(lp) for path, lp in want}
        assert all(abs(p - exact[tuple(tags)]) < 1e-10 for tags, p in every)
        assert every[0][0] == model.predict([sentence])[0] or abs(every[0][1] - every[1][1]) < 1e-12
        assert model.nbest(sentence, 2) == every[:2] or abs(every[1][1] - every[2][1]) < 1e-12
        # every span any path holds: its window probability is the sum of the paths that read as holding it
        _, cache = forward(log_trans, log_emit)
        beta = backward(cache)
        held: dict[tuple, float] = {}
        for tags, p in every:
            for span in read_spans(tags, "iob2"):
                held[span] = held.get(span, 0.0) + p
        for (kind, a, b), p in held.items():
            got = window_probability(cache, beta, a, reader.pair_masks(kind, a, b, n))
            assert abs(got - p) < 1e-10, f"{sentence}: span {kind} {a}:{b} {got} != {p}"
            spans_checked += 1
    assert spans_checked >= 10  # 13 for ml with bio (few paths survive), 59 for add_k


@pytest.mark.parametrize("order", [2, 3])
def test_long_sentence_best_path_is_viterbis_with_its_probability(order):
    model = HMMTagger(order=order, emission="witten_bell").fit(*made_up_corpus(np.random.default_rng(1)))
    rng = np.random.default_rng(order)
    sentence = list(rng.choice(sorted(model.vocab_) + ["zed", "Quux"], size=300))
    best = model.nbest(sentence, 4)
    tags, score = model.tag_with_score(sentence)
    ll = model.log_likelihood(sentence)
    assert len(best) == 4 and best[0][0] == tags
    assert abs(best[0][1] - math.exp(score - ll)) < 1e-9 * best[0][1] and best[0][1] > 0
    assert best[0][1] >= best[1][1] >= best[2][1] >= best[3][1] > 0


def test_empty_sentence_bad_n_and_bad_windows():
    model = HMMTagger(order=3).fit(*made_up_corpus(np.random.default_rng(2)))
    assert model.nbest([], 3) == [([], 1.0)]
    with pytest.raises(ValueError, match="n"):
        model.nbest(["ann"], 0)
    _, cache = forward(*model._scores(["ann", "lee"]))
    beta = backward(cache)
    with pytest.raises(ValueError, match="allowed of shape"):
        window_probability(cache, beta, 1, np.ones((2, 5, 4), dtype=bool))  # words 1..2 of 2


def test_the_empty_sentence_has_one_certain_path_even_of_probability_zero():
    """No words, one tag sequence, the empty one: P = 1 given the sentence, as predict gives it [], even
    where the model gives the empty sentence P(EOS | BOS) = 0 (every hand-built one; a trained one whose
    sentences all end after a tag it never starts with)."""
    model = HMMTagger.from_probabilities(["A", "B"], [0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], ["x"], [[1.0, 1.0]])
    assert model.log_likelihood([]) == -np.inf and model.predict([[]]) == [[]]
    assert model.nbest([], 3) == [([], 1.0)]
    assert model.posteriors([]).shape == (0, 2) and model.pair_posteriors([]).shape == (0, 2, 2)
    for order in (2, 3):
        tables = random_tables(np.random.default_rng(order), 3, order, 0.0)
        tables[(3,) * order] = -np.inf  # P(EOS | BOS) = 0
        assert hmm_nbest(tables, np.zeros((0, 3)), 2) == [([], 0.0)]


@pytest.mark.parametrize("order", [2, 3])
def test_nbest_refuses_more_back_pointers_than_allowed_for_one_sentence(order, monkeypatch):
    """Back-pointers per sentence are bounded (T K n int32s, T K (K+1) n for the second order: 45 tags,
    50 words and n = 1000 once asked for 414 MB): an n over MAX_BACK_BYTES is refused, naming the largest
    n that fits, and that n runs."""
    rng = np.random.default_rng(order)
    K, T = 3, 6
    log_trans, log_emit = random_tables(rng, K, order, 0.0), np.log(rng.random((T, K)))
    per_rank = T * K * ((K + 1) if order == 3 else 1)
    monkeypatch.setattr("rnnkit.crf_nbest.MAX_BACK_BYTES", 4 * per_rank * 40)
    assert len(hmm_nbest(log_trans, log_emit, 40)) == 40
    with pytest.raises(ValueError, match=r"41 best paths of a 6-word sentence over 3 tags.* at most 40 "):
        hmm_nbest(log_trans, log_emit, 41)
