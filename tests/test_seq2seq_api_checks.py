"""The seq2seq library API refuses wrong arguments with a TypeError or ValueError naming the argument,
instead of computing with them: boolean options given as strings, length_norm outside [0, inf),
min_len above a fixed max_len, a Translator whose parts do not fit its model, decoding steps with a
carry of another batch, scheduled sampling outside training.  Small random models throughout."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit.data.parallel import BOS_ID, EOS_ID, build_vocab
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.seq2seq import (Seq2Seq, Seq2SeqConfig, VectorDecoder, VectorDecoderConfig, beam_search,
                            greedy_decode)
from rnnkit.seq2seq.io import Translator
from rnnkit.seq2seq.lengths import LengthRule
from rnnkit.seq2seq.translate import translate

CHAR = Tokenizer("char")
SRC_VOCAB = build_vocab([list("abcdefgh")])  # 4 specials + 8 letters
TGT_VOCAB = build_vocab([list("xyz")])  # 4 specials + 3 letters


def _model(cell: str = "gru", seed: int = 0, **kw) -> Seq2Seq:
    cfg = Seq2SeqConfig(len(SRC_VOCAB), len(TGT_VOCAB), cell=cell, src_embedding_dim=4, tgt_embedding_dim=4,
                        encoder_hidden_size=5, decoder_hidden_size=6, attention_size=3, **kw)
    return Seq2Seq(cfg, np.random.default_rng(seed))


@pytest.fixture(scope="module")
def tr() -> Translator:
    return Translator(_model(), SRC_VOCAB, TGT_VOCAB, CHAR, CHAR)


def _batch():
    src = np.array([[4, 5], [6, 7], [8, 0]])  # (S=3, B=2)
    lengths = np.array([3, 2])
    tgt_in = np.array([[BOS_ID, BOS_ID], [4, 5], [6, 0]])  # (T=3, B=2)
    tgt_out = np.array([[4, 5], [6, EOS_ID], [EOS_ID, 0]])
    return src, lengths, tgt_in, tgt_out, tgt_out != 0


# 1. boolean fields of the configs


@pytest.mark.parametrize("field", ["input_feeding", "bidirectional"])
@pytest.mark.parametrize("value", ["no", "False", 0, 1, None])
def test_config_booleans_must_be_bools(field, value):
    with pytest.raises(TypeError, match=f"Expected {field} to be a bool, got"):
        Seq2SeqConfig(10, 12, **{field: value})


def test_vector_decoder_config_input_feeding_must_be_a_bool():
    with pytest.raises(TypeError, match="input_feeding"):
        VectorDecoderConfig(4, 5, input_feeding="yes")


def test_config_accepts_numpy_bools_and_stores_python_bools():
    cfg = Seq2SeqConfig(10, 12, input_feeding=np.False_, bidirectional=np.bool_(True))
    assert type(cfg.input_feeding) is bool and type(cfg.bidirectional) is bool
    assert cfg.to_dict()["input_feeding"] is False
    model = Seq2Seq(cfg, np.random.default_rng(0))
    # without input feeding the first decoder layer (an LSTM: 4 gates) reads the embedding only
    assert model.params["decoder.weight_ih_l0"].shape == (4 * cfg.decoder_hidden_size, cfg.tgt_embedding_dim)


# 2. translate(replace_unk=...)


def test_translate_replace_unk_must_be_a_bool(tr):
    for value in ("no", "", 1, None):
        with pytest.raises(TypeError, match="Expected replace_unk to be a bool"):
            translate(tr, ["abc"], replace_unk=value)
    assert translate(tr, ["abc"], replace_unk=np.False_)[0][0].ids == translate(tr, ["abc"])[0][0].ids


# 3. length_norm


@pytest.mark.parametrize("value,error", [("x", TypeError), (True, TypeError), (None, TypeError),
                                         (-1.0, ValueError), (-1, ValueError), (math.inf, ValueError),
                                         (math.nan, ValueError)])
def test_translate_length_norm_must_be_a_finite_number_not_below_0(tr, value, error):
    # beam_size=1 (greedy) does not use length_norm, but a wrong one is still refused
    with pytest.raises(error, match="length_norm"):
        translate(tr, ["abc"], length_norm=value)


def test_beam_length_norm_refuses_inf_bools_and_strings(tr):
    for value, error in ((math.inf, ValueError), (True, TypeError), ("x", TypeError)):
        with pytest.raises(error, match="length_norm"):
            translate(tr, ["abc"], beam_size=3, length_norm=value)


def test_length_norm_accepts_numpy_numbers(tr):
    want = translate(tr, ["abc", "hgfe"], beam_size=3, nbest=2, length_norm=0.6)
    for alpha in (np.float32(0.6), np.float64(0.6)):
        got = translate(tr, ["abc", "hgfe"], beam_size=3, nbest=2, length_norm=alpha)
        for a, b in zip(want, got):
            assert [t.ids for t in a] == [t.ids for t in b]
            np.testing.assert_allclose([t.norm_score for t in a], [t.norm_score for t in b], rtol=1e-6)
    src, lengths = _batch()[:2]
    assert beam_search(tr.model, src, lengths, 2, 5, BOS_ID, EOS_ID, length_norm=np.int64(1))
    with pytest.raises(ValueError, match="length_norm"):
        beam_search(tr.model, src, lengths, 2, 5, BOS_ID, EOS_ID, length_norm=math.inf)


# 4. min_len against a fixed max_len


def test_translate_refuses_min_len_above_a_fixed_max_len(tr):
    with pytest.raises(ValueError, match="min_len <= max_len.*min_len=10 and max_len=3"):
        translate(tr, ["abc"], min_len=10, max_len=3)
    with pytest.raises(ValueError, match="min_len"):
        translate(tr, ["abc"], min_len=-1)
    with pytest.raises(ValueError, match="min_len"):
        translate(tr, ["abc"], min_len=1.5)
    # equal: max_len counts the EOS step, so nothing finishes, but the cut prefix is still an answer
    (t,), = translate(tr, ["abc"], min_len=3, max_len=3)
    assert len(t.ids) == 3 and not t.finished
    # without a fixed max_len each sentence's limit comes from the length rule: not refused
    assert translate(tr, ["abc"], min_len=10)[0][0].ids


def test_decoders_refuse_min_len_above_an_int_max_len(tr):
    src, lengths = _batch()[:2]
    with pytest.raises(ValueError, match="min_len=4 and max_len=3"):
        greedy_decode(tr.model, src, lengths, 3, BOS_ID, EOS_ID, min_len=4)
    with pytest.raises(ValueError, match="min_len=4 and max_len=3"):
        beam_search(tr.model, src, lengths, 2, 3, BOS_ID, EOS_ID, min_len=4)


# 5. Translator's parts


def test_translator_length_rule_must_be_a_length_rule(tr):
    with pytest.raises(TypeError, match="Expected length_rule to be a LengthRule, got float"):
        Translator(tr.model, SRC_VOCAB, TGT_VOCAB, CHAR, CHAR, "auto", 3.0)
    assert Translator(tr.model, SRC_VOCAB, TGT_VOCAB, CHAR, CHAR, "auto", LengthRule(3.0, 5)).length_rule.extra == 5


def test_translator_refuses_vocabularies_of_other_sizes_than_the_model(tr):
    with pytest.raises(ValueError, match=f"source_vocab of the model's source vocabulary size {len(SRC_VOCAB)}, "
                                         f"got {len(TGT_VOCAB)} tokens"):
        Translator(tr.model, TGT_VOCAB, SRC_VOCAB, CHAR, CHAR)  # swapped
    with pytest.raises(ValueError, match=f"target_vocab of the model's target vocabulary size {len(TGT_VOCAB)}"):
        Translator(tr.model, SRC_VOCAB, SRC_VOCAB, CHAR, CHAR)
    with pytest.raises(TypeError, match="target_tokenizer"):
        Translator(tr.model, SRC_VOCAB, TGT_VOCAB, CHAR, "char")
    with pytest.raises(ValueError, match="bleu_tokenize"):
        Translator(tr.model, SRC_VOCAB, TGT_VOCAB, CHAR, CHAR, "words")


# 6. decode_step and select


def test_decode_step_refuses_ids_of_another_batch_size(tr):
    carry = tr.model.encode(*_batch()[:2])  # B = 2
    with pytest.raises(ValueError, match="carry's batch size 2.*got batch size 3"):
        tr.model.decode_step(np.array([BOS_ID] * 3), carry)
    with pytest.raises(TypeError, match="carry"):
        tr.model.decode_step(np.array([BOS_ID] * 2), (carry.state, carry.feed))
    logp, weights, _ = tr.model.decode_step(np.array([BOS_ID] * 2), carry)
    assert logp.shape == (2, len(TGT_VOCAB)) and weights.shape == (2, 3)


@pytest.mark.parametrize("rows", [[5], [2], [-1], [0, 1, 2]])
def test_select_refuses_rows_out_of_range(tr, rows):
    carry = tr.model.encode(*_batch()[:2])
    with pytest.raises(ValueError, match=r"rows idx in \[0, 2\) \(the carry's batch size\), got"):
        tr.model.select(carry, np.array(rows))


def test_select_takes_rows_and_refuses_non_integer_rows(tr):
    carry = tr.model.encode(*_batch()[:2])
    picked = tr.model.select(carry, np.array([1, 1, 0]))
    np.testing.assert_array_equal(picked.memory.mask, carry.memory.mask[[1, 1, 0]])
    with pytest.raises(TypeError, match="idx as a 1-D integer array"):
        tr.model.select(carry, np.array([0.0, 1.0]))


# 7. the models' constructors


def test_models_want_their_config_objects_and_a_generator():
    d = {"src_vocab_size": 10, "tgt_vocab_size": 12}
    with pytest.raises(TypeError, match=r"config to be a Seq2SeqConfig \(for a dict d, pass Seq2SeqConfig\(\*\*d\)\)"):
        Seq2Seq(d, np.random.default_rng(0))
    with pytest.raises(TypeError, match="config to be a VectorDecoderConfig"):
        VectorDecoder(Seq2SeqConfig(10, 12), np.random.default_rng(0))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        Seq2Seq(Seq2SeqConfig(**d), 0)
    assert Seq2Seq(Seq2SeqConfig(**d), np.random.default_rng(0)).config.tgt_vocab_size == 12


# 8. scheduled sampling


@pytest.mark.parametrize("rate,error", [(2.0, ValueError), (-0.1, ValueError), (math.nan, ValueError),
                                        ("0.5", TypeError), (True, TypeError)])
def test_sampling_rate_must_be_a_probability(rate, error):
    model = _model(cell="lstm", seed=1)
    with pytest.raises(error, match="sampling_rate"):
        model.forward(*_batch(), training=True, rng=np.random.default_rng(0), sampling_rate=rate)


def test_scheduled_sampling_is_refused_without_training():
    model = _model(cell="gru", seed=2)
    plain = model.forward(*_batch())[0]
    with pytest.raises(ValueError, match="sampling_rate 0 without training"):
        model.forward(*_batch(), rng=np.random.default_rng(0), sampling_rate=0.5)
    assert model.forward(*_batch(), rng=np.random.default_rng(0), sampling_rate=0.0)[0] == plain
    assert model.forward(*_batch(), training=True, rng=np.random.default_rng(0), sampling_rate=np.float32(0))[0] == plain
    # training with sampling feeds model tokens: every input after the first is drawn at rate 1
    assert model.forward(*_batch(), training=True, rng=np.random.default_rng(0), sampling_rate=1)[0] != plain
    vec = VectorDecoder(VectorDecoderConfig(3, len(TGT_VOCAB), embedding_dim=4, hidden_size=5),
                        np.random.default_rng(0))
    with pytest.raises(ValueError, match="sampling_rate 0 without training"):
        vec.forward(np.ones((2, 3), np.float32), *_batch()[2:], rng=np.random.default_rng(0), sampling_rate=0.5)
