r"""RTRL for the gated cells: LSTM (state h and c) and GRU, with PyTorch's gate orders.

Same idea as :mod:`rnnkit.rtrl` (read that first): carry S = d(state)/dθ with the state.  Write
dA for the sensitivity of the gate pre-activations, dA = W_hh S^h + ∂A/∂θ|immediate, where the
immediate part is x_t for the rows of W_ih, h_{t-1} for the rows of W_hh and 1 for the biases.

LSTM, gates i, f, g, o (rows 0:H, H:2H, 2H:3H, 3H:4H of the weights)::

    A_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh                       # (4H,): one sequence, columns
    i, f, o = σ(A_i), σ(A_f), σ(A_o);   g = tanh(A_g)
    c_t = f * c_{t-1} + i * g;          h_t = o * tanh(c_t)
    S^c_t = i(1-i) g dA_i + f(1-f) c_{t-1} dA_f + i (1-g²) dA_g + f S^c_{t-1}
    S^h_t = o(1-o) tanh(c_t) dA_o + o (1 - tanh²(c_t)) S^c_t

GRU, gates r, z, n; the input part A^x = W_ih x_t + b_ih and the hidden part
A^h = W_hh h_{t-1} + b_hh are kept apart because r multiplies only A^h_n::

    r = σ(A^x_r + A^h_r);   z = σ(A^x_z + A^h_z);   n = tanh(A^x_n + r * A^h_n)
    h_t = (1 - z) * n + z * h_{t-1}
    dr = r(1-r) (dA^x_r + dA^h_r);   dz = z(1-z) (dA^x_z + dA^h_z)
    dn = (1 - n²) (dA^x_n + A^h_n dr + r dA^h_n)
    S_t = (h_{t-1} - n) dz + (1 - z) dn + z S_{t-1}

(products of a (B, H) vector with a (B, H, N) sensitivity broadcast over N).  Per step the cost is
dominated by W_hh S: G H * H * N_θ multiply-adds with N_θ = G H (H + D) + 2 G H parameter entries, so
O(G² H³ (H + D)); memory is O(G H² (H + D)) per sequence (twice for LSTM's h and c).
"""
from __future__ import annotations

import numpy as np

from rnnkit.rtrl import (
    ELMAN_NAMES,
    SensitivityLayout,
    StepFn,
    UpstreamGrad,
    add_immediate,
    check_array,
    check_params,
    make_layout,
    run_rtrl,
    split_grads,
)

# The same four arrays as the Elman cell, with G*H rows.
GATED_NAMES = ELMAN_NAMES


def _sigmoid(a: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warning for large negative a, unlike 1 / (1 + exp(-a))
    return 0.5 * np.tanh(0.5 * a) + 0.5


def lstm_step(
    params: dict[str, np.ndarray],
    layout: SensitivityLayout,
    x_t: np.ndarray,
    state: tuple[np.ndarray, ...],
    sens: tuple[np.ndarray, ...],
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """One LSTM RTRL step: state (h, c), sensitivities (S^h, S^c), each (B, H) / (B, H, N)."""
    h, c = state  # (B, H)
    sh, sc = sens  # (B, H, N)
    w_ih, w_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    H = h.shape[1]
    a = x_t @ w_ih.T + params["bias_ih_l0"] + h @ w_hh.T + params["bias_hh_l0"]  # (B, 4H)
    i = _sigmoid(a[:, :H])
    f = _sigmoid(a[:, H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = _sigmoid(a[:, 3 * H :])
    c_new = f * c + i * g  # (B, H)
    tc = np.tanh(c_new)
    h_new = o * tc
    da = np.matmul(w_hh, sh)  # (B, 4H, N)
    add_immediate(da, layout, "weight_ih_l0", x_t)
    add_immediate(da, layout, "weight_hh_l0", h)
    add_immediate(da, layout, "bias_ih_l0", None)
    add_immediate(da, layout, "bias_hh_l0", None)
    sc_new = (i * (1.0 - i) * g)[:, :, None] * da[:, :H]
    sc_new += (f * (1.0 - f) * c)[:, :, None] * da[:, H : 2 * H]
    sc_new += (i * (1.0 - g * g))[:, :, None] * da[:, 2 * H : 3 * H]
    sc_new += f[:, :, None] * sc
    sh_new = (o * (1.0 - o) * tc)[:, :, None] * da[:, 3 * H :]
    sh_new += (o * (1.0 - tc * tc))[:, :, None] * sc_new
    return (h_new, c_new), (sh_new, sc_new)


def gru_step(
    params: dict[str, np.ndarray],
    layout: SensitivityLayout,
    x_t: np.ndarray,
    state: tuple[np.ndarray, ...],
    sens: tuple[np.ndarray, ...],
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """One GRU RTRL step: state (h,), sensitivity (S,), (B, H) and (B, H, N)."""
    (h,) = state  # (B, H)
    (s,) = sens  # (B, H, N)
    H = h.shape[1]
    ax = x_t @ params["weight_ih_l0"].T + params["bias_ih_l0"]  # (B, 3H)
    ah = h @ params["weight_hh_l0"].T + params["bias_hh_l0"]  # (B, 3H)
    r = _sigmoid(ax[:, :H] + ah[:, :H])
    z = _sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
    n = np.tanh(ax[:, 2 * H :] + r * ah[:, 2 * H :])
    h_new = (1.0 - z) * n + z * h
    # One dense tensor instead of two: build dA^h, scale its n rows by r, then add the (sparse)
    # immediate part of dA^x, giving dA^x_r + dA^h_r, dA^x_z + dA^h_z and dA^x_n + r dA^h_n.
    pre = np.matmul(params["weight_hh_l0"], s)  # (B, 3H, N)
    add_immediate(pre, layout, "weight_hh_l0", h)
    add_immediate(pre, layout, "bias_hh_l0", None)
    pre[:, 2 * H :] *= r[:, :, None]
    add_immediate(pre, layout, "weight_ih_l0", x_t)
    add_immediate(pre, layout, "bias_ih_l0", None)
    dr = (r * (1.0 - r))[:, :, None] * pre[:, :H]
    dz = (z * (1.0 - z))[:, :, None] * pre[:, H : 2 * H]
    dn = pre[:, 2 * H :] + ah[:, 2 * H :, None] * dr
    dn *= (1.0 - n * n)[:, :, None]
    s_new = (h - n)[:, :, None] * dz
    s_new += (1.0 - z)[:, :, None] * dn
    s_new += z[:, :, None] * s
    return (h_new,), (s_new,)


def _prepare(params, x, gates: int, initial: tuple, final: tuple, names: tuple[str, ...]):
    """Validate a gated call; return (H, x, initial states, final-state gradients)."""
    D, H, dtype = check_params(params, GATED_NAMES, gates=gates)
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != D:
        raise ValueError(f"Expected x of shape (T, B, D) with D = {D}, got {x.shape}")
    x = check_array("x", x, x.shape, "(T, B, D)", dtype)
    B = x.shape[1]
    states = []
    grads = []
    for name, s0, ds in zip(names, initial, final):
        if s0 is None:
            states.append(np.zeros((B, H), dtype=dtype))
        else:
            states.append(check_array(f"{name}0", s0, (B, H), "(B, H)", dtype))
        if ds is None:
            grads.append(None)
        else:
            grads.append(check_array(f"d{name}T", np.asarray(ds, dtype=dtype), (B, H), "(B, H)", dtype))
    return H, x, tuple(states), tuple(grads)


def lstm_rtrl_gradients(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    state0: tuple[np.ndarray | None, np.ndarray | None] | None,
    dloss_dh: UpstreamGrad,
    dstateT: tuple[np.ndarray | None, np.ndarray | None] | None = None,
    lengths: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Full gradient of a one-layer LSTM by RTRL; equal to BPTT's.

    params: PyTorch's weight_ih_l0 (4H, D), weight_hh_l0 (4H, H), bias_ih_l0 (4H,), bias_hh_l0 (4H,).
    x (T, B, D); state0 (h0, c0), each (B, H) or None for zeros; dloss_dh as in
    :func:`rnnkit.rtrl.rtrl_gradients` (on the outputs h_t only); dstateT (dhT, dcT) on the final
    state.  Returns (grads, (dh0, dc0)).
    """
    from rnnkit.cells.lstm_peephole import PEEPHOLES

    peepholes = sorted(k for k in params if k in tuple(n + "_l0" for n in PEEPHOLES)) if isinstance(params, dict) \
        else []
    if peepholes:
        raise ValueError(f"Expected the parameters of an LSTM without peepholes (this RTRL has none), got "
                         f"{', '.join(peepholes)}; check a peephole LSTM's gradient by finite differences")
    state0 = (None, None) if state0 is None else tuple(state0)
    dstateT = (None, None) if dstateT is None else tuple(dstateT)
    if len(state0) != 2 or len(dstateT) != 2:
        raise ValueError(f"Expected state0 and dstateT as pairs (h, c), got {len(state0)} and {len(dstateT)} items")
    H, x, states, finals = _prepare(params, x, 4, state0, dstateT, ("h", "c"))
    layout = make_layout(params, GATED_NAMES, num_init=2 * H)
    acc = run_rtrl(lstm_step, params, layout, x, states, dloss_dh, finals, lengths)
    P = layout.num_params
    grads = split_grads(acc[:, :P].sum(axis=0), layout)
    return grads, (acc[:, P : P + H].copy(), acc[:, P + H :].copy())


def gru_rtrl_gradients(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    h0: np.ndarray | None,
    dloss_dh: UpstreamGrad,
    dhT: np.ndarray | None = None,
    lengths: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Full gradient of a one-layer GRU by RTRL; equal to BPTT's.

    params: PyTorch's weight_ih_l0 (3H, D), weight_hh_l0 (3H, H), bias_ih_l0 (3H,), bias_hh_l0 (3H,).
    Arguments and result as in :func:`rnnkit.rtrl.rtrl_gradients`.
    """
    H, x, states, finals = _prepare(params, x, 3, (h0,), (dhT,), ("h",))
    layout = make_layout(params, GATED_NAMES, num_init=H)
    acc = run_rtrl(gru_step, params, layout, x, states, dloss_dh, finals, lengths)
    grads = split_grads(acc[:, : layout.num_params].sum(axis=0), layout)
    return grads, acc[:, layout.num_params :].copy()


# Cell name -> (step, gates, state parts); used by the online learner.
GATED_STEPS: dict[str, tuple[StepFn, int, int]] = {"lstm": (lstm_step, 4, 2), "gru": (gru_step, 3, 1)}
