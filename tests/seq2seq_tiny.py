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
