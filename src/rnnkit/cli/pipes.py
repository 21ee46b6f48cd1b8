"""Training that outlasts the reader of its output: ``rnnkit train ... 2>&1 | head -3``.

A closed pipe ends most commands at once, quietly, as ``yes | head`` does (exit code 141): their
output is all they make.  A training run makes checkpoints, and used to end at head's exit with none
written, hours of work gone.  While a ``train`` command runs, standard output and standard error are
wrapped: the first write that finds its reader gone points the descriptor at /dev/null and the run
goes on, silently, to its checkpoints and its end.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import Any


class Outlasting:
    """A text stream that drops its writes, instead of raising, once its reader has gone."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._lost()

    def _lost(self) -> None:
        self.gone = True
        try:  # what the stream still buffers, and any write that bypasses it, go nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno, ...
        return getattr(self._stream, name)


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
