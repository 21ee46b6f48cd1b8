"""Output files written whole or not at all: the bytes go to a temporary file beside the target, which
then replaces it (``os.replace``), so a run killed while writing, a full disk or a file-size limit
leaves the earlier file (or none), never a part.  A target that is not a regular file (a device such as
/dev/null or /dev/stdout, a named pipe) is written into as it is: replacing it would put a regular file
in its place (as root, over /dev/null itself).  A symbolic link is followed: its target is replaced and the
link kept (else ``-o /dev/stdout`` with standard output redirected to a file would, as root, put a regular
file in place of the link /dev/stdout).

The temporary is ``.NAME.PID.HEX.tmp`` (:func:`temporary_path`); one left by a process that was killed
(SIGKILL, a power cut) while writing is removed by the next write of the same file, once its process
is gone.  HEX begins with a tag of this host, so that in a folder shared by several machines (NFS)
only this host's temporaries are judged by this host's process ids."""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None], durable: bool = False) -> Path:
    """Call ``write`` with a binary file and put what it wrote at ``path``, atomically; returns the path.
    An OSError met creating the temporary file names ``path`` and its folder, not the temporary; one
    met writing (a full disk) or replacing names ``path`` as its ``filename``, so the message says which
    file could not be written rather than blaming standard output.

    ``durable``: also survive a power cut, not only a killed process: the temporary's bytes are
    ``fsync``-ed before the rename and the folder after it (where the platform can), so that the name
    never points at data still in the page cache.  Checkpoints are written so; other outputs, which a
    rerun can make again, skip the two waits."""
    path = Path(path)
    if path.is_symlink():  # replace what the link names, not the link (/dev/stdout -> /proc/self/fd/1 -> a file)
        path = Path(os.path.realpath(path))
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        with _naming(path), open(path, "wb") as f:  # a device or a pipe: into it, never over it
            write(f)
        return path
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_temporaries(path)
    tmp = temporary_path(path)
    try:
        # 0o666 lets the umask decide, as for any file a program writes (mkstemp's 0600 hid outputs from others)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc} (folder {folder})", str(path)) from None
    try:
        with _naming(path, tmp):
            with os.fdopen(fd, "wb") as f:
                write(f)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_folder(folder)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; Windows cannot open a folder, and needs not."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _naming(path: Path, tmp: Path | None = None):
    """An OSError without a file name (``f.write`` into a full disk) raised inside gets ``path`` as its
    name: its message then says which file could not be written.  One naming the temporary (os.replace's)
    names ``path`` instead, the file the user asked for; one naming another file (a font the writer
    read) is left as it is."""
    try:
        yield
    except OSError as exc:
        named = None if exc.filename is None else os.fsdecode(exc.filename)
        if exc.errno is None or named not in (None, str(path), str(tmp)):  # not about writing path: as it is
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


# the first 4 hex digits of the 12 name the host that wrote the temporary
_TEMPORARY = re.compile(r"\.(?P<pid>[0-9]+)\.(?P<host>[0-9a-f]{4})[0-9a-f]{8}\.tmp")
HOST_TAG = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:4]


def temporary_path(path: str | os.PathLike) -> Path:
    """Where a write of ``path`` puts its bytes first: ``.NAME.PID.HEX.tmp`` beside it, HEX being this
    host's tag (:data:`HOST_TAG`) and 8 random hex digits."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    return folder / f".{path.name}.{os.getpid()}.{HOST_TAG}{secrets.token_hex(4)}.tmp"


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of ``path`` (``.NAME.PID.HEX.tmp`` beside it) whose process is no longer
    running: what a write killed half-way left; returns those removed.  Those of a running process (this
    one included: another thread may be writing) are kept.  Nothing is removed where whether a process
    runs cannot be asked (not POSIX: os.kill(pid, 0) would signal it), and problems listing or removing
    are ignored: this is tidying, never a reason to fail the write."""
    if os.name != "posix":
        return []
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    prefix = f".{path.name}"
    removed = []
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.startswith(prefix)]
    except OSError:
        return []
    for name in names:
        match = _TEMPORARY.fullmatch(name, len(prefix))
        if match is None or match["host"] != HOST_TAG or not _gone(int(match["pid"])):  # another host's pid
            continue
        with contextlib.suppress(OSError):
            os.unlink(folder / name)
            removed.append(folder / name)
    return removed


def _gone(pid: int) -> bool:
    """True when no process ``pid`` runs (a PID this system cannot have counts as gone)."""
    if pid == os.getpid():
        return False
    if pid <= 0:  # os.kill would signal a process group
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OverflowError:
        return True
    except OSError:  # PermissionError: it runs, as another user
        return False
    return False
