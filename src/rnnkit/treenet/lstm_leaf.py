r"""The Tree-LSTM leaf, shared by the binary and the Child-Sum Tree-LSTM (a leaf has no children, so
no forget gate).  Gate blocks of H columns in the order i, o, u, with z = W_leaf x + b_leaf::

    i = sigmoid(z_i)   o = sigmoid(z_o)   u = tanh(z_u)   c = i * u   h = o * tanh(c)
    backward:  dc += dh * o * (1 - tanh(c)^2)
               dz_i = dc * u * i (1 - i)   dz_o = dh * tanh(c) * o (1 - o)   dz_u = dc * i * (1 - u^2)
"""
from __future__ import annotations

import numpy as np


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """In place: a <- sigmoid(a) = (1 + tanh(a / 2)) / 2, which never overflows."""
    half = a.dtype.type(0.5)
    a *= half
    np.tanh(a, out=a)
    a *= half
    a += half
    return a


def iou_(z: np.ndarray, H: int) -> np.ndarray:
    """In place: pre-activations z (n, 3H) into the gates i, o (sigmoid) and u (tanh); returns z.  A leaf's
    gates, and a Child-Sum node's (:mod:`rnnkit.treenet.childsum`)."""
    sigmoid_(z[:, : 2 * H])  # i, o
    np.tanh(z[:, 2 * H :], out=z[:, 2 * H :])  # u
    return z


def leaf_forward(z: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From the leaves' pre-activations z (n, 3H), activated in place into the gates i, o, u, return
    c, tanh(c) and h, each (n, H)."""
    iou_(z, H)
    c = z[:, :H] * z[:, 2 * H :]  # (n, H) i * u
    tc = np.tanh(c)  # (n, H)
    return c, tc, z[:, H : 2 * H] * tc


def iou_backward(dh: np.ndarray, dc: np.ndarray, g: np.ndarray, tc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dz (n, 3H) of the gates i, o, u; dL/dc (n, H), all that reaches c) from dL/dh and the dL/dc the
    parents sent (n, H each), the activated gates g (n, 3H) and tanh(c) (n, H): a leaf's, and the i, o, u part
    of a Child-Sum node's."""
    H = tc.shape[1]
    one = dh.dtype.type(1)
    i, o, u = (g[:, j * H : (j + 1) * H] for j in range(3))
    dc = dc + dh * o * (one - tc * tc)  # (n, H)
    return np.concatenate([dc * u * i * (one - i), dh * tc * o * (one - o), dc * i * (one - u * u)], axis=1), dc


def leaf_backward(dh: np.ndarray, dc: np.ndarray, g: np.ndarray, tc: np.ndarray) -> np.ndarray:
    """dL/dz (n, 3H) of the leaves (:func:`iou_backward`'s first)."""
    return iou_backward(dh, dc, g, tc)[0]
