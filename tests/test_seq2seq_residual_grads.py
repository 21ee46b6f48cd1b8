"""Seq2Seq with a residual encoder (y_k = z_k + y_{k-1} from the second layer on): every entry of every parameter
against float64 central differences (plain, layer-normalized, peephole and both), and the loss and every gradient
against a torch autograd version of the same model on the same weights."""
from __future__ import annotations

import numpy as np
import pytest
from fullfd import assert_every_entry, randomise
from seq2seq_tiny import _batch, _config, _one_blas_thread  # noqa: F401 (_one_blas_thread is a fixture)
from seq2seq_torch import _assert_matches_torch, _torch_bridge, _torch_decode, _torch_decoder

from rnnkit.seq2seq.model import Seq2Seq

TINY = dict(src_embedding_dim=2, tgt_embedding_dim=3, encoder_hidden_size=2, decoder_hidden_size=3, decoder_layers=1,
            attention_size=3, residual=True)
FD_CASES = [
    dict(cell="lstm", attention="general", layer_norm=True, peephole=True, bidirectional=False, weight_drop=0.3,
         sampling_rate=0.5),
    dict(cell="gru", attention="dot", input_feeding=False),
    dict(cell="rnn", attention="additive", layer_norm=True, bidirectional=False, encoder_layers=3),
    dict(cell="lstm", attention="additive", peephole=True, bidirectional=False, dropout=0.3, tie_weights=True),
]


@pytest.mark.parametrize("case", FD_CASES, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_residual_encoder_gradient_matches_finite_differences_at_every_entry(case):
    case = dict(case)
    rate = case.pop("sampling_rate", 0.0)
    rng = np.random.default_rng(3)
    model = Seq2Seq(_config(**{**TINY, **case}), rng)
    randomise(model.params, rng)
    batch = _batch(rng, S=5, B=3, T=5)
    training = model.config.dropout > 0 or model.config.weight_drop > 0 or rate > 0
    dloss = float(rng.uniform(0.5, 1.5))

    def loss():  # a fixed seed: the same dropout masks and sampled tokens at every call
        return dloss * model.forward(*batch, training=training, rng=np.random.default_rng(7), sampling_rate=rate)[0]

    _, cache = model.forward(*batch, training=training, rng=np.random.default_rng(7), sampling_rate=rate)
    assert_every_entry(loss, model.params, model.backward(dloss, cache))


def _torch_residual_loss(torch, cfg, params, src, lengths, tgt_in, tgt_out, tgt_mask):
    """The model with one torch.nn RNN/LSTM/GRU per encoder layer over packed sequences, adding each layer's
    input to its output from the second layer on; returns (loss, {our name: tensor})."""
    nn = torch.nn
    H, L, dirs = cfg.decoder_hidden_size, cfg.decoder_layers, 2 if cfg.bidirectional else 1
    Hk = cfg.encoder_hidden_size * dirs
    rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cfg.cell]
    m = nn.Module()
    m.src_embedding = nn.Embedding(cfg.src_vocab_size, cfg.src_embedding_dim)
    m.enc = nn.ModuleList([rnn(cfg.src_embedding_dim if k == 0 else Hk, cfg.encoder_hidden_size, 1,
                               bidirectional=cfg.bidirectional) for k in range(cfg.encoder_layers)])
    m.bridge = nn.Linear(Hk, L * H)
    if cfg.cell == "lstm":
        m.bridge_c = nn.Linear(Hk, L * H)
    _torch_decoder(torch, m, cfg.cell, cfg.tgt_vocab_size, cfg.tgt_embedding_dim, H, L, cfg.input_feeding,
                   Hk if cfg.attention != "none" else 0)
    m.attention = nn.Module()
    for k, v in params.items():
        if k.startswith("attention."):
            setattr(m.attention, k.split(".")[1], nn.Parameter(torch.zeros(v.shape)))
    m = m.double()
    named = {}
    for tname, p in m.named_parameters():  # enc.<k>.weight_ih_l0_reverse is our encoder.weight_ih_l<k>_reverse
        part = tname.split(".")
        named["encoder." + part[2].replace("_l0", f"_l{part[1]}") if part[0] == "enc" else tname] = p
    assert set(named) == set(params), f"names differ: {set(named) ^ set(params)}"
    with torch.no_grad():
        for k, v in params.items():
            named[k].copy_(torch.from_numpy(v))
    S = src.shape[0]
    y = m.src_embedding(torch.from_numpy(src))
    for k, layer in enumerate(m.enc):
        z, final = layer(nn.utils.rnn.pack_padded_sequence(y, torch.from_numpy(lengths), enforce_sorted=False))
        z, _ = nn.utils.rnn.pad_packed_sequence(z, total_length=S)
        y = z + y if k > 0 else z
    srcs = [torch.cat(list(s), dim=1) for s in (final if cfg.cell == "lstm" else (final,))]  # top layer (B, Hk)
    state = _torch_bridge(torch, m, cfg.cell, L, H, srcs)
    mask = torch.from_numpy(np.arange(S)[None, :] < lengths[:, None])
    return _torch_decode(torch, m, cfg.attention, cfg.input_feeding, state, y.transpose(0, 1), mask,
                         tgt_in, tgt_out, tgt_mask), named


TORCH_CASES = [dict(cell="lstm", attention="general"), dict(cell="gru", attention="additive"),
               dict(cell="rnn", attention="dot", input_feeding=False), dict(cell="lstm", attention="none"),
               dict(cell="gru", attention="general", bidirectional=False)]


@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_residual_encoder_matches_pytorch(case):
    """The loss and every gradient (dloss != 1) to 1e-9 in float64."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(21)
    model = Seq2Seq(_config(**{"encoder_layers": 3, "residual": True, **case}), rng)
    randomise(model.params, rng)
    batch, dloss = _batch(rng), float(rng.uniform(0.5, 1.5))
    t_loss, named = _torch_residual_loss(torch, model.config, model.params, *batch)
    (dloss * t_loss).backward()
    loss, cache = model.forward(*batch)
    _assert_matches_torch(loss, model.backward(dloss, cache), t_loss, named)
