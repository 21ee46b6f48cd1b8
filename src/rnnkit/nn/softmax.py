"""Softmax, log-softmax and the softmax cross-entropy loss, numerically stable and dtype-preserving.

    softmax(x)_v     = exp(x_v - m) / sum_u exp(x_u - m),        m = max_u x_u
    log_softmax(x)_v = x_v - m - log sum_u exp(x_u - m)

Subtracting the row maximum ``m`` changes nothing mathematically but keeps every exponent <= 0,
so logits of magnitude 1e4 neither overflow nor turn into nan.  Float32 stays float32: these run
on (T*B, V) arrays with V ~ 10^4 in language models, where a float64 copy would double memory.

Cross-entropy over N = T*B tokens with targets t_n and weights w_n:

    loss = sum_n w_n * (log sum_v exp z_nv - z_{n,t_n})
    dloss/dz_nv = w_n * (softmax(z_n)_v - [v == t_n])

with ``w_n = mask_n`` for ``reduction="sum"`` and ``w_n = mask_n / sum_k mask_k`` for "mean" (the
mean over unmasked tokens only; 0 if every token is masked, with zero gradient).  Class weights
``weight`` (V,) (a rare class counted more) scale each position by its target's weight, as
``torch.nn.functional.cross_entropy(weight=...)`` does: ``w_n = mask_n * weight[t_n]`` for "sum", and
for "mean" that divided by ``sum_k mask_k * weight[t_k]`` (torch's normalisation, not the count).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.checks import torch_hint

REDUCTIONS = ("mean", "sum")


def _check_float(x: object, name: str) -> None:
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__ + torch_hint(x)
        raise TypeError(f"Expected {name} to be a float numpy array, got {got}")


def _check_classes(x: np.ndarray, axis: int) -> None:
    """``axis`` an axis of x, holding at least one class.  A softmax over no classes is undefined: say so,
    not numpy's "zero-size array to reduction"."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"Expected axis to be an int, got {type(axis).__name__} {axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"Expected axis in [{-x.ndim}, {x.ndim}) for x of shape {x.shape}, got {axis}")
    if x.shape[axis] == 0:
        raise ValueError(f"Expected at least one class along axis {axis} of x, got shape {x.shape}")


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Stable ``log_softmax`` along ``axis``; same shape and dtype as ``x``."""
    _check_float(x, "x")
    _check_classes(x, axis)
    out = x - x.max(axis=axis, keepdims=True)  # every entry <= 0
    lse = np.log(np.exp(out).sum(axis=axis, keepdims=True))  # log sum exp of the shifted values
    out -= lse
    return out


def log_softmax_at(z: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``log_softmax(z)[arange(N), targets]`` (N,) for logits z (N, V), which it overwrites: the targets'
    entries are read from the shifted logits before they are exponentiated in place, so no second
    (N, V) array is made.  The same operations as :func:`log_softmax`, so the same bits."""
    _check_float(z, "z")
    _check_classes(z, -1)
    z -= z.max(axis=1, keepdims=True)  # every entry <= 0
    picked = z[np.arange(z.shape[0]), targets]  # (N,)
    np.exp(z, out=z)
    return picked - np.log(z.sum(axis=1))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Stable ``softmax`` along ``axis``; same shape and dtype as ``x``."""
    _check_float(x, "x")
    _check_classes(x, axis)
    out = x - x.max(axis=axis, keepdims=True)
    np.exp(out, out=out)  # in place: one (.., V) buffer in total
    out /= out.sum(axis=axis, keepdims=True)
    return out


@dataclass(eq=False)
class CrossEntropyCache:
    """What the backward needs.  ``exp`` is overwritten by an ``overwrite=True`` backward."""

    exp: np.ndarray | None  # (N, V) exp(z - m), unnormalised: normalising is folded into backward
    sumexp: np.ndarray  # (N,)
    targets: np.ndarray  # (N,) with masked positions replaced by 0, safe to index with
    weights: np.ndarray  # (N,) w_n as in the module docstring
    shape: tuple[int, ...]  # the logits' shape


def check_targets(targets: object, mask: object, shape: tuple[int, ...], vocab_size: int,
                  whose: str = "one per position") -> tuple[np.ndarray, np.ndarray | None]:
    """Flat targets (N,) and the mask as bool (N,) or None, for an output layer that computes its own
    loss (the class-based and adaptive softmaxes): integer targets of ``shape``, a mask of the same
    shape that is bool or 0/1, and every unmasked target in [0, vocab_size).  ValueError or TypeError
    otherwise, as :func:`softmax_cross_entropy` gives."""
    lead = tuple(shape)
    if not (isinstance(targets, np.ndarray) and targets.dtype.kind in "iu"):
        got = getattr(targets, "dtype", type(targets).__name__)
        raise TypeError(f"Expected targets to be an integer numpy array, got {got}")
    if targets.shape != lead:
        raise ValueError(f"Expected targets of shape {lead} ({whose}), got {targets.shape}")
    t, keep = targets.reshape(-1), None
    if mask is not None:
        if not isinstance(mask, np.ndarray):
            raise TypeError(f"Expected mask to be a numpy array or None, got {type(mask).__name__}")
        if mask.shape != lead:
            raise ValueError(f"Expected mask of shape {lead} (the targets'), got {mask.shape}")
        if mask.dtype != np.bool_:
            if mask.dtype.kind not in "iuf" or not np.all((mask == 0) | (mask == 1)):
                raise ValueError("Expected mask to be bool or hold only 0 and 1")
            mask = mask != 0
        keep = mask.reshape(-1)
    checked = t if keep is None else t[keep]
    if checked.size and (checked.min() < 0 or checked.max() >= vocab_size):
        bad = checked[(checked < 0) | (checked >= vocab_size)][0]
        raise ValueError(f"Expected targets in [0, {vocab_size}) at unmasked positions, got {bad}")
    return t, keep


def check_class_weights(weight: object, num_classes: int) -> np.ndarray:
    """``weight`` as a float64 array (V,) of finite numbers >= 0, not all 0; ValueError or TypeError otherwise."""
    if isinstance(weight, (str, bytes)) or not hasattr(weight, "__len__"):
        raise TypeError(f"Expected weight as a sequence or array of {num_classes} class weights, got "
                        f"{type(weight).__name__}{torch_hint(weight)}")
    try:
        w = np.asarray(weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"Expected weight as numbers, one per class, got {weight!r}") from None
    if w.shape != (num_classes,):
        raise ValueError(f"Expected weight of shape ({num_classes},) (one per class), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError(f"Expected class weights finite, >= 0 and not all 0, got {w.tolist()}")
    return w


def token_weights(logits: np.ndarray, targets: object, mask: object, reduction: str,
                  weight: object = None) -> tuple[np.ndarray, np.ndarray]:
    """Checked flat targets (N,) (masked ones replaced by 0) and the loss weights w_n (N,) in the
    logits' dtype, as in the module docstring; raises on a bad shape, dtype, target, reduction or
    class weight."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"Expected reduction in {REDUCTIONS}, got {reduction!r}")
    V = logits.shape[-1]
    t, keep = check_targets(targets, mask, logits.shape[:-1], V, "the logits' without V")  # (N,), (N,) or None
    dtype = logits.dtype
    if keep is None:
        weights = np.ones(t.shape, dtype=dtype)  # (N,)
    else:
        t = np.where(keep, t, 0)  # masked targets may be out of range; any valid index will do
        weights = keep.astype(dtype)  # (N,)
    if weight is not None:
        weights *= check_class_weights(weight, V)[t].astype(dtype)  # (N,) masked positions stay 0
    if reduction == "mean":
        count = weights.sum()
        if count > 0:
            weights /= count
    return t, weights


def weighted_total(nll: np.ndarray, weights: np.ndarray) -> float:
    """sum_n w_n nll_n as a Python float, accumulated in float64 (N float32 terms would lose digits)."""
    used = weights != 0
    return float(np.dot(nll[used].astype(np.float64), weights[used].astype(np.float64)))


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None,
                          reduction: str = "mean", weight: np.ndarray | None = None) -> tuple[float, CrossEntropyCache]:
    """Cross-entropy of ``softmax(logits)`` against integer targets; returns ``(loss, cache)``.

    logits: (T, B, V) or (N, V), float32 or float64.  targets: (T, B) or (N,), ints in [0, V).
    mask: same shape as targets, bool or 0/1; masked-out positions count for nothing and may hold
    any integer target (e.g. -1 padding).  reduction: "mean" over unmasked tokens, or "sum".
    weight: None, or one weight per class (V,) (see the module docstring: "mean" then divides by the
    targets' summed weights, as torch does).  ``loss`` is a Python float.
    """
    _check_float(logits, "logits")
    if logits.ndim not in (2, 3):
        raise ValueError(f"Expected logits of shape (T, B, V) or (N, V), got {logits.shape}")
    t, weights = token_weights(logits, targets, mask, reduction, weight)  # (N,), (N,)
    V = logits.shape[-1]

    z = logits.reshape(-1, V)  # (N, V), a view when logits are contiguous
    rows = np.arange(z.shape[0])
    shifted = z - z.max(axis=1, keepdims=True)  # (N, V), the only (N, V) allocation
    target_shifted = shifted[rows, t]  # (N,) z_{n,t_n} - m_n, taken before exp overwrites it
    exp = np.exp(shifted, out=shifted)  # (N, V) in place
    sumexp = exp.sum(axis=1)  # (N,)
    nll = np.log(sumexp) - target_shifted  # (N,) per-token -log p(t_n)
    loss = weighted_total(nll, weights)
    return loss, CrossEntropyCache(exp, sumexp, t, weights, logits.shape)


def softmax_cross_entropy_backward(dloss: float, cache: CrossEntropyCache,
                                   overwrite: bool = True) -> np.ndarray:
    """``dlogits = dloss * w_n * (softmax(z_n) - onehot(t_n))``, shaped like the logits.

    With ``overwrite=True`` (default) the result is written into the cached (N, V) buffer, which
    saves allocating and filling another array of that size; the cache is then spent and a second
    backward on it raises ``ValueError``.  Pass ``overwrite=False`` to keep the cache reusable.
    """
    if not np.ndim(dloss) == 0:
        raise ValueError(f"Expected dloss to be a scalar, got shape {np.shape(dloss)}")
    if cache.exp is None:
        raise ValueError("Expected a fresh cache, got one a backward has already spent: run the forward again for "
                         "another backward (softmax_cross_entropy_backward itself keeps its cache with "
                         "overwrite=False)")
    exp = cache.exp  # (N, V)
    dtype = exp.dtype
    coef = (dtype.type(dloss) * cache.weights / cache.sumexp).astype(dtype, copy=False)  # (N,)
    if overwrite:
        dz = exp
        cache.exp = None
    else:
        dz = np.empty_like(exp)
    np.multiply(exp, coef[:, None], out=dz)  # (N, V) dloss * w_n * softmax(z_n)
    rows = np.arange(dz.shape[0])
    dz[rows, cache.targets] -= dtype.type(dloss) * cache.weights  # minus the one-hot part
    return dz.reshape(cache.shape)
