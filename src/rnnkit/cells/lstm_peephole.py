r"""LSTM with peephole connections (Gers & Schmidhuber 2000, in the form of Graves 2013), one layer, one direction.

The gates i and f also read the previous cell c_{t-1}, and the gate o the new cell c_t, each through a
diagonal weight (a vector of H, multiplied elementwise).  With the batch as rows (x_t (B, D), h_t and c_t
(B, H)) and each (out, in) weight multiplying from the right transposed, gate blocks i, f, g, o as in
PyTorch's ``nn.LSTM``::

    i_t = sigmoid(x_t W_ii^T + b_ii + h_{t-1} W_hi^T + b_hi + p_i * c_{t-1})   # input gate   (B, H)
    f_t = sigmoid(x_t W_if^T + b_if + h_{t-1} W_hf^T + b_hf + p_f * c_{t-1})   # forget gate
    g_t = tanh   (x_t W_ig^T + b_ig + h_{t-1} W_hg^T + b_hg)                   # candidate
    c_t = f_t * c_{t-1} + i_t * g_t
    o_t = sigmoid(x_t W_io^T + b_io + h_{t-1} W_ho^T + b_ho + p_o * c_t)       # output gate: reads c_t
    h_t = o_t * tanh(c_t)

p_i, p_f, p_o (H,) are the parameters ``weight_ci``, ``weight_cf``, ``weight_co`` (Graves' W_ci, W_cf,
W_co, the diagonal of his matrices).  With p = 0 this is :mod:`rnnkit.cells.lstm` exactly.

Backward, with dh = dL/dh_t and dc = dL/dc_t flowing in from the output at t and from step t+1 (which
reads c_t through f_{t+1} * c_t and through the peepholes of i_{t+1} and f_{t+1})::

    do    = dh * tanh(c_t)               dz_o = do * o_t (1 - o_t)
    dc   += dh * o_t * (1 - tanh(c_t)^2) + dz_o * p_o          # c_t reaches h_t directly and through o_t
    di    = dc * g_t                     dz_i = di * i_t (1 - i_t)
    df    = dc * c_{t-1}                 dz_f = df * f_t (1 - f_t)
    dg    = dc * i_t                     dz_g = dg * (1 - g_t^2)
    dc_{t-1} = dc * f_t + dz_i * p_i + dz_f * p_f
    dh_{t-1} = dz W_hh ;  dx_t = dz W_ih                       (dz = [dz_i, dz_f, dz_g, dz_o])
    dW_ih += dz^T x_t ;  dW_hh += dz^T h_{t-1} ;  db_ih = db_hh = sum_t sum_b dz
    dp_i = sum_t sum_b dz_i * c_{t-1} ;  dp_f = sum_t sum_b dz_f * c_{t-1} ;  dp_o = sum_t sum_b dz_o * c_t

A separate kernel, so that the plain LSTM's time loop (:mod:`rnnkit.cells.lstm`) stays as it is.  This
one keeps PyTorch's gate order (i, f, g, o) inside: o is squashed after c_t, so it cannot share the
single np.tanh call of the other three.  As there, the sigmoid gates' rows are pre-scaled by 1/2 and
sigmoid(z) = (1 + tanh(z/2)) / 2.  Truncated BPTT (``tbptt=k``) cuts dh and dc at every t > 0 that is a
multiple of k; variable lengths (``batch_sizes``) are handled as in :mod:`rnnkit.cells.lstm`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.cells._checks import check_backward_args, check_cache, check_float_array, check_forward_args
from rnnkit.cells._common import cut_here, final_state, record_norm, rows_views, sigmoid_via_tanh_, step_views, \
    zero_finished

PEEPHOLES = ("weight_ci", "weight_cf", "weight_co")  # p_i, p_f, p_o: the parameters' names in a layer


class PeepholeLSTMCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

    GATE_ORDER = ("i", "f", "g", "o")  # the blocks of ``gates`` (a class constant, not a field): PyTorch's

    x: np.ndarray  # (T, B, D)
    gates: np.ndarray  # (T, B, 4H) activated gates, order i, f, g, o
    hs: np.ndarray  # (T+1, B, H): h_0 .. h_T
    cs: np.ndarray  # (T+1, B, H): c_0 .. c_T
    tanh_c: np.ndarray  # (T, B, H)
    w_ih: np.ndarray  # (4H, D)
    w_hh: np.ndarray  # (4H, H)
    peep: np.ndarray  # (3, H): p_i, p_f, p_o
    batch_sizes: np.ndarray | None


def _check_peepholes(w_ci: object, w_cf: object, w_co: object, H: int, dtype: np.dtype) -> None:
    """Each peephole an (H,) array of x's dtype (the other arguments are checked as the plain kernel's)."""
    for name, p in (("w_ci", w_ci), ("w_cf", w_cf), ("w_co", w_co)):
        check_float_array(name, p, (H,), "(H,)", dtype, whose="x's")


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
    batch_sizes: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], PeepholeLSTMCache]:
    """Run the cell over x (T, B, D) from (h0, c0) (B, H); returns (out (T, B, H), (h_T, c_T), cache).

    Weights as :func:`rnnkit.cells.lstm.forward`'s (PyTorch's layout), and the peepholes w_ci, w_cf, w_co
    (H,) = p_i, p_f, p_o, all of x's dtype.  ``batch_sizes`` as there.
    """
    check_forward_args(x, state0, w_ih, w_hh, b_ih, b_hh, batch_sizes, 4, "state0", True)
    T, B, D = x.shape
    H = w_hh.shape[1]
    _check_peepholes(w_ci, w_cf, w_co, H, x.dtype)
    H2, H3 = 2 * H, 3 * H
    half = x.dtype.type(0.5)  # sigmoid(z) through tanh(z / 2): the i, f, o rows are scaled by 1/2
    scale = np.ones(4 * H, x.dtype)  # (4H,)
    scale[:H2] = half
    scale[H3:] = half
    w_ih_s = w_ih * scale[:, None]  # (4H, D)
    w_hh_sT = np.ascontiguousarray((w_hh * scale[:, None]).T)  # (H, 4H): contiguous for the per-step GEMM
    bias_s = (b_ih + b_hh) * scale  # (4H,)
    peep = np.stack((w_ci, w_cf, w_co))  # (3, H)
    p_if_s = peep[:2] * half  # (2, H) scaled as their gates' rows
    p_o_s = peep[2] * half  # (H,)

    gates = (x.reshape(T * B, D) @ w_ih_s.T).reshape(T, B, 4 * H)  # (T, B, 4H)
    gates += bias_s
    alloc = np.empty if batch_sizes is None else np.zeros  # finished rows are never written: zeros
    hs = alloc((T + 1, B, H), dtype=x.dtype)  # (T+1, B, H)
    cs = alloc((T + 1, B, H), dtype=x.dtype)  # (T+1, B, H)
    tanh_c = alloc((T, B, H), dtype=x.dtype)  # (T, B, H)
    hs[0], cs[0] = state0
    rec = np.empty((B, 4 * H), dtype=x.dtype)  # recurrent projection buffer
    pc = np.empty((B, 2, H), dtype=x.dtype)  # p_{i,f} * c_{t-1} buffer
    tmp = np.empty((B, H), dtype=x.dtype)
    Z = step_views(gates, batch_sizes)
    Z4 = step_views(gates.reshape(T, B, 4, H)[:, :, :2], batch_sizes)  # (n, 2, H): i, f
    IFG, IF, I, F, Gc, O = (step_views(gates[..., a:b], batch_sizes)
                            for a, b in ((0, H3), (0, H2), (0, H), (H, H2), (H2, H3), (H3, 4 * H)))
    h_prev, h_next = step_views(hs[:-1], batch_sizes), step_views(hs[1:], batch_sizes)
    c_prev, c_next = step_views(cs[:-1], batch_sizes), step_views(cs[1:], batch_sizes)
    TC = step_views(tanh_c, batch_sizes)
    REC, PC, TMP = (rows_views(a, batch_sizes, T) for a in (rec, pc, tmp))
    for t in range(T):
        z = Z[t]  # (n, 4H): i, f, g, o
        np.matmul(h_prev[t], w_hh_sT, out=REC[t])
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
        np.tanh(c, out=TC[t])
        np.multiply(O[t], TC[t], out=h_next[t])  # o * tanh(c)
    final = (final_state(hs, batch_sizes), final_state(cs, batch_sizes))
    cache = PeepholeLSTMCache(x, gates, hs, cs, tanh_c, w_ih, w_hh, peep, batch_sizes)
    return hs[1:], final, cache


def _factors(cache: PeepholeLSTMCache) -> tuple[np.ndarray, np.ndarray]:
    """The factors that do not depend on the recurrence, for all steps at once (order i, f, g, o):

    P (T, B, 4H) = [g i(1-i), c_{t-1} f(1-f), i (1-g^2), tanh(c) o(1-o)] ;  A (T, B, H) = o (1 - tanh(c)^2)
    so that per step dz_o = dh * P_o, dz_{i,f,g} = dc * P_{i,f,g}.
    """
    gates, cs, tanh_c = cache.gates, cache.cs, cache.tanh_c
    H = gates.shape[2] // 4
    i, g, o = gates[..., :H], gates[..., 2 * H : 3 * H], gates[..., 3 * H :]
    one = gates.dtype.type(1)
    # padded steps of finished sequences hold raw projections (may overflow); zero_finished clears them
    with np.errstate(over="ignore", invalid="ignore"):
        P = np.multiply(gates, one - gates)  # (T, B, 4H): s (1 - s) for the sigmoid gates
        P[..., :H] *= g
        P[..., H : 2 * H] *= cs[:-1]
        np.multiply(i, one - g * g, out=P[..., 2 * H : 3 * H])  # i (1 - g^2)
        P[..., 3 * H :] *= tanh_c
        A = o * (one - tanh_c * tanh_c)  # (T, B, H)
    zero_finished(P, cache.batch_sizes)
    return P, A


def backward(
    dout: np.ndarray,
    dstateT: tuple[np.ndarray | None, np.ndarray | None] | None,
    cache: PeepholeLSTMCache,
    tbptt: int | None = None,
    dh_norms: np.ndarray | None = None,
    dc_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]:
    """Backpropagation through time; returns (dx, (dh0, dc0), (dw_ih, dw_hh, db_ih, db_hh, dw_ci, dw_cf, dw_co)).

    Arguments as :func:`rnnkit.cells.lstm.backward`'s; the peepholes' gradients are (H,) each.
    """
    check_cache(cache, PeepholeLSTMCache)
    x, gates, hs, cs, tanh_c, w_ih, w_hh, peep, batch_sizes = cache
    T, B, D = x.shape
    H = w_hh.shape[1]
    dtype = x.dtype
    check_backward_args(dout, dstateT, (T, B, H), dtype, "dstateT", True, tbptt, dh_norms, dc_norms)
    dhT, dcT = (None, None) if dstateT is None else dstateT
    dh = np.zeros((B, H), dtype) if dhT is None else dhT.astype(dtype, copy=True)
    dc = np.zeros((B, H), dtype) if dcT is None else dcT.astype(dtype, copy=True)
    dz_all, A = _factors(cache)  # (T, B, 4H) becomes dL/dz in place, step by step
    dz4_all = dz_all.reshape(T, B, 4, H)
    p_if, p_o = peep[:2], peep[2]  # (2, H), (H,)
    tmp = np.empty((B, H), dtype)
    tmp2 = np.empty((B, 2, H), dtype)
    DZ, DZIFG, DZIF, DZO = (step_views(a, batch_sizes)
                            for a in (dz_all, dz4_all[:, :, :3], dz4_all[:, :, :2], dz_all[..., 3 * H :]))
    DOUT, AA, F = (step_views(a, batch_sizes) for a in (dout, A, gates[..., H : 2 * H]))
    DH, DC, TMP, TMP2 = (rows_views(a, batch_sizes, T) for a in (dh, dc, tmp, tmp2))
    DC3 = rows_views(dc[:, None, :], batch_sizes, T)  # dc as (n, 1, H), to scale the i, f, g blocks at once
    for t in range(T - 1, -1, -1):
        dh_n, dc_n = DH[t], DC[t]
        np.add(dh_n, DOUT[t], out=dh_n)
        record_norm(dh_norms, t, dh_n)
        np.multiply(DZO[t], dh_n, out=DZO[t])  # dz_o = dh tanh(c) o (1 - o)
        np.multiply(dh_n, AA[t], out=TMP[t])
        np.add(dc_n, TMP[t], out=dc_n)  # dc += dh o (1 - tanh(c)^2)
        np.multiply(DZO[t], p_o, out=TMP[t])
        np.add(dc_n, TMP[t], out=dc_n)  # dc += dz_o p_o
        np.multiply(DZIFG[t], DC3[t], out=DZIFG[t])  # dz_i, dz_f, dz_g
        record_norm(dc_norms, t, dc_n)  # the whole dL/dc_t, before the step back through f
        np.multiply(dc_n, F[t], out=dc_n)  # dc * f
        if cut_here(t, tbptt):
            dh_n[...] = 0
            dc_n[...] = 0
            continue
        np.multiply(DZIF[t], p_if, out=TMP2[t])  # (n, 2, H): dz_i p_i, dz_f p_f
        np.add(dc_n, TMP2[t][:, 0], out=dc_n)
        np.add(dc_n, TMP2[t][:, 1], out=dc_n)  # dc_{t-1} = dc f + dz_i p_i + dz_f p_f
        np.matmul(DZ[t], w_hh, out=dh_n)
    dz2 = dz_all.reshape(T * B, 4 * H)
    dx = (dz2 @ w_ih).reshape(T, B, D)
    dw_ih = dz2.T @ x.reshape(T * B, D)  # (4H, D)
    dw_hh = dz2.T @ hs[:-1].reshape(T * B, H)  # (4H, H)
    db = dz2.sum(axis=0)  # (4H,)
    # finished rows of dz are 0 (zero_finished), so padded steps add nothing here
    dw_ci = np.einsum("tbh,tbh->h", dz_all[..., :H], cs[:-1])  # (H,)
    dw_cf = np.einsum("tbh,tbh->h", dz_all[..., H : 2 * H], cs[:-1])
    dw_co = np.einsum("tbh,tbh->h", dz_all[..., 3 * H :], cs[1:])
    return dx, (dh, dc), (dw_ih, dw_hh, db, db.copy(), dw_ci, dw_cf, dw_co)
