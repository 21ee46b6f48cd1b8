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
