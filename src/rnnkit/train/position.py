"""Where in its run a checkpoint was saved, in the training log's words.

A checkpoint's loop record counts the epochs *ended* (``epoch``) and the optimizer steps taken (``step``); the
training log numbers the epoch *under way* (``epoch 2 |  60.7% | ...``, then ``epoch 2 done``).  So a run that
``--max-steps`` stopped 32 steps into its second epoch holds ``epoch 1``, which ``rnnkit export`` showed as
"step 85, epoch 1" beside a log that last said "epoch 2".  :func:`position_text` says it as the log and the
step-limit line do: "step 85, 32 steps into epoch 2", or "step 53, at the end of epoch 1".
"""
from __future__ import annotations

from typing import Any


def _count(value: Any) -> int | None:
    """A non-negative whole number, else None (a damaged or edited record)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def steps_into_epoch(step: Any, history: Any) -> int | None:
    """The steps taken since the last epoch's end (0 at an epoch's end): ``step`` less the ``step`` of the last
    epoch record of ``history`` (the loop record's, one a validated epoch); None when either is not a count."""
    ended = [r for r in history if isinstance(r, dict) and r.get("type", "epoch") == "epoch"] \
        if isinstance(history, list) else []
    at = _count(ended[-1].get("step")) if ended else 0
    step = _count(step)
    return None if step is None or at is None or at > step else step - at


def position_text(step: Any, epoch: Any, into: Any, epochs: Any = None) -> str:
    """``step`` and where it is: ``into`` steps into epoch ``epoch + 1`` (the epochs ended, counted as the loop
    counts them, plus the one under way), or at the end of epoch ``epoch`` (``into`` 0); "of ``epochs``" when
    the run's number of epochs is known.  A record without ``into`` (an export written before it was kept) says
    how many epochs had ended."""
    step, epoch, into = _count(step), _count(epoch), _count(into)
    if step is None:
        return "no step count"
    at = f"step {step:,}"
    if epoch is None:
        return at
    of = f" of {epochs}" if _count(epochs) is not None else ""
    if into is None:
        return f"{at}, {epoch} epoch{'s' * (epoch != 1)} ended"
    if into:
        return f"{at}, {into:,} step{'s' * (into != 1)} into epoch {epoch + 1}{of}"
    return f"{at}, at the end of epoch {epoch}{of}" if epoch else f"{at}, before the first epoch{of}"


def unvalidated_text(step: Any) -> str:
    """Why a run trained with validation data has no best model yet: it stopped (``--max-steps``, or killed)
    at ``step``, before the end of its first epoch, where validation first runs."""
    step = _count(step)
    at = f"stopped at step {step:,}, " if step is not None else "stopped "
    return f"no epoch validated yet ({at}before epoch 1's end)"
