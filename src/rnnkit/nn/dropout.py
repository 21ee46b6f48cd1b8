"""Inverted dropout, elementwise and variational (one mask per sequence, shared across time).

Training:  y = x * m / (1 - p),  m ~ Bernoulli(1 - p)  (so E[y] = x)
Backward:  dx = dy * m / (1 - p)
With ``p == 0`` or ``training=False`` dropout is the identity: ``y`` is ``x`` itself (the same
object, as in PyTorch), the backward returns ``dout`` itself, and the rng is not touched, so
evaluation never shifts a training run's random stream.

Variational dropout (Gal & Ghahramani 2016) draws one mask of shape (1, B, D) for a (T, B, D)
input and applies it at every time step.  Both return ``(out, cache)``; the backward returns
``(dx, {})``: no parameters, but the same contract as every other block.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.checks import dtype_fix


class DropoutCache(NamedTuple):
    """What :func:`dropout_backward` needs from :func:`dropout_forward` or :func:`variational_dropout_forward`."""

    mask: np.ndarray | None  # bool keep-mask broadcastable to x, or None for the identity
    scale: float  # 1 / (1 - p)
    dtype: np.dtype | None = None  # the forward input's, which dout must have (None: not recorded)


def _check(x: object, p: object, rng: object, training: object) -> bool:
    """Validate the arguments; return True when dropout actually has to draw a mask."""
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
        raise TypeError(f"Expected x to be a float numpy array, got {getattr(x, 'dtype', type(x).__name__)}")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)):
        raise TypeError(f"Expected p to be a float in [0, 1), got {p!r}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"Expected p in [0, 1), got {p}")
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"Expected training to be a bool, got {training!r}")
    active = bool(training) and p > 0.0
    if active and not isinstance(rng, np.random.Generator):
        raise TypeError(f"Expected rng to be a numpy.random.Generator, got {type(rng).__name__}: training=True "
                        f"draws dropout masks (p={p}), so pass rng=np.random.default_rng(seed) with it (or "
                        "training=False to predict)")
    return active


def _apply(x: np.ndarray, mask_shape: tuple[int, ...], p: float,
           rng: np.random.Generator) -> tuple[np.ndarray, DropoutCache]:
    # float32 uniforms when x is float32: half the random bytes, and plenty of resolution for p
    udtype = np.float32 if x.dtype == np.float32 else np.float64
    keep = rng.random(mask_shape, dtype=udtype) >= p  # bool, P(keep) = 1 - p; 1 byte/element in cache
    scale = 1.0 / (1.0 - p)
    out = x * keep  # broadcasts (1, B, D) over T for the variational mask; keeps x's dtype
    out *= x.dtype.type(scale)
    return out, DropoutCache(keep, scale, x.dtype)


def dropout_forward(x: np.ndarray, p: float, rng: np.random.Generator | None,
                    training: bool = True) -> tuple[np.ndarray, DropoutCache]:
    """Elementwise inverted dropout of x (any shape); the cache holds the keep-mask (shape of x)."""
    if not _check(x, p, rng, training):
        return x, DropoutCache(None, 1.0)
    return _apply(x, x.shape, float(p), rng)


def variational_dropout_forward(x: np.ndarray, p: float, rng: np.random.Generator | None,
                                training: bool = True) -> tuple[np.ndarray, DropoutCache]:
    """Dropout with one mask per sequence: x (T, B, D), mask (1, B, D) shared by all T steps."""
    active = _check(x, p, rng, training)
    if x.ndim != 3:
        raise ValueError(f"Expected x of shape (T, B, D), got {x.shape}")
    if not active:
        return x, DropoutCache(None, 1.0)
    return _apply(x, (1,) + x.shape[1:], float(p), rng)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``dx = dout * mask / (1 - p)`` for both dropout kinds; returns ``(dx, {})``."""
    mask, scale, dtype = cache
    if mask is None:
        return dout, {}
    if not (isinstance(dout, np.ndarray) and dout.dtype.kind == "f"):
        raise TypeError(f"Expected dout to be a float numpy array, got {getattr(dout, 'dtype', type(dout).__name__)}")
    # as linear_backward and embedding_backward: the gradient keeps the forward's dtype, not a silent float64
    if dtype is not None and dout.dtype != dtype:
        raise TypeError(f"Expected dout of dtype {dtype} (the forward input's), got {dout.dtype}: "
                        f"{dtype_fix('dout', dout.dtype, dtype, '')}")
    if dout.ndim != mask.ndim or any(m != 1 and m != d for m, d in zip(mask.shape, dout.shape)):
        raise ValueError(f"Expected dout of the forward input's shape (mask {mask.shape}), got {dout.shape}")
    dx = dout * mask  # same broadcast as the forward
    dx *= dout.dtype.type(scale)
    return dx, {}


def scaled_keep_mask(shape: tuple[int, ...], p: float, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """M / (1 - p) with M ~ Bernoulli(1 - p) of the given shape, as an array of ``dtype``.

    The multiplier the recurrent layers and the attentional decoder keep in their caches: for the
    dropout between stacked layers and for DropConnect on W_hh (``weight_drop``).  It is drawn from
    float64 uniforms whatever ``dtype`` is (the stream every recorded run with these options used),
    where :func:`dropout_forward` draws float32 ones for float32 inputs and keeps a bool mask.
    """
    keep = rng.random(shape) >= p  # float64 uniforms
    dt = np.dtype(dtype)
    return keep.astype(dt) / dt.type(1.0 - p)
