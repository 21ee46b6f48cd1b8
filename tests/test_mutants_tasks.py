"""Tests that kill hand-picked mutants of the task code (CRF, HMM, n-gram LMs, decoding, taggers,
metrics) which the rest of the suite let survive: each names the math it guards."""
from __future__ import annotations

import math
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

from rnnkit.constraints import allowed_transitions, is_allowed
from rnnkit.data.segmentation import words_to_tags
from rnnkit.gradcheck import numeric_grad_at
from rnnkit.hmm import HMMTagger
from rnnkit.lm.evaluate import evaluate_stream
from rnnkit.lm.generate import choose
from rnnkit.lm.interpolate import fit_weight
from rnnkit.lm.katz import good_turing_ratios
from rnnkit.lm.kneser_ney import kneser_ney, modified_kn_discounts
from rnnkit.lm.ngram import NGramLM
from rnnkit.lm.ngram_counts import count_ngrams, pad_sequences
from rnnkit.metrics.segmentation import segmentation_prf
from rnnkit.seq2seq.decode import beam_search, length_penalty
from rnnkit.tagging.char_features import (char_features_backward, char_features_forward, char_matrix,
                                          gather_char_batch, make_char_lstm)
from rnnkit.tagging.model import Tagger, TaggerBatch, TaggerConfig


# ---------------------------------------------------------------- HMM (TnT) estimates

def _markov_tags(rng, n_sentences):
    """Tag sequences from a random 3-tag Markov chain: enough data for all three TnT weights."""
    names = ["A", "B", "C"]
    trans = rng.dirichlet(np.ones(3) * 0.7, size=3)
    out = []
    for _ in range(n_sentences):
        t = [int(rng.integers(3))]
        for _ in range(int(rng.integers(1, 7))):
            t.append(int(rng.choice(3, p=trans[t[-1]])))
        out.append([names[i] for i in t])
    return out


def _tnt_reference(tags, names):
    """exp(log_trans_) of a trigram TnT model, written straight from Brants (2000) with dicts."""
    K = len(names)
    idx = {t: i for i, t in enumerate(names)}
    uni, bi, tri = Counter(), Counter(), Counter()
    for sentence in tags:
        p = [K, K] + [idx[t] for t in sentence] + [K]
        for a, b, c in zip(p, p[1:], p[2:]):
            uni[c] += 1
            bi[b, c] += 1
            tri[a, b, c] += 1
    N = sum(uni.values())
    ctx1 = Counter()
    for (b, _), f in bi.items():
        ctx1[b] += f
    ctx2 = Counter()
    for (a, b, _), f in tri.items():
        ctx2[a, b] += f
    votes = [0, 0, 0]
    for (a, b, c), f in tri.items():
        est = [(uni[c] - 1) / (N - 1),
               (bi[b, c] - 1) / (ctx1[b] - 1) if ctx1[b] > 1 else 0.0,
               (f - 1) / (ctx2[a, b] - 1) if ctx2[a, b] > 1 else 0.0]
        votes[est.index(max(est))] += f  # a tie goes to the lower order
    lam = [v / sum(votes) for v in votes]
    want = np.zeros((K + 1,) * 3)
    for a in range(K + 1):
        for b in range(K + 1):
            for c in range(K + 1):
                p1 = uni[c] / N
                p2 = bi[b, c] / ctx1[b] if ctx1[b] else p1
                p3 = tri[a, b, c] / ctx2[a, b] if ctx2[a, b] else p2
                want[a, b, c] = lam[0] * p1 + lam[1] * p2 + lam[2] * p3
    return want, lam


def test_trigram_transitions_match_tnt_reference():
    """TnT deleted interpolation (last k tags, votes per order) and unseen contexts falling back to the bigram row."""
    rng = np.random.default_rng(3)
    tags = _markov_tags(rng, 60)
    sentences = [["w" + t for t in s] for s in tags]
    model = HMMTagger(order=3).fit(sentences, tags)
    want, lam = _tnt_reference(tags, model.tags_)
    assert min(lam) > 0.05, f"weak corpus: weights {lam}"
    assert (model.ngram_counts_[2].sum(axis=2) == 0).any(), "no unseen context to fall back from"
    got = np.exp(model.log_trans_)
    assert np.allclose(got, want, atol=1e-12), np.abs(got - want).max()
    assert np.allclose(got.sum(axis=2), 1.0)


def test_unknown_word_emission_divides_the_suffix_posterior_by_the_tag_prior():
    """Unknown words: log P(w | t) = log P(t | suffix) - log P(t) (Bayes inversion), up to a per-word constant."""
    sentences = [["the", "dog", "runs"], ["a", "cat", "sleeps"], ["the", "cats", "run"], ["dogs", "bark"]]
    tags = [["D", "N", "V"], ["D", "N", "V"], ["D", "N", "V"], ["N", "V"]]
    model = HMMTagger(order=2, suffix_length=3, rare_threshold=5).fit(sentences, tags)
    counts = Counter(t for s in tags for t in s)
    prior = np.array([counts[t] for t in model.tags_], dtype=float) / sum(counts.values())
    got = model._emission_scores(["zebras"], {})[0]
    want = np.log(model.suffix_model_.distribution("zebras")) - np.log(prior)
    assert not np.allclose(prior, prior[0]), "need an uneven prior"
    assert np.allclose(got - got[0], want - want[0], atol=1e-12)


@pytest.mark.parametrize("order", [2, 3])
def test_bmes_hmm_never_ends_on_a_begin_tag(order):
    """The scheme's end constraint (B/M may not end a sentence) in the first- and second-order tables."""
    lines = ["我们 爱 北京 大学", "他 爱 北京", "北京 大学 很 大", "我 在 北京"]
    chars, tags = zip(*(words_to_tags(line.split()) for line in lines))
    model = HMMTagger(order=order, scheme="bmes").fit(list(chars), list(tags))
    legal = allowed_transitions(model.tags_, "bmes")
    for sentence in (["北"], ["他", "北"], ["爱", "北"]):  # 北 was only ever a B
        tagged = model.predict([sentence])[0]
        assert is_allowed([model.tags_.index(t) for t in tagged], *legal), f"{sentence}: {tagged}"


# ---------------------------------------------------------------- n-gram language models

def test_kn_discounts_fall_back_to_one_discount_without_fours():
    """Modified KN needs n_1..n_4 > 0: with n_4 = 0 every count gets the single discount Y."""
    counts = np.array([1, 1, 1, 2, 2, 3, 0, 5])  # n1=3, n2=2, n3=1, n4=0
    assert np.allclose(modified_kn_discounts(counts), np.full(3, 3 / 7))


def test_kn_hand_discounts_never_take_more_than_the_count():
    """D = min(D_k(c), c): a hand-given D_1 = 1.5 leaves every term >= 0 and every p_k summing to 1."""
    rng = np.random.default_rng(5)
    seqs = [rng.integers(1, 6, int(rng.integers(2, 7))) for _ in range(15)]
    V = 6
    seq, depth = pad_sequences([np.append(s, 0) for s in seqs], 0, start_id=V)
    ng = count_ngrams(seq, depth, 3, V + 1)
    probs, bows, _ = kneser_ney(ng, np.array([1.5, 1.5, 2.5]))
    for k in range(1, 4):
        assert np.all(probs[k - 1] >= 0), f"order {k}: negative term"
        parent, n_hist = ng.histories(k)
        total = np.bincount(parent, weights=probs[k - 1], minlength=n_hist) + bows[k - 1]
        seen = np.bincount(parent, minlength=n_hist) > 0
        assert np.allclose(total[seen], 1.0), f"order {k}"


def test_good_turing_keeps_counts_whose_r_star_exceeds_r():
    """Katz/SRILM: d_r = 1 when r*/r > 1, even where the formula gives a ratio in (0, 1]."""
    counts = np.repeat(np.arange(1, 8), [4, 3, 3, 2, 2, 4, 1])  # n6 large: (K+1) n_6 / n_1 = 6
    assert np.array_equal(good_turing_ratios(counts), np.ones(6))


def test_katz_distributions_sum_to_one_where_the_corner_rules_apply():
    """Katz: unigrams renormalised when every token was seen; a history followed by every token rescaled (alpha 0)."""
    counts = [1] * 10 + [2] * 4 + [3] * 2 + [4]  # every token seen, Good-Turing discounts r = 1..3 below 1
    V = len(counts) + 1
    stream = [w for w, c in enumerate(counts, 1) for _ in range(c)]
    model = NGramLM(2, "katz").fit([stream[i:i + 5] + [0] for i in range(0, len(stream), 5)], V, eos_id=0)
    assert model.discounts_[0][1:4].max() < 1
    assert math.isclose(model.probs_[0][:V].sum(), 1.0)
    for context in ([], [3], [17]):
        assert math.isclose(model.distribution(context).sum(), 1.0), context
    # history 1 is followed by all four tokens while d_2 = 0.5: its seen tokens hold all the unigram mass
    seqs = [[2, 3, 3, 1, 0], [1, 0], [3, 1, 0], [3, 1, 2, 2, 3, 0], [1, 2, 1, 3, 0], [2, 0], [1, 1, 2, 1, 0]]
    model = NGramLM(2, "katz").fit(seqs, 4, eos_id=0)
    assert model.discounts_[1].min() < 1
    for v in range(4):
        assert math.isclose(model.distribution([v]).sum(), 1.0), v


def test_add_delta_unseen_history_is_uniform():
    """Add-delta has no backoff: a history never seen at the model's order gives 1 / V, not the lower order."""
    V = 5
    model = NGramLM(3, "add_delta", delta=0.5).fit([[1, 2, 3, 0], [2, 1, 3, 0], [1, 1, 2, 0]], V, eos_id=0)
    assert np.allclose(model.distribution([3, 1]), 1.0 / V)  # (3, 1) never seen as a history
    assert math.isclose(model.logprob([2, 3, 1], 2), math.log(1.0 / V))
    seen = model.distribution([1, 1])  # a seen history is not uniform
    assert not np.allclose(seen, 1.0 / V)


class _UniformLM:
    """A stand-in language model giving every token probability 1 / V (summed NLL per window)."""

    def __init__(self, V):
        self.V = V

    def forward(self, x, y, state):
        return float(y.size) * math.log(self.V), state, None


def test_evaluate_stream_counts_every_stream_of_the_batch():
    """Perplexity's token count is T' * B (all streams), so a uniform model has perplexity V at any batch size."""
    ids = np.arange(40) % 7
    for batch_size in (1, 2, 4):
        m = evaluate_stream(_UniformLM(7), ids, batch_size=batch_size, bptt=3)
        assert math.isclose(m["ppl"], 7.0, rel_tol=1e-12), (batch_size, m)
        assert m["tokens"] == (40 // batch_size - 1) * batch_size


def test_sampling_temperature_divides_the_log_probabilities():
    """choose() samples from softmax(logp / T): T < 1 sharpens, T > 1 flattens."""
    logp = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    for temperature in (0.5, 2.0):
        p = np.exp(logp / temperature)
        p /= p.sum()
        want_rng, got_rng = np.random.default_rng(7), np.random.default_rng(7)
        want = [int(want_rng.choice(4, p=p)) for _ in range(50)]
        got = [choose(logp, got_rng, temperature=temperature) for _ in range(50)]
        assert got == want, temperature


def test_interpolation_weight_is_exactly_one_when_the_slope_at_one_is_zero():
    """fit_weight: the maximiser is 1 when L'(1) >= 0 (here L'(1) = 0 exactly), with no bisection."""
    a, b = np.log([0.5, 0.5, 0.25]), np.log([0.25, 0.25, 0.5])  # p_B / p_A = 1/2, 1/2, 2: mean 1
    assert fit_weight(a, b) == (1.0, 0)


# ---------------------------------------------------------------- decoding, taggers, metrics

class _MarkovDecoder:
    """A stand-in decoder: log P(next | previous token) from a fixed (V, V) table, no other state."""

    def __init__(self, table):
        self.table = table - np.log(np.exp(table).sum(axis=1, keepdims=True))
        self.spec = SimpleNamespace(vocab_size=table.shape[0])

    def encode(self, src, src_lengths):
        return SimpleNamespace(feed=np.zeros((src.shape[1], 1)))

    def decode_step(self, ids, carry):
        return self.table[ids].copy(), None, carry

    def select(self, carry, idx):
        return SimpleNamespace(feed=carry.feed[idx])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("V, k, steps", [(12, 3, 3), (60, 100, 2)])  # argpartition leaves 2k = 200 unsorted
def test_beam_keeps_the_k_best_extensions(seed, V, k, steps):
    """Beam search takes its candidates best first: the live beams are the k best extensions of the last ones."""
    bos, eos = 1, 2
    model = _MarkovDecoder(np.random.default_rng(seed).normal(0.0, 2.0, (V, V)))
    beams = [((), 0.0)]
    for _ in range(steps):  # eos is banned throughout (min_len = max_len), pad 0 and bos never generated
        cands = [(seq + (t,), s + model.table[seq[-1] if seq else bos, t]) for seq, s in beams for t in range(3, V)]
        beams = sorted(cands, key=lambda c: -c[1])[:k]
    got = beam_search(model, np.zeros((1, 1), np.int64), None, k, steps, bos, eos, nbest=k, pad=0,
                      min_len=steps)[0]
    assert [h.tokens for h in got] == [seq for seq, _ in beams]
    assert np.allclose([h.score for h in got], [s for _, s in beams])

def test_gnmt_length_penalty_values():
    """lp(m) = ((5 + m) / 6) ** alpha: 1 for one token, 2**alpha for seven."""
    assert length_penalty(1, 0.8) == 1.0
    assert math.isclose(length_penalty(7, 0.6), 2.0 ** 0.6)
    assert length_penalty(12, 0.0) == 1.0


def test_softmax_tagger_predicts_only_real_tokens():
    """Argmax prediction of a padded batch: each path has its sentence's length and the argmax tags."""
    cfg = TaggerConfig(vocab_size=9, num_tags=4, embedding_dim=3, hidden_size=3, output="softmax", dropout=0.0,
                       dtype="float64")
    model = Tagger(cfg, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    lengths = np.array([5, 2, 4])
    batch = TaggerBatch(words=rng.integers(0, 9, (5, 3)), lengths=lengths)
    paths = model.predict(batch)
    scores, _ = model.scores(batch)
    assert [len(p) for p in paths] == lengths.tolist()
    for b, p in enumerate(paths):
        assert p == scores[: lengths[b], b].argmax(axis=-1).tolist()


def test_char_features_gradient_with_padding():
    """Character features: zero at padded tokens in forward, and padded tokens' upstream gradient ignored."""
    rng = np.random.default_rng(2)
    T, B = 4, 3
    mask = np.arange(T)[:, None] < np.array([4, 2, 3])[None, :]
    table, lengths = char_matrix(["ab", "bca", "c", "dab"], {c: i + 1 for i, c in enumerate("abcd")}, 0, 4)
    cb = gather_char_batch(rng.integers(0, 4, (T, B)), mask, table, lengths)
    lstm = make_char_lstm(3, 2, "float64", rng)
    for p in lstm.params.values():
        p[...] = rng.uniform(-0.5, 0.5, p.shape)
    weight = rng.uniform(-1.0, 1.0, (5, 3))
    G = rng.standard_normal((T, B, 4))  # non-zero at padded tokens too

    def f():
        return float(np.sum(char_features_forward(cb, mask, weight, lstm)[0] * G))

    tokens, cache = char_features_forward(cb, mask, weight, lstm)
    assert np.all(tokens[~mask] == 0)
    grads = char_features_backward(G, cache, lstm)
    idx = np.arange(weight.size)
    num = numeric_grad_at(f, weight, idx, 1e-6)
    assert np.allclose(num, grads["weight"].reshape(-1)[idx], atol=1e-7)
    name = "weight_hh_l0_reverse"
    num = numeric_grad_at(f, lstm.params[name], idx[:6], 1e-6)
    assert np.allclose(num, grads[name].reshape(-1)[:6], atol=1e-7)


def test_segmentation_iv_recall_leaves_out_the_oov_words():
    """IV recall = (correct - correct OOV) / (gold - OOV gold words)."""
    gold = [["ab", "c", "de"]]
    pred = [["ab", "c", "d", "e"]]
    m = segmentation_prf(gold, pred, train_vocab=["ab", "de"])
    assert m["oov_recall"] == 1.0  # c, the only OOV word, is found
    assert m["iv_recall"] == 0.5  # ab found, de split
    assert math.isclose(m["oov_rate"], 1 / 3)
