"""Greedy and beam search, and the toy tasks.

What is tested about beam width, precisely: beam search is not monotone in the beam size in
general (test_a_wider_beam_can_score_lower builds a case), so the tests check what does hold:
beam 1 == greedy; an exhaustive beam returns exactly the brute-force ranking (so no narrower beam
ever beats it); and, over many random models with length_norm = 0, beam k+1's best sum of
log-probs is below beam k's only rarely (the rate is bounded, and the mean never decreases).
PAD and BOS are never generated (tests/test_seq2seq_specials.py pushes models to them): the
references here enumerate the other tokens only.
"""
from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)

from rnnkit.seq2seq import toy
from rnnkit.seq2seq.decode import beam_search, greedy_decode, length_penalty
from rnnkit.seq2seq.model import Seq2Seq, Seq2SeqConfig, VectorDecoder, VectorDecoderConfig

PAD, BOS, EOS = 0, 1, 2
NEVER = (PAD, BOS)  # never generated


def _seq2seq(seed, V=6, attention="general", cell="gru", scale=1.0, eos_bias=1.0):
    """A random model whose EOS is likely enough that most searches finish within a few steps."""
    rng = np.random.default_rng(seed)
    cfg = Seq2SeqConfig(V, V, cell=cell, src_embedding_dim=4, tgt_embedding_dim=4, encoder_hidden_size=4,
                        decoder_hidden_size=8, attention=attention, attention_size=5, dtype="float64")
    model = Seq2Seq(cfg, rng)
    for v in model.params.values():
        v[...] = rng.uniform(-scale, scale, v.shape)
    model.params["output.bias"][EOS] += eos_bias
    src = rng.integers(3, V, (5, 3))
    return model, src, np.array([5, 2, 4])


def _vector(seed, V=6, cell="lstm"):
    rng = np.random.default_rng(seed)
    model = VectorDecoder(VectorDecoderConfig(5, V, cell=cell, embedding_dim=4, hidden_size=6, dtype="float64"), rng)
    for v in model.params.values():
        v[...] = rng.uniform(-1.0, 1.0, v.shape)
    model.params["output.bias"][EOS] += 1.0
    return model, rng.standard_normal((3, 5)), None


CASES = [(_seq2seq, dict(attention=a, cell=c)) for a in ("none", "additive", "dot", "general") for c in ("gru", "lstm")]
CASES += [(_vector, dict(cell="lstm")), (_vector, dict(cell="gru"))]


@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_beam_of_one_equals_greedy(alpha):
    for seed, (make, kw) in enumerate(CASES * 3):
        model, src, lengths = make(seed, **kw)
        greedy = greedy_decode(model, src, lengths, 7, BOS, EOS)
        beam = beam_search(model, src, lengths, 1, 7, BOS, EOS, length_norm=alpha)
        for b, (g, hyps) in enumerate(zip(greedy, beam)):
            h = hyps[0]
            assert h.tokens == g.tokens, f"case {seed} sentence {b}: beam {h.tokens} != greedy {g.tokens}"
            assert h.finished == g.finished
            # greedy and beam search batch different rows: BLAS may round the last bit differently
            assert abs(h.score - g.score) < 1e-9, f"case {seed} sentence {b}: score diff {abs(h.score - g.score)}"


def _teacher_forced_scores(model, src, lengths, seqs, finished):
    """Sum of log-probs of each token sequence, through model.forward (an independent path)."""
    scores = []
    for seq, fin in zip(seqs, finished):
        tgt_in = np.array([[BOS, *seq]]).T
        tgt_out = np.array([[*seq, EOS]]).T
        mask = np.ones_like(tgt_in, dtype=bool)
        if not fin:  # cut at max_len: no EOS scored
            tgt_in, tgt_out, mask = tgt_in[:-1], tgt_out[:-1], mask[:-1]
        if mask.size == 0:
            scores.append(0.0)
            continue
        args = (src, lengths) if lengths is not None else (src,)
        scores.append(-model.forward(*args, tgt_in, tgt_out, mask)[0])
    return np.array(scores)


def test_greedy_score_is_the_teacher_forced_log_prob():
    for seed, (make, kw) in enumerate(CASES[:6] + CASES[-2:]):
        model, src, lengths = make(seed, **kw)
        for b, h in enumerate(greedy_decode(model, src, lengths, 6, BOS, EOS)):
            one = (src[:, b:b + 1], lengths[b:b + 1]) if lengths is not None else (src[b:b + 1], None)
            tf = _teacher_forced_scores(model, *one, [h.tokens], [h.finished])[0]
            assert abs(tf - h.score) < 1e-9, f"case {seed} sentence {b}: greedy {h.score} vs teacher forced {tf}"


def _naive_beam(logp_of, V, k, max_len, alpha, min_len):
    """The documented algorithm written plainly: every prefix re-run from scratch, Python sorting,
    extensions by every token but PAD and BOS, and by EOS only after min_len tokens."""
    live, finished = [((), 0.0)], []
    for _ in range(max_len):
        cands = []
        for i, (toks, score) in enumerate(live):
            lp = logp_of(toks)
            cands += [(score + lp[v], i * V + v, toks, v) for v in range(V)
                      if v not in NEVER and (v != EOS or len(toks) >= min_len)]
        cands = sorted(cands, key=lambda c: (-c[0], c[1]))[:2 * k]
        new = []
        for rank, (score, _, toks, v) in enumerate(cands):
            if v == EOS and rank < k:
                finished.append((toks, score / length_penalty(len(toks) + 1, alpha), True))
            elif v != EOS and len(new) < k:
                new.append((toks + (v,), score))
        if len(finished) >= k or not new:
            break
        live = new
    else:
        finished += [(toks, score / length_penalty(len(toks), alpha), False) for toks, score in live]
    return sorted(finished, key=lambda h: (not h[2], -h[1]))


@pytest.mark.parametrize("k,min_len", [(2, 0), (3, 0), (2, 1), (3, 2)])
def test_beam_matches_a_naive_reference(k, min_len):
    """Catches off-by-one ranks and wrong carry reordering: the reference never reorders a carry."""
    for seed in range(4):
        model, src, lengths = _seq2seq(300 + seed, attention="additive", cell="lstm", eos_bias=3.0)
        beams = beam_search(model, src, lengths, k, 5, BOS, EOS, length_norm=0.6, nbest=k, min_len=min_len)
        for b, hyps in enumerate(beams):
            def logp_of(toks, b=b):
                carry = model.encode(src[:, b:b + 1], lengths[b:b + 1])
                for t in (BOS, *toks):
                    lp, _, carry = model.decode_step(np.array([t]), carry)
                return lp[0]

            ref = _naive_beam(logp_of, model.spec.vocab_size, k, 5, 0.6, min_len)[:k]
            assert all(len(h.tokens) >= min_len for h in hyps)
            assert [h.tokens for h in hyps] == [r[0] for r in ref], f"seed {seed} sentence {b}"
            diff = max(abs(h.norm_score - r[1]) for h, r in zip(hyps, ref))
            assert diff < 1e-9, f"seed {seed} sentence {b}: normalised score max diff {diff}"


@pytest.mark.parametrize("alpha,min_len", [(0.0, 0), (0.8, 0), (0.0, 1), (0.8, 2)])
def test_exhaustive_beam_equals_brute_force(alpha, min_len):
    """V = 7 (4 symbols besides PAD, BOS and EOS), at most 3 tokens before EOS: a beam of 400 keeps
    every prefix, so the search is exhaustive and its n-best list must equal the ranking of all
    1 + 4 + 16 + 64 = 85 finished sequences of symbols (those of min_len tokens or more)."""
    V, max_len, nbest = 7, 4, 12
    model, src, lengths = _seq2seq(3, V=V, attention="additive", scale=1.5, eos_bias=3.0)
    beams = beam_search(model, src, lengths, 400, max_len, BOS, EOS, length_norm=alpha, nbest=nbest,
                        min_len=min_len)
    symbols = [t for t in range(V) if t not in (*NEVER, EOS)]
    seqs = [s for n in range(min_len, max_len) for s in itertools.product(symbols, repeat=n)]
    for b, hyps in enumerate(beams):
        scores = _teacher_forced_scores(model, src[:, b:b + 1], lengths[b:b + 1], seqs, [True] * len(seqs))
        norm = np.array([s / length_penalty(len(q) + 1, alpha) for s, q in zip(scores, seqs)])
        order = np.argsort(-norm, kind="stable")[:nbest]
        assert [h.tokens for h in hyps] == [seqs[i] for i in order], f"sentence {b}: n-best differs"
        diff = max(abs(h.norm_score - norm[i]) for h, i in zip(hyps, order))
        assert diff < 1e-9, f"sentence {b}: normalised scores max diff {diff}"
        assert all(h.finished for h in hyps)


def test_wider_beams_find_higher_scores():
    exhaustive_k = 400  # every prefix fits (V = 7, 4 symbols, max_len = 4; see above)
    pairs = violations = 0
    best = []  # (instances, widths): best finished sum of log-probs
    for seed in range(24):
        model, src, lengths = _seq2seq(100 + seed, V=7, attention="general", scale=1.5)
        row = []
        for k in (1, 2, 3, 4, exhaustive_k):
            res = beam_search(model, src, lengths, k, 4, BOS, EOS, length_norm=0.0)
            row.append([r[0].score if r[0].finished else -np.inf for r in res])
        best.extend(np.array(row).T)
    best = np.array(best)
    assert np.all(np.isfinite(best[:, -1]))
    assert np.all(best[:, :-1] <= best[:, -1:] + 1e-12), "a narrower beam beat the exhaustive search"
    for k in range(best.shape[1] - 2):
        both = np.isfinite(best[:, k])
        pairs += both.sum()
        violations += (best[both, k + 1] < best[both, k] - 1e-12).sum()
    assert violations <= 0.05 * pairs, f"wider beam scored lower in {violations} of {pairs} cases"
    means = [best[np.isfinite(best[:, :-1]).all(axis=1), k].mean() for k in range(best.shape[1])]
    assert np.all(np.diff(means) >= -1e-12), f"mean best score by width {means}"


class _TableCarry(NamedTuple):
    feed: np.ndarray  # (B,) object array of prefixes (tuples of ids, BOS first)


class _TableModel:
    """A 'model' that looks its next-token distribution up by prefix (default: uniform)."""

    def __init__(self, table, V):
        self.table = table
        self.spec = SimpleNamespace(vocab_size=V)

    def encode(self, src, src_lengths):
        feed = np.empty(1, dtype=object)
        feed[0] = ()
        return _TableCarry(feed)

    def decode_step(self, ids, carry):
        feed = np.empty(len(ids), dtype=object)
        rows = []
        for i, (p, t) in enumerate(zip(carry.feed, ids)):
            feed[i] = p + (int(t),)
            probs = np.full(self.spec.vocab_size, 1e-12)  # PAD and BOS: (almost) never
            probs[2:] = 1.0  # uniform over EOS and the symbols, unless the table says otherwise
            for tok, pr in self.table.get(feed[i], {}).items():
                probs[tok] = pr
            rows.append(np.log(probs / probs.sum()))
        return np.array(rows), None, _TableCarry(feed)

    def select(self, carry, idx):
        return _TableCarry(carry.feed[idx])


def test_a_wider_beam_can_score_lower():
    """Why monotonicity is not asserted outright: beam 2 prunes the prefix greedy search completes.

    After BOS: a .5, b .48.  After a: c .3 (then EOS .97).  After b: d .49, e .49, whose two
    extensions (.235 each) push "a c" (.15) out of a beam of 2; b d / b e then end badly.
    """
    a, b, c, d, e = 3, 4, 5, 6, 7
    table = {(BOS,): {a: .5, b: .48, EOS: .005, c: .005, d: .005, e: .005},  # every row sums to 1
             (BOS, a): {c: .3, EOS: .25, a: .1125, b: .1125, d: .1125, e: .1125},
             (BOS, b): {d: .49, e: .49, EOS: .005, a: .005, b: .005, c: .005},
             (BOS, a, c): {EOS: .97, a: .006, b: .006, c: .006, d: .006, e: .006}}
    model = _TableModel(table, 8)
    one = beam_search(model, None, None, 1, 10, BOS, EOS)[0][0]
    two = beam_search(model, None, None, 2, 10, BOS, EOS)[0][0]
    wide = beam_search(model, None, None, 50, 4, BOS, EOS)[0][0]
    assert one.tokens == (a, c) and abs(one.score - np.log(.5 * .3 * .97)) < 1e-9
    assert two.score < one.score, f"beam 2 found {two.tokens} ({two.score}), beam 1 {one.tokens} ({one.score})"
    assert wide.tokens == (a, c)


def test_nbest_lists_are_sorted_and_distinct():
    for seed in range(6):
        model, src, lengths = _seq2seq(200 + seed, attention="additive")
        for hyps in beam_search(model, src, lengths, 5, 6, BOS, EOS, length_norm=0.6, nbest=5):
            assert 1 <= len(hyps) <= 5
            assert len({h.tokens for h in hyps}) == len(hyps), "n-best list has duplicates"
            keys = [(not h.finished, -h.norm_score) for h in hyps]
            assert keys == sorted(keys), f"n-best list not sorted: {keys}"
            for h in hyps:
                n = len(h.tokens) + h.finished
                assert abs(h.norm_score - h.score / length_penalty(n, 0.6)) < 1e-12


def test_decode_errors():
    model, src, lengths = _seq2seq(0)
    with pytest.raises(ValueError, match="nbest"):
        beam_search(model, src, lengths, 2, 5, BOS, EOS, nbest=3)
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(model, src, lengths, 0, BOS, EOS)
    with pytest.raises(ValueError, match="eos"):
        beam_search(model, src, lengths, 2, 5, BOS, 99)
    with pytest.raises(ValueError, match="length_norm"):
        beam_search(model, src, lengths, 2, 5, BOS, EOS, length_norm=-1.0)
    vec, feats, _ = _vector(0)
    with pytest.raises(ValueError, match="lengths=None"):
        greedy_decode(vec, feats, np.array([1, 1, 1]), 5, BOS, EOS)


def test_toy_generators_are_correct():
    rng = np.random.default_rng(0)
    for src, tgt in toy.reverse_pairs(50, rng, 2, 9, 6):
        assert tgt == src[::-1] and 2 <= len(src) <= 9 and set(src) <= set("abcdef")
    for src, tgt in toy.sort_pairs(50, rng):
        assert tgt == sorted(src)
    for src, tgt in toy.addition_pairs(50, rng, max_bits=6):
        left, right = "".join(src).split("+")
        assert int("".join(tgt), 2) == int(left, 2) + int(right, 2)
    vocab = toy.task_vocab("add")
    batch = toy.make_batch(toy.addition_pairs(5, rng), vocab)
    T, B = batch.tgt_in.shape
    assert batch.src.shape[1] == B == 5 and np.all(batch.tgt_in[0] == toy.BOS)
    lengths = batch.tgt_mask.sum(axis=0)
    assert np.all(batch.tgt_out[lengths - 1, np.arange(B)] == toy.EOS)
    assert np.all(batch.tgt_in[1:][batch.tgt_mask[1:]] == batch.tgt_out[:-1][batch.tgt_mask[1:]])
    with pytest.raises(ValueError, match="tokens of this vocabulary"):
        vocab.encode(["2"])


def test_number_words_and_features():
    assert toy.number_to_words(342) == "three hundred forty two".split()  # the module's own example
    spellings = {tuple(toy.number_to_words(n)) for n in range(10000)}
    assert len(spellings) == 10000, "two numbers share a spelling"
    vocab = toy.number_vocab()
    assert all(set(s) <= set(vocab.itos) for s in spellings)
    nums = np.random.default_rng(1).integers(0, 10000, 30)
    feats = toy.number_features(nums, 4).reshape(30, 4, 10)
    assert np.all(feats.sum(axis=2) == 1)
    assert np.array_equal(feats.argmax(axis=2) @ np.array([1000, 100, 10, 1]), nums)
    with pytest.raises(ValueError, match=r"\[0, 9999\]"):
        toy.number_to_words(10000)
