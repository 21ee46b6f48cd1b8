r"""GRU with layer normalization (in the manner of Ba, Kiros & Hinton 2016's LSTM, eqs. 20-22), one layer, one
direction.

As for the LSTM (:mod:`rnnkit.cells.lstm_ln`), the input and the recurrent projections are normalized apart, each
over the whole 3H gate vector of an example; the rest is PyTorch's ``nn.GRU`` (gate order r, z, n; the recurrent
n block, b_hn included, inside r * (...)).  With the batch as rows (x_t (B, D), h_t (B, H))::

    u_t = LN(x_t W_ih^T; g_ih, s_ih) + b_ih              # (B, 3H): [u_r, u_z, u_n]
    v_t = LN(h_{t-1} W_hh^T; g_hh, s_hh) + b_hh          # (B, 3H): [v_r, v_z, v_n]
    r_t = sigmoid(u_r + v_r) ;  z_t = sigmoid(u_z + v_z)
    n_t = tanh(u_n + r_t * v_n)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

LN(a; gain, shift) = gain * (a - mu(a)) / sqrt(var(a) + eps) + shift over each row, eps = 1e-5
(:mod:`rnnkit.cells._layernorm`); the gains and shifts are the parameters ``ln_ih_weight``, ``ln_ih_bias``,
``ln_hh_weight``, ``ln_hh_bias`` (3H,).

Backward, with dh = dL/dh_t, n_* the normalized rows, r_* their 1/sqrt(var + eps) and
LNb(d, n, r) = r (d - mean(d) - n mean(d n))::

    dz_n = dh (1 - z_t)(1 - n_t^2) ;  dz_z = dh (h_{t-1} - n_t) z_t (1 - z_t) ;  dz_r = dz_n v_n r_t (1 - r_t)
    du = [dz_r, dz_z, dz_n] ;  dv = [dz_r, dz_z, dz_n * r_t]
    dh_{t-1} = dh z_t + LNb(dv * g_hh, n_hh, r_hh) W_hh
    dx_t = LNb(du * g_ih, n_ih, r_ih) W_ih                               (all t at once, after the loop)
    dW_ih = sum_t LNb(du g_ih)^T x_t ;  dW_hh = sum_t LNb(dv g_hh)^T h_{t-1}
    db_ih = d(ln_ih_bias) = sum du ;  db_hh = d(ln_hh_bias) = sum dv
    d(ln_ih_weight) = sum du * n_ih ;  d(ln_hh_weight) = sum dv * n_hh

A separate kernel, so that the plain GRU's time loop (:mod:`rnnkit.cells.gru`) stays as it is.  Truncated BPTT
(``tbptt=k``) cuts dh at every t > 0 that is a multiple of k, the direct path dh z_t too; variable lengths
(``batch_sizes``) are handled as in :mod:`rnnkit.cells.gru`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.cells._checks import check_backward_args, check_cache, check_float_array, check_forward_args
from rnnkit.cells._common import cut_here, final_state, record_norm, rows_views, sigmoid_via_tanh_, step_views, \
    zero_finished
from rnnkit.cells._layernorm import centre_rows, normalize, normalize_backward

# the names of a layer's LN parameters, in the order forward takes them (3H each)
LN_PARAMS = ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias")


class GRULNCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

    x: np.ndarray  # (T, B, D)
    gates: np.ndarray  # (T, B, 3H): r, z, n activated
    v_n: np.ndarray  # (T, B, H): the recurrent n block, LN(h W_hh^T)_n + b_hn
    hs: np.ndarray  # (T+1, B, H)
    n_ih: np.ndarray  # (T, B, 3H)
    r_ih: np.ndarray  # (T, B, 1)
    n_hh: np.ndarray  # (T, B, 3H)
    r_hh: np.ndarray  # (T, B, 1)
    w_ih: np.ndarray  # (3H, D)
    w_hh: np.ndarray  # (3H, H)
    gains: tuple[np.ndarray, np.ndarray]  # ln_ih_weight, ln_hh_weight (3H,)
    batch_sizes: np.ndarray | None


def forward(
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    ln_ih_weight: np.ndarray,
    ln_ih_bias: np.ndarray,
    ln_hh_weight: np.ndarray,
    ln_hh_bias: np.ndarray,
    batch_sizes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, GRULNCache]:
    """Run the cell over x (T, B, D) from h0 (B, H); returns (out (T, B, H), h_T (B, H), cache).

    Weights as :func:`rnnkit.cells.gru.forward`'s (PyTorch's layout) and the four LN gains and shifts of
    :data:`LN_PARAMS` (3H,), all of x's dtype.  ``batch_sizes`` as there.
    """
    check_forward_args(x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, 3, "h0", False)
    T, B, D = x.shape
    H = w_hh.shape[1]
    G = 3 * H
    for name, p in zip(LN_PARAMS, (ln_ih_weight, ln_ih_bias, ln_hh_weight, ln_hh_bias)):
        check_float_array(name, p, (G,), "(3H,)", x.dtype, whose="x's")
    half = x.dtype.type(0.5)
    shift_hh = ln_hh_bias + b_hh  # (3H,)
    # the projections by row-centred weights come out with mean 0 over their 3H outputs: the LNs skip the mean
    w_hh_t = np.ascontiguousarray(centre_rows(w_hh).T)  # (H, 3H)
    n_ih = (x.reshape(T * B, D) @ centre_rows(w_ih).T).reshape(T, B, G)  # (T, B, 3H), normalized in place
    r_ih = np.empty((T, B, 1), dtype=x.dtype)
    normalize(n_ih, n_ih, r_ih, centred=True)  # the input side of every step at once
    gates = n_ih * ln_ih_weight  # (T, B, 3H): u_t, then r, z, n in place
    gates += ln_ih_bias + b_ih
    alloc = np.empty if batch_sizes is None else np.zeros  # padded rows must read 0; else every row is written
    hs = alloc((T + 1, B, H), dtype=x.dtype)  # (T+1, B, H); finished rows stay 0
    hs[0] = h0
    n_hh = alloc((T, B, G), x.dtype)  # (T, B, 3H)
    r_hh = alloc((T, B, 1), x.dtype)
    v_n = alloc((T, B, H), x.dtype)  # (T, B, H)
    rec = np.empty((B, G), dtype=x.dtype)  # v_t buffer
    Z, NH, RH, VN, RZ, R, N = (step_views(a, batch_sizes) for a in
                               (gates, n_hh, r_hh, v_n, gates[..., : 2 * H], gates[..., :H], gates[..., 2 * H :]))
    ZG = step_views(gates[..., H : 2 * H], batch_sizes)
    h_prev, h_next = step_views(hs[:-1], batch_sizes), step_views(hs[1:], batch_sizes)
    REC = rows_views(rec, batch_sizes, T)
    for t in range(T):
        v = REC[t]  # (n, 3H)
        np.matmul(h_prev[t], w_hh_t, out=NH[t])  # h_{t-1} W_hh^T, centred
        normalize(NH[t], NH[t], RH[t], centred=True)
        np.multiply(NH[t], ln_hh_weight, out=v)
        np.add(v, shift_hh, out=v)  # v_t
        rz = RZ[t]
        np.add(rz, v[:, : 2 * H], out=rz)
        rz *= half
        np.tanh(rz, out=rz)
        sigmoid_via_tanh_(rz)  # r, z
        VN[t][...] = v[:, 2 * H :]
        n = N[t]
        np.multiply(R[t], v[:, 2 * H :], out=v[:, 2 * H :])  # r * v_n
        np.add(n, v[:, 2 * H :], out=n)
        np.tanh(n, out=n)
        h = h_next[t]
        np.subtract(h_prev[t], n, out=h)
        np.multiply(h, ZG[t], out=h)
        np.add(h, n, out=h)  # n + z (h_{t-1} - n)
    cache = GRULNCache(x, gates, v_n, hs, n_ih, r_ih, n_hh, r_hh, w_ih, w_hh, (ln_ih_weight, ln_hh_weight),
                       batch_sizes)
    return hs[1:], final_state(hs, batch_sizes), cache


def backward(
    dout: np.ndarray,
    dhT: np.ndarray | None,
    cache: GRULNCache,
    tbptt: int | None = None,
    dh_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Backpropagation through time; returns (dx, dh0, (dw_ih, dw_hh, db_ih, db_hh, and the four LN gradients in
    :data:`LN_PARAMS` order)).  Arguments as :func:`rnnkit.cells.gru.backward`'s."""
    check_cache(cache, GRULNCache)
    x, gates, v_n, hs, n_ih, r_ih, n_hh, r_hh, w_ih, w_hh, (g_ih, g_hh), batch_sizes = cache
    T, B, D = x.shape
    H = w_hh.shape[1]
    G = 3 * H
    dtype = x.dtype
    check_backward_args(dout, dhT, (T, B, H), dtype, "dhT", False, tbptt, dh_norms)
    one = dtype.type(1)
    r, z, n = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]
    # the factors that do not depend on the recurrence, all steps at once (then scaled by dh in the loop)
    du = np.empty((T, B, G), dtype)  # (T, B, 3H): becomes dL/du
    du_r, du_z, du_n = du[..., :H], du[..., H : 2 * H], du[..., 2 * H :]  # du_r: scratch until the loop fills it
    np.subtract(one, z, out=du_r)  # 1 - z
    np.multiply(n, n, out=du_n)
    np.subtract(one, du_n, out=du_n)
    du_n *= du_r  # (1 - z)(1 - n^2)
    np.multiply(z, du_r, out=du_z)
    np.subtract(hs[:-1], n, out=du_r)
    du_z *= du_r  # (h_{t-1} - n) z (1 - z)
    zero_finished(du, batch_sizes)
    alloc = np.empty if batch_sizes is None else np.zeros  # padded rows must read 0; else every row is written
    dv = alloc((T, B, G), dtype)  # (T, B, 3H): dL/dv
    da_hh = alloc((T, B, G), dtype)  # (T, B, 3H): dL/d(h_{t-1} W_hh^T)
    dh = np.zeros((B, H), dtype) if dhT is None else dhT.astype(dtype, copy=True)
    tmp = np.empty((B, H), dtype)
    DU, DUZN, DUR, DUN = (step_views(a, batch_sizes) for a in
                          (du, du.reshape(T, B, 3, H)[:, :, 1:], du[..., :H], du[..., 2 * H :]))
    DV, DAH, NH, RH, DOUT = (step_views(a, batch_sizes) for a in (dv, da_hh, n_hh, r_hh, dout))
    R, Zg, VN = (step_views(a, batch_sizes) for a in (r, z, v_n))
    DH, TMP = rows_views(dh, batch_sizes, T), rows_views(tmp, batch_sizes, T)
    DH2 = rows_views(dh[:, None, :], batch_sizes, T)  # dh as (n, 1, H), to scale the z and n blocks at once
    for t in range(T - 1, -1, -1):
        g = DH[t]  # (n, H)
        np.add(g, DOUT[t], out=g)
        record_norm(dh_norms, t, g)
        np.multiply(DUZN[t], DH2[t], out=DUZN[t])  # (n, 2, H): dz_z, dz_n
        dz_n = DUN[t]
        np.multiply(dz_n, VN[t], out=TMP[t])
        np.multiply(TMP[t], R[t], out=DUR[t])
        np.multiply(DUR[t], one - R[t], out=DUR[t])  # dz_r = dz_n v_n r (1 - r)
        dvt = DV[t]
        dvt[:, : 2 * H] = DU[t][:, : 2 * H]
        np.multiply(dz_n, R[t], out=dvt[:, 2 * H :])  # dz_n r
        np.multiply(dvt, g_hh, out=DAH[t])
        normalize_backward(DAH[t], NH[t], RH[t], out=DAH[t])
        if cut_here(t, tbptt):
            g[...] = 0
        else:
            np.multiply(g, Zg[t], out=TMP[t])  # the direct path dh z
            np.matmul(DAH[t], w_hh, out=g)
            np.add(g, TMP[t], out=g)
    db_ih = du.reshape(T * B, G).sum(axis=0)  # (3H,)
    dg_ih = np.einsum("tbk,tbk->k", du, n_ih)
    da_ih = du  # (T, B, 3H), in place: du is not read again; 0 at padded steps, as du is
    da_ih *= g_ih
    normalize_backward(da_ih, n_ih, r_ih, out=da_ih)
    da_ih2 = da_ih.reshape(T * B, G)
    dx = (da_ih2 @ w_ih).reshape(T, B, D)
    dw_ih = da_ih2.T @ x.reshape(T * B, D)  # (3H, D)
    dw_hh = da_hh.reshape(T * B, G).T @ hs[:-1].reshape(T * B, H)  # (3H, H)
    db_hh = dv.reshape(T * B, G).sum(axis=0)
    dg_hh = np.einsum("tbk,tbk->k", dv, n_hh)
    return dx, dh, (dw_ih, dw_hh, db_ih, db_hh, dg_ih, db_ih.copy(), dg_hh, db_hh.copy())
