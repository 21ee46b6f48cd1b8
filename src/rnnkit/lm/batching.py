"""Batching one long token stream for stateful training with truncated BPTT.

The corpus, ids of N tokens, becomes B parallel streams of N // B tokens each (the tail that does
not fill a stream is dropped), time-major::

    data = ids[: (N // B) * B].reshape(B, N // B).T        # (N // B, B)

Window i covers inputs ``data[i : i + T]`` and targets ``data[i + 1 : i + 1 + T]``; the hidden state
carries from one window to the next, detached (truncated BPTT at window boundaries).  With
``jitter`` the window length varies: T with probability 0.95, else T / 2, then drawn from
N(length, 5) and clipped to [5, 2T]: AWD-LSTM's sampling of window lengths (Merity et al. 2018), with an
upper cap of 2T it does not have, and without its rescaling of the learning rate by length / T for
each window; the draws come from the rng passed in.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from rnnkit.checks import check_bool, check_int, check_rng
from rnnkit.errors import DataError


def batchify(ids: np.ndarray, batch_size: int, bptt: int = 1, name: str = "corpus", start: bool = False) -> np.ndarray:
    """(N // B, B) time-major streams; each stream needs at least 2 tokens (one input, one target).

    ``bptt`` does not change the batches (windows are cut by :func:`windows`); it is only checked, so
    that a caller's bad window length fails here, with the data, rather than later.  ``start``: ids[0]
    is a start symbol put in front of the data, so a message counts the data's own tokens without it.
    """
    check_int("bptt", bptt, 1)
    given = np.asarray(ids)
    if given.size and given.dtype.kind not in "iu":  # a float id would be truncated silently
        raise TypeError(f"Expected integer token ids, got {given.dtype}")
    ids = given.astype(np.int64, copy=False)
    n = ids.size // check_int("batch_size", batch_size, 1)
    if n < 2:
        have = ids.size - int(start)  # the data's own tokens
        if batch_size == 1:
            need = "1 is" if start else "2 are"
            raise DataError(f"{name} has {have} token{'s' * (have != 1)}; at least {need} needed (one to read, "
                            "one to predict): use a longer file")
        need = batch_size * 2 - int(start)
        raise DataError(
            f"{name} has {have} tokens; {batch_size} streams need at least {need}: "
            f"use a smaller batch_size (--batch-size) or a longer file"
        )
    return np.ascontiguousarray(ids[: n * batch_size].reshape(batch_size, n).T)


def window_length(bptt: int, jitter: bool, rng: np.random.Generator | None) -> int:
    """The next window's length: ``bptt``, or with ``jitter``
    L = clip(round(N(b, 5)), 5, 2 bptt) with b = bptt (probability 0.95) or bptt / 2."""
    if not jitter:
        return bptt
    base = bptt if rng.random() < 0.95 else bptt / 2
    return int(np.clip(round(rng.normal(base, 5)), 5, 2 * bptt))


def windows(data: np.ndarray, bptt: int, start: int = 0, jitter: bool = False,
            rng: np.random.Generator | None = None) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (next_start, inputs (T', B), targets (T', B)) from time index ``start`` to the end."""
    check_int("bptt", bptt, 1)  # 0 would yield empty windows forever
    if not (isinstance(data, np.ndarray) and data.ndim == 2):
        raise ValueError(f"Expected data of shape (N, B) (from batchify), got {getattr(data, 'shape', type(data).__name__)}")
    i = check_int("start", start, 0)  # a negative start would count from the end and yield an empty window
    if check_bool("jitter", jitter):
        check_rng(rng, "rng (for jitter)")
    n = data.shape[0]
    while i < n - 1:
        T = min(window_length(bptt, jitter, rng), n - 1 - i)
        yield i + T, data[i : i + T], data[i + 1 : i + 1 + T]
        i += T
