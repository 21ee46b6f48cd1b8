"""Optimizers: parity with torch.optim, state_dict round trips, float32, and argument checking."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.optim import (SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop, make_optimizer)

torch = pytest.importorskip("torch")

# Shapes of a small LSTM language model; 1-D arrays are biases and get no weight decay by default.
SHAPES = {
    "encoder.weight": (7, 3),
    "rnn.weight_ih_l0": (8, 3),
    "rnn.weight_hh_l0": (8, 2),
    "rnn.bias_ih_l0": (8,),
    "rnn.bias_hh_l0": (8,),
    "decoder.weight": (7, 2),
    "decoder.bias": (7,),
}
STEPS = 10
SKIPPED = (3, "decoder.bias")  # at this step this parameter gets no gradient

# (ours, torch's class name, hyperparameters); every case is run against torch.optim.
CASES = [
    (SGD, "SGD", {"lr": 0.1}),
    (SGD, "SGD", {"lr": 0.1, "momentum": 0.9}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}),
    (SGD, "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    (Adagrad, "Adagrad", {"lr": 0.1}),
    (Adagrad, "Adagrad", {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.2,
                          "weight_decay": 0.1, "eps": 1e-6}),
    (RMSprop, "RMSprop", {}),
    (RMSprop, "RMSprop", {"lr": 0.01, "centered": True}),
    (RMSprop, "RMSprop", {"lr": 0.01, "momentum": 0.9, "alpha": 0.9}),
    (RMSprop, "RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    (Adadelta, "Adadelta", {}),
    (Adadelta, "Adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.1}),
    (Adam, "Adam", {"lr": 0.01}),
    (Adam, "Adam", {"lr": 0.01, "amsgrad": True}),
    (Adam, "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    (AdamW, "AdamW", {"lr": 0.01}),
    (AdamW, "AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True}),
]
IDS = [f"{cls.__name__}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for cls, _, kw in CASES]


def make_params(rng: np.random.Generator, dtype=np.float64) -> dict[str, np.ndarray]:
    return {name: rng.normal(0.0, 0.5, size=shape).astype(dtype) for name, shape in SHAPES.items()}


def make_grads(rng: np.random.Generator, steps: int = STEPS) -> list[dict[str, np.ndarray]]:
    """Random gradients per step (never all-ones); one parameter is skipped at one step."""
    seq = []
    for step in range(steps):
        grads = {name: rng.normal(0.0, 1.0, size=shape) for name, shape in SHAPES.items()}
        if step == SKIPPED[0]:
            del grads[SKIPPED[1]]
        seq.append(grads)
    return seq


def torch_optimizer(torch_name: str, kw: dict, tparams: dict, decays: dict[str, bool]):
    """torch decays every parameter it is given, so give it our split as two param groups."""
    kw = dict(kw)
    wd = kw.pop("weight_decay", 1e-2 if torch_name == "AdamW" else 0.0)
    groups = [
        {"params": [t for n, t in tparams.items() if decays[n]], "weight_decay": wd},
        {"params": [t for n, t in tparams.items() if not decays[n]], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    return getattr(torch.optim, torch_name)(groups, **kw)


def assert_close(ours: dict, ref: dict, atol: float, where: str) -> None:
    for name in ref:
        diff = float(np.max(np.abs(ours[name] - ref[name])))
        assert diff <= atol, f"{where}: {name} differs from torch by max {diff:.3g}"


@pytest.mark.parametrize("cls, torch_name, kw", CASES, ids=IDS)
def test_matches_torch(cls, torch_name, kw):
    rng = np.random.default_rng(1234)
    params = make_params(rng)
    tparams = {n: torch.tensor(a.copy(), dtype=torch.float64) for n, a in params.items()}
    opt = cls(params, **kw)
    topt = torch_optimizer(torch_name, kw, tparams, opt.decays)
    moved = False
    for step, grads in enumerate(make_grads(rng)):
        before = {n: a.copy() for n, a in params.items()}
        opt.step(grads)
        for name, t in tparams.items():
            t.grad = torch.tensor(grads[name]) if name in grads else None
        topt.step()
        assert_close(params, {n: t.numpy() for n, t in tparams.items()}, 1e-10, f"step {step + 1}")
        moved = moved or any(not np.array_equal(before[n], params[n]) for n in params)
    assert moved, "the parameters never changed"
    assert opt.param_steps[SKIPPED[1]] == STEPS - 1
    assert opt.step_count == STEPS


@pytest.mark.parametrize("cls, torch_name, kw", CASES, ids=IDS)
def test_zero_dim_parameter_decayed_matches_torch(cls, torch_name, kw):
    """A scalar (0-d) parameter that weight decay reaches: g + wd p is then a numpy scalar, not an array,
    and SGD's momentum buffer used to be built from it and never updated again; its state_dict then
    failed to load."""
    kw = {**kw, "weight_decay": kw.get("weight_decay", 0.1)}
    everything = lambda name, arr: True  # noqa: E731
    params = {"scale": np.array(0.7)}
    t = torch.tensor(0.7, dtype=torch.float64)
    opt = cls(params, decay_filter=everything, **kw)
    topt = getattr(torch.optim, torch_name)([t], **kw)
    twin = None
    for step, g in enumerate((0.3, -1.0, 0.5, 2.0, -0.4, 0.9)):
        opt.step({"scale": np.array(g)})
        if twin is not None:
            twin.step({"scale": np.array(g)})
        t.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
        assert abs(float(params["scale"]) - float(t)) <= 1e-12, f"step {step + 1}"
        if step == 2:
            twin = cls({"scale": params["scale"].copy()}, decay_filter=everything, **kw)
            twin.load_state_dict(opt.state_dict())
    assert params["scale"].shape == () and np.array_equal(twin.params["scale"], params["scale"])


def test_custom_decay_filter_matches_torch_single_group():
    rng = np.random.default_rng(7)
    params = make_params(rng)
    tparams = [torch.tensor(a.copy()) for a in params.values()]
    opt = SGD(params, lr=0.1, weight_decay=0.2, decay_filter=lambda name, arr: True)
    topt = torch.optim.SGD(tparams, lr=0.1, weight_decay=0.2)
    assert all(opt.decays.values())
    for _ in range(4):
        grads = {n: rng.normal(size=a.shape) for n, a in params.items()}
        opt.step(grads)
        for t, g in zip(tparams, grads.values()):
            t.grad = torch.tensor(g)
        topt.step()
    assert_close(params, dict(zip(params, (t.numpy() for t in tparams))), 1e-12, "decay everything")


def test_default_decay_skips_biases():
    rng = np.random.default_rng(3)
    params = make_params(rng)
    before = {n: a.copy() for n, a in params.items()}
    opt = SGD(params, lr=0.5, weight_decay=0.1)
    opt.step({n: np.zeros_like(a) for n, a in params.items()})
    for name, arr in params.items():
        if arr.ndim >= 2:
            np.testing.assert_allclose(arr, before[name] * (1 - 0.05), rtol=1e-14, err_msg=name)
        else:
            assert np.array_equal(arr, before[name]), f"{name} was decayed"


@pytest.mark.parametrize("cls, torch_name, kw", CASES, ids=IDS)
def test_state_dict_round_trip_continues_identically(cls, torch_name, kw, tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(99)
    params = make_params(rng)
    grads = make_grads(rng, 8)
    opt = cls(params, **kw)
    for g in grads[:5]:
        opt.step(g)
    sd = opt.state_dict()
    # through the formats a checkpoint uses: safetensors for arrays, JSON for meta
    path = tmp_path / "opt.safetensors"
    safetensors_numpy.save_file(sd["arrays"], str(path))
    restored = {"arrays": safetensors_numpy.load_file(str(path)), "meta": json.loads(json.dumps(sd["meta"]))}
    params2 = {n: a.copy() for n, a in params.items()}
    opt2 = cls(params2, **{**kw, "lr": 123.0})
    opt2.load_state_dict(restored)
    assert opt2.lr == opt.lr
    for g in grads[5:]:
        opt.step(g)
        opt2.step(g)
    for name in params:
        diff = float(np.max(np.abs(params[name] - params2[name])))
        assert np.array_equal(params[name], params2[name]), f"{name} differs after reload by {diff:.3g}"


@pytest.mark.parametrize("cls, torch_name, kw", CASES, ids=IDS)
def test_float32_stays_float32_and_tracks_float64(cls, torch_name, kw):
    rng = np.random.default_rng(5)
    p64 = make_params(rng)
    p32 = {n: a.astype(np.float32) for n, a in p64.items()}
    p64 = {n: a.astype(np.float64) for n, a in p32.items()}
    ids = {n: id(a) for n, a in p32.items()}
    opt32 = cls(p32, **kw)
    opt64 = cls(p64, **kw)
    for grads in make_grads(rng, 5):
        opt32.step({n: g.astype(np.float32) for n, g in grads.items()})
        opt64.step(grads)
    for name, arr in p32.items():
        in_place = id(arr) == ids[name] and opt32.params[name] is arr
        assert in_place, f"{name} was replaced, not updated in place"
        assert arr.dtype == np.float32, f"{name} became {arr.dtype}"
        for key, buf in opt32.state[name].items():
            assert buf.dtype == np.float32, f"{key}.{name} is {buf.dtype}"
        diff = float(np.max(np.abs(arr - p64[name])))
        assert diff < 1e-4, f"{name}: float32 run drifts from float64 by {diff:.3g}"


def test_step_does_not_modify_the_gradients():
    rng = np.random.default_rng(0)
    params = make_params(rng)
    grads = make_grads(rng, 1)[0]
    saved = {n: g.copy() for n, g in grads.items()}
    opt = SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1)
    opt.step(grads)
    opt.step(grads)
    for name in grads:
        assert np.array_equal(grads[name], saved[name]), f"grads[{name!r}] was modified"


def test_step_rejects_bad_gradients_before_updating():
    rng = np.random.default_rng(0)
    params = make_params(rng)
    before = {n: a.copy() for n, a in params.items()}
    opt = Adam(params, lr=0.1)
    with pytest.raises(ValueError, match="unknown name"):
        opt.step({"decoder.weight": np.ones((7, 2)), "decoder.wieght": np.ones((7, 2))})
    with pytest.raises(ValueError, match=r"grads\['rnn.bias_ih_l0'\] of shape \(8,\), got \(3,\)"):
        opt.step({"encoder.weight": np.ones((7, 3)), "rnn.bias_ih_l0": np.ones(3)})
    with pytest.raises(TypeError, match="numpy array"):
        opt.step({"decoder.bias": [1.0] * 7})
    for name in params:
        assert np.array_equal(params[name], before[name]), f"{name} changed by a rejected step"
    assert opt.step_count == 0


@pytest.mark.parametrize("cls, kw, arg", [
    (SGD, {"lr": -0.1}, "lr"),
    (SGD, {"lr": float("nan")}, "lr"),
    (SGD, {"lr": 0.1, "momentum": -0.5}, "momentum"),
    (SGD, {"lr": 0.1, "nesterov": True}, "nesterov"),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "dampening": 0.1}, "nesterov"),
    (SGD, {"lr": 0.1, "weight_decay": -1e-4}, "weight_decay"),
    (Adagrad, {"lr_decay": -0.1}, "lr_decay"),
    (Adagrad, {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    (RMSprop, {"alpha": -0.1}, "alpha"),
    (RMSprop, {"eps": -1e-8}, "eps"),
    (Adadelta, {"rho": 1.5}, "rho"),
    (Adam, {"betas": (1.0, 0.999)}, r"betas\[0\]"),
    (Adam, {"betas": (0.9, -0.1)}, r"betas\[1\]"),
    (AdamW, {"eps": -1.0}, "eps"),
])
def test_bad_hyperparameters_raise(cls, kw, arg):
    params = make_params(np.random.default_rng(0))
    with pytest.raises(ValueError, match=arg):
        cls(params, **kw)


def test_bad_types_and_lr_setter():
    params = make_params(np.random.default_rng(0))
    with pytest.raises(TypeError, match="amsgrad"):
        Adam(params, amsgrad="yes")
    with pytest.raises(TypeError, match="lr"):
        SGD(params, lr="0.1")
    opt = SGD(params, lr=0.1)
    opt.lr = 0.05
    assert opt.lr == 0.05
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0


def test_bad_params_raise():
    with pytest.raises(ValueError, match="empty"):
        SGD({}, lr=0.1)
    with pytest.raises(TypeError, match="numpy array"):
        SGD({"w": [[1.0]]}, lr=0.1)
    with pytest.raises(TypeError, match="float32 or float64"):
        SGD({"w": np.ones((2, 2), dtype=np.int64)}, lr=0.1)
    shared = np.ones((2, 2))
    with pytest.raises(ValueError, match="same array"):
        SGD({"a": shared, "b": shared}, lr=0.1)
    buf = np.zeros(4)
    with pytest.raises(ValueError, match="'a' and 'b' overlapping"):  # views sharing entries
        SGD({"a": buf[:3], "b": buf[1:]}, lr=0.1)
    SGD({"a": buf[:2], "b": buf[2:]}, lr=0.1)  # disjoint views of one buffer are fine
    with pytest.raises(TypeError, match="float32 or float64"):  # float16: Adam's eps underflows, 0/0 = NaN
        Adam({"w": np.ones(3, np.float16)})


def test_load_state_dict_rejects_mismatches():
    rng = np.random.default_rng(0)
    params = make_params(rng)
    adam = Adam(params, lr=0.01, amsgrad=True)
    adam.step(make_grads(rng, 1)[0])
    sd = adam.state_dict()
    with pytest.raises(ValueError, match="saved by Adam"):
        SGD(params, lr=0.1).load_state_dict(sd)
    fresh = Adam({n: a.copy() for n, a in params.items()})
    bad_key = {"arrays": {**sd["arrays"], "exp_avg.nope": np.ones(2)}, "meta": sd["meta"]}
    with pytest.raises(ValueError, match="exp_avg.nope"):
        fresh.load_state_dict(bad_key)
    bad_shape = {"arrays": {**sd["arrays"], "exp_avg.decoder.bias": np.ones(3)}, "meta": sd["meta"]}
    with pytest.raises(ValueError, match=r"shape \(7,\)"):
        fresh.load_state_dict(bad_shape)
    kept = {k: v for k, v in sd["arrays"].items() if not k.startswith("max_")}
    missing = {"arrays": kept, "meta": sd["meta"]}
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        fresh.load_state_dict(missing)
    bad_hyper = {"arrays": sd["arrays"], "meta": {**sd["meta"], "hyperparameters": {"lr": 0.1}}}
    with pytest.raises(ValueError, match="hyperparameters"):
        fresh.load_state_dict(bad_hyper)
    with pytest.raises(ValueError, match="decay_filter"):
        Adam(params, decay_filter=lambda n, a: True).load_state_dict(sd)
    with pytest.raises(ValueError, match="'arrays', 'meta'"):
        fresh.load_state_dict({"state": {}})
    # a failed load leaves the optimizer as it was
    assert fresh.lr == 1e-3 and fresh.amsgrad is False and fresh.step_count == 0


def test_make_optimizer():
    params = make_params(np.random.default_rng(0))
    for name, cls in [("sgd", SGD), ("Adam", Adam), ("adamw", AdamW), ("RMSprop", RMSprop),
                      ("adagrad", Adagrad), ("adadelta", Adadelta)]:
        opt = make_optimizer(name, params, lr=0.5)
        assert type(opt) is cls and opt.lr == 0.5
    with pytest.raises(ValueError, match=r"adam.*sgd.*got 'adamax'"):
        make_optimizer("adamax", params)
