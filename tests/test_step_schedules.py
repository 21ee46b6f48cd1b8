"""Per-step learning-rate schedules (rnnkit.optim.step_schedules) against torch.optim.lr_scheduler and
transformers' warmup formulas, step by step past their boundaries; their state_dict round trips."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from rnnkit.optim import (SGD, CosineAnnealingLR, LambdaLR, LinearLR, LinearWarmup, StepLR,
                          schedule_with_warmup)


def _opt(lr: float = 0.1) -> SGD:
    return SGD({"w": np.zeros(3)}, lr=lr)


def _ours(sched, opt, steps: int) -> list[float]:
    """The rate of optimizer steps 1..steps (each read before the step, as the loop does)."""
    out = []
    for _ in range(steps):
        out.append(opt.lr)
        sched.step()
    return out


def _theirs(torch, make, lr: float, steps: int) -> list[float]:
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt, torch.optim.lr_scheduler)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's step(0) deprecation notice
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return out


CASES = {  # ours (opt) -> schedule, torch's (opt, lr_scheduler module) -> schedule
    "linear-warmup-factor": (lambda o: LinearLR(o, 0.1, 1.0, 5), lambda o, L: L.LinearLR(o, 0.1, 1.0, 5)),
    "linear-decay-to-0": (lambda o: LinearLR(o, 1.0, 0.0, 7), lambda o, L: L.LinearLR(o, 1.0, 0.0, 7)),
    "cosine-eta-min": (lambda o: CosineAnnealingLR(o, 10, 0.01), lambda o, L: L.CosineAnnealingLR(o, 10, 0.01)),
    "cosine-to-0": (lambda o: CosineAnnealingLR(o, 7), lambda o, L: L.CosineAnnealingLR(o, 7)),
    "lambda": (lambda o: LambdaLR(o, lambda n: 0.9**n / (1 + n % 3)),
               lambda o, L: L.LambdaLR(o, lambda n: 0.9**n / (1 + n % 3))),
    "warmup-then-cosine": (lambda o: LinearWarmup(o, 4, after=CosineAnnealingLR(o, 8, 0.01)),
                           lambda o, L: L.SequentialLR(o, [L.LambdaLR(o, lambda n: n / 4),
                                                           L.CosineAnnealingLR(o, 8, 0.01)], [4])),
    "warmup-then-linear": (lambda o: LinearWarmup(o, 3, after=LinearLR(o, 1.0, 0.0, 6)),
                           lambda o, L: L.SequentialLR(o, [L.LambdaLR(o, lambda n: n / 3),
                                                           L.LinearLR(o, 1.0, 0.0, 6)], [3])),
    # after's step-0 rate is not the base rate: the warmup still climbs to the base
    "warmup-then-linear-from-half": (lambda o: LinearWarmup(o, 2, after=LinearLR(o, 0.5, 1.0, 4)),
                                     lambda o, L: L.SequentialLR(o, [L.LambdaLR(o, lambda n: n / 2),
                                                                     L.LinearLR(o, 0.5, 1.0, 4)], [2])),
}


@pytest.mark.parametrize("name", list(CASES))
def test_per_step_schedules_match_torch_step_by_step(name):
    """25 steps: step 0, the warmup's end, T_max / total_iters and well beyond (cosine rises again, as torch's)."""
    torch = pytest.importorskip("torch")
    ours, theirs = CASES[name]
    opt = _opt(0.1)
    got = _ours(ours(opt), opt, 25)
    want = _theirs(torch, theirs, 0.1, 25)
    for n, (a, b) in enumerate(zip(got, want)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), f"{name}: rate of step {n + 1} {a}, torch's {b}"


def _transformers(kind: str, n: int, warmup: int, total: int) -> float:
    """transformers' get_{constant,linear,cosine}_schedule_with_warmup lr_lambda (num_cycles 0.5), copied."""
    if n < warmup:
        return float(n) / float(max(1, warmup))
    if kind == "constant":
        return 1.0
    progress = float(n - warmup) / float(max(1, total - warmup))
    if kind == "linear":
        return max(0.0, float(total - n) / float(max(1, total - warmup)))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


@pytest.mark.parametrize("kind", ["constant", "linear", "cosine"])
@pytest.mark.parametrize("warmup", [0, 1, 5])
def test_schedule_with_warmup_is_transformers_formula(kind, warmup):
    total = 20
    opt = _opt(0.3)
    got = _ours(schedule_with_warmup(opt, kind, warmup, total), opt, total + (5 if kind != "cosine" else 1))
    for n, lr in enumerate(got):
        assert lr == pytest.approx(0.3 * _transformers(kind, n, warmup, total), rel=1e-12, abs=1e-15), n


def test_the_boundaries_by_hand():
    """Step 0 of a warmup trains at 0, step W at the base rate, the last step of T just above the end."""
    opt = _opt(1.0)
    sched = schedule_with_warmup(opt, "linear", 4, 12)
    rates = _ours(sched, opt, 14)
    assert rates[:5] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert rates[11] == pytest.approx(1 / 8) and rates[12] == 0.0 and rates[13] == 0.0  # held at 0 past T
    opt = _opt(1.0)
    cos = CosineAnnealingLR(opt, 4, eta_min=0.2)
    assert _ours(cos, opt, 5) == pytest.approx([1.0, 0.2 + 0.8 * (1 + math.cos(math.pi / 4)) / 2, 0.6,
                                                0.2 + 0.8 * (1 + math.cos(3 * math.pi / 4)) / 2, 0.2])
    opt = _opt(0.5)
    LinearWarmup(opt, 0)
    assert opt.lr == 0.5  # no warmup, nothing after: the base rate
    opt = _opt(1.0)
    warm = LinearWarmup(opt, 3, after=LinearLR(opt, 0.5, 1.0, 2))
    assert _ours(warm, opt, 7) == [0.0, 1 / 3, 2 / 3, 0.5, 0.75, 1.0, 1.0]
    assert warm.after.step_count == 4  # the warmup keeps after's counter: max(0, 7 - 3)


def _resume_case(name):
    """A schedule (fresh, over a fresh optimizer) for the round trip; the lambda is rebuilt the same."""
    makers = {
        "LinearLR": lambda o: LinearLR(o, 0.2, 0.9, 6),
        "CosineAnnealingLR": lambda o: CosineAnnealingLR(o, 9, 0.001),
        "LambdaLR": lambda o: LambdaLR(o, lambda n: 1.0 / (1 + n)),
        "LinearWarmup": lambda o: schedule_with_warmup(o, "cosine", 3, 10),
        "LinearWarmup-alone": lambda o: LinearWarmup(o, 5),
    }
    return makers[name]


@pytest.mark.parametrize("name", ["LinearLR", "CosineAnnealingLR", "LambdaLR", "LinearWarmup", "LinearWarmup-alone"])
def test_state_dict_round_trip_mid_schedule(name):
    make = _resume_case(name)
    opt = _opt(0.1)
    sched = make(opt)
    for _ in range(4):  # mid-warmup for LinearWarmup-alone, past it for the cosine one
        sched.step()
    sd = json.loads(json.dumps(sched.state_dict()))  # strict JSON
    assert sd["step_count"] == 4
    opt2 = _opt(0.1)
    sched2 = make(opt2)
    sched2.load_state_dict(sd)
    assert opt2.lr == opt.lr, "load_state_dict sets the restored step's rate"
    assert _ours(sched2, opt2, 12) == _ours(sched, opt, 12)
    assert sched2.state_dict() == sched.state_dict()


def test_load_state_dict_refuses_what_does_not_fit_and_changes_nothing():
    opt = _opt(0.1)
    warm = schedule_with_warmup(opt, "linear", 2, 10)
    for _ in range(3):
        warm.step()
    before = warm.state_dict()
    other = schedule_with_warmup(_opt(0.1), "cosine", 2, 10).state_dict()  # a cosine after the warmup
    with pytest.raises(ValueError, match="saved by LinearLR, got one from CosineAnnealingLR"):
        warm.load_state_dict(other)
    with pytest.raises(ValueError, match="with a schedule after it, got one without"):
        warm.load_state_dict(LinearWarmup(_opt(0.1), 2).state_dict())
    bad = dict(before, warmup_steps=-1, after=dict(before["after"], step_count=7))  # after's part would load
    with pytest.raises(ValueError, match="warmup_steps >= 0"):
        warm.load_state_dict(bad)
    assert warm.state_dict() == before and opt.lr == warm.lr_at(3)
    with pytest.raises(ValueError, match="saved by CosineAnnealingLR, got one from StepLR"):
        CosineAnnealingLR(_opt(), 5).load_state_dict(StepLR(_opt(), 2).state_dict())


def test_bad_arguments_are_one_clear_error():
    opt = _opt()
    for call, error, said in (
            (lambda: CosineAnnealingLR(opt, 0), ValueError, "Expected T_max >= 1, got 0"),
            (lambda: CosineAnnealingLR(opt, 5, eta_min=-0.1), ValueError, "Expected eta_min >= 0"),
            (lambda: LinearLR(opt, 0.0, 1.0, 5), ValueError, "Expected start_factor > 0"),
            (lambda: LinearLR(opt, 0.5, 1.5, 5), ValueError, "Expected end_factor <= 1"),
            (lambda: LinearLR(opt, 0.5, 1.0, 2.5), TypeError, "Expected total_iters to be an int"),
            (lambda: LinearWarmup(opt, -1), ValueError, "Expected warmup_steps >= 0, got -1"),
            (lambda: LinearWarmup(opt, 3, after=StepLR(opt, 2)), TypeError, "Expected after to be a per-step"),
            (lambda: LinearWarmup(opt, 3, after=LinearLR(_opt(), 1.0, 0.0, 4)), ValueError, "the same optimizer"),
            (lambda: LambdaLR(opt, 0.5), TypeError, "Expected lr_lambda to be a function"),
            (lambda: LambdaLR(opt, lambda n: -1.0), ValueError, r"Expected lr_lambda\(0\) >= 0"),
            (lambda: schedule_with_warmup(opt, "cosine", 10, 10), ValueError, "warmup_steps below total_steps"),
            (lambda: schedule_with_warmup(opt, "poly", 1, 10), ValueError, "Expected kind 'constant'"),
            (lambda: schedule_with_warmup(opt, "linear", 1, 0), ValueError, "Expected total_steps >= 1")):
        with pytest.raises(error, match=said):
            call()
    assert schedule_with_warmup(_opt(), "constant", 10, 10).warmup_steps == 10  # constant: warmup to the end


def test_per_step_flag_tells_the_loop_when_to_step():
    opt = _opt()
    assert CosineAnnealingLR(opt, 3).per_step and LinearWarmup(opt, 1).per_step
    assert not StepLR(opt, 1).per_step
