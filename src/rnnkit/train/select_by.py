"""``select_by``: which validation metric picks the best checkpoint of a classifier or a tree model
(``train classifier|tree --select-by``), and the trainer's criterion from it.

``"accuracy"`` (the default) or ``"macro_f1"``, the mean of the classes' F1 (a class that a model
ignores counts as much as a frequent one; :mod:`rnnkit.metrics.classification`).  Both are higher for
better, the trainer's criterion lower for better::

    criterion = 1 - metrics[prefix + select_by]    (NaN without validation metrics)

``prefix``: where the task's metrics carry one (a tree model's ``"root_"``: the roots' accuracy and
macro-F1, the sentence-level figures).  A run keeps it among its run options as ``--select-by``
(:meth:`rnnkit.train.task.Task.resume_options`), so ``--resume`` refuses another: the best so far
was measured by it; a checkpoint written before it was kept selected by :data:`DEFAULT`.
"""
from __future__ import annotations

import math

SELECT_BY = ("accuracy", "macro_f1")
DEFAULT = "accuracy"
OPTION = "--select-by"  # its name among a run's options, as the command line and --resume's messages say it


def check_select_by(select_by: str) -> str:
    """``select_by`` if it is one of :data:`SELECT_BY`; ValueError otherwise."""
    if select_by not in SELECT_BY:
        raise ValueError(f"Expected select_by one of {SELECT_BY}, got {select_by!r}")
    return select_by


def selection_criterion(metrics: dict[str, float], select_by: str, prefix: str = "") -> float:
    """``1 - metrics[prefix + select_by]``: lower is better, as the trainer compares; NaN when the
    metrics do not hold it (no validation data)."""
    return 1.0 - metrics.get(prefix + select_by, math.nan)
