"""Optimizers, gradient clipping and learning-rate schedules over flat dicts of numpy arrays.

    opt = make_optimizer("adam", model.params, lr=1e-3)
    grads = ...                                  # dict keyed like model.params
    norm = clip_grad_norm(grads, max_norm=5.0)   # rescales grads in place
    opt.step(grads)                              # updates model.params in place

or, the same step with the clipping folded into plain SGD's learning rate (one pass fewer)::

    opt.step(grads, grad_scale=clip_coefficient(grad_norm(grads), max_norm=5.0))

Schedules set ``opt.lr``: once an epoch (StepLR, ExponentialLR, DecayAfter, HalveOnPlateau) or after
every step (LinearLR, CosineAnnealingLR, LambdaLR, LinearWarmup, schedule_with_warmup).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnkit.optim.adadelta import Adadelta
from rnnkit.optim.adagrad import Adagrad
from rnnkit.optim.adam import Adam, AdamW
from rnnkit.optim.average import ParameterAverage
from rnnkit.optim.base import Optimizer, matrices_only
from rnnkit.optim.clip import clip_coefficient, clip_grad_norm, clip_grad_value, grad_norm
from rnnkit.optim.rmsprop import RMSprop
from rnnkit.optim.schedules import DecayAfter, ExponentialLR, HalveOnPlateau, StepLR
from rnnkit.optim.sgd import SGD
from rnnkit.optim.step_schedules import CosineAnnealingLR, LambdaLR, LinearLR, LinearWarmup, schedule_with_warmup

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adadelta": Adadelta,
    "adam": Adam,
    "adamw": AdamW,
}


def make_optimizer(name: str, params: Mapping[str, np.ndarray], **kw: Any) -> Optimizer:
    """Build an optimizer by name (case-insensitive): ``make_optimizer("adamw", params, lr=3e-4)``."""
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"Expected optimizer name one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name.lower()](params, **kw)


__all__ = [
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "DecayAfter",
    "ExponentialLR",
    "HalveOnPlateau",
    "LambdaLR",
    "LinearLR",
    "LinearWarmup",
    "OPTIMIZERS",
    "Optimizer",
    "ParameterAverage",
    "RMSprop",
    "SGD",
    "StepLR",
    "clip_coefficient",
    "clip_grad_norm",
    "clip_grad_value",
    "grad_norm",
    "make_optimizer",
    "matrices_only",
    "schedule_with_warmup",
]
