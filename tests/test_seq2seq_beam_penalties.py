"""GNMT's coverage penalty with its length penalty, and no repeated n-grams, in greedy and beam search.

The references are independent of the search: every sequence of a tiny vocabulary enumerated, scored
teacher-forced (``model.forward`` for log P, ``model.attention_weights`` for the attention) and ranked
by the formula written out here; an exhaustive beam must return exactly that ranking.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from test_seq2seq_decode import _seq2seq, _teacher_forced_scores, _vector

from rnnkit.seq2seq.decode import beam_search, greedy_decode
from rnnkit.seq2seq.no_repeat import repeat_bans
from rnnkit.seq2seq.penalties import coverage_penalty, gnmt_score

PAD, BOS, EOS = 0, 1, 2


def _repeats(tokens, n) -> bool:
    """Some n-gram twice in ``tokens`` (written apart from the library's rule)."""
    seen = set()
    for i in range(len(tokens) - n + 1):
        gram = tuple(tokens[i:i + n])
        if gram in seen:
            return True
        seen.add(gram)
    return False


def test_coverage_penalty_by_hand():
    # 3 target steps over 3 source tokens and one padding column (weight 0)
    a = np.array([[0.5, 0.3, 0.2, 0.0],
                  [0.6, 0.3, 0.1, 0.0],
                  [0.2, 0.1, 0.7, 0.0]], dtype=np.float32)
    # coverage (1.3, 0.7, 1.0) -> min(., 1) = (1, 0.7, 1): only the second token is under-covered
    assert coverage_penalty(a, 0.2, 3) == pytest.approx(0.2 * math.log(0.7), rel=1e-6)
    assert coverage_penalty(a, 1.0, 3) == pytest.approx(math.log(0.7), rel=1e-6)
    assert coverage_penalty(a[:1], 0.5, 3) == pytest.approx(0.5 * (math.log(0.5) + math.log(0.3) + math.log(0.2)),
                                                            rel=1e-6)
    # the padding column counted as a source token: never attended, log 0
    assert coverage_penalty(a, 0.2) == -math.inf
    assert coverage_penalty(a, 0.0) == 0.0  # beta 0: no penalty, not 0 * -inf = nan
    assert coverage_penalty(None, 0.0) == 0.0
    with pytest.raises(ValueError, match="attention"):
        coverage_penalty(None, 0.2)
    # s = log P / ((5 + |Y|) / 6) ** alpha + cp
    assert gnmt_score(-3.2, 4, 0.6, -0.5) == pytest.approx(-3.2 / 1.5 ** 0.6 - 0.5)
    assert gnmt_score(-3.2, 4, 0.0) == -3.2


def test_repeat_bans_by_hand():
    assert repeat_bans([5, 6, 5], 2) == [6]  # "5 6" seen: after the last 5, 6 would repeat it
    assert repeat_bans([5, 6, 5, 7, 5], 2) == [6, 7]
    assert repeat_bans([5, 6, 7], 2) == []
    assert repeat_bans([5, 6, 5, 6], 3) == [5]  # a 5 next would repeat "5 6 5"
    assert repeat_bans([4, 5, 6, 4, 5], 3) == [6]
    assert sorted(repeat_bans([4, 5, 4], 1)) == [4, 4, 5]
    assert repeat_bans([4, 5, 4], 0) == [] and repeat_bans([4], 2) == []


def _brute_force(model, src, lengths, b, V, max_len, alpha, beta, min_len, no_repeat):
    """Every finished sequence of sentence b (symbols only, min_len .. max_len - 1 of them, then EOS), none
    with a repeated no_repeat-gram, with s(Y, X) computed from teacher-forced log-probs and attention."""
    symbols = [t for t in range(V) if t not in (PAD, BOS, EOS)]
    seqs = [s for n in range(min_len, max_len) for s in itertools.product(symbols, repeat=n)
            if not (no_repeat and _repeats(s, no_repeat))]
    one_src, one_len = src[:, b:b + 1], lengths[b:b + 1]
    logp = _teacher_forced_scores(model, one_src, one_len, seqs, [True] * len(seqs))
    out = []
    for seq, lp in zip(seqs, logp):
        weights = model.attention_weights(one_src, one_len, np.array([[BOS, *seq]]).T)[:, 0, :lengths[b]]  # (T, S)
        coverage = weights.sum(axis=0)
        cp = beta * np.log(np.minimum(coverage, 1.0)).sum()
        out.append((seq, lp / ((5 + len(seq) + 1) / 6) ** alpha + cp))
    return out


@pytest.mark.parametrize("alpha,beta,min_len,no_repeat", [(0.0, 0.0, 1, 2), (0.6, 0.4, 1, 0), (0.6, 0.4, 0, 2),
                                                          (0.0, 1.0, 2, 1), (1.0, 0.2, 1, 3)])
def test_exhaustive_beam_equals_brute_force(alpha, beta, min_len, no_repeat):
    """V = 6 (3 symbols), at most 4 symbols before EOS: a beam of 500 keeps every prefix (81 at most, 486
    extensions), so its n-best list must be the brute-force ranking of the 121 finished sequences (fewer
    without repeats), by s(Y, X) = log P / lp + cp."""
    V, max_len, nbest = 6, 5, 10
    model, src, lengths = _seq2seq(7, V=V, attention="general", scale=1.5, eos_bias=1.0)
    beams = beam_search(model, src, lengths, 500, max_len, BOS, EOS, length_norm=alpha, nbest=nbest,
                        min_len=min_len, no_repeat_ngram=no_repeat, coverage_penalty=beta)
    plain = beam_search(model, src, lengths, 500, max_len, BOS, EOS, nbest=nbest, min_len=min_len)
    for b, hyps in enumerate(beams):
        ranked = sorted(_brute_force(model, src, lengths, b, V, max_len, alpha, beta, min_len, no_repeat),
                        key=lambda sq: -sq[1])[:nbest]
        assert [h.tokens for h in hyps] == [seq for seq, _ in ranked], f"sentence {b}: n-best differs"
        diff = max(abs(h.norm_score - s) for h, (_, s) in zip(hyps, ranked))
        assert diff < 1e-9, f"sentence {b}: s(Y, X) max diff {diff}"
        assert all(h.finished for h in hyps)
        for h in hyps:  # the library's own pieces agree with the attention the hypothesis kept
            cp = coverage_penalty(h.attention, beta, lengths[b])
            assert abs(h.norm_score - gnmt_score(h.score, len(h.tokens) + 1, alpha, cp)) < 1e-12
        # the options changed the ranking, so this test could catch them being ignored
        assert [h.tokens for h in hyps] != [h.tokens for h in plain[b]], f"sentence {b}: options had no effect"


def _random_model(seed):
    rng = np.random.default_rng(seed)
    kind = [("gru", "general"), ("lstm", "additive"), ("rnn", "dot"), ("gru", "none")][seed % 4]
    return _seq2seq(seed, V=int(rng.integers(5, 9)), cell=kind[0], attention=kind[1], scale=2.0,
                    eos_bias=-1.0)


def test_no_repeated_ngram_is_ever_emitted():
    """A property over random small models (few symbols, EOS unlikely: they repeat themselves): no output of
    greedy or beam search, any n-best entry, holds an n-gram twice; without the option many do."""
    repeated = checked = 0
    for seed in range(40):
        model, src, lengths = _random_model(seed)
        n = 1 + seed % 3
        k = 1 + seed % 4
        for free, hyps in zip(beam_search(model, src, lengths, k, 9, BOS, EOS, nbest=k),
                              beam_search(model, src, lengths, k, 9, BOS, EOS, nbest=k, no_repeat_ngram=n)):
            repeated += any(_repeats(h.tokens, n) for h in free)
            for h in hyps:
                checked += 1
                assert not _repeats(h.tokens, n), f"seed {seed} beam {k}: {h.tokens} repeats a {n}-gram"
        for h in greedy_decode(model, src, lengths, 9, BOS, EOS, no_repeat_ngram=n):
            checked += 1
            assert not _repeats(h.tokens, n), f"seed {seed} greedy: {h.tokens} repeats a {n}-gram"
    assert repeated >= 20, f"only {repeated} unconstrained searches repeated an n-gram: the property test is weak"
    assert checked > 200


def test_without_a_repeat_to_stop_the_result_is_unchanged():
    """Greedy decoding whose output repeats no n-gram is unchanged by the ban (no step's argmax was banned),
    score and attention included; beam search too when no output can be long enough to repeat one
    (N >= max_len: N + 1 tokens are needed, at most max_len fit)."""
    same = 0
    for seed in range(30):
        model, src, lengths = _random_model(seed)
        n = 2 + seed % 2
        free = greedy_decode(model, src, lengths, 7, BOS, EOS)
        banned = greedy_decode(model, src, lengths, 7, BOS, EOS, no_repeat_ngram=n)
        for f, g in zip(free, banned):
            if not _repeats(f.tokens, n):
                same += 1
                assert (g.tokens, g.score, g.finished) == (f.tokens, f.score, f.finished)
                assert (f.attention is None) == (g.attention is None)
                assert f.attention is None or np.array_equal(f.attention, g.attention)
            else:
                assert g.tokens != f.tokens
        for f, g in zip(beam_search(model, src, lengths, 3, 4, BOS, EOS, nbest=3),
                        beam_search(model, src, lengths, 3, 4, BOS, EOS, nbest=3, no_repeat_ngram=4)):
            assert [(h.tokens, h.score, h.norm_score) for h in f] == [(h.tokens, h.score, h.norm_score) for h in g]
    assert same >= 20


def test_a_hypothesis_with_every_token_banned_stops_unfinished():
    """Two symbols, no token twice (N = 1), at least 3 tokens before EOS: after both symbols nothing is
    allowed.  Greedy stops there; beam search returns its beams, unfinished, rather than nothing."""
    model, src, lengths = _seq2seq(5, V=5, eos_bias=-3.0)
    for h in greedy_decode(model, src, lengths, 8, BOS, EOS, min_len=3, no_repeat_ngram=1):
        assert sorted(h.tokens) == [3, 4] and not h.finished
        assert h.attention.shape[0] == 2  # the rows of the steps that chose a token
    for hyps in beam_search(model, src, lengths, 3, 8, BOS, EOS, nbest=2, min_len=3, no_repeat_ngram=1):
        assert [sorted(h.tokens) for h in hyps] == [[3, 4], [3, 4]] and not any(h.finished for h in hyps)
    # once EOS is allowed after 2 tokens, the same search finishes
    assert all(h.finished for h in greedy_decode(model, src, lengths, 8, BOS, EOS, min_len=2, no_repeat_ngram=1))


def test_bad_values_and_models_without_attention_are_refused():
    model, src, lengths = _seq2seq(0)
    for kw, match in (({"no_repeat_ngram": -1}, "no_repeat_ngram"), ({"no_repeat_ngram": 1.5}, "no_repeat_ngram"),
                      ({"coverage_penalty": -0.1}, "coverage_penalty"), ({"coverage_penalty": math.nan},
                                                                         "coverage_penalty")):
        with pytest.raises(ValueError, match=match):
            beam_search(model, src, lengths, 2, 5, BOS, EOS, **kw)
    with pytest.raises(ValueError, match="no_repeat_ngram"):
        greedy_decode(model, src, lengths, 5, BOS, EOS, no_repeat_ngram=True)
    plain, src, lengths = _seq2seq(0, attention="none")
    vec, feats, _ = _vector(0)
    for m, s, n in ((plain, src, lengths), (vec, feats, None)):
        with pytest.raises(ValueError, match="Expected a model with attention for coverage_penalty=0.2"):
            beam_search(m, s, n, 2, 5, BOS, EOS, coverage_penalty=0.2)
        assert beam_search(m, s, n, 2, 5, BOS, EOS, coverage_penalty=0.0)  # 0: nothing to read
