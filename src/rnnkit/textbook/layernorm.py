r"""Layer normalization (Ba, Kiros & Hinton 2016) as the lecture notes write it, for the textbook cells
:mod:`rnnkit.textbook.elman_ln`, :mod:`rnnkit.textbook.lstm_ln`, :mod:`rnnkit.textbook.gru_ln` and
:mod:`rnnkit.textbook.lstm_ln_peephole`.

For one vector a of K numbers (one example's summed inputs; no batch, so nothing is averaged over examples)::

    mu    = mean(a)                              # one number: the mean of a's K numbers
    sigma = sqrt(mean((a - mu)^2) + eps)         # one number; eps = 1e-5, as torch.nn.LayerNorm's default
    a_hat = (a - mu) / sigma                     # (K,) mean 0, variance about 1
    y     = gamma * a_hat + beta                 # (K,) learned gain gamma and shift beta

Backward, from dy = dL/dy (K,).  The gain and shift are elementwise: dgamma = dy * a_hat, dbeta = dy,
da_hat = dy * gamma.  Every a_k moves mu and sigma, so da is not da_hat / sigma alone.  With
d mu / d a_k = 1/K and d sigma / d a_k = (a_k - mu) / (K sigma) = a_hat_k / K (the mu inside sigma drops
out: sum_j (a_j - mu) = 0), d a_hat_j / d a_k = ([j = k] - 1/K - a_hat_j a_hat_k / K) / sigma, so
da_k = sum_j da_hat_j d a_hat_j / d a_k is::

    da = (da_hat - mean(da_hat) - a_hat * mean(da_hat * a_hat)) / sigma

the part of da_hat along the constant vector and the part along a_hat taken out (a shift of a, or a scaling
of a - mu, leaves a_hat as it is, so those directions get no gradient).  The cells write these lines out
where they normalize; :func:`mean` keeps each line as short as its equation.  The fast kernels' LN is
:mod:`rnnkit.cells._layernorm`.
"""
from __future__ import annotations

import numpy as np

from rnnkit.cells._layernorm import EPS  # 1e-5: the textbook and the kernels normalize alike

__all__ = ["EPS", "mean"]


def mean(a: np.ndarray) -> np.ndarray:
    """The mean of a vector's numbers, as a vector of one number (1,): it broadcasts over the vector, and
    ``rnnkit step`` prints it as the other quantities."""
    return np.mean(a, keepdims=True)
