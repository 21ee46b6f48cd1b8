"""rnnkit.textbook: the one-example, one-step cells compute what the fast kernels (rnnkit.cells) compute,
forward and back through time; their per-step backward agrees with finite differences and with torch's
cells; their equation tables are their docstrings' equations, in the same order."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from rnnkit.cells import elman as elman_kernel
from rnnkit.cells import gru as gru_kernel
from rnnkit.cells import lstm as lstm_kernel
from rnnkit.textbook import CELLS, elman, elman_ln, gru, gru_ln, lstm, lstm_ln, lstm_ln_peephole

# (cell, nonlinearity): the Elman RNN twice
CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", None), ("gru", None)]
KERNELS = {"rnn": elman_kernel, "lstm": lstm_kernel, "gru": gru_kernel}


def random_params(cell: str, D: int, H: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Non-zero weights and biases (none near zero), PyTorch's layout."""
    rows = len(CELLS[cell].GATES) * H

    def draw(*shape):
        return rng.uniform(0.1, 0.8, shape) * rng.choice([-1.0, 1.0], shape)

    return {"weight_ih": draw(rows, D), "weight_hh": draw(rows, H), "bias_ih": draw(rows), "bias_hh": draw(rows)}


def textbook_run(cell, nonlinearity, p, xs, h0, c0, dout, dhT, dcT):
    """(outputs (T, H), final state, parameter grads, dxs, dstate0) from the textbook sequence functions."""
    if cell == "lstm":
        steps = lstm.forward_sequence(xs, h0, c0, p)
        grads, dxs, dh0, dc0, _ = lstm.backward_sequence(steps, p, dout, dhT, dcT)
        return np.array([s.h for s in steps]), (steps[-1].h, steps[-1].c), grads, dxs, (dh0, dc0)
    if cell == "gru":
        steps = gru.forward_sequence(xs, h0, p)
        grads, dxs, dh0, _ = gru.backward_sequence(steps, p, dout, dhT)
    else:
        steps = elman.forward_sequence(xs, h0, p, nonlinearity)
        grads, dxs, dh0, _ = elman.backward_sequence(steps, p, dout, dhT, nonlinearity)
    return np.array([s.h for s in steps]), (steps[-1].h,), grads, dxs, (dh0,)


def kernel_run(cell, nonlinearity, p, xs, h0, c0, dout, dhT, dcT):
    """The same from rnnkit.cells, as a batch of one."""
    w = (p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    x = xs[:, None, :]  # (T, 1, D)
    kernel = KERNELS[cell]
    if cell == "lstm":
        out, (hT, cT), cache = kernel.forward(x, (h0[None], c0[None]), *w)
        dx, (dh0, dc0), dw = kernel.backward(dout[:, None, :], (dhT[None], dcT[None]), cache)
        return out[:, 0], (hT[0], cT[0]), dw, dx[:, 0], (dh0[0], dc0[0])
    kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    out, hT, cache = kernel.forward(x, h0[None], *w, **kwargs)
    dx, dh0, dw = kernel.backward(dout[:, None, :], dhT[None], cache)
    return out[:, 0], (hT[0],), dw, dx[:, 0], (dh0[0],)


@pytest.mark.parametrize("cell, nonlinearity", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_sequence_forward_and_bptt_equal_the_kernels(cell, nonlinearity, seed):
    rng = np.random.default_rng(seed)
    T, D, H = 6, 3, 4
    p = random_params(cell, D, H, rng)
    xs, h0, c0 = rng.normal(size=(T, D)), rng.normal(size=H), rng.normal(size=H)
    dout, dhT, dcT = rng.normal(size=(T, H)), rng.normal(size=H), rng.normal(size=H)
    args = (cell, nonlinearity, p, xs, h0, c0, dout, dhT, dcT)
    out, state, grads, dxs, dstate0 = textbook_run(*args)
    k_out, k_state, k_dw, k_dx, k_dstate0 = kernel_run(*args)
    if nonlinearity == "relu":  # the test means something: some units on, some off
        assert 0 < (out > 0).mean() < 1
    np.testing.assert_allclose(out, k_out, rtol=1e-12, atol=1e-12)
    for a, b in zip(state, k_state):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for name, k in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), k_dw):
        assert np.abs(k).max() > 1e-3, name  # a gradient that is there to compare
        np.testing.assert_allclose(grads[name], k, rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(dxs, k_dx, rtol=1e-12, atol=1e-12)
    for a, b in zip(dstate0, k_dstate0):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def one_step(cell, nonlinearity, p, x, h, c):
    """The step's (h_t, c_t or None) from the textbook forward."""
    if cell == "lstm":
        s = lstm.forward(x, h, c, p)
        return s, s.h, s.c
    s = gru.forward(x, h, p) if cell == "gru" else elman.forward(x, h, p, nonlinearity)
    return s, s.h, None


def one_step_back(cell, nonlinearity, s, p, dh, dc):
    if cell == "lstm":
        return lstm.backward(s, p, dh, dc)
    return gru.backward(s, p, dh) if cell == "gru" else elman.backward(s, p, dh, nonlinearity)


@pytest.mark.parametrize("cell, nonlinearity", CASES)
def test_step_backward_equals_finite_differences(cell, nonlinearity):
    """L = dh . h_t (+ dc . c_t): every parameter, x_t, h_{t-1} (and c_{t-1}) by central differences."""
    rng = np.random.default_rng(7)
    D, H = 3, 4
    p = random_params(cell, D, H, rng)
    values = {"x": rng.normal(size=D), "h_prev": rng.normal(size=H), "c_prev": rng.normal(size=H)}
    dh, dc = rng.normal(size=H), rng.normal(size=H)

    def loss():
        _, h, c = one_step(cell, nonlinearity, p, values["x"], values["h_prev"], values["c_prev"])
        return dh @ h + (dc @ c if c is not None else 0.0)

    s, _, _ = one_step(cell, nonlinearity, p, values["x"], values["h_prev"], values["c_prev"])
    g = one_step_back(cell, nonlinearity, s, p, dh, dc)
    wanted = {**{name: (p[name], getattr(g, name)) for name in CELLS[cell].PARAM_NAMES},
              "x": (values["x"], g.dx), "h_prev": (values["h_prev"], g.dh_prev)}
    if cell == "lstm":
        wanted["c_prev"] = (values["c_prev"], g.dc_prev)
    eps = 1e-6
    for name, (array, analytic) in wanted.items():
        numeric = np.zeros_like(array)
        for k in np.ndindex(array.shape):
            keep = array[k]
            array[k] = keep + eps
            up = loss()
            array[k] = keep - eps
            down = loss()
            array[k] = keep
            numeric[k] = (up - down) / (2 * eps)
        assert np.abs(numeric).max() > 1e-3, name
        np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("cell, nonlinearity", CASES)
def test_one_step_equals_torch_cells(cell, nonlinearity):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    D, H = 3, 4
    p = random_params(cell, D, H, rng)
    x, h, c, dh, dc = (rng.normal(size=n) for n in (D, H, H, H, H))
    if cell == "lstm":
        module = torch.nn.LSTMCell(D, H)
    elif cell == "gru":
        module = torch.nn.GRUCell(D, H)
    else:
        module = torch.nn.RNNCell(D, H, nonlinearity=nonlinearity)
    module = module.double()
    with torch.no_grad():
        for name, value in p.items():
            getattr(module, name).copy_(torch.from_numpy(value))
    tx, th, tc = (torch.tensor(v[None], requires_grad=True) for v in (x, h, c))
    if cell == "lstm":
        h_t, c_t = module(tx, (th, tc))
        loss = (h_t * torch.from_numpy(dh)).sum() + (c_t * torch.from_numpy(dc)).sum()
    else:
        h_t, c_t = module(tx, th), None
        loss = (h_t * torch.from_numpy(dh)).sum()
    loss.backward()

    s, h_ours, c_ours = one_step(cell, nonlinearity, p, x, h, c)
    g = one_step_back(cell, nonlinearity, s, p, dh, dc)
    np.testing.assert_allclose(h_ours, h_t.detach().numpy()[0], rtol=1e-12, atol=1e-12)
    if cell == "lstm":
        np.testing.assert_allclose(c_ours, c_t.detach().numpy()[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g.dc_prev, tc.grad.numpy()[0], rtol=1e-12, atol=1e-12)
    for name in p:
        np.testing.assert_allclose(getattr(g, name), getattr(module, name).grad.numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(g.dx, tx.grad.numpy()[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g.dh_prev, th.grad.numpy()[0], rtol=1e-12, atol=1e-12)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("module", [elman, lstm, gru, elman_ln, lstm_ln, gru_ln, lstm_ln_peephole])
def test_equation_tables_are_the_docstring_equations_in_order(module):
    """What rnnkit step prints beside each number is the module docstring's equation, in the docstring's order."""
    doc = _flat(module.__doc__)
    for table in (module.FORWARD_EQUATIONS, module.BACKWARD_EQUATIONS, module.PARAM_GRADIENTS):
        at = 0
        for name, equation in table.items():
            found = doc.find(_flat(equation), at)
            assert found >= 0, (name, equation)
            at = found
    # every named intermediate has its equation, in the order the Step and StepGrads list them
    inputs = {"x", "h_prev", "c_prev"}
    assert [f for f in module.Step._fields if f not in inputs] == list(module.FORWARD_EQUATIONS)
    grads = [f for f in module.StepGrads._fields if f not in module.PARAM_NAMES]
    assert grads == list(module.BACKWARD_EQUATIONS)


def test_the_forward_lines_follow_the_docstring_order():
    """The code computes the quantities in the order the docstring lists them (read off the source)."""
    import inspect

    for module in (elman, lstm, gru, elman_ln, lstm_ln, gru_ln, lstm_ln_peephole):
        tables = ((module.forward, module.FORWARD_EQUATIONS), (module.backward, module.BACKWARD_EQUATIONS))
        for function, table in tables:
            source = inspect.getsource(function)
            assigned = list(dict.fromkeys(m.group(1) for m in re.finditer(r"^ +(\w+) = ", source, re.M)))
            order = [name for name in assigned if name in table]
            given = [name for name in table if name in ("dh", "dc_next")]  # arguments, not computed
            assert given + order == list(table), (module.__name__, function.__name__)


def test_sigmoid_of_a_large_negative_number_is_zero_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would fail the test
        assert lstm.sigmoid(np.array([-1000.0]))[0] == 0.0
        assert gru.sigmoid(np.array([1000.0]))[0] == 1.0


def test_an_unknown_nonlinearity_is_refused():
    p = random_params("rnn", 2, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Expected nonlinearity 'tanh' or 'relu', got 'sigmoid'"):
        elman.forward(np.ones(2), np.zeros(2), p, "sigmoid")
