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

import numpy as np

EPS = 1e-5  # added to the variance, as torch.nn.functional.layer_norm's default


def normalize(a: np.ndarray, n_out: np.ndarray, r_out: np.ndarray) -> None:
    """Write n = (a - mean(a)) / sqrt(var(a) + eps) into n_out (..., K) and r = 1/sqrt(var + eps) into r_out
    (..., 1), over a's last axis; n_out may be a itself."""
    np.mean(a, axis=-1, keepdims=True, out=r_out)  # r_out holds mu for a moment
    np.subtract(a, r_out, out=n_out)  # a - mu
    np.mean(np.square(n_out), axis=-1, keepdims=True, out=r_out)  # var (a (..., K) temporary)
    r_out += a.dtype.type(EPS)
    np.sqrt(r_out, out=r_out)
    np.reciprocal(r_out, out=r_out)
    n_out *= r_out


def normalize_backward(dn: np.ndarray, n: np.ndarray, r: np.ndarray, out: np.ndarray) -> None:
    """Write da = r (dn - mean(dn) - n mean(dn n)) into out (..., K), from dn and n (..., K) and r (..., 1);
    out may be dn itself."""
    m1 = np.mean(dn, axis=-1, keepdims=True)  # (..., 1)
    m2 = np.mean(dn * n, axis=-1, keepdims=True)  # (..., 1)
    np.subtract(dn, m1, out=out)
    out -= n * m2
    out *= r
