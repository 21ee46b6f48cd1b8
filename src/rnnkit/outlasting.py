"""A text stream that outlasts its reader: once a write finds the reader gone (a closed pipe, as
``rnnkit train ... | head`` makes), the descriptor is pointed at /dev/null and later writes are
dropped instead of raising, so the work that writes (a training run) goes on to its end."""
from __future__ import annotations

import io
import os
from typing import Any


class Outlasting:
    """A text stream that drops its writes, instead of raising, once its reader has gone."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        """Write to the stream while it is there; once its reader has gone, take the text and drop it."""
        if not self.gone:
            try:
                return self._stream.write(text)
            except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
                self._lost()
        return len(text)

    def flush(self) -> None:
        """Flush the stream while it is there (a gone reader makes this a no-op from then on)."""
        if not self.gone:
            try:
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                self._lost()

    def _lost(self) -> None:
        self.gone = True
        try:  # what the stream still buffers, and any write that bypasses it, go nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno, ...
        return getattr(self._stream, name)
