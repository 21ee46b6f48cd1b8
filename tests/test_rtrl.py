"""RTRL gradients equal BPTT's: against PyTorch autograd, rnnkit's own BPTT and finite differences."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad
from rnnkit.rtrl import rtrl_gradients
from rnnkit.rtrl_gated import gru_rtrl_gradients, lstm_rtrl_gradients
from rnnkit.rtrl_online import OnlineRTRL

T, B, D, H = 7, 3, 4, 5
LENGTHS = np.array([7, 4, 2])
CELLS = ["tanh", "relu", "lstm", "gru"]
GATES = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}


def make_params(cell: str, rng: np.random.Generator, dtype=np.float64) -> dict[str, np.ndarray]:
    G = GATES[cell]
    params = {
        "weight_ih_l0": rng.normal(0.0, 0.6, size=(G * H, D)),
        "weight_hh_l0": rng.normal(0.0, 0.6, size=(G * H, H)),
        "bias_ih_l0": rng.normal(0.0, 0.5, size=G * H),
        "bias_hh_l0": rng.normal(0.0, 0.5, size=G * H),
    }
    return {k: v.astype(dtype) for k, v in params.items()}


def make_problem(cell: str, seed: int) -> dict:
    """Random weights, inputs, initial state and upstream gradients (all non-zero)."""
    rng = np.random.default_rng(seed)
    return {
        "params": make_params(cell, rng),
        "x": rng.normal(size=(T, B, D)),
        "h0": rng.normal(size=(B, H)),
        "c0": rng.normal(size=(B, H)),
        "dout": rng.normal(size=(T, B, H)),
        "dhT": rng.normal(size=(B, H)),
        "dcT": rng.normal(size=(B, H)),
    }


def run_rtrl(cell: str, pb: dict, dloss=None, lengths=LENGTHS):
    """RTRL gradients of every cell in one shape: (grads, {"h0": dh0, "c0": dc0?})."""
    dloss = pb["dout"] if dloss is None else dloss
    if cell == "lstm":
        state0 = (pb["h0"], pb["c0"])
        dstateT = (pb["dhT"], pb["dcT"])
        grads, (dh0, dc0) = lstm_rtrl_gradients(pb["params"], pb["x"], state0, dloss, dstateT, lengths)
        return grads, {"h0": dh0, "c0": dc0}
    if cell == "gru":
        grads, dh0 = gru_rtrl_gradients(pb["params"], pb["x"], pb["h0"], dloss, pb["dhT"], lengths)
    else:
        grads, dh0 = rtrl_gradients(pb["params"], pb["x"], pb["h0"], dloss, pb["dhT"], lengths, nonlinearity=cell)
    return grads, {"h0": dh0}


def assert_close(name: str, got: np.ndarray, want: np.ndarray, tol: float = 1e-8) -> None:
    diff = float(np.max(np.abs(got - want)))
    scale = 1.0 + float(np.max(np.abs(want)))
    assert diff <= tol * scale, f"{name}: max difference {diff:.3e} (max |reference| {scale - 1:.3e})"


def torch_reference(cell: str, pb: dict, loss_fn=None):
    """PyTorch autograd on packed sequences: grads of (out*dout).sum() + (hT*dhT).sum() [+ (cT*dcT).sum()]."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    if cell == "lstm":
        module = torch.nn.LSTM(D, H)
    elif cell == "gru":
        module = torch.nn.GRU(D, H)
    else:
        module = torch.nn.RNN(D, H, nonlinearity=cell)
    module = module.double()
    with torch.no_grad():
        for name, value in pb["params"].items():
            getattr(module, name).copy_(torch.from_numpy(value))
    h0 = torch.tensor(pb["h0"][None], requires_grad=True)
    c0 = torch.tensor(pb["c0"][None], requires_grad=True)
    packed = pack_padded_sequence(torch.tensor(pb["x"]), torch.tensor(LENGTHS), enforce_sorted=False)
    if cell == "lstm":
        out, (hT, cT) = module(packed, (h0, c0))
    else:
        out, hT = module(packed, h0)
    out, _ = pad_packed_sequence(out, total_length=T)  # (T, B, H), zero at padded steps
    if loss_fn is None:
        loss = (out * torch.tensor(pb["dout"])).sum() + (hT[0] * torch.tensor(pb["dhT"])).sum()
    else:
        loss = loss_fn(out) + (hT[0] * torch.tensor(pb["dhT"])).sum()
    if cell == "lstm":
        loss = loss + (cT[0] * torch.tensor(pb["dcT"])).sum()
    loss.backward()
    grads = {name: getattr(module, name).grad.numpy() for name in pb["params"]}
    dstate = {"h0": h0.grad[0].numpy()}
    if cell == "lstm":
        dstate["c0"] = c0.grad[0].numpy()
    return grads, dstate, out.detach().numpy()


@pytest.mark.parametrize("cell", CELLS)
def test_rtrl_matches_torch_autograd(cell):
    pb = make_problem(cell, seed=GATES[cell] + len(cell))
    grads, dstate = run_rtrl(cell, pb)
    want_grads, want_dstate, _ = torch_reference(cell, pb)
    assert set(grads) == set(pb["params"])
    for name in want_grads:
        assert grads[name].shape == pb["params"][name].shape
        assert_close(name, grads[name], want_grads[name])
    for name in want_dstate:
        assert_close("d" + name, dstate[name], want_dstate[name])


@pytest.mark.parametrize("cell", CELLS)
def test_callable_upstream_sees_the_forward_states(cell):
    """A loss that depends on h_t (L_t = sum(w * h_t^2) / 2) through the callable form."""
    torch = pytest.importorskip("torch")
    pb = make_problem(cell, seed=11)
    weight = np.random.default_rng(12).normal(size=(T, B, H))
    _, _, out = torch_reference(cell, pb)
    seen = []

    def dloss(t: int, h_t: np.ndarray) -> np.ndarray:
        seen.append((t, h_t.copy()))
        return weight[t] * h_t

    grads, dstate = run_rtrl(cell, pb, dloss=dloss)
    assert [t for t, _ in seen] == list(range(T))
    for t, h_t in seen:
        real = t < LENGTHS
        assert_close(f"h_{t} given to the callable", h_t[real], out[t][real])
    want_grads, want_dstate, _ = torch_reference(cell, pb, loss_fn=lambda o: 0.5 * (torch.tensor(weight) * o * o).sum())
    for name in want_grads:
        assert_close(name, grads[name], want_grads[name])
    for name in want_dstate:
        assert_close("d" + name, dstate[name], want_dstate[name])


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def _numpy_final_loss(cell: str, pb: dict) -> float:
    """Independent numpy forward of the test loss, for finite differences (float64)."""
    p = pb["params"]
    h, c = pb["h0"].copy(), pb["c0"].copy()
    loss = 0.0
    for t in range(T):
        gx = pb["x"][t] @ p["weight_ih_l0"].T + p["bias_ih_l0"]
        gh = h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        if cell == "lstm":
            i, f, g, o = np.split(gx + gh, 4, axis=1)
            c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h_new = _sigmoid(o) * np.tanh(c_new)
        elif cell == "gru":
            r = _sigmoid(gx[:, :H] + gh[:, :H])
            z = _sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
            n = np.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
            h_new, c_new = (1 - z) * n + z * h, c
        else:
            h_new = np.tanh(gx + gh) if cell == "tanh" else np.maximum(gx + gh, 0.0)
            c_new = c
        real = (t < LENGTHS)[:, None]
        h = np.where(real, h_new, h)
        c = np.where(real, c_new, c)
        loss += float(np.sum(pb["dout"][t] * h * real))
    loss += float(np.sum(pb["dhT"] * h))
    if cell == "lstm":
        loss += float(np.sum(pb["dcT"] * c))
    return loss


@pytest.mark.parametrize("cell", CELLS)
def test_rtrl_matches_finite_differences(cell):
    """Every entry of every parameter and of the initial state (h0, and c0 for the LSTM)."""
    pb = make_problem(cell, seed=21)
    grads, dstate = run_rtrl(cell, pb)
    targets = [(k, pb["params"][k], grads[k]) for k in pb["params"]] + [(k, pb[k], g) for k, g in dstate.items()]
    for name, array, grad in targets:
        numeric = numeric_grad(lambda: _numpy_final_loss(cell, pb), array)
        diff = np.abs(numeric - grad)
        assert np.all(diff <= 1e-7 * (1 + np.abs(numeric))), (
            f"{name}: rtrl against finite differences, max difference {diff.max():.3e}")


@pytest.mark.parametrize("cell", CELLS)
def test_rtrl_matches_rnnkit_bptt(cell):
    recurrent = pytest.importorskip("rnnkit.recurrent")
    pb = make_problem(cell, seed=31)
    grads, dstate = run_rtrl(cell, pb)
    if cell == "lstm":
        layer = recurrent.LSTM(D, H, dtype=np.float64, rng=np.random.default_rng(0))
        state0 = (pb["h0"][None], pb["c0"][None])
        dstateT = (pb["dhT"][None], pb["dcT"][None])
    else:
        if cell == "gru":
            layer = recurrent.GRU(D, H, dtype=np.float64, rng=np.random.default_rng(0))
        else:
            layer = recurrent.RNN(D, H, nonlinearity=cell, dtype=np.float64, rng=np.random.default_rng(0))
        state0 = pb["h0"][None]
        dstateT = pb["dhT"][None]
    for name, value in pb["params"].items():
        layer.params[name][...] = value
    _, _, cache = layer.forward(pb["x"], state=state0, lengths=LENGTHS)
    # BPTT's outputs are zero at padded steps; mask their gradient so only RTRL is asked to ignore it
    dout = pb["dout"] * (np.arange(T)[:, None] < LENGTHS[None, :])[:, :, None]
    _, dstate0, want = layer.backward(dout, dstateT, cache)
    for name in pb["params"]:
        assert_close(name, grads[name], want[name])
    if cell == "lstm":
        assert_close("dh0", dstate["h0"], dstate0[0][0])
        assert_close("dc0", dstate["c0"], dstate0[1][0])
    else:
        assert_close("dh0", dstate["h0"], dstate0[0])


@pytest.mark.parametrize("cell", ["tanh", "lstm"])
def test_zero_length_sequence_holds_its_state(cell):
    pb = make_problem(cell, seed=41)
    lengths = np.array([T, 0, 3])
    grads, dstate = run_rtrl(cell, pb, lengths=lengths)
    # Nothing ran: dL/dh0 is the final-state gradient and this sequence adds no parameter gradient.
    assert_close("dh0 of the empty sequence", dstate["h0"][1], pb["dhT"][1], tol=0.0)
    keep = np.array([0, 2])
    sub = {k: (v[:, keep] if k in ("x", "dout") else v[keep]) for k, v in pb.items() if k != "params"}
    sub["params"] = pb["params"]
    sub_grads, _ = run_rtrl(cell, sub, lengths=lengths[keep])
    for name in grads:
        assert_close(name, grads[name], sub_grads[name])


@pytest.mark.parametrize("cell", CELLS)
def test_online_with_frozen_weights_sums_to_the_batch_gradient(cell):
    pb = make_problem(cell, seed=51)
    net = OnlineRTRL(pb["params"], lambda grads: None, cell=cell, batch_size=B)
    total = {name: np.zeros_like(v) for name, v in pb["params"].items()}
    if cell == "lstm":
        net.reset((pb["h0"], pb["c0"]))
    else:
        net.reset((pb["h0"],))
    for t in range(T):
        _, step_grads = net.step(pb["x"][t], pb["dout"][t])
        for name in total:
            total[name] += step_grads[name]
    pb["dhT"][...] = 0.0
    pb["dcT"][...] = 0.0
    want, _ = run_rtrl(cell, pb, lengths=None)
    for name in want:
        assert_close(name, total[name], want[name])


def test_online_rtrl_learns_delayed_copy():
    """Predict x_{t-1} from h_t.  W_hh starts at zero, so without learning the net has no memory and
    the best readout scores 0.5 (predicting 0); online RTRL must grow the recurrent weights."""
    rng = np.random.default_rng(61)
    steps, batch, hidden, lr = 400, 8, 8, 0.05

    def run(learn: bool) -> np.ndarray:
        params = {
            "weight_ih_l0": rng.normal(size=(hidden, 1)),
            "weight_hh_l0": np.zeros((hidden, hidden)),
            "bias_ih_l0": rng.normal(0.0, 0.1, size=hidden),
            "bias_hh_l0": rng.normal(0.0, 0.1, size=hidden),
        }
        before = {k: v.copy() for k, v in params.items()}
        net = OnlineRTRL(params, lr if learn else (lambda grads: None), cell="tanh", batch_size=batch)
        readout = {"w": rng.normal(0.0, 0.1, size=hidden), "b": np.zeros(1)}
        bits = rng.choice([-1.0, 1.0], size=(steps + 1, batch, 1))
        losses = []
        for t in range(steps):
            target = bits[t, :, 0]  # the input of the previous step

            def dloss(h: np.ndarray) -> np.ndarray:
                err = h @ readout["w"] + readout["b"] - target  # (B,)
                losses.append(0.5 * float(np.mean(err**2)))
                dy = err / batch
                dh = np.outer(dy, readout["w"])  # (B, H), with the readout before its update
                readout["w"] -= 4 * lr * (h.T @ dy)
                readout["b"] -= 4 * lr * dy.sum()
                return dh

            net.step(bits[t + 1], dloss)
        changed = not np.array_equal(before["weight_hh_l0"], params["weight_hh_l0"])
        assert changed == learn, f"weight_hh_l0 changed: {changed}, expected {learn}"
        return np.array(losses)

    learned = run(learn=True)
    frozen = run(learn=False)
    early, late, control = learned[:50].mean(), learned[-50:].mean(), frozen[-50:].mean()
    assert late < 0.05, f"online RTRL loss over the last 50 steps {late:.4f}, expected < 0.05"
    assert late < 0.2 * early, f"loss fell only from {early:.4f} to {late:.4f}"
    assert control > 0.4, f"control without recurrent learning reached {control:.4f}: the task needs no memory"


def test_float32_runs_in_float32():
    pb = make_problem("gru", seed=71)
    p32 = {k: v.astype(np.float32) for k, v in pb["params"].items()}
    grads, dh0 = gru_rtrl_gradients(p32, pb["x"].astype(np.float32), None, pb["dout"], None, LENGTHS)
    assert dh0.dtype == np.float32
    pb["h0"][...] = 0.0
    pb["dhT"][...] = 0.0
    want, _ = run_rtrl("gru", pb)
    for name in want:
        assert grads[name].dtype == np.float32
        assert_close(name, grads[name], want[name], tol=1e-4)


def test_bad_arguments_raise_clear_errors():
    pb = make_problem("tanh", seed=81)
    p, x, dout = pb["params"], pb["x"], pb["dout"]
    with pytest.raises(ValueError, match=r"x of shape \(T, B, D\)"):
        rtrl_gradients(p, x[0], None, dout)
    with pytest.raises(ValueError, match="h0 of shape"):
        rtrl_gradients(p, x, np.zeros((B, H + 1)), dout)
    with pytest.raises(TypeError, match="x of dtype float64"):
        rtrl_gradients(p, x.astype(np.float32), None, dout)
    with pytest.raises(ValueError, match="dloss_dh of shape"):
        rtrl_gradients(p, x, None, dout[:-1])
    with pytest.raises(ValueError, match="lengths between 0 and T"):
        rtrl_gradients(p, x, None, dout, lengths=np.array([T + 1, 1, 1]))
    with pytest.raises(ValueError, match="nonlinearity"):
        rtrl_gradients(p, x, None, dout, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="unexpected"):
        rtrl_gradients({**p, "weight_ih_l1": p["weight_ih_l0"]}, x, None, dout)
    with pytest.raises(ValueError, match=r"weight_hh_l0 of shape \(4\*H, H\)"):
        lstm_rtrl_gradients(p, x, None, dout)
    with pytest.raises(ValueError, match=r"dloss_dh\(0, h_t\) of shape"):
        rtrl_gradients(p, x, None, lambda t, h: h[:, :-1])
    with pytest.raises(ValueError, match="cell one of"):
        OnlineRTRL(p, 0.1, cell="elman")
    with pytest.raises(ValueError, match=r"x_t of shape \(B, D\)"):
        OnlineRTRL(p, 0.1, batch_size=B).step(x[0, :1], dout[0])
