r"""Long short-term memory, one layer, one direction.

Equations (PyTorch's ``nn.LSTM``, gate order i, f, g, o in blocks of H rows), for t = 1..T, with the
batch as rows (x_t (B, D), h_t and c_t (B, H)) and each (out, in) weight multiplying from the right
transposed::

    i_t = sigmoid(x_t W_ii^T + b_ii + h_{t-1} W_hi^T + b_hi)      # input gate   (B, H)
    f_t = sigmoid(x_t W_if^T + b_if + h_{t-1} W_hf^T + b_hf)      # forget gate
    g_t = tanh   (x_t W_ig^T + b_ig + h_{t-1} W_hg^T + b_hg)      # candidate
    o_t = sigmoid(x_t W_io^T + b_io + h_{t-1} W_ho^T + b_ho)      # output gate
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

There are no peephole connections (the gates do not read c, unlike the LSTM of Graves' thesis).

Backward, with dh = dL/dh_t and dc = dL/dc_t flowing in from the output at t and from step t+1::

    dc   += dh * o_t * (1 - tanh(c_t)^2)
    do    = dh * tanh(c_t)       dz_o = do * o_t (1 - o_t)
    di    = dc * g_t             dz_i = di * i_t (1 - i_t)
    df    = dc * c_{t-1}         dz_f = df * f_t (1 - f_t)
    dg    = dc * i_t             dz_g = dg * (1 - g_t^2)
    dc_{t-1} = dc * f_t ;  dh_{t-1} = dz W_hh ;  dx_t = dz W_ih        (dz = [dz_i, dz_f, dz_g, dz_o])
    dW_ih += dz^T x_t ;  dW_hh += dz^T h_{t-1} ;  db_ih = db_hh = sum_t sum_b dz

Inside the kernel the gate blocks are reordered to (o, i, f, g): the three sigmoid gates form one
contiguous slice and their weight rows are pre-scaled by 1/2, so a single ``np.tanh`` call over all
4H columns yields tanh(z_g) and tanh(z/2) for the others (sigmoid(z) = (1 + tanh(z/2)) / 2).
The backward pass first computes, for all steps at once, every factor that does not depend on the
recurrence (``P``: tanh(c) o', g i', c_{t-1} f', i g'; and ``A = o (1 - tanh(c)^2)``); the time
loop is then one GEMM and five in-place products per step.  Parameters and gradients keep PyTorch's
order.

Truncated BPTT with window k (``tbptt=k``): at every t > 0 that is a multiple of k (0-based), the
gradients into h_{t-1} and c_{t-1} are set to zero, so no gradient crosses a window boundary.

Variable lengths (``batch_sizes``, PyTorch's packed sequences): sequence b runs for its first L_b
steps only.  Its final state is (h_{L_b}, c_{L_b}), so the upstream gradients of the final state enter
its backward at step L_b; dL/dout at its padded steps (t > L_b) is ignored, and its dx there is 0.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from rnnkit.cells._checks import check_backward_args, check_cache, check_forward_args
from rnnkit.cells._common import (cut_here, final_state, record_norm, rows_views, sigmoid_via_tanh_, step_views,
                                  zero_finished)


@functools.lru_cache(maxsize=64)
def _perm(H: int) -> np.ndarray:
    """Row index taking PyTorch's (i, f, g, o) blocks to the kernel's (o, i, f, g) (read-only, cached)."""
    perm = np.r_[3 * H : 4 * H, 0 : 3 * H]
    perm.flags.writeable = False
    return perm


def _torch_rows_matmul(dz: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``(dz.T @ m)`` with its rows taken from kernel order (o, i, f, g) back to PyTorch's (i, f, g, o).

    dz (N, 4H), m (N, K) -> (4H, K).  Two GEMMs write straight into the PyTorch-ordered blocks, so no
    permuted copy of the product is made.
    """
    H = dz.shape[1] // 4
    out = np.empty((4 * H, m.shape[1]), dtype=np.result_type(dz, m))
    np.matmul(dz[:, H:].T, m, out=out[: 3 * H])  # i, f, g
    np.matmul(dz[:, :H].T, m, out=out[3 * H :])  # o
    return out


class LSTMCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

    GATE_ORDER = ("o", "i", "f", "g")  # the blocks of ``gates`` (a class constant, not a field)

    x: np.ndarray  # (T, B, D)
    gates: np.ndarray  # (T, B, 4H) activated gates in kernel order (o, i, f, g)
    hs: np.ndarray  # (T+1, B, H): h_0 .. h_T
    cs: np.ndarray  # (T+1, B, H): c_0 .. c_T
    tanh_c: np.ndarray  # (T, B, H): tanh(c_t), kept so backward need not recompute it
    w_ih_k: np.ndarray  # (4H, D) kernel order, unscaled
    w_hh_k: np.ndarray  # (4H, H) kernel order, unscaled
    batch_sizes: np.ndarray | None


def forward(
    x: np.ndarray,
    state0: tuple[np.ndarray, np.ndarray],
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    batch_sizes: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], LSTMCache]:
    """Run the cell over x (T, B, D) from (h0, c0) (B, H); returns (out (T, B, H), (h_T, c_T), cache).

    Weights in PyTorch's layout, of x's dtype: w_ih (4H, D), w_hh (4H, H), b_ih and b_hh (4H,).
    ``batch_sizes`` (T,): the sequences still running at each step, the batch sorted longest first (see
    :mod:`rnnkit.cells`); a finished sequence's outputs are 0 and its state is held.
    """
    check_forward_args(x, state0, w_ih, w_hh, b_ih, b_hh, batch_sizes, 4, "state0", True)
    T, B, D = x.shape
    H = w_hh.shape[1]
    perm = _perm(H)
    H3 = 3 * H
    half = x.dtype.type(0.5)  # sigmoid(z) through tanh(z / 2): the o, i, f rows are scaled by 1/2
    w_ih_k = w_ih[perm]  # (4H, D)
    w_hh_k = w_hh[perm]  # (4H, H)
    w_ih_s = w_ih_k.copy()  # (4H, D)
    w_ih_s[:H3] *= half
    # a contiguous (H, 4H) copy: the per-step GEMM runs ~25% faster on it than on a transposed view;
    # written block by block, scaling as it goes (half the time of permute, scale, then transpose)
    w_hh_sT = np.empty((H, 4 * H), dtype=w_hh.dtype)  # (H, 4H): columns o, i, f, g
    np.multiply(w_hh[H3:].T, half, out=w_hh_sT[:, :H])  # o
    np.multiply(w_hh[: 2 * H].T, half, out=w_hh_sT[:, H:H3])  # i, f
    w_hh_sT[:, H3:] = w_hh[2 * H : H3].T  # g
    bias_s = (b_ih + b_hh)[perm]  # (4H,)
    bias_s[:H3] *= half

    gates = (x.reshape(T * B, D) @ w_ih_s.T).reshape(T, B, 4 * H)  # (T, B, 4H)
    gates += bias_s
    # padded batches leave finished rows unwritten, and those must read as zeros
    alloc = np.empty if batch_sizes is None else np.zeros
    hs = alloc((T + 1, B, H), dtype=x.dtype)  # (T+1, B, H)
    cs = alloc((T + 1, B, H), dtype=x.dtype)  # (T+1, B, H)
    tanh_c = alloc((T, B, H), dtype=x.dtype)  # (T, B, H)
    hs[0], cs[0] = state0
    rec = np.empty((B, 4 * H), dtype=x.dtype)  # recurrent projection buffer
    ig = np.empty((B, H), dtype=x.dtype)  # i * g buffer
    # per-step views, made once (see step_views): z (all gates), the sigmoid block, o, i, f, g
    Z = step_views(gates, batch_sizes)
    S, O, I, F, Gc = (step_views(gates[..., a:b], batch_sizes)
                      for a, b in ((0, H3), (0, H), (H, 2 * H), (2 * H, H3), (H3, 4 * H)))
    h_prev, h_next = step_views(hs[:-1], batch_sizes), step_views(hs[1:], batch_sizes)
    c_prev, c_next = step_views(cs[:-1], batch_sizes), step_views(cs[1:], batch_sizes)
    TC = step_views(tanh_c, batch_sizes)
    REC, IG = rows_views(rec, batch_sizes, T), rows_views(ig, batch_sizes, T)
    for t in range(T):
        z = Z[t]  # (n, 4H): o, i, f, g
        np.matmul(h_prev[t], w_hh_sT, out=REC[t])
        np.add(z, REC[t], out=z)
        np.tanh(z, out=z)
        sigmoid_via_tanh_(S[t])
        c = c_next[t]
        np.multiply(F[t], c_prev[t], out=c)  # f * c_{t-1}
        np.multiply(I[t], Gc[t], out=IG[t])  # i * g
        np.add(c, IG[t], out=c)
        np.tanh(c, out=TC[t])
        np.multiply(O[t], TC[t], out=h_next[t])  # o * tanh(c)
    final = (final_state(hs, batch_sizes), final_state(cs, batch_sizes))
    cache = LSTMCache(x, gates, hs, cs, tanh_c, w_ih_k, w_hh_k, batch_sizes)
    return hs[1:], final, cache


def _factors(cache: LSTMCache) -> tuple[np.ndarray, np.ndarray]:
    """Everything in the backward pass that does not depend on the recurrence, for all steps at once.

    P (T, B, 4H), kernel order (o, i, f, g):  [tanh(c) o(1-o), g i(1-i), c_{t-1} f(1-f), i (1-g^2)]
    A (T, B, H):  o (1 - tanh(c)^2)
    so that per step dz_o = dh * P_o, dz_{i,f,g} = dc * P_{i,f,g} and dc += dh * A.
    """
    gates, cs, tanh_c = cache.gates, cache.cs, cache.tanh_c
    T, B, G = gates.shape
    H = G // 4
    o = gates[..., :H]
    i = gates[..., H : 2 * H]
    g = gates[..., 3 * H :]
    # the gate rows of finished sequences' padded steps hold the raw input projection (never squashed:
    # padding may hold anything), so products there may overflow; zero_finished clears them below
    with np.errstate(over="ignore", invalid="ignore"):
        P = np.empty_like(gates)  # (T, B, 4H)
        one = gates.dtype.type(1)
        np.subtract(one, gates[..., : 3 * H], out=P[..., : 3 * H])
        P[..., : 3 * H] *= gates[..., : 3 * H]  # sigmoid' = s (1 - s) for o, i, f
        P[..., :H] *= tanh_c
        P[..., H : 2 * H] *= g
        P[..., 2 * H : 3 * H] *= cs[:-1]
        np.multiply(g, g, out=P[..., 3 * H :])
        np.subtract(one, P[..., 3 * H :], out=P[..., 3 * H :])
        P[..., 3 * H :] *= i  # i (1 - g^2)
        A = np.multiply(tanh_c, tanh_c)  # (T, B, H)
        np.subtract(one, A, out=A)
        A *= o
    zero_finished(P, cache.batch_sizes)  # finished sequences contribute no gradient
    return P, A


def backward(
    dout: np.ndarray,
    dstateT: tuple[np.ndarray | None, np.ndarray | None] | None,
    cache: LSTMCache,
    tbptt: int | None = None,
    dh_norms: np.ndarray | None = None,
    dc_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]:
    """Backpropagation through time; returns (dx, (dh0, dc0), (dw_ih, dw_hh, db_ih, db_hh)).

    ``dout`` (T, B, H) is dL/dout and ``dstateT`` the upstream gradient of the final state: a tuple
    (dh_T, dc_T) of (B, H) arrays, either of them None, or None for none.  dx is (T, B, D), (dh0, dc0)
    like the initial state, the weight gradients shaped like the weights.
    ``tbptt=k`` cuts the gradient every k steps (the module docstring says where).  ``dh_norms``, a (T,)
    float array, receives ||dL/dh_t|| (Frobenius norm over the batch) at every step, written in place
    (:mod:`rnnkit.diagnostics`); ``dc_norms`` likewise ||dL/dc_t||, all the gradient reaching the cell c_t.
    """
    check_cache(cache, LSTMCache)
    x, gates, hs, cs, tanh_c, w_ih_k, w_hh_k, batch_sizes = cache
    T, B, D = x.shape
    H = w_hh_k.shape[1]
    dtype = x.dtype
    check_backward_args(dout, dstateT, (T, B, H), dtype, "dstateT", True, tbptt, dh_norms, dc_norms)
    dhT, dcT = (None, None) if dstateT is None else dstateT
    dh = np.zeros((B, H), dtype) if dhT is None else dhT.astype(dtype, copy=True)
    dc = np.zeros((B, H), dtype) if dcT is None else dcT.astype(dtype, copy=True)
    dz_all, A = _factors(cache)  # (T, B, 4H) becomes dL/dz in place, step by step
    dz4_all = dz_all.reshape(T, B, 4, H)
    tmp = np.empty((B, H), dtype)
    # per-step views, made once (see step_views)
    DZ, DZO, DZIFG = (step_views(a, batch_sizes) for a in (dz_all, dz4_all[:, :, 0], dz4_all[:, :, 1:]))
    DOUT, AA, F = (step_views(a, batch_sizes) for a in (dout, A, gates[..., 2 * H : 3 * H]))
    DH, DC, TMP = (rows_views(a, batch_sizes, T) for a in (dh, dc, tmp))
    DC3 = rows_views(dc[:, None, :], batch_sizes, T)  # dc as (n, 1, H), to scale the i, f, g blocks at once
    for t in range(T - 1, -1, -1):
        dh_n, dc_n = DH[t], DC[t]
        np.add(dh_n, DOUT[t], out=dh_n)
        record_norm(dh_norms, t, dh_n)
        np.multiply(dh_n, AA[t], out=TMP[t])
        np.add(dc_n, TMP[t], out=dc_n)  # dc += dh * o * (1 - tanh(c)^2)
        np.multiply(DZO[t], dh_n, out=DZO[t])  # dz_o
        np.multiply(DZIFG[t], DC3[t], out=DZIFG[t])  # dz_i, dz_f, dz_g
        record_norm(dc_norms, t, dc_n)  # the whole dL/dc_t, before the step back through f
        np.multiply(dc_n, F[t], out=dc_n)  # dc_{t-1} = dc * f
        if cut_here(t, tbptt):
            dh_n[...] = 0
            dc_n[...] = 0
        else:
            np.matmul(DZ[t], w_hh_k, out=dh_n)
    dz2 = dz_all.reshape(T * B, 4 * H)
    dx = (dz2 @ w_ih_k).reshape(T, B, D)
    dw_ih = _torch_rows_matmul(dz2, x.reshape(T * B, D))  # (4H, D)
    dw_hh = _torch_rows_matmul(dz2, hs[:-1].reshape(T * B, H))  # (4H, H)
    db_k = dz2.sum(axis=0)  # (4H,) kernel order
    db = np.concatenate((db_k[H:], db_k[:H]))  # PyTorch order
    return dx, (dh, dc), (dw_ih, dw_hh, db, db.copy())
