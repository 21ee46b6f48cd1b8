r"""LSTM with layer normalization (Ba, Kiros & Hinton 2016, eqs. 20-22), one layer, one direction.

The recurrent and the input projections are normalized apart, each over the whole 4H gate vector of an
example (as the paper writes it, not gate by gate), and the new cell is normalized before its tanh.  With the
batch as rows (x_t (B, D), h_t and c_t (B, H)), gate blocks i, f, g, o as in PyTorch's ``nn.LSTM``::

    z_t = LN(h_{t-1} W_hh^T; g_hh, b_hh') + LN(x_t W_ih^T; g_ih, b_ih') + b_ih + b_hh   # (B, 4H)
    i_t, f_t, o_t = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o) ;  g_t = tanh(z_g)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(LN(c_t; g_c, b_c'))                                               # LN over H

LN(a; gain, shift) = gain * (a - mu(a)) / sqrt(var(a) + eps) + shift over each row, eps = 1e-5
(:mod:`rnnkit.cells._layernorm`).  The gains and shifts are the parameters ``ln_ih_weight``, ``ln_ih_bias``,
``ln_hh_weight``, ``ln_hh_bias`` (4H,) and ``ln_cell_weight``, ``ln_cell_bias`` (H,); the shifts of the two
projections and b_ih + b_hh all add to z (kept apart so that W and b keep PyTorch's names and layout).
The final state's c_T is the cell before its LN, as c_t enters the next step.

Backward, with dh = dL/dh_t and dc = dL/dc_t flowing in from the output at t and from step t+1; n_* are
the normalized rows and r_* their 1/sqrt(var + eps), LNb(d, n, r) = r (d - mean(d) - n mean(d n))::

    dz_o  = dh * tanh_c * o (1 - o)              # tanh_c = tanh(LN(c_t))
    dy_c  = dh * o * (1 - tanh_c^2)              # dL/dLN(c_t)
    dc   += LNb(dy_c * g_c, n_c, r_c)
    dz_i  = dc * g_t i (1 - i) ;  dz_f = dc * c_{t-1} f (1 - f) ;  dz_g = dc * i (1 - g_t^2)
    dc_{t-1} = dc * f_t
    da_hh = LNb(dz * g_hh, n_hh, r_hh) ;  dh_{t-1} = da_hh W_hh          (dz = [dz_i, dz_f, dz_g, dz_o])
    da_ih = LNb(dz * g_ih, n_ih, r_ih) ;  dx_t = da_ih W_ih              (all t at once, after the loop)
    dW_ih = sum_t da_ih^T x_t ;  dW_hh = sum_t da_hh^T h_{t-1} ;  db_ih = db_hh = d(ln_ih_bias) = d(ln_hh_bias) = sum dz
    d(ln_ih_weight) = sum dz * n_ih ;  d(ln_hh_weight) = sum dz * n_hh
    d(ln_cell_weight) = sum dy_c * n_c ;  d(ln_cell_bias) = sum dy_c

A separate kernel, so that the plain LSTM's time loop (:mod:`rnnkit.cells.lstm`) stays as it is.  The input
projection and its LN are computed for every step at once before the loop (they do not depend on h).
Truncated BPTT (``tbptt=k``) cuts dh and dc at every t > 0 that is a multiple of k; variable lengths
(``batch_sizes``) are handled as in :mod:`rnnkit.cells.lstm`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.cells._checks import check_backward_args, check_cache, check_float_array, check_forward_args
from rnnkit.cells._common import cut_here, final_state, record_norm, rows_views, sigmoid_via_tanh_, step_views, \
    zero_finished
from rnnkit.cells._layernorm import centre_rows, normalize, normalize_backward
from rnnkit.cells.lstm_peephole import _factors as peephole_factors

# the names of a layer's LN parameters, in the order forward takes them (gains and shifts, 4H, 4H, 4H, 4H, H, H)
LN_PARAMS = ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias", "ln_cell_weight", "ln_cell_bias")


class LSTMLNCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

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
    batch_sizes: np.ndarray | None


def forward(
    x: np.ndarray,
    state0: tuple[np.ndarray, np.ndarray],
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    ln_ih_weight: np.ndarray,
    ln_ih_bias: np.ndarray,
    ln_hh_weight: np.ndarray,
    ln_hh_bias: np.ndarray,
    ln_cell_weight: np.ndarray,
    ln_cell_bias: np.ndarray,
    batch_sizes: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], LSTMLNCache]:
    """Run the cell over x (T, B, D) from (h0, c0) (B, H); returns (out (T, B, H), (h_T, c_T), cache).

    Weights as :func:`rnnkit.cells.lstm.forward`'s (PyTorch's layout) and the six LN gains and shifts of
    :data:`LN_PARAMS` ((4H,) four times, then (H,) twice), all of x's dtype.  ``batch_sizes`` as there.
    """
    check_forward_args(x, state0, w_ih, w_hh, b_ih, b_hh, batch_sizes, 4, "state0", True)
    T, B, D = x.shape
    H = w_hh.shape[1]
    G = 4 * H
    ln = (ln_ih_weight, ln_ih_bias, ln_hh_weight, ln_hh_bias, ln_cell_weight, ln_cell_bias)
    for name, p, n in zip(LN_PARAMS, ln, (G, G, G, G, H, H)):
        check_float_array(name, p, (n,), "(4H,)" if n == G else "(H,)", x.dtype, whose="x's")
    half = x.dtype.type(0.5)
    scale = np.ones(G, x.dtype)  # (4H,): sigmoid(z) = (1 + tanh(z/2)) / 2 for i, f, o
    scale[: 2 * H] = half
    scale[3 * H :] = half
    g_hh_s = ln_hh_weight * scale  # (4H,) the recurrent LN's gain, pre-scaled
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
    tmp = np.empty((B, H), dtype=x.dtype)
    Z, NH, RH, NC, RC, TC = (step_views(a, batch_sizes) for a in (gates, n_hh, r_hh, n_c, r_c, tanh_c))
    IF, I, F, Gc, O = (step_views(gates[..., a:b], batch_sizes)
                       for a, b in ((0, 2 * H), (0, H), (H, 2 * H), (2 * H, 3 * H), (3 * H, G)))
    h_prev, h_next = step_views(hs[:-1], batch_sizes), step_views(hs[1:], batch_sizes)
    c_prev, c_next = step_views(cs[:-1], batch_sizes), step_views(cs[1:], batch_sizes)
    REC, TMP = rows_views(rec, batch_sizes, T), rows_views(tmp, batch_sizes, T)
    for t in range(T):
        z = Z[t]  # (n, 4H): i, f, g, o (the sigmoid blocks halved)
        np.matmul(h_prev[t], w_hh_t, out=NH[t])  # h_{t-1} W_hh^T, centred
        normalize(NH[t], NH[t], RH[t], centred=True)
        np.multiply(NH[t], g_hh_s, out=REC[t])
        np.add(z, REC[t], out=z)
        np.tanh(z, out=z)
        sigmoid_via_tanh_(IF[t])
        sigmoid_via_tanh_(O[t])
        c = c_next[t]
        np.multiply(F[t], c_prev[t], out=c)  # f * c_{t-1}
        np.multiply(I[t], Gc[t], out=TMP[t])  # i * g
        np.add(c, TMP[t], out=c)
        normalize(c, NC[t], RC[t])
        np.multiply(NC[t], ln_cell_weight, out=TC[t])
        np.add(TC[t], ln_cell_bias, out=TC[t])
        np.tanh(TC[t], out=TC[t])
        np.multiply(O[t], TC[t], out=h_next[t])  # o * tanh(LN(c))
    final = (final_state(hs, batch_sizes), final_state(cs, batch_sizes))
    cache = LSTMLNCache(x, gates, hs, cs, tanh_c, n_ih, r_ih, n_hh, r_hh, n_c, r_c, w_ih, w_hh,
                        (ln_ih_weight, ln_hh_weight, ln_cell_weight), batch_sizes)
    return hs[1:], final, cache


def _factors(cache: LSTMLNCache) -> tuple[np.ndarray, np.ndarray]:
    """The factors that do not depend on the recurrence, for all steps at once: the peephole kernel's (the same
    gate order i, f, g, o, read from the same ``gates``, ``cs`` and ``tanh_c``, here tanh(LN(c_t))),

    P (T, B, 4H) = [g i(1-i), c_{t-1} f(1-f), i (1-g^2), tanh_c o(1-o)] ;  A (T, B, H) = o (1 - tanh_c^2)
    so that per step dz_o = dh * P_o, dy_c = dh * A, dz_{i,f,g} = dc * P_{i,f,g}.  A's padded rows are zeroed
    too: the sums over all steps of dy_c after the loop read them.
    """
    P, A = peephole_factors(cache)  # type: ignore[arg-type]
    zero_finished(A, cache.batch_sizes)
    return P, A


def backward(
    dout: np.ndarray,
    dstateT: tuple[np.ndarray | None, np.ndarray | None] | None,
    cache: LSTMLNCache,
    tbptt: int | None = None,
    dh_norms: np.ndarray | None = None,
    dc_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]:
    """Backpropagation through time; returns (dx, (dh0, dc0), (dw_ih, dw_hh, db_ih, db_hh, and the six LN
    gradients in :data:`LN_PARAMS` order)).  Arguments as :func:`rnnkit.cells.lstm.backward`'s."""
    check_cache(cache, LSTMLNCache)
    x, gates, hs, cs, tanh_c, n_ih, r_ih, n_hh, r_hh, n_c, r_c, w_ih, w_hh, gains, batch_sizes = cache
    g_ih, g_hh, g_c = gains
    T, B, D = x.shape
    H = w_hh.shape[1]
    G = 4 * H
    dtype = x.dtype
    check_backward_args(dout, dstateT, (T, B, H), dtype, "dstateT", True, tbptt, dh_norms, dc_norms)
    dhT, dcT = (None, None) if dstateT is None else dstateT
    dh = np.zeros((B, H), dtype) if dhT is None else dhT.astype(dtype, copy=True)
    dc = np.zeros((B, H), dtype) if dcT is None else dcT.astype(dtype, copy=True)
    dz_all, dyc_all = _factors(cache)  # (T, B, 4H), (T, B, H): become dL/dz and dL/dLN(c_t) in place
    dz4_all = dz_all.reshape(T, B, 4, H)
    da_hh = (np.empty if batch_sizes is None else np.zeros)((T, B, G), dtype)  # (T, B, 4H) dL/d(h_{t-1} W_hh^T)
    tmp = np.empty((B, H), dtype)
    DZ, DZIFG, DZO = (step_views(a, batch_sizes) for a in (dz_all, dz4_all[:, :, :3], dz_all[..., 3 * H :]))
    DOUT, DYC, F, NC, RC, NH, RH, DAH = (step_views(a, batch_sizes) for a in
                                         (dout, dyc_all, gates[..., H : 2 * H], n_c, r_c, n_hh, r_hh, da_hh))
    DH, DC, TMP = (rows_views(a, batch_sizes, T) for a in (dh, dc, tmp))
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
        np.multiply(DZIFG[t], DC3[t], out=DZIFG[t])  # dz_i, dz_f, dz_g
        record_norm(dc_norms, t, dc_n)  # the whole dL/dc_t, before the step back through f
        np.multiply(dc_n, F[t], out=dc_n)  # dc_{t-1} = dc f
        np.multiply(DZ[t], g_hh, out=DAH[t])
        normalize_backward(DAH[t], NH[t], RH[t], out=DAH[t])  # da_hh
        if cut_here(t, tbptt):
            dh_n[...] = 0
            dc_n[...] = 0
        else:
            np.matmul(DAH[t], w_hh, out=dh_n)
    db = dz_all.reshape(T * B, G).sum(axis=0)  # (4H,)
    dg_ih = np.einsum("tbk,tbk->k", dz_all, n_ih)  # (4H,)
    dg_hh = np.einsum("tbk,tbk->k", dz_all, n_hh)  # (4H,)
    da_ih = dz_all  # (T, B, 4H), in place: dz is not read again; 0 at padded steps, as dz is
    da_ih *= g_ih
    normalize_backward(da_ih, n_ih, r_ih, out=da_ih)
    da_ih2 = da_ih.reshape(T * B, G)
    dx = (da_ih2 @ w_ih).reshape(T, B, D)
    dw_ih = da_ih2.T @ x.reshape(T * B, D)  # (4H, D)
    dw_hh = da_hh.reshape(T * B, G).T @ hs[:-1].reshape(T * B, H)  # (4H, H)
    dg_c = np.einsum("tbh,tbh->h", dyc_all, n_c)  # (H,)
    db_c = dyc_all.reshape(T * B, H).sum(axis=0)  # (H,)
    return dx, (dh, dc), (dw_ih, dw_hh, db, db.copy(), dg_ih, db.copy(), dg_hh, db.copy(), dg_c, db_c)
