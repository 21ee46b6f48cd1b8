"""Divergence detection: a NaN or inf loss or gradient is named, with its step, as soon as it appears;
an epoch whose training loss stays above what guessing uniformly scores is named too (:func:`above_uniform`)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rnnkit.checks import all_finite
from rnnkit.errors import TrainingDivergedError


def divergence_hint(lr: float | None = None, clip: float | None = None) -> str:
    """The usual cures, for the settings in use: a lower learning rate, and clipping (harder, if on)."""
    lower = f"lower the learning rate (lr, --lr: {lr:g} now, e.g. {lr / 10:g})" if lr else "lower the learning rate"
    if clip:
        return f"{lower}, or clip gradients harder (clip, --clip: {clip:g} now, e.g. {clip / 5:g})"
    return f"{lower}, or clip gradients (e.g. clip=5, --clip 5)"


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
        # one BLAS dot per array (all_finite): a quarter of a float64 sum's time, a half of np.isfinite's
        if not all_finite(np.asarray(g)):
            kind = "NaN" if np.isnan(g).any() else "inf"
            raise TrainingDivergedError(f"gradient of {name} has {kind} values at step {step}: {hint}")


def check_weights(step: int, params: Mapping[str, np.ndarray], hint: str | None = None) -> None:
    """Raise :class:`TrainingDivergedError` when a parameter holds NaN or inf: an update so large that
    it overflowed (a learning rate of 1e39), which the next step's loss or a layer's input check would
    otherwise meet first.  One BLAS dot per array (:func:`rnnkit.checks.all_finite`), as :func:`check_finite`."""
    for name, p in params.items():
        if not all_finite(p):
            raise TrainingDivergedError(f"the weights ({name}) became NaN or inf in the update of step {step}, "
                                        f"and no checkpoint of them is written: {hint or divergence_hint()}")


@dataclass(frozen=True)
class UniformLoss:
    """The training loss of a model that gives every outcome the same probability, in the task's training
    loss's units (nats per token, sentence or node): ``loss``, and ``says``, how a message names it ("ln
    10,000, what guessing every word uniformly scores").  A model at initialisation scores about this and
    a learning one goes below it at once, so an epoch well above it diverges or does not learn.
    ``start_cure``: what to do when the first batch, before any update, already scored well above it."""

    loss: float
    says: str
    start_cure: str = "the initial weights (or pretrained vectors) are too large"


def uniform_guess(count: int, outcome: str, weight: float = 1.0, start_cure: str | None = None) -> UniformLoss:
    """The cross-entropy of a uniform guess over ``count`` outcomes (``outcome``: "word", "tag"...): ln
    ``count`` nats, times ``weight`` when the loss weighs examples (the mean class weight of a classifier's
    training sentences)."""
    says = f"ln {count:,}"
    if not math.isclose(weight, 1.0, rel_tol=1e-9):
        says += f" times the mean class weight {weight:.3g}"
    extra = {} if start_cure is None else {"start_cure": start_cure}
    return UniformLoss(weight * math.log(count), f"{says}, what guessing every {outcome} uniformly scores", **extra)


def uniform_limit(uniform: float) -> float:
    """The training loss above which an epoch is named: 10% above a uniform guess's, and at least 0.1 nats
    (ln 2 = 0.69 is small).  A model at initialisation scores a little above ln V (its logits are small but
    not 0), and an epoch of a few steps on tiny data may end near it: neither is a run that diverges."""
    return uniform + max(0.1 * uniform, 0.1)


def above_uniform(epoch: int, train_loss: float, uniform: UniformLoss, first_loss: float | None,
                  hint: str | None = None) -> str | None:
    """The warning for an epoch whose mean training loss is above :func:`uniform_limit`, else None.
    ``first_loss``: the run's first batch's, before any update; when it is above too, an epoch that came down
    a tenth of the way or more from it to the uniform loss is learning (no warning), and one that did not has
    the initial weights for cause (``uniform.start_cure``), not the learning rate (``hint``; default
    :func:`divergence_hint`)."""
    limit = uniform_limit(uniform.loss)
    if not train_loss > limit:
        return None
    said = (f"epoch {epoch}'s training loss {train_loss:.3g} is above {uniform.loss:.3g} = {uniform.says}: "
            "the run is diverging or not learning")
    if first_loss is not None and first_loss > limit:
        # a model that starts above the line (tied output weights) and comes down from there is learning: 12.7
        # at the first batch, an epoch of 9.11 above ln V = 7.57, a valid loss of 6.58; one that comes down less
        # than a tenth of the way to the line is not (--init-scale 1e6: 4.31e6, then 4.28e6 against 5.31)
        if first_loss - train_loss >= 0.1 * (first_loss - uniform.loss):
            return None
        return (f"{said}; its first batch scored {first_loss:.3g} already, before any update, and the epoch came "
                f"down less than a tenth of the way to {uniform.loss:.3g}, so {uniform.start_cure}")
    return f"{said}; {hint or divergence_hint()}"
