"""Gradient-flow diagnostics: per-step ||dL/dh_t|| against independent references, and the demo claim.

References for the norms, all in float64 with random non-zero weights and biases and random
upstream gradients on every output and on the final state:

- the layer's own backward run on the suffix x[t+1:] started from the state at t (its dstate0 is
  dL/dh_t coming from the future; add dout[t]);
- finite differences of the loss with respect to h_t;
- a hand-written Elman unroll.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.diagnostics import grad_norms_per_step, gradient_flow
from rnnkit.recurrent import GRU, LSTM, RNN

CLASSES = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
T, B, D, H = 7, 3, 4, 5


def _layer(cell, rng, num_layers=1, **kw):
    layer = CLASSES[cell](D, H, num_layers, dtype=np.float64, rng=rng, **kw)
    for k, v in layer.params.items():
        layer.params[k] = rng.uniform(-0.8, 0.8, size=v.shape)  # biases too, none zero
    return layer


def _setup(cell, seed=0):
    rng = np.random.default_rng(seed)
    layer = _layer(cell, rng)
    x = rng.standard_normal((T, B, D))
    dout = rng.standard_normal((T, B, H))
    dstate = rng.standard_normal((1, B, H))
    if cell == "lstm":
        dstate = (dstate, rng.standard_normal((1, B, H)))
    return layer, x, dout, dstate


def _loss_from(layer, x_suffix, state, h_t, dout, dstate, t):
    """L as a function of the state at t: <dout[t], h_t> + <dout[t+1:], out> + <dstate, final>."""
    f = float(np.sum(dout[t] * h_t))
    if t == T - 1:
        finals = state if isinstance(state, tuple) else (state,)
    else:
        out, finals, _ = layer.forward(x_suffix, state=state)
        f += float(np.sum(out * dout[t + 1:]))
        finals = finals if isinstance(finals, tuple) else (finals,)
    dstates = dstate if isinstance(dstate, tuple) else (dstate,)
    return f + sum(float(np.sum(a * b)) for a, b in zip(finals, dstates))


def _assert_close(name, got, want, rtol=1e-9):
    diff = np.max(np.abs(np.asarray(got) - np.asarray(want)))
    assert np.allclose(got, want, rtol=rtol, atol=1e-12), f"{name}: max difference {diff:.3e}"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_norms_equal_suffix_backward_of_the_layer(cell):
    layer, x, dout, dstate = _setup(cell)
    norms = grad_norms_per_step(layer, x, dout=dout, dstate=dstate)
    assert norms.shape == (T,) and norms.dtype == np.float64
    expected = np.zeros(T)
    for t in range(T):
        _, state_t, _ = layer.forward(x[: t + 1])  # state after step t: h_t (and c_t)
        if t == T - 1:
            from_future = dstate[0] if cell == "lstm" else dstate
        else:
            _, _, cache = layer.forward(x[t + 1:], state=state_t)
            _, ds0, _ = layer.backward(dout[t + 1:], dstate, cache)
            from_future = ds0[0] if cell == "lstm" else ds0
        expected[t] = np.linalg.norm(from_future[0] + dout[t])
    _assert_close(f"{cell} norms", norms, expected)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("t", [0, 3, T - 1])
def test_norms_equal_finite_differences(cell, t):
    layer, x, dout, dstate = _setup(cell, seed=1)
    norms = grad_norms_per_step(layer, x, dout=dout, dstate=dstate)
    _, state_t, _ = layer.forward(x[: t + 1])
    h_t = (state_t[0] if cell == "lstm" else state_t).copy()
    grad = np.zeros_like(h_t)
    eps = 1e-6
    for i in np.ndindex(h_t.shape):
        vals = []
        for sign in (1, -1):
            h = h_t.copy()
            h[i] += sign * eps
            state = (h, state_t[1]) if cell == "lstm" else h
            vals.append(_loss_from(layer, x[t + 1:], state, h[0], dout, dstate, t))
        grad[i] = (vals[0] - vals[1]) / (2 * eps)
    _assert_close(f"{cell} ||dL/dh_{t}||", norms[t], np.linalg.norm(grad), rtol=1e-6)


def test_norms_equal_manual_elman_unroll():
    layer, x, dout, dstate = _setup("rnn", seed=2)
    p = layer.params
    hs = [np.zeros((B, H))]
    for t in range(T):
        a = x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + hs[-1] @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        hs.append(np.tanh(a))
    g = dout[T - 1] + dstate[0]  # dL/dh_T
    manual = np.zeros(T)
    manual[T - 1] = np.linalg.norm(g)
    for t in range(T - 2, -1, -1):
        g = dout[t] + (g * (1 - hs[t + 2] ** 2)) @ p["weight_hh_l0"]  # hs[t+2] is the output of step t+1
        manual[t] = np.linalg.norm(g)
    _assert_close("manual unroll", grad_norms_per_step(layer, x, dout=dout, dstate=dstate), manual)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_stacked_layers_give_one_row_per_layer(cell):
    rng = np.random.default_rng(3)
    layer = _layer(cell, rng, num_layers=2)
    x = rng.standard_normal((T, B, D))
    dout = rng.standard_normal((T, B, H))
    shape = (2, B, H)
    dstate = (rng.standard_normal(shape), rng.standard_normal(shape)) if cell == "lstm" else rng.standard_normal(shape)
    norms = grad_norms_per_step(layer, x, dout=dout, dstate=dstate)
    assert norms.shape == (2, T)
    # the same two layers run one at a time: the bottom one gets the top one's dx as its dout
    bottom = _layer(cell, rng)
    top = CLASSES[cell](H, H, dtype=np.float64, rng=rng)
    for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        bottom.params[k + "_l0"] = layer.params[k + "_l0"]
        top.params[k + "_l0"] = layer.params[k + "_l1"]
    h0, _, _ = bottom.forward(x)
    pick = (lambda k: tuple(s[k : k + 1] for s in dstate)) if cell == "lstm" else (lambda k: dstate[k : k + 1])
    _, _, cache = top.forward(h0)
    dx_top, _, _ = top.backward(dout, pick(1), cache)
    _assert_close("top layer", norms[1], grad_norms_per_step(top, h0, dout=dout, dstate=pick(1)))
    _assert_close("bottom layer", norms[0], grad_norms_per_step(bottom, x, dout=dx_top, dstate=pick(0)))


def test_default_upstream_is_a_random_gradient_on_the_last_state():
    layer, x, _, _ = _setup("lstm")
    norms = grad_norms_per_step(layer, x, rng=np.random.default_rng(5))
    dh = np.random.default_rng(5).standard_normal((B, H))
    _assert_close("last step", norms[-1], np.linalg.norm(dh))
    explicit = grad_norms_per_step(layer, x, dstate=(dh[None], np.zeros((1, B, H))))
    _assert_close("default vs explicit", norms, explicit)


def test_bad_arguments_are_named():
    layer, x, dout, _ = _setup("rnn")
    with pytest.raises(ValueError, match="rng"):
        grad_norms_per_step(layer, x)
    with pytest.raises(ValueError, match="dout of shape"):
        grad_norms_per_step(layer, x, dout=dout[:3])
    with pytest.raises(ValueError, match=r"x of shape \(T, B, D=4\)"):
        grad_norms_per_step(layer, x[..., :2], dout=dout)
    with pytest.raises(TypeError, match="dtype"):
        grad_norms_per_step(layer, x.astype(np.float32), dout=dout)
    with pytest.raises(ValueError, match="unidirectional"):
        grad_norms_per_step(RNN(D, H, bidirectional=True, dtype=np.float64), x, dout=dout)
    with pytest.raises(ValueError, match="tuple"):
        grad_norms_per_step(_setup("lstm")[0], x, dstate=np.zeros((1, B, H)))
    with pytest.raises(ValueError, match="cell"):
        gradient_flow("foo")
    with pytest.raises(ValueError, match="steps"):
        gradient_flow("rnn", steps=0)
    with pytest.raises(ValueError, match="init"):
        gradient_flow("rnn", init="bogus")


def test_elman_gradient_vanishes_and_lstm_keeps_it():
    """The lecture's central problem, with the defaults (T=100, H=50, seed 0)."""
    rnn = gradient_flow("rnn")
    lstm = gradient_flow("lstm")
    assert rnn.shape == lstm.shape == (100,)
    rnn_ratio = rnn[0] / rnn[-1]
    lstm_ratio = lstm[0] / lstm[-1]
    print(f"||dL/dh_1|| / ||dL/dh_T||: rnn {rnn_ratio:.2e}, lstm {lstm_ratio:.2e}")
    assert rnn_ratio < 1e-15  # more than 15 orders of magnitude lost over 99 steps
    assert lstm_ratio > 1e-11
    assert lstm_ratio > 1e8 * rnn_ratio
    # geometric decay: every 10 steps further back costs the Elman network more than a factor 10
    assert np.all(rnn[:-10:10] < 0.1 * rnn[10::10])
    # same seed, same numbers; the forget bias of 1 is what keeps the LSTM's gradient
    _assert_close("repeat", gradient_flow("lstm"), lstm)
    plain = gradient_flow("lstm", forget_bias=None)
    assert plain[0] / plain[-1] < 1e-6 * lstm_ratio


def test_gradient_flow_options():
    two = gradient_flow("gru", steps=20, hidden=8, batch=2, num_layers=2, init=0.1, seed=4)
    assert two.shape == (2, 20) and np.all(two > 0)
    assert not np.allclose(gradient_flow("rnn", steps=20, seed=1), gradient_flow("rnn", steps=20, seed=2))
    ortho = gradient_flow("rnn", init="orthogonal")
    default = gradient_flow("rnn")
    # orthogonal recurrent weights (spectral radius 1) lose far less than PyTorch's default init
    assert ortho[0] / ortho[-1] > 1e6 * default[0] / default[-1]


def _table(out):
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[0].isdigit()]
    return np.array(rows, dtype=float)


def test_cli_single_cell_table_matches_library(capsys):
    assert main(["gradflow", "--cell", "lstm", "--steps", "30", "--hidden", "12", "--every", "7", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    table = _table(out)
    steps = table[:, 0].astype(int)
    assert list(steps) == [1, 2, 9, 16, 23, 30]
    assert np.array_equal(table[:, 1], 30 - steps)
    norms = gradient_flow("lstm", steps=30, hidden=12, seed=3)
    _assert_close("norm column", table[:, 2], norms[steps - 1], rtol=1e-3)
    _assert_close("ratio column", table[:, 3], norms[steps - 1] / norms[-1], rtol=1e-3)
    _assert_close("log10 column", table[:, 4], np.log10(norms[steps - 1] / norms[-1]), rtol=1e-2)


def test_cli_all_cells_side_by_side(capsys):
    assert main(["gradflow", "--all-cells", "--steps", "25", "--every", "12", "--hidden", "10"]) == 0
    out = capsys.readouterr().out
    header = [line.split() for line in out.splitlines() if line.startswith("  step")][0]
    assert header == ["step", "back", "rnn", "lstm", "lstm", "c", "gru"]  # "lstm c": its cell's ||dL/dc_t||
    table = _table(out)
    assert table.shape == (3, 6)
    for j, cell in zip([2, 3, 5], ["rnn", "lstm", "gru"]):
        norms = gradient_flow(cell, steps=25, hidden=10)
        _assert_close(f"{cell} column", table[:, j], norms[[0, 12, 24]] / norms[-1], rtol=1e-3)
    # the average factor a step back: (n_1 / n_T)^(1/24), one per cell
    rate_line = [line for line in out.splitlines() if line.startswith("per step back, on average:")]
    assert len(rate_line) == 1 and "over 24 steps" in rate_line[0], out
    for cell in ("rnn", "lstm", "gru"):
        norms = gradient_flow(cell, steps=25, hidden=10)
        assert f"{cell} {(norms[0] / norms[-1]) ** (1 / 24):.3f}" in rate_line[0], (cell, rate_line)
