"""Weights moved between rnnkit and torch.nn.RNN/LSTM/GRU give the same outputs and final states,
in both directions; bad state dicts and unsupported modules are refused with clear messages."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from rnnkit import torch_io
from rnnkit.recurrent import GRU, LSTM, RNN

torch = pytest.importorskip("torch")

CASES = [
    (RNN, "RNN", {"nonlinearity": "tanh"}),
    (RNN, "RNN", {"nonlinearity": "relu"}),
    (LSTM, "LSTM", {}),
    (GRU, "GRU", {}),
]
IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]
DTYPES = [(np.float64, torch.float64, 1e-10), (np.float32, torch.float32, 1e-5)]
T, B, D, H, L = 6, 3, 4, 5, 2


def _max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def _random_params(layer, rng) -> None:
    """Non-zero weights and biases, wider than the default initialisation."""
    for k, v in layer.params.items():
        layer.params[k][...] = rng.uniform(-0.6, 0.6, v.shape)


def _inputs(rng, cell, dtype, S):
    x = rng.standard_normal((T, B, D)).astype(dtype)
    h0 = rng.standard_normal((S, B, H)).astype(dtype)
    c0 = rng.standard_normal((S, B, H)).astype(dtype)
    return x, ((h0, c0) if cell == "LSTM" else h0)


def _run_torch(module, x, state):
    with torch.no_grad():
        if isinstance(state, tuple):
            out, (h, c) = module(torch.from_numpy(x), tuple(torch.from_numpy(s) for s in state))
            return out.numpy(), (h.numpy(), c.numpy())
        out, h = module(torch.from_numpy(x), torch.from_numpy(state))
        return out.numpy(), h.numpy()


def _compare(ours, theirs, tol) -> None:
    out, final = ours
    tout, tfinal = theirs
    checks = {"out": (out, tout)}
    if isinstance(final, tuple):
        checks["h_n"] = (final[0], tfinal[0])
        checks["c_n"] = (final[1], tfinal[1])
    else:
        checks["h_n"] = (final, tfinal)
    for name, (mine, ref) in checks.items():
        assert mine.shape == ref.shape, f"{name}: shape {mine.shape} vs torch {ref.shape}"
        diff = _max_diff(mine, ref)
        assert diff < tol, f"{name}: max difference {diff:.3e} (tolerance {tol})"


@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
@pytest.mark.parametrize("dtype,tdtype,tol", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("cls,tname,kw", CASES, ids=IDS)
def test_export_to_torch_gives_same_outputs(cls, tname, kw, dtype, tdtype, tol, bidirectional):
    rng = np.random.default_rng(31)
    dirs = 2 if bidirectional else 1
    layer = cls(D, H, L, bidirectional=bidirectional, dtype=dtype, rng=rng, **kw)
    _random_params(layer, rng)
    module = torch_io.to_torch_module(layer).eval()
    assert type(module).__name__ == tname
    assert module.weight_ih_l0.dtype == tdtype
    assert (module.num_layers, module.bidirectional, module.hidden_size) == (L, bidirectional, H)
    sd = torch_io.to_torch_state_dict(layer.params)
    assert set(sd) == set(layer.params)
    for k, v in sd.items():
        assert _max_diff(v.numpy(), layer.params[k]) == 0.0, f"{k} changed on export"
    x, state = _inputs(rng, tname, dtype, dirs * L)
    out, final, _ = layer.forward(x, state=state)
    _compare((out, final), _run_torch(module, x, state), tol)
    out0, final0, _ = layer.forward(x)  # zero initial state on both sides
    with torch.no_grad():
        tout0, tfinal0 = module(torch.from_numpy(x))
    tfinal0 = tuple(t.numpy() for t in tfinal0) if tname == "LSTM" else tfinal0.numpy()
    _compare((out0, final0), (tout0.numpy(), tfinal0), tol)


@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
@pytest.mark.parametrize("dtype,tdtype,tol", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("cls,tname,kw", CASES, ids=IDS)
def test_import_from_torch_gives_same_outputs(cls, tname, kw, dtype, tdtype, tol, bidirectional):
    rng = np.random.default_rng(47)
    dirs = 2 if bidirectional else 1
    module = getattr(torch.nn, tname)(D, H, L, bidirectional=bidirectional, dropout=0.3, **kw).to(tdtype).eval()
    with torch.no_grad():
        for p in module.parameters():  # random values from our generator, not torch's global one
            p.copy_(torch.from_numpy(rng.uniform(-0.6, 0.6, tuple(p.shape))))
    layer = torch_io.layer_from_torch(module)
    assert isinstance(layer, cls)
    cfg = layer.config
    assert (cfg.input_size, cfg.hidden_size, cfg.num_layers, cfg.bidirectional) == (D, H, L, bidirectional)
    assert cfg.dropout == pytest.approx(0.3) and cfg.nonlinearity == kw.get("nonlinearity", "tanh")
    assert layer.dtype == dtype
    for k, p in module.state_dict().items():
        assert layer.params[k].dtype == dtype, f"{k} came back as {layer.params[k].dtype}"
        assert _max_diff(layer.params[k], p.numpy()) == 0.0, f"{k} changed on import"
    x, state = _inputs(rng, tname, dtype, dirs * L)
    out, final, _ = layer.forward(x, state=state)
    _compare((out, final), _run_torch(module, x, state), tol)
    with torch.no_grad():  # the layer holds a copy: changing the module does not change it
        module.weight_hh_l1.add_(1.0)
    assert _max_diff(layer.params["weight_hh_l1"], module.weight_hh_l1.detach().numpy()) == pytest.approx(1.0)


def test_round_trip_and_dtype_cast():
    rng = np.random.default_rng(5)
    src = GRU(D, H, L, bidirectional=True, dtype=np.float64, rng=rng)
    _random_params(src, rng)
    dst = GRU(D, H, L, bidirectional=True, dtype=np.float32, rng=rng)
    before = {k: v for k, v in dst.params.items()}
    torch_io.from_torch_state_dict(torch_io.to_torch_module(src).state_dict(), dst)
    for k, v in dst.params.items():
        assert v is before[k], f"{k}: the array was replaced, not written in place"
        assert v.dtype == np.float32, f"{k}: dtype {v.dtype}"
        diff = _max_diff(v, src.params[k].astype(np.float32))
        assert diff == 0.0, f"{k}: max difference {diff} after the float64 -> float32 cast"


def test_prefixed_state_dict_from_a_bigger_model():
    rng = np.random.default_rng(6)
    layer = LSTM(D, H, 1, dtype=np.float64, rng=rng)
    _random_params(layer, rng)
    sd = {"rnn." + k: v for k, v in torch_io.to_torch_state_dict(layer.params).items()}
    sd["decoder.weight"] = torch.zeros(3, H, dtype=torch.float64)
    other = LSTM(D, H, 1, dtype=np.float64, rng=np.random.default_rng(99))
    torch_io.from_torch_state_dict(sd, other, prefix="rnn.")
    for k in layer.params:
        assert _max_diff(other.params[k], layer.params[k]) == 0.0, k
    with pytest.raises(ValueError, match="decoder.weight"):
        torch_io.from_torch_state_dict(sd, other)


def test_learned_initial_state_is_skipped_and_reproducible():
    rng = np.random.default_rng(7)
    layer = LSTM(D, H, L, bidirectional=True, learn_init=True, dtype=np.float64, rng=rng)
    _random_params(layer, rng)  # includes non-zero h0_l*/c0_l*
    sd = torch_io.to_torch_state_dict(layer.params)
    assert not any(k.startswith(("h0", "c0")) for k in sd)
    assert set(sd) == {k for k in layer.params if not k.startswith(("h0", "c0"))}
    h0_before = layer.params["h0_l1_reverse"].copy()
    torch_io.from_torch_state_dict(sd, layer)  # no h0/c0 given: they must stay
    assert _max_diff(layer.params["h0_l1_reverse"], h0_before) == 0.0
    module = torch_io.to_torch_module(layer).eval()
    x = rng.standard_normal((T, B, D))
    out, final, _ = layer.forward(x)  # uses the learned initial state
    state = torch_io.learned_initial_state(layer, B)
    assert state[0].shape == (2 * L, B, H)
    _compare((out, final), _run_torch(module, x, state), 1e-10)
    assert torch_io.learned_initial_state(GRU(D, H, rng=rng), B) is None


def test_bad_state_dicts_are_reported_together_and_change_nothing():
    rng = np.random.default_rng(8)
    layer = GRU(D, H, L, bidirectional=True, dtype=np.float64, rng=rng)
    sd = torch_io.to_torch_state_dict(layer.params)
    sd = {k: v + 1.0 for k, v in sd.items()}
    del sd["bias_hh_l1_reverse"]
    sd["weight_ih_l0"] = torch.zeros(3 * H, D + 1, dtype=torch.float64)
    sd["weight_ih_l2"] = torch.zeros(3 * H, 2 * H, dtype=torch.float64)
    before = {k: v.copy() for k, v in layer.params.items()}
    sd["weight_hh_l0"][0, 1] = float("nan")  # NaN weights used to be imported silently (every output NaN)
    sd["bias_ih_l1"][2] = 1e300  # finite in the layer's float64: not named (float32 below)
    with pytest.raises(ValueError) as info:
        torch_io.from_torch_state_dict(sd, layer)
    message = str(info.value)
    for part in ("missing keys ['bias_hh_l1_reverse']", "unexpected keys ['weight_ih_l2']",
                 f"weight_ih_l0 expected {(3 * H, D)}, got {(3 * H, D + 1)}",
                 "NaN or infinite values (in float64) in ['weight_hh_l0']"):
        assert part in message, f"{part!r} not in: {message}"
    for k, v in layer.params.items():
        assert _max_diff(v, before[k]) == 0.0, f"{k} changed by a failed load"


def test_wrong_kinds_of_values():
    layer = RNN(D, H, dtype=np.float64)
    sd = torch_io.to_torch_state_dict(layer.params)
    sd["weight_hh_l0"] = torch.zeros(H, H, dtype=torch.int64)
    with pytest.raises(TypeError, match="weight_hh_l0"):
        torch_io.from_torch_state_dict(sd, layer)
    with pytest.raises(TypeError, match="layer"):
        torch_io.from_torch_state_dict(sd, torch.nn.RNN(D, H))
    with pytest.raises(TypeError, match="params"):
        torch_io.to_torch_state_dict({"weight_ih_l0": [1.0]})
    sd_np = {k: v.numpy() for k, v in torch_io.to_torch_state_dict(layer.params).items()}
    torch_io.from_torch_state_dict(sd_np, layer)  # numpy arrays are accepted too


@pytest.mark.parametrize("make,match", [
    (lambda: torch.nn.LSTM(D, H, bias=False), "bias=False"),
    (lambda: torch.nn.LSTM(D, H, proj_size=2), "proj_size=2"),
    (lambda: torch.nn.GRU(D, H, batch_first=True), "batch_first"),
], ids=["no-bias", "proj", "batch-first"])
def test_unsupported_torch_options_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        torch_io.layer_from_torch(make())


def test_not_a_recurrent_module_and_half_precision():
    with pytest.raises(TypeError, match="Linear"):
        torch_io.layer_from_torch(torch.nn.Linear(3, 4))
    module = torch.nn.GRU(D, H).to(torch.float16)
    with pytest.raises(TypeError, match="dtype=np.float32"):
        torch_io.layer_from_torch(module)
    big = torch.nn.GRU(D, H).double()
    with torch.no_grad():
        big.bias_hh_l0[1] = 1e300  # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"NaN or infinite values \(in float32\) in \['bias_hh_l0'\]"):
        torch_io.layer_from_torch(big, dtype=np.float32)
    layer = torch_io.layer_from_torch(module, dtype=np.float32)
    diff = _max_diff(layer.params["weight_ih_l0"], module.weight_ih_l0.detach().float().numpy())
    assert layer.dtype == np.float32 and diff == 0.0, f"weight_ih_l0: max difference {diff}"


def test_missing_torch_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    layer = RNN(D, H)
    for call in (lambda: torch_io.to_torch_state_dict(layer.params), lambda: torch_io.to_torch_module(layer)):
        with pytest.raises(ImportError, match="pip install torch==2.13.0"):
            call()
