r"""The peephole LSTM (Gers & Schmidhuber 2000; Graves 2013) as the lecture notes write it: one example, one
time step, float64, one line per equation.  As :mod:`rnnkit.textbook.lstm`, plus the diagonal peephole
weights p_i, p_f, p_o (H,) (parameters ``weight_ci``, ``weight_cf``, ``weight_co``)::

    a_i = W_ii x_t + b_ii + W_hi h_{t-1} + b_hi + p_i * c_{t-1}
    a_f = W_if x_t + b_if + W_hf h_{t-1} + b_hf + p_f * c_{t-1}
    a_g = W_ig x_t + b_ig + W_hg h_{t-1} + b_hg
    i_t = sigmoid(a_i)
    f_t = sigmoid(a_f)
    g_t = tanh(a_g)
    c_t = f_t * c_{t-1} + i_t * g_t
    a_o = W_io x_t + b_io + W_ho h_{t-1} + b_ho + p_o * c_t        # after c_t: o_t reads the new cell
    o_t = sigmoid(a_o)
    h_t = o_t * tanh(c_t)

Backward, from dh = dL/dh_t and dc_next = dL/dc_t through step t+1 (its c_{t+1} and its peepholes)::

    do   = dh * tanh(c_t)
    da_o = do * o_t * (1 - o_t)
    dc   = dc_next + dh * o_t * (1 - tanh(c_t)^2) + da_o * p_o
    di   = dc * g_t ;  df = dc * c_{t-1} ;  dg = dc * i_t
    da_i = di * i_t * (1 - i_t) ;  da_f = df * f_t * (1 - f_t) ;  da_g = dg * (1 - g_t^2)
    dx_t = W_ih^T da ;  dh_{t-1} = W_hh^T da                       da = [da_i, da_f, da_g, da_o]
    dc_{t-1} = dc * f_t + da_i * p_i + da_f * p_f
    dW_ih = da x_t^T ;  dW_hh = da h_{t-1}^T ;  db_ih = db_hh = da
    dp_i = da_i * c_{t-1} ;  dp_f = da_f * c_{t-1} ;  dp_o = da_o * c_t

The fast kernel is :mod:`rnnkit.cells.lstm_peephole`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.textbook.lstm import sigmoid

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ci", "weight_cf", "weight_co")


class Step(NamedTuple):
    """One forward step: its inputs and every intermediate, named as in the equations."""

    x: np.ndarray  # (D,)
    h_prev: np.ndarray  # (H,)
    c_prev: np.ndarray  # (H,)
    a_i: np.ndarray  # (H,)
    a_f: np.ndarray
    a_g: np.ndarray
    a_o: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray


class StepGrads(NamedTuple):
    """One backward step: the intermediate gradients, dx_t, dh_{t-1}, dc_{t-1} and this step's parameter grads."""

    dh: np.ndarray  # (H,)
    dc_next: np.ndarray
    do: np.ndarray
    dc: np.ndarray
    di: np.ndarray
    df: np.ndarray
    dg: np.ndarray
    da_i: np.ndarray
    da_f: np.ndarray
    da_g: np.ndarray
    da_o: np.ndarray
    dx: np.ndarray  # (D,)
    dh_prev: np.ndarray  # (H,)
    dc_prev: np.ndarray  # (H,)
    grads: dict[str, np.ndarray]  # this step's share, keyed as PARAM_NAMES


def forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, p: dict[str, np.ndarray]) -> Step:
    """One step: x_t (D,), h_{t-1} and c_{t-1} (H,) to h_t and c_t (H,), with every intermediate."""
    W_ii, W_if, W_ig, W_io = np.split(p["weight_ih"], 4)  # (H, D) each
    W_hi, W_hf, W_hg, W_ho = np.split(p["weight_hh"], 4)  # (H, H) each
    b_ii, b_if, b_ig, b_io = np.split(p["bias_ih"], 4)  # (H,) each
    b_hi, b_hf, b_hg, b_ho = np.split(p["bias_hh"], 4)
    p_i, p_f, p_o = p["weight_ci"], p["weight_cf"], p["weight_co"]  # (H,) each
    a_i = W_ii @ x + b_ii + W_hi @ h_prev + b_hi + p_i * c_prev
    a_f = W_if @ x + b_if + W_hf @ h_prev + b_hf + p_f * c_prev
    a_g = W_ig @ x + b_ig + W_hg @ h_prev + b_hg
    i = sigmoid(a_i)
    f = sigmoid(a_f)
    g = np.tanh(a_g)
    c = f * c_prev + i * g
    a_o = W_io @ x + b_io + W_ho @ h_prev + b_ho + p_o * c
    o = sigmoid(a_o)
    h = o * np.tanh(c)
    return Step(x, h_prev, c_prev, a_i, a_f, a_g, a_o, i, f, g, o, c, h)


def backward(s: Step, p: dict[str, np.ndarray], dh: np.ndarray, dc_next: np.ndarray) -> StepGrads:
    """One step back from dh = dL/dh_t and dc_next = dL/dc_t through step t+1 (H,)."""
    tanh_c = np.tanh(s.c)
    do = dh * tanh_c
    da_o = do * s.o * (1.0 - s.o)
    dc = dc_next + dh * s.o * (1.0 - tanh_c**2) + da_o * p["weight_co"]
    di = dc * s.g
    df = dc * s.c_prev
    dg = dc * s.i
    da_i = di * s.i * (1.0 - s.i)
    da_f = df * s.f * (1.0 - s.f)
    da_g = dg * (1.0 - s.g**2)
    da = np.concatenate([da_i, da_f, da_g, da_o])  # (4H,)
    dx = p["weight_ih"].T @ da
    dh_prev = p["weight_hh"].T @ da
    dc_prev = dc * s.f + da_i * p["weight_ci"] + da_f * p["weight_cf"]
    grads = {"weight_ih": np.outer(da, s.x), "weight_hh": np.outer(da, s.h_prev), "bias_ih": da.copy(),
             "bias_hh": da.copy(), "weight_ci": da_i * s.c_prev, "weight_cf": da_f * s.c_prev, "weight_co": da_o * s.c}
    return StepGrads(dh, dc_next, do, dc, di, df, dg, da_i, da_f, da_g, da_o, dx, dh_prev, dc_prev, grads)


def forward_sequence(xs: np.ndarray, h0: np.ndarray, c0: np.ndarray, p: dict[str, np.ndarray]) -> list[Step]:
    """Steps t = 1..T over xs (T, D) from h0 and c0 (H,)."""
    steps = []
    h, c = h0, c0
    for x in xs:
        s = forward(x, h, c, p)
        steps.append(s)
        h, c = s.h, s.c
    return steps


def backward_sequence(steps: list[Step], p: dict[str, np.ndarray], dout: np.ndarray, dh_T: np.ndarray,
                      dc_T: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time, t = T..1, from dout (T, H) and the final state's dh_T, dc_T (H,).

    Returns (parameter gradients summed over the steps, dxs (T, D), dh0 (H,), dc0 (H,)).
    """
    grads = {name: np.zeros_like(p[name]) for name in PARAM_NAMES}
    dxs = []
    dh_next, dc_next = dh_T, dc_T
    for t in reversed(range(len(steps))):
        g = backward(steps[t], p, dout[t] + dh_next, dc_next)
        for name in PARAM_NAMES:
            grads[name] += g.grads[name]  # shared weights: the steps' gradients add up
        dxs.append(g.dx)
        dh_next, dc_next = g.dh_prev, g.dc_prev
    return grads, np.array(dxs[::-1]), dh_next, dc_next
