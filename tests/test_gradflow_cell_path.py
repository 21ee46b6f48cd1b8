"""||dL/dc_t||, the LSTM's cell path, from grad_norms_per_step(with_cell=True): against the textbook cells'
own dL/dc_t (every LSTM variant), and against finite differences for the plain LSTM."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.diagnostics import grad_norms_per_step, gradient_flow
from rnnkit.recurrent import GRU, LSTM
from rnnkit.textbook import CELLS

T, D, H = 6, 3, 4
VARIANTS = [("lstm", False, False), ("lstm_peephole", True, False), ("lstm_ln", False, True),
            ("lstm_ln_peephole", True, True)]


def _layer(peephole, layer_norm, rng):
    layer = LSTM(D, H, 1, dtype=np.float64, rng=rng, peephole=peephole, layer_norm=layer_norm)
    for k, v in layer.params.items():
        layer.params[k] = rng.uniform(0.2, 0.8, v.shape) * rng.choice([-1.0, 1.0], v.shape)
        if k.startswith("ln_") and "_weight" in k:
            layer.params[k] = rng.uniform(0.5, 1.5, v.shape)
    return layer


@pytest.mark.parametrize("name, peephole, layer_norm", VARIANTS)
def test_cell_norms_equal_the_textbook_dc(name, peephole, layer_norm):
    rng = np.random.default_rng(3)
    layer = _layer(peephole, layer_norm, rng)
    x = rng.standard_normal((T, 1, D))
    dout = rng.standard_normal((T, 1, H))
    dh_T, dc_T = rng.standard_normal((1, 1, H)), rng.standard_normal((1, 1, H))
    h_norms, c_norms = grad_norms_per_step(layer, x, dout=dout, dstate=(dh_T, dc_T), with_cell=True)
    module = CELLS[name]
    p = {k[:-3]: v for k, v in layer.params.items()}  # weight_ih_l0 -> weight_ih
    steps = module.forward_sequence(x[:, 0], np.zeros(H), np.zeros(H), p)
    *_, back = module.backward_sequence(steps, p, dout[:, 0], dh_T[0, 0], dc_T[0, 0])
    np.testing.assert_allclose(c_norms, [np.linalg.norm(g.dc) for g in back], rtol=1e-10)
    np.testing.assert_allclose(h_norms, [np.linalg.norm(g.dh) for g in back], rtol=1e-10)


@pytest.mark.parametrize("t", [0, 2, T - 1])
def test_plain_lstm_cell_norm_equals_finite_differences(t):
    rng = np.random.default_rng(4)
    layer = _layer(False, False, rng)
    B = 2
    x = rng.standard_normal((T, B, D))
    dout = rng.standard_normal((T, B, H))
    _, c_norms = grad_norms_per_step(layer, x, dout=dout, dstate=(np.zeros((1, B, H)), np.zeros((1, B, H))),
                                     with_cell=True)
    out, (h_t, c_t), _ = layer.forward(x[: t + 1])
    w = layer.params
    h_prev = out[t - 1] if t else np.zeros((B, H))
    a = x[t] @ w["weight_ih_l0"].T + w["bias_ih_l0"] + h_prev @ w["weight_hh_l0"].T + w["bias_hh_l0"]
    o_t = 1 / (1 + np.exp(-a[:, 3 * H:]))  # PyTorch's order i, f, g, o
    np.testing.assert_allclose(o_t * np.tanh(c_t[0]), h_t[0], rtol=1e-12)  # o_t is the layer's

    def loss(c):  # L as a function of c_t: h_t = o_t tanh(c_t) and the steps after it
        h = o_t * np.tanh(c)
        f = float(np.sum(dout[t] * h))
        if t < T - 1:
            later, _, _ = layer.forward(x[t + 1:], state=(h[None], c[None]))
            f += float(np.sum(later * dout[t + 1:]))
        return f

    c = c_t[0].copy()
    grad = np.zeros_like(c)
    for idx in np.ndindex(c.shape):
        e = np.zeros_like(c)
        e[idx] = 1e-6
        grad[idx] = (loss(c + e) - loss(c - e)) / 2e-6
    assert c_norms[t] == pytest.approx(np.linalg.norm(grad), rel=1e-7)


def test_with_cell_is_for_an_lstm_only():
    layer = GRU(D, H, 1, dtype=np.float64, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="Expected with_cell=False for a GRU layer"):
        grad_norms_per_step(layer, np.zeros((2, 1, D)), rng=np.random.default_rng(0), with_cell=True)
    h, c = gradient_flow("lstm", steps=5, hidden=4, batch=2, num_layers=2, with_cell=True)
    assert h.shape == c.shape == (2, 5) and np.all(c > 0)


# ---------------------------------------------------------------------------- rnnkit gradflow


def _rows(out):
    return np.array([line.split() for line in out.splitlines() if line.split() and line.split()[0].isdigit()],
                    dtype=float)


def test_gradflow_prints_the_lstm_cell_column(capsys):
    from rnnkit.cli.main import main

    assert main(["gradflow", "--cell", "lstm", "--steps", "20", "--hidden", "6", "--every", "9"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("||dL/dh_t|| (Frobenius norm over the batch) with the loss on h_T only")
    assert "c: ||dL/dc_t||, all the gradient reaching the LSTM's cell c_t" in out
    table = _rows(out)  # step, back, norm, norm/last, log10, c norm, c/last
    _, c = gradient_flow("lstm", steps=20, hidden=6, with_cell=True)
    steps = table[:, 0].astype(int)
    np.testing.assert_allclose(table[:, 5], c[steps - 1], rtol=1e-3)
    np.testing.assert_allclose(table[:, 6], c[steps - 1] / c[-1], rtol=1e-3)
    assert f"lstm c {(c[0] / c[-1]) ** (1 / 19):.3f}" in out


def test_gradflow_layers_give_a_column_each_and_json_every_number(capsys):
    import json

    from rnnkit.cli.main import main

    assert main(["gradflow", "--cell", "rnn", "--layers", "2", "--steps", "12", "--hidden", "5", "--every", "5"]) == 0
    out = capsys.readouterr().out
    assert [line.split() for line in out.splitlines() if line.startswith("  step")][0] == \
        ["step", "back", "rnn", "l0", "rnn", "l1"]
    n = gradient_flow("rnn", steps=12, hidden=5, num_layers=2)  # (2, 12)
    table = _rows(out)
    steps = table[:, 0].astype(int)
    for k in range(2):
        np.testing.assert_allclose(table[:, 2 + k], n[k, steps - 1] / n[k, -1], rtol=1e-3)
    assert main(["gradflow", "--cell", "lstm", "--layers", "2", "--steps", "12", "--hidden", "5", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    h, c = gradient_flow("lstm", steps=12, hidden=5, num_layers=2, with_cell=True)
    assert got["norm"] == "Frobenius norm over the batch" and got["layers"] == 2 and got["steps"] == 12
    assert list(got["norms"]) == ["lstm l0", "lstm l0 c", "lstm l1", "lstm l1 c"]
    np.testing.assert_array_equal(got["norms"]["lstm l1"], h[1])
    np.testing.assert_array_equal(got["norms"]["lstm l0 c"], c[0])
    assert got["per_step"]["lstm l1"]["steps"] == 11
