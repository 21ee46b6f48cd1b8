"""Finite-difference checks (float64) of the hand-derived BPTT of RNN, LSTM and GRU stacks.

Random non-zero parameters (biases too, learned initial states too), random upstream gradients on
every output and on the final state, T = 6, unequal lengths, two layers, both directions.
"""
from __future__ import annotations

import numpy as np
import pytest
from naive import unroll

from rnnkit import packing
from rnnkit.gradcheck import numeric_grad as _numeric
from rnnkit.recurrent import GRU, LSTM, RNN

CELLS = [
    ("rnn", RNN, {"nonlinearity": "tanh"}),
    ("rnn", RNN, {"nonlinearity": "relu"}),
    ("lstm", LSTM, {}),
    ("gru", GRU, {}),
]
IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]


def _randomise(layer, rng, scale=0.6):
    for k, v in layer.params.items():
        layer.params[k] = rng.uniform(-scale, scale, size=v.shape)


def _objective(layer, x, lengths, state, dout, dstate):
    """f = <out, dout> + <final state, dstate>: its gradient is what backward returns."""
    out, final, _ = layer.forward(x, state=state, lengths=lengths)
    f = float(np.sum(out * dout))
    finals = final if isinstance(final, tuple) else (final,)
    dstates = dstate if isinstance(dstate, tuple) else (dstate,)
    return f + sum(float(np.sum(a * b)) for a, b in zip(finals, dstates))


def _assert_close(name, analytic, numeric, tol=1e-7):
    err = np.max(np.abs(analytic - numeric) / np.maximum(1.0, np.abs(numeric)))
    assert err < tol, f"{name}: max relative difference {err:.3e}"


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell,cls,kw", CELLS, ids=IDS)
def test_bptt_matches_finite_differences(cell, cls, kw, bidirectional):
    rng = np.random.default_rng(7)
    T, B, D, H, L = 6, 3, 2, 3, 2
    layer = cls(D, H, L, bidirectional=bidirectional, dtype=np.float64, rng=rng, **kw)
    _randomise(layer, rng)
    x = rng.standard_normal((T, B, D))
    lengths = np.array([4, 6, 2])
    S = L * layer.num_directions
    if cell == "lstm":
        state = (rng.standard_normal((S, B, H)), rng.standard_normal((S, B, H)))
        dstate = (rng.standard_normal((S, B, H)), rng.standard_normal((S, B, H)))
    else:
        state = rng.standard_normal((S, B, H))
        dstate = rng.standard_normal((S, B, H))
    out, final, cache = layer.forward(x, state=state, lengths=lengths)
    dout = rng.standard_normal(out.shape)
    dx, dstate0, grads = layer.backward(dout, dstate, cache)

    fun = lambda: _objective(layer, x, lengths, state, dout, dstate)  # noqa: E731
    for name, p in layer.params.items():
        _assert_close(name, grads[name], _numeric(fun, p))
    _assert_close("x", dx, _numeric(fun, x))
    states = state if isinstance(state, tuple) else (state,)
    dstates0 = dstate0 if isinstance(dstate0, tuple) else (dstate0,)
    for i, (s, ds) in enumerate(zip(states, dstates0)):
        _assert_close(f"state0[{i}]", ds, _numeric(fun, s))
    # padded steps output exactly zero
    for b, n in enumerate(lengths):
        assert np.all(out[n:, b] == 0.0), f"out is not zero after length {n} in sequence {b}"


@pytest.mark.parametrize("cell,cls,kw", CELLS, ids=IDS)
def test_learned_initial_state_gradient(cell, cls, kw):
    rng = np.random.default_rng(3)
    T, B, D, H = 5, 4, 2, 3
    layer = cls(D, H, 2, bidirectional=True, learn_init=True, dtype=np.float64, rng=rng, **kw)
    _randomise(layer, rng)
    assert any(k.startswith("h0_") for k in layer.params)
    x = rng.standard_normal((T, B, D))
    lengths = np.array([5, 1, 3, 4])
    out, final, cache = layer.forward(x, lengths=lengths)
    dout = rng.standard_normal(out.shape)
    finals = final if isinstance(final, tuple) else (final,)
    dfin = tuple(rng.standard_normal(f.shape) for f in finals)
    dstate = dfin if cell == "lstm" else dfin[0]
    _, _, grads = layer.backward(dout, dstate, cache)
    fun = lambda: _objective(layer, x, lengths, None, dout, dstate)  # noqa: E731
    for name in [k for k in layer.params if k[:2] in ("h0", "c0")]:
        _assert_close(name, grads[name], _numeric(fun, layer.params[name]))


@pytest.mark.parametrize("window", [2, 3])
@pytest.mark.parametrize("cell,cls,kw", CELLS, ids=IDS)
def test_truncated_bptt_matches_detached_reference(cell, cls, kw, window):
    """tbptt=k equals finite differences of a plain unroll whose window-boundary states are frozen."""
    rng = np.random.default_rng(11)
    T, B, D, H, L = 7, 3, 2, 3, 2
    layer = cls(D, H, L, tbptt=window, dtype=np.float64, rng=rng, **kw)
    _randomise(layer, rng)
    x = rng.standard_normal((T, B, D))
    lengths = np.array([7, 4, 6])
    nl = kw.get("nonlinearity", "tanh")
    out, final, cache = layer.forward(x, lengths=lengths)
    ref_out, _, boundaries = unroll(cell, layer.params, x, lengths, L, tbptt=window, nonlinearity=nl)
    np.testing.assert_allclose(out, ref_out, atol=1e-12, err_msg="forward differs from the plain unroll")
    dout = rng.standard_normal(out.shape)
    finals = final if isinstance(final, tuple) else (final,)
    dfin = tuple(rng.standard_normal(f.shape) for f in finals)
    dstate = dfin if cell == "lstm" else dfin[0]
    dx, _, grads = layer.backward(dout, dstate, cache)

    def fun():
        o, fins, _ = unroll(cell, layer.params, x, lengths, L, frozen=boundaries, tbptt=window, nonlinearity=nl)
        f = float(np.sum(o * dout))
        for layer_i, s in enumerate(fins):
            parts = s if cell == "lstm" else (s,)
            for p, d in zip(parts, dfin):
                f += float(np.sum(p * d[layer_i]))
        return f

    for name, p in layer.params.items():
        _assert_close(name, grads[name], _numeric(fun, p))
    _assert_close("x", dx, _numeric(fun, x))


@pytest.mark.parametrize("cell,cls,kw", CELLS, ids=IDS)
def test_reverse_direction_truncates_in_its_own_reading_order(cell, cls, kw):
    """In a bidirectional layer with tbptt=k, the reverse direction's gradients are those of a forward
    layer with its weights, run with tbptt=k over each sequence reversed (padding left at the end):
    its windows are counted from each sequence's last real token."""
    rng = np.random.default_rng(8)
    T, B, D, H, k = 7, 3, 2, 3, 3
    lengths = np.array([7, 4, 6])
    bi = cls(D, H, 1, bidirectional=True, tbptt=k, dtype=np.float64, rng=rng, **kw)
    _randomise(bi, rng)
    one = cls(D, H, 1, tbptt=k, dtype=np.float64, rng=rng, **kw)
    for name in one.params:
        one.params[name] = bi.params[name + "_reverse"].copy()
    x = rng.standard_normal((T, B, D))
    dout = rng.standard_normal((T, B, 2 * H))
    out, _, cache = bi.forward(x, lengths=lengths)
    _, _, grads = bi.backward(dout, None, cache)
    rev = packing.reverse_index(lengths, T, B)
    out1, _, cache1 = one.forward(packing.reverse_time(x, rev), lengths=lengths)
    np.testing.assert_allclose(packing.reverse_time(out1, rev), out[..., H:], rtol=1e-12, atol=1e-14)
    _, _, grads1 = one.backward(packing.reverse_time(dout[..., H:], rev), None, cache1)
    for name in one.params:
        np.testing.assert_allclose(grads[name + "_reverse"], grads1[name], rtol=1e-10, atol=1e-12, err_msg=name)
    # and the truncation is real in the reverse direction: full BPTT gives another gradient
    full = cls(D, H, 1, bidirectional=True, dtype=np.float64, rng=rng, **kw)
    full.params = {name: v.copy() for name, v in bi.params.items()}
    _, _, cache_full = full.forward(x, lengths=lengths)
    _, _, grads_full = full.backward(dout, None, cache_full)
    assert not np.allclose(grads_full["weight_hh_l0_reverse"], grads["weight_hh_l0_reverse"])


@pytest.mark.parametrize("cell,cls,kw", CELLS, ids=IDS)
def test_truncation_changes_gradient_and_window_T_is_full(cell, cls, kw):
    """Guard the test above: truncation must actually differ from full BPTT, and k >= T must not."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 2, 3))
    results = {}
    for k in (None, 2, 8):
        layer = cls(3, 4, 1, tbptt=k, dtype=np.float64, rng=np.random.default_rng(1), **kw)
        _randomise(layer, np.random.default_rng(2))
        out, _, cache = layer.forward(x)
        _, _, g = layer.backward(np.random.default_rng(4).standard_normal(out.shape), None, cache)
        results[k] = g["weight_hh_l0"]
    assert not np.allclose(results[None], results[2])
    np.testing.assert_array_equal(results[None], results[8])


@pytest.mark.parametrize("cell,cls,kw", CELLS, ids=IDS)
def test_dropout_between_layers_gradient(cell, cls, kw):
    """With the dropout masks fixed by the rng, every parameter's, x's and the initial state's gradient
    equals finite differences of <out, dout> + <final state, dstate> (3 bidirectional layers)."""
    rng = np.random.default_rng(21)
    layer = cls(2, 3, 3, bidirectional=True, dropout=0.4, dtype=np.float64, rng=rng, **kw)
    _randomise(layer, rng)
    T, B, S, H = 5, 3, 6, 3
    x = rng.standard_normal((T, B, 2))
    lengths = np.array([5, 3, 4])
    parts = 2 if cell == "lstm" else 1
    state = tuple(rng.standard_normal((S, B, H)) for _ in range(parts))
    dstate = tuple(rng.standard_normal((S, B, H)) for _ in range(parts))
    if cell != "lstm":
        state, dstate = state[0], dstate[0]
    out, _, cache = layer.forward(x, state=state, lengths=lengths, training=True, rng=np.random.default_rng(99))
    assert all(lc.drop_mask is not None and (lc.drop_mask == 0).any() for lc in cache.layers[1:])
    dout = rng.standard_normal(out.shape)
    dx, dstate0, grads = layer.backward(dout, dstate, cache)

    def fun():
        o, fin, _ = layer.forward(x, state=state, lengths=lengths, training=True, rng=np.random.default_rng(99))
        fins, ds = (fin, dstate) if cell == "lstm" else ((fin,), (dstate,))
        return float(np.sum(o * dout)) + sum(float(np.sum(a * b)) for a, b in zip(fins, ds))

    assert set(grads) == set(layer.params)
    for name, p in layer.params.items():
        _assert_close(name, grads[name], _numeric(fun, p))
    _assert_close("x", dx, _numeric(fun, x))
    states = state if cell == "lstm" else (state,)
    dstates0 = dstate0 if cell == "lstm" else (dstate0,)
    for i, (s, ds) in enumerate(zip(states, dstates0)):
        _assert_close(f"state0[{i}]", ds, _numeric(fun, s))


@pytest.mark.parametrize("cell,cls,kw", CELLS, ids=IDS)
def test_weight_drop_gradient(cell, cls, kw):
    """DropConnect on weight_hh: with the masks fixed by the rng, backward equals finite differences."""
    rng = np.random.default_rng(31)
    layer = cls(2, 3, 2, bidirectional=True, weight_drop=0.5, dtype=np.float64, rng=rng, **kw)
    _randomise(layer, rng)
    x = rng.standard_normal((6, 3, 2))
    lengths = np.array([6, 2, 4])
    out, _, cache = layer.forward(x, lengths=lengths, training=True, rng=np.random.default_rng(5))
    masks = [m for lc in cache.layers for m in lc.hh_masks]
    assert len(masks) == 4 and all(m is not None and (m == 0).any() and (m == 2.0).any() for m in masks)
    dout = rng.standard_normal(out.shape)
    dx, _, grads = layer.backward(dout, None, cache)
    # a dropped weight gets no gradient
    assert np.all(grads["weight_hh_l1_reverse"][cache.layers[1].hh_masks[1] == 0] == 0)

    def fun():
        o, _, _ = layer.forward(x, lengths=lengths, training=True, rng=np.random.default_rng(5))
        return float(np.sum(o * dout))

    for name, p in layer.params.items():
        _assert_close(name, grads[name], _numeric(fun, p))
    _assert_close("x", dx, _numeric(fun, x))
    # evaluation runs the full matrices; training with the masks differs
    ev, _, _ = layer.forward(x, lengths=lengths)
    plain = cls(2, 3, 2, bidirectional=True, dtype=np.float64, rng=rng, **kw)
    plain.params.update(layer.params)
    np.testing.assert_array_equal(ev, plain.forward(x, lengths=lengths)[0])
    assert not np.allclose(ev, out)


def test_weight_drop_is_checked_and_needs_rng():
    with pytest.raises(ValueError, match="weight_drop"):
        LSTM(2, 3, weight_drop=1.0)
    layer = GRU(2, 3, weight_drop=0.3)
    with pytest.raises(ValueError, match="rng"):
        layer.forward(np.zeros((2, 1, 2), np.float32), training=True)
