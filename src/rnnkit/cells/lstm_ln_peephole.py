r"""LSTM with layer normalization (:mod:`rnnkit.cells.lstm_ln`) and peephole connections
(:mod:`rnnkit.cells.lstm_peephole`) together, one layer, one direction.

The projections are normalized as in the layer-normalized LSTM (Ba, Kiros & Hinton 2016, eqs. 20-22); the
peepholes (Gers & Schmidhuber 2000; Graves 2013) add their diagonal terms after the normalizations, reading the
cell state as it flows from step to step (c_{t-1} and c_t, not normalized), as in the peephole LSTM.  With the batch
as rows (x_t (B, D), h_t and c_t (B, H)), gate blocks i, f, g, o as in PyTorch's ``nn.LSTM``::

    z_t = LN(h_{t-1} W_hh^T; g_hh, b_hh') + LN(x_t W_ih^T; g_ih, b_ih') + b_ih + b_hh   # (B, 4H)
    i_t = sigmoid(z_i + p_i * c_{t-1}) ;  f_t = sigmoid(z_f + p_f * c_{t-1}) ;  g_t = tanh(z_g)
    c_t = f_t * c_{t-1} + i_t * g_t
    o_t = sigmoid(z_o + p_o * c_t)                                                     # after c_t
    h_t = o_t * tanh(LN(c_t; g_c, b_c'))

Why after the normalizations: a peephole is one weight per unit, like a bias that depends on c; inside the LN
of the gate vector it would be normalized together with the projections, and p = 0 would no longer give the
layer-normalized LSTM.  With p = 0 this is :mod:`rnnkit.cells.lstm_ln` exactly; with LN gains 1 and shifts 0 it
is not the peephole LSTM (the projections are still normalized).  Parameters: the four weights, the peepholes
``weight_ci``, ``weight_cf``, ``weight_co`` (H,), then the LN gains and shifts of :data:`LN_PARAMS`.

Backward, with dh = dL/dh_t and dc = dL/dc_t flowing in from the output at t and from step t+1, n_* the
normalized rows, r_* their 1/sqrt(var + eps), LNb(d, n, r) = r (d - mean(d) - n mean(d n))::

    dz_o  = dh * tanh_c * o (1 - o)              # tanh_c = tanh(LN(c_t))
    dy_c  = dh * o * (1 - tanh_c^2)              # dL/dLN(c_t)
    dc   += LNb(dy_c * g_c, n_c, r_c) + dz_o * p_o
    dz_i  = dc * g_t i (1 - i) ;  dz_f = dc * c_{t-1} f (1 - f) ;  dz_g = dc * i (1 - g_t^2)
    dc_{t-1} = dc * f_t + dz_i * p_i + dz_f * p_f
    da_hh = LNb(dz * g_hh, n_hh, r_hh) ;  dh_{t-1} = da_hh W_hh          (dz = [dz_i, dz_f, dz_g, dz_o])
    da_ih = LNb(dz * g_ih, n_ih, r_ih) ;  dx_t = da_ih W_ih              (all t at once, after the loop)
    dp_i = sum dz_i * c_{t-1} ;  dp_f = sum dz_f * c_{t-1} ;  dp_o = sum dz_o * c_t
    and the weights', biases', gains' and shifts' gradients as in :mod:`rnnkit.cells.lstm_ln`

Truncated BPTT (``tbptt=k``) and variable lengths (``batch_sizes``) as there.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.cells._checks import check_backward_args, check_cache, check_float_array, check_forward_args
from rnnkit.cells._common import cut_here, final_state, record_norm, rows_views, sigmoid_via_tanh_, step_views
from rnnkit.cells._layernorm import centre_rows, normalize, normalize_backward
from rnnkit.cells.lstm_ln import LN_PARAMS
from rnnkit.cells.lstm_ln import _factors as ln_factors
from rnnkit.cells.lstm_peephole import PEEPHOLES

__all__ = ["LN_PARAMS", "PEEPHOLES", "backward", "forward"]


class LSTMLNPeepholeCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`: :class:`rnnkit.cells.lstm_ln.LSTMLNCache`'s fields and
    the peepholes."""

    GATE_ORDER = ("i", "f", "g", "o")  # the blocks of ``gates`` (a class constant, not a field): PyTorch's

    x: np.ndarray  # (T, B, D)
    gates: np.ndarray  # (T, B, 4H) activated gates, order i, f, g, o
    hs: np.ndarray  # (T+1, B, H): h_0 .. h_T
    cs: np.ndarray  # (T+1, B, H): c_0 .. c_T (before their LN)
    tanh_c: np.ndarray  # (T, B, H): tanh(LN(c_t))
    n_ih: np.ndarray  # (T, B, 4H) normalized x_t W_ih^T
    r_ih: np.ndarray  # (T, B, 1)
    n_hh: np.ndarray  # (T, B, 4H) normalized h_{t-1} W_hh^T
    r_hh: np.ndarray  # (T, B, 1)
    n_c: np.ndarray  # (T, B, H) normalized c_t
    r_c: np.ndarray  # (T, B, 1)
    w_ih: np.ndarray  # (4H, D)
    w_hh: np.ndarray  # (4H, H)
    gains: tuple[np.ndarray, np.ndarray, np.ndarray]  # ln_ih_weight (4H,), ln_hh_weight (4H,), ln_cell_weight (H,)
    peep: np.ndarray  # (3, H): p_i, p_f, p_o
    batch_sizes: np.ndarray | None


def forward(
    x: np.ndarray,
    state0: tuple[np.ndarray, np.ndarray],
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    w_ci: np.ndarray,
    w_cf: np.ndarray,
    w_co: np.ndarray,
    ln_ih_weight: np.ndarray,
    ln_ih_bias: np.ndarray,
    ln_hh_weight: np.ndarray,
    ln_hh_bias: np.ndarray,
    ln_cell_weight: np.ndarray,
    ln_cell_bias: np.ndarray,
    batch_sizes: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], LSTMLNPeepholeCache]:
    """Run the cell over x (T, B, D) from (h0, c0) (B, H); returns (out (T, B, H), (h_T, c_T), cache).

    Weights as :func:`rnnkit.cells.lstm.forward`'s, the peepholes w_ci, w_cf, w_co (H,) as
    :func:`rnnkit.cells.lstm_peephole.forward`'s, the LN gains and shifts as :func:`rnnkit.cells.lstm_ln.forward`'s,
    all of x's dtype.  ``batch_sizes`` as there.
    """
    check_forward_args(x, state0, w_ih, w_hh, b_ih, b_hh, batch_sizes, 4, "state0", True)
    T, B, D = x.shape
    H = w_hh.shape[1]
    G = 4 * H
    ln = (ln_ih_weight, ln_ih_bias, ln_hh_weight, ln_hh_bias, ln_cell_weight, ln_cell_bias)
    for name, p, n in zip(PEEPHOLES + LN_PARAMS, (w_ci, w_cf, w_co, *ln), (H, H, H, G, G, G, G, H, H)):
        check_float_array(name, p, (n,), "(4H,)" if n == G else "(H,)", x.dtype, whose="x's")
    half = x.dtype.type(0.5)
    scale = np.ones(G, x.dtype)  # (4H,): sigmoid(z) = (1 + tanh(z/2)) / 2 for i, f, o
    scale[: 2 * H] = half
    scale[3 * H :] = half
    g_hh_s = ln_hh_weight * scale  # (4H,) the recurrent LN's gain, pre-scaled
    peep = np.stack((w_ci, w_cf, w_co))  # (3, H)
    p_if_s = peep[:2] * half  # (2, H) scaled as their gates' rows
    p_o_s = peep[2] * half  # (H,)
    # the projections by row-centred weights come out with mean 0 over their 4H outputs: the LNs skip the mean
    w_hh_t = np.ascontiguousarray(centre_rows(w_hh).T)  # (H, 4H)

    n_ih = (x.reshape(T * B, D) @ centre_rows(w_ih).T).reshape(T, B, G)  # (T, B, 4H): x_t W_ih^T - its mean
    r_ih = np.empty((T, B, 1), dtype=x.dtype)
    normalize(n_ih, n_ih, r_ih, centred=True)  # the input half of z for every step at once
    gates = n_ih * (ln_ih_weight * scale)  # (T, B, 4H), the sigmoid blocks halved (exactly: a power of 2)
    gates += (ln_ih_bias + ln_hh_bias + b_ih + b_hh) * scale
    alloc = np.empty if batch_sizes is None else np.zeros  # padded rows must read 0; else every row is written
    hs = alloc((T + 1, B, H), dtype=x.dtype)  # (T+1, B, H); finished rows stay 0
    cs = alloc((T + 1, B, H), dtype=x.dtype)
    hs[0], cs[0] = state0
    tanh_c, n_c = alloc((T, B, H), x.dtype), alloc((T, B, H), x.dtype)  # (T, B, H)
    n_hh = alloc((T, B, G), x.dtype)  # (T, B, 4H)
    r_hh, r_c = alloc((T, B, 1), x.dtype), alloc((T, B, 1), x.dtype)  # (T, B, 1)
    rec = np.empty((B, G), dtype=x.dtype)  # recurrent projection buffer
    pc = np.empty((B, 2, H), dtype=x.dtype)  # p_{i,f} * c_{t-1} buffer
    tmp = np.empty((B, H), dtype=x.dtype)
    Z, NH, RH, NC, RC, TC = (step_views(a, batch_sizes) for a in (gates, n_hh, r_hh, n_c, r_c, tanh_c))
    Z4 = step_views(gates.reshape(T, B, 4, H)[:, :, :2], batch_sizes)  # (n, 2, H): i, f
    IFG, IF, I, F, Gc, O = (step_views(gates[..., a:b], batch_sizes) for a, b in
                            ((0, 3 * H), (0, 2 * H), (0, H), (H, 2 * H), (2 * H, 3 * H), (3 * H, G)))
    h_prev, h_next = step_views(hs[:-1], batch_sizes), step_views(hs[1:], batch_sizes)
    c_prev, c_next = step_views(cs[:-1], batch_sizes), step_views(cs[1:], batch_sizes)
    REC, PC, TMP = (rows_views(a, batch_sizes, T) for a in (rec, pc, tmp))
    for t in range(T):
        z = Z[t]  # (n, 4H): i, f, g, o (the sigmoid blocks halved)
        np.matmul(h_prev[t], w_hh_t, out=NH[t])  # h_{t-1} W_hh^T, centred
        normalize(NH[t], NH[t], RH[t], centred=True)
        np.multiply(NH[t], g_hh_s, out=REC[t])
        np.add(z, REC[t], out=z)
        np.multiply(c_prev[t][:, None, :], p_if_s, out=PC[t])  # (n, 2, H): p_i c_{t-1}, p_f c_{t-1} (halved)
        np.add(Z4[t], PC[t], out=Z4[t])
        np.tanh(IFG[t], out=IFG[t])
        sigmoid_via_tanh_(IF[t])
        c = c_next[t]
        np.multiply(F[t], c_prev[t], out=c)  # f * c_{t-1}
        np.multiply(I[t], Gc[t], out=TMP[t])  # i * g
        np.add(c, TMP[t], out=c)
        np.multiply(c, p_o_s, out=TMP[t])  # p_o * c_t (halved)
        np.add(O[t], TMP[t], out=O[t])
        np.tanh(O[t], out=O[t])
        sigmoid_via_tanh_(O[t])
        normalize(c, NC[t], RC[t])
        np.multiply(NC[t], ln_cell_weight, out=TC[t])
        np.add(TC[t], ln_cell_bias, out=TC[t])
        np.tanh(TC[t], out=TC[t])
        np.multiply(O[t], TC[t], out=h_next[t])  # o * tanh(LN(c))
    final = (final_state(hs, batch_sizes), final_state(cs, batch_sizes))
    cache = LSTMLNPeepholeCache(x, gates, hs, cs, tanh_c, n_ih, r_ih, n_hh, r_hh, n_c, r_c, w_ih, w_hh,
                                (ln_ih_weight, ln_hh_weight, ln_cell_weight), peep, batch_sizes)
    return hs[1:], final, cache


def backward(
    dout: np.ndarray,
    dstateT: tuple[np.ndarray | None, np.ndarray | None] | None,
    cache: LSTMLNPeepholeCache,
    tbptt: int | None = None,
    dh_norms: np.ndarray | None = None,
    dc_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]:
    """Backpropagation through time; returns (dx, (dh0, dc0), (dw_ih, dw_hh, db_ih, db_hh, dw_ci, dw_cf, dw_co,
    and the six LN gradients in :data:`LN_PARAMS` order)).  Arguments as :func:`rnnkit.cells.lstm.backward`'s."""
    check_cache(cache, LSTMLNPeepholeCache)
    x, gates, hs, cs, tanh_c, n_ih, r_ih, n_hh, r_hh, n_c, r_c, w_ih, w_hh, gains, peep, batch_sizes = cache
    g_ih, g_hh, g_c = gains
    T, B, D = x.shape
    H = w_hh.shape[1]
    G = 4 * H
    dtype = x.dtype
    check_backward_args(dout, dstateT, (T, B, H), dtype, "dstateT", True, tbptt, dh_norms, dc_norms)
    dhT, dcT = (None, None) if dstateT is None else dstateT
    dh = np.zeros((B, H), dtype) if dhT is None else dhT.astype(dtype, copy=True)
    dc = np.zeros((B, H), dtype) if dcT is None else dcT.astype(dtype, copy=True)
    dz_all, dyc_all = ln_factors(cache)  # type: ignore[arg-type]  # the same gate factors: dL/dz, dL/dLN(c_t)
    dz4_all = dz_all.reshape(T, B, 4, H)
    p_if, p_o = peep[:2], peep[2]  # (2, H), (H,)
    da_hh = (np.empty if batch_sizes is None else np.zeros)((T, B, G), dtype)  # (T, B, 4H) dL/d(h_{t-1} W_hh^T)
    tmp = np.empty((B, H), dtype)
    tmp2 = np.empty((B, 2, H), dtype)
    DZ, DZIFG, DZIF, DZO = (step_views(a, batch_sizes)
                            for a in (dz_all, dz4_all[:, :, :3], dz4_all[:, :, :2], dz_all[..., 3 * H :]))
    DOUT, DYC, F, NC, RC, NH, RH, DAH = (step_views(a, batch_sizes) for a in
                                         (dout, dyc_all, gates[..., H : 2 * H], n_c, r_c, n_hh, r_hh, da_hh))
    DH, DC, TMP, TMP2 = (rows_views(a, batch_sizes, T) for a in (dh, dc, tmp, tmp2))
    DC3 = rows_views(dc[:, None, :], batch_sizes, T)  # dc as (n, 1, H), to scale the i, f, g blocks at once
    for t in range(T - 1, -1, -1):
        dh_n, dc_n = DH[t], DC[t]
        np.add(dh_n, DOUT[t], out=dh_n)
        record_norm(dh_norms, t, dh_n)
        np.multiply(DZO[t], dh_n, out=DZO[t])  # dz_o = dh tanh_c o (1 - o)
        np.multiply(DYC[t], dh_n, out=DYC[t])  # dy_c = dh o (1 - tanh_c^2)
        np.multiply(DYC[t], g_c, out=TMP[t])
        normalize_backward(TMP[t], NC[t], RC[t], out=TMP[t])
        np.add(dc_n, TMP[t], out=dc_n)  # dc += LNb(dy_c g_c)
        np.multiply(DZO[t], p_o, out=TMP[t])
        np.add(dc_n, TMP[t], out=dc_n)  # dc += dz_o p_o
        np.multiply(DZIFG[t], DC3[t], out=DZIFG[t])  # dz_i, dz_f, dz_g
        record_norm(dc_norms, t, dc_n)  # the whole dL/dc_t, before the step back through f
        np.multiply(dc_n, F[t], out=dc_n)  # dc_{t-1} = dc f (+ the peepholes' below)
        np.multiply(DZ[t], g_hh, out=DAH[t])
        normalize_backward(DAH[t], NH[t], RH[t], out=DAH[t])  # da_hh
        if cut_here(t, tbptt):
            dh_n[...] = 0
            dc_n[...] = 0
            continue
        np.multiply(DZIF[t], p_if, out=TMP2[t])  # (n, 2, H): dz_i p_i, dz_f p_f
        np.add(dc_n, TMP2[t][:, 0], out=dc_n)
        np.add(dc_n, TMP2[t][:, 1], out=dc_n)
        np.matmul(DAH[t], w_hh, out=dh_n)
    # dz is 0 at padded steps (the factors were zeroed there), so they add nothing to the sums
    dw_ci = np.einsum("tbh,tbh->h", dz_all[..., :H], cs[:-1])  # (H,)
    dw_cf = np.einsum("tbh,tbh->h", dz_all[..., H : 2 * H], cs[:-1])
    dw_co = np.einsum("tbh,tbh->h", dz_all[..., 3 * H :], cs[1:])
    db = dz_all.reshape(T * B, G).sum(axis=0)  # (4H,)
    dg_ih = np.einsum("tbk,tbk->k", dz_all, n_ih)  # (4H,)
    dg_hh = np.einsum("tbk,tbk->k", dz_all, n_hh)  # (4H,)
    da_ih = dz_all  # (T, B, 4H), in place: dz is not read again
    da_ih *= g_ih
    normalize_backward(da_ih, n_ih, r_ih, out=da_ih)
    da_ih2 = da_ih.reshape(T * B, G)
    dx = (da_ih2 @ w_ih).reshape(T, B, D)
    dw_ih = da_ih2.T @ x.reshape(T * B, D)  # (4H, D)
    dw_hh = da_hh.reshape(T * B, G).T @ hs[:-1].reshape(T * B, H)  # (4H, H)
    dg_c = np.einsum("tbh,tbh->h", dyc_all, n_c)  # (H,)
    db_c = dyc_all.reshape(T * B, H).sum(axis=0)  # (H,)
    return dx, (dh, dc), (dw_ih, dw_hh, db, db.copy(), dw_ci, dw_cf, dw_co,
                          dg_ih, db.copy(), dg_hh, db.copy(), dg_c, db_c)
