"""One training process per run folder.

Two runs started with the same ``--run-dir`` would overwrite each other's checkpoints and interleave
their metrics logs, and a new run removes the earlier run's checkpoints first, so the second could
delete the first's while it trains.  :func:`run_lock` holds an exclusive ``flock`` on
``RUN/.lock`` for as long as a run trains; a second run into the folder stops at once with a
one-line :class:`~rnnkit.errors.RunInUseError` naming the process that holds it.  The kernel drops the
lock when its process ends, however it ends (SIGKILL included), so a killed run never leaves the
folder locked and ``--resume`` works straight away.  Where ``fcntl`` does not exist (Windows) there is
no lock.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rnnkit.errors import RunInUseError

LOCK = ".lock"
_HELD: dict[Path, int] = {}  # folders this process holds, and how deep: a nested run_lock is a no-op


@contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold the run folder's lock for the ``with`` block (the folder must exist).  Re-entrant within a
    process: the command line takes it before reading data, the training loop again inside."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock
        yield
        return
    key = Path(run_dir).resolve()
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    path = Path(run_dir) / LOCK
    try:
        f = open(path, "a+", encoding="utf-8")
    except OSError as exc:
        raise OSError(f"cannot write in the run folder {run_dir} ({exc.strerror or exc}); choose another "
                      "run_dir (--run-dir)") from None
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: held by another open file, i.e. another run
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise RunInUseError(f"{run_dir} is in use by another training run ({holder}); wait for it to end, "
                                "or give another run_dir (--run-dir)") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        f.close()  # closing the file releases the lock


def make_run_folder(run_dir: str | os.PathLike) -> list[Path]:
    """Make the run folder ``run_dir`` (and its missing parents) unless it exists; returns the folders
    made, innermost first (the command line removes them again when it fails before writing anything).
    ValueError, one line naming ``run_dir``, when it or a folder above it is a file, or it cannot be
    made (no permission)."""
    folder = Path(run_dir).absolute()
    if folder.exists():
        if not folder.is_dir():
            raise ValueError(f"{run_dir} is a file, not a run folder; give run_dir (--run-dir) a folder for the "
                             "run's checkpoints and metrics log")
        return []
    missing = [folder, *(p for p in folder.parents if not p.exists())]
    above = next((p for p in Path(run_dir).parents if p.exists()), None)
    if above is not None and not above.is_dir():  # in plain words, not "[Errno 20] Not a directory"
        raise ValueError(f"{run_dir}: {above} is a file, not a folder; give run_dir (--run-dir) a folder")
    try:
        folder.mkdir(parents=True)
    except FileExistsError:  # made meanwhile by another process
        return make_run_folder(run_dir)
    except OSError as exc:
        raise ValueError(f"cannot create the run folder {run_dir} ({exc.strerror or exc}); choose another "
                         "run_dir (--run-dir)") from None
    return missing
