"""Copy attention's (rnnkit.seq2seq.copy) backward: float64 finite differences on every entry of every
parameter (the copy gate and both embeddings included) for several cells and attentions, with unequal source
and target lengths, T = 6, random parameters and a random upstream gradient; and the same loss and every
gradient as the model written in PyTorch (seq2seq_torch)."""
from __future__ import annotations

import numpy as np
import pytest
from seq2seq_tiny import V_SRC, V_TGT, _config, _randomise, assert_float32_follows, assert_rows_add_up
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)
from seq2seq_torch import _assert_matches_torch, _torch_loss

from rnnkit.data.parallel import UNK_ID
from rnnkit.gradcheck import numeric_grad_at
from rnnkit.seq2seq import decoder_teacher
from rnnkit.seq2seq.copy import GATE, fed_ids
from rnnkit.seq2seq.model import Seq2Seq

S, B, T = 5, 3, 6
LENGTHS = np.array([5, 2, 4])
TGT_LENGTHS = np.array([6, 3, 5])


def copy_batch(rng):
    """A batch whose sources hold extended ids (V, V + 1, V + 2: words outside the target vocabulary, some twice)
    and target ids too, and whose targets hold extended ids, in-vocabulary ids that are also in the source (both
    paths at once), other ids, and extended ids fed back as inputs."""
    V = V_TGT
    src = rng.integers(0, V_SRC, (S, B))
    ext = np.array([[4, V, V + 1, V, 5], [V + 1, 4, 0, 0, 0], [V, V + 2, 5, V + 2, 0]]).T  # (S, B), PAD past length
    tgt_out = np.array([[V, 4, V + 1, 5, 3, 2], [V + 1, 4, 2, 0, 0, 0], [V + 2, V, 5, 3, 2, 0]]).T  # (T, B)
    tgt_in = np.vstack([np.full((1, B), 1), tgt_out[:-1]])  # BOS, then the gold ids (extended ones too)
    mask = np.arange(T)[:, None] < TGT_LENGTHS[None, :]
    return src, LENGTHS, tgt_in, tgt_out, mask, ext


CASES = [dict(cell="gru", attention="general", encoder_layers=1, decoder_layers=1),
         dict(cell="lstm", attention="additive", decoder_layers=2, encoder_layers=1),
         dict(cell="rnn", attention="dot", input_feeding=False, bidirectional=False, encoder_layers=1,
              decoder_layers=1),
         dict(cell="gru", attention="general", encoder_layers=1, decoder_layers=1, dropout=0.3, weight_drop=0.3),
         dict(cell="gru", attention="additive", encoder_layers=1, decoder_layers=1, tgt_embedding_dim=5,
              tie_weights=True, sampling_rate=0.5)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_every_gradient_entry_matches_finite_differences(case, monkeypatch):
    case = dict(case)
    rate = case.pop("sampling_rate", 0.0)
    drawn = []  # scheduled sampling's draws: with copy, from the mixture over the extended vocabulary
    sample = decoder_teacher._sample
    monkeypatch.setattr(decoder_teacher, "_sample", lambda *a: drawn.append(sample(*a)) or drawn[-1])
    rng = np.random.default_rng(3)
    model = Seq2Seq(_config(copy=True, **case), rng)
    _randomise(model, rng)
    assert model.params[GATE + "weight"].shape == (1, model.spec.memory_size + model.spec.hidden_size
                                                   + model.spec.embedding_dim)
    *batch, ext = copy_batch(rng)
    training = model.config.dropout > 0 or model.config.weight_drop > 0 or rate > 0

    def loss():  # a fixed seed: the same dropout masks and sampled tokens at every call
        return model.forward(*batch, training=training, rng=np.random.default_rng(7), sampling_rate=rate,
                             src_ext=ext)[0]

    drawn.clear()
    _, cache = model.forward(*batch, training=training, rng=np.random.default_rng(7), sampling_rate=rate, src_ext=ext)
    if rate > 0:  # the case covers a copied extended id drawn and fed (as <unk>), not only P_vocab's words
        fed = cache[1].emb.ids.reshape(cache[1].emb.shape)  # (T, B) the ids the decoder read
        gold = fed_ids(batch[2], V_TGT)  # (T, B) tgt_in as read without sampling
        copied = (np.stack(drawn) >= V_TGT) & (fed[1:] == UNK_ID) & (gold[1:] != UNK_ID)  # (T - 1, B)
        assert copied.any(), (drawn, fed)
    dloss = float(rng.uniform(0.5, 1.5))
    grads = model.backward(dloss, cache)
    assert set(grads) == set(model.params)
    for name, p in model.params.items():
        num = dloss * numeric_grad_at(loss, p, range(p.size), 1e-6)
        diff = np.abs(grads[name].reshape(-1) - num) / (1e-7 + 1e-5 * np.abs(num))
        assert diff.max() < 1.0, f"{name}: entry {int(diff.argmax())} off by {diff.max():.2f} x (1e-7 + 1e-5 |num|)"
    assert np.abs(grads[GATE + "weight"]).max() > 1e-3  # the gate is really in the loss


def test_padding_and_batch_companions_change_nothing():
    """A sentence's loss and gradients are its own: the batch of three equals the sum of three batches of one."""
    rng = np.random.default_rng(5)
    model = Seq2Seq(_config(copy=True, cell="gru", encoder_layers=1, decoder_layers=1), rng)
    _randomise(model, rng)
    *batch, ext = copy_batch(rng)
    assert_rows_add_up(model, *batch, src_ext=ext)


@pytest.mark.parametrize("case", CASES[:3], ids=lambda c: f"{c['cell']}-{c['attention']}")
def test_matches_pytorch(case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    cfg = _config(copy=True, **case)
    model = Seq2Seq(cfg, rng)
    _randomise(model, rng)
    src, lengths, tgt_in, tgt_out, mask, ext = copy_batch(rng)
    loss, cache = model.forward(src, lengths, tgt_in, tgt_out, mask, src_ext=ext)
    grads = model.backward(1.0, cache)
    t_loss, named = _torch_loss(torch, cfg, model.params, src, lengths, tgt_in, tgt_out, mask, src_ext=ext)
    t_loss.backward()
    _assert_matches_torch(loss, grads, t_loss, named)


def test_float32_follows_float64():
    """The float32 fast path gives the float64 loss and gradients to float32 precision."""
    kw = dict(copy=True, cell="lstm", attention="additive", encoder_layers=1, decoder_layers=1)
    *batch, ext = copy_batch(np.random.default_rng(1))
    assert_float32_follows(lambda dtype: Seq2Seq(_config(dtype=dtype, **kw), np.random.default_rng(0)), batch,
                           src_ext=ext)


def test_scheduled_sampling_draws_from_the_copy_mixture():
    """With copy, the token scheduled sampling feeds is drawn from P(w) = p_gen P_vocab(w) + (1 - p_gen) copy(w)
    over the extended vocabulary (<pad> and <bos> left out, renormalised), copied words outside the target
    vocabulary included, in their proportions; not from P_vocab alone."""
    from types import SimpleNamespace

    from rnnkit.nn.softmax import softmax
    from rnnkit.seq2seq.decoder_step import NEVER_FED, DecoderSpec, _sample

    rng = np.random.default_rng(0)
    V, H, S = 6, 3, 4
    spec = DecoderSpec("gru", V, H, H, 1, "dot", H, 0, False, 0.0, copy=True)
    params = {"output.weight": rng.standard_normal((V, H)), "output.bias": rng.standard_normal(V)}
    out = rng.standard_normal((2, H))  # (B, H)
    z = np.array([0.3, -1.2])  # p_gen 0.57 and 0.23
    weights = np.array([[0.4, 0.3, 0.2, 0.1], [0.5, 0.5, 0.0, 0.0]])  # (B, S), the second row's source of length 2
    ext = np.array([[V, 3, V + 1, V], [4, V, 0, 0]])  # (B, S): V + 1 only in the first row's source
    with np.errstate(divide="ignore"):
        step = SimpleNamespace(gate_z=z, attn=SimpleNamespace(log_weights=np.log(weights)))
    want = np.zeros((2, V + 2))  # (B, V + X) the mixture, written out
    p_gen = 1 / (1 + np.exp(-z))
    want[:, :V] = p_gen[:, None] * softmax(out @ params["output.weight"].T + params["output.bias"])
    for b in range(2):
        for j in range(S):
            want[b, ext[b, j]] += (1 - p_gen[b]) * weights[b, j]
    want[:, NEVER_FED] = 0.0
    want /= want.sum(axis=1, keepdims=True)
    n = 4000
    draws = np.stack([_sample(params, spec, out, rng, step, ext) for _ in range(n)])  # (n, B)
    for b in range(2):
        freq = np.bincount(draws[:, b], minlength=V + 2) / n
        assert np.allclose(freq, want[b], atol=0.025), (b, freq, want[b])
    assert (draws[:, 0] == V + 1).any() and not (draws[:, 1] == V + 1).any()  # only a row whose source has it
