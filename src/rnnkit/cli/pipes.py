"""Training that outlasts the reader of its output: ``rnnkit train ... 2>&1 | head -3``.

A closed pipe ends most commands at once, quietly, as ``yes | head`` does (exit code 141): their
output is all they make.  A training run makes checkpoints, and used to end at head's exit with none
written, hours of work gone.  While a ``train`` command runs, standard output and standard error are
wrapped (:class:`rnnkit.outlasting.Outlasting`): the first write that finds its reader gone points
the descriptor at /dev/null and the run goes on, silently, to its checkpoints and its end.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from rnnkit.outlasting import Outlasting


@contextlib.contextmanager
def outlasting_readers(func: Any) -> Iterator[None]:
    """Wrap stdout and stderr in :class:`Outlasting` while ``func`` runs, if it is a training command."""
    if not getattr(func, "__name__", "").startswith("train_"):
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Outlasting(sys.stdout), Outlasting(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
