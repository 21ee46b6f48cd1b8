"""Seq2Seq and VectorDecoder: whole-model gradients, masks, and two toy tasks learned (PyTorch parity:
test_seq2seq_torch_parity.py).

Finite differences in float64 with random non-zero parameters (biases too), a random dloss,
padded source and target batches of unequal lengths, T = 6 target steps.
"""
from __future__ import annotations

import numpy as np
import pytest
from seq2seq_tiny import V_SRC, V_TGT, _batch, _check_gradients, _config, _randomise
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)

from rnnkit.optim import clip_grad_norm, make_optimizer
from rnnkit.seq2seq import toy
from rnnkit.seq2seq.decode import greedy_decode
from rnnkit.seq2seq.model import (
    Seq2Seq,
    Seq2SeqConfig,
    VectorDecoder,
    VectorDecoderConfig,
)


GRAD_CASES = [dict(cell=c, attention=a) for c in ("lstm", "gru") for a in ("none", "additive", "dot", "general")]
GRAD_CASES += [
    dict(cell="rnn", attention="additive"),
    dict(cell="gru", attention="general", input_feeding=False, bidirectional=False, encoder_layers=1),
    dict(cell="lstm", attention="dot", decoder_layers=1, dropout=0.3),
    dict(cell="gru", attention="additive", sampling_rate=0.5),
    dict(cell="lstm", attention="general", weight_drop=0.4),
    dict(cell="gru", attention="additive", weight_drop=0.3, dropout=0.2),
    dict(cell="rnn", attention="none", weight_drop=0.5),
    dict(cell="lstm", attention="general", peephole=True),  # encoder and decoder: weight_ci, weight_cf, weight_co
    dict(cell="lstm", attention="additive", peephole=True, weight_drop=0.3, dropout=0.2, bidirectional=False),
    # layer-normalized encoder and decoder (ln_*_l{k}; tests/test_seq2seq_layer_norm.py has the rest)
    dict(cell="lstm", attention="general", layer_norm=True),
    dict(cell="gru", attention="additive", layer_norm=True, weight_drop=0.3, dropout=0.2),
    dict(cell="rnn", attention="none", layer_norm=True, bidirectional=False),
    dict(cell="lstm", attention="dot", layer_norm=True, decoder_layers=1, input_feeding=False, sampling_rate=0.5),
    dict(cell="lstm", attention="additive", layer_norm=True, peephole=True, weight_drop=0.3),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_seq2seq_gradient_matches_finite_differences(case):
    case = dict(case)
    rate = case.pop("sampling_rate", 0.0)
    rng = np.random.default_rng(0)
    model = Seq2Seq(_config(**case), rng)
    _randomise(model, rng)
    batch = _batch(rng)
    training = model.config.dropout > 0 or model.config.weight_drop > 0 or rate > 0

    def loss():  # a fixed seed: the same dropout masks and sampled tokens at every call
        return model.forward(*batch, training=training, rng=np.random.default_rng(7), sampling_rate=rate)[0]

    _, cache = model.forward(*batch, training=training, rng=np.random.default_rng(7), sampling_rate=rate)
    dloss = float(rng.uniform(0.5, 1.5))
    _check_gradients(loss, model.params, model.backward(dloss, cache), rng, dloss)


@pytest.mark.parametrize("cell,weight_drop", [("lstm", 0.0), ("gru", 0.0), ("lstm", 0.4), ("gru", 0.4)])
def test_vector_decoder_gradient_matches_finite_differences(cell, weight_drop):
    rng = np.random.default_rng(1)
    model = VectorDecoder(VectorDecoderConfig(6, V_TGT, cell=cell, embedding_dim=3, hidden_size=4, num_layers=2,
                                              input_feeding=True, dtype="float64", weight_drop=weight_drop), rng)
    _randomise(model, rng)
    feats = rng.standard_normal((3, 6))
    _, _, tgt_in, tgt_out, tgt_mask = _batch(rng)
    training = weight_drop > 0

    def loss():  # a fixed seed: the same masks at every call
        return model.forward(feats, tgt_in, tgt_out, tgt_mask, training=training, rng=np.random.default_rng(7))[0]

    _, cache = model.forward(feats, tgt_in, tgt_out, tgt_mask, training=training, rng=np.random.default_rng(7))
    dloss = float(rng.uniform(0.5, 1.5))
    grads = model.backward(dloss, cache)
    _check_gradients(loss, model.params, grads, rng, dloss)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_weight_drop_equals_a_plain_model_with_masked_recurrent_weights(cell):
    """A training pass with weight drop is the plain model (whose gradients test_matches_pytorch checks
    against torch) run with W_hh * M / (1-p) for the masks it drew, in the encoder (both directions, both
    layers) and the decoder; W_hh's gradient is that model's times M / (1-p), so a dropped weight gets
    exactly zero, and every other gradient is the same.  Evaluation ignores the masks."""
    p = 0.4
    rng = np.random.default_rng(4)
    model = Seq2Seq(_config(cell=cell, attention="additive", weight_drop=p), rng)
    _randomise(model, rng)
    plain = Seq2Seq(_config(cell=cell, attention="additive"), rng)
    batch = _batch(rng)
    loss, cache = model.forward(*batch, training=True, rng=np.random.default_rng(3))
    grads = model.backward(1.0, cache)
    (_, _, c_enc, _, _), c_dec = cache
    masks = {f"decoder.weight_hh_l{k}": m for k, m in enumerate(c_dec.hh_masks)}
    for layer, lc in enumerate(c_enc.layers):
        for d, m in enumerate(lc.hh_masks):
            masks[f"encoder.weight_hh_l{layer}" + ("_reverse" if d else "")] = m
    assert len(masks) == 6 and all(m is not None for m in masks.values())
    for name, m in masks.items():
        assert set(np.unique(m)) == {0.0, 1.0 / (1.0 - p)}, name
        assert 0.25 < np.mean(m == 0) < 0.55, f"{name}: {np.mean(m == 0):.2f} of the weights dropped"
    for name, v in model.params.items():
        plain.params[name][...] = v * masks[name] if name in masks else v
    p_loss, p_cache = plain.forward(*batch)
    p_grads = plain.backward(1.0, p_cache)
    assert abs(loss - p_loss) < 1e-12 * abs(loss), f"loss {loss} vs masked plain model {p_loss}"
    for name, g in grads.items():
        want = p_grads[name] * masks[name] if name in masks else p_grads[name]
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-14, err_msg=name)
        if name in masks:
            assert np.all(g[masks[name] == 0] == 0.0), name
    with pytest.raises(ValueError, match="rng"):
        model.forward(*batch, training=True)
    for name, v in model.params.items():  # evaluation: the unmasked weights
        plain.params[name][...] = v
    assert model.forward(*batch)[0] == plain.forward(*batch)[0]


def test_padding_changes_nothing():
    """Tokens at padded source or target positions leave the loss and every gradient unchanged."""
    rng = np.random.default_rng(2)
    model = Seq2Seq(_config(attention="additive"), rng)
    _randomise(model, rng)
    src, lengths, tgt_in, tgt_out, tgt_mask = _batch(rng)
    loss, cache = model.forward(src, lengths, tgt_in, tgt_out, tgt_mask)
    grads = model.backward(1.0, cache)
    src2, tgt_in2, tgt_out2 = src.copy(), tgt_in.copy(), tgt_out.copy()
    pad_src = np.arange(src.shape[0])[:, None] >= lengths[None, :]
    src2[pad_src] = (src2[pad_src] + 1) % V_SRC
    tgt_in2[~tgt_mask] = (tgt_in2[~tgt_mask] + 1) % V_TGT
    tgt_out2[~tgt_mask] = (tgt_out2[~tgt_mask] + 2) % V_TGT
    loss2, cache2 = model.forward(src2, lengths, tgt_in2, tgt_out2, tgt_mask)
    grads2 = model.backward(1.0, cache2)
    assert abs(loss2 - loss) < 1e-12, f"loss differs by {abs(loss2 - loss)}"
    for name in grads:
        diff = np.max(np.abs(grads[name] - grads2[name]))
        assert diff < 1e-12, f"{name}: max difference {diff}"
    weights = model.attention_weights(src, lengths, tgt_in)  # (T, B, S)
    assert np.all(weights[:, pad_src.T] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=2), 1.0, atol=1e-12)


def test_scheduled_sampling_feeds_model_tokens():
    rng = np.random.default_rng(3)
    model = Seq2Seq(_config(cell="gru"), rng)
    _randomise(model, rng)
    batch = _batch(rng)
    plain = model.forward(*batch)[0]
    assert model.forward(*batch, training=True, rng=np.random.default_rng(0), sampling_rate=0.0)[0] == plain
    sampled = model.forward(*batch, training=True, rng=np.random.default_rng(0), sampling_rate=1.0)[0]
    assert sampled != plain
    with pytest.raises(ValueError, match="rng"):
        model.forward(*batch, sampling_rate=0.5)


def test_config_and_input_errors():
    with pytest.raises(ValueError, match="attention one of"):
        _config(attention="cosine")
    with pytest.raises(ValueError, match="decoder_hidden_size == 6"):
        Seq2SeqConfig(5, 5, encoder_hidden_size=3, decoder_hidden_size=4, attention="dot")
    with pytest.raises(ValueError, match="cell"):
        _config(cell="transformer")
    with pytest.raises(ValueError, match=r"weight_drop in \[0, 1\)"):
        _config(weight_drop=1.0)
    with pytest.raises(ValueError, match=r"weight_drop in \[0, 1\)"):
        VectorDecoderConfig(4, 5, weight_drop=-0.1)
    rng = np.random.default_rng(0)
    model = Seq2Seq(_config(), rng)
    src, lengths, tgt_in, tgt_out, tgt_mask = _batch(rng)
    with pytest.raises(ValueError, match="src_lengths"):
        model.forward(src, np.array([9, 1, 1]), tgt_in, tgt_out, tgt_mask)
    with pytest.raises(ValueError, match="tgt_in ids"):
        model.forward(src, lengths, tgt_in + V_TGT, tgt_out, tgt_mask)
    with pytest.raises(TypeError, match="src as a 2-D integer array"):
        model.forward(src.astype(float), lengths, tgt_in, tgt_out, tgt_mask)
    with pytest.raises(ValueError, match="tgt_mask"):
        model.forward(src, lengths, tgt_in, tgt_out, tgt_mask[:2])
    vec = VectorDecoder(VectorDecoderConfig(4, 5), rng)
    with pytest.raises(ValueError, match=r"features of shape \(B, F=4\)"):
        vec.encode(np.zeros((2, 3), np.float32))


def _train(model, make, steps, lr, rng):
    opt = make_optimizer("adam", model.params, lr=lr)
    for step in range(steps):
        opt.lr = lr * (1.0 - step / steps)  # linear decay: the last steps settle instead of bouncing
        inputs, mask = make()
        loss, cache = model.forward(*inputs, training=True, rng=rng)
        grads = model.backward(1.0 / mask.sum(), cache)
        clip_grad_norm(grads, 5.0)
        opt.step(grads)


def test_reverse_task_is_learned():
    rng = np.random.default_rng(0)
    vocab = toy.task_vocab("reverse", num_symbols=8)
    held_out = toy.reverse_pairs(300, np.random.default_rng(123), 3, 6, 8)
    unseen = {tuple(s) for s, _ in held_out}
    cfg = Seq2SeqConfig(len(vocab), len(vocab), cell="gru", src_embedding_dim=16, tgt_embedding_dim=16,
                        encoder_hidden_size=16, decoder_hidden_size=32, attention="general")
    model = Seq2Seq(cfg, rng)

    def make():
        pairs = [p for p in toy.reverse_pairs(64, rng, 3, 6, 8) if tuple(p[0]) not in unseen]
        b = toy.make_batch(pairs, vocab)
        return b, b.tgt_mask

    _train(model, make, 500, 1e-2, rng)
    test = toy.make_batch(held_out, vocab)
    hyps = greedy_decode(model, test.src, test.src_lengths, 8, toy.BOS, toy.EOS)
    acc = toy.exact_match([h.tokens for h in hyps], [vocab.encode(t) for _, t in held_out])
    assert acc >= 0.99, f"exact match on held-out reversals {acc:.3f}"


def test_number_to_words_is_learned_from_a_vector():
    rng = np.random.default_rng(0)
    vocab = toy.number_vocab()
    numbers = rng.permutation(10000)
    train, held_out = numbers[:3000], numbers[3000:3500]
    model = VectorDecoder(VectorDecoderConfig(40, len(vocab), cell="gru", embedding_dim=16, hidden_size=64), rng)

    def make():
        nums = rng.choice(train, 64)
        tgt = toy.target_arrays([vocab.encode(toy.number_to_words(n)) for n in nums])
        return (toy.number_features(nums, 4), *tgt), tgt[2]

    _train(model, make, 500, 1e-2, rng)
    hyps = greedy_decode(model, toy.number_features(held_out, 4), None, 10, toy.BOS, toy.EOS)
    words = [vocab.decode(h.tokens) for h in hyps]
    acc = np.mean([w == toy.number_to_words(n) for w, n in zip(words, held_out)])
    assert acc >= 0.95, f"exact match on held-out numbers {acc:.3f}"


def test_peepholes_act_in_encoder_and_decoder():
    """The finite differences above pass on an unused parameter too (both gradients 0): each peephole must move
    the loss, and a peephole model equals the plain one when its peepholes are 0."""
    rng = np.random.default_rng(2)
    model = Seq2Seq(_config(peephole=True, encoder_layers=1, decoder_layers=1), rng)
    _randomise(model, rng)
    batch = _batch(rng)
    loss, cache = model.forward(*batch)
    grads = model.backward(1.0, cache)
    for name in ("encoder.weight_ci_l0", "encoder.weight_co_l0_reverse", "decoder.weight_cf_l0",
                 "decoder.weight_co_l0"):
        assert np.abs(grads[name]).max() > 1e-4, name
    plain = Seq2Seq(_config(encoder_layers=1, decoder_layers=1), np.random.default_rng(0))
    for k in plain.params:
        plain.params[k][...] = model.params[k]
    for k in model.params:
        if ".weight_c" in k:
            model.params[k][...] = 0.0
    np.testing.assert_allclose(model.forward(*batch)[0], plain.forward(*batch)[0], rtol=1e-12)
    assert abs(model.forward(*batch)[0] - loss) > 1e-6
    with pytest.raises(ValueError, match=r"Expected peephole=False for cell 'gru'"):
        _config(cell="gru", peephole=True)
