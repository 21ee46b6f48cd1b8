"""Work buffers kept between steps, so hot loops write temporaries into memory they already own."""
from __future__ import annotations

import numpy as np


class Scratch:
    """Flat work buffers, one per (dtype, slot), as large as the largest array asked for: an update rule
    or a layer writes its temporaries into views of them instead of allocating (and page-faulting)
    fresh arrays of a big embedding's or logits' size at every step."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[np.dtype, int], np.ndarray] = {}

    def array(self, shape: tuple[int, ...], dtype: object, slot: int = 0) -> np.ndarray:
        """A C-contiguous work array of this shape and dtype; contents undefined; valid until the next
        call with the same dtype and slot."""
        dtype = np.dtype(dtype)
        size = int(np.prod(shape))
        key = (dtype, slot)
        buf = self._buffers.get(key)
        if buf is None or buf.size < size:
            buf = np.empty(size, dtype=dtype)
            self._buffers[key] = buf
        return buf[:size].reshape(shape)

    def like(self, p: np.ndarray, slot: int = 0) -> np.ndarray:
        """A work array of p's shape and dtype (see :meth:`array`)."""
        return self.array(p.shape, p.dtype, slot)
