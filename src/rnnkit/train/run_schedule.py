"""How the training loop fits a per-step schedule (``--schedule cosine|linear``, ``--warmup-steps``) to a run.

The schedule spans the run's steps: ``epochs`` times the batches of one epoch, or ``max_steps`` if that
is fewer.  The batches are counted by walking epoch 1's with a generator of their own, so the run's
draws are untouched; with ``--jitter``'s random windows epochs differ by a few batches, and a run that
outlasts the count trains its last steps at the schedule's final rate (the loop stops stepping it).
A resumed cosine or linear run must span as many steps as it started with: another ``--epochs`` or
``--max-steps`` would bend the curve it is halfway along.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.train.config import TrainConfig


def epoch_batches(task: Any, seed: int) -> int:
    """Batches in the task's first epoch (under ``seed``'s draws, for jittered windows)."""
    return sum(1 for _ in task.train_batches(0, 0, np.random.default_rng(seed)))


def schedule_span(cfg: TrainConfig, per_epoch: int) -> tuple[int, str]:
    """(the steps a per-step schedule spans, how they were counted, for messages)."""
    total = cfg.epochs * per_epoch
    how = f"epochs={cfg.epochs} (--epochs) of {per_epoch:,} batch{'es' if per_epoch != 1 else ''}"
    if cfg.max_steps is not None and cfg.max_steps < total:
        total = cfg.max_steps
        how = f"max_steps={cfg.max_steps} (--max-steps), fewer than {how}"
    return total, how


def check_warmup(cfg: TrainConfig, total: int, how: str) -> None:
    """A warmup must end before the run does: ValueError naming warmup_steps (--warmup-steps) otherwise."""
    if cfg.warmup_steps >= total:
        more = "a larger max_steps" if how.startswith("max_steps") else "more epochs"
        raise ValueError(f"warmup_steps={cfg.warmup_steps} (--warmup-steps) is not below the run's {total:,} steps, "
                         f"from {how}: give fewer warmup steps, or {more}")


def run_span(task: Any, cfg: TrainConfig) -> tuple[int, str] | None:
    """(steps, how counted) the run's per-step schedule spans, its warmup checked; None for a per-epoch one."""
    if not cfg.per_step:
        return None
    total, how = schedule_span(cfg, epoch_batches(task, cfg.seed))
    check_warmup(cfg, total, how)
    return total, how


def span_problem(cfg: TrainConfig, saved: Any, total: int, how: str) -> str | None:
    """Why a cosine or linear run saved with a span of ``saved`` steps cannot go on over ``total``, or None."""
    if cfg.schedule not in ("cosine", "linear") or saved == total:
        return None
    return (f"schedule={cfg.schedule!r} (--schedule) spans this run's {saved:,} steps, and would span {total:,} now, "
            f"from {how}; resume with the epochs and max_steps it started with, or start a new run (without --resume; "
            "in Python, fit(resume=False))")


def last_step_lr(schedule: Any, optimizer: Any, steps: int) -> float:
    """The rate the run's last step trained with: a per-step schedule has already set the next one."""
    if schedule is None or not schedule.per_step or steps == 0:
        return optimizer.lr
    return schedule.lr_at(min(steps - 1, schedule.step_count))
