"""Seq2Seq and VectorDecoder written again with torch.nn modules and autograd: the reference the parity tests
(test_seq2seq_torch_parity, test_seq2seq_tied, test_seq2seq_vector_tied) compare the loss and every gradient with."""
from __future__ import annotations

import numpy as np


def _torch_decoder(torch, m, cell, vocab, E, H, L, input_feeding, Hk, copy=False):
    """Adds the decoder's modules to m; Hk is the attention memory's width (0 without attention); copy: the
    copy gate, an nn.Linear(Hk + H + E, 1) inside the decoder (decoder.copy_gate.*)."""
    nn = torch.nn
    m.tgt_embedding = nn.Embedding(vocab, E)
    m.decoder = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](E + (H if input_feeding else 0), H, L)
    if copy:
        m.decoder.copy_gate = nn.Linear(Hk + H + E, 1)
    m.combine = nn.Linear(H + Hk, H)
    m.output = nn.Linear(H, vocab)


def _torch_load(torch, m, params):
    """m in float64 holding copies of params (the same names); returns its named parameters."""
    m = m.double()
    named = dict(m.named_parameters())
    assert set(named) == set(params), f"names differ: {set(named) ^ set(params)}"
    with torch.no_grad():
        for k, v in params.items():
            named[k].copy_(torch.from_numpy(v))
    return named


def _torch_bridge(torch, m, cell, L, H, srcs):
    """The decoder's initial state (L, B, H), a tuple (h, c) for LSTM, from the bridge inputs (B, F)."""
    B = srcs[0].shape[0]
    inits = [torch.tanh(lin(s)).reshape(B, L, H).transpose(0, 1).contiguous()
             for lin, s in zip((m.bridge, getattr(m, "bridge_c", None)), srcs)]
    return tuple(inits) if cell == "lstm" else inits[0]


def _torch_decode(torch, m, attention, input_feeding, state, values, mask, tgt_in, tgt_out, tgt_mask, src_ext=None,
                  coverage_loss=0.0):
    """Teacher-forced summed NLL where tgt_mask; values (B, S, Hk) and mask (B, S) feed the attention.  With
    src_ext (S, B), copy attention: P = p_gen softmax + (1 - p_gen) a scattered onto the extended ids, an
    extended id read as <unk> (3).  With attention.w_cov, coverage: the additive score's tanh reads w_cov cov_t,
    cov_t the sum of the earlier weights, and the loss adds coverage_loss * sum mask_t sum min(a_t, cov_t)."""
    if src_ext is not None:
        tgt_in = np.where(tgt_in >= m.output.out_features, 3, tgt_in)
    mixed = []
    B, H = tgt_in.shape[1], m.combine.out_features
    feed = torch.zeros(B, H, dtype=torch.float64)
    emb = m.tgt_embedding(torch.from_numpy(tgt_in))  # (T, B, E)
    logits = []
    coverage = hasattr(getattr(m, "attention", None), "w_cov")
    cov = None if values is None else torch.zeros(values.shape[:2], dtype=torch.float64)  # (B, S)
    cov_loss = torch.zeros((), dtype=torch.float64)
    for t in range(tgt_in.shape[0]):
        x = torch.cat([emb[t], feed], dim=1) if input_feeding else emb[t]
        out, state = m.decoder(x[None], state)
        h = out[0]
        if attention == "none":
            comb = h
        else:
            a = m.attention
            if attention == "additive":
                pre = values @ a.W_k.T + (h @ a.W_q.T)[:, None, :]
                scores = torch.tanh(pre + cov[:, :, None] * a.w_cov if coverage else pre) @ a.v
            else:
                keys = values @ a.W.T if attention == "general" else values
                scores = (keys @ h[:, :, None])[:, :, 0]
            weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
            context = (weights[:, None, :] @ values)[:, 0, :]
            comb = torch.cat([context, h], dim=1)
            if coverage:
                m_t = torch.from_numpy(tgt_mask[t].astype(np.float64))
                cov_loss = cov_loss + coverage_loss * (m_t * torch.minimum(weights, cov).sum(dim=1)).sum()
                cov = cov + weights
        feed = torch.tanh(m.combine(comb))
        logits.append(m.output(feed))
        if src_ext is not None:
            p_gen = torch.sigmoid(m.decoder.copy_gate(torch.cat([comb, emb[t]], dim=1)))  # (B, 1)
            ext = torch.from_numpy(np.ascontiguousarray(src_ext.T))  # (B, S)
            probs = torch.cat([p_gen * torch.softmax(logits[-1], dim=1),
                               torch.zeros(B, int(ext.max()) + 1 - logits[-1].shape[1], dtype=torch.float64)], dim=1)
            mixed.append(probs.scatter_add(1, ext, (1 - p_gen) * weights))
    if src_ext is not None:
        nll = -torch.log(torch.stack(mixed).gather(2, torch.from_numpy(tgt_out)[:, :, None])[:, :, 0])
        return (nll * torch.from_numpy(tgt_mask.astype(np.float64))).sum() + cov_loss
    V = m.output.out_features
    nll = torch.nn.functional.cross_entropy(torch.stack(logits).reshape(-1, V), torch.from_numpy(tgt_out).reshape(-1),
                                            reduction="none")
    return (nll * torch.from_numpy(tgt_mask.reshape(-1).astype(np.float64))).sum() + cov_loss


def _torch_loss(torch, cfg, params, src, lengths, tgt_in, tgt_out, tgt_mask, src_ext=None, coverage_loss=0.0):
    """The same model written with torch.nn modules and autograd; returns (loss, {name: tensor}).  src_ext (S, B):
    a copy model's source extended ids; coverage_loss: a coverage model's lambda."""
    nn = torch.nn
    H, L = cfg.decoder_hidden_size, cfg.decoder_layers
    dirs = 2 if cfg.bidirectional else 1
    Hk = cfg.encoder_hidden_size * dirs
    rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cfg.cell]
    m = nn.Module()
    m.src_embedding = nn.Embedding(cfg.src_vocab_size, cfg.src_embedding_dim)
    m.encoder = rnn(cfg.src_embedding_dim, cfg.encoder_hidden_size, cfg.encoder_layers, bidirectional=cfg.bidirectional)
    m.bridge = nn.Linear(Hk, L * H)
    if cfg.cell == "lstm":
        m.bridge_c = nn.Linear(Hk, L * H)
    _torch_decoder(torch, m, cfg.cell, cfg.tgt_vocab_size, cfg.tgt_embedding_dim, H, L, cfg.input_feeding,
                   Hk if cfg.attention != "none" else 0, cfg.copy)
    if cfg.tie_weights:  # one Parameter in both places: autograd sums the gradients of its two uses
        m.output.weight = m.tgt_embedding.weight
    m.attention = nn.Module()
    for k, v in params.items():
        if k.startswith("attention."):
            setattr(m.attention, k.split(".")[1], nn.Parameter(torch.zeros(v.shape)))
    named = _torch_load(torch, m, params)

    S = src.shape[0]
    packed = nn.utils.rnn.pack_padded_sequence(m.src_embedding(torch.from_numpy(src)), torch.from_numpy(lengths),
                                               enforce_sorted=False)
    enc_out, enc_state = m.encoder(packed)
    enc_out, _ = nn.utils.rnn.pad_packed_sequence(enc_out, total_length=S)  # (S, B, Hk)
    states = enc_state if cfg.cell == "lstm" else (enc_state,)
    srcs = [torch.cat(list(s[-dirs:]), dim=1) for s in states]  # top layer, each direction
    state = _torch_bridge(torch, m, cfg.cell, L, H, srcs)
    mask = torch.from_numpy(np.arange(S)[None, :] < lengths[:, None])
    loss = _torch_decode(torch, m, cfg.attention, cfg.input_feeding, state, enc_out.transpose(0, 1), mask,
                         tgt_in, tgt_out, tgt_mask, src_ext, coverage_loss)
    return loss, named


def _torch_vector_loss(torch, cfg, params, feats, tgt_in, tgt_out, tgt_mask):
    """VectorDecoder written with torch.nn modules and autograd; returns (loss, {name: tensor})."""
    nn = torch.nn
    H, L = cfg.hidden_size, cfg.num_layers
    m = nn.Module()
    m.bridge = nn.Linear(cfg.feature_size, L * H)
    if cfg.cell == "lstm":
        m.bridge_c = nn.Linear(cfg.feature_size, L * H)
    _torch_decoder(torch, m, cfg.cell, cfg.tgt_vocab_size, cfg.embedding_dim, H, L, cfg.input_feeding, 0)
    if cfg.tie_weights:  # one Parameter in both places: autograd sums the gradients of its two uses
        m.output.weight = m.tgt_embedding.weight
    named = _torch_load(torch, m, params)
    f = torch.from_numpy(feats)
    state = _torch_bridge(torch, m, cfg.cell, L, H, [f, f] if cfg.cell == "lstm" else [f])
    return _torch_decode(torch, m, "none", cfg.input_feeding, state, None, None, tgt_in, tgt_out, tgt_mask), named


def _assert_matches_torch(loss, grads, t_loss, named):
    assert set(grads) == set(named), f"gradient keys differ: {set(grads) ^ set(named)}"
    assert abs(loss - t_loss.item()) < 1e-9 * max(1.0, abs(loss)), f"loss {loss} vs torch {t_loss.item()}"
    for name, p in named.items():
        diff = float(np.max(np.abs(grads[name] - p.grad.numpy())))
        assert diff < 1e-9, f"{name}: max difference {diff:.3e}"  # float64: the brief's 1e-6 is loose
