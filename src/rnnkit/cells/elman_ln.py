r"""Elman RNN with layer normalization (Ba, Kiros & Hinton 2016, section 3.1), one layer, one direction.

The summed inputs a_t of each example are normalized over its H hidden units before the nonlinearity (the
paper's single-LN form: one LN over W_ih x_t + W_hh h_{t-1}, its eq. in section 3.1), with the batch as
rows (x_t (B, D), h_t (B, H))::

    a_t = x_t W_ih^T + h_{t-1} W_hh^T                                  # (B, H), biases come after LN (Ba et al.)
    h_t = f(gamma * (a_t - mu_t) / sqrt(var_t + eps) + beta + b_ih + b_hh),   f = tanh or relu

mu_t, var_t (B, 1) are each row's mean and variance over H, eps = 1e-5 (:mod:`rnnkit.cells._layernorm`);
gamma, beta (H,) are the parameters ``ln_weight``, ``ln_bias``.  beta and b_ih + b_hh all add to the same
place (kept apart so that W and b keep PyTorch's ``nn.RNN`` names and layout).

Backward, with g_t = dL/dh_t (from the output at t and from step t+1), n_t the normalized a_t, r_t its
1/sqrt(var_t + eps)::

    dy_t = g_t * f'(y_t)                           # tanh: 1 - h_t^2 ; relu: [h_t > 0]
    da_t = r_t (dn - mean(dn) - n_t mean(dn n_t)),  dn = dy_t * gamma
    dh_{t-1} = da_t W_hh ;  dx_t = da_t W_ih
    dW_ih = sum_t da_t^T x_t ;  dW_hh = sum_t da_t^T h_{t-1}
    db_ih = db_hh = dbeta = sum_t sum_b dy_t ;  dgamma = sum_t sum_b dy_t * n_t

As :mod:`rnnkit.cells.elman`, whose time loop stays as it is: the input GEMM of every step is one GEMM before
the loop, variable lengths (``batch_sizes``) and truncated BPTT (``tbptt``) are handled the same way.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.cells._checks import check_backward_args, check_cache, check_float_array, check_forward_args
from rnnkit.cells._common import cut_here, final_state, record_norm, rows_views, step_views, zero_finished
from rnnkit.cells._layernorm import centre_rows, normalize, normalize_backward

LN_PARAMS = ("ln_weight", "ln_bias")  # gamma, beta (H,): the names of a layer's LN parameters


class ElmanLNCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

    x: np.ndarray  # (T, B, D)
    hs: np.ndarray  # (T+1, B, H): h_0 .. h_T
    ns: np.ndarray  # (T, B, H): normalized a_t
    rs: np.ndarray  # (T, B, 1): 1 / sqrt(var_t + eps)
    w_ih: np.ndarray  # (H, D)
    w_hh: np.ndarray  # (H, H)
    gamma: np.ndarray  # (H,)
    batch_sizes: np.ndarray | None
    nonlinearity: str


def forward(
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    ln_weight: np.ndarray,
    ln_bias: np.ndarray,
    batch_sizes: np.ndarray | None = None,
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, np.ndarray, ElmanLNCache]:
    """Run the cell over x (T, B, D) from h0 (B, H); returns (out (T, B, H), h_T (B, H), cache).

    Weights as :func:`rnnkit.cells.elman.forward`'s, and the LN gain and shift ln_weight, ln_bias (H,), all of
    x's dtype.  ``batch_sizes`` and ``nonlinearity`` as there.
    """
    check_forward_args(x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, 1, "h0", False)
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
    T, B, D = x.shape
    H = w_hh.shape[0]
    for name, p in (("ln_weight", ln_weight), ("ln_bias", ln_bias)):
        check_float_array(name, p, (H,), "(H,)", x.dtype, whose="x's")
    shift = ln_bias + b_ih + b_hh  # (H,)
    # the projections by row-centred weights come out with mean 0 over their H outputs: the LN skips the mean
    a_all = (x.reshape(T * B, D) @ centre_rows(w_ih).T).reshape(T, B, H)  # (T, B, H): the input GEMM of every step
    alloc = np.empty if batch_sizes is None else np.zeros  # padded rows must read 0; else every row is written
    hs = alloc((T + 1, B, H), dtype=x.dtype)  # (T+1, B, H)
    hs[0] = h0
    ns = alloc((T, B, H), dtype=x.dtype)  # (T, B, H)
    rs = alloc((T, B, 1), dtype=x.dtype)  # (T, B, 1)
    w_hh_t = np.ascontiguousarray(centre_rows(w_hh).T)  # (H, H)
    relu = nonlinearity == "relu"
    rec = np.empty((B, H), dtype=x.dtype)  # recurrent projection buffer
    A, N, R, h_prev, h_next = (step_views(a, batch_sizes) for a in (a_all, ns, rs, hs[:-1], hs[1:]))
    REC = rows_views(rec, batch_sizes, T)
    for t in range(T):
        a = A[t]  # (n, H)
        np.matmul(h_prev[t], w_hh_t, out=REC[t])
        np.add(a, REC[t], out=a)
        normalize(a, N[t], R[t], centred=True)
        h = h_next[t]
        np.multiply(N[t], ln_weight, out=h)
        np.add(h, shift, out=h)  # y_t = gamma n + beta + b
        if relu:
            np.maximum(h, 0, out=h)
        else:
            np.tanh(h, out=h)
    cache = ElmanLNCache(x, hs, ns, rs, w_ih, w_hh, ln_weight, batch_sizes, nonlinearity)
    return hs[1:], final_state(hs, batch_sizes), cache


def backward(
    dout: np.ndarray,
    dhT: np.ndarray | None,
    cache: ElmanLNCache,
    tbptt: int | None = None,
    dh_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Backpropagation through time; returns (dx, dh0, (dw_ih, dw_hh, db_ih, db_hh, dln_weight, dln_bias)).

    Arguments as :func:`rnnkit.cells.elman.backward`'s.
    """
    check_cache(cache, ElmanLNCache)
    x, hs, ns, rs, w_ih, w_hh, gamma, batch_sizes, nonlinearity = cache
    T, B, D = x.shape
    H = w_hh.shape[0]
    check_backward_args(dout, dhT, (T, B, H), x.dtype, "dhT", False, tbptt, dh_norms)
    if nonlinearity == "relu":
        dy_all = (hs[1:] > 0).astype(x.dtype)  # (T, B, H): f'(y), scaled by dL/dh_t in the loop
    else:
        dy_all = np.multiply(hs[1:], hs[1:])
        np.subtract(1, dy_all, out=dy_all)  # 1 - h^2
    zero_finished(dy_all, batch_sizes)
    da_all = (np.empty if batch_sizes is None else np.zeros)((T, B, H), dtype=x.dtype)  # (T, B, H) dL/da_t
    dh = np.zeros((B, H), dtype=x.dtype) if dhT is None else dhT.astype(x.dtype, copy=True)
    DY, DA, N, R, DOUT = (step_views(a, batch_sizes) for a in (dy_all, da_all, ns, rs, dout))
    DH = rows_views(dh, batch_sizes, T)
    for t in range(T - 1, -1, -1):
        g = DH[t]  # (n, H) = dL/dh_t
        np.add(g, DOUT[t], out=g)
        record_norm(dh_norms, t, g)
        np.multiply(DY[t], g, out=DY[t])  # dy_t
        np.multiply(DY[t], gamma, out=DA[t])  # dn
        normalize_backward(DA[t], N[t], R[t], out=DA[t])  # da_t
        if cut_here(t, tbptt):
            g[...] = 0
        else:
            np.matmul(DA[t], w_hh, out=g)
    da2 = da_all.reshape(T * B, H)
    dx = (da2 @ w_ih).reshape(T, B, D)
    dw_ih = da2.T @ x.reshape(T * B, D)  # (H, D)
    dw_hh = da2.T @ hs[:-1].reshape(T * B, H)  # (H, H)
    db = dy_all.reshape(T * B, H).sum(axis=0)  # (H,)
    dgamma = np.einsum("tbh,tbh->h", dy_all, ns)  # (H,); finished rows of dy are 0
    return dx, dh, (dw_ih, dw_hh, db, db.copy(), dgamma, db.copy())
