"""Baum-Welch for part-of-speech induction: L never falls on random text, restarts recover a known HMM's
states (many-to-one far above the majority baseline), unknown words are tagged through the suffix model
of the expected counts, the model survives save and load, batching does not change the E-step, the
progress hook, and the memory estimate that refuses a K too large."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit import hmm_em
from rnnkit.hmm import HMMTagger
from rnnkit.hmm_em import baum_welch, baum_welch_restarts, check_memory, memory_estimate
from rnnkit.metrics.induction import induction_scores


def random_text(rng, n_sentences, vocab_size):
    """Sentences of uniformly random words: no structure for EM to find, L must still never fall."""
    return [[f"w{v}" for v in rng.integers(0, vocab_size, size=int(rng.integers(1, 9)))] for _ in range(n_sentences)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_likelihood_never_falls_on_random_text(seed):
    rng = np.random.default_rng(seed)
    data = random_text(rng, 80, 25)
    _, history = baum_welch(data, 4, np.random.default_rng(seed + 10), max_iter=60, tol=0.0)
    steps = np.diff(history)
    assert len(history) == 61
    assert steps.min() >= -1e-9 * abs(history[0]), f"L fell by {-steps.min():.3e} at iteration {steps.argmin() + 1}"
    assert history[-1] > history[0]


# a known HMM over three word classes: DET-like words, NOUN-like words ending in -ing or -ed (many, rare),
# and VERB-like words; D -> N -> V -> D ..., and N or V may end a sentence
STATES = ["D", "N", "V"]
START = np.array([0.9, 0.05, 0.05])
TRANS = np.array([[0.05, 0.9, 0.05], [0.1, 0.1, 0.5], [0.6, 0.2, 0.05]])  # each row's rest: the end
END = 1.0 - TRANS.sum(axis=1)


def known_hmm_text(rng, n_sentences):
    words = {"D": ["the", "a", "this", "that"], "N": [f"{s}{e}" for s in ("walk", "talk", "jump", "read", "sing",
                                                                           "cook", "play", "work") for e in ("ing",)],
             "V": ["sees", "likes", "takes", "makes", "gives"]}
    rows = np.hstack([TRANS, END[:, None]])
    sentences, states = [], []
    for _ in range(n_sentences):
        t = rng.choice(3, p=START)
        ws, ts = [], []
        while t < 3:
            ws.append(words[STATES[t]][rng.integers(len(words[STATES[t]]))])
            ts.append(STATES[t])
            t = rng.choice(4, p=rows[t])
        sentences.append(ws)
        states.append(ts)
    return sentences, states


def test_restarts_recover_the_states_of_a_known_hmm():
    sentences, gold = known_hmm_text(np.random.default_rng(7), 300)
    flat_gold = [t for s in gold for t in s]
    majority = max(flat_gold.count(t) for t in STATES) / len(flat_gold)
    rngs = [np.random.default_rng(s) for s in range(4)]
    model, history, finals = baum_welch_restarts(sentences, 3, rngs, max_iter=200, tol=1e-7)
    assert history[-1] == max(finals) and len(finals) == 4
    # higher than the random start it came from, and than any other random model
    random_model, random_history = baum_welch(sentences, 3, np.random.default_rng(99), max_iter=0)
    assert history[-1] > history[0] + 100 and history[-1] > random_history[0] + 100
    pred = [t for s in model.predict(sentences) for t in s]
    m = induction_scores(flat_gold, pred)
    assert m["many_to_one"] > majority + 0.3, f"many-to-one {m['many_to_one']:.3f}, majority {majority:.3f}"
    assert m["many_to_one"] > 0.95 and m["one_to_one"] > 0.95
    # the random model's tags are far worse: the gain is EM's
    rand = induction_scores(flat_gold, [t for s in random_model.predict(sentences) for t in s])
    assert rand["many_to_one"] < m["many_to_one"] - 0.2


def test_restarts_are_the_runs_of_baum_welch_with_their_generators():
    sentences, _ = known_hmm_text(np.random.default_rng(3), 60)
    model, history, finals = baum_welch_restarts(sentences, 3, [np.random.default_rng(s) for s in (5, 6, 7)],
                                                 max_iter=15, tol=0.0)
    alone = [baum_welch(sentences, 3, np.random.default_rng(s), max_iter=15, tol=0.0) for s in (5, 6, 7)]
    assert finals == [h[-1] for _, h in alone]
    best = int(np.argmax(finals))
    assert history == alone[best][1]
    assert model.predict(sentences) == alone[best][0].predict(sentences)


def test_on_iteration_sees_every_log_likelihood():
    data = random_text(np.random.default_rng(0), 20, 10)
    seen = []
    _, history = baum_welch(data, 3, np.random.default_rng(0), max_iter=5, tol=0.0,
                            on_iteration=lambda t, ll: seen.append((t, ll)))
    assert seen == list(enumerate(history))
    runs = []
    baum_welch_restarts(data, 3, [np.random.default_rng(0), np.random.default_rng(1)], max_iter=2, tol=0.0,
                        on_iteration=lambda r, t, ll: runs.append((r, t)))
    assert runs == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]


def test_unknown_words_are_tagged_by_their_endings():
    # "the", then a rare -ing word followed by "runs" or a rare -ed word followed by "sleeps" (or the end): the
    # follower tells the two classes apart, so EM with 5 states splits them (a local optimum short of that,
    # one state for both, is 143 nats worse: restarts find the split)
    rng = np.random.default_rng(0)
    stems = [f"st{i}" for i in range(60)]
    sentences = []
    for i in range(400):
        ending = ["ing", "ed"][i % 2]
        sentences.append(["the", f"{rng.choice(stems)}{ending}"] + ([{"ing": "runs", "ed": "sleeps"}[ending]]
                                                                     if i % 8 >= 2 else []))
    model, _, finals = baum_welch_restarts(sentences, 5, [np.random.default_rng(s) for s in range(6)], max_iter=200)
    tags = model.predict(sentences)
    # (a word seen only before the end has nothing to say which class it is in: those are left out)
    ing = {t[1] for s, t in zip(sentences, tags) if s[1].endswith("ing") and len(s) == 3}
    ed = {t[1] for s, t in zip(sentences, tags) if s[1].endswith("ed") and len(s) == 3}
    assert len(ing) == 1 and len(ed) == 1 and ing != ed, (ing, ed, finals)  # EM split the two classes
    # never seen, with nothing after them: the context ("the" _ EOS) is the same, only the ending differs
    got = model.predict([["the", "zzzing"], ["the", "qqqed"]])
    assert got[0][1] in ing and got[1][1] in ed
    assert np.isfinite(model.log_likelihood(["the", "zzzing"])) and model.posteriors(["the", "zzzing"]).shape == (2, 5)
    # the expected word-state counts the suffix model learns from add up to each word's count in the text
    counts = {}
    for w in (w for s in sentences for w in s):
        counts[w] = counts.get(w, 0) + 1
    assert all(model.word_tag_counts_[w].sum() == pytest.approx(c, abs=1e-9) for w, c in counts.items())


def test_unknown_words_of_a_model_built_from_tables():
    # two states with the same transitions; X says rare -ing words, Y rare -ed words, 6 each seen once
    words = [f"w{i}ing" for i in range(6)] + [f"w{i}ed" for i in range(6)]
    emit = np.zeros((12, 2))
    emit[:6, 0] = emit[6:, 1] = 1 / 6
    model = HMMTagger.from_probabilities(["X", "Y"], [0.5, 0.5], np.full((2, 2), 0.25), words, emit,
                                         end=[0.5, 0.5], state_counts=[6.0, 6.0])
    assert model.predict([["newing"], ["newed"], ["newing", "newed"]]) == [["X"], ["Y"], ["X", "Y"]]
    assert model.posteriors(["newing"])[0, 0] > 0.99


def test_hand_built_model_still_refuses_unknown_words_and_state_counts_are_checked():
    words = ["a", "b"]
    start, trans, emit = np.array([0.5, 0.5]), np.full((2, 2), 0.4), np.array([[0.7, 0.2], [0.3, 0.8]])
    plain = HMMTagger.from_probabilities(["X", "Y"], start, trans, words, emit, end=np.full(2, 0.2))
    with pytest.raises(ValueError, match="unknown word 'c'"):
        plain.predict([["a", "c"]])
    with pytest.raises(ValueError, match="state_counts as probabilities of shape"):
        HMMTagger.from_probabilities(["X", "Y"], start, trans, words, emit, end=np.full(2, 0.2), state_counts=[1.0])
    with pytest.raises(ValueError, match="positive total"):
        HMMTagger.from_probabilities(["X", "Y"], start, trans, words, emit, end=np.full(2, 0.2), state_counts=[0, 0])
    counted = HMMTagger.from_probabilities(["X", "Y"], start, trans, words, emit, end=np.full(2, 0.2),
                                           state_counts=[3.0, 5.0])
    assert len(counted.predict([["a", "c"]])[0]) == 2
    # "a": 0.7 x 3 + 0.2 x 5 = 3.1 expected tokens, scaled to the whole count 3 (a word is seen 3 times, not 3.1)
    assert counted.word_tag_counts_["a"].tolist() == pytest.approx([2.1 * 3 / 3.1, 1.0 * 3 / 3.1])


def test_save_and_load_keep_the_unknown_word_model(tmp_path):
    from rnnkit.tagging.io import DataSpec, save_hmm
    from rnnkit.tagging.loaded import LoadedTagger

    sentences, _ = known_hmm_text(np.random.default_rng(1), 80)
    model, _ = baum_welch(sentences, 3, np.random.default_rng(0), max_iter=20)
    new = [["the", "flying", "sees"], ["a", "reading"], ["zzz"]]
    model.save(tmp_path / "m.json")
    again = HMMTagger.load(tmp_path / "m.json")
    assert again.predict(new) == model.predict(new)
    save_hmm(tmp_path / "m.safetensors", model, DataSpec(), "induction")
    loaded = LoadedTagger(tmp_path / "m.safetensors")
    assert loaded.model.predict(new) == model.predict(new)
    for name, table in model.tables_.items():  # the tables as arrays, bit for bit
        assert np.array_equal(loaded.model.tables_[name], table), name


def test_batching_does_not_change_the_e_step(monkeypatch):
    data = random_text(np.random.default_rng(4), 50, 30)
    _, whole = baum_welch(data, 5, np.random.default_rng(0), max_iter=8, tol=0.0)
    monkeypatch.setattr(hmm_em, "BATCH_FLOATS", 5 * 8 * 3)  # three sentences a batch, some of one
    assert hmm_em.batch_size(8, 5) == 3
    _, small = baum_welch(data, 5, np.random.default_rng(0), max_iter=8, tol=0.0)
    assert np.allclose(whole, small, rtol=1e-12, atol=0)


def test_memory_estimate_and_refusal(monkeypatch):
    # 8 bytes x 8 x (V K + K^2 + B T K): V = 1000, K = 10, T = 20, B = 256
    assert memory_estimate(10, 1000, 20) == 8 * 8 * (1000 * 10 + 100 + 256 * 20 * 10)
    assert memory_estimate(100_000, 10, 3) > 8 * 8 * 100_000**2  # K^2 dominates
    monkeypatch.setattr(hmm_em, "available_memory", lambda: 10**9)
    with pytest.raises(ValueError, match=r"n_states small enough for the memory free \(1\.0 GB\), got 100,000: "
                                         r".*about 640\.3 GB"):
        check_memory(100_000, 10, 3)
    with pytest.raises(ValueError, match="fewer states"):
        baum_welch([["a", "b"]], 100_000, np.random.default_rng(0))
    check_memory(10, 1000, 20)  # fits: no error
    monkeypatch.setattr(hmm_em, "available_memory", lambda: None)  # unknown: not refused
    check_memory(100_000, 10, 3)


def test_restarts_argument_errors():
    with pytest.raises(TypeError, match="rngs as a non-empty list"):
        baum_welch_restarts([["a"]], 2, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rngs as a non-empty list"):
        baum_welch_restarts([["a"]], 2, [])
    with pytest.raises(TypeError, match=r"rngs\[1\]"):
        baum_welch_restarts([["a"]], 2, [np.random.default_rng(0), 3])
    with pytest.raises(ValueError, match="max_iter"):
        baum_welch_restarts([["a"]], 2, [np.random.default_rng(0)], max_iter=-1)
