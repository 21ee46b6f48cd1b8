"""Errors a user can cause and fix.

Library code raises ``ValueError`` / ``TypeError`` for bad arguments (naming the argument, what was
expected and what came) and :class:`RnnkitError` for bad files and bad runs.  The command line turns
each of them into one line on stderr and a non-zero exit, never a traceback; :func:`describe_os_error`
and :func:`describe_encode_error` give that line for an operating system's error and for text an
output encoding cannot hold.
"""
from __future__ import annotations

import codecs
import errno
import os


class RnnkitError(Exception):
    """A problem with the user's data, files or run, reported as one line: what, where, how to fix."""


class DataError(RnnkitError):
    """A data file that cannot be read as asked: names the file and, where it can, the line."""


class NoSentencesError(DataError):
    """A data file that holds no sentence: empty, or blank lines (and ``-DOCSTART-`` lines) alone.  ``lines``: its
    lines, which ``rnnkit tag`` writes back as they are (no sentence to tag: an empty input's empty output)."""

    def __init__(self, message: str, lines: list[str]) -> None:
        super().__init__(message)
        self.lines = lines


def no_sentences(expected: str, lines: list[str], held: list[tuple[int, str, str]]) -> NoSentencesError:
    """The error for a file of ``lines`` without a sentence, said as what it holds: ``held`` has (count, singular,
    plural) per kind of line ("1 blank line", "3 blank lines"); an empty file when every count is 0."""
    parts = [f"{n:,} {one if n == 1 else many}" for n, one, many in held if n]
    return NoSentencesError(f"{expected}, got no sentences: only {' and '.join(parts)}" if parts
                            else f"{expected}, got an empty file", lines)


class CheckpointError(RnnkitError):
    """A checkpoint that is missing, truncated, corrupt or of the wrong kind."""


class TrainingDivergedError(RnnkitError):
    """The loss or a gradient became NaN or infinite; says at which step."""


class NotLearningWarning(UserWarning):
    """An epoch's training loss above what guessing uniformly scores: the run diverges or does not learn
    (:func:`rnnkit.guard.above_uniform`); the run goes on, the warning says what to change."""


class NonFiniteError(ValueError):
    """A layer met NaN or inf in its input, state or incoming gradient (in training: an overflow in the step).

    ``stage`` says where, set where it is raised: "forward" (an input or initial state), "backward" (an
    incoming gradient: dout, dstate), "update" (an optimizer's gradient), or None when not said; the
    training loop names it to the user (:mod:`rnnkit.train.loop`)."""

    def __init__(self, message: str, stage: str | None = None) -> None:
        super().__init__(message)
        self.stage = stage


class RunInUseError(RnnkitError):
    """The run folder is being trained into by another process (see rnnkit.train.run_lock)."""


def os_problem(exc: OSError) -> str:
    """What an operating-system error means for the path it names, in plain words (``"out is a file,
    not a folder"``) instead of ``[Errno 20] Not a directory: 'out/x'``."""
    if exc.filename is None:  # a stream (standard output into a full disk, a closed pipe)
        what = (exc.strerror or str(exc)).lower()
        return f"{what} (writing to standard output or another stream)" if exc.errno == errno.ENOSPC else what
    name = os.fsdecode(exc.filename)
    code = exc.errno
    if code == errno.ENOENT:
        parent = os.path.dirname(name)
        if parent and os.path.isfile(parent):
            return f"{parent} is a file, not a folder"
        if parent and not os.path.isdir(parent):
            return f"the folder {parent} does not exist"
        return f"{name} does not exist"
    if code == errno.EISDIR:
        return f"{name} is a folder, not a file"
    if code == errno.ENOTDIR:
        part = os.path.dirname(name)
        while part and not os.path.isfile(part) and os.path.dirname(part) != part:
            part = os.path.dirname(part)
        return f"{part} is a file, not a folder" if os.path.isfile(part) else f"a part of {name} is not a folder"
    if code == errno.EEXIST:
        return f"{name} is a file, not a folder" if os.path.isfile(name) else f"{name} already exists"
    if code in (errno.EACCES, errno.EPERM):
        return f"no permission for {name}"
    if code == errno.ENOSPC:
        return f"no space left on the device of {name}"
    if code == errno.EROFS:
        return f"{name} is on a read-only file system"
    return f"{name}: {exc.strerror or exc}"


def describe_os_error(exc: OSError) -> str:
    """:func:`os_problem` and what to do about it, as one line."""
    if exc.errno == errno.ENOSPC:
        fix = "free some space or choose another disk"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a place you may write to, or change the permissions"
    else:
        fix = "check the path"
    return f"{os_problem(exc)}; {fix}"


def describe_encode_error(exc: UnicodeEncodeError, file_option: bool = True) -> str:
    """Text that the output's encoding cannot hold (an ASCII terminal, ``--encoding gbk`` and an emoji);
    ``file_option``: the command has ``--encoding`` for the files it writes."""
    chars = exc.object[exc.start:exc.end][:10]
    # a Chinese Windows console is GBK (cp936): GB18030 holds every character and keeps its Chinese legible
    try:  # codecs' own name for every spelling: cp936, 936 and ms936 are gbk; euc-cn and EUC_CN gb2312
        chinese = codecs.lookup(exc.encoding).name in ("gbk", "gb2312")
    except LookupError:  # not a codec Python knows
        chinese = False
    console = ("; on a GBK console PYTHONIOENCODING=gb18030, which holds every character and which the console "
               "shows" if chinese else "")
    return (f"cannot write {chars!r} in the {exc.encoding} encoding; for standard output set PYTHONIOENCODING=utf-8 "
            f"(or a UTF-8 locale, e.g. LANG=C.UTF-8{console})"
            + (", for a file choose --encoding utf-8" if file_option else ""))


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a batch scheduler, ``docker stop``) on the command line: it unwinds
    as Ctrl-C does (a checkpoint write under way is abandoned, its temporary removed, the run folder's
    lock released) and ends with one line and exit code 143."""


def raise_terminated(signum: int, frame: object) -> None:
    """A SIGTERM handler: raise :class:`Terminated` in the main thread (the command line's, see rnnkit.cli)."""
    raise Terminated()
