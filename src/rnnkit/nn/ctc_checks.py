"""The checks of :func:`rnnkit.nn.ctc.ctc_loss`'s and the CTC decoders' arguments: one-line errors naming the fix."""
from __future__ import annotations

import numpy as np

from rnnkit.checks import torch_hint

CTC_REDUCTIONS = ("none", "sum", "mean")


def check_logits(logits: object, name: str = "logits") -> np.ndarray:
    """``logits`` if it is a float32 or float64 numpy array (T, B, C) with T >= 1, B >= 1 and C >= 2."""
    if not isinstance(logits, np.ndarray):
        raise TypeError(f"Expected {name} to be a numpy array (T, B, C), got {type(logits).__name__}"
                        f"{torch_hint(logits)}")
    if logits.dtype not in (np.float32, np.float64):
        raise TypeError(f"Expected {name} of dtype float32 or float64, got {logits.dtype}: convert with "
                        f"{name}.astype(np.float32)")
    if logits.ndim != 3 or 0 in logits.shape[:2] or logits.shape[2] < 2:
        raise ValueError(f"Expected {name} of shape (T, B, C) with T, B >= 1 and C >= 2 (the blank and at least one "
                         f"label), got {logits.shape}: a single sequence (T, C) is logits[:, None, :]")
    return logits


def check_blank(blank: object, C: int) -> int:
    """``blank`` as an int in [0, C)."""
    if isinstance(blank, (bool, np.bool_)) or not isinstance(blank, (int, np.integer)) or not 0 <= blank < C:
        raise ValueError(f"Expected blank to be a class index in [0, {C}) (C = {C} classes), got {blank!r}")
    return int(blank)


def _int_vector(name: str, value: object, B: int) -> np.ndarray:
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if not (isinstance(value, np.ndarray) and value.dtype.kind in "iu"):
        got = getattr(value, "dtype", type(value).__name__)
        raise TypeError(f"Expected {name} to be an integer numpy array (B,), got {got}{torch_hint(value)}")
    if value.shape != (B,):
        raise ValueError(f"Expected {name} of shape ({B},) (one per sequence of the batch), got {value.shape}")
    return value.astype(np.int64)


def check_input_lengths(input_lengths: object, T: int, B: int) -> np.ndarray:
    """``input_lengths`` (B,) int64 in [1, T]; None means every sequence is T frames long."""
    if input_lengths is None:
        return np.full(B, T, dtype=np.int64)
    lengths = _int_vector("input_lengths", input_lengths, B)
    bad = np.flatnonzero((lengths < 1) | (lengths > T))
    if bad.size:
        b = int(bad[0])
        raise ValueError(f"Expected input_lengths in [1, {T}] (T, the logits' first axis), got {lengths[b]} for "
                         f"sequence {b}: pass each sequence's number of real frames")
    return lengths


def check_targets(targets: object, target_lengths: object, B: int, C: int,
                  blank: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets (B, S) int64, padded past each length with the blank, target_lengths (B,) int64), from padded
    targets (B, S) or the concatenated (sum of target_lengths,) ones, as ``torch.nn.functional.ctc_loss`` takes
    them."""
    lengths = _int_vector("target_lengths", target_lengths, B)
    if lengths.size and lengths.min() < 0:
        raise ValueError(f"Expected target_lengths >= 0, got {lengths.min()}")
    if isinstance(targets, (list, tuple)):
        targets = np.asarray(targets, dtype=np.int64) if len(targets) else np.zeros(0, np.int64)
    if not (isinstance(targets, np.ndarray) and targets.dtype.kind in "iu"):
        got = getattr(targets, "dtype", type(targets).__name__)
        raise TypeError(f"Expected targets to be an integer numpy array, got {got}{torch_hint(targets)}")
    S = int(lengths.max()) if B else 0
    padded = np.full((B, S), blank, dtype=np.int64)  # (B, S)
    if targets.ndim == 2:
        if targets.shape[0] != B or targets.shape[1] < S:
            raise ValueError(f"Expected padded targets of shape ({B}, S) with S >= {S} (the longest target_length),"
                             f" got {targets.shape}")
        for b in range(B):
            padded[b, :lengths[b]] = targets[b, :lengths[b]]
    elif targets.ndim == 1:
        if targets.shape[0] != lengths.sum():
            raise ValueError(f"Expected concatenated targets of length {lengths.sum()} (the sum of target_lengths), "
                             f"got {targets.shape[0]}: or pass them padded, (B, S)")
        ends = np.cumsum(lengths)
        for b in range(B):
            padded[b, :lengths[b]] = targets[ends[b] - lengths[b]:ends[b]]
    else:
        raise ValueError(f"Expected targets of shape (B, S) (padded) or (N,) (concatenated), got {targets.shape}")
    real = np.arange(S)[None, :] < lengths[:, None]  # (B, S)
    used = padded[real]
    if used.size and (used.min() < 0 or used.max() >= C):
        bad = used[(used < 0) | (used >= C)][0]
        raise ValueError(f"Expected target labels in [0, {C}) (C = {C} classes), got {bad}")
    if np.any(used == blank):
        raise ValueError(f"Expected no target label equal to the blank {blank}: the blank means 'no label'; number "
                         f"the labels apart from it (e.g. 1..{C - 1} with blank=0) or pass the blank's index as blank")
    return padded, lengths


def check_reachable(target_lengths: np.ndarray, input_lengths: np.ndarray) -> None:
    """A target longer than its input can never be emitted (one frame per label at least): most likely the
    lengths are mixed up, so say so, unless the caller asked for such sequences to count 0 (zero_infinity)."""
    bad = np.flatnonzero(target_lengths > input_lengths)
    if bad.size:
        b = int(bad[0])
        raise ValueError(f"Expected target_lengths <= input_lengths (one frame per label at least), got "
                         f"{target_lengths[b]} > {input_lengths[b]} for sequence {b}: check the two lengths, give "
                         f"more frames, or pass zero_infinity=True to count such sequences as 0")


def check_reduction(reduction: object) -> str:
    if reduction not in CTC_REDUCTIONS:
        raise ValueError(f"Expected reduction in {CTC_REDUCTIONS}, got {reduction!r}")
    return str(reduction)
