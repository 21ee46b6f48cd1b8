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
    dc   = dc_next + dh * o_t * (1 - tanh(c_t)^2) + da_o * p_o     # c_t reaches a_o through p_o
    di   = dc * g_t
    df   = dc * c_{t-1}
    dg   = dc * i_t
    da_i = di * i_t * (1 - i_t)
    da_f = df * f_t * (1 - f_t)
    da_g = dg * (1 - g_t^2)
    dx_t     = W_ih^T da                   da = [da_i, da_f, da_g, da_o]  (4H,)
    dh_{t-1} = W_hh^T da
    dc_{t-1} = dc * f_t + da_i * p_i + da_f * p_f                   # c_{t-1} reaches a_i, a_f through p_i, p_f
    dW_ih = da x_t^T ;  dW_hh = da h_{t-1}^T ;  db_ih = da ;  db_hh = da
    dp_i = da_i * c_{t-1} ;  dp_f = da_f * c_{t-1} ;  dp_o = da_o * c_t

The fast kernel is :mod:`rnnkit.cells.lstm_peephole`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.textbook import lstm
from rnnkit.textbook.lstm import sigmoid

GATES = lstm.GATES  # i, f, g, o: PyTorch's order of the blocks of H rows

PEEPHOLES = ("weight_ci", "weight_cf", "weight_co")  # p_i, p_f, p_o (H,) each: one number per unit
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + PEEPHOLES

# what each quantity is, in the order computed, for printing (rnnkit step --cell lstm --peephole)
FORWARD_EQUATIONS = {
    "a_i": "a_i = W_ii x_t + b_ii + W_hi h_{t-1} + b_hi + p_i * c_{t-1}",
    "a_f": "a_f = W_if x_t + b_if + W_hf h_{t-1} + b_hf + p_f * c_{t-1}",
    "a_g": "a_g = W_ig x_t + b_ig + W_hg h_{t-1} + b_hg",
    "i": "i_t = sigmoid(a_i)",
    "f": "f_t = sigmoid(a_f)",
    "g": "g_t = tanh(a_g)",
    "c": "c_t = f_t * c_{t-1} + i_t * g_t",
    "a_o": "a_o = W_io x_t + b_io + W_ho h_{t-1} + b_ho + p_o * c_t",
    "o": "o_t = sigmoid(a_o)",
    "h": "h_t = o_t * tanh(c_t)",
}
BACKWARD_EQUATIONS = {
    "dh": "dh = dL/dh_t",
    "dc_next": "dc_next = dL/dc_t through step t+1",
    "do": "do = dh * tanh(c_t)",
    "da_o": "da_o = do * o_t * (1 - o_t)",
    "dc": "dc = dc_next + dh * o_t * (1 - tanh(c_t)^2) + da_o * p_o",
    "di": "di = dc * g_t",
    "df": "df = dc * c_{t-1}",
    "dg": "dg = dc * i_t",
    "da_i": "da_i = di * i_t * (1 - i_t)",
    "da_f": "da_f = df * f_t * (1 - f_t)",
    "da_g": "da_g = dg * (1 - g_t^2)",
    "dx": "dx_t = W_ih^T da",
    "dh_prev": "dh_{t-1} = W_hh^T da",
    "dc_prev": "dc_{t-1} = dc * f_t + da_i * p_i + da_f * p_f",
}
PARAM_GRADIENTS = {
    "weight_ih": "dW_ih = da x_t^T",
    "weight_hh": "dW_hh = da h_{t-1}^T",
    "bias_ih": "db_ih = da",
    "bias_hh": "db_hh = da",
    "weight_ci": "dp_i = da_i * c_{t-1}",
    "weight_cf": "dp_f = da_f * c_{t-1}",
    "weight_co": "dp_o = da_o * c_t",
}


class Step(NamedTuple):
    """One forward step: its inputs and every intermediate, named as in the equations, in the order computed."""

    x: np.ndarray  # (D,) x_t
    h_prev: np.ndarray  # (H,) h_{t-1}
    c_prev: np.ndarray  # (H,) c_{t-1}
    a_i: np.ndarray  # (H,) pre-activations
    a_f: np.ndarray
    a_g: np.ndarray
    i: np.ndarray  # (H,) gates
    f: np.ndarray
    g: np.ndarray
    c: np.ndarray  # (H,) c_t
    a_o: np.ndarray  # (H,) after c_t: it reads c_t
    o: np.ndarray
    h: np.ndarray  # (H,) h_t


class StepGrads(NamedTuple):
    """One backward step: the intermediate gradients and this step's share of each gradient."""

    dh: np.ndarray  # (H,) dL/dh_t, all that reaches h_t
    dc_next: np.ndarray  # (H,) dL/dc_t through step t+1
    do: np.ndarray  # (H,)
    da_o: np.ndarray
    dc: np.ndarray  # (H,) dL/dc_t, all that reaches c_t
    di: np.ndarray
    df: np.ndarray
    dg: np.ndarray
    da_i: np.ndarray
    da_f: np.ndarray
    da_g: np.ndarray
    dx: np.ndarray  # (D,)
    dh_prev: np.ndarray  # (H,) dL/dh_{t-1} through this step
    dc_prev: np.ndarray  # (H,) dL/dc_{t-1} through this step
    weight_ih: np.ndarray  # (4H, D)
    weight_hh: np.ndarray  # (4H, H)
    bias_ih: np.ndarray  # (4H,)
    bias_hh: np.ndarray  # (4H,)
    weight_ci: np.ndarray  # (H,)
    weight_cf: np.ndarray  # (H,)
    weight_co: np.ndarray  # (H,)


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
    return Step(x, h_prev, c_prev, a_i, a_f, a_g, i, f, g, c, a_o, o, h)


def backward(s: Step, p: dict[str, np.ndarray], dh: np.ndarray, dc_next: np.ndarray) -> StepGrads:
    """One step back from dh = dL/dh_t and dc_next = dL/dc_t through step t+1 (H,) to dx_t, dh_{t-1},
    dc_{t-1} and this step's parameter gradients."""
    tanh_c = np.tanh(s.c)  # recomputed: the forward equations do not name it
    do = dh * tanh_c
    da_o = do * s.o * (1.0 - s.o)
    dc = dc_next + dh * s.o * (1.0 - tanh_c**2) + da_o * p["weight_co"]
    di = dc * s.g
    df = dc * s.c_prev
    dg = dc * s.i
    da_i = di * s.i * (1.0 - s.i)
    da_f = df * s.f * (1.0 - s.f)
    da_g = dg * (1.0 - s.g**2)
    da = np.concatenate([da_i, da_f, da_g, da_o])  # (4H,) PyTorch's gate order
    dx = p["weight_ih"].T @ da
    dh_prev = p["weight_hh"].T @ da
    dc_prev = dc * s.f + da_i * p["weight_ci"] + da_f * p["weight_cf"]
    dW_ih = np.outer(da, s.x)
    dW_hh = np.outer(da, s.h_prev)
    dp_i = da_i * s.c_prev
    dp_f = da_f * s.c_prev
    dp_o = da_o * s.c
    return StepGrads(dh, dc_next, do, da_o, dc, di, df, dg, da_i, da_f, da_g, dx, dh_prev, dc_prev,
                     dW_ih, dW_hh, da.copy(), da.copy(), dp_i, dp_f, dp_o)


def forward_sequence(xs: np.ndarray, h0: np.ndarray, c0: np.ndarray, p: dict[str, np.ndarray]) -> list[Step]:
    """Steps t = 1..T over xs (T, D) from h0 and c0 (H,), as :func:`rnnkit.textbook.lstm.forward_sequence`."""
    return lstm.forward_sequence(xs, h0, c0, p, step=forward)


def backward_sequence(steps: list[Step], p: dict[str, np.ndarray], dout: np.ndarray, dh_T: np.ndarray,
                      dc_T: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray,
                                                 list[StepGrads]]:
    """Backpropagation through time, t = T..1, as :func:`rnnkit.textbook.lstm.backward_sequence`: from ``dout``
    (T, H) and the final state's ``dh_T``, ``dc_T`` (H,) to (parameter gradients summed over the steps, dxs (T, D),
    dh0 (H,), dc0 (H,), each step's :class:`StepGrads` in time order)."""
    return lstm.backward_sequence(steps, p, dout, dh_T, dc_T, step=backward, names=PARAM_NAMES)
