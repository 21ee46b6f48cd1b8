"""Argument files: ``rnnkit @run.args`` and ``rnnkit train lm @common.args --epochs 3``.

An argument that starts with ``@`` names a file whose arguments take its place, before the command line
is parsed, so it works for every command and at any position, and everything downstream (the check of which
options were written, :mod:`rnnkit.cli.given`) sees the arguments as if typed.  The file:

- is UTF-8 (a byte-order mark allowed), whatever ``--encoding`` says;
- is split line by line as a POSIX shell splits words (:func:`shlex.split`): a line may hold an option and
  its value (``--epochs 3``) or several options, quotes keep spaces (``--train "my data/train.txt"``), a
  backslash escapes the next character (write Windows paths in single quotes or with ``/``), a quote must
  close on its line, and a line that ends in a backslash goes on on the next one (a shell command pasted
  whole, ``\\`` at its line ends, reads as it would in the shell);
- skips blank lines, and ``#`` starts a comment at the start of a line or of a word, as in a shell
  (``--lr 0.01  # tuned`` is two arguments; ``C#`` and a quoted ``"#1"`` are not comments);
- may name other files (``@common.args``), but not itself, directly or through others.

Relative paths, inside a file as outside, are relative to the current folder.  Nothing after ``--`` is
expanded, and neither is a lone ``@``; a value that starts with ``@`` goes after its option's ``=``
(``generate --prime=@alice``), since only an argument that starts with ``@`` names a file.

argparse's own ``fromfile_prefix_chars="@"`` reads one argument a line, in the locale's encoding, expands
after ``--`` too, and says a missing file as ``[Errno 2] No such file or directory``; a file here that is
missing, not UTF-8 or holds an unclosed quote is one line naming it (and its line).
"""
from __future__ import annotations

import os
import shlex
from collections.abc import Sequence

from rnnkit.errors import DataError

PREFIX = "@"
HINT = ("an argument that starts with @ names a file of arguments; a value that starts with @ goes after its "
        "option and '=' (--prime=@...)")


def expand_arg_files(argv: Sequence[str]) -> list[str]:
    """``argv`` with every ``@FILE`` argument replaced by the arguments of FILE (format in the module
    docstring), in place and in order; DataError for a file that is missing, unreadable, not UTF-8, holds an
    unclosed quote or names itself."""
    out: list[str] = []
    _expand(list(argv), out, (), None, [False])
    return out


def _expand(args: list[str], out: list[str], chain: tuple[str, ...], where: str | None, literal: list[bool]) -> None:
    """Append ``args`` to ``out`` with their files expanded; ``chain``: the real paths of the files being read
    (a file that names one of them reads itself); ``where``: FILE:LINE the args come from (None: the command
    line); ``literal[0]``: a ``--`` has been met, so nothing more is expanded."""
    for arg in args:
        if literal[0] or not arg.startswith(PREFIX) or arg == PREFIX:
            literal[0] = literal[0] or arg == "--"
            out.append(arg)
            continue
        path = arg[len(PREFIX):]
        named = f" (named in {where})" if where else ""
        if not os.path.exists(path):
            raise DataError(f"{arg}: no such argument file{named}; {HINT}")
        real = os.path.realpath(path)
        if real in chain:
            raise DataError(f"{arg}{named}: an argument file that names itself (through "
                            f"{' -> '.join(os.path.basename(c) for c in (*chain, real))}); remove the loop")
        for number, words in _lines(path):
            _expand(words, out, (*chain, real), f"{path}:{number}", literal)


def _lines(path: str) -> list[tuple[int, list[str]]]:
    """``(line number, its arguments)`` of each line of an argument file that holds some."""
    from rnnkit.data.files import read_utf8_file, text_lines

    found = []
    pending, first = "", 0  # a line ended by a backslash, and the number of the line it started on
    lines = text_lines(read_utf8_file(path, "a file of arguments"))
    for number, line in enumerate(lines, start=1):
        code = _without_comment(line)
        if code == line and _continues(line) and number < len(lines):  # a shell's line continuation: joined
            pending, first = pending + line[:-1], first or number
            continue
        line, code, number = pending + line, pending + code, first or number
        pending, first = "", 0
        try:
            words = shlex.split(code)
        except ValueError as exc:  # "No closing quotation", "No escaped character"
            fix = ("a quoted argument closes on its own line" if "quotation" in str(exc) else
                   "the file's last line ends in a backslash, which continues a line onto the next: remove it")
            raise DataError(f"{path}:{number}: {str(exc).lower()} in {line.strip()[:60]!r}; {fix}") from None
        if words:
            found.append((number, words))
    return found


def _continues(line: str) -> bool:
    """Whether ``line`` ends in a backslash that escapes nothing but the line end (an odd run of them)."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _without_comment(line: str) -> str:
    """``line`` up to a ``#`` that starts a word outside quotes (a shell's comment), without it."""
    quote = None
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line
