r"""Gated recurrent unit, one layer, one direction.

Equations (PyTorch's ``nn.GRU``, gate order r, z, n in blocks of H rows), for t = 1..T::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          # reset gate   (B, H)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          # update gate
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))     # candidate; b_hn inside r *
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

Backward, with dh = dL/dh_t and q_t = W_hn h_{t-1} + b_hn::

    dz_n = dh * (1 - z_t) * (1 - n_t^2)
    dz_z = dh * (h_{t-1} - n_t) * z_t (1 - z_t)
    dz_r = dz_n * q_t * r_t (1 - r_t)
    dq   = dz_n * r_t
    dh_{t-1} = dh * z_t + [dz_r, dz_z, dq] W_hh
    dW_ih += [dz_r, dz_z, dz_n]^T x_t ;  dW_hh += [dz_r, dz_z, dq]^T h_{t-1}

The r and z rows of the weights are pre-scaled by 1/2 inside the kernel so one ``np.tanh`` call
gives both sigmoids (sigmoid(z) = (1 + tanh(z/2)) / 2).  Parameters keep PyTorch's layout.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.cells._common import active, cut_here, record_norm, sigmoid_via_tanh_


class GRUCache(NamedTuple):
    x: np.ndarray  # (T, B, D)
    gates: np.ndarray  # (T, B, 3H): activated r, z, n
    q: np.ndarray  # (T, B, H): W_hn h_{t-1} + b_hn
    hs: np.ndarray  # (T+1, B, H): h_0 .. h_T
    w_ih: np.ndarray  # (3H, D)
    w_hh: np.ndarray  # (3H, H)
    batch_sizes: np.ndarray | None


def forward(
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    batch_sizes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, GRUCache]:
    """Run the cell over x (T, B, D) from h0 (B, H); returns (out (T, B, H), h_T (B, H), cache)."""
    T, B, D = x.shape
    H = w_hh.shape[1]
    H2 = 2 * H
    scale = np.ones(3 * H, dtype=x.dtype)
    scale[:H2] = 0.5  # sigmoid(z) through tanh(z / 2)
    w_hh_sT = np.ascontiguousarray((w_hh * scale[:, None]).T)  # (H, 3H)
    bias_x = b_ih.copy()
    bias_x[:H2] += b_hh[:H2]  # b_hr, b_hz fold into the input projection; b_hn cannot
    bias_x *= scale
    b_hn = b_hh[H2:]
    gates = (x.reshape(T * B, D) @ (w_ih * scale[:, None]).T).reshape(T, B, 3 * H)  # (T, B, 3H)
    gates += bias_x
    q = np.zeros((T, B, H), dtype=x.dtype)  # (T, B, H)
    hs = np.zeros((T + 1, B, H), dtype=x.dtype)  # (T+1, B, H)
    hs[0] = h0
    rec = np.empty((B, 3 * H), dtype=x.dtype)
    tmp = np.empty((B, H), dtype=x.dtype)
    for t in range(T):
        n = active(batch_sizes, t, B)
        g = gates[t, :n]  # (n, 3H)
        hp = hs[t, :n]
        np.matmul(hp, w_hh_sT, out=rec[:n])
        rz = g[:, :H2]
        rz += rec[:n, :H2]
        np.tanh(rz, out=rz)
        sigmoid_via_tanh_(rz)
        qt = q[t, :n]
        np.add(rec[:n, H2:], b_hn, out=qt)
        cand = g[:, H2:]
        np.multiply(g[:, :H], qt, out=tmp[:n])  # r * (W_hn h + b_hn)
        cand += tmp[:n]
        np.tanh(cand, out=cand)
        h = hs[t + 1, :n]
        np.subtract(hp, cand, out=h)  # h_t = n + z * (h_{t-1} - n)
        h *= g[:, H:H2]
        h += cand
    if batch_sizes is None:
        hT = hs[T].copy()
    else:
        lengths = (batch_sizes[:, None] > np.arange(B)[None, :]).sum(axis=0)  # (B,)
        hT = hs[lengths, np.arange(B)]
    return hs[1:], hT, GRUCache(x, gates, q, hs, w_ih, w_hh, batch_sizes)


def backward(
    dout: np.ndarray,
    dhT: np.ndarray | None,
    cache: GRUCache,
    tbptt: int | None = None,
    dh_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Backpropagation through time; returns (dx, dh0, (dw_ih, dw_hh, db_ih, db_hh))."""
    x, gates, q, hs, w_ih, w_hh, batch_sizes = cache
    T, B, D = x.shape
    H = w_hh.shape[1]
    H2 = 2 * H
    dtype = x.dtype
    dh = np.zeros((B, H), dtype) if dhT is None else dhT.astype(dtype, copy=True)
    dzx_all = np.zeros((T, B, 3 * H), dtype)  # (T, B, 3H) grads of the input-side pre-activations
    dzh_all = np.zeros((T, B, 3 * H), dtype)  # (T, B, 3H) grads of W_hh h_{t-1} + b_hh
    tmp = np.empty((B, H), dtype)
    tmp2 = np.empty((B, H2), dtype)
    for t in range(T - 1, -1, -1):
        n = active(batch_sizes, t, B)
        g = gates[t, :n]
        r = g[:, :H]
        z = g[:, H:H2]
        cand = g[:, H2:]
        hp = hs[t, :n]
        dh_n = dh[:n]
        dh_n += dout[t, :n]
        record_norm(dh_norms, t, dh_n)
        dzx = dzx_all[t, :n]
        dzh = dzh_all[t, :n]
        t1 = tmp[:n]
        # dz_n = dh * (1 - z) * (1 - n^2)
        dzn = dzx[:, H2:]
        np.multiply(dh_n, z, out=dzn)
        np.subtract(dh_n, dzn, out=dzn)
        np.multiply(cand, cand, out=t1)
        np.subtract(1, t1, out=t1)
        dzn *= t1
        # dL/dz = dh * (h_{t-1} - n);  dL/dr = dz_n * q
        np.subtract(hp, cand, out=dzx[:, H:H2])
        dzx[:, H:H2] *= dh_n
        np.multiply(dzn, q[t, :n], out=dzx[:, :H])
        s = g[:, :H2]
        t2 = tmp2[:n]
        np.multiply(s, s, out=t2)
        np.subtract(s, t2, out=t2)  # sigmoid' = s (1 - s)
        dzx[:, :H2] *= t2
        dzh[:, :H2] = dzx[:, :H2]
        np.multiply(dzn, r, out=dzh[:, H2:])  # dL/dq
        dh_n *= z  # direct path h_{t-1} -> h_t
        if cut_here(t, tbptt):
            dh_n[...] = 0
        else:
            np.matmul(dzh, w_hh, out=t1)
            dh_n += t1
    dzx2 = dzx_all.reshape(T * B, 3 * H)
    dzh2 = dzh_all.reshape(T * B, 3 * H)
    dx = (dzx2 @ w_ih).reshape(T, B, D)
    dw_ih = dzx2.T @ x.reshape(T * B, D)
    dw_hh = dzh2.T @ hs[:-1].reshape(T * B, H)
    return dx, dh, (dw_ih, dw_hh, dzx2.sum(axis=0), dzh2.sum(axis=0))
