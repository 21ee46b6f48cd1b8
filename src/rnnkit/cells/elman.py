r"""Elman (simple) recurrent network, one layer, one direction.

Equations (PyTorch's ``nn.RNN``), for t = 1..T, with the batch as rows (x_t (B, D), h_t (B, H)), so
each weight, stored (out, in) as PyTorch stores it, multiplies from the right transposed::

    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh       # (B, H)
    h_t = f(a_t),   f = tanh or relu

Backward, with g_t = dL/dh_t (from the output at t and from step t+1)::

    da_t      = g_t * f'(a_t)        # tanh: 1 - h_t^2 ; relu: [h_t > 0]
    dh_{t-1} += da_t W_hh ;   dx_t = da_t W_ih
    dW_ih = sum_t da_t^T x_t,  dW_hh = sum_t da_t^T h_{t-1},  db_ih = db_hh = sum_t da_t

Parameters use PyTorch's layout: ``w_ih`` (H, D), ``w_hh`` (H, H), ``b_ih`` (H,), ``b_hh`` (H,).

Variable lengths (``batch_sizes``, PyTorch's packed sequences): sequence b runs for its first L_b
steps only.  Its final state is h_{L_b}, so the upstream dL/dh_T of the final state enters its
backward at step L_b; dL/dout at its padded steps (t > L_b) is ignored, and its dx there is 0.

Truncated BPTT with window k (``tbptt=k``): at every t > 0 that is a multiple of k (0-based), the
gradient into h_{t-1} is set to zero, so no gradient crosses a window boundary.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.cells._checks import check_backward_args, check_cache, check_forward_args
from rnnkit.cells._common import (cut_here, final_state, record_norm, rows_views, step_views,
                                  zero_finished)


class ElmanCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

    x: np.ndarray  # (T, B, D)
    hs: np.ndarray  # (T+1, B, H): h_0 .. h_T, rows of finished sequences left at zero
    w_ih: np.ndarray  # (H, D)
    w_hh: np.ndarray  # (H, H)
    batch_sizes: np.ndarray | None
    nonlinearity: str


def forward(
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    batch_sizes: np.ndarray | None = None,
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, np.ndarray, ElmanCache]:
    """Run the cell over x (T, B, D) from h0 (B, H); returns (out (T, B, H), h_T (B, H), cache).

    Weights in PyTorch's layout, of x's dtype: w_ih (H, D), w_hh (H, H), b_ih and b_hh (H,).
    ``batch_sizes`` (T,): the sequences still running at each step, the batch sorted longest first (see
    :mod:`rnnkit.cells`); a finished sequence's outputs are 0 and its state is held.
    ``nonlinearity``: "tanh" or "relu".
    """
    check_forward_args(x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, 1, "h0", False)
    if nonlinearity not in ("tanh", "relu"):  # anything else ran as tanh
        raise ValueError(f"Expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
    T, B, D = x.shape
    H = w_hh.shape[0]
    hs = np.zeros((T + 1, B, H), dtype=x.dtype)  # (T+1, B, H)
    hs[0] = h0
    # one GEMM for the input projection of every step, both biases folded in
    a_all = (x.reshape(T * B, D) @ w_ih.T).reshape(T, B, H)  # (T, B, H)
    a_all += b_ih + b_hh
    w_hh_t = np.ascontiguousarray(w_hh.T)  # (H, H): faster per-step GEMM than a transposed view
    relu = nonlinearity == "relu"
    rec = np.empty((B, H), dtype=x.dtype)  # recurrent projection buffer
    # per-step views, made once (see step_views)
    A, h_prev, h_next = (step_views(a, batch_sizes) for a in (a_all, hs[:-1], hs[1:]))
    REC = rows_views(rec, batch_sizes, T)
    for t in range(T):
        a = A[t]  # (n, H)
        np.matmul(h_prev[t], w_hh_t, out=REC[t])
        np.add(a, REC[t], out=a)
        if relu:
            np.maximum(a, 0, out=h_next[t])
        else:
            np.tanh(a, out=h_next[t])
    hT = final_state(hs, batch_sizes)
    cache = ElmanCache(x, hs, w_ih, w_hh, batch_sizes, nonlinearity)
    return hs[1:], hT, cache


def backward(
    dout: np.ndarray,
    dhT: np.ndarray | None,
    cache: ElmanCache,
    tbptt: int | None = None,
    dh_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Backpropagation through time; returns (dx, dh0, (dw_ih, dw_hh, db_ih, db_hh)).

    ``dout`` (T, B, H) is dL/dout and ``dhT`` the upstream gradient of the final state ((B, H); None for
    none); dx is (T, B, D), dh0 like the initial state, the weight gradients shaped like the weights.
    ``tbptt=k`` cuts the gradient every k steps (the module docstring says where).  ``dh_norms``, a (T,)
    float array, receives ||dL/dh_t|| (Frobenius norm over the batch) at every step, written in place
    (:mod:`rnnkit.diagnostics`).
    """
    check_cache(cache, ElmanCache)
    x, hs, w_ih, w_hh, batch_sizes, nonlinearity = cache
    T, B, D = x.shape
    H = w_hh.shape[0]
    check_backward_args(dout, dhT, (T, B, H), x.dtype, "dhT", False, tbptt, dh_norms)
    # f'(a_t) for every step at once, then scaled in place by dL/dh_t inside the loop
    if nonlinearity == "relu":
        da_all = (hs[1:] > 0).astype(x.dtype)  # (T, B, H)
    else:
        da_all = np.multiply(hs[1:], hs[1:])  # (T, B, H)
        np.subtract(1, da_all, out=da_all)  # 1 - h^2
    zero_finished(da_all, batch_sizes)  # finished sequences contribute no gradient
    dh = np.zeros((B, H), dtype=x.dtype) if dhT is None else dhT.astype(x.dtype, copy=True)
    DA, DOUT = step_views(da_all, batch_sizes), step_views(dout, batch_sizes)
    DH = rows_views(dh, batch_sizes, T)
    for t in range(T - 1, -1, -1):
        g = DH[t]  # (n, H) = dL/dh_t
        np.add(g, DOUT[t], out=g)
        record_norm(dh_norms, t, g)
        da = DA[t]
        np.multiply(da, g, out=da)
        if cut_here(t, tbptt):
            g[...] = 0
        else:
            np.matmul(da, w_hh, out=g)
    da2 = da_all.reshape(T * B, H)
    dx = (da2 @ w_ih).reshape(T, B, D)
    dw_ih = da2.T @ x.reshape(T * B, D)
    dw_hh = da2.T @ hs[:-1].reshape(T * B, H)
    db = da2.sum(axis=0)
    return dx, dh, (dw_ih, dw_hh, db, db.copy())
