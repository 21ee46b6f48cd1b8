"""Copy attention (rnnkit.seq2seq.copy) in float32 where probabilities leave float32's range: a saturated gate
(p_gen = sigmoid(z) is 1.0 exactly for z > ~17, so 1 - p_gen = 0, and a gold word outside the target vocabulary
had P = 0: an infinite loss and NaN gradients), a near-impossible vocabulary word, and attention weights that
underflow.  The log-space loss gives the float64 model's loss and gradients there, and decoding's log P too."""
from __future__ import annotations

import numpy as np
import pytest
from seq2seq_tiny import V_TGT, _config, _randomise
from seq2seq_tiny import _one_blas_thread  # noqa: F401 (a fixture)
from test_seq2seq_copy_grads import copy_batch

from rnnkit.nn.softmax import softmax
from rnnkit.seq2seq.copy import GATE, CopyLoss, mixture_log_probs
from rnnkit.seq2seq.model import Seq2Seq


def assert_close(got, want, what):
    """float32 ``got`` within rtol 1e-4 of float64 ``want``, entries tiny next to the array's largest to 1e-4 of it."""
    got, want = np.asarray(got), np.asarray(want)
    assert np.isfinite(got).all(), f"{what}: not finite"
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max(), err_msg=what)


@pytest.mark.parametrize("bias", [30.0, -30.0])
def test_saturated_gate_float32_follows_float64(bias):
    """Gate bias +30: p_gen = 1 in float32 with gold words outside the target vocabulary that only copying scores.
    -30: p_gen ~ 1e-13 times a P_vocab(y) ~ 1e-26 (its output bias lowered by 60): P ~ 1e-39 in float32."""
    kw = dict(copy=True, cell="gru", attention="general", encoder_layers=1, decoder_layers=1)
    *batch, ext = copy_batch(np.random.default_rng(1))
    assert (batch[3] >= V_TGT).any() and (batch[3] == 3).any()  # words to copy, and word 3 (not in the sources)
    wide = Seq2Seq(_config(dtype="float64", **kw), np.random.default_rng(0))
    _randomise(wide, np.random.default_rng(2))
    wide.params[GATE + "bias"][...] = bias
    if bias < 0:
        wide.params["output.bias"][3] -= 60.0
    narrow = Seq2Seq(_config(dtype="float32", **kw), np.random.default_rng(0))
    narrow.load_arrays({k: v.astype(np.float32) for k, v in wide.params.items()})
    (l64, c64), (l32, c32) = (m.forward(*batch, src_ext=ext) for m in (wide, narrow))
    assert np.isfinite(l64) and l64 > 25.0  # the saturated steps are in the loss
    assert np.isfinite(l32) and abs(l32 - l64) < 1e-4 * abs(l64), (l32, l64)
    g64, g32 = wide.backward(0.8, c64), narrow.backward(0.8, c32)
    for k in g64:
        assert g32[k].dtype == np.float32, k
        assert_close(g32[k], g64[k], k)


def loss_inputs(dtype):
    """CopyLoss inputs of T = 3 steps, B = 1, S = 4, V = 5 whose attention scores span 120: step 0's gold word,
    in the vocabulary, sits at a source position of weight e^-120 (0 in float32); steps 1 and 2's, outside it (id
    V), at one of weight ~1e-36 with z = 10.75 (p_gen = 0.99998), P ~ 3e-41 (the Multi30k --copy run's step 4968),
    and ~e^-69 ~ 1e-30 with z = 30, P ~ 1e-43: both below float32's normal range, 1 / P inf."""
    rng = np.random.default_rng(4)
    H, V = 3, 5
    outs, w_out, b_out = rng.normal(size=(3, 1, H)), rng.normal(size=(V, H)), rng.normal(size=V)
    scores = np.array([[0.0, -120.0, -1.0, 0.5], [0.0, -82.5, -0.5, 1.0], [0.0, -69.0, 0.0, 0.0]])[:, None, :]
    ext = np.array([[2, V, 4, 4]])  # (B, S)
    tgt_out = np.array([[2], [V], [V]])  # (T, B)
    z = np.array([[-3.0], [10.75], [30.0]])
    cast = [np.asarray(a, dtype) for a in (outs, w_out, b_out)]
    return (*cast, tgt_out, np.ones((3, 1), bool), softmax(scores.astype(dtype)), z.astype(dtype), ext)


def test_underflowing_attention_weights_float32_follows_float64():
    results = {}
    for dtype in (np.float64, np.float32):
        args = loss_inputs(dtype)
        loss, cache = CopyLoss().forward(*args)
        douts, g, dlog_weights, dz = CopyLoss().backward(0.6, cache)
        results[dtype] = dict(loss=loss, douts=douts, dW=g["weight"], db=g["bias"], dz=dz, dlog_weights=dlog_weights,
                              weights=args[5])
    w64, w32 = results[np.float64]["weights"], results[np.float32]["weights"]
    assert w32[0, 0, 1] == 0.0 < w64[0, 0, 1]  # what the test is about: underflowed, and tiny
    assert 0.0 < w32[1, 0, 1] < 1e-35 and 0.0 < w32[2, 0, 1] < 1e-29
    assert 60.0 < results[np.float64]["loss"] < np.inf
    for k in ("loss", "douts", "dW", "db", "dz", "dlog_weights"):
        assert_close(results[np.float32][k], results[np.float64][k], k)


@pytest.mark.parametrize("z", [30.0, -30.0, 0.3])
def test_decoding_log_probs_float32_follow_float64(z):
    """mixture_log_probs in float32 at a saturated gate: log P of a word to copy (z = 30) or of a vocabulary
    word (z = -30) finite where float64's is; -inf only for the extended id the row lacks."""
    rng = np.random.default_rng(6)
    V = 5
    logits, scores = rng.normal(size=(2, V)), rng.normal(size=(2, 3))
    ext = np.array([[V, 2, V + 1], [3, V, 3]])  # row 1 lacks V + 1
    out = {}
    for dtype in (np.float64, np.float32):
        out[dtype] = mixture_log_probs(logits.astype(dtype), np.full(2, z, dtype), softmax(scores.astype(dtype)), ext)
    lp64, lp32 = out[np.float64], out[np.float32]
    assert lp32.dtype == np.float32 and np.isneginf(lp64).sum() == 1 and np.isneginf(lp64[1, V + 1])
    assert (np.isneginf(lp32) == np.isneginf(lp64)).all()
    finite = np.isfinite(lp64)
    np.testing.assert_allclose(lp32[finite], lp64[finite], rtol=1e-5)
    np.testing.assert_allclose(np.logaddexp.reduce(lp64, axis=1), 0.0, atol=1e-12)  # still a distribution
