"""Copy attention (rnnkit.seq2seq.copy) when decoding and saving: the extended ids of the data, decoding steps
over the extended vocabulary, greedy and beam search that output extended ids (an exhaustive beam against the
brute-force ranking, as tests/test_seq2seq_decode.py checks plain beams), translate() printing the source words,
and checkpoints (a copy model round-trips; one written before the option loads without it)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from seq2seq_tiny import load_as_older, round_trip
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)

from rnnkit.data.parallel import BOS_ID, EOS_ID, PAD_ID, UNK_ID, build_vocab, decode_ids, make_batch
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.seq2seq.copy import GATE, decode_extended, encode_copy_pairs, source_extension, target_extension
from rnnkit.seq2seq.decode import beam_search, greedy_decode
from rnnkit.seq2seq.io import Translator
from rnnkit.seq2seq.model import Seq2Seq, Seq2SeqConfig
from rnnkit.seq2seq.translate import translate


def test_extended_ids_of_the_data():
    vocab = build_vocab([["a", "b"]])  # <pad> <bos> <eos> <unk> a b: V = 6
    V = len(vocab)
    ext, oovs = source_extension(["x", "a", "y", "x", "b"], vocab)
    assert oovs == ["x", "y"] and ext.tolist() == [V, 4, V + 1, V, 5]
    # an unknown gold word in the source at its extended id, one that is not as <unk>
    assert target_extension(["y", "b", "z", "x"], vocab, oovs).tolist() == [V + 1, 5, UNK_ID, V]
    assert decode_extended([V + 1, 4, V], vocab, oovs) == ["y", "a", "x"]
    # train seq2seq --copy's validation text: decode_ids with the source's words (PAD/BOS dropped, cut at EOS)
    assert decode_ids([BOS_ID, V + 1, 4, PAD_ID, V, EOS_ID, 5], vocab, Tokenizer(), oovs) == "y a x"
    triples = encode_copy_pairs([(["x", "a"], ["a", "x"]), (["b"], ["q"])], build_vocab([["a", "x"]]), vocab)
    batch = make_batch(triples)
    assert batch.src_ext.tolist() == [[V, 5], [4, 0]]  # (S, B), PAD past the second source
    assert batch.tgt_out[:, 0].tolist() == [4, V, EOS_ID] and batch.tgt_out[:, 1].tolist() == [UNK_ID, EOS_ID, 0]
    assert make_batch([(t[0], t[1]) for t in triples]).src_ext is None


def _model(seed, V=6, gate_bias=0.0, attention="additive"):
    """A random float64 copy model; a negative gate_bias makes it copy more."""
    rng = np.random.default_rng(seed)
    cfg = Seq2SeqConfig(8, V, cell="gru", src_embedding_dim=4, tgt_embedding_dim=4, encoder_hidden_size=4,
                        decoder_hidden_size=8, attention=attention, attention_size=5, dtype="float64", copy=True)
    model = Seq2Seq(cfg, rng)
    for v in model.params.values():
        v[...] = rng.uniform(-1.5, 1.5, v.shape)
    model.params["output.bias"][EOS_ID] += 3.0
    model.params[GATE + "bias"][...] = gate_bias
    return model


# three sources: one extended word (V), two (V, V + 1, one of them twice), none
SRC = np.array([[4, 5, 6, 7], [5, 4, 4, 0], [6, 3, 0, 0]]).T  # (S, B)
LENGTHS = np.array([4, 3, 2])


def _ext(V):
    return np.array([[4, V, 5, 4], [V, V + 1, V, 0], [5, 3, 0, 0]]).T


def test_a_step_is_a_distribution_over_the_extended_vocabulary():
    model = _model(0)
    V = 6
    carry = model.encode(SRC, LENGTHS, _ext(V))
    logp, weights, carry = model.decode_step(np.full(3, BOS_ID), carry)
    assert logp.shape == (3, V + 2)
    assert np.allclose(np.logaddexp.reduce(logp, axis=1), 0.0)
    assert np.isneginf(logp[0, V + 1]) and np.isneginf(logp[2, V:]).all()  # ids their sources lack
    # an extended id fed back is read as <unk>
    same = model.decode_step(np.array([V, V + 1, UNK_ID]), carry)[0]
    assert np.allclose(same, model.decode_step(np.full(3, UNK_ID), carry)[0])
    with pytest.raises(ValueError, match="src_ext"):
        model.decode_step(np.full(3, BOS_ID), model.encode(SRC, LENGTHS))


def _teacher_forced_scores(model, b, seqs):
    """log P of each finished sequence (EOS included) of sentence b, teacher-forced with its extended ids."""
    n = LENGTHS[b]
    out = []
    for seq in seqs:
        tgt_out = np.array([*seq, EOS_ID])[:, None]
        tgt_in = np.array([BOS_ID, *seq])[:, None]
        loss, _ = model.forward(SRC[:n, b:b + 1], LENGTHS[b:b + 1], tgt_in, tgt_out, np.ones_like(tgt_in, bool),
                                src_ext=_ext(6)[:n, b:b + 1])
        out.append(-loss)
    return np.array(out)


def test_greedy_outputs_extended_ids_with_their_teacher_forced_score():
    model = _model(1, gate_bias=-3.0)
    hyps = greedy_decode(model, SRC, LENGTHS, 6, BOS_ID, EOS_ID, src_ext=_ext(6))
    assert any(t >= 6 for h in hyps for t in h.tokens), "the copying model never copied"
    for b, h in enumerate(hyps):
        assert set(t for t in h.tokens if t >= 6) <= set(_ext(6)[:LENGTHS[b], b].tolist())
        if h.finished:
            assert abs(_teacher_forced_scores(model, b, [h.tokens])[0] - h.score) < 1e-9


def test_exhaustive_beam_equals_brute_force():
    """V = 6 (symbols 3, 4, 5 besides PAD, BOS and EOS) and each sentence's own extended ids, at most 3 tokens
    before EOS: a beam of 400 keeps every prefix, so its n-best list is the ranking of every finished sequence."""
    model = _model(2, gate_bias=-1.0)
    beams = beam_search(model, SRC, LENGTHS, 400, 4, BOS_ID, EOS_ID, nbest=10, src_ext=_ext(6))
    copied = 0
    for b, hyps in enumerate(beams):
        symbols = [3, 4, 5] + sorted(set(t for t in _ext(6)[:LENGTHS[b], b].tolist() if t >= 6))
        seqs = [s for n in range(1, 4) for s in itertools.product(symbols, repeat=n)]
        scores = _teacher_forced_scores(model, b, seqs)
        order = np.argsort(-scores, kind="stable")[:10]
        assert [h.tokens for h in hyps] == [seqs[i] for i in order], f"sentence {b}: n-best differs"
        assert max(abs(h.score - scores[i]) for h, i in zip(hyps, order)) < 1e-9
        copied += sum(t >= 6 for h in hyps for t in h.tokens)
    assert copied > 0


def _translator(seed=3, gate_bias=-4.0):
    src_vocab = build_vocab([["a", "b", "c", "d"]])  # 8 tokens
    tgt_vocab = build_vocab([["a", "b"]])  # 6 tokens
    return Translator(_model(seed, gate_bias=gate_bias), src_vocab, tgt_vocab, Tokenizer("word"), Tokenizer("word"))


@pytest.mark.parametrize("beam", [1, 3])
def test_translate_prints_copied_source_words(beam):
    translator = _translator()
    sentences = ["Zoe a b", "b 42 c 42", "", "d"]
    out = translate(translator, sentences, beam_size=beam, nbest=beam, max_len=5)
    assert out[2][0].tokens == ()
    seen = set()
    for sentence, found in zip(sentences, out):
        oovs = source_extension(sentence.split(), translator.target_vocab)[1]
        for t in found:
            assert list(t.tokens) == decode_extended(t.ids, translator.target_vocab, oovs)
            seen |= {tok for tok, i in zip(t.tokens, t.ids) if i >= 6}
    assert seen & {"Zoe", "42", "c", "d"}, "no source word was copied"
    assert "<unk>" not in seen


def test_checkpoints_round_trip_and_old_ones_load(tmp_path):
    translator = _translator()
    assert round_trip(tmp_path / "copy.safetensors", translator, ["Zoe a b", "b 42 c 42"]).model.config.copy
    # a checkpoint written before the option: its config has no "copy", its arrays no gate
    plain = Seq2Seq(Seq2SeqConfig(8, 6, cell="gru", src_embedding_dim=4, tgt_embedding_dim=4, encoder_hidden_size=4,
                                  decoder_hidden_size=8, attention_size=5), np.random.default_rng(0))
    old = Translator(plain, translator.source_vocab, translator.target_vocab, Tokenizer("word"), Tokenizer("word"))
    loaded = load_as_older(tmp_path / "old.safetensors", old, "copy")
    assert not loaded.model.config.copy and not any(k.startswith(GATE) for k in loaded.model.params)
    assert translate(loaded, ["a b"], max_len=3)[0][0].ids == translate(old, ["a b"], max_len=3)[0][0].ids


def test_errors():
    model = _model(0)
    with pytest.raises(ValueError, match="src_ext"):
        model.forward(SRC, LENGTHS, np.full((2, 3), BOS_ID), np.full((2, 3), EOS_ID), np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="occur in the source"):
        model.forward(SRC, LENGTHS, np.full((1, 3), BOS_ID), np.full((1, 3), 7), np.ones((1, 3), bool),
                      src_ext=_ext(6))  # the first source has no V + 1
    with pytest.raises(ValueError, match="attention"):
        Seq2SeqConfig(8, 6, attention="none", copy=True)
    plain = Seq2Seq(Seq2SeqConfig(8, 6, cell="gru", src_embedding_dim=4, tgt_embedding_dim=4, encoder_hidden_size=4,
                                  decoder_hidden_size=8), np.random.default_rng(0))
    with pytest.raises(ValueError, match="without copy"):
        plain.encode(SRC, LENGTHS, _ext(6))


def test_a_batch_split_between_processes_keeps_its_extended_ids():
    """Seq2SeqTask.split_batch (data-parallel training) cuts src_ext as it cuts src; the shares' losses add up."""
    from rnnkit.seq2seq.task import Seq2SeqTask

    translator = _translator()
    pairs = [(s.split(), t.split()) for s, t in (("Zoe a b", "a Zoe"), ("b 42 c 42", "42 b"), ("d Q", "Q"))]
    triples = encode_copy_pairs(pairs, translator.source_vocab, translator.target_vocab)
    task = Seq2SeqTask(translator.model, triples)
    batch = make_batch(triples)
    shares = task.split_batch(batch, 2)
    assert [s.src_ext.shape for s in shares] == [(4, 2), (2, 1)]
    assert np.array_equal(shares[1].src_ext[:, 0], batch.src_ext[:2, 2])
    whole = task.model.forward(*batch[:5], src_ext=batch.src_ext)[0]
    parts = sum(task.model.forward(*s[:5], src_ext=s.src_ext)[0] for s in shares)
    assert abs(whole - parts) < 1e-9


def test_decoding_a_copy_model_without_src_ext_names_the_argument():
    """greedy_decode and beam_search of a copy model without src_ext: the encoder's one line, saying where to pass
    them (it was the decode step's 'call encode(...)', which the caller never did); negative ids said apart."""
    cfg = Seq2SeqConfig(src_vocab_size=10, tgt_vocab_size=10, src_embedding_dim=4, tgt_embedding_dim=4,
                        encoder_hidden_size=4, decoder_hidden_size=4, copy=True, attention="additive")
    model = Seq2Seq(cfg, np.random.default_rng(0))
    src, lengths = np.array([[4, 5], [6, 7]]), np.array([2, 2])
    for decode, kw in ((greedy_decode, {}), (beam_search, {"beam_size": 2})):
        with pytest.raises(ValueError, match=r"^Expected src_ext \(S, B\).*pass src_ext= to forward, encode, "
                                             r"greedy_decode or beam_search$"):
            decode(model, src, lengths, max_len=3, bos=1, eos=2, **kw)
    with pytest.raises(ValueError, match=r"^Expected src_ext's ids >= 0 \(extended target ids\), got -5$"):
        model.encode(src, lengths, np.array([[4, -5], [6, 7]]))
