"""Layer-normalized Elman RNN, LSTM and GRU (rnnkit.cells.elman_ln, lstm_ln, gru_ln; layer_norm=True): float64
finite differences and parity with a hand-written PyTorch autograd version of the equations (F.layer_norm)."""
from __future__ import annotations

import numpy as np
import pytest
from fullfd import as_float32

from rnnkit.cells import elman_ln, gru_ln, lstm_ln
from rnnkit.gradcheck import numeric_grad
from rnnkit.recurrent import GRU, LSTM, RNN, make_recurrent

T, B, D, H, L = 6, 3, 2, 3, 2
LENGTHS = np.array([4, 6, 2])
CLASSES = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
KERNELS = {"rnn": elman_ln, "lstm": lstm_ln, "gru": gru_ln}
CELLS = ["rnn", "lstm", "gru"]


def _layer(cell, bidirectional, seed=7, **kw):
    rng = np.random.default_rng(seed)
    layer = CLASSES[cell](D, H, L, bidirectional=bidirectional, layer_norm=True, dtype=np.float64, rng=rng, **kw)
    for k, v in layer.params.items():  # non-zero everywhere: biases, gains != 1 and shifts != 0 included
        layer.params[k] = rng.uniform(-0.8, 0.8, size=v.shape) + (1.0 if k.startswith("ln_") and "weight" in k else 0)
    return layer, rng


def _problem(layer, rng):
    S = L * layer.num_directions
    lstm = layer.config.cell == "lstm"
    x = rng.standard_normal((T, B, D))
    state = rng.standard_normal((S, B, H))
    dstate = rng.standard_normal((S, B, H))
    if lstm:
        state = (state, rng.standard_normal((S, B, H)))
        dstate = (dstate, rng.standard_normal((S, B, H)))
    dout = rng.standard_normal((T, B, layer.num_directions * H))
    return x, state, dstate, dout


def _close(name, a, n, tol):
    err = np.max(np.abs(a - n) / np.maximum(1.0, np.abs(n)))
    assert err < tol, f"{name}: max relative difference {err:.3e}"


def _loss(layer, x, state, dstate, dout, **kw):
    out, fin, _ = layer.forward(x, state=state, lengths=LENGTHS, **kw)
    if isinstance(fin, tuple):
        return float(np.sum(out * dout) + np.sum(fin[0] * dstate[0]) + np.sum(fin[1] * dstate[1]))
    return float(np.sum(out * dout) + np.sum(fin * dstate))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_bptt_matches_finite_differences(cell, bidirectional):
    layer, rng = _layer(cell, bidirectional)
    x, state, dstate, dout = _problem(layer, rng)
    _, _, cache = layer.forward(x, state=state, lengths=LENGTHS)
    dx, dstate0, grads = layer.backward(dout, dstate, cache)
    assert set(grads) == set(layer.params)
    assert any(k.startswith("ln_") and k.endswith("_l1") for k in grads)

    def f():
        return _loss(layer, x, state, dstate, dout)

    for name, p in layer.params.items():
        _close(name, grads[name], numeric_grad(f, p), 1e-7)
    _close("x", dx, numeric_grad(f, x), 1e-7)
    states = state if isinstance(state, tuple) else (state,)
    dstates = dstate0 if isinstance(dstate0, tuple) else (dstate0,)
    for i, (s, g) in enumerate(zip(states, dstates)):
        _close(f"state0[{i}]", g, numeric_grad(f, s), 1e-7)


def test_relu_elman_matches_finite_differences():
    layer, rng = _layer("rnn", False, nonlinearity="relu")
    x, state, dstate, dout = _problem(layer, rng)
    _, _, cache = layer.forward(x, state=state, lengths=LENGTHS)
    dx, dh0, grads = layer.backward(dout, dstate, cache)

    def f():
        return _loss(layer, x, state, dstate, dout)

    for name, p in layer.params.items():
        _close(name, grads[name], numeric_grad(f, p), 1e-7)
    _close("x", dx, numeric_grad(f, x), 1e-7)
    _close("h0", dh0, numeric_grad(f, state), 1e-7)


def _torch_cell_step(torch, cell, p, xt, state):
    """One step of Ba et al.'s equations with torch.nn.functional.layer_norm (eps 1e-5)."""
    F = torch.nn.functional
    if cell == "rnn":
        a = p["weight_ih"] @ xt + p["weight_hh"] @ state
        h = torch.tanh(F.layer_norm(a, (H,), p["ln_weight"], p["ln_bias"], eps=1e-5) + p["bias_ih"] + p["bias_hh"])
        return h, h
    if cell == "gru":
        u = F.layer_norm(p["weight_ih"] @ xt, (3 * H,), p["ln_ih_weight"], p["ln_ih_bias"], eps=1e-5) + p["bias_ih"]
        v = F.layer_norm(p["weight_hh"] @ state, (3 * H,), p["ln_hh_weight"], p["ln_hh_bias"], eps=1e-5) + p["bias_hh"]
        (u_r, u_z, u_n), (v_r, v_z, v_n) = u.chunk(3), v.chunk(3)
        r, z = torch.sigmoid(u_r + v_r), torch.sigmoid(u_z + v_z)
        n = torch.tanh(u_n + r * v_n)
        h = (1 - z) * n + z * state
        return h, h
    h, c = state
    z = (F.layer_norm(p["weight_hh"] @ h, (4 * H,), p["ln_hh_weight"], p["ln_hh_bias"], eps=1e-5)
         + F.layer_norm(p["weight_ih"] @ xt, (4 * H,), p["ln_ih_weight"], p["ln_ih_bias"], eps=1e-5)
         + p["bias_ih"] + p["bias_hh"])
    z_i, z_f, z_g, z_o = z.chunk(4)
    c = torch.sigmoid(z_f) * c + torch.sigmoid(z_i) * torch.tanh(z_g)
    h = torch.sigmoid(z_o) * torch.tanh(F.layer_norm(c, (H,), p["ln_cell_weight"], p["ln_cell_bias"], eps=1e-5))
    return h, (h, c)


def _torch_stack(torch, cell, params, x, lengths, state, bidirectional, names):
    """The stack written out in torch, one sequence at a time (no packing): the oracle."""
    dirs = 2 if bidirectional else 1
    lstm = cell == "lstm"
    outs = []
    finals = [[[None] * B for _ in range(L * dirs)] for _ in range(2 if lstm else 1)]
    for b in range(B):
        n = int(lengths[b])
        seq = x[:n, b]  # (n, D)
        for layer in range(L):
            halves = []
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                p = {k: params[k + sfx] for k in names}
                k = layer * dirs + d
                s = (state[0][k, b], state[1][k, b]) if lstm else state[k, b]
                ys = []
                for xt in (seq if d == 0 else seq.flip(0)):
                    y, s = _torch_cell_step(torch, cell, p, xt, s)
                    ys.append(y)
                y = torch.stack(ys)
                halves.append(y if d == 0 else y.flip(0))
                for j, part in enumerate(s if lstm else (s,)):
                    finals[j][k][b] = part
            seq = torch.cat(halves, dim=-1)
        outs.append(torch.cat([seq, seq.new_zeros(T - n, seq.shape[1])]))
    return torch.stack(outs, dim=1), [torch.stack([torch.stack(r) for r in f]) for f in finals]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 3e-5)], ids=["f64", "f32"])
def test_matches_a_torch_autograd_version_of_the_equations(cell, bidirectional, dtype, tol):
    torch = pytest.importorskip("torch")
    layer, rng = _layer(cell, bidirectional, seed=11)
    x, state, dstate, dout = _problem(layer, rng)
    if dtype == np.float32:  # the float32 kernels against torch in float64 on the same rounded numbers
        layer, x, state, dstate, dout = as_float32(layer, x, state, dstate, dout)
    out, fin, cache = layer.forward(x, state=state, lengths=LENGTHS)
    dx, dstate0, grads = layer.backward(dout, dstate, cache)
    assert out.dtype == dx.dtype == grads["weight_hh_l0"].dtype == dtype
    lstm = cell == "lstm"
    names = {k.rsplit("_l", 1)[0] for k in layer.params}
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in layer.params.items()}
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ts = tuple(torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in (state if lstm else (state,)))
    ts = ts if lstm else ts[0]
    t_out, t_fin = _torch_stack(torch, cell, tp, tx, LENGTHS, ts, bidirectional, names)
    ds = dstate if lstm else (dstate,)
    loss = (t_out * torch.tensor(dout)).sum() + sum((f * torch.tensor(g)).sum() for f, g in zip(t_fin, ds))
    loss.backward()
    ours = [("out", out, t_out), ("dx", dx, tx.grad)]
    fins, d0s, s_leaves = (fin, dstate0, ts) if lstm else ((fin,), (dstate0,), (ts,))
    for j in range(len(fins)):
        ours += [(f"final[{j}]", fins[j], t_fin[j]), (f"dstate0[{j}]", d0s[j], s_leaves[j].grad)]
    for name, a, theirs in ours:
        np.testing.assert_allclose(a, theirs.detach().numpy(), atol=tol, rtol=tol, err_msg=name)
    for name in layer.params:
        np.testing.assert_allclose(grads[name], tp[name].grad.numpy(), atol=tol, rtol=tol, err_msg=name)


def _one_seq(cell, seed):
    rng = np.random.default_rng(seed)
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell] * H
    w = [rng.uniform(-1, 1, s) for s in ((G, D), (G, H), (G,), (G,))]
    sizes = {"rnn": (H, H), "lstm": (G, G, G, G, H, H), "gru": (G, G, G, G)}[cell]
    ln = [rng.uniform(0.5, 1.5, n) if i % 2 == 0 else rng.uniform(-0.5, 0.5, n) for i, n in enumerate(sizes)]
    x, dout = rng.standard_normal((T, 1, D)), rng.standard_normal((T, 1, H))
    s0 = tuple(rng.standard_normal((1, H)) for _ in range(2 if cell == "lstm" else 1))
    ds = tuple(rng.standard_normal((1, H)) for _ in range(2 if cell == "lstm" else 1))
    return w + ln, x, dout, s0, ds


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_bptt_is_bptt_over_windows_with_the_state_detached(cell):
    """tbptt=3 over T=6: each window's full BPTT from the state the forward pass reached, the final state's
    gradient entering the last window only; the parameter gradients add up over the two windows."""
    kernel = KERNELS[cell]
    weights, x, dout, s0, ds = _one_seq(cell, 9)
    pack = (lambda s: s) if cell == "lstm" else (lambda s: s[0])
    out, _, cache = kernel.forward(x, pack(s0), *weights)
    dx, _, wg = kernel.backward(dout, pack(ds), cache, tbptt=3)
    # the reference: two separate runs, the second from the state the first reached, that state detached
    mid = (out[2], cache.cs[3]) if cell == "lstm" else (out[2],)
    _, _, c1 = kernel.forward(x[:3], pack(s0), *weights)
    dx1, _, g1 = kernel.backward(dout[:3], None, c1)
    _, _, c2 = kernel.forward(x[3:], pack(tuple(m.copy() for m in mid)), *weights)
    dx2, _, g2 = kernel.backward(dout[3:], pack(ds), c2)
    np.testing.assert_allclose(dx, np.concatenate([dx1, dx2]), atol=1e-12)
    for a, b1, b2 in zip(wg, g1, g2):
        np.testing.assert_allclose(a, b1 + b2, atol=1e-12)
    full = kernel.backward(dout, pack(ds), cache)
    assert np.abs(full[0][:3] - dx[:3]).max() > 1e-6  # the cut changed something


@pytest.mark.parametrize("cell", CELLS)
def test_layer_norm_is_kept_in_the_config_and_changes_the_output(cell):
    layer, rng = _layer(cell, True)
    x = rng.standard_normal((T, B, D))
    out, _, _ = layer.forward(x, lengths=LENGTHS)
    rebuilt = make_recurrent(layer.config.to_dict())
    assert rebuilt.config.layer_norm and set(rebuilt.params) == set(layer.params)
    rebuilt.load_arrays(layer.params)
    np.testing.assert_array_equal(rebuilt.forward(x, lengths=LENGTHS)[0], out)
    plain = make_recurrent({**layer.config.to_dict(), "layer_norm": False})
    plain.load_arrays({k: v for k, v in layer.params.items() if not k.startswith("ln_")})
    assert np.abs(plain.forward(x, lengths=LENGTHS)[0] - out).max() > 1e-3


def test_fresh_gains_are_one_and_shifts_zero_in_float32():
    layer = LSTM(D, H, 1, layer_norm=True)
    assert layer.params["ln_hh_weight_l0"].dtype == np.float32
    assert np.all(layer.params["ln_cell_weight_l0"] == 1) and np.all(layer.params["ln_ih_bias_l0"] == 0)
    assert layer.params["ln_ih_weight_l0"].shape == (4 * H,) and layer.params["ln_cell_bias_l0"].shape == (H,)
    out, _, _ = layer.forward(np.ones((T, B, D), np.float32))
    assert out.dtype == np.float32
    rnn = RNN(D, H, 1, layer_norm=True, nonlinearity="relu")
    assert {"ln_weight_l0", "ln_bias_l0"} <= set(rnn.params)
    gru = make_recurrent({"cell": "gru", "input_size": D, "hidden_size": H, "layer_norm": True})
    assert gru.params["ln_hh_bias_l0"].shape == (3 * H,) and "ln_cell_weight_l0" not in gru.params


def test_layer_norm_with_peepholes_has_both_parameter_sets():
    layer = LSTM(2, 3, layer_norm=True, peephole=True)
    assert {"weight_ci_l0", "weight_co_l0", "ln_ih_weight_l0", "ln_cell_bias_l0"} <= set(layer.params)
    assert layer._kernel.__name__ == "rnnkit.cells.lstm_ln_peephole"


def test_kernel_names_a_wrong_gain():
    weights, x, _, s0, _ = _one_seq("lstm", 0)
    weights[8] = np.ones(H + 1)
    with pytest.raises(ValueError, match=r"Expected ln_cell_weight of shape \(H,\)"):
        lstm_ln.forward(x, s0, *weights)
    weights, x, _, s0, _ = _one_seq("rnn", 0)
    weights[4] = weights[4].astype(np.float32)
    with pytest.raises(TypeError, match="Expected ln_weight of dtype float64"):
        elman_ln.forward(x, s0[0], *weights)


@pytest.mark.parametrize("cell", CELLS)
def test_weight_drop_trains_through_the_layer_norm_kernels(cell):
    """Training with weight_drop equals evaluation with W_hh * M/(1-p) put in by hand (LN gradients too)."""
    layer, rng = _layer(cell, True, weight_drop=0.5)
    x, state, dstate, dout = _problem(layer, rng)
    _, _, cache = layer.forward(x, state=state, lengths=LENGTHS, training=True, rng=np.random.default_rng(1))
    dx, _, grads = layer.backward(dout, dstate, cache)
    masked = make_recurrent(layer.config.to_dict())
    masked.load_arrays(layer.params)
    for layer_index, lc in enumerate(cache.layers):
        for d, m in enumerate(lc.hh_masks):
            masked.params[f"weight_hh_l{layer_index}" + ("_reverse" if d else "")] *= m
    _, _, cache2 = masked.forward(x, state=state, lengths=LENGTHS)
    dx2, _, grads2 = masked.backward(dout, dstate, cache2)
    np.testing.assert_allclose(dx, dx2, atol=1e-12)
    for name in grads:
        if not name.startswith("weight_hh"):
            np.testing.assert_allclose(grads[name], grads2[name], atol=1e-12, err_msg=name)


def test_states_reads_the_gates_of_a_layer_norm_lstm_in_their_order():
    """rnnkit states (hidden_states) reads a layer-normalized LSTM's cache: c_t = f c_{t-1} + i g holds, and h_t is
    o * tanh(LN(c_t)), not o * tanh(c_t)."""
    from rnnkit.lm.model import LanguageModel, LMConfig
    from rnnkit.lm.states import hidden_states

    cfg = LMConfig(vocab_size=13, cell="lstm", embedding_dim=5, hidden_size=6, num_layers=1, init_scale=0.6,
                   layer_norm=True)
    model = LanguageModel(cfg, np.random.default_rng(1))
    s = hidden_states(model, np.random.default_rng(4).integers(0, 13, 40))  # from zero state: c_0 = 0
    c_prev = np.vstack([np.zeros((1, 6), np.float32), s["c"][:-1]])
    assert np.abs(s["f"] * c_prev + s["i"] * s["g"] - s["c"]).max() < 1e-6
    assert s["g"].min() < 0 and np.abs(s["g"]).max() < 1  # the tanh block where it belongs
    n = (s["c"] - s["c"].mean(1, keepdims=True)) / np.sqrt(s["c"].var(1, keepdims=True) + 1e-5)
    assert np.abs(s["o"] * np.tanh(n) - s["h"]).max() < 1e-5  # gains 1, shifts 0: LN(c) = n
    gru = LanguageModel(LMConfig(vocab_size=13, cell="gru", embedding_dim=5, hidden_size=6, num_layers=1,
                                 init_scale=0.6, layer_norm=True), np.random.default_rng(1))
    s = hidden_states(gru, np.random.default_rng(5).integers(0, 13, 30))
    h_prev = np.vstack([np.zeros((1, 6), np.float32), s["h"][:-1]])
    assert np.abs((1 - s["z"]) * s["n"] + s["z"] * h_prev - s["h"]).max() < 1e-6


def test_layernorm_helpers_match_the_plain_formulas(monkeypatch):
    """The kernels' LN pieces against the textbook formulas: the mean skipped for a projection by row-centred
    weights (``centred``), and the LN backward on all steps at once going a block of steps at a time."""
    from rnnkit.cells import _layernorm as ln

    rng = np.random.default_rng(11)
    w, v = rng.standard_normal((7, 4)), rng.standard_normal((5, 4)) + 3.0  # K = 7 outputs, 5 rows
    a = v @ w.T  # (5, 7)
    mu, var = a.mean(axis=-1, keepdims=True), a.var(axis=-1, keepdims=True)
    n_ref, r_ref = (a - mu) / np.sqrt(var + ln.EPS), 1 / np.sqrt(var + ln.EPS)
    for centred, src in ((False, a), (True, v @ ln.centre_rows(w).T)):
        n, r = np.empty_like(a), np.empty((5, 1))
        ln.normalize(src, n, r, centred=centred)
        np.testing.assert_allclose(n, n_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r, r_ref, rtol=1e-12)
    dn, n3 = rng.standard_normal((5, 3, 7)), rng.standard_normal((5, 3, 7))  # (T, B, K)
    r3 = rng.random((5, 3, 1)) + 0.5
    ref = r3 * (dn - dn.mean(-1, keepdims=True) - n3 * (dn * n3).mean(-1, keepdims=True))
    monkeypatch.setattr(ln, "_BLOCK", 2 * 3 * 7)  # blocks of 2 steps: 2, 2, then 1
    out = np.empty_like(dn)
    ln.normalize_backward(dn, n3, r3, out)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)
    ln.normalize_backward(dn, n3, r3, dn)  # in place
    np.testing.assert_allclose(dn, ref, rtol=0, atol=1e-12)
