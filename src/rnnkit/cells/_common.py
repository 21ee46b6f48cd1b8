"""Small helpers shared by the cell kernels."""
from __future__ import annotations

import numpy as np

from rnnkit.norms import frobenius_norm


def step_views(a: np.ndarray, batch_sizes: np.ndarray | None) -> list[np.ndarray]:
    """``[a[t, :n_t] for t in range(T)]``: each step's view of a (T, B, ...) buffer, made once.

    The time loops index these lists instead of slicing inside every step: at small shapes (B = 1,
    H = 64) a dozen slices per step cost as much as the arithmetic.  Without padding, ``list(a)``
    builds all T views in one C-level pass.
    """
    if batch_sizes is None:
        return list(a)
    return [a[t, :n] for t, n in enumerate(batch_sizes.tolist())]


def rows_views(a: np.ndarray, batch_sizes: np.ndarray | None, T: int) -> list[np.ndarray]:
    """``[a[:n_t] for t in range(T)]``: per-step views of a (B, ...) work buffer or state."""
    if batch_sizes is None:
        return [a] * T
    return [a[:n] for n in batch_sizes.tolist()]


def cut_here(t: int, tbptt: int | None) -> bool:
    """True when the gradient into h_{t-1} is cut: t starts a new truncation window of length tbptt."""
    return tbptt is not None and t > 0 and t % tbptt == 0


def sigmoid_via_tanh_(a: np.ndarray) -> None:
    """In place: a <- 0.5 * a + 0.5, turning tanh(z/2) into sigmoid(z) = (1 + tanh(z/2)) / 2.

    Computing sigmoid through tanh lets one np.tanh call serve all gates of a cell: the rows of the
    weights that feed sigmoid gates are pre-scaled by 1/2 once per forward pass.
    """
    half = a.dtype.type(0.5)  # a float32 scalar: a Python float costs a cast per call on strided views
    a *= half
    a += half


def record_norm(dh_norms: np.ndarray | None, t: int, dh: np.ndarray) -> None:
    """Store ||dL/dh_t|| (Frobenius norm over the batch) when a diagnostic buffer is given."""
    if dh_norms is not None:
        dh_norms[t] = frobenius_norm(dh)


def final_state(hs: np.ndarray, batch_sizes: np.ndarray | None) -> np.ndarray:
    """(B, H) state at each sequence's last real step from hs (T+1, B, H), lengths sorted longest first."""
    if batch_sizes is None:
        return hs[-1].copy()
    B = hs.shape[1]
    lengths = (batch_sizes[:, None] > np.arange(B)[None, :]).sum(axis=0)  # (B,)
    return hs[lengths, np.arange(B)]


def zero_finished(buf: np.ndarray, batch_sizes: np.ndarray | None) -> None:
    """Zero the rows of (T, B, ...) buf that belong to sequences already finished at each step."""
    if batch_sizes is not None:
        for t, n in enumerate(batch_sizes):
            buf[t, n:] = 0

