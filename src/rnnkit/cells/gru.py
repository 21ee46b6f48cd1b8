r"""Gated recurrent unit, one layer, one direction.

Equations (PyTorch's ``nn.GRU``, gate order r, z, n in blocks of H rows), for t = 1..T, with the
batch as rows (x_t (B, D), h_t (B, H)) and each (out, in) weight multiplying from the right
transposed::

    r_t = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)          # reset gate   (B, H)
    z_t = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)          # update gate
    n_t = tanh(x_t W_in^T + b_in + r_t * (h_{t-1} W_hn^T + b_hn))     # candidate; b_hn inside r *
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

This is PyTorch's (and cuDNN's) GRU, which applies the reset gate *after* the product with W_hn.
Cho et al. (2014) and Goodfellow et al. (Deep Learning, section 10.10.2) apply it before:
n_t = tanh(x_t W_in^T + b_in + (r_t * h_{t-1}) W_hn^T), a different function, not a
reparametrisation, so weights do not carry over between the two.

Backward, with dh = dL/dh_t and q_t = h_{t-1} W_hn^T + b_hn::

    dz_n = dh * (1 - z_t) * (1 - n_t^2)
    dz_z = dh * (h_{t-1} - n_t) * z_t (1 - z_t)
    dz_r = dz_n * q_t * r_t (1 - r_t)
    dq   = dz_n * r_t
    dh_{t-1} = dh * z_t + [dz_r, dz_z, dq] W_hh
    dx_t  = [dz_r, dz_z, dz_n] W_ih
    dW_ih += [dz_r, dz_z, dz_n]^T x_t ;  dW_hh += [dz_r, dz_z, dq]^T h_{t-1}
    db_ih += sum_b [dz_r, dz_z, dz_n] ;  db_hh += sum_b [dz_r, dz_z, dq]

The n blocks of the two bias gradients differ: b_in sits outside the reset gate (its gradient is
dz_n), b_hn inside r_t * (...) (its gradient is dq = dz_n * r_t), as W_hn's is.

The r and z rows of the weights are pre-scaled by 1/2 inside the kernel so one ``np.tanh`` call
gives both sigmoids (sigmoid(z) = (1 + tanh(z/2)) / 2).  Parameters keep PyTorch's layout.

Truncated BPTT with window k (``tbptt=k``): at every t > 0 that is a multiple of k (0-based), the
gradient into h_{t-1} is set to zero, the direct path dh * z_t and the recurrent products alike,
so no gradient crosses a window boundary.

Variable lengths (``batch_sizes``, PyTorch's packed sequences): sequence b runs for its first L_b
steps only.  Its final state is h_{L_b}, so the upstream dL/dh_T of the final state enters its
backward at step L_b; dL/dout at its padded steps (t > L_b) is ignored, and its dx there is 0.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.cells._checks import check_backward_args, check_cache, check_forward_args
from rnnkit.cells._common import (cut_here, final_state, record_norm, rows_views, sigmoid_via_tanh_, step_views,
                                  zero_finished)


class GRUCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

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
    """Run the cell over x (T, B, D) from h0 (B, H); returns (out (T, B, H), h_T (B, H), cache).

    Weights in PyTorch's layout, of x's dtype: w_ih (3H, D), w_hh (3H, H), b_ih and b_hh (3H,).
    ``batch_sizes`` (T,): the sequences still running at each step, the batch sorted longest first (see
    :mod:`rnnkit.cells`); a finished sequence's outputs are 0 and its state is held.
    """
    check_forward_args(x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, 3, "h0", False)
    T, B, D = x.shape
    H = w_hh.shape[1]
    H2 = 2 * H
    scale = np.ones(3 * H, dtype=x.dtype)
    scale[:H2] = 0.5  # sigmoid(z) through tanh(z / 2)
    # a contiguous (H, 3H) copy: the per-step GEMM runs ~25% faster on it than on a transposed view
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
    # per-step views, made once (see step_views): the r, z block, r, z, the candidate n
    RZ, R, Z, N = (step_views(gates[..., a:b], batch_sizes) for a, b in ((0, H2), (0, H), (H, H2), (H2, 3 * H)))
    h_prev, h_next, Q = (step_views(a, batch_sizes) for a in (hs[:-1], hs[1:], q))
    REC, TMP = rows_views(rec, batch_sizes, T), rows_views(tmp, batch_sizes, T)
    REC_RZ, REC_N = rows_views(rec[:, :H2], batch_sizes, T), rows_views(rec[:, H2:], batch_sizes, T)
    for t in range(T):
        hp = h_prev[t]
        np.matmul(hp, w_hh_sT, out=REC[t])
        rz = RZ[t]
        np.add(rz, REC_RZ[t], out=rz)
        np.tanh(rz, out=rz)
        sigmoid_via_tanh_(rz)
        qt = Q[t]
        np.add(REC_N[t], b_hn, out=qt)
        cand = N[t]
        np.multiply(R[t], qt, out=TMP[t])  # r * (W_hn h + b_hn)
        np.add(cand, TMP[t], out=cand)
        np.tanh(cand, out=cand)
        h = h_next[t]
        np.subtract(hp, cand, out=h)  # h_t = n + z * (h_{t-1} - n)
        np.multiply(h, Z[t], out=h)
        np.add(h, cand, out=h)
    return hs[1:], final_state(hs, batch_sizes), GRUCache(x, gates, q, hs, w_ih, w_hh, batch_sizes)


def _x_order(H: int) -> np.ndarray:
    """Rows (n, r, z) of W_ih: the order of the input-side block of the backward buffer."""
    return np.r_[2 * H : 3 * H, 0 : 2 * H]


def _factors(cache: GRUCache) -> np.ndarray:
    """The backward's recurrence-free factors for all steps at once: P (T, B, 4H), blocks
    [n | r | z | q] with

        P_n = (1 - z)(1 - n^2),  P_r = P_n q r (1 - r),  P_z = (h_{t-1} - n) z (1 - z),  P_q = P_n r

    so that per step the four gradient blocks are one product, dz = dh * P (dh broadcast over blocks).
    """
    gates, q, hs = cache.gates, cache.q, cache.hs
    T, B, G = gates.shape
    H = G // 3
    r = gates[..., :H]
    z = gates[..., H : 2 * H]
    cand = gates[..., 2 * H :]
    # the gate rows of finished sequences' padded steps hold the raw input projection (never squashed:
    # padding may hold anything), so products there may overflow; zero_finished clears them below
    with np.errstate(over="ignore", invalid="ignore"):
        P = np.empty((T, B, 4 * H), dtype=gates.dtype)
        Pn, Pr, Pz, Pq = (P[..., k * H : (k + 1) * H] for k in range(4))
        np.multiply(cand, cand, out=Pn)
        np.subtract(1, Pn, out=Pn)  # 1 - n^2
        np.subtract(1, z, out=Pz)
        Pn *= Pz  # (1 - z)(1 - n^2)
        Pz *= z  # z (1 - z)
        np.subtract(hs[:-1], cand, out=Pq)
        Pz *= Pq  # (h_{t-1} - n) z (1 - z)
        np.multiply(Pn, r, out=Pq)  # P_n r
        np.subtract(1, r, out=Pr)
        Pr *= Pq  # P_n r (1 - r)
        Pr *= q
    zero_finished(P, cache.batch_sizes)  # finished sequences contribute no gradient
    return P


def backward(
    dout: np.ndarray,
    dhT: np.ndarray | None,
    cache: GRUCache,
    tbptt: int | None = None,
    dh_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Backpropagation through time; returns (dx, dh0, (dw_ih, dw_hh, db_ih, db_hh)).

    ``dout`` (T, B, H) is dL/dout and ``dhT`` the upstream gradient of the final state ((B, H); None for
    none); dx is (T, B, D), dh0 like the initial state, the weight gradients shaped like the weights.
    ``tbptt=k`` cuts the gradient every k steps (the module docstring says where).  ``dh_norms``, a (T,)
    float array, receives ||dL/dh_t|| (Frobenius norm over the batch) at every step, written in place
    (:mod:`rnnkit.diagnostics`).

    One buffer holds, per step, the columns [dz_n | dz_r | dz_z | dq]: its first 3H columns are the
    input-side pre-activation gradients (in the order n, r, z) and its last 3H columns the
    recurrent-side ones (r, z, q, PyTorch's row order of W_hh), so both weight-gradient GEMMs and
    the per-step GEMM read strided views of it.  It starts as the factors P (see ``_factors``) and
    is scaled in place by dh at each step.
    """
    check_cache(cache, GRUCache)
    x, gates, q, hs, w_ih, w_hh, batch_sizes = cache
    T, B, D = x.shape
    H = w_hh.shape[1]
    dtype = x.dtype
    check_backward_args(dout, dhT, (T, B, H), dtype, "dhT", False, tbptt, dh_norms)
    dh = np.zeros((B, H), dtype) if dhT is None else dhT.astype(dtype, copy=True)
    dz_all = _factors(cache)  # (T, B, 4H): [dz_n | dz_r | dz_z | dq] once scaled by dh
    dz4_all = dz_all.reshape(T, B, 4, H)
    tmp = np.empty((B, H), dtype)
    # per-step views, made once (see step_views)
    DZ4, DZH, DOUT, Z = (step_views(a, batch_sizes) for a in (dz4_all, dz_all[..., H:], dout, gates[..., H : 2 * H]))
    DH, TMP = rows_views(dh, batch_sizes, T), rows_views(tmp, batch_sizes, T)
    DH3 = rows_views(dh[:, None, :], batch_sizes, T)  # dh as (n, 1, H), to scale the four blocks at once
    for t in range(T - 1, -1, -1):
        dh_n = DH[t]
        np.add(dh_n, DOUT[t], out=dh_n)
        record_norm(dh_norms, t, dh_n)
        np.multiply(DZ4[t], DH3[t], out=DZ4[t])
        if cut_here(t, tbptt):
            dh_n[...] = 0
        else:
            np.matmul(DZH[t], w_hh, out=TMP[t])
            np.multiply(dh_n, Z[t], out=dh_n)  # direct path h_{t-1} -> h_t through z
            np.add(dh_n, TMP[t], out=dh_n)
    dz2 = dz_all.reshape(T * B, 4 * H)
    dzx = dz2[:, : 3 * H]  # (T*B, 3H) input side, order n, r, z
    dzh = dz2[:, H:]  # (T*B, 3H) recurrent side, order r, z, n
    xo = _x_order(H)
    back = np.argsort(xo)  # from (n, r, z) back to PyTorch's (r, z, n)
    dx = (dzx @ w_ih[xo]).reshape(T, B, D)
    dw_ih = (dzx.T @ x.reshape(T * B, D))[back]
    dw_hh = dzh.T @ hs[:-1].reshape(T * B, H)
    return dx, dh, (dw_ih, dw_hh, dzx.sum(axis=0)[back], dzh.sum(axis=0))
