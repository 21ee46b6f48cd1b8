"""Decoding never generates ``<pad>`` or ``<bos>``: greedy, beam, n-best, ``translate`` and ``rnnkit translate``.

Every model here is pushed to emit them: the output bias makes ``<pad>`` (then ``<bos>``) by far the
most probable next token at every step, so a decoder that took the argmax / top-k over the whole
vocabulary would print them.  What must come out instead: hypotheses over the other tokens only,
each ended by ``<eos>`` or cut at the length limit, with scores that are the model's own (not
renormalised) log-probabilities of the sequence, as teacher forcing computes them.
"""
from __future__ import annotations

import numpy as np
import pytest
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)

from rnnkit.cli.main import main
from rnnkit.data.parallel import BOS_ID, EOS_ID, PAD_ID, build_vocab
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.seq2seq.decode import beam_search, greedy_decode, length_penalty
from rnnkit.seq2seq.io import Translator, save_translator
from rnnkit.seq2seq.model import Seq2Seq, Seq2SeqConfig, VectorDecoder, VectorDecoderConfig
from rnnkit.seq2seq.translate import translate

SPECIAL = (PAD_ID, BOS_ID)  # never generated


def _push_specials(model, pad=12.0, bos=8.0, eos=0.0):
    """Make <pad> the argmax everywhere, <bos> the runner-up (the weights stay small: |z| <= 1 + bias)."""
    model.params["output.bias"][PAD_ID] += pad
    model.params["output.bias"][BOS_ID] += bos
    model.params["output.bias"][EOS_ID] += eos
    return model


def _seq2seq(seed, V=7, attention="general", cell="gru", eos=0.0):
    rng = np.random.default_rng(seed)
    cfg = Seq2SeqConfig(V, V, cell=cell, src_embedding_dim=4, tgt_embedding_dim=4, encoder_hidden_size=4,
                        decoder_hidden_size=8, attention=attention, attention_size=5, dtype="float64")
    model = Seq2Seq(cfg, rng)
    for v in model.params.values():
        v[...] = rng.uniform(-1.0, 1.0, v.shape)
    src = rng.integers(3, V, (5, 3))
    return _push_specials(model, eos=eos), src, np.array([5, 2, 4])


def _vector(seed, V=7, cell="lstm"):
    rng = np.random.default_rng(seed)
    model = VectorDecoder(VectorDecoderConfig(5, V, cell=cell, embedding_dim=4, hidden_size=6, dtype="float64"), rng)
    for v in model.params.values():
        v[...] = rng.uniform(-1.0, 1.0, v.shape)
    return _push_specials(model), rng.standard_normal((3, 5)), None


CASES = [(_seq2seq, dict(attention=a, cell=c)) for a, c in (("none", "lstm"), ("additive", "gru"), ("dot", "gru"),
                                                             ("general", "lstm"))]
CASES += [(_seq2seq, dict(eos=3.0)), (_vector, dict(cell="lstm")), (_vector, dict(cell="gru"))]


def _teacher_forced(model, src, lengths, b, tokens, finished):
    """The model's log-probability of ``tokens`` (+ EOS when finished) for sentence b, by model.forward."""
    seq = [*tokens, EOS_ID] if finished else list(tokens)
    if not seq:
        return 0.0
    tgt_in = np.array([[BOS_ID, *seq[:-1]]]).T
    tgt_out = np.array([seq]).T
    mask = np.ones_like(tgt_in, dtype=bool)
    args = (src[:, b:b + 1], lengths[b:b + 1]) if lengths is not None else (src[b:b + 1],)
    return -model.forward(*args, tgt_in, tgt_out, mask)[0]


def _check_hypothesis(h, max_len, where):
    assert not set(h.tokens) & set(SPECIAL), f"{where}: generated a special token: {h.tokens}"
    assert EOS_ID not in h.tokens, f"{where}: EOS inside the tokens {h.tokens}"
    assert h.finished or len(h.tokens) == max_len, f"{where}: neither EOS nor the length limit: {h}"
    assert np.isfinite(h.score) and np.isfinite(h.norm_score), f"{where}: score {h.score}, {h.norm_score}"


@pytest.mark.parametrize("case", range(len(CASES)))
def test_greedy_never_generates_pad_or_bos(case):
    make, kw = CASES[case]
    model, src, lengths = make(case, **kw)
    with pytest.raises(AssertionError):  # the premise: the raw argmax is <pad>
        assert np.all(np.argmax(model.decode_step(np.array([BOS_ID] * 3), model.encode(src, lengths))[0], 1) != PAD_ID)
    for b, h in enumerate(greedy_decode(model, src, lengths, 6, BOS_ID, EOS_ID)):
        _check_hypothesis(h, 6, f"greedy, sentence {b}")
        tf = _teacher_forced(model, src, lengths, b, h.tokens, h.finished)
        # not renormalised: the score is the model's log-prob of the sequence, far below 0 here
        assert abs(h.score - tf) < 1e-9 and h.norm_score == h.score, f"sentence {b}: {h.score} vs {tf}"


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("k", [1, 3])
def test_beam_and_nbest_never_generate_pad_or_bos(case, k):
    make, kw = CASES[case]
    model, src, lengths = make(case, **kw)
    greedy = greedy_decode(model, src, lengths, 6, BOS_ID, EOS_ID)
    for b, hyps in enumerate(beam_search(model, src, lengths, k, 6, BOS_ID, EOS_ID, length_norm=0.6, nbest=k)):
        assert len(hyps) == k and len({h.tokens for h in hyps}) == k, f"sentence {b}: {hyps}"
        for h in hyps:
            _check_hypothesis(h, 6, f"beam {k}, sentence {b}")
            tf = _teacher_forced(model, src, lengths, b, h.tokens, h.finished)
            assert abs(h.score - tf) < 1e-9, f"beam {k}, sentence {b}: score {h.score} vs teacher forced {tf}"
            n = len(h.tokens) + h.finished
            assert abs(h.norm_score - h.score / length_penalty(n, 0.6)) < 1e-12
        if k == 1:
            assert hyps[0].tokens == greedy[b].tokens and hyps[0].finished == greedy[b].finished


def test_a_beam_wider_than_the_allowed_tokens_keeps_only_finite_hypotheses():
    """V = 4: <pad> <bos> <eos> and one symbol.  A beam of 3 has at most 2 allowed extensions a step;
    the banned ones (-inf) must not fill the free places."""
    model, src, lengths = _seq2seq(5, V=4, eos=2.0)
    for b, hyps in enumerate(beam_search(model, src, lengths, 3, 5, BOS_ID, EOS_ID, nbest=3)):
        assert hyps, f"sentence {b}: no hypothesis"
        for h in hyps:
            _check_hypothesis(h, 5, f"sentence {b}")
            assert set(h.tokens) <= {3}
        finished = sorted(len(h.tokens) for h in hyps if h.finished)
        assert finished == sorted(set(finished)), f"sentence {b}: duplicate hypotheses {hyps}"


def test_pad_none_allows_token_zero_and_eos_must_differ_from_the_banned():
    model, src, lengths = _seq2seq(1)
    model.params["output.bias"][BOS_ID] += 10.0  # <bos> now the argmax, <pad> the runner-up
    hyps = greedy_decode(model, src, lengths, 4, BOS_ID, EOS_ID, pad=None)  # id 0 is then an ordinary token
    assert all(PAD_ID in h.tokens for h in hyps) and not any(BOS_ID in h.tokens for h in hyps)
    beams = beam_search(model, src, lengths, 2, 4, BOS_ID, EOS_ID, pad=None)
    assert all(PAD_ID in hs[0].tokens for hs in beams)
    for bad in (dict(eos=PAD_ID), dict(eos=BOS_ID), dict(pad=EOS_ID)):
        args = {"bos": BOS_ID, "eos": EOS_ID, "pad": PAD_ID, **bad}
        with pytest.raises(ValueError, match="eos"):
            greedy_decode(model, src, lengths, 4, args["bos"], args["eos"], pad=args["pad"])
        with pytest.raises(ValueError, match="eos"):
            beam_search(model, src, lengths, 2, 4, args["bos"], args["eos"], pad=args["pad"])
    with pytest.raises(ValueError, match="pad"):
        greedy_decode(model, src, lengths, 4, BOS_ID, EOS_ID, pad=99)


def _translator(tmp_path):
    tok = Tokenizer("word")
    vocab = build_vocab([["a", "b", "c", "d"]])  # <pad> <bos> <eos> <unk> a b c d
    cfg = Seq2SeqConfig(len(vocab), len(vocab), cell="gru", src_embedding_dim=4, tgt_embedding_dim=4,
                        encoder_hidden_size=4, decoder_hidden_size=8, attention_size=4)
    model = Seq2Seq(cfg, np.random.default_rng(0))
    _push_specials(model)
    tr = Translator(model, vocab, vocab, tok, tok)
    return tr, str(save_translator(tmp_path / "pad.safetensors", tr))


def test_translate_and_the_command_line_print_no_pad_or_bos(tmp_path, capsys):
    tr, path = _translator(tmp_path)
    sentences = ["a b c", "d a", "b"]
    for beam, nbest in ((1, 1), (3, 3)):
        for ts in translate(tr, sentences, beam_size=beam, nbest=nbest, max_len=8):
            assert len(ts) == nbest
            for t in ts:
                assert not {"<pad>", "<bos>"} & set(t.tokens), t.tokens
                assert not set(t.ids) & set(SPECIAL) and np.isfinite(t.score), t
    src = tmp_path / "src.txt"
    src.write_text("".join(s + "\n" for s in sentences), encoding="utf-8")
    for extra in ([], ["--beam", "3"], ["--beam", "3", "--nbest", "2"]):
        assert main(["translate", path, str(src), "--max-len", "8", *extra]) == 0
        out = capsys.readouterr().out
        assert "<pad>" not in out and "<bos>" not in out, out
        assert len(out.splitlines()) == len(sentences) * (2 if "--nbest" in extra else 1), out


def test_scheduled_sampling_never_feeds_pad_or_bos():
    """The decoder input drawn for scheduled sampling skips <pad> and <bos> too (renormalised), even
    when the model puts nearly all its mass on them."""
    from rnnkit.seq2seq.decoder_step import DecoderSpec, _sample

    rng = np.random.default_rng(0)
    V, H = 7, 3
    spec = DecoderSpec("gru", V, H, H, 1, "none", 0, 0, False, 0.0)
    params = {"output.weight": np.zeros((V, H)), "output.bias": np.array([9.0, 8.0, 0.0, 0.0, 1.0, 0.0, 0.0])}
    draws = np.concatenate([_sample(params, spec, rng.standard_normal((50, H)), rng) for _ in range(40)])
    # tied (--tie): the target embedding is the output weight, and draws the same tokens
    tied = {"tgt_embedding.weight": params["output.weight"], "output.bias": params["output.bias"]}
    tied_spec = DecoderSpec("gru", V, H, H, 1, "none", 0, 0, False, 0.0, tie_weights=True)
    same = [_sample(p, s, np.ones((4, H)), np.random.default_rng(1)).tolist() for p, s in ((tied, tied_spec),
                                                                                         (params, spec))]
    assert same[0] == same[1]
    assert draws.min() >= 2 and set(draws.tolist()) <= set(range(2, V))
    counts = np.bincount(draws, minlength=V)[2:] / draws.size  # the other tokens in their model proportions
    want = np.exp([0.0, 0.0, 1.0, 0.0, 0.0]) / np.exp([0.0, 0.0, 1.0, 0.0, 0.0]).sum()
    assert np.allclose(counts, want, atol=0.04), counts
