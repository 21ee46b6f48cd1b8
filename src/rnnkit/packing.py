"""Variable-length batches: lengths and masks, sorting, and per-sequence time reversal.

A padded batch is time-major, (T, B, ...), with each sequence's real tokens first and padding at the
end.  Internally the batch is sorted longest first so that at step t the running sequences are a
prefix of the batch, ``batch_sizes[t]`` of them: the same layout as PyTorch's packed sequences.
"""
from __future__ import annotations

import numpy as np

from rnnkit.checks import check_binary_mask


def resolve_lengths(T: int, B: int, lengths=None, mask=None, name: str = "lengths") -> np.ndarray | None:
    """Validate ``lengths`` (B,) or a (T, B) prefix ``mask``; return int64 lengths, or None if all are T.
    ``name``: what the errors call the lengths (a caller's own argument, e.g. "target_lengths")."""
    if lengths is not None and mask is not None:
        raise ValueError("Expected either lengths or mask, got both")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != (T, B):
            raise ValueError(f"Expected mask of shape (T, B) = {(T, B)}, got {mask.shape}")
        m = check_binary_mask("mask", mask)  # (T, B) bool
        lengths = m.sum(axis=0)  # (B,)
        prefix = np.arange(T)[:, None] < lengths[None, :]
        if not np.array_equal(m, prefix):
            bad = int(np.nonzero((m != prefix).any(axis=0))[0][0])
            raise ValueError(
                f"Expected mask to mark a prefix of each sequence (real tokens first, padding at the end), "
                f"got a gap in sequence {bad}"
            )
        empty = np.flatnonzero(lengths == 0)
        if empty.size:  # said in the mask's words: the lengths below are the caller's own only with lengths=
            which = f"column {empty[0]}" if empty.size == 1 else f"columns {empty[:5].tolist()}"
            raise ValueError(f"Expected at least one real step in every sequence, got mask {which} all padding: "
                             f"drop {'that sequence' if empty.size == 1 else 'those sequences'} from the batch")
    if lengths is None:
        return None
    lengths = np.asarray(lengths)
    if lengths.shape != (B,):
        first = (f"; x is time-major (T, B, ...) with T = {T}, B = {B}: batch-first input needs x.swapaxes(0, 1)"
                 if lengths.shape == (T,) else "")  # the lengths count what x has on its first axis
        raise ValueError(f"Expected {name} of shape (B,) = ({B},), got {lengths.shape}{first}")
    # ints, or floats that hold whole numbers; not bools (a mask row), strings or None
    if lengths.dtype.kind not in "iuf" or (lengths.dtype.kind == "f" and not np.all(np.mod(lengths, 1) == 0)):
        raise TypeError(f"Expected integer {name}, got dtype {lengths.dtype}"
                        + (" (a mask? pass it as mask=, of shape (T, B))" if lengths.dtype == np.bool_ else ""))
    if B and (lengths.min() < 1 or lengths.max() > T):  # before the cast: 1e20 would wrap to a negative int
        raise ValueError(
            f"Expected every {'length' if name == 'lengths' else 'value of ' + name} between 1 and T={T}, "
            f"got min {lengths.min()} and max {lengths.max()}"
        )
    lengths = lengths.astype(np.int64)
    if np.all(lengths == T):
        return None
    return lengths


def sort_by_length(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (order, inverse): ``lengths[order]`` is non-increasing and ``order[inverse]`` is the identity."""
    order = np.argsort(-lengths, kind="stable")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return order, inverse


PREDICT_TOKENS = 16_384  # padded tokens a prediction batch holds at most (a BiLSTM tagger keeps ~10 KB a token)
# padded tokens a classifier's training step holds at once (more runs as sub-batches whose gradients add up):
# 32 texts of 2,048 tokens, so ordinary batches stay whole; one text of 200,000 words among 31 short ones
# padded them all to its length (10 GB at --hidden 16)
TRAIN_TOKENS = 65_536


def length_batches(order: np.ndarray, lengths: np.ndarray, batch_size: int, max_tokens: int = 8192,
                   token_cap: int | None = None) -> list[np.ndarray]:
    """Consecutive runs of ``order`` (sequence indices sorted by ``lengths``, either way), each at most
    ``batch_size`` long, cut early where padding to the run's longest would exceed ``max_tokens`` and
    be more than a third padding.  One long line among short ones then runs on its own instead of padding
    a whole batch to its length (31 short sentences and one of 20,000 words took 4.6 GB together, 0.2 GB
    apart), while batches of similar lengths keep their full size.  ``token_cap``: also cut wherever the
    padded batch would exceed it, padding or not (prediction: 128 lines of 1,000 characters held 1.2 GB)."""
    out, start, longest, real = [], 0, 0, 0
    for pos, i in enumerate(order.tolist()):
        n = int(lengths[i])
        count = pos - start + 1
        padded = max(longest, n) * count
        if pos > start and (count > batch_size or (padded > max_tokens and 2 * padded > 3 * (real + n))
                            or (token_cap is not None and padded > token_cap)):
            out.append(order[start:pos])
            start, longest, real = pos, 0, 0
        longest, real = max(longest, n), real + n
    if start < len(order):
        out.append(order[start:])
    return out


def batch_sizes(sorted_lengths: np.ndarray, T: int) -> np.ndarray:
    """(T,) number of sequences still running at each step, for lengths sorted longest first."""
    return (sorted_lengths[None, :] > np.arange(T)[:, None]).sum(axis=1)


def reverse_index(lengths: np.ndarray | None, T: int, B: int) -> np.ndarray | None:
    """(T, B) time index that reverses each sequence's real tokens and leaves its padding in place.

    ``idx[t, b] = lengths[b] - 1 - t`` for ``t < lengths[b]``, else ``t``; it is its own inverse.
    Returns None when every sequence has length T (then plain ``x[::-1]`` reverses).
    """
    if lengths is None:
        return None
    t = np.arange(T)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def reverse_time(x: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    """Reverse each sequence of x (T, B, ...) along time, padding kept at the end (see reverse_index)."""
    if idx is None:
        return np.ascontiguousarray(x[::-1])
    T, B = idx.shape
    if x.flags.c_contiguous:  # one gather of whole (B, ...) rows: 14-114x faster than take_along_axis
        flat = (idx * B + np.arange(B)).reshape(-1)  # (T B,) row of x.reshape(T B, ...) for each output row
        return x.reshape((T * B,) + x.shape[2:]).take(flat, axis=0).reshape(x.shape)
    return x[idx, np.arange(B)]
