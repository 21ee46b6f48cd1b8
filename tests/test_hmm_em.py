"""Baum-Welch: one EM step against expected counts by enumeration, a log-likelihood that never falls,
normalised tables, reproducibility from the seed, recovery of a known 2-state HMM from its samples,
a semi-supervised start, and the argument errors."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from rnnkit.hmm import HMMTagger
from rnnkit.hmm_em import baum_welch

# the generating HMM of the recovery test: state 0 mostly says a/b, state 1 mostly c/d
START = np.array([0.8, 0.2])
TRANS = np.array([[0.75, 0.2], [0.25, 0.65]])  # each row's rest is its end probability
END = np.array([0.05, 0.1])
EMIT = np.array([[0.55, 0.05], [0.35, 0.1], [0.05, 0.35], [0.05, 0.5]])  # (V, K) over a, b, c, d
VOCAB = ["a", "b", "c", "d"]


def sample(rng, start, trans, end, emit, vocab, count):
    """``count`` sentences drawn from a first-order HMM with an end state."""
    K = len(start)
    rows = np.hstack([trans, end[:, None]])  # (K, K+1)
    sentences = []
    for _ in range(count):
        t = rng.choice(K, p=start)
        words = []
        while t < K:
            words.append(vocab[rng.choice(len(vocab), p=emit[:, t])])
            t = rng.choice(K + 1, p=rows[t])
        sentences.append(words)
    return sentences


def tables(model):
    t = model.tables_
    return t["start"], t["transitions"], t["end"], t["emissions"]


def test_one_em_step_equals_expected_counts_by_enumeration():
    """From a given start, one iteration's tables are the posterior-weighted path counts, normalised."""
    rng = np.random.default_rng(3)
    K, words = 3, ["x", "y", "z"]
    start = rng.dirichlet(np.ones(K))
    rows = rng.dirichlet(np.ones(K + 1), size=K)
    emit = rng.dirichlet(np.ones(3), size=K).T  # (V, K)
    init = HMMTagger.from_probabilities(["P", "Q", "R"], start, rows[:, :K], words, emit, end=rows[:, K])
    data = [["x", "y", "y", "z"], ["z"], ["y", "x", "z"], ["x", "x"]]
    n_start, n_trans, n_end, n_emit = np.zeros(K), np.zeros((K, K)), np.zeros(K), np.zeros((3, K))
    for sentence in data:
        ids = [words.index(w) for w in sentence]
        joint = {}
        for path in itertools.product(range(K), repeat=len(ids)):
            p = start[path[0]] * rows[path[-1], K]
            for i, (v, t) in enumerate(zip(ids, path)):
                p *= emit[v, t] * (rows[path[i - 1], t] if i > 0 else 1.0)
            joint[path] = p
        total = sum(joint.values())
        for path, p in joint.items():
            w = p / total
            n_start[path[0]] += w
            n_end[path[-1]] += w
            for a, b in zip(path[:-1], path[1:]):
                n_trans[a, b] += w
            for v, t in zip(ids, path):
                n_emit[v, t] += w
    used = n_emit.sum(axis=0)
    model, history = baum_welch(data, K, None, max_iter=1, tol=0.0, init=init)
    got = tables(model)
    want = (n_start / len(data), n_trans / used[:, None], n_end / used, n_emit / used)
    for name, g, w in zip(("start", "transitions", "end", "emissions"), got, want):
        diff = np.max(np.abs(g - w))
        assert diff < 1e-12, f"{name}: max abs difference {diff:.3e}"
    l0 = sum(init.log_likelihood(s) for s in data)
    assert abs(history[0] - l0) < 1e-10 and len(history) == 2


def test_log_likelihood_never_falls_and_tables_stay_normalised():
    data = sample(np.random.default_rng(0), START, TRANS, END, EMIT, VOCAB, 60)
    model, history = baum_welch(data, 3, np.random.default_rng(1), max_iter=40, tol=0.0)
    steps = np.diff(history)
    worst = steps.min()
    assert worst >= -1e-9 * abs(history[0]), f"log-likelihood fell by {-worst:.3e} in one iteration"
    assert history[-1] > history[0] + 10.0, f"EM hardly moved: {history[0]} -> {history[-1]}"
    start, trans, end, emit = tables(model)
    assert abs(start.sum() - 1.0) < 1e-12
    assert np.max(np.abs(trans.sum(axis=1) + end - 1.0)) < 1e-12
    assert np.max(np.abs(emit.sum(axis=0) - 1.0)) < 1e-12
    assert min(start.min(), trans.min(), end.min(), emit.min()) >= 0.0
    # the history's last entry is the returned model's likelihood of the data
    final = sum(model.log_likelihood(s) for s in data)
    assert abs(final - history[-1]) < 1e-9 * abs(final), f"model's L {final} != history's {history[-1]}"
    assert model.tags_ == ["S0", "S1", "S2"] and len(model.predict(data[:2])) == 2


def test_same_seed_same_result_and_another_seed_differs():
    data = sample(np.random.default_rng(5), START, TRANS, END, EMIT, VOCAB, 30)
    a, ha = baum_welch(data, 2, np.random.default_rng(11), max_iter=15)
    b, hb = baum_welch(data, 2, np.random.default_rng(11), max_iter=15)
    c, hc = baum_welch(data, 2, np.random.default_rng(12), max_iter=15)
    assert ha == hb
    assert all(np.array_equal(x, y) for x, y in zip(tables(a), tables(b)))
    assert ha[0] != hc[0]


def test_recovers_a_known_two_state_hmm_from_its_samples():
    data = sample(np.random.default_rng(2024), START, TRANS, END, EMIT, VOCAB, 800)
    truth = HMMTagger.from_probabilities(["A", "B"], START, TRANS, VOCAB, EMIT, end=END)
    true_ll = sum(truth.log_likelihood(s) for s in data)
    model, history = baum_welch(data, 2, np.random.default_rng(0), max_iter=500, tol=1e-7)
    assert len(history) < 501, "did not converge"
    # maximum likelihood: at least as likely as the generating parameters, far above its random start
    assert history[-1] >= true_ll - 1e-6, f"EM's L {history[-1]} below the truth's {true_ll}"
    assert history[-1] > history[0] + 100.0
    start, trans, end, emit = tables(model)
    order = [model.vocab_[w] for w in VOCAB]
    emit = emit[order]
    errors = []
    for perm in ([0, 1], [1, 0]):  # states are found up to a relabelling
        p = np.array(perm)
        errors.append(max(np.max(np.abs(start[p] - START)), np.max(np.abs(trans[np.ix_(p, p)] - TRANS)),
                          np.max(np.abs(end[p] - END)), np.max(np.abs(emit[:, p] - EMIT))))
    assert min(errors) < 0.05, f"largest parameter error {min(errors):.3f} (truth {START}, {TRANS}, {EMIT.T})"


def test_semi_supervised_start_keeps_tags_and_scheme():
    chars = [list("我们爱北京"), list("他爱北京"), list("北京大学很大"), list("我在北京")]
    tags = [list("BEBSE"), list("SSBE"), list("BEBESS"), list("SSBE")]
    init = HMMTagger(order=2, scheme="bmes").fit(chars, tags)
    unlabelled = chars + [list("我们在大学"), list("他很好")]  # 好: unknown to init
    model, history = baum_welch(unlabelled, len(init.tags_), None, max_iter=10, init=init)
    assert model.tags_ == init.tags_ and model.scheme == "bmes"
    assert np.all(np.diff(history) >= -1e-9 * abs(history[0]))
    start, trans, end, _ = tables(model)
    B, E = init.tags_.index("B"), init.tags_.index("E")
    assert start[E] == 0.0 and trans[B, B] == 0.0 and end[B] == 0.0, "EM made a forbidden move possible"
    assert model.predict([list("他爱北京")]) == [list("SSBE")]


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_states"):
        baum_welch([["a"]], 0, rng)
    with pytest.raises(ValueError, match="n_states"):
        baum_welch([["a"]], 2.5, rng)
    with pytest.raises(ValueError, match="at least one sentence"):
        baum_welch([], 2, rng)
    with pytest.raises(ValueError, match="empty sentence 1"):
        baum_welch([["a"], []], 2, rng)
    with pytest.raises(TypeError, match="list of lists"):
        baum_welch("a b c", 2, rng)
    with pytest.raises(TypeError, match="sentence 0"):
        baum_welch(["a b c"], 2, rng)
    with pytest.raises(TypeError, match="strings"):
        baum_welch([["a", 3]], 2, rng)
    with pytest.raises(TypeError, match="Generator"):
        baum_welch([["a"]], 2, 42)
    with pytest.raises(ValueError, match="tol"):
        baum_welch([["a"]], 2, rng, tol=-1.0)
    with pytest.raises(ValueError, match="order=2"):
        baum_welch([["a"]], 2, None, init=HMMTagger(order=3).fit([["a", "b"]], [["X", "Y"]]))
    with pytest.raises(ValueError, match="n_states"):
        baum_welch([["a"]], 3, None, init=HMMTagger(order=2).fit([["a", "b"]], [["X", "Y"]]))


def test_a_single_state_is_the_unigram_model():
    data = [["a", "b", "a"], ["c"], ["a", "a"]]
    model, history = baum_welch(data, 1, np.random.default_rng(0), max_iter=5)
    start, trans, end, emit = tables(model)
    counts = {"a": 4, "b": 1, "c": 1}
    for w, c in counts.items():
        assert abs(emit[model.vocab_[w], 0] - c / 6) < 1e-12
    assert abs(end[0] - 3 / 6) < 1e-12 and abs(trans[0, 0] - 3 / 6) < 1e-12
    # 6 words, and 3 transitions and 3 ends, each 1/2
    want = sum(math.log(counts[w] / 6) for s in data for w in s) + 6 * math.log(0.5)
    assert abs(history[-1] - want) < 1e-9
