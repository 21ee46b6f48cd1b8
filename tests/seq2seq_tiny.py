"""A tiny float64 Seq2Seq for the seq2seq tests: its config, random non-zero parameters, a padded batch of
unequal source and target lengths (T = 6 target steps), and the finite-difference check of its gradients."""
from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from rnnkit.gradcheck import numeric_grad_at
from rnnkit.seq2seq.model import Seq2SeqConfig

EPS = 1e-6
V_SRC, V_TGT = 7, 6


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """The decoder runs many tiny GEMMs one step at a time; threaded BLAS only adds contention there."""
    with threadpool_limits(limits=1):
        yield


def _config(**kw):
    base = dict(src_vocab_size=V_SRC, tgt_vocab_size=V_TGT, cell="lstm", src_embedding_dim=3, tgt_embedding_dim=4,
                encoder_hidden_size=3, decoder_hidden_size=5, encoder_layers=2, decoder_layers=2,
                bidirectional=True, attention="general", attention_size=4, input_feeding=True, dtype="float64")
    base.update(kw)
    if base["attention"] == "dot":
        base["decoder_hidden_size"] = base["encoder_hidden_size"] * (2 if base["bidirectional"] else 1)
    return Seq2SeqConfig(**base)


def _randomise(model, rng, scale=0.5):
    for v in model.params.values():
        v[...] = rng.uniform(-scale, scale, v.shape)


def _batch(rng, S=5, B=3, T=6):
    src = rng.integers(0, V_SRC, (S, B))
    lengths = np.array([S, 2, 4][:B])
    tgt_in = rng.integers(0, V_TGT, (T, B))
    tgt_out = rng.integers(0, V_TGT, (T, B))
    tgt_mask = np.arange(T)[:, None] < np.array([T, 3, 5][:B])[None, :]
    return src, lengths, tgt_in, tgt_out, tgt_mask


def _check_gradients(loss_fn, params, grads, rng, dloss, per_param=6):
    assert set(grads) == set(params), f"gradient keys differ: {set(grads) ^ set(params)}"
    for name, p in params.items():
        assert grads[name].shape == p.shape, f"{name}: gradient shape {grads[name].shape} != {p.shape}"
        worst = 0.0
        idx = rng.choice(p.size, size=min(p.size, per_param), replace=False)
        for i, d in zip(idx, numeric_grad_at(loss_fn, p, idx, EPS)):
            num = dloss * d
            # FD noise is ~1e-9 absolute here (loss ~ 10, eps 1e-6); some gradients are ~1e-5 in size
            worst = max(worst, abs(grads[name].reshape(-1)[i] - num) / (1e-7 + 1e-5 * abs(num)))
        assert worst < 1.0, f"{name}: max difference {worst:.2f} x (1e-7 + 1e-5 |numeric|)"


def assert_rows_add_up(model, src, lengths, tgt_in, tgt_out, mask, src_ext=None, **kw):
    """A sentence's loss and gradients are its own: the padded batch's equal the sums over its sentences run one
    at a time, each cut to its own lengths (``src_ext`` (S, B) cut as src; ``kw`` more of forward's arguments)."""
    loss, cache = model.forward(src, lengths, tgt_in, tgt_out, mask, src_ext=src_ext, **kw)
    grads = model.backward(1.0, cache)
    total, summed = 0.0, {k: np.zeros_like(v) for k, v in model.params.items()}
    for b in range(src.shape[1]):
        n, m = lengths[b], int(mask[:, b].sum())
        one, c = model.forward(src[:n, b:b + 1], lengths[b:b + 1], tgt_in[:m, b:b + 1], tgt_out[:m, b:b + 1],
                               mask[:m, b:b + 1], src_ext=None if src_ext is None else src_ext[:n, b:b + 1], **kw)
        total += one
        for k, g in model.backward(1.0, c).items():
            summed[k] += g
    assert abs(total - loss) < 1e-9
    for k in grads:
        assert np.allclose(grads[k], summed[k], atol=1e-10), k


def assert_float32_follows(make_model, batch, **kw):
    """The float32 fast path gives the float64 loss and gradients to float32 precision: ``make_model(dtype)`` makes
    the model (the float64 one's random parameters are copied into the float32 one); ``kw`` go to forward."""
    rng = np.random.default_rng(2)
    wide, narrow = make_model("float64"), make_model("float32")
    _randomise(wide, rng)
    narrow.load_arrays({k: v.astype(np.float32) for k, v in wide.params.items()})
    results = []
    for model in (wide, narrow):
        loss, cache = model.forward(*batch, **kw)
        results.append((loss, model.backward(1.0, cache)))
    (l64, g64), (l32, g32) = results
    assert abs(l64 - l32) < 1e-4 * abs(l64)
    for k in g64:
        assert g32[k].dtype == np.float32, k
        assert np.allclose(g32[k], g64[k], rtol=1e-3, atol=1e-4), k


def load_as_older(path, translator, field: str):
    """``translator`` saved at ``path`` as an rnnkit from before the config field ``field`` wrote it (its metadata
    lacks the field), and loaded back."""
    from rnnkit import checkpoint as ckpt
    from rnnkit.seq2seq.io import load_translator

    meta = translator.meta()
    del meta["seq2seq_config"][field]
    ckpt.save_checkpoint(path, {"model/" + k: v for k, v in translator.model.params.items()},
                         {"kind": "seq2seq-model", "task": meta})
    return load_translator(path)


def round_trip(path, translator, sentences):
    """``translator`` saved at ``path`` and loaded back, checked to hold the same config and arrays and to translate
    ``sentences`` (beam 2) to the same ids; returns the loaded one."""
    from rnnkit.seq2seq.io import load_translator, save_translator
    from rnnkit.seq2seq.translate import translate

    back = load_translator(save_translator(path, translator))
    assert back.model.config == translator.model.config
    assert set(back.model.params) == set(translator.model.params)
    for k, v in translator.model.params.items():
        assert np.array_equal(back.model.params[k], v), k
    first, again = (translate(t, sentences, beam_size=2, max_len=5) for t in (translator, back))
    assert [t[0].ids for t in first] == [t[0].ids for t in again]
    return back
