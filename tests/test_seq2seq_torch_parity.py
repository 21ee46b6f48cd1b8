"""Seq2Seq and VectorDecoder against the same models in PyTorch (seq2seq_torch): the loss and every gradient,
in float64, for each cell and attention, a one-direction encoder, no input feeding and 3 decoder layers."""
from __future__ import annotations

import numpy as np
import pytest
from seq2seq_tiny import V_TGT, _batch, _config, _randomise
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)
from seq2seq_torch import _assert_matches_torch, _torch_loss, _torch_vector_loss

from rnnkit.seq2seq.model import Seq2Seq, VectorDecoder, VectorDecoderConfig


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("attention", ["none", "additive", "dot", "general"])
def test_matches_pytorch(attention, cell):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    cfg = _config(cell=cell, attention=attention, encoder_hidden_size=3, decoder_hidden_size=5)
    model = Seq2Seq(cfg, rng)
    _randomise(model, rng)
    src, lengths, tgt_in, tgt_out, tgt_mask = _batch(rng)
    loss, cache = model.forward(src, lengths, tgt_in, tgt_out, tgt_mask)
    grads = model.backward(1.0, cache)
    t_loss, named = _torch_loss(torch, cfg, model.params, src, lengths, tgt_in, tgt_out, tgt_mask)
    t_loss.backward()
    _assert_matches_torch(loss, grads, t_loss, named)


TORCH_CASES = [dict(cell="rnn", attention=a) for a in ("none", "additive", "dot", "general")]
TORCH_CASES += [
    dict(cell="rnn", attention="additive", bidirectional=False, input_feeding=False, decoder_layers=3),
    dict(cell="rnn", attention="dot", bidirectional=False, encoder_layers=1, decoder_layers=3),
    dict(cell="lstm", attention="general", bidirectional=False, input_feeding=False, decoder_layers=3),
    dict(cell="lstm", attention="dot", input_feeding=False, encoder_layers=1, decoder_layers=3),
    dict(cell="gru", attention="none", bidirectional=False, input_feeding=False, decoder_layers=3),
    dict(cell="gru", attention="additive", bidirectional=False, encoder_layers=1, decoder_layers=3),
]


@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_other_configurations_match_pytorch(case):
    """The rnn cell, a one-direction encoder, no input feeding and 3 decoder layers (which
    test_matches_pytorch does not reach) against torch autograd: the loss and every gradient, dloss != 1."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    cfg = _config(**case)
    model = Seq2Seq(cfg, rng)
    _randomise(model, rng)
    batch = _batch(rng)
    dloss = float(rng.uniform(0.5, 1.5))
    loss, cache = model.forward(*batch)
    grads = model.backward(dloss, cache)
    t_loss, named = _torch_loss(torch, cfg, model.params, *batch)
    (dloss * t_loss).backward()
    _assert_matches_torch(loss, grads, t_loss, named)


@pytest.mark.parametrize("input_feeding", [False, True], ids=["", "input-feeding"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_vector_decoder_matches_pytorch(cell, input_feeding):
    """VectorDecoder (bridge from the features, 2 layers) against torch autograd: the loss and every
    gradient, dloss != 1."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    cfg = VectorDecoderConfig(6, V_TGT, cell=cell, embedding_dim=3, hidden_size=4, num_layers=2,
                              input_feeding=input_feeding, dtype="float64")
    model = VectorDecoder(cfg, rng)
    _randomise(model, rng)
    feats = rng.standard_normal((3, 6))
    _, _, tgt_in, tgt_out, tgt_mask = _batch(rng)
    dloss = float(rng.uniform(0.5, 1.5))
    loss, cache = model.forward(feats, tgt_in, tgt_out, tgt_mask)
    grads = model.backward(dloss, cache)
    t_loss, named = _torch_vector_loss(torch, cfg, model.params, feats, tgt_in, tgt_out, tgt_mask)
    (dloss * t_loss).backward()
    _assert_matches_torch(loss, grads, t_loss, named)
