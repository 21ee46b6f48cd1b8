"""Parity with torch.nn.RNN / LSTM / GRU on the same weights: outputs, final states, every gradient.

Two layers, both directions, packed variable-length batches, a given initial state, random upstream
gradients on the outputs and the final state.  float64 to 1e-6, float32 to 1e-4.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.recurrent import GRU, LSTM, RNN

torch = pytest.importorskip("torch")

CASES = [
    (RNN, "RNN", {"nonlinearity": "tanh"}),
    (RNN, "RNN", {"nonlinearity": "relu"}),
    (LSTM, "LSTM", {}),
    (GRU, "GRU", {}),
]
IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]


def _max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-6), (np.float32, 1e-4)], ids=["f64", "f32"])
@pytest.mark.parametrize("packed", [False, True], ids=["full", "packed"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cls,tname,kw", CASES, ids=IDS)
def test_matches_torch(cls, tname, kw, bidirectional, packed, dtype, tol):
    rng = np.random.default_rng(2024)
    T, B, D, H, L = 7, 5, 4, 6, 2
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    layer = cls(D, H, L, bidirectional=bidirectional, dtype=dtype, rng=rng, **kw)
    for k, v in layer.params.items():  # non-zero biases, wider than the default init
        layer.params[k] = rng.uniform(-0.5, 0.5, v.shape).astype(dtype)
    module = getattr(torch.nn, tname)(D, H, L, bidirectional=bidirectional, **kw).to(tdtype)
    with torch.no_grad():
        for k, v in layer.params.items():
            getattr(module, k).copy_(torch.from_numpy(v))

    S = L * layer.num_directions
    x = rng.standard_normal((T, B, D)).astype(dtype)
    lengths = np.array([7, 3, 5, 1, 6]) if packed else None
    h0 = rng.standard_normal((S, B, H)).astype(dtype)
    c0 = rng.standard_normal((S, B, H)).astype(dtype)
    state = (h0, c0) if tname == "LSTM" else h0

    out, final, cache = layer.forward(x, state=state, lengths=lengths)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dh = rng.standard_normal((S, B, H)).astype(dtype)
    dc = rng.standard_normal((S, B, H)).astype(dtype)
    dstate = (dh, dc) if tname == "LSTM" else dh
    dx, dstate0, grads = layer.backward(dout, dstate, cache)

    xt = torch.from_numpy(x).requires_grad_(True)
    h0t = torch.from_numpy(h0).requires_grad_(True)
    c0t = torch.from_numpy(c0).requires_grad_(True)
    inp = xt
    if packed:
        inp = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths), enforce_sorted=False)
    tout, tfinal = module(inp, (h0t, c0t) if tname == "LSTM" else h0t)
    if packed:
        tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, total_length=T)
    loss = (tout * torch.from_numpy(dout)).sum()
    if tname == "LSTM":
        loss = loss + (tfinal[0] * torch.from_numpy(dh)).sum() + (tfinal[1] * torch.from_numpy(dc)).sum()
    else:
        loss = loss + (tfinal * torch.from_numpy(dh)).sum()
    loss.backward()

    checks = {"out": (out, tout.detach().numpy()), "dx": (dx, xt.grad.numpy())}
    if tname == "LSTM":
        checks["h_n"] = (final[0], tfinal[0].detach().numpy())
        checks["c_n"] = (final[1], tfinal[1].detach().numpy())
        checks["dh0"] = (dstate0[0], h0t.grad.numpy())
        checks["dc0"] = (dstate0[1], c0t.grad.numpy())
    else:
        checks["h_n"] = (final, tfinal.detach().numpy())
        checks["dh0"] = (dstate0, h0t.grad.numpy())
    for k in layer.params:
        checks["grad " + k] = (grads[k], getattr(module, k).grad.numpy())
    assert set(grads) == set(layer.params)
    for name, (mine, theirs) in checks.items():
        assert mine.dtype == dtype, f"{name} came back as {mine.dtype}"
        diff = _max_diff(mine, theirs)
        assert diff < tol, f"{name}: max difference {diff:.3e} (tolerance {tol})"


def test_mask_equals_lengths():
    rng = np.random.default_rng(0)
    layer = LSTM(3, 4, 2, bidirectional=True, rng=rng)
    x = rng.standard_normal((6, 3, 3)).astype(np.float32)
    lengths = np.array([2, 6, 4])
    mask = np.arange(6)[:, None] < lengths[None, :]
    a = layer.forward(x, lengths=lengths)[0]
    b = layer.forward(x, mask=mask)[0]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls,tname,kw", CASES, ids=IDS)
def test_weight_drop_matches_torch_functional_call(cls, tname, kw):
    """DropConnect on weight_hh (AWD-LSTM's WeightDrop) against torch running W_hh * M by functional_call.

    The masks are the ones rnnkit drew (read from its cache); torch differentiates through W * M.
    """
    rng = np.random.default_rng(11)
    T, B, D, H, L = 6, 4, 3, 5, 2
    layer = cls(D, H, L, bidirectional=True, weight_drop=0.4, dtype=np.float64, rng=rng, **kw)
    for k, v in layer.params.items():
        layer.params[k] = rng.uniform(-0.5, 0.5, v.shape)
    module = getattr(torch.nn, tname)(D, H, L, bidirectional=True, **kw).double()
    x = rng.standard_normal((T, B, D))
    lengths = np.array([6, 2, 5, 4])
    out, _, cache = layer.forward(x, lengths=lengths, training=True, rng=np.random.default_rng(8))
    dout = rng.standard_normal(out.shape)
    dx, _, grads = layer.backward(dout, None, cache)

    params = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in layer.params.items()}
    effective = dict(params)
    for layer_i, lc in enumerate(cache.layers):
        for d, m in enumerate(lc.hh_masks):
            name = f"weight_hh_l{layer_i}" + ("_reverse" if d else "")
            effective[name] = params[name] * torch.from_numpy(m)
    xt = torch.from_numpy(x).requires_grad_(True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths), enforce_sorted=False)
    tout, _ = torch.func.functional_call(module, effective, (packed,))
    tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, total_length=T)
    (tout * torch.from_numpy(dout)).sum().backward()

    assert _max_diff(out, tout.detach().numpy()) < 1e-10
    assert _max_diff(dx, xt.grad.numpy()) < 1e-10
    for k, p in params.items():
        assert _max_diff(grads[k], p.grad.numpy()) < 1e-10, k


def _assert_close(name, mine, theirs):
    np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12, err_msg=name)


def _backward_and_compare(tout, tfinal, dout, dfin, xt, P, out, finals, dx, grads):
    """Backpropagate <tout, dout> + <tfinal, dfin> through torch, then compare rnnkit's out, final
    state, dx and every parameter gradient (the key sets equal) with torch's."""
    loss = (tout * torch.from_numpy(dout)).sum() + sum((f * torch.from_numpy(g)).sum() for f, g in zip(tfinal, dfin))
    loss.backward()
    _assert_close("out", out, tout.detach().numpy())
    for i, (mine, theirs) in enumerate(zip(finals, tfinal)):
        _assert_close(f"final state [{i}]", mine, theirs.detach().numpy())
    _assert_close("dx", dx, xt.grad.numpy())
    assert set(grads) == set(P)
    for k, p in P.items():
        _assert_close("grad " + k, grads[k], p.grad.numpy())


@pytest.mark.parametrize("variational", [False, True], ids=["elementwise", "variational"])
@pytest.mark.parametrize("cls,tname,kw", CASES, ids=IDS)
def test_learn_init_dropout_weight_drop_match_torch(cls, tname, kw, variational):
    """learn_init, dropout between layers, weight drop, 3 bidirectional layers, packed lengths: float64 parity.

    torch runs layer by layer (packed) with rnnkit's dropout and W_hh masks, and h0/c0 expanded over the
    batch from the learned (H,) parameters, so their gradients are checked too; random dout and dstate.
    """
    rng = np.random.default_rng(5)
    T, B, D, H, L = 6, 4, 3, 4, 3
    layer = cls(D, H, L, bidirectional=True, dropout=0.4, variational_dropout=variational, weight_drop=0.3,
                learn_init=True, dtype=np.float64, rng=rng, **kw)
    for k, v in layer.params.items():  # non-zero biases and initial states
        layer.params[k] = rng.uniform(-0.6, 0.6, v.shape)
    lstm = tname == "LSTM"
    assert "h0_l2_reverse" in layer.params and ("c0_l2_reverse" in layer.params) == lstm
    x = rng.standard_normal((T, B, D))
    lengths = np.array([6, 2, 5, 3])
    out, final, cache = layer.forward(x, lengths=lengths, training=True, rng=np.random.default_rng(9))
    drop_masks = [lc.drop_mask for lc in cache.layers[1:]]
    assert all(m.shape[0] == (1 if variational else T) and (m == 0).any() for m in drop_masks)
    assert all(m is not None and (m == 0).any() for lc in cache.layers for m in lc.hh_masks)
    dout = rng.standard_normal(out.shape)
    finals = final if lstm else (final,)
    dfin = tuple(rng.standard_normal(f.shape) for f in finals)
    dx, _, grads = layer.backward(dout, dfin if lstm else dfin[0], cache)

    P = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in layer.params.items()}
    xt = torch.tensor(x, requires_grad=True)
    h = xt
    tfinals = []
    for k in range(L):
        lc = cache.layers[k]
        if lc.drop_mask is not None:  # rnnkit's masks are in its length-sorted batch order
            h = h * torch.from_numpy(lc.drop_mask[:, cache.inverse])
        module = getattr(torch.nn, tname)(h.shape[-1], H, 1, bidirectional=True, **kw).double()
        w = {}
        for d, sfx in enumerate(("", "_reverse")):
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                w[f"{n}_l0{sfx}"] = P[f"{n}_l{k}{sfx}"]
            if lc.hh_masks[d] is not None:
                w[f"weight_hh_l0{sfx}"] = w[f"weight_hh_l0{sfx}"] * torch.from_numpy(lc.hh_masks[d])
        s0 = tuple(torch.stack([P[f"{n}_l{k}"], P[f"{n}_l{k}_reverse"]])[:, None, :].expand(2, B, H)
                   for n in (("h0", "c0") if lstm else ("h0",)))
        packed = torch.nn.utils.rnn.pack_padded_sequence(h, torch.from_numpy(lengths), enforce_sorted=False)
        o, fin = torch.func.functional_call(module, w, (packed, s0 if lstm else s0[0]))
        h, _ = torch.nn.utils.rnn.pad_packed_sequence(o, total_length=T)
        tfinals.append(fin if lstm else (fin,))
    tfinal = [torch.cat([f[i] for f in tfinals]) for i in range(len(dfin))]
    _backward_and_compare(h, tfinal, dout, dfin, xt, P, out, finals, dx, grads)


def _windowed_torch(module, params, x, lengths, state0, k):
    """torch (module with params, by functional_call) over windows of k steps, the state entering each
    window detached; padded steps hold the state.

    In each window only the sequences still running are packed and run; a sequence's final state is its
    (not detached) state after its last real step.  Returns (out (T, B, H), final state tuple).
    """
    T, B, _ = x.shape
    lstm = isinstance(module, torch.nn.LSTM)
    final = state0  # tuple of (L, B, H)
    outs = []
    for a in range(0, T, k):
        n = min(k, T - a)
        live = np.flatnonzero(lengths > a)
        idx = torch.from_numpy(live)
        s_in = tuple((s if a == 0 else s.detach()).index_select(1, idx) for s in final)
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            x[a:a + n].index_select(1, idx), torch.from_numpy(np.minimum(lengths[live] - a, n)), enforce_sorted=False)
        o, fin = torch.func.functional_call(module, params, (packed, s_in if lstm else s_in[0]))
        o, _ = torch.nn.utils.rnn.pad_packed_sequence(o, total_length=n)
        outs.append(torch.zeros((n, B, o.shape[-1]), dtype=x.dtype).index_copy(1, idx, o))
        final = tuple(s.index_copy(1, idx, f) for s, f in zip(final, fin if lstm else (fin,)))
    return torch.cat(outs), final


@pytest.mark.parametrize("window", [2, 4])
@pytest.mark.parametrize("cls,tname,kw", CASES, ids=IDS)
def test_truncated_bptt_matches_windowed_torch(cls, tname, kw, window):
    """tbptt=k equals torch run window by window with the state detached between windows (float64).

    Two layers, unequal lengths (one sequence ends inside a window, one before the last window), a given
    initial state, random dout and dstate: out, final state, dx, dstate0 and every parameter gradient.
    """
    rng = np.random.default_rng(6)
    T, B, D, H, L = 7, 3, 3, 4, 2
    layer = cls(D, H, L, tbptt=window, dtype=np.float64, rng=rng, **kw)
    for n, v in layer.params.items():
        layer.params[n] = rng.uniform(-0.6, 0.6, v.shape)
    lstm = tname == "LSTM"
    x = rng.standard_normal((T, B, D))
    lengths = np.array([7, 3, 5])
    st = [rng.standard_normal((L, B, H)) for _ in range(2 if lstm else 1)]
    out, final, cache = layer.forward(x, state=tuple(st) if lstm else st[0], lengths=lengths)
    dout = rng.standard_normal(out.shape)
    finals = final if lstm else (final,)
    dfin = tuple(rng.standard_normal(f.shape) for f in finals)
    dx, dstate0, grads = layer.backward(dout, dfin if lstm else dfin[0], cache)

    module = getattr(torch.nn, tname)(D, H, L, **kw).double()
    P = {n: torch.tensor(v.copy(), requires_grad=True) for n, v in layer.params.items()}
    xt = torch.tensor(x, requires_grad=True)
    S0 = tuple(torch.tensor(s, requires_grad=True) for s in st)
    tout, tfinal = _windowed_torch(module, P, xt, lengths, S0, window)
    _backward_and_compare(tout, tfinal, dout, dfin, xt, P, out, finals, dx, grads)
    for i, (mine, s) in enumerate(zip(dstate0 if lstm else (dstate0,), S0)):
        _assert_close(f"dstate0 [{i}]", mine, s.grad.numpy())
