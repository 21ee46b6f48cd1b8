"""Tests that close gaps found by hand-picked mutation testing of the core math (cells, recurrent
layers, RTRL, nn blocks, optimizers, clipping, schedules): each kills a mutant that every other
test let through.

Conventions as in test_recurrent_gradcheck.py: float64, random non-zero parameters (biases and
learned initial states too), random upstream gradients, T >= 5 with unequal lengths.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad
from rnnkit.nn import (Embedding, LinearCrossEntropy, add_tied_grad, embedding_backward, embedding_forward,
                       softmax_cross_entropy, softmax_cross_entropy_backward)
from rnnkit.nn.dropout import scaled_keep_mask
from rnnkit.optim import SGD, DecayAfter, ExponentialLR, HalveOnPlateau, StepLR, clip_grad_norm, grad_norm
from rnnkit.recurrent import GRU, LSTM, RNN
from rnnkit.rtrl import rtrl_gradients
from rnnkit.rtrl_gated import gru_rtrl_gradients, lstm_rtrl_gradients
from rnnkit.rtrl_online import OnlineRTRL

LAYERS = [(RNN, {"nonlinearity": "tanh"}), (LSTM, {}), (GRU, {})]
LAYER_IDS = ["rnn", "lstm", "gru"]


def _randomise(layer, rng, scale=0.6):
    for k, v in layer.params.items():
        layer.params[k] = rng.uniform(-scale, scale, size=v.shape)


def _parts(s):
    return s if isinstance(s, tuple) else (s,)


def _pack(parts, cls):
    return tuple(parts) if cls is LSTM else parts[0]


# ---------------------------------------------------------------- recurrent layers


@pytest.mark.parametrize("cls,kw", LAYERS, ids=LAYER_IDS)
def test_learned_initial_state_unused_gets_zero_gradient(cls, kw):
    """learn_init with an explicit state: h0/c0 parameters are unused, so their gradient is zero."""
    rng = np.random.default_rng(61)
    T, B, D, H = 5, 3, 2, 3
    layer = cls(D, H, 1, bidirectional=True, learn_init=True, dtype=np.float64, rng=rng, **kw)
    _randomise(layer, rng)
    x = rng.standard_normal((T, B, D))
    lengths = np.array([5, 2, 4])
    nparts = 2 if cls is LSTM else 1
    state = _pack([rng.standard_normal((2, B, H)) for _ in range(nparts)], cls)
    dstate = _pack([rng.standard_normal((2, B, H)) for _ in range(nparts)], cls)
    out, _, cache = layer.forward(x, state=state, lengths=lengths)
    dout = rng.standard_normal(out.shape)
    _, _, grads = layer.backward(dout, dstate, cache)

    def fun():
        o, fin, _ = layer.forward(x, state=state, lengths=lengths)
        return float(np.sum(o * dout)) + sum(float(np.sum(a * b)) for a, b in zip(_parts(fin), _parts(dstate)))

    names = [k for k in layer.params if k[:2] in ("h0", "c0")]
    assert len(names) == 2 * nparts
    for name in names:
        np.testing.assert_array_equal(numeric_grad(fun, layer.params[name]), 0.0)
        np.testing.assert_array_equal(grads[name], 0.0, err_msg=name)
    # the same in float32: every gradient, the unused initial states' zeros too, stays float32
    layer32 = cls(D, H, 1, bidirectional=True, learn_init=True, dtype=np.float32, rng=rng, **kw)
    cast = tuple(p.astype(np.float32) for p in _parts(state))
    out32, _, cache32 = layer32.forward(x.astype(np.float32), state=_pack(cast, cls), lengths=lengths)
    _, _, grads32 = layer32.backward(dout.astype(np.float32), None, cache32)
    assert {k: g.dtype for k, g in grads32.items()} == {k: np.dtype(np.float32) for k in layer32.params}


# ---------------------------------------------------------------- RTRL


def _rtrl(cell, params, x, h0, c0, dloss, lengths):
    if cell == "lstm":
        return lstm_rtrl_gradients(params, x, (h0, c0), dloss, None, lengths)
    if cell == "gru":
        return gru_rtrl_gradients(params, x, h0, dloss, None, lengths)
    return rtrl_gradients(params, x, h0, dloss, None, lengths, nonlinearity=cell)


@pytest.mark.parametrize("cell", ["tanh", "lstm", "gru"])
def test_rtrl_callable_sees_the_held_state_at_padded_steps(cell):
    """RTRL's callable upstream gets h_t = h_{length-1} (the held state) at a sequence's padded steps."""
    rng = np.random.default_rng(62)
    T, B, D, H = 6, 3, 2, 3
    G = {"tanh": 1, "lstm": 4, "gru": 3}[cell]
    params = {"weight_ih_l0": rng.normal(0, 0.6, (G * H, D)), "weight_hh_l0": rng.normal(0, 0.6, (G * H, H)),
              "bias_ih_l0": rng.normal(0, 0.5, G * H), "bias_hh_l0": rng.normal(0, 0.5, G * H)}
    x = rng.normal(size=(T, B, D))
    h0, c0 = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    lengths = np.array([6, 2, 4])
    weight = rng.normal(size=(T, B, H))
    seen = []

    def dloss(t, h_t):
        seen.append(h_t.copy())
        return weight[t] * h_t

    _rtrl(cell, params, x, h0, c0, dloss, lengths)
    assert len(seen) == T
    for b, n in enumerate(lengths):
        for t in range(n, T):
            np.testing.assert_array_equal(seen[t][b], seen[n - 1][b], err_msg=f"t={t}, b={b}")
    # and the last one is the layer's final state
    cls = {"tanh": RNN, "lstm": LSTM, "gru": GRU}[cell]
    layer = cls(D, H, dtype=np.float64)
    layer.params.update({k: v.copy() for k, v in params.items()})
    state = (h0[None], c0[None]) if cell == "lstm" else h0[None]
    _, final, _ = layer.forward(x, state=state, lengths=lengths)
    np.testing.assert_allclose(seen[-1], _parts(final)[0][0], rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- clipping


def test_float32_grad_norm_survives_overflowing_squares():
    """grad_norm redoes a float32 2-norm in float64 when the squares overflow, so clipping still works."""
    g = {"w": np.full((3, 4), 1e20, dtype=np.float32), "b": np.full(4, -2e20, dtype=np.float32)}
    want = math.sqrt(12 * 1e40 + 4 * 4e40)
    with np.errstate(over="ignore"):
        assert float(np.dot(g["w"].ravel(), g["w"].ravel())) == math.inf  # the float32 dot overflows
        assert grad_norm(g) == pytest.approx(want, rel=1e-6)
        assert clip_grad_norm(g, max_norm=1.0) == pytest.approx(want, rel=1e-6)
    assert g["w"].dtype == np.float32
    assert grad_norm(g) == pytest.approx(1.0, rel=1e-5)


# ---------------------------------------------------------------- schedules


@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, step_size=2, gamma=0.5),
    lambda o: ExponentialLR(o, gamma=0.9),
    lambda o: DecayAfter(o, start_epoch=2, gamma=0.5),
], ids=["step", "exponential", "decay_after"])
def test_closed_form_schedule_load_sets_the_restored_rate(make):
    """load_state_dict of a closed-form schedule sets optimizer.lr to the restored epoch's rate."""
    opt = SGD({"w": np.ones((2, 2))}, lr=1.0)
    sched = make(opt)
    for _ in range(5):
        sched.step()
    assert opt.lr < 1.0
    opt2 = SGD({"w": np.ones((2, 2))}, lr=1.0)
    sched2 = make(opt2)
    sched2.load_state_dict(sched.state_dict())
    assert opt2.lr == pytest.approx(opt.lr, rel=1e-15)


@pytest.mark.parametrize("cls,kw", LAYERS, ids=LAYER_IDS)
def test_float32_stack_with_dropout_and_weight_drop_stays_float32(cls, kw):
    """scaled_keep_mask keeps the dtype: a float32 stack trained with dropout and weight_drop stays float32."""
    assert scaled_keep_mask((3, 4), 0.3, np.random.default_rng(0), np.float32).dtype == np.float32
    rng = np.random.default_rng(63)
    T, B, D, H = 5, 3, 2, 3
    layer = cls(D, H, 2, bidirectional=True, dropout=0.4, weight_drop=0.3, rng=rng, **kw)
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    out, final, cache = layer.forward(x, lengths=np.array([5, 2, 4]), training=True, rng=np.random.default_rng(1))
    assert out.dtype == np.float32 and all(f.dtype == np.float32 for f in _parts(final))
    dx, _, grads = layer.backward(rng.standard_normal(out.shape).astype(np.float32), None, cache)
    assert dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


# ---------------------------------------------------------------- online RTRL


def _online_problem(seed: int, cell: str, B: int = 2, D: int = 3, H: int = 4):
    """Random one-layer parameters of ``cell`` (gates G = 4 for an LSTM, 3 for a GRU) and 5 steps of
    inputs and upstream gradients."""
    rng = np.random.default_rng(seed)
    G = {"lstm": 4, "gru": 3}.get(cell, 1)
    params = {"weight_ih_l0": rng.normal(0, 0.6, (G * H, D)), "weight_hh_l0": rng.normal(0, 0.6, (G * H, H)),
              "bias_ih_l0": rng.normal(0, 0.5, G * H), "bias_hh_l0": rng.normal(0, 0.5, G * H)}
    return params, rng.normal(size=(5, B, D)), rng.normal(size=(5, B, H)), B


@pytest.mark.parametrize("cell", ["tanh", "lstm"])
def test_online_rtrl_reset_restarts_the_sensitivities(cell):
    """OnlineRTRL.reset() zeroes the sensitivities: a reset learner's first step equals a fresh one's."""
    params, x, dout, B = _online_problem(64, cell)
    used = OnlineRTRL(params, lambda grads: None, cell=cell, batch_size=B)
    for t in range(5):
        used.step(x[t], dout[t])
    used.reset()
    h1, g1 = used.step(x[0], dout[0])
    h2, g2 = OnlineRTRL(params, lambda grads: None, cell=cell, batch_size=B).step(x[0], dout[0])
    np.testing.assert_array_equal(h1, h2)
    for name in params:
        np.testing.assert_allclose(g1[name], g2[name], rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("cell", ["tanh", "gru"])
def test_online_rtrl_returned_state_is_a_copy(cell):
    """OnlineRTRL.step returns a copy of h_t: changing it in place does not change the learner's state."""
    params, x, dout, B = _online_problem(70, cell)
    a = OnlineRTRL({k: v.copy() for k, v in params.items()}, 0.05, cell=cell, batch_size=B)
    b = OnlineRTRL({k: v.copy() for k, v in params.items()}, 0.05, cell=cell, batch_size=B)
    for t in range(5):
        ha, ga = a.step(x[t], dout[t])
        hb, gb = b.step(x[t], dout[t])
        np.testing.assert_array_equal(ha, hb)
        ha *= 0.0  # the caller reuses the array it got
    for name in params:
        np.testing.assert_array_equal(a.params[name], b.params[name])


# ---------------------------------------------------------------- nn blocks


def test_sparse_embedding_gradient_of_no_ids_keeps_the_dtype():
    """A float32 sparse embedding gradient keeps float32 even when the batch has no ids."""
    weight = np.ones((5, 3), dtype=np.float32)
    out, cache = embedding_forward(np.zeros((0, 2), dtype=np.int64), weight)
    for sparse in (False, True):
        _, grads = embedding_backward(out, cache, sparse=sparse)
        assert grads["weight"].dtype == np.float32 and grads["weight"].shape == (5, 3)


def test_float32_cross_entropy_total_is_accumulated_in_float64():
    """The float32 loss over many tokens is summed in float64: N equal tokens give exactly N times one."""
    rng = np.random.default_rng(71)
    row = rng.standard_normal(7).astype(np.float32)
    one, _ = softmax_cross_entropy(row[None], np.array([3]), reduction="sum")
    N = 300_001
    many, _ = softmax_cross_entropy(np.tile(row, (N, 1)), np.full(N, 3), reduction="sum")
    assert many == N * one


def test_embedding_negative_padding_idx_counts_from_the_end():
    """padding_idx=-1 is row V-1 (as in torch): it starts at zero and gets no gradient."""
    rng = np.random.default_rng(65)
    V, E = 6, 3
    emb = Embedding(V, E, rng, padding_idx=-1, dtype=np.float64)
    assert emb.padding_idx == V - 1
    assert np.all(emb.params["weight"][V - 1] == 0) and np.all(emb.params["weight"][:V - 1] != 0)
    ids = np.array([[1, V - 1, 2], [V - 1, 1, 0], [3, 4, V - 1], [1, 2, 3], [0, V - 1, 4]])
    out, cache = emb.forward(ids)
    dout = rng.standard_normal(out.shape)
    _, grads = emb.backward(dout, cache)
    _, plain = embedding_backward(dout, embedding_forward(ids, emb.params["weight"])[1])
    np.testing.assert_array_equal(grads["weight"][V - 1], 0.0)
    np.testing.assert_allclose(grads["weight"][:V - 1], plain["weight"][:V - 1], rtol=1e-14)


def test_add_tied_grad_does_not_alias_the_first_gradient():
    """add_tied_grad copies the first use's gradient: adding the second leaves the caller's array alone."""
    rng = np.random.default_rng(66)
    first, second = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    kept = first.copy()
    grads: dict = {}
    add_tied_grad(grads, "encoder.weight", first)
    add_tied_grad(grads, "encoder.weight", second)
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_allclose(grads["encoder.weight"], kept + second, rtol=1e-15)


@pytest.mark.parametrize("bad", [-1, 5, 10**6])
def test_masked_targets_may_hold_any_integer(bad):
    """Masked positions may hold any integer target, in softmax_cross_entropy and LinearCrossEntropy."""
    rng = np.random.default_rng(67)
    T, B, V, Hd = 5, 3, 5, 4
    mask = rng.random((T, B)) < 0.6
    mask[0, 0], mask[1, 1] = True, False
    good = rng.integers(0, V, size=(T, B))
    targets = np.where(mask, good, bad)
    zeroed = np.where(mask, good, 0)
    logits = rng.standard_normal((T, B, V))
    for reduction in ("sum", "mean"):
        losses, dlogits = [], []
        for t in (targets, zeroed):
            loss, cache = softmax_cross_entropy(logits, t, mask, reduction)
            losses.append(loss)
            dlogits.append(softmax_cross_entropy_backward(0.7, cache))
        assert losses[0] == losses[1]
        np.testing.assert_array_equal(dlogits[0], dlogits[1])
    x, w, b = rng.standard_normal((T, B, Hd)), rng.standard_normal((V, Hd)), rng.standard_normal(V)
    fused = LinearCrossEntropy()
    loss, cache = fused.forward(x, w, b, targets, mask)
    dx, grads = fused.backward(0.7, cache)
    loss0, cache0 = fused.forward(x, w, b, zeroed, mask)
    dx0, grads0 = fused.backward(0.7, cache0)
    assert loss == loss0
    np.testing.assert_array_equal(dx, dx0)
    np.testing.assert_array_equal(grads["weight"], grads0["weight"])


# ---------------------------------------------------------------- optimizers


def test_sgd_and_clipping_on_non_contiguous_arrays():
    """SGD's update and clip_grad_norm's scaling also act on non-contiguous (Fortran-order) arrays."""
    rng = np.random.default_rng(68)
    p, g = np.asfortranarray(rng.standard_normal((4, 3))), np.asfortranarray(rng.standard_normal((4, 3)))
    assert not p.flags.c_contiguous and not g.flags.c_contiguous
    want = p - 0.1 * g
    SGD({"w": p}, lr=0.1).step({"w": g})
    np.testing.assert_allclose(p, want, rtol=1e-14)
    p2 = np.asfortranarray(rng.standard_normal((4, 3)))
    want2 = p2 - 0.1 * 0.5 * g
    SGD({"w": p2}, lr=0.1).step({"w": g}, grad_scale=0.5)
    np.testing.assert_allclose(p2, want2, rtol=1e-14)
    grads = {"w": np.asfortranarray(10 * rng.standard_normal((4, 3))), "b": 10 * rng.standard_normal(3)}
    before = {k: v.copy() for k, v in grads.items()}
    total = clip_grad_norm(grads, max_norm=1.0)
    assert total > 1.0 and grad_norm(grads) == pytest.approx(1.0, rel=1e-5)
    for k in grads:
        np.testing.assert_allclose(grads[k], before[k] / (total + 1e-6), rtol=1e-12)


def test_float64_gradients_on_float32_params_keep_float32_state():
    """Gradients are cast to the parameter's dtype: SGD's momentum buffer stays float32 and reloads."""
    rng = np.random.default_rng(69)
    params = {"w": rng.standard_normal((4, 3)).astype(np.float32), "b": rng.standard_normal(3).astype(np.float32)}
    opt = SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01)
    for _ in range(3):
        opt.step({k: rng.standard_normal(v.shape) for k, v in params.items()})  # float64 gradients
    assert all(v.dtype == np.float32 for v in params.values())
    assert all(buf.dtype == np.float32 for st in opt.state.values() for buf in st.values())
    SGD({k: v.copy() for k, v in params.items()}, lr=0.1, momentum=0.9, weight_decay=0.01).load_state_dict(
        opt.state_dict())


def test_plateau_nan_first_metric_is_not_an_improvement():
    """HalveOnPlateau: a NaN metric never improves, not even as the first one (best stays infinite)."""
    opt = SGD({"w": np.ones((2, 2))}, lr=1.0)
    sched = HalveOnPlateau(opt)
    sched.step(float("nan"))
    assert opt.lr == 0.5 and sched.best == math.inf and sched.num_decays == 1
    sched.step(5.0)
    assert opt.lr == 0.5 and sched.best == 5.0
