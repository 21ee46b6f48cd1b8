r"""Learning-rate schedules that set ``optimizer.lr`` after every optimizer step: warmup, cosine, linear.

Step convention, torch.optim.lr_scheduler's for per-iteration schedules: the constructor sets the rate
of the first step, and ``step()`` after every optimizer step sets the rate of the next one::

    opt = Adam(params, lr=3e-4)
    sched = LinearWarmup(opt, 100, after=CosineAnnealingLR(opt, T_max=900))  # 1,000 steps in all
    for batch in batches:
        opt.step(grads_of(batch))                # uses opt.lr
        sched.step()

``sched.step_count`` is the number of ``step()`` calls (torch's ``last_epoch``), 0 after construction, so
optimizer step :math:`n` (from 1) trains with ``lr_at(n - 1)``.  The base rate :math:`\eta_0` is
``optimizer.lr`` at construction.  Every rate is a closed form of ``step_count``, so ``state_dict()`` is a
small JSON-serialisable dict and ``load_state_dict`` sets ``optimizer.lr`` for the restored step.
:class:`LambdaLR` saves only its counter and base rate: its function is code, which JSON cannot hold,
so it is restored into a schedule built with the same function.

Linear decay to 0 is ``LinearLR(opt, 1.0, 0.0, total_iters=N)``; :func:`schedule_with_warmup` builds
transformers' ``get_{constant,linear,cosine}_schedule_with_warmup``, which the training loop's
``--schedule none|linear|cosine --warmup-steps W`` use.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from rnnkit.optim.base import check_number
from rnnkit.optim.schedules import _check_count, _Schedule


class _PerStep(_Schedule):
    """A schedule whose rate is a function of the completed steps alone: ``lr_at(step_count)``."""

    fields: tuple[str, ...] = ("step_count", "base_lr")
    counter = "step_count"
    per_step = True

    def lr_at(self, step: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """After an optimizer step: count it and set the rate for the next one."""
        self.step_count += 1
        self.optimizer.lr = self.lr_at(self.step_count)

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Restore from ``state_dict()`` (another schedule class's dict raises ValueError), then set
        ``optimizer.lr`` to the rate of the restored step."""
        super().load_state_dict(sd)
        self.optimizer.lr = self.lr_at(self.step_count)


class LinearLR(_PerStep):
    r"""Multiply the rate by a factor that moves linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then stays; as torch.optim.lr_scheduler.LinearLR.

    .. math:: \eta_n = \eta_0 \left(s + (e - s) \frac{\min(n, N)}{N}\right)

    with :math:`n` = ``step_count``, :math:`N` = ``total_iters``.  ``LinearLR(opt, 1.0, 0.0, N)`` is linear
    decay to 0 over N steps.
    """

    fields = ("step_count", "base_lr", "start_factor", "end_factor", "total_iters")

    def __init__(self, optimizer: Any, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        super().__init__(optimizer)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        self._check()
        self.optimizer.lr = self.lr_at(0)

    def _check(self) -> None:
        super()._check()
        # torch's ranges: a start of 0 would make step 1 a step of nothing
        self.start_factor = check_number("start_factor", self.start_factor, low=0.0, high=1.0, low_open=True)
        self.end_factor = check_number("end_factor", self.end_factor, low=0.0, high=1.0)
        self.total_iters = _check_count("total_iters", self.total_iters, 1)

    def lr_at(self, step: int) -> float:
        """lr(n) = lr_0 * (start + (end - start) * min(n, total_iters) / total_iters)."""
        frac = min(step, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


class CosineAnnealingLR(_PerStep):
    r"""Cosine annealing from the base rate to ``eta_min`` over ``T_max`` steps, as
    torch.optim.lr_scheduler.CosineAnnealingLR (no restarts).

    .. math:: \eta_n = \eta_{min} + (\eta_0 - \eta_{min}) \frac{1 + \cos(\pi n / T_{max})}{2}

    The rate reaches ``eta_min`` at :math:`n = T_{max}`; beyond it the cosine goes on (rising again), as
    torch's does.  The training loop stops stepping its schedule there.
    """

    fields = ("step_count", "base_lr", "T_max", "eta_min")

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 (torch's name)
        super().__init__(optimizer)
        self.T_max = T_max
        self.eta_min = eta_min
        self._check()
        self.optimizer.lr = self.lr_at(0)

    def _check(self) -> None:
        super()._check()
        self.T_max = _check_count("T_max", self.T_max, 1)
        self.eta_min = check_number("eta_min", self.eta_min, low=0.0)

    def lr_at(self, step: int) -> float:
        """lr(n) = eta_min + (lr_0 - eta_min) * (1 + cos(pi n / T_max)) / 2."""
        return self.eta_min + (self.base_lr - self.eta_min) * (1.0 + math.cos(math.pi * step / self.T_max)) / 2.0


class LambdaLR(_PerStep):
    r"""The base rate times ``lr_lambda(step_count)``, as torch.optim.lr_scheduler.LambdaLR (one group).

    .. math:: \eta_n = \eta_0 \cdot \text{lr\_lambda}(n)

    ``lr_lambda`` must be a function of the step alone.  ``state_dict()`` holds the counter and the base
    rate, not the function: restore it into a LambdaLR built with the same function.
    """

    def __init__(self, optimizer: Any, lr_lambda: Callable[[int], float]) -> None:
        super().__init__(optimizer)
        if not callable(lr_lambda):
            raise TypeError(f"Expected lr_lambda to be a function of the step, got {type(lr_lambda).__name__}")
        self.lr_lambda = lr_lambda
        self._check()
        self.optimizer.lr = self.lr_at(0)

    def lr_at(self, step: int) -> float:
        """lr(n) = lr_0 * lr_lambda(n)."""
        return self.base_lr * check_number(f"lr_lambda({step})", self.lr_lambda(step), low=0.0)


class LinearWarmup(_PerStep):
    r"""Warm the rate up linearly from 0 over ``warmup_steps`` steps, then run ``after`` (a per-step
    schedule over the same optimizer, whose step 0 is the end of the warmup), or keep the base rate.

    .. math:: \eta_n = \eta_0 \frac{n}{W} \quad (n < W), \qquad \eta_n = \text{after}(n - W) \quad (n \ge W)

    the warmup of transformers' ``get_*_schedule_with_warmup`` (the first step at rate 0), and of
    torch's ``SequentialLR([LambdaLR(opt, lambda n: n / W), after], milestones=[W])``.  Build ``after``
    first (its base rate is the optimizer's rate then, which this takes as its own) and step only the
    warmup: it keeps ``after.step_count`` at :math:`\max(0, n - W)`.  ``state_dict()`` nests ``after``'s.
    """

    fields = ("step_count", "base_lr", "warmup_steps")

    def __init__(self, optimizer: Any, warmup_steps: int, after: _PerStep | None = None) -> None:
        super().__init__(optimizer)
        if after is not None:
            if not isinstance(after, _PerStep):
                raise TypeError(f"Expected after to be a per-step schedule (LinearLR, CosineAnnealingLR, LambdaLR, "
                                f"LinearWarmup) or None, got {type(after).__name__}")
            if after.optimizer is not optimizer:
                raise ValueError("Expected after to schedule the same optimizer as the warmup, got another one")
            self.base_lr = after.base_lr  # after set optimizer.lr to its own step-0 rate, not the base
        self.after = after
        self.warmup_steps = warmup_steps
        self._check()
        self.optimizer.lr = self.lr_at(0)

    def _check(self) -> None:
        super()._check()
        self.warmup_steps = _check_count("warmup_steps", self.warmup_steps, 0)

    def lr_at(self, step: int) -> float:
        """lr(n) = lr_0 * n / W while n < W, then after.lr_at(n - W) (lr_0 without ``after``)."""
        if step < self.warmup_steps:
            return self.base_lr * (step / self.warmup_steps)
        return self.base_lr if self.after is None else self.after.lr_at(step - self.warmup_steps)

    def step(self) -> None:
        """After an optimizer step: count it (and ``after``'s steps once the warmup is over), set the next rate."""
        if self.after is not None:
            self.after.step_count = max(0, self.step_count + 1 - self.warmup_steps)
        super().step()

    def state_dict(self) -> dict[str, Any]:
        """The warmup's counter and settings, with ``after``'s state_dict (or None) under ``"after"``."""
        out = super().state_dict()
        out["after"] = None if self.after is None else self.after.state_dict()
        return out

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Restore the warmup and ``after`` (both or neither changed), then set the restored step's rate."""
        if not isinstance(sd, Mapping) or sd.get("class") != type(self).__name__ or "after" not in sd:
            got = sd.get("class") if isinstance(sd, Mapping) else type(sd).__name__
            raise ValueError(f"Expected a state_dict saved by {type(self).__name__}, got one from {got}")
        nested = sd["after"]
        if (nested is None) != (self.after is None):
            raise ValueError(f"Expected a state_dict of a warmup {'without' if self.after is None else 'with'} a "
                             f"schedule after it, got one {'without' if nested is None else 'with'}")
        own = {k: v for k, v in sd.items() if k != "after"}
        if self.after is None:
            super().load_state_dict(own)
            return
        before = self.after.state_dict()
        self.after.load_state_dict(nested)
        try:
            super().load_state_dict(own)
        except (TypeError, ValueError):
            self.after.load_state_dict(before)
            raise


def schedule_with_warmup(optimizer: Any, kind: str, warmup_steps: int, total_steps: int,
                         eta_min: float = 0.0) -> LinearWarmup:
    """Linear warmup over ``warmup_steps``, then ``kind`` until ``total_steps``: "constant" (the base
    rate), "linear" (decay to 0) or "cosine" (annealing to ``eta_min``): transformers'
    ``get_constant_schedule_with_warmup``, ``get_linear_schedule_with_warmup`` and
    ``get_cosine_schedule_with_warmup`` (``eta_min`` 0) up to ``total_steps``."""
    warmup_steps = _check_count("warmup_steps", warmup_steps, 0)
    total_steps = _check_count("total_steps", total_steps, 1)
    if kind not in ("constant", "linear", "cosine"):
        raise ValueError(f"Expected kind 'constant', 'linear' or 'cosine', got {kind!r}")
    if kind != "constant" and warmup_steps >= total_steps:
        raise ValueError(f"Expected warmup_steps below total_steps (the {kind} decay needs a step), "
                         f"got {warmup_steps} >= {total_steps}")
    after: _PerStep | None = None
    if kind == "linear":
        after = LinearLR(optimizer, 1.0, 0.0, total_steps - warmup_steps)
    elif kind == "cosine":
        after = CosineAnnealingLR(optimizer, total_steps - warmup_steps, eta_min)
    return LinearWarmup(optimizer, warmup_steps, after)
