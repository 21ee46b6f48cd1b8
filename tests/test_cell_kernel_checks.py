"""The cell kernels (rnnkit.cells.lstm, gru, elman) check their arguments once per call.

They are public, and numpy took a wrong argument its own way: dout (T, B, 1) or (1, B, H) broadcast
into wrong gradients without a word, batch_sizes out of order ran as if sorted, and the rest failed
deep inside with numpy's words ("too many values to unpack", "'NoneType' object is not iterable").
Each message names the argument, what was expected and what came.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from rnnkit.cells import elman, gru, lstm

T, B, D, H = 4, 3, 2, 5
GATES = {"lstm": 4, "gru": 3, "elman": 1}
KERNELS = {"lstm": lstm, "gru": gru, "elman": elman}
CELLS = ["lstm", "gru", "elman"]


def setup(cell, dtype=np.float64):
    """(kernel, x, state0, weights) with random non-zero values."""
    rng = np.random.default_rng(0)
    G = GATES[cell] * H
    x = rng.standard_normal((T, B, D)).astype(dtype)
    w = [rng.standard_normal(s).astype(dtype) for s in ((G, D), (G, H), (G,), (G,))]
    h0 = rng.standard_normal((B, H)).astype(dtype)
    s0 = (h0, rng.standard_normal((B, H)).astype(dtype)) if cell == "lstm" else h0
    return KERNELS[cell], x, s0, w


def state_name(cell):
    return "state0" if cell == "lstm" else "h0"


def dstate_name(cell):
    return "dstateT" if cell == "lstm" else "dhT"


def raises(exc, text):
    return pytest.raises(exc, match=re.escape(text))


# ----------------------------------------------------------------- backward: dout
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("shape", [(T, B, 1), (1, B, H), (T, B, H + 1), (T - 1, B, H), (T, 1, H), (T, B)])
def test_dout_of_another_shape_is_refused(cell, shape):
    """(T, B, 1) and (1, B, H) were broadcast silently; (T, B, H+1) and (T-1, B, H) failed in numpy."""
    kernel, x, s0, w = setup(cell)
    _, _, cache = kernel.forward(x, s0, *w)
    with raises(ValueError, f"Expected dout of shape (T, B, H) = ({T}, {B}, {H}), got {shape}"):
        kernel.backward(np.ones(shape), None, cache)


@pytest.mark.parametrize("cell", CELLS)
def test_dout_must_be_a_float_array(cell):
    kernel, x, s0, w = setup(cell)
    _, _, cache = kernel.forward(x, s0, *w)
    with raises(TypeError, "Expected dout of a float dtype (the cache's is float64), got int64"):
        kernel.backward(np.ones((T, B, H), np.int64), None, cache)
    with raises(TypeError, "Expected dout to be a numpy array, got list"):
        kernel.backward(np.ones((T, B, H)).tolist(), None, cache)


@pytest.mark.parametrize("cell", CELLS)
def test_dout_of_another_float_dtype_still_runs(cell):
    """A float32 gradient into a float64 forward was accepted before, and gives the same result as cast."""
    kernel, x, s0, w = setup(cell)
    _, _, cache = kernel.forward(x, s0, *w)
    dout = np.random.default_rng(1).standard_normal((T, B, H)).astype(np.float32)
    dx32, _, _ = kernel.backward(dout, None, cache)
    dx64, _, _ = kernel.backward(dout.astype(np.float64), None, cache)
    np.testing.assert_array_equal(dx32, dx64)


# ----------------------------------------------------------------- backward: dstate, cache, options
def test_lstm_dstate_as_one_array_is_refused():
    """It failed with "too many values to unpack"."""
    kernel, x, s0, w = setup("lstm")
    _, _, cache = kernel.forward(x, s0, *w)
    with raises(ValueError, f"Expected dstateT as a tuple (dh_T, dc_T) of two (B, H) = ({B}, {H}) arrays "
                            f"(either may be None), or None, got an array of shape ({B}, {H})"):
        kernel.backward(np.ones((T, B, H)), np.ones((B, H)), cache)
    with raises(ValueError, f"Expected dstateT[1] of shape (B, H) = ({B}, {H}), got (1, {H})"):
        kernel.backward(np.ones((T, B, H)), (None, np.ones((1, H))), cache)
    with raises(TypeError, "Expected dstateT[0] of a float dtype (the cache's is float64), got bool"):
        kernel.backward(np.ones((T, B, H)), (np.ones((B, H), bool), None), cache)


def test_lstm_dstate_parts_may_be_none_or_a_list():
    kernel, x, s0, w = setup("lstm")
    _, _, cache = kernel.forward(x, s0, *w)
    dout = np.random.default_rng(1).standard_normal((T, B, H))
    dc = np.random.default_rng(2).standard_normal((B, H))
    a = kernel.backward(dout, (None, dc), cache)
    b = kernel.backward(dout, [np.zeros((B, H)), dc], cache)
    np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize("cell", ["gru", "elman"])
def test_dht_of_another_shape_is_refused(cell):
    kernel, x, s0, w = setup(cell)
    _, _, cache = kernel.forward(x, s0, *w)
    with raises(ValueError, f"Expected dhT of shape (B, H) = ({B}, {H}), got (1, {H})"):
        kernel.backward(np.ones((T, B, H)), np.ones((1, H)), cache)
    with raises(ValueError, f"Expected dhT of shape (B, H) = ({B}, {H}), got tuple"):
        kernel.backward(np.ones((T, B, H)), (np.ones((B, H)), np.ones((B, H))), cache)


def test_another_kernels_cache_is_refused():
    _, x, s0, w = setup("gru")
    _, _, cache = gru.forward(x, s0, *w)
    with raises(TypeError, "Expected cache to be the LSTMCache lstm.forward returned, got GRUCache"):
        lstm.backward(np.ones((T, B, H)), None, cache)


@pytest.mark.parametrize("cell", CELLS)
def test_tbptt_and_dh_norms_are_checked(cell):
    kernel, x, s0, w = setup(cell)
    _, _, cache = kernel.forward(x, s0, *w)
    with raises(ValueError, "Expected tbptt to be an integer >= 1 or None, got 0"):  # was ZeroDivisionError
        kernel.backward(np.ones((T, B, H)), None, cache, tbptt=0)
    with raises(ValueError, f"Expected dh_norms of shape (T,) = ({T},), got (2,)"):  # was IndexError
        kernel.backward(np.ones((T, B, H)), None, cache, dh_norms=np.zeros(2))


# ----------------------------------------------------------------- forward: x, state0, weights
@pytest.mark.parametrize("cell", CELLS)
def test_x_must_be_a_float_array_matching_w_ih(cell):
    kernel, x, s0, w = setup(cell)
    with raises(TypeError, "Expected x of a float dtype (float32 or float64), got int64"):  # was a UFuncTypeError
        kernel.forward(x.astype(np.int64), s0, *w)
    with raises(ValueError, f"Expected x of shape (T, B, D), got ({B}, {D})"):
        kernel.forward(x[0], s0, *w)
    G = GATES[cell] * H
    with raises(ValueError, f"Expected x of shape (T, B, D) with D = {D} as in w_ih ({G}, {D}), got ({T}, {B}, 1)"):
        kernel.forward(x[..., :1], s0, *w)


@pytest.mark.parametrize("cell", CELLS)
def test_state0_none_says_what_to_pass(cell):
    """It failed with "'NoneType' object is not iterable" (LSTM), or named "initial state 0" and not what to pass."""
    kernel, x, _, w = setup(cell)
    zeros = "np.zeros((B, H), x.dtype)"
    if cell == "lstm":
        text = (f"Expected state0 as a tuple (h0, c0) of two (B, H) = ({B}, {H}) arrays, got None "
                f"(for a zero start pass ({zeros}, {zeros}))")
    else:
        text = f"Expected h0 of shape (B, H) = ({B}, {H}), got None (for a zero start pass {zeros})"
    with raises(ValueError, text):
        kernel.forward(x, None, *w)


def test_lstm_state0_as_one_array_is_refused():
    kernel, x, s0, w = setup("lstm")
    with raises(ValueError, f"Expected state0 as a tuple (h0, c0) of two (B, H) = ({B}, {H}) arrays, got an "
                            f"array of shape ({B}, {H})"):
        kernel.forward(x, s0[0], *w)
    with raises(TypeError, "Expected state0[1] of dtype float64 (x's), got float32"):
        kernel.forward(x, (s0[0], s0[1].astype(np.float32)), *w)


@pytest.mark.parametrize("cell", CELLS)
def test_weights_are_checked_for_shape_and_dtype(cell):
    kernel, x, s0, w = setup(cell)
    g = GATES[cell]
    rows = "H" if g == 1 else f"{g}H"
    with raises(ValueError, f"Expected w_hh of shape ({rows}, H), got ({g * H}, {H + 1})"):
        kernel.forward(x, s0, w[0], np.ones((g * H, H + 1)), *w[2:])
    with raises(ValueError, f"Expected b_hh of shape ({rows},) = ({g * H},) (H = {H} from w_hh), got ({g * H - 1},)"):
        kernel.forward(x, s0, *w[:3], w[3][:-1])
    with raises(TypeError, "Expected b_ih of dtype float64 (x's), got float32"):  # ran in a mix of precisions
        kernel.forward(x, s0, *w[:2], w[2].astype(np.float32), w[3])


# ----------------------------------------------------------------- forward: batch_sizes
@pytest.mark.parametrize("cell", CELLS)
def test_batch_sizes_out_of_order_are_refused(cell):
    """[1, 3, 2, 3] ran, as if the batch were sorted longest first."""
    kernel, x, s0, w = setup(cell)
    with raises(ValueError, "Expected batch_sizes to be non-increasing (the batch sorted longest first, as "
                            "rnnkit.packing.batch_sizes gives them), got 1 then 3 at steps 0 and 1"):
        kernel.forward(x, s0, *w, batch_sizes=np.array([1, 3, 2, 3]))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bs, exc, text", [
    (np.array([3, 2]), ValueError, f"Expected batch_sizes of shape (T,) = ({T},), got (2,)"),
    (np.array([4, 3, 2, 1]), ValueError, f"Expected batch_sizes between 0 and B={B}, got min 1 and max 4"),
    (np.array([3, 2, 1, -1]), ValueError, f"Expected batch_sizes between 0 and B={B}, got min -1 and max 3"),
    (np.array([3.0, 2, 1, 1]), TypeError, "Expected batch_sizes of an integer dtype, got float64"),
    ([3, 2, 1, 1], TypeError, "Expected batch_sizes to be a numpy array, got list"),
])
def test_batch_sizes_of_another_shape_or_range_are_refused(cell, bs, exc, text):
    kernel, x, s0, w = setup(cell)
    with raises(exc, text):
        kernel.forward(x, s0, *w, batch_sizes=bs)


@pytest.mark.parametrize("cell", CELLS)
def test_batch_sizes_may_end_in_zeros(cell):
    """x padded beyond its longest sequence (the layers make such batches): steps that nobody runs."""
    kernel, x, s0, w = setup(cell)
    out, _, cache = kernel.forward(x, s0, *w, batch_sizes=np.array([3, 2, 0, 0]))
    assert not out[2:].any()
    dx, _, _ = kernel.backward(np.ones((T, B, H)), None, cache)
    assert not dx[2:].any()
