"""The LSTM with layer normalization and peepholes together (rnnkit.cells.lstm_ln_peephole, LSTM(layer_norm=True,
peephole=True)): float64 finite differences through two layers and both directions, parity with the same equations
written in torch (F.layer_norm) under autograd, the layer-normalized LSTM when p = 0, truncated BPTT as windows."""
from __future__ import annotations

import numpy as np
import pytest
from test_layer_norm_rnn import LENGTHS, _close, _layer, _loss, _problem

from rnnkit.cells import lstm_ln, lstm_ln_peephole
from rnnkit.cells.layout import kernel, layer_shapes
from rnnkit.gradcheck import numeric_grad
from rnnkit.packing import batch_sizes

T, B, D, H = 6, 3, 2, 3
NAMES = tuple(layer_shapes("lstm", D, H, peephole=True, layer_norm=True))


def test_the_layout_picks_the_kernel_and_orders_its_parameters():
    assert kernel("lstm", peephole=True, layer_norm=True) is lstm_ln_peephole
    assert NAMES == ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + lstm_ln_peephole.PEEPHOLES + lstm_ln.LN_PARAMS


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_bptt_matches_finite_differences(bidirectional):
    layer, rng = _layer("lstm", bidirectional, peephole=True)
    assert {"weight_co_l1", "ln_cell_weight_l1"} <= set(layer.params)
    x, state, dstate, dout = _problem(layer, rng)
    _, _, cache = layer.forward(x, state=state, lengths=LENGTHS)
    dx, dstate0, grads = layer.backward(dout, dstate, cache)
    assert set(grads) == set(layer.params)

    def f():
        return _loss(layer, x, state, dstate, dout)

    for name, p in layer.params.items():
        assert np.abs(grads[name]).max() > 1e-4, name  # every parameter acts
        _close(name, grads[name], numeric_grad(f, p), 1e-7)
    _close("x", dx, numeric_grad(f, x), 1e-7)
    for i, (s, g) in enumerate(zip(state, dstate0)):
        _close(f"state0[{i}]", g, numeric_grad(f, s), 1e-7)


def _weights(rng):
    """Every parameter non-zero: LN gains 1 +- 0.5, the rest U(-0.8, 0.8)."""
    shapes = layer_shapes("lstm", D, H, peephole=True, layer_norm=True)
    return [rng.uniform(-0.8, 0.8, s) + (1.0 if n.startswith("ln_") and n.endswith("_weight") else 0.0)
            for n, s in shapes.items()]


def _torch_sequence(torch, p, xs, h, c):
    """The equations of the module docstring in torch, one sequence: outputs (n, H) and the final (h, c)."""
    F = torch.nn.functional
    outs = []
    for xt in xs:
        z = (F.layer_norm(p["weight_hh"] @ h, (4 * H,), p["ln_hh_weight"], p["ln_hh_bias"], eps=1e-5)
             + F.layer_norm(p["weight_ih"] @ xt, (4 * H,), p["ln_ih_weight"], p["ln_ih_bias"], eps=1e-5)
             + p["bias_ih"] + p["bias_hh"])
        z_i, z_f, z_g, z_o = z.chunk(4)
        i = torch.sigmoid(z_i + p["weight_ci"] * c)
        f = torch.sigmoid(z_f + p["weight_cf"] * c)
        c = f * c + i * torch.tanh(z_g)
        o = torch.sigmoid(z_o + p["weight_co"] * c)
        h = o * torch.tanh(F.layer_norm(c, (H,), p["ln_cell_weight"], p["ln_cell_bias"], eps=1e-5))
        outs.append(h)
    return torch.stack(outs), h, c


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 3e-5)], ids=["f64", "f32"])
def test_matches_a_torch_autograd_version_of_the_equations(dtype, tol):
    """float32: the kernel on the float64 numbers rounded, against torch in float64 on the same rounded numbers."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    w = [a.astype(dtype) for a in _weights(rng)]
    lengths = np.array([6, 4, 2])
    x = rng.standard_normal((T, B, D)).astype(dtype)
    h0, c0, dhT, dcT = (rng.standard_normal((B, H)).astype(dtype) for _ in range(4))
    dout = (rng.standard_normal((T, B, H)) * (np.arange(T)[:, None] < lengths)[..., None]).astype(dtype)
    out, (hT, cT), cache = lstm_ln_peephole.forward(x, (h0, c0), *w, batch_sizes=batch_sizes(lengths, T))
    dx, (dh0, dc0), wg = lstm_ln_peephole.backward(dout, (dhT, dcT), cache)
    assert out.dtype == dx.dtype == wg[0].dtype == dtype

    def close(a, b, **kw):
        np.testing.assert_allclose(a, b.detach().numpy(), atol=tol, rtol=tol if dtype == np.float32 else 0, **kw)

    tp = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in zip(NAMES, w)}
    for b, n in enumerate(lengths):
        txs, th, tc = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x[:n, b], h0[b], c0[b]))
        t_out, t_h, t_c = _torch_sequence(torch, tp, txs, th, tc)
        for a, t in ((out[:n, b], t_out), (hT[b], t_h), (cT[b], t_c)):
            close(a, t)
        loss = (t_out * torch.tensor(dout[:n, b])).sum() + (t_h * torch.tensor(dhT[b])).sum() \
            + (t_c * torch.tensor(dcT[b])).sum()
        loss.backward()
        for a, t in ((dx[:n, b], txs.grad), (dh0[b], th.grad), (dc0[b], tc.grad)):
            close(a, t)
    for name, g in zip(NAMES, wg):  # the torch gradients summed over the three sequences
        close(g, tp[name].grad, err_msg=name)


@pytest.mark.parametrize("tbptt", [None, 2])
def test_zero_peepholes_are_the_layer_normalized_lstm(tbptt):
    rng = np.random.default_rng(5)
    w = _weights(rng)
    w[4:7] = [np.zeros(H)] * 3
    sizes = batch_sizes(np.array([6, 5, 3]), T)
    x, dout = rng.standard_normal((T, B, D)), rng.standard_normal((T, B, H))
    s0, ds = (rng.standard_normal((B, H)), rng.standard_normal((B, H))), (rng.standard_normal((B, H)), None)
    a_out, a_fin, a_cache = lstm_ln_peephole.forward(x, s0, *w, batch_sizes=sizes)
    b_out, b_fin, b_cache = lstm_ln.forward(x, s0, *w[:4], *w[7:], batch_sizes=sizes)
    np.testing.assert_array_equal(a_out, b_out)
    a_dx, a_ds, a_g = lstm_ln_peephole.backward(dout, ds, a_cache, tbptt=tbptt)
    b_dx, b_ds, b_g = lstm_ln.backward(dout, ds, b_cache, tbptt=tbptt)
    np.testing.assert_allclose(a_dx, b_dx, atol=1e-13)
    for a, b in zip((*a_ds, *a_g[:4], *a_g[7:]), (*b_ds, *b_g)):
        np.testing.assert_allclose(a, b, atol=1e-13)
    assert all(np.abs(g).max() > 1e-3 for g in a_g[4:7])  # the peepholes would move the loss


def test_truncated_bptt_is_bptt_over_windows_with_the_state_detached():
    rng = np.random.default_rng(9)
    w = _weights(rng)
    x, dout = rng.standard_normal((T, 1, D)), rng.standard_normal((T, 1, H))
    s0 = (rng.standard_normal((1, H)), rng.standard_normal((1, H)))
    ds = (rng.standard_normal((1, H)), rng.standard_normal((1, H)))
    out, _, cache = lstm_ln_peephole.forward(x, s0, *w)
    dx, _, wg = lstm_ln_peephole.backward(dout, ds, cache, tbptt=3)
    _, _, c1 = lstm_ln_peephole.forward(x[:3], s0, *w)
    dx1, _, g1 = lstm_ln_peephole.backward(dout[:3], None, c1)
    _, _, c2 = lstm_ln_peephole.forward(x[3:], (out[2].copy(), cache.cs[3].copy()), *w)
    dx2, _, g2 = lstm_ln_peephole.backward(dout[3:], ds, c2)
    np.testing.assert_allclose(dx, np.concatenate([dx1, dx2]), atol=1e-12)
    for a, b1, b2 in zip(wg, g1, g2):
        np.testing.assert_allclose(a, b1 + b2, atol=1e-12)


def test_kernel_names_a_wrong_peephole():
    rng = np.random.default_rng(0)
    w = _weights(rng)
    w[5] = np.ones(H + 1)
    with pytest.raises(ValueError, match=r"Expected weight_cf of shape \(H,\)"):
        lstm_ln_peephole.forward(rng.standard_normal((T, 1, D)), (np.zeros((1, H)), np.zeros((1, H))), *w)
