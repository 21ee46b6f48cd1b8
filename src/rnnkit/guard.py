"""Divergence detection: a NaN or inf loss or gradient is named, with its step, as soon as it appears."""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from rnnkit.errors import TrainingDivergedError


def divergence_hint(lr: float | None = None, clip: float | None = None) -> str:
    """The usual cures, for the settings in use: a lower learning rate, and clipping (harder, if on)."""
    lower = f"lower the learning rate (--lr {lr:g} now, e.g. --lr {lr / 10:g})" if lr else "lower the learning rate"
    if clip:
        return f"{lower}, or clip gradients harder (--clip {clip:g} now, e.g. --clip {clip / 5:g})"
    return f"{lower}, or clip gradients (e.g. --clip 5)"


def check_finite(step: int, loss: float, grads: Mapping[str, np.ndarray] | None = None,
                 explode_threshold: float | None = None, hint: str | None = None) -> None:
    """Raise :class:`TrainingDivergedError` if the loss or any gradient is NaN/inf (or the loss explodes).

    ``explode_threshold``: also fail when the loss exceeds it (e.g. 10x the initial loss), which
    catches a run that blows up before it overflows.  The message names the step and the first
    offending gradient, and suggests the usual cures (``hint``; default :func:`divergence_hint`).
    """
    hint = hint or divergence_hint()
    if not math.isfinite(loss):
        raise TrainingDivergedError(f"loss became {loss} at step {step}: {hint}")
    if explode_threshold is not None and loss > explode_threshold:
        raise TrainingDivergedError(
            f"loss exploded to {loss:.4g} at step {step} (threshold {explode_threshold:.4g}): {hint}"
        )
    if grads is None:
        return
    for name, g in grads.items():
        g = getattr(g, "values", g)  # a RowSparseGrad's numbers
        # one reduction per array: a sum is NaN/inf iff some element is (or it overflows, which is
        # just as fatal), and costs far less than np.isfinite(g).all() on big arrays
        total = float(np.sum(g, dtype=np.float64))
        if not math.isfinite(total):
            kind = "NaN" if np.isnan(g).any() else "inf"
            raise TrainingDivergedError(f"gradient of {name} has {kind} values at step {step}: {hint}")


def check_weights(step: int, params: Mapping[str, np.ndarray], hint: str | None = None) -> None:
    """Raise :class:`TrainingDivergedError` when a parameter holds NaN or inf: an update so large that
    it overflowed (a learning rate of 1e39), which the next step's loss or a layer's input check would
    otherwise meet first.  One float64 sum per array, as :func:`check_finite` does."""
    for name, p in params.items():
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(np.sum(p, dtype=np.float64))
        if not math.isfinite(total):
            raise TrainingDivergedError(f"the weights ({name}) became NaN or inf in the update of step {step}, "
                                        f"and no checkpoint of them is written: {hint or divergence_hint()}")
