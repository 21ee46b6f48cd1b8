r"""Layer normalization over the last axis (Ba, Kiros & Hinton 2016), the piece the layer-normalized kernels
(:mod:`rnnkit.cells.elman_ln`, :mod:`rnnkit.cells.lstm_ln`) share.

For one row a (K units of one example at one step)::

    mu = mean(a) ;  var = mean((a - mu)^2) ;  r = 1 / sqrt(var + eps) ;  n = (a - mu) r
    LN(a; gamma, beta) = gamma * n + beta

and backward, from dn = dL/dn (that is gamma * dL/dLN(a))::

    da = r (dn - mean(dn) - n mean(dn * n))

eps is :data:`EPS` = 1e-5, ``torch.nn.functional.layer_norm``'s default.  The gain and shift gradients,
dgamma = sum dy * n and dbeta = sum dy, are summed by the kernels over steps and batch at once.
"""
from __future__ import annotations

import functools

import numpy as np

EPS = 1e-5  # added to the variance, as torch.nn.functional.layer_norm's default
_BLOCK = 1 << 16  # elements per block of normalize_backward on all steps at once


@functools.lru_cache(maxsize=32)
def _ones(k: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of k ones (k,): a row's sum is one matrix-vector product with it (a BLAS call, several
    times faster than ``np.mean`` on the small rows of a time step)."""
    ones = np.ones(k, dtype)
    ones.setflags(write=False)
    return ones


def _row_mean(a: np.ndarray, out: np.ndarray) -> None:
    """Write mean(a) over a's last axis (..., K) into out (..., 1)."""
    k = a.shape[-1]
    np.matmul(a, _ones(k, a.dtype), out=out[..., 0])
    out *= a.dtype.type(1 / k)


def _row_mean_of_product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Write mean(a * b) over the last axis (..., K) into out (..., 1): one stacked (1, K) @ (K, 1) product per
    row, without an (..., K) temporary."""
    np.matmul(a[..., None, :], b[..., :, None], out=out[..., None])
    out *= a.dtype.type(1 / a.shape[-1])


def centre_rows(w: np.ndarray) -> np.ndarray:
    """w (K, D) minus its mean row (D,): then v W_c^T = v W^T - mean(v W^T) for every v, so a projection by W_c
    comes out already centred over its K outputs (the LN's mean costs nothing per step; equal up to rounding)."""
    return w - w.mean(axis=0)


def normalize(a: np.ndarray, n_out: np.ndarray, r_out: np.ndarray, centred: bool = False) -> None:
    """Write n = (a - mean(a)) / sqrt(var(a) + eps) into n_out (..., K) and r = 1/sqrt(var + eps) into r_out
    (..., 1), over a's last axis; n_out may be a itself.  ``centred``: a's rows already have mean 0 (a
    projection by :func:`centre_rows` weights), so the mean is not taken again.  Two passes (the variance of
    the centred rows), as ``torch.nn.functional.layer_norm``, not mean(a^2) - mu^2, which loses digits when
    |mu| >> std."""
    if not centred:
        _row_mean(a, r_out)  # r_out holds mu for a moment
        np.subtract(a, r_out, out=n_out)  # a - mu
        a = n_out
    _row_mean_of_product(a, a, r_out)  # var
    r_out += a.dtype.type(EPS)
    np.sqrt(r_out, out=r_out)
    np.reciprocal(r_out, out=r_out)
    np.multiply(a, r_out, out=n_out)


def normalize_backward(dn: np.ndarray, n: np.ndarray, r: np.ndarray, out: np.ndarray) -> None:
    """Write da = r (dn - mean(dn) - n mean(dn n)) into out (..., K), from dn and n (..., K) and r (..., 1);
    out may be dn itself.  Rows of all steps at once (..., B, K) go a block of steps at a time, so that the
    temporaries stay small and in cache (a fresh (T, B, K) temporary costs more than the arithmetic)."""
    step = max(1, _BLOCK // max(1, dn[0].size)) if dn.ndim > 2 else 1  # steps per block
    if dn.ndim > 2 and dn.shape[0] > step:
        for i in range(0, dn.shape[0], step):
            s = slice(i, i + step)
            _normalize_backward(dn[s], n[s], r[s], out[s])
    else:
        _normalize_backward(dn, n, r, out)


def _normalize_backward(dn: np.ndarray, n: np.ndarray, r: np.ndarray, out: np.ndarray) -> None:
    """:func:`normalize_backward` on one block."""
    m1 = np.empty(r.shape, dn.dtype)  # (..., 1)
    m2 = np.empty(r.shape, dn.dtype)  # (..., 1)
    _row_mean(dn, m1)
    _row_mean_of_product(dn, n, m2)
    np.subtract(dn, m1, out=out)
    out -= n * m2
    out *= r
