"""rnnkit.textbook.elman_ln, lstm_ln, gru_ln, lstm_ln_peephole: the one-example layer-normalized cells compute what
the fast kernels (rnnkit.cells.elman_ln, lstm_ln, gru_ln, lstm_ln_peephole) compute, to 1e-12 in float64, on a
batch of sequences of different lengths (each example over its own steps); their backward through time agrees with
central differences (random non-zero weights, biases, peepholes, gains and shifts, random upstream gradients,
T = 6)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.cells import elman_ln as elman_kernel
from rnnkit.cells import gru_ln as gru_kernel
from rnnkit.cells import lstm_ln as lstm_kernel
from rnnkit.cells import lstm_ln_peephole as both_kernel
from rnnkit.gradcheck import numeric_grad
from rnnkit.packing import batch_sizes
from rnnkit.textbook import CELLS, elman_ln, gru_ln, lstm_ln, lstm_ln_peephole

CASES = [("rnn_ln", "tanh"), ("rnn_ln", "relu"), ("lstm_ln", None), ("gru_ln", None), ("lstm_ln_peephole", None)]
KERNELS = {"rnn_ln": elman_kernel, "lstm_ln": lstm_kernel, "gru_ln": gru_kernel, "lstm_ln_peephole": both_kernel}
MODULES = [elman_ln, lstm_ln, gru_ln, lstm_ln_peephole]
T, D, H = 6, 3, 4
LENGTHS = [6, 5, 2]  # sorted, as the kernels take a packed batch


def random_params(cell: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every parameter non-zero and none near zero (weights, biases, peepholes, LN gains and shifts), PyTorch's
    layout."""
    module = CELLS[cell]
    rows = len(module.GATES) * H

    def draw(*shape):
        return rng.uniform(0.2, 1.0, shape) * rng.choice([-1.0, 1.0], shape)

    p = {"weight_ih": draw(rows, D), "weight_hh": draw(rows, H), "bias_ih": draw(rows), "bias_hh": draw(rows)}
    for name in module.PARAM_NAMES[4:]:  # the peepholes, the LN gains and shifts
        p[name] = draw(H if name in module.UNIT_PARAMS + getattr(module, "PEEPHOLES", ()) else rows)
    return p


def textbook_run(cell, nonlinearity, p, xs, h0, c0, dout, dhT, dcT):
    """(outputs (T, H), final state, parameter grads, dxs, dstate0) of one example."""
    module = CELLS[cell]
    if cell.startswith("lstm"):
        steps = module.forward_sequence(xs, h0, c0, p)
        grads, dxs, dh0, dc0, _ = module.backward_sequence(steps, p, dout, dhT, dcT)
        return np.array([s.h for s in steps]), (steps[-1].h, steps[-1].c), grads, dxs, (dh0, dc0)
    if cell == "gru_ln":
        steps = module.forward_sequence(xs, h0, p)
        grads, dxs, dh0, _ = module.backward_sequence(steps, p, dout, dhT)
    else:
        steps = module.forward_sequence(xs, h0, p, nonlinearity)
        grads, dxs, dh0, _ = module.backward_sequence(steps, p, dout, dhT, nonlinearity)
    return np.array([s.h for s in steps]), (steps[-1].h,), grads, dxs, (dh0,)


def kernel_run(cell, nonlinearity, p, x, state0, dout, dstateT, sizes):
    """The kernel on a padded batch x (T, B, D) with ``batch_sizes`` ``sizes``."""
    module = CELLS[cell]
    kernel = KERNELS[cell]
    w = [p[name] for name in module.PARAM_NAMES]
    kwargs = {"nonlinearity": nonlinearity} if cell == "rnn_ln" else {}
    out, final, cache = kernel.forward(x, state0, *w, batch_sizes=sizes, **kwargs)
    dx, dstate0, dw = kernel.backward(dout, dstateT, cache)
    return out, final, dict(zip(module.PARAM_NAMES, dw)), dx, dstate0


@pytest.mark.parametrize("cell, nonlinearity", CASES)
def test_textbook_equals_the_kernel_on_a_batch_of_different_lengths(cell, nonlinearity):
    rng = np.random.default_rng(11)
    B = len(LENGTHS)
    p = random_params(cell, rng)
    x = rng.normal(size=(T, B, D))
    h0, c0 = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    dout, dhT, dcT = rng.normal(size=(T, B, H)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    for t in range(T):  # padded steps: the kernel must not read them
        for b, n in enumerate(LENGTHS):
            if t >= n:
                x[t, b] = 1e3
                dout[t, b] = 1e3
    lstm = cell.startswith("lstm")
    state0, dstateT = ((h0, c0), (dhT, dcT)) if lstm else (h0, dhT)
    out, final, kgrads, dx, dstate0 = kernel_run(cell, nonlinearity, p, x, state0, dout, dstateT,
                                                 batch_sizes(np.array(LENGTHS), T))
    final = final if lstm else (final,)
    dstate0 = dstate0 if lstm else (dstate0,)
    summed = {name: np.zeros_like(v) for name, v in p.items()}
    for b, n in enumerate(LENGTHS):
        t_out, t_final, grads, dxs, t_dstate0 = textbook_run(cell, nonlinearity, p, x[:n, b], h0[b], c0[b],
                                                             dout[:n, b], dhT[b], dcT[b])
        np.testing.assert_allclose(out[:n, b], t_out, rtol=1e-12, atol=1e-12, err_msg=f"out, example {b}")
        assert np.all(out[n:, b] == 0)
        for k, (a, e) in enumerate(zip(final, t_final)):
            np.testing.assert_allclose(a[b], e, rtol=1e-12, atol=1e-12, err_msg=f"final state {k}, example {b}")
        np.testing.assert_allclose(dx[:n, b], dxs, rtol=1e-12, atol=1e-12, err_msg=f"dx, example {b}")
        for k, (a, e) in enumerate(zip(dstate0, t_dstate0)):
            np.testing.assert_allclose(a[b], e, rtol=1e-12, atol=1e-12, err_msg=f"dstate0 {k}, example {b}")
        for name in summed:
            summed[name] += grads[name]
    if nonlinearity == "relu":  # the test means something: some units on, some off
        assert 0 < (out[:2] > 0).mean() < 1
    for name, k in kgrads.items():
        assert np.abs(k).max() > 1e-3, name  # a gradient that is there to compare
        np.testing.assert_allclose(summed[name], k, rtol=1e-11, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cell, nonlinearity", CASES)
def test_bptt_equals_finite_differences(cell, nonlinearity):
    """L = sum_t dout_t . h_t + dh_T . h_T (+ dc_T . c_T): every parameter, every x_t, h_0 (and c_0)."""
    rng = np.random.default_rng(5)
    p = random_params(cell, rng)
    lstm = cell.startswith("lstm")
    values = {"x": rng.normal(size=(T, D)), "h0": rng.normal(size=H), "c0": rng.normal(size=H)}
    dout, dhT, dcT = rng.normal(size=(T, H)), rng.normal(size=H), rng.normal(size=H)

    def run():
        return textbook_run(cell, nonlinearity, p, values["x"], values["h0"], values["c0"], dout, dhT, dcT)

    def loss():
        out, final, *_ = run()
        return float(np.sum(out * dout) + final[0] @ dhT + (final[1] @ dcT if lstm else 0.0))

    _, _, grads, dxs, dstate0 = run()
    wanted = {**{name: (p[name], grads[name]) for name in CELLS[cell].PARAM_NAMES},
              "x": (values["x"], dxs), "h0": (values["h0"], dstate0[0])}
    if lstm:
        wanted["c0"] = (values["c0"], dstate0[1])
    for name, (array, analytic) in wanted.items():
        numeric = numeric_grad(loss, array)  # central differences, eps = 1e-6
        assert np.abs(numeric).max() > 1e-3, name
        err = np.max(np.abs(analytic - numeric) / np.maximum(1.0, np.abs(numeric)))
        assert err < 1e-7, f"{name}: max relative difference {err:.3e}"


@pytest.mark.parametrize("module", MODULES)
def test_every_parameter_has_its_gradient_equation_and_every_ln_parameter_its_symbol(module):
    """(The tables against the docstrings and the source: tests/test_textbook.py.)"""
    assert list(module.PARAM_GRADIENTS) == list(module.PARAM_NAMES) == [
        f for f in module.StepGrads._fields if f in module.PARAM_NAMES]
    assert set(module.SYMBOLS) == set(module.LN_PARAMS)


def test_gains_of_one_and_shifts_of_zero_normalize_a_to_mean_0_and_variance_1():
    """The LN line by line: a_hat has mean 0 and variance var / (var + eps), and is the same for a shifted and
    scaled a."""
    rng = np.random.default_rng(2)
    p = random_params("rnn_ln", rng)
    x, h = rng.normal(size=D), rng.normal(size=H)
    s = elman_ln.forward(x, h, p)
    assert abs(s.a_hat.mean()) < 1e-15
    var = np.var(s.a)
    np.testing.assert_allclose(np.mean(s.a_hat**2), var / (var + 1e-5), rtol=1e-12)
    scaled = {**p, "weight_ih": 3 * p["weight_ih"], "weight_hh": 3 * p["weight_hh"]}
    np.testing.assert_allclose(elman_ln.forward(x, h, scaled).a_hat, s.a_hat, rtol=1e-5)
