"""Coverage (rnnkit.seq2seq.coverage) when decoding and saving: the carry's coverage is the sum of the weights of
the steps taken; greedy scores are the teacher-forced ones; an exhaustive beam (whose hypotheses are reordered and
expanded every step, each with its own coverage) equals the brute-force ranking, with and without copy attention;
a beam of one is greedy; checkpoints round-trip, and one written before the option loads without it."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from seq2seq_tiny import load_as_older, round_trip
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)

from rnnkit.data.parallel import BOS_ID, EOS_ID, build_vocab
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.seq2seq.coverage import NAME
from rnnkit.seq2seq.decode import beam_search, greedy_decode
from rnnkit.seq2seq.io import Translator
from rnnkit.seq2seq.model import Seq2Seq, Seq2SeqConfig
from rnnkit.seq2seq.translate import translate

V = 6
SRC = np.array([[4, 5, 6, 7], [5, 4, 4, 0], [6, 3, 0, 0]]).T  # (S, B)
LENGTHS = np.array([4, 3, 2])
EXT = np.array([[4, V, 5, 4], [V, V + 1, V, 0], [5, 3, 0, 0]]).T  # a copy model's source extended ids


def _model(seed, copy=False, coverage=True):
    """A random float64 coverage model whose scores lean on coverage (w_cov large)."""
    rng = np.random.default_rng(seed)
    cfg = Seq2SeqConfig(8, V, cell="gru", src_embedding_dim=4, tgt_embedding_dim=4, encoder_hidden_size=4,
                        decoder_hidden_size=8, attention="additive", attention_size=5, dtype="float64", copy=copy,
                        coverage=coverage)
    model = Seq2Seq(cfg, rng)
    for v in model.params.values():
        v[...] = rng.uniform(-1.5, 1.5, v.shape)
    if coverage:
        model.params[NAME][...] = rng.uniform(-4.0, 4.0, model.params[NAME].shape)
    model.params["output.bias"][EOS_ID] += 3.0
    return model


def _ext(model):
    return {"src_ext": EXT} if model.config.copy else {}


def _teacher_forced_scores(model, b, seqs, finished=True):
    """log P of each sequence of sentence b, EOS included when ``finished``."""
    n = LENGTHS[b]
    ext = {"src_ext": EXT[:n, b:b + 1]} if model.config.copy else {}
    out = []
    for seq in seqs:
        tgt_out = np.array([*seq, EOS_ID] if finished else seq)[:, None]
        tgt_in = np.array([BOS_ID, *seq] if finished else [BOS_ID, *seq[:-1]])[:, None]
        loss, _ = model.forward(SRC[:n, b:b + 1], LENGTHS[b:b + 1], tgt_in, tgt_out, np.ones_like(tgt_in, bool),
                                **ext)
        out.append(-loss)
    return np.array(out)


def test_the_carry_sums_the_weights_of_the_steps_taken():
    model = _model(0)
    carry = model.encode(SRC, LENGTHS)
    assert carry.coverage is None  # cov_0 = 0, made by the first step
    total = np.zeros((3, 4))
    for ids in ([BOS_ID] * 3, [4, 5, 3], [3, 3, 4]):
        _, weights, carry = model.decode_step(np.array(ids), carry)
        total += weights
        assert np.allclose(carry.coverage, total, atol=1e-15)
    assert np.all(carry.coverage[1, 3:] == 0) and np.all(carry.coverage[2, 2:] == 0)  # padding is never covered
    rows = model.select(carry, np.array([2, 0, 0]))
    assert np.array_equal(rows.coverage, carry.coverage[[2, 0, 0]])


@pytest.mark.parametrize("copy", [False, True])
def test_greedy_scores_are_the_teacher_forced_ones(copy):
    model = _model(6, copy)
    hyps = greedy_decode(model, SRC, LENGTHS, 6, BOS_ID, EOS_ID, **_ext(model))
    for b, h in enumerate(hyps):  # finished or cut at max_len, EOS scored only when written
        assert abs(_teacher_forced_scores(model, b, [h.tokens], h.finished)[0] - h.score) < 1e-9
    assert any(h.finished for h in hyps) and any(len(h.tokens) > 2 for h in hyps)
    beams = beam_search(model, SRC, LENGTHS, 1, 6, BOS_ID, EOS_ID, **_ext(model))
    assert [b[0].tokens for b in beams] == [h.tokens for h in hyps]
    assert max(abs(b[0].score - h.score) for b, h in zip(beams, hyps)) < 1e-12


@pytest.mark.parametrize("copy", [False, True])
def test_exhaustive_beam_equals_brute_force(copy):
    """Symbols 3, 4, 5 (and a copy model's extended ids), at most 3 tokens before EOS: a beam of 400 keeps every
    prefix, so its n-best list is the ranking of every finished sequence, each scored with its own coverage."""
    model = _model(2, copy)
    beams = beam_search(model, SRC, LENGTHS, 400, 4, BOS_ID, EOS_ID, nbest=10, **_ext(model))
    for b, hyps in enumerate(beams):
        symbols = [3, 4, 5] + (sorted(set(t for t in EXT[:LENGTHS[b], b].tolist() if t >= V)) if copy else [])
        seqs = [s for n in range(1, 4) for s in itertools.product(symbols, repeat=n)]
        scores = _teacher_forced_scores(model, b, seqs)
        order = np.argsort(-scores, kind="stable")[:10]
        assert [h.tokens for h in hyps] == [seqs[i] for i in order], f"sentence {b}: n-best differs"
        assert max(abs(h.score - scores[i]) for h, i in zip(hyps, order)) < 1e-9


def test_coverage_changes_what_is_decoded():
    """The same weights but w_cov = 0 score the decoded sentences otherwise: coverage is really read."""
    model = _model(2)
    with_cov = [h.score for h in greedy_decode(model, SRC, LENGTHS, 6, BOS_ID, EOS_ID)]
    model.params[NAME][...] = 0.0
    without = [h.score for h in greedy_decode(model, SRC, LENGTHS, 6, BOS_ID, EOS_ID)]
    assert max(abs(a - b) for a, b in zip(with_cov, without)) > 1e-3


def _translator(seed=3):
    return Translator(_model(seed), build_vocab([["a", "b", "c", "d"]]), build_vocab([["a", "b"]]),
                      Tokenizer("word"), Tokenizer("word"))


def test_checkpoints_round_trip_and_old_ones_load(tmp_path):
    translator = _translator()
    sentences = ["c a b d", "b d c a"]
    back = round_trip(tmp_path / "cov.safetensors", translator, sentences)
    assert back.model.config.coverage and NAME in back.model.params
    # a checkpoint written before the option: its config has no "coverage", its arrays no w_cov
    plain = _model(4, coverage=False)
    old = Translator(plain, translator.source_vocab, translator.target_vocab, Tokenizer("word"), Tokenizer("word"))
    loaded = load_as_older(tmp_path / "old.safetensors", old, "coverage")
    assert not loaded.model.config.coverage and NAME not in loaded.model.params
    assert translate(loaded, sentences, max_len=4)[0][0].ids == translate(old, sentences, max_len=4)[0][0].ids


def test_parameters_start_as_without_coverage():
    """w_cov is drawn last: every other parameter of a coverage model starts as the same model's without it."""
    cfg = dict(src_vocab_size=8, tgt_vocab_size=V, cell="gru", attention="additive", copy=True)
    a = Seq2Seq(Seq2SeqConfig(**cfg, coverage=True), np.random.default_rng(9)).params
    b = Seq2Seq(Seq2SeqConfig(**cfg), np.random.default_rng(9)).params
    assert set(a) - set(b) == {NAME}
    assert all(np.array_equal(a[k], b[k]) for k in b)
