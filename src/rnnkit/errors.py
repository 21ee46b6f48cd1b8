"""Errors a user can cause and fix.

Library code raises ``ValueError`` / ``TypeError`` for bad arguments (naming the argument, what was
expected and what came) and :class:`RnnkitError` for bad files and bad runs.  The command line turns
each of them into one line on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations


class RnnkitError(Exception):
    """A problem with the user's data, files or run, reported as one line: what, where, how to fix."""


class DataError(RnnkitError):
    """A data file that cannot be read as asked: names the file and, where it can, the line."""


class CheckpointError(RnnkitError):
    """A checkpoint that is missing, truncated, corrupt or of the wrong kind."""


class TrainingDivergedError(RnnkitError):
    """The loss or a gradient became NaN or infinite; says at which step."""


class RunInUseError(RnnkitError):
    """The run folder is being trained into by another process (see rnnkit.train.run_lock)."""
