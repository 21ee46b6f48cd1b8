"""Output files written whole or not at all: the bytes go to a temporary file beside the target, which
then replaces it (``os.replace``), so a run killed while writing, a full disk or a file-size limit
leaves the earlier file (or none), never a part.  A target that is not a regular file (a device such as
/dev/null or /dev/stdout, a named pipe) is written into as it is: replacing it would put a regular file
in its place (as root, over /dev/null itself)."""
from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write`` with a binary file and put what it wrote at ``path``, atomically; returns the path.
    An OSError met creating the temporary file names ``path`` and its folder, not the temporary."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        with open(path, "wb") as f:  # a device or a pipe: into it, never over it
            write(f)
        return path
    folder = path.parent if str(path.parent) else Path(".")
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    try:
        # 0o666 lets the umask decide, as for any file a program writes (mkstemp's 0600 hid outputs from others)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc} (folder {folder})", str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
