"""Norms that neither underflow nor overflow where the norm itself is a normal number: the gradient-flow
diagnostic's ||dL/dh_t||_F (:mod:`rnnkit.cells._common`) and gradient clipping's ||g||_2 (:mod:`rnnkit.optim.clip`)
are both :func:`frobenius_norm`, the plain dot unless its sum of squares under- or overflowed, then
:func:`scaled_norm`; clipping's other p-norms fall back to :func:`scaled_norm` when they overflow."""
from __future__ import annotations

import math

import numpy as np

_SQUARES_OK = {np.dtype(d): (float(np.finfo(d).tiny / np.finfo(d).eps), float(np.finfo(d).max))
               for d in (np.float32, np.float64)}  # <a, a> in [lo, hi]: sqrt(<a, a>) is accurate (float16: summed in float32)


def _accumulated(a: np.ndarray) -> np.ndarray:
    """``a`` in the dtype its sums are taken in: its own, but float32 for float16, whose sum of squares
    overflows at 65504 (np.ones(100000, float16): inf, its norm 316.2); the square of any float16 is a normal
    float32 and their sum stays finite, so a float16 array's plain sum of squares is always accurate."""
    return a.astype(np.float32) if a.dtype == np.float16 else a


def scaled_norm(v: np.ndarray, norm_type: float = 2.0) -> float:
    """||v||_p (of all of v's entries, as one vector) taken of the scaled array:

        ||v||_p = m * ||v / m||_p,  m = max_i |v_i|,

    as LAPACK's nrm2 does, so that no power |v_i / m|^p overflows (each is <= 1) and the largest is 1, not a
    number flushed to 0; finite whenever the norm is (float64 [1e200] * 4: 2e200).  The work is in v's own
    dtype (a float32 array is divided and summed in float32: the diagnostic's figures stay what they were;
    clipping passes float64), a float16 one's in float32 (:func:`_accumulated`).  p = inf, an all-zero v, or an
    inf or NaN in it: m itself."""
    if v.size == 0:
        return 0.0
    v = _accumulated(v)
    m = float(np.max(np.abs(v)))
    if m == 0.0 or not math.isfinite(m) or norm_type == math.inf:
        return m  # NaN, inf, 0, or the max norm itself
    b = v / v.dtype.type(m)  # in v's dtype
    if norm_type == 2.0:
        return m * math.sqrt(float(np.vdot(b, b)))  # one BLAS dot of the flattened array
    return m * float(np.linalg.norm(b.ravel(), ord=norm_type))


def frobenius_norm(a: np.ndarray, scaled_dtype: object = None) -> float:
    """||a||_F = sqrt(sum a_ij^2), without underflow or overflow of the squares: the plain dot, else scaled.

    sqrt(<a, a>) (one BLAS dot) is exact enough while the sum of squares stays within the dtype's normal range;
    below it (a float64 gradient under ~1e-154, where its squares underflow) or above it, the norm is taken of
    the scaled array (:func:`scaled_norm`): m * ||a / m||_F with m = max |a_ij|, in ``scaled_dtype`` if given
    (clipping's float64), else in a's own.  A float16 array is summed in float32 (:func:`_accumulated`).  The
    gradient-flow diagnostic and gradient clipping's 2-norms both come from here.
    """
    a = _accumulated(a)
    s = float(np.vdot(a, a))  # an overflow gives inf here, silently, and is handled below
    lo, hi = _SQUARES_OK.get(a.dtype, _SQUARES_OK[np.dtype(np.float64)])
    if lo <= s <= hi:  # squares below tiny (flushed or subnormal) add less than eps to s
        return math.sqrt(s)
    return scaled_norm(a if scaled_dtype is None else a.astype(scaled_dtype, copy=False))
