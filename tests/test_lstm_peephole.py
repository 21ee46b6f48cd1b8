"""The peephole LSTM (rnnkit.cells.lstm_peephole, LSTM(peephole=True)): finite differences in float64, parity with a
hand-written PyTorch autograd version of the same equations, the textbook version to 1e-12, and the plain LSTM when
the peepholes are zero."""
from __future__ import annotations

import numpy as np
import pytest
from fullfd import as_float32

from rnnkit import packing
from rnnkit.cells import lstm, lstm_peephole
from rnnkit.gradcheck import numeric_grad
from rnnkit.recurrent import GRU, LSTM, make_recurrent
from rnnkit.textbook import lstm_peephole as textbook

T, B, D, H, L = 6, 3, 2, 3, 2
LENGTHS = np.array([4, 6, 2])


def _layer(bidirectional, seed=7, **kw):
    rng = np.random.default_rng(seed)
    layer = LSTM(D, H, L, bidirectional=bidirectional, peephole=True, dtype=np.float64, rng=rng, **kw)
    for k, v in layer.params.items():  # non-zero everywhere, biases and peepholes included
        layer.params[k] = rng.uniform(-0.8, 0.8, size=v.shape)
    return layer, rng


def _problem(layer, rng):
    S = L * layer.num_directions
    x = rng.standard_normal((T, B, D))
    state = (rng.standard_normal((S, B, H)), rng.standard_normal((S, B, H)))
    dstate = (rng.standard_normal((S, B, H)), rng.standard_normal((S, B, H)))
    dout = rng.standard_normal((T, B, layer.num_directions * H))
    return x, state, dstate, dout


def _close(name, a, n, tol):
    err = np.max(np.abs(a - n) / np.maximum(1.0, np.abs(n)))
    assert err < tol, f"{name}: max relative difference {err:.3e}"


@pytest.mark.parametrize("bidirectional,residual", [(False, False), (True, False), (True, True)],
                         ids=["uni", "bi", "bi-residual"])
def test_bptt_matches_finite_differences(bidirectional, residual):
    layer, rng = _layer(bidirectional, residual=residual)
    x, state, dstate, dout = _problem(layer, rng)
    _, _, cache = layer.forward(x, state=state, lengths=LENGTHS)
    dx, dstate0, grads = layer.backward(dout, dstate, cache)
    assert {"weight_ci_l1", "weight_cf_l0", "weight_co_l1"} <= set(grads)
    assert ("weight_co_l1_reverse" in grads) == bidirectional

    def f():
        out, (h, c), _ = layer.forward(x, state=state, lengths=LENGTHS)
        return float(np.sum(out * dout) + np.sum(h * dstate[0]) + np.sum(c * dstate[1]))

    for name, p in layer.params.items():
        _close(name, grads[name], numeric_grad(f, p), 1e-7)
    _close("x", dx, numeric_grad(f, x), 1e-7)
    for i in range(2):
        _close(f"state0[{i}]", dstate0[i], numeric_grad(f, state[i]), 1e-7)


def _torch_stack(torch, params, x, lengths, state, bidirectional):
    """The peephole LSTM stack written out in torch, one sequence at a time (no packing): the oracle."""
    dirs = 2 if bidirectional else 1
    outs, hs, cs = [], [[None] * B for _ in range(L * dirs)], [[None] * B for _ in range(L * dirs)]
    for b in range(B):
        n = int(lengths[b])
        seq = x[:n, b]  # (n, D)
        for layer in range(L):
            halves = []
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                p = {k: params[k + sfx] for k in lstm_peephole.PEEPHOLES + ("weight_ih", "weight_hh", "bias_ih",
                                                                              "bias_hh")}
                k = layer * dirs + d
                h, c = state[0][k, b], state[1][k, b]
                xs = seq if d == 0 else seq.flip(0)
                ys = []
                for xt in xs:
                    a = p["weight_ih"] @ xt + p["bias_ih"] + p["weight_hh"] @ h + p["bias_hh"]
                    a_i, a_f, a_g, a_o = a.chunk(4)
                    i = torch.sigmoid(a_i + p["weight_ci"] * c)
                    f = torch.sigmoid(a_f + p["weight_cf"] * c)
                    c = f * c + i * torch.tanh(a_g)
                    o = torch.sigmoid(a_o + p["weight_co"] * c)
                    h = o * torch.tanh(c)
                    ys.append(h)
                y = torch.stack(ys)
                halves.append(y if d == 0 else y.flip(0))
                hs[k][b], cs[k][b] = h, c
            seq = torch.cat(halves, dim=-1)
        outs.append(torch.cat([seq, seq.new_zeros(T - n, seq.shape[1])]))
    out = torch.stack(outs, dim=1)  # (T, B, dirs*H)
    return out, torch.stack([torch.stack(r) for r in hs]), torch.stack([torch.stack(r) for r in cs])


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 3e-5)], ids=["f64", "f32"])
def test_matches_a_torch_autograd_version_of_the_equations(bidirectional, dtype, tol):
    torch = pytest.importorskip("torch")
    layer, rng = _layer(bidirectional, seed=11)
    x, state, dstate, dout = _problem(layer, rng)
    if dtype == np.float32:  # the float32 kernels against torch in float64 on the same rounded numbers
        layer, x, state, dstate, dout = as_float32(layer, x, state, dstate, dout)
    out, (h, c), cache = layer.forward(x, state=state, lengths=LENGTHS)
    dx, dstate0, grads = layer.backward(dout, dstate, cache)
    assert out.dtype == dx.dtype == grads["weight_hh_l0"].dtype == dtype
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in layer.params.items()}
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ts = tuple(torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in state)
    t_out, t_h, t_c = _torch_stack(torch, tp, tx, LENGTHS, ts, bidirectional)
    loss = ((t_out * torch.tensor(dout)).sum() + (t_h * torch.tensor(dstate[0])).sum()
            + (t_c * torch.tensor(dstate[1])).sum())
    loss.backward()
    for name, ours, theirs in [("out", out, t_out), ("h", h, t_h), ("c", c, t_c), ("dx", dx, tx.grad),
                               ("dh0", dstate0[0], ts[0].grad), ("dc0", dstate0[1], ts[1].grad)]:
        np.testing.assert_allclose(ours, theirs.detach().numpy(), atol=tol, rtol=tol, err_msg=name)
    for name in layer.params:
        np.testing.assert_allclose(grads[name], tp[name].grad.numpy(), atol=tol, rtol=tol, err_msg=name)


def test_kernel_equals_the_textbook_version():
    rng = np.random.default_rng(5)
    p = {"weight_ih": rng.uniform(-1, 1, (4 * H, D)), "weight_hh": rng.uniform(-1, 1, (4 * H, H)),
         "bias_ih": rng.uniform(-1, 1, 4 * H), "bias_hh": rng.uniform(-1, 1, 4 * H)}
    p.update({k: rng.uniform(-1, 1, H) for k in lstm_peephole.PEEPHOLES})
    xs = rng.standard_normal((T, D))
    h0, c0, dh_T, dc_T = (rng.standard_normal(H) for _ in range(4))
    dout = rng.standard_normal((T, H))
    weights = [p[k] for k in textbook.PARAM_NAMES]
    out, (hT, cT), cache = lstm_peephole.forward(xs[:, None], (h0[None], c0[None]), *weights)
    dx, (dh0, dc0), wg = lstm_peephole.backward(dout[:, None], (dh_T[None], dc_T[None]), cache)

    steps = textbook.forward_sequence(xs, h0, c0, p)
    grads, dxs, tdh0, tdc0, _ = textbook.backward_sequence(steps, p, dout, dh_T, dc_T)
    assert np.abs(out[:, 0] - np.array([s.h for s in steps])).max() < 1e-12
    assert np.abs(cT[0] - steps[-1].c).max() < 1e-12 and np.abs(hT[0] - steps[-1].h).max() < 1e-12
    for name, a, b in [("dx", dx[:, 0], dxs), ("dh0", dh0[0], tdh0), ("dc0", dc0[0], tdc0)]:
        assert np.abs(a - b).max() < 1e-12, name
    for name, g in zip(textbook.PARAM_NAMES, wg):
        assert np.abs(g - grads[name]).max() < 1e-12, name


@pytest.mark.parametrize("tbptt", [None, 2])
def test_zero_peepholes_give_the_plain_lstm(tbptt):
    """Masks, initial state and truncated BPTT act as in the plain kernel: with p = 0 all results are its own."""
    rng = np.random.default_rng(2)
    w = [rng.uniform(-1, 1, s) for s in ((4 * H, D), (4 * H, H), (4 * H,), (4 * H,))]
    x = rng.standard_normal((T, B, D))
    s0 = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    bs = packing.batch_sizes(np.array([6, 4, 2]), T)
    dout, dh, dc = rng.standard_normal((T, B, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    zero = [np.zeros(H) for _ in range(3)]
    plain = lstm.forward(x, s0, *w, batch_sizes=bs)
    peep = lstm_peephole.forward(x, s0, *w, *zero, batch_sizes=bs)
    np.testing.assert_allclose(peep[0], plain[0], atol=1e-12)
    np.testing.assert_allclose(peep[1], plain[1], atol=1e-12)
    g_plain = lstm.backward(dout, (dh, dc), plain[2], tbptt=tbptt)
    g_peep = lstm_peephole.backward(dout, (dh, dc), peep[2], tbptt=tbptt)
    np.testing.assert_allclose(g_peep[0], g_plain[0], atol=1e-12)
    np.testing.assert_allclose(g_peep[1], g_plain[1], atol=1e-12)
    for a, b in zip(g_peep[2], g_plain[2]):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_truncated_bptt_cuts_the_peephole_paths_too():
    """With tbptt=k the gradient of the first window's inputs sees no loss from later windows, peepholes included."""
    layer, rng = _layer(False, tbptt=3)
    x, state, _, _ = _problem(layer, rng)
    dout = np.zeros((T, B, H))
    dout[3:] = rng.standard_normal((T - 3, B, H))  # loss only in the second window
    _, _, cache = layer.forward(x, state=state)
    dx, (dh0, dc0), _ = layer.backward(dout, None, cache)
    assert np.all(dx[:3] == 0) and np.all(dh0 == 0) and np.all(dc0 == 0)
    assert np.abs(dx[3:]).max() > 0


def test_peephole_changes_the_output_and_is_kept_in_the_config():
    layer, rng = _layer(True)
    x = rng.standard_normal((T, B, D))
    out, _, _ = layer.forward(x, lengths=LENGTHS)
    rebuilt = make_recurrent(layer.config.to_dict())
    assert rebuilt.config.peephole and set(rebuilt.params) == set(layer.params)
    rebuilt.load_arrays(layer.params)
    np.testing.assert_array_equal(rebuilt.forward(x, lengths=LENGTHS)[0], out)
    for k in layer.params:
        if k.startswith("weight_c"):
            layer.params[k][:] = 0
    assert np.abs(layer.forward(x, lengths=LENGTHS)[0] - out).max() > 1e-3


def test_peephole_is_refused_for_other_cells():
    with pytest.raises(ValueError, match="Expected peephole=False for GRU"):
        GRU(2, 3, peephole=True)
    with pytest.raises(ValueError, match="peephole"):
        make_recurrent({"cell": "rnn", "input_size": 2, "hidden_size": 3, "peephole": True})


def test_kernel_names_a_wrong_peephole():
    rng = np.random.default_rng(0)
    w = [rng.uniform(-1, 1, s) for s in ((4 * H, D), (4 * H, H), (4 * H,), (4 * H,))]
    x, s0 = rng.standard_normal((T, B, D)), (np.zeros((B, H)), np.zeros((B, H)))
    with pytest.raises(ValueError, match=r"Expected w_cf of shape \(H,\)"):
        lstm_peephole.forward(x, s0, *w, np.zeros(H), np.zeros(H + 1), np.zeros(H))
    with pytest.raises(TypeError, match="Expected w_co of dtype float64"):
        lstm_peephole.forward(x, s0, *w, np.zeros(H), np.zeros(H), np.zeros(H, np.float32))


def test_grad_norms_per_step_runs_the_peephole_kernel():
    """||dL/dh_t|| of a peephole layer (one sequence) equals the textbook's dh at each step."""
    from rnnkit.diagnostics import grad_norms_per_step

    rng = np.random.default_rng(4)
    layer = LSTM(D, H, 1, peephole=True, dtype=np.float64, rng=rng)
    for k, v in layer.params.items():
        layer.params[k] = rng.uniform(-1, 1, size=v.shape)
    x, dout = rng.standard_normal((T, 1, D)), rng.standard_normal((T, 1, H))
    norms = grad_norms_per_step(layer, x, dout=dout)
    p = {k: layer.params[k + "_l0"] for k in textbook.PARAM_NAMES}
    steps = textbook.forward_sequence(x[:, 0], np.zeros(H), np.zeros(H), p)
    dh, dc, want = np.zeros(H), np.zeros(H), np.zeros(T)
    for t in reversed(range(T)):
        g = textbook.backward(steps[t], p, dout[t, 0] + dh, dc)
        want[t] = np.linalg.norm(g.dh)
        dh, dc = g.dh_prev, g.dc_prev
    np.testing.assert_allclose(norms, want, rtol=1e-12)


def test_torch_module_and_rtrl_refuse_peepholes():
    from rnnkit.rtrl_gated import lstm_rtrl_gradients

    layer = LSTM(D, H, 1, peephole=True, dtype=np.float64)
    x = np.zeros((T, 1, D))
    with pytest.raises(ValueError, match="Expected the parameters of an LSTM without peepholes"):
        lstm_rtrl_gradients(layer.params, x, None, np.zeros((T, 1, H)))
    pytest.importorskip("torch")
    from rnnkit.torch_io import to_torch_module

    with pytest.raises(ValueError, match="torch has no peephole LSTM"):
        to_torch_module(layer)


def test_weight_drop_runs_the_masked_recurrent_matrix():
    """Training with weight_drop equals evaluation with W_hh * M/(1-p) put in by hand, peephole gradients too; the
    gradient of W_hh itself is the masked matrix's times the mask (the chain rule through W_hh * M/(1-p))."""
    layer, rng = _layer(True, weight_drop=0.5)
    x, state, dstate, dout = _problem(layer, rng)
    _, _, cache = layer.forward(x, state=state, lengths=LENGTHS, training=True, rng=np.random.default_rng(1))
    dx, _, grads = layer.backward(dout, dstate, cache)
    masked = make_recurrent(layer.config.to_dict())
    masked.load_arrays(layer.params)
    masks = {}
    for lc, layer_index in zip(cache.layers, range(L)):
        for d, m in enumerate(lc.hh_masks):
            masks[f"weight_hh_l{layer_index}" + ("_reverse" if d else "")] = m  # (4H, H), 0 or 1/(1-p)
    assert len(masks) == 2 * L and all((m == 0).any() and (m != 0).any() for m in masks.values())
    for name, m in masks.items():
        masked.params[name] *= m
    _, _, cache2 = masked.forward(x, state=state, lengths=LENGTHS)
    dx2, _, grads2 = masked.backward(dout, dstate, cache2)
    assert set(grads) == set(layer.params)
    np.testing.assert_allclose(dx, dx2, atol=1e-12)
    for name in grads:
        want = grads2[name] * masks[name] if name in masks else grads2[name]  # d(W*M)/dW = M, elementwise
        np.testing.assert_allclose(grads[name], want, atol=1e-12, err_msg=name)


def test_gradient_flow_of_a_peephole_lstm():
    from rnnkit.diagnostics import gradient_flow

    plain = gradient_flow("lstm", steps=20, hidden=8, batch=2, seed=3)
    peep = gradient_flow("lstm", steps=20, hidden=8, batch=2, seed=3, peephole=True)
    assert peep.shape == plain.shape and np.isfinite(peep).all()
    assert np.abs(np.log(peep[:-1] / plain[:-1])).max() > 1e-3
    with pytest.raises(ValueError, match="Expected peephole=False for cell 'gru'"):
        gradient_flow("gru", peephole=True)


def test_truncated_bptt_is_bptt_over_windows_with_the_state_detached():
    """tbptt=3 over T=6 (non-zero peepholes): the textbook's BPTT of each window from the state the forward pass
    reached, the final state's gradient entering the last window only; parameter gradients add up over windows."""
    rng = np.random.default_rng(9)
    p = {"weight_ih": rng.uniform(-1, 1, (4 * H, D)), "weight_hh": rng.uniform(-1, 1, (4 * H, H)),
         "bias_ih": rng.uniform(-1, 1, 4 * H), "bias_hh": rng.uniform(-1, 1, 4 * H)}
    p.update({k: rng.uniform(-1, 1, H) for k in lstm_peephole.PEEPHOLES})
    xs, dout = rng.standard_normal((T, D)), rng.standard_normal((T, H))
    h0, c0, dh_T, dc_T = (rng.standard_normal(H) for _ in range(4))
    weights = [p[k] for k in textbook.PARAM_NAMES]
    _, _, cache = lstm_peephole.forward(xs[:, None], (h0[None], c0[None]), *weights)
    dx, _, wg = lstm_peephole.backward(dout[:, None], (dh_T[None], dc_T[None]), cache, tbptt=3)

    steps = textbook.forward_sequence(xs, h0, c0, p)
    first, dxs1, _, _, _ = textbook.backward_sequence(steps[:3], p, dout[:3], np.zeros(H), np.zeros(H))
    second, dxs2, _, _, _ = textbook.backward_sequence(steps[3:], p, dout[3:], dh_T, dc_T)
    np.testing.assert_allclose(dx[:, 0], np.concatenate([dxs1, dxs2]), atol=1e-12)
    for name, g in zip(textbook.PARAM_NAMES, wg):
        np.testing.assert_allclose(g, first[name] + second[name], atol=1e-12, err_msg=name)
