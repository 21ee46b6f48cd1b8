"""Seq2Seq with its output layer tied to the target embedding (``tie_weights``, Press & Wolf 2017):
finite differences, torch parity with one shared Parameter, the summed gradient, sizes refused, and a
tied translator saved, loaded and translating.

Finite differences in float64 with random non-zero parameters (biases too), a random dloss, padded
source and target batches of unequal lengths, T = 6 target steps (the helpers of seq2seq_tiny).
"""
from __future__ import annotations

import numpy as np
import pytest
from seq2seq_tiny import _batch, _check_gradients, _config, _one_blas_thread, _randomise  # noqa: F401 (a fixture)
from seq2seq_torch import _assert_matches_torch, _torch_loss

from rnnkit import checkpoint as ckpt
from rnnkit.data.parallel import SPECIALS
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.data.vocab import Vocabulary
from rnnkit.seq2seq.io import Translator, load_translator, save_translator
from rnnkit.seq2seq.model import Seq2Seq, Seq2SeqConfig
from rnnkit.seq2seq.translate import translate


def _tied(**kw):
    """_config with tie_weights and E = H (dot attention sets H to the encoder state's size)."""
    cfg = _config(**kw)
    return Seq2SeqConfig(**{**cfg.to_dict(), "tgt_embedding_dim": cfg.decoder_hidden_size, "tie_weights": True})


CASES = [dict(cell=c, attention=a) for c in ("lstm", "gru") for a in ("none", "general")]
CASES += [
    dict(cell="lstm", attention="additive", input_feeding=False),
    dict(cell="gru", attention="dot", bidirectional=False, encoder_layers=1),
    dict(cell="rnn", attention="general", decoder_layers=1),
    dict(cell="gru", attention="additive", sampling_rate=0.5, dropout=0.2, weight_drop=0.3),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_tied_gradient_matches_finite_differences(case):
    case = dict(case)
    rate = case.pop("sampling_rate", 0.0)
    rng = np.random.default_rng(20)
    model = Seq2Seq(_tied(**case), rng)
    assert "output.weight" not in model.params
    _randomise(model, rng)
    batch = _batch(rng)
    training = model.config.dropout > 0 or model.config.weight_drop > 0 or rate > 0

    def loss():  # a fixed seed: the same dropout masks and sampled tokens at every call
        return model.forward(*batch, training=training, rng=np.random.default_rng(7), sampling_rate=rate)[0]

    _, cache = model.forward(*batch, training=training, rng=np.random.default_rng(7), sampling_rate=rate)
    dloss = float(rng.uniform(0.5, 1.5))
    # every entry of the shared table: a row the targets never feed still gets the output layer's gradient
    _check_gradients(loss, model.params, model.backward(dloss, cache), rng, dloss, per_param=30)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("attention", ["none", "additive", "dot", "general"])
def test_tied_matches_pytorch(attention, cell):
    """torch's model with m.output.weight = m.tgt_embedding.weight (one Parameter): the loss and every
    gradient, dloss != 1."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(21)
    cfg = _tied(cell=cell, attention=attention)
    model = Seq2Seq(cfg, rng)
    _randomise(model, rng)
    batch = _batch(rng)
    dloss = float(rng.uniform(0.5, 1.5))
    loss, cache = model.forward(*batch)
    grads = model.backward(dloss, cache)
    t_loss, named = _torch_loss(torch, cfg, model.params, *batch)
    assert "output.weight" not in named and named["tgt_embedding.weight"].shape == (cfg.tgt_vocab_size, 5 + (
        attention == "dot"))
    (dloss * t_loss).backward()
    _assert_matches_torch(loss, grads, t_loss, named)


def check_tying_is_sharing(model_class, config_class, cfg, inputs):
    """The tied model ``model_class(cfg)`` against the untied one holding its embedding as output.weight:
    the same seed draws every other parameter the same, the losses are equal and the tied table's gradient
    is the untied model's two gradients summed.  ``inputs``: the arguments of forward after the
    parameters are randomised.  Returns the untied model's gradients."""
    tied = model_class(cfg, np.random.default_rng(3))
    plain = model_class(config_class(**{**cfg.to_dict(), "tie_weights": False}), np.random.default_rng(3))
    assert set(plain.params) - set(tied.params) == {"output.weight"}
    for k, v in tied.params.items():
        assert np.array_equal(v, plain.params[k]), k
    _randomise(tied, np.random.default_rng(4))
    for k, v in tied.params.items():
        plain.params[k][...] = v
    plain.params["output.weight"][...] = tied.params["tgt_embedding.weight"]
    loss, cache = tied.forward(*inputs)
    p_loss, p_cache = plain.forward(*inputs)
    assert loss == p_loss
    grads, p_grads = tied.backward(0.7, cache), plain.backward(0.7, p_cache)
    want = p_grads["tgt_embedding.weight"] + p_grads["output.weight"]
    np.testing.assert_allclose(grads["tgt_embedding.weight"], want, rtol=1e-13, atol=1e-15)
    assert np.abs(p_grads["output.weight"]).max() > 1e-3  # the output layer's part is not negligible
    return p_grads


def test_tied_equals_an_untied_model_with_the_same_matrix_and_summed_gradients():
    """Tying changes nothing but the sharing (:func:`check_tying_is_sharing`)."""
    check_tying_is_sharing(Seq2Seq, Seq2SeqConfig, _tied(cell="gru", attention="general"),
                           _batch(np.random.default_rng(5)))


def test_tying_mismatched_sizes_is_refused_naming_both():
    with pytest.raises(ValueError, match=r"tgt_embedding_dim == decoder_hidden_size to tie .* got "
                                         r"tgt_embedding_dim=4 and decoder_hidden_size=5"):
        _config(tie_weights=True)  # E 4, H 5
    with pytest.raises(TypeError, match="tie_weights"):
        _config(tie_weights="yes")


def _translator(cfg, seed=0):
    src = Vocabulary(list(SPECIALS) + ["a", "b", "c"], unk_token="<unk>")
    tgt = Vocabulary(list(SPECIALS) + ["x", "y"], unk_token="<unk>")
    model = Seq2Seq(cfg, np.random.default_rng(seed))
    tok = Tokenizer("word")
    return Translator(model, src, tgt, tok, tok)


def test_tied_translator_saves_one_matrix_loads_and_translates(tmp_path):
    cfg = _tied(src_vocab_size=7, tgt_vocab_size=6, cell="gru", attention="general", dtype="float32")
    tr = _translator(cfg)
    _randomise(tr.model, np.random.default_rng(6), scale=1.0)
    path = save_translator(tmp_path / "tied.safetensors", tr)
    arrays, _ = ckpt.load_checkpoint(path)
    assert "model/output.weight" not in arrays and "model/tgt_embedding.weight" in arrays
    loaded = load_translator(path)
    assert loaded.model.config.tie_weights and loaded.model.config == cfg
    for k, v in tr.model.params.items():
        assert np.array_equal(loaded.model.params[k], v), k
    sentences = ["a b c", "c a", "b"]
    want = translate(tr, sentences, beam_size=2, max_len=6)
    got = translate(loaded, sentences, beam_size=2, max_len=6)
    assert [t[0].ids for t in got] == [t[0].ids for t in want]
    assert [t[0].score for t in got] == [t[0].score for t in want]


def test_a_checkpoint_written_before_tying_existed_loads_untied(tmp_path):
    tr = _translator(_config(src_vocab_size=7, tgt_vocab_size=6, dtype="float32"))
    meta = tr.meta()
    del meta["seq2seq_config"]["tie_weights"]  # as older versions wrote it
    arrays = {"model/" + k: v for k, v in tr.model.params.items()}
    path = ckpt.save_checkpoint(tmp_path / "old.safetensors", arrays, {"kind": "seq2seq-model", "task": meta})
    loaded = load_translator(path)
    assert loaded.model.config.tie_weights is False and "output.weight" in loaded.model.params
    assert np.array_equal(loaded.model.params["output.weight"], tr.model.params["output.weight"])
