"""Gradient clipping against torch.nn.utils, and learning-rate schedules."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rnnkit.optim import (SGD, DecayAfter, ExponentialLR, HalveOnPlateau, StepLR, clip_grad_norm,
                          clip_grad_value)

torch = pytest.importorskip("torch")

SHAPES = {"rnn.weight_ih_l0": (8, 3), "rnn.weight_hh_l0": (8, 2), "rnn.bias_ih_l0": (8,),
          "decoder.bias": (5,)}


def make_grads(rng: np.random.Generator, scale: float, dtype=np.float64) -> dict[str, np.ndarray]:
    return {n: (scale * rng.normal(size=s)).astype(dtype) for n, s in SHAPES.items()}


def assert_close(ours: dict, ref: dict, atol: float) -> None:
    for name in ref:
        diff = float(np.max(np.abs(ours[name] - ref[name])))
        assert diff <= atol, f"{name} differs from torch by max {diff:.3g}"


# ---------------------------------------------------------------- clipping

@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])  # clips / leaves alone
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(11)
    grads = make_grads(rng, 2.0)
    tgrads = [torch.tensor(g.copy()) for g in grads.values()]
    before = {n: g.copy() for n, g in grads.items()}
    total = clip_grad_norm(grads, max_norm, norm_type)
    tparams = [torch.zeros_like(t, requires_grad=True) for t in tgrads]
    for p, g in zip(tparams, tgrads):
        p.grad = g
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type)
    assert isinstance(total, float)
    assert abs(total - float(ttotal)) <= 1e-12 * float(ttotal), f"total norm {total} vs torch {float(ttotal)}"
    assert_close(grads, {n: p.grad.numpy() for n, p in zip(grads, tparams)}, 1e-12)
    if max_norm > total:
        assert all(np.array_equal(grads[n], before[n]) for n in grads), "clipped below max_norm"
    else:
        after = clip_grad_norm(grads, 1e9, norm_type)
        assert after <= max_norm, f"norm after clipping {after} > {max_norm}"


def test_clip_grad_norm_non_finite_returns_without_touching():
    rng = np.random.default_rng(2)
    for bad in (np.nan, np.inf):
        grads = make_grads(rng, 1.0)
        grads["rnn.bias_ih_l0"][3] = bad
        before = {n: g.copy() for n, g in grads.items()}
        total = clip_grad_norm(grads, 1.0)
        assert not math.isfinite(total), f"got {total} for a gradient holding {bad}"
        for name in grads:
            np.testing.assert_array_equal(grads[name], before[name], err_msg=name)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf])
def test_a_huge_but_finite_norm_is_finite_and_quiet(norm_type):
    """Squares beyond the dtype's range (float32 gradients of 1e30, float64 of 1e200) still give the finite
    norm, with no 'overflow encountered' warning; float64 [1e200] * 4 used to give inf, so no clipping."""
    import warnings

    for dtype, big in ((np.float32, 1e30), (np.float64, 1e200)):
        grads = {"a": np.full(4, big, dtype), "b": np.full(3, big, dtype)}
        want = big * 7 ** (1 / norm_type) if norm_type != math.inf else big
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            total = clip_grad_norm(grads, 1.0, norm_type)
        assert total == pytest.approx(want, rel=1e-6), (dtype, total, want)
        assert math.isfinite(total) and clip_grad_norm(grads, 1e9, norm_type) == pytest.approx(1.0, rel=1e-5)


def test_clip_float32_stays_float32_in_place():
    rng = np.random.default_rng(4)
    grads = make_grads(rng, 3.0, np.float32)
    ids = {n: id(g) for n, g in grads.items()}
    total = clip_grad_norm(grads, 1.0)
    assert total > 1.0
    clip_grad_value(grads, 0.1)
    for name, g in grads.items():
        assert g.dtype == np.float32 and id(g) == ids[name], f"{name} replaced or recast to {g.dtype}"
    assert max(float(np.abs(g).max()) for g in grads.values()) <= np.float32(0.1)


def test_clip_grad_value_matches_torch():
    rng = np.random.default_rng(6)
    grads = make_grads(rng, 1.0)
    tparams = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES.values()]
    for p, g in zip(tparams, grads.values()):
        p.grad = torch.tensor(g.copy())
    clip_grad_value(grads, 0.7)
    torch.nn.utils.clip_grad_value_(tparams, 0.7)
    assert_close(grads, {n: p.grad.numpy() for n, p in zip(grads, tparams)}, 0.0)
    assert any(np.any(np.abs(g) == 0.7) for g in grads.values()), "nothing was clipped: weak test"


def test_clip_bad_arguments():
    grads = make_grads(np.random.default_rng(0), 1.0)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(grads, -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm(grads, 1.0, norm_type=0.0)
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value(grads, 0.0)
    with pytest.raises(TypeError, match="grads"):
        clip_grad_norm([np.ones(3)], 1.0)
    with pytest.raises(TypeError, match=r"grads\['x'\]"):
        clip_grad_value({"x": np.ones(3, dtype=np.int32)}, 1.0)


# ---------------------------------------------------------------- schedules

def make_opt(lr: float) -> SGD:
    return SGD({"w": np.ones((2, 2))}, lr=lr)


def lr_sequence(opt, sched, epochs: int, metrics=None) -> list[float]:
    """The rate used in each epoch: read before training, step after."""
    lrs = []
    for epoch in range(epochs):
        lrs.append(opt.lr)
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[epoch])
    return lrs


def torch_lr_sequence(make_sched, lr: float, epochs: int, metrics=None) -> list[float]:
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make_sched(topt)
    lrs = []
    for epoch in range(epochs):
        lrs.append(topt.param_groups[0]["lr"])
        topt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[epoch])
    return lrs


@pytest.mark.parametrize("ours, theirs", [
    (lambda o: StepLR(o, step_size=3, gamma=0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
    (lambda o: StepLR(o, step_size=1, gamma=0.9), lambda o: torch.optim.lr_scheduler.StepLR(o, 1, 0.9)),
    (lambda o: ExponentialLR(o, gamma=0.8), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.8)),
], ids=["step3", "step1", "exponential"])
def test_closed_form_schedules_match_torch(ours, theirs):
    opt = make_opt(0.3)
    got = lr_sequence(opt, ours(opt), 20)
    want = torch_lr_sequence(theirs, 0.3, 20)
    np.testing.assert_allclose(got, want, rtol=1e-12, err_msg="lr sequence")
    assert len(set(got)) > 3


def test_decay_after_follows_zarembas_recipe():
    opt = make_opt(1.0)
    sched = DecayAfter(opt, start_epoch=4, gamma=0.5)
    for epoch in range(1, 14):  # epochs numbered from 1, as in the paper
        expected = 1.0 if epoch <= 4 else 0.5 ** (epoch - 4)
        assert opt.lr == pytest.approx(expected, rel=1e-15), f"epoch {epoch}: lr {opt.lr}, want {expected}"
        assert sched.epoch == epoch - 1
        sched.step()


def test_decay_after_from_epoch_one_and_its_resume():
    """start_epoch=0: epoch 1 already trains with lr_0 gamma (it used to train with lr_0, and a run resumed
    in epoch 1 with lr_0 gamma, so a resumed run differed from an uninterrupted one)."""
    opt = make_opt(1.0)
    sched = DecayAfter(opt, start_epoch=0, gamma=0.5)
    used = []
    for _ in range(4):
        used.append(opt.lr)
        sched.step()
    assert used == [0.5, 0.25, 0.125, 0.0625]
    opt2 = make_opt(1.0)
    fresh = DecayAfter(opt2, start_epoch=0, gamma=0.5)
    before = opt2.lr
    fresh.load_state_dict(json.loads(json.dumps(fresh.state_dict())))
    assert opt2.lr == before == 0.5 and fresh.base_lr == 1.0


def test_halve_on_plateau_never_raises_the_rate():
    opt = make_opt(0.001)
    sched = HalveOnPlateau(opt, min_lr=0.01)  # the floor above the rate: torch keeps the rate, and so do we
    for loss in (3.0, 4.0, 5.0):
        sched.step(loss)
    assert opt.lr == 0.001 and sched.num_decays == 0
    opt = make_opt(0.04)
    sched = HalveOnPlateau(opt, min_lr=0.015)
    for loss in (3.0, 4.0, 5.0, 6.0):
        sched.step(loss)
    assert opt.lr == 0.015 and sched.num_decays == 2  # 0.04 -> 0.02 -> 0.015, then no cut counted


def test_halve_on_plateau_hand_made_losses():
    opt = make_opt(1.0)
    sched = HalveOnPlateau(opt, factor=0.5, threshold=0.01)
    # improves on the best by > 1%? yes, yes, no (0.1%), yes (1.06% below the best 8.0, though only
    # 0.94% below 7.99: `best` only moves on a real improvement), no (worse), yes, no (equal), yes
    losses = [10.0, 8.0, 7.99, 7.915, 8.5, 5.0, 5.0, 4.0]
    halved_after = {3, 5, 7}  # 1-based epochs whose loss did not improve enough
    lr = 1.0
    for epoch, loss in enumerate(losses, start=1):
        sched.step(loss)
        if epoch in halved_after:
            lr *= 0.5
        assert opt.lr == lr, f"after epoch {epoch} (loss {loss}): lr {opt.lr}, want {lr}"
    assert sched.best == 4.0 and sched.num_decays == 3 and sched.num_bad_epochs == 0


def test_halve_on_plateau_patience_min_lr_and_bad_epochs():
    opt = make_opt(0.1)
    sched = HalveOnPlateau(opt, factor=0.1, patience=2, min_lr=0.005)
    sched.step(5.0)
    seen = []
    for loss in [5.0, 6.0, 5.5, 5.2, 7.0, 8.0, float("nan")]:
        sched.step(loss)
        seen.append((sched.num_bad_epochs, opt.lr))
    # three bad epochs in a row cut the rate (to 0.01), three more hit the floor 0.005
    assert [b for b, _ in seen] == [1, 2, 0, 1, 2, 0, 1]
    assert [lr for _, lr in seen][:2] == [0.1, 0.1]
    assert seen[2][1] == pytest.approx(0.01) and seen[5][1] == 0.005 and seen[6][1] == 0.005
    assert sched.best == 5.0


def test_halve_on_plateau_matches_torch_for_positive_losses():
    rng = np.random.default_rng(8)
    losses = list(np.cumsum(rng.normal(-0.05, 0.2, size=30)) + 10.0)
    opt = make_opt(1.0)
    got = lr_sequence(opt, HalveOnPlateau(opt, factor=0.5, patience=1, threshold=0.01), 30, losses)
    want = torch_lr_sequence(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
        o, mode="min", factor=0.5, patience=1, threshold=0.01, threshold_mode="rel"), 1.0, 30, losses)
    np.testing.assert_allclose(got, want, rtol=1e-15, err_msg="lr sequence")
    assert got[-1] < 1.0, "never decayed: weak test"


def test_halve_on_plateau_max_mode_with_negative_log_likelihood():
    opt = make_opt(0.2)
    sched = HalveOnPlateau(opt, mode="max", threshold=0.003)
    sched.step(-500.0)
    sched.step(-450.0)  # up by 10%: improvement
    assert opt.lr == 0.2 and sched.best == -450.0
    sched.step(-449.5)  # up by 0.1% < 0.3%: halve
    assert opt.lr == 0.1 and sched.num_decays == 1 and sched.best == -450.0


@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, step_size=2, gamma=0.5),
    lambda o: ExponentialLR(o, gamma=0.9),
    lambda o: DecayAfter(o, start_epoch=2, gamma=0.5),
    lambda o: HalveOnPlateau(o, patience=1, threshold=0.01),
], ids=["step", "exponential", "decay_after", "plateau"])
def test_schedule_state_dict_round_trip(make):
    losses = [5.0, 4.0, 4.0, 4.5, 3.0, 3.0, 3.0, 2.0]

    def step(sched, loss):
        if isinstance(sched, HalveOnPlateau):
            sched.step(loss)
        else:
            sched.step()

    opt = make_opt(1.0)
    sched = make(opt)
    for loss in losses[:4]:
        step(sched, loss)
    saved = json.loads(json.dumps(sched.state_dict(), allow_nan=False))
    opt2 = make_opt(opt.lr)
    sched2 = make(make_opt(7.0))
    sched2.optimizer = opt2
    sched2.load_state_dict(saved)
    for loss in losses[4:]:
        for s in (sched, sched2):
            step(s, loss)
        assert opt2.lr == opt.lr, f"lr after reload {opt2.lr} vs {opt.lr}"
    assert sched2.state_dict() == sched.state_dict()


def test_fresh_plateau_state_is_strict_json_and_reloads():
    opt = make_opt(1.0)
    sched = HalveOnPlateau(opt)
    text = json.dumps(sched.state_dict(), allow_nan=False)
    sched2 = HalveOnPlateau(make_opt(1.0))
    sched2.load_state_dict(json.loads(text))
    assert sched2.best == math.inf


def test_schedule_bad_arguments():
    opt = make_opt(0.1)
    with pytest.raises(ValueError, match="step_size"):
        StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="gamma"):
        ExponentialLR(opt, gamma=-0.5)
    with pytest.raises(ValueError, match="start_epoch"):
        DecayAfter(opt, start_epoch=-1, gamma=0.5)
    with pytest.raises(ValueError, match="factor"):
        HalveOnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        HalveOnPlateau(opt, mode="median")
    with pytest.raises(ValueError, match="patience"):
        HalveOnPlateau(opt, patience=-1)
    with pytest.raises(TypeError, match="lr attribute"):
        StepLR(object(), step_size=1)
    with pytest.raises(TypeError):
        HalveOnPlateau(opt).step()
    with pytest.raises(TypeError, match="metric"):
        HalveOnPlateau(opt).step("low")
    with pytest.raises(ValueError, match="saved by StepLR"):
        StepLR(opt, step_size=2).load_state_dict(ExponentialLR(opt, gamma=0.5).state_dict())
