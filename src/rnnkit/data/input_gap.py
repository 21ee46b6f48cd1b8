"""Where a byte of an input is when the bytes looked at leave part of the input out.

Standard input read line by line (:func:`rnnkit.data.files.stdin_lines`) keeps only its first megabyte to
guess an encoding from; a line that does not decode later on is told of as the kept lines plus that line,
and the lines between, not kept, are the :class:`Gap`.  An error's line number and byte offset in that last
line count them (:func:`place`), whichever check finds it: a byte that does not decode, a NUL byte, an
--encoding that reads the bytes into the wrong text.
"""
from __future__ import annotations

from typing import NamedTuple


class Gap(NamedTuple):
    """What an input holds before the last line of the ``data`` told of that ``data`` leaves out."""

    lines: int = 0  # lines left out
    bytes: int = 0  # their bytes
    wide: int = 0  # their non-ASCII characters, for a mixed file's count


NO_GAP = Gap()


def place(data: bytes | str, at: int, gap: Gap = NO_GAP) -> tuple[int, int]:
    """(line, offset) in the whole input of byte (or character) ``at`` of ``data``: 1 + the line ends before it,
    and ``at``, each with ``gap``'s lines and bytes added when it is in ``data``'s last line (the gap is before
    it; a character's offset is not told)."""
    newline = b"\n" if isinstance(data, bytes) else "\n"
    line = data.count(newline, 0, at) + 1
    last = data.rfind(newline, 0, max(len(data) - 1, 0)) + 1  # where the last line starts (its own end aside)
    if at >= last:
        return line + gap.lines, at + gap.bytes
    return line, at
