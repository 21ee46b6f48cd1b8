"""Central finite differences, shared by the gradient-check tests."""
from __future__ import annotations

import numpy as np


def numeric_grad(fun, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d fun() / d arr by central differences, perturbing each entry of ``arr`` in place (restored after)."""
    grad = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = fun()
        flat[i] = old - eps
        down = fun()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad
