"""The bit-for-bit comparison the checkpoint tests share: an array that came back from a checkpoint has the
same dtype (native byte order), shape and bytes as the one saved."""
from __future__ import annotations

import numpy as np


def _same_bits(name: str, a: np.ndarray, b: np.ndarray) -> None:
    native_a = a.astype(a.dtype.newbyteorder("="))  # big-endian input comes back native
    assert native_a.dtype == b.dtype, f"{name}: dtype {a.dtype} came back as {b.dtype}"
    assert a.shape == b.shape, f"{name}: shape {a.shape} came back as {b.shape}"
    diff = np.nanmax(np.abs(native_a.astype(np.float64) - b)) if a.size else 0.0
    assert native_a.tobytes() == b.tobytes(), f"{name}: bytes differ, max difference {diff}"
