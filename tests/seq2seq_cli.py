"""What the seq2seq command-line tests share: a file of lines written for a command to read, and the check
that a refused command printed one 'rnnkit: error:' line (with the given fragments) and exited 2."""
from __future__ import annotations

from clirun import error_line, write

__all__ = ["one_error_line", "write"]  # write: clirun's, which the seq2seq tests import from here


def one_error_line(capsys, code: int, *fragments: str) -> str:
    """:func:`clirun.error_line` of the standard error captured since the last read."""
    return error_line(code, capsys.readouterr().err, *fragments)
