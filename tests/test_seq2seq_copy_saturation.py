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

from rnnkit.nn.softmax import log_softmax, softmax
from rnnkit.seq2seq.copy import GATE, CopyLoss, mixture_log_probs
from rnnkit.seq2seq.model import Seq2Seq


def assert_close(got, want, what):
    """float32 ``got`` within rtol 1e-4 of float64 ``want``, entries tiny next to the array's largest to 1e-4 of it."""
    got, want = np.asarray(got), np.asarray(want)
    assert np.isfinite(got).all(), f"{what}: not finite"
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max(), err_msg=what)


CASES = [dict(bias=30.0), dict(bias=-30.0), dict(bias=-30.0, v=3000.0), dict(bias=30.0, coverage_loss=1.0)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_saturated_gate_float32_follows_float64(case):
    """Gate bias +30: p_gen = 1 in float32 with gold words outside the target vocabulary that only copying scores.
    -30: p_gen ~ 1e-13 times a P_vocab(y) ~ 1e-26 (its output bias lowered by 60): P ~ 1e-39 in float32.  With the
    additive score's v scaled up (v=): attention weights of such gold words that underflow to 0 in float32; and
    with coverage and its loss on too."""
    lam = case.get("coverage_loss", 0.0)
    kw = dict(copy=True, cell="gru", attention="additive", encoder_layers=1, decoder_layers=1, coverage=lam > 0)
    *batch, ext = copy_batch(np.random.default_rng(1))
    assert (batch[3] >= V_TGT).any() and (batch[3] == 3).any()  # words to copy, and word 3 (not in the sources)
    wide = Seq2Seq(_config(dtype="float64", **kw), np.random.default_rng(0))
    _randomise(wide, np.random.default_rng(2))
    wide.params[GATE + "bias"][...] = case["bias"]
    wide.params["attention.v"] *= case.get("v", 1.0)
    if case["bias"] < 0:
        wide.params["output.bias"][3] -= 60.0
    narrow = Seq2Seq(_config(dtype="float32", **kw), np.random.default_rng(0))
    narrow.load_arrays({k: v.astype(np.float32) for k, v in wide.params.items()})
    (l64, c64), (l32, c32) = (m.forward(*batch, src_ext=ext, coverage_loss=lam) for m in (wide, narrow))
    assert np.isfinite(l64) and l64 > 150.0  # the saturated steps are in the loss
    if "v" in case:  # some gold word outside the vocabulary has copy(y) > 0, but 0 in float32
        hit = (ext.T[None] == batch[3][:, :, None]) & (batch[3] >= V_TGT)[:, :, None]  # (T, B, S)
        copied = [(np.stack([s.attn.weights for s in c[1].steps]) * hit).sum(axis=2) for c in (c64, c32)]
        assert ((copied[1] == 0) & (copied[0] > 0) & hit.any(axis=2)).any()
    assert np.isfinite(l32) and abs(l32 - l64) < 1e-4 * abs(l64), (l32, l64)
    g64, g32 = wide.backward(0.8, c64), narrow.backward(0.8, c32)
    for k in g64:
        assert g32[k].dtype == np.float32, k
        assert_close(g32[k], g64[k], k)


def loss_inputs(dtype):
    """CopyLoss inputs of T = 4 steps, B = 1, S = 4, V = 5 whose attention scores span 120.  The gold words: step
    0's, in the vocabulary, sits at a source position of weight e^-120 (0 in float32); the others', outside it (id
    V), only copying scores: step 1's at weight ~1e-36 with z = 10.75 (p_gen = 0.99998), P ~ 3e-41 (the Multi30k
    --copy run's step 4968), step 2's at ~e^-69 ~ 1e-30 with z = 30, P ~ 1e-43, step 3's at e^-120 with z = -3:
    P below float32's normal range, 1 / P inf, or P 0 in float32.  Returns them and the weights."""
    rng = np.random.default_rng(4)
    H, V = 3, 5
    outs, w_out, b_out = rng.normal(size=(4, 1, H)), rng.normal(size=(V, H)), rng.normal(size=V)
    scores = np.array([[0.0, -120.0, -1.0, 0.5], [0.0, -82.5, -0.5, 1.0], [0.0, -69.0, 0.0, 0.0],
                       [1.0, -120.0, 0.0, 0.5]])[:, None, :].astype(dtype)
    ext = np.array([[2, V, 4, 4]])  # (B, S)
    tgt_out = np.array([[2], [V], [V], [V]])  # (T, B)
    z = np.array([[-3.0], [10.75], [30.0], [-3.0]])
    cast = [np.asarray(a, dtype) for a in (outs, w_out, b_out)]
    return (*cast, tgt_out, np.ones((4, 1), bool), log_softmax(scores), z.astype(dtype), ext), softmax(scores)


def test_underflowing_attention_weights_float32_follows_float64():
    results = {}
    for dtype in (np.float64, np.float32):
        args, weights = loss_inputs(dtype)
        loss, cache = CopyLoss().forward(*args)
        douts, g, dlog_weights, dz = CopyLoss().backward(0.6, cache)
        results[dtype] = dict(loss=loss, douts=douts, dW=g["weight"], db=g["bias"], dz=dz, dlog_weights=dlog_weights,
                              weights=weights)
    w64, w32 = results[np.float64]["weights"], results[np.float32]["weights"]
    assert w32[0, 0, 1] == w32[3, 0, 1] == 0.0 < w64[3, 0, 1]  # what the test is about: underflowed, and tiny
    assert 0.0 < w32[1, 0, 1] < 1e-35 and 0.0 < w32[2, 0, 1] < 1e-29
    assert 180.0 < results[np.float64]["loss"] < np.inf
    for k in ("loss", "douts", "dW", "db", "dz", "dlog_weights"):
        assert_close(results[np.float32][k], results[np.float64][k], k)


@pytest.mark.parametrize("z", [30.0, -30.0, 0.3])
def test_decoding_log_probs_float32_follow_float64(z):
    """mixture_log_probs in float32 at a saturated gate: log P of a word to copy (z = 30), also one whose weight
    underflows, or of a vocabulary word (z = -30) finite where float64's is; -inf only for the id the row lacks."""
    rng = np.random.default_rng(6)
    V = 5
    logits, scores = rng.normal(size=(2, V)), rng.normal(size=(2, 4))
    scores[0, 2] = -150.0  # word V + 1's only weight, e^-150: 0 in float32
    ext = np.array([[V, 2, V + 1, 0], [3, V, 3, 0]])  # row 1 lacks V + 1; position 3: padding
    scores[:, 3] = -np.inf
    out = {}
    for dtype in (np.float64, np.float32):
        args = logits.astype(dtype), np.full(2, z, dtype), log_softmax(scores.astype(dtype)), ext
        out[dtype] = mixture_log_probs(*args)
    lp64, lp32 = out[np.float64], out[np.float32]
    assert lp32.dtype == np.float32 and np.isneginf(lp64).sum() == 1 and np.isneginf(lp64[1, V + 1])
    assert (np.isneginf(lp32) == np.isneginf(lp64)).all()
    finite = np.isfinite(lp64)
    np.testing.assert_allclose(lp32[finite], lp64[finite], rtol=1e-5)
    np.testing.assert_allclose(np.logaddexp.reduce(lp64, axis=1), 0.0, atol=1e-12)  # still a distribution
