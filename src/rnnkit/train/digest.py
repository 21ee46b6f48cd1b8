"""A fingerprint of training files, so that ``--resume`` can tell the data it started with from data
changed since: a run that continued on other data would no longer be the run it claims to be (its
cursor would point into other text, and even a vocabulary that still matches gives other batches)."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from rnnkit.data.files import open_data


def file_digest(paths: Iterable[str | os.PathLike | None]) -> str | None:
    """SHA-256 over the bytes of the files, in order (a ``.gz``/``.xz`` file as decompressed); None
    when one of them is not a regular file (standard input, a pipe), which cannot be read twice.  A
    missing file is left to the reader, whose message names it."""
    h = hashlib.sha256()
    for path in paths:
        if path is None or not os.path.isfile(path):
            return None
        with open_data(Path(path)) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")  # file boundary: ("ab", "c") and ("a", "bc") differ
    return h.hexdigest()
