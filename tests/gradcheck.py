"""Central finite differences, shared by the gradient-check tests."""
from __future__ import annotations

import numpy as np


def numeric_grad_at(fun, arr: np.ndarray, indices, eps: float = 1e-6) -> np.ndarray:
    """d fun() / d arr at the flat ``indices`` of ``arr`` by central differences, perturbing each entry
    in place (restored after); returns one float per index."""
    flat = arr.reshape(-1)
    out = np.zeros(len(indices))
    for k, i in enumerate(indices):
        old = flat[i]
        flat[i] = old + eps
        up = fun()
        flat[i] = old - eps
        down = fun()
        flat[i] = old
        out[k] = (up - down) / (2 * eps)
    return out


def numeric_grad(fun, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d fun() / d arr at every entry, shaped and typed like ``arr``."""
    return numeric_grad_at(fun, arr, range(arr.size), eps).astype(arr.dtype).reshape(arr.shape)
