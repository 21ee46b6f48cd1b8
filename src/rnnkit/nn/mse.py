"""Mean squared error, the loss of real-valued regression (the adding problem's), with its backward.

For predictions p and targets y of the same shape, N elements, and weights w_n::

    loss         = sum_n w_n (p_n - y_n)^2
    dloss/dp_n   = 2 w_n (p_n - y_n)

with ``w_n = mask_n`` for ``reduction="sum"`` and ``w_n = mask_n / sum_k mask_k`` for "mean": the mean over
the unmasked elements (0, with zero gradient, when every element is masked).  Without a mask every
``mask_n = 1``, and "mean" is ``torch.nn.functional.mse_loss``'s default.  A mask may be given per element
(the predictions' shape) or per position (their shape without the last axis, e.g. (T, B) for predictions
(T, B, D)): a masked position then drops all D of its elements, as ``mse_loss(p[mask], y[mask])`` would.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.checks import check_binary_mask, dtype_fix, torch_hint
from rnnkit.nn.softmax import _check_float

REDUCTIONS = ("mean", "sum")


@dataclass(eq=False)
class MSECache:
    """What :func:`mse_loss_backward` needs: the weighted residual."""

    diff: np.ndarray  # (...) p - y, shaped like the predictions
    weights: np.ndarray  # (...) w_n, broadcastable against diff: (...) or (..., 1) for a per-position mask


def _element_weights(pred: np.ndarray, mask: object, reduction: str) -> np.ndarray:
    """w_n as in the module docstring, in pred's dtype: shaped like pred, or like pred with its last axis 1
    for a per-position mask (broadcast over the last axis, and counted once per element)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"Expected reduction in {REDUCTIONS}, got {reduction!r}")
    if mask is None:
        weights = np.ones((1,) * pred.ndim, dtype=pred.dtype)  # broadcasts to every element
        count = pred.size
    else:
        if not isinstance(mask, np.ndarray):
            raise TypeError(f"Expected mask to be a numpy array or None, got {type(mask).__name__}{torch_hint(mask)}")
        if mask.shape == pred.shape:
            weights = check_binary_mask("mask", mask).astype(pred.dtype)  # (...)
            count = weights.sum()
        elif pred.ndim >= 1 and mask.shape == pred.shape[:-1]:
            weights = check_binary_mask("mask", mask).astype(pred.dtype)[..., None]  # (..., 1)
            count = weights.sum() * pred.shape[-1]  # each kept position holds D elements
        else:
            raise ValueError(f"Expected mask of shape {pred.shape} (one per element) or {pred.shape[:-1]} (one per "
                             f"position), got {mask.shape}")
    if reduction == "mean" and count > 0:
        weights = weights / pred.dtype.type(count)
    return weights


def mse_loss(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None,
             reduction: str = "mean") -> tuple[float, MSECache]:
    """Squared error of ``pred`` against ``target``; returns ``(loss, cache)``, ``loss`` a Python float.

    pred, target: float arrays of one shape and dtype (float32 or float64), e.g. (B, 1) or (T, B, D).
    mask: None, or bool / 0-1 of pred's shape or of pred's shape without its last axis; masked elements
    count for nothing and may hold any target.  reduction: "mean" over the unmasked elements, or "sum".
    """
    _check_float(pred, "pred")
    _check_float(target, "target")
    if target.shape != pred.shape:
        raise ValueError(f"Expected target of shape {pred.shape} (the predictions'), got {target.shape}")
    if target.dtype != pred.dtype:
        raise TypeError(f"Expected target of dtype {pred.dtype} (the predictions'), got {target.dtype}: "
                        f"{dtype_fix('target', target.dtype, pred.dtype, '')}")
    weights = _element_weights(pred, mask, reduction)
    diff = pred - target  # (...)
    if mask is not None:
        diff = np.where(weights != 0, diff, 0)  # a masked target may be NaN padding: keep it out of the sum
    # accumulated in float64: a float32 sum over many elements loses digits
    loss = float(np.sum((diff * diff * weights).astype(np.float64)))
    return loss, MSECache(diff, weights)


def mse_loss_backward(dloss: float, cache: MSECache) -> np.ndarray:
    """``dpred = dloss * 2 w_n (p_n - y_n)``, shaped like the predictions."""
    if not np.ndim(dloss) == 0:
        raise ValueError(f"Expected dloss to be a scalar, got shape {np.shape(dloss)}")
    if not isinstance(cache, MSECache):
        raise TypeError(f"Expected the cache mse_loss returned, got {type(cache).__name__}")
    dtype = cache.diff.dtype
    return (dtype.type(2 * dloss) * cache.weights * cache.diff).astype(dtype, copy=False)
