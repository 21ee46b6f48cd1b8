r"""The LSTM with layer normalization (Ba, Kiros & Hinton 2016, eqs. 20-22) as the lecture notes write it: one
example, one time step, float64, one line per equation.

As :mod:`rnnkit.textbook.lstm`, but the input projection W_ih x_t and the recurrent one W_hh h_{t-1} are each
normalized over all their 4H numbers (the four gates together, as the paper writes it), and the new cell c_t
over its H numbers before its tanh (LN of :mod:`rnnkit.textbook.layernorm`).  Gains and shifts: gamma_ih,
beta_ih, gamma_hh, beta_hh (4H,), gamma_c, beta_c (H,).  Forward::

    ax = W_ih x_t                                        # (4H,) the input projection
    mu_x = mean(ax)
    sigma_x = sqrt(mean((ax - mu_x)^2) + eps)            # eps = 1e-5
    ax_hat = (ax - mu_x) / sigma_x
    ah = W_hh h_{t-1}                                    # (4H,) the recurrent projection
    mu_h = mean(ah)
    sigma_h = sqrt(mean((ah - mu_h)^2) + eps)
    ah_hat = (ah - mu_h) / sigma_h
    a = gamma_ih * ax_hat + beta_ih + gamma_hh * ah_hat + beta_hh + b_ih + b_hh    # (4H,) = [a_i, a_f, a_g, a_o]
    i_t = sigmoid(a_i)
    f_t = sigmoid(a_f)
    g_t = tanh(a_g)
    o_t = sigmoid(a_o)
    c_t = f_t * c_{t-1} + i_t * g_t                      # the cell state the next step reads, not normalized
    mu_c = mean(c_t)
    sigma_c = sqrt(mean((c_t - mu_c)^2) + eps)
    c_hat = (c_t - mu_c) / sigma_c
    y_c = gamma_c * c_hat + beta_c
    h_t = o_t * tanh(y_c)

Backward, from dh = dL/dh_t (the loss at t and step t+1) and dc_next = dL/dc_t through c_{t+1} (at the last
step: the final state's); each LN's own backward is a line of the form dv = (dv_hat - mean(dv_hat) - v_hat
mean(dv_hat v_hat)) / sigma::

    do = dh * tanh(y_c)
    dy_c = dh * o_t * (1 - tanh(y_c)^2)
    dc_hat = dy_c * gamma_c
    dc = dc_next + (dc_hat - mean(dc_hat) - c_hat * mean(dc_hat * c_hat)) / sigma_c    # all that reaches c_t
    di = dc * g_t
    df = dc * c_{t-1}
    dg = dc * i_t
    da_i = di * i_t * (1 - i_t)
    da_f = df * f_t * (1 - f_t)
    da_g = dg * (1 - g_t^2)
    da_o = do * o_t * (1 - o_t)
    da = [da_i, da_f, da_g, da_o]
    dax_hat = da * gamma_ih
    dax = (dax_hat - mean(dax_hat) - ax_hat * mean(dax_hat * ax_hat)) / sigma_x
    dah_hat = da * gamma_hh
    dah = (dah_hat - mean(dah_hat) - ah_hat * mean(dah_hat * ah_hat)) / sigma_h
    dx_t = W_ih^T dax
    dh_{t-1} = W_hh^T dah
    dc_{t-1} = dc * f_t
    dW_ih = dax x_t^T ;  dW_hh = dah h_{t-1}^T ;  db_ih = da ;  db_hh = da
    dgamma_ih = da * ax_hat ;  dbeta_ih = da ;  dgamma_hh = da * ah_hat ;  dbeta_hh = da
    dgamma_c = dy_c * c_hat ;  dbeta_c = dy_c

Parameters: PyTorch's ``weight_ih`` (4H, D), ``weight_hh`` (4H, H), ``bias_ih``, ``bias_hh`` (4H,) (gate blocks
i, f, g, o), and the LN's ``ln_ih_weight``, ``ln_ih_bias``, ``ln_hh_weight``, ``ln_hh_bias`` (4H,),
``ln_cell_weight``, ``ln_cell_bias`` (H,).  The fast kernel is :mod:`rnnkit.cells.lstm_ln`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.textbook import lstm
from rnnkit.textbook.layernorm import EPS, mean
from rnnkit.textbook.lstm import sigmoid

GATES = lstm.GATES  # i, f, g, o: PyTorch's order of the blocks of H rows
LN_PARAMS = ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias", "ln_cell_weight", "ln_cell_bias")
PARAM_NAMES = lstm.PARAM_NAMES + LN_PARAMS
SYMBOLS = {"ln_ih_weight": "gamma_ih", "ln_ih_bias": "beta_ih", "ln_hh_weight": "gamma_hh", "ln_hh_bias": "beta_hh",
           "ln_cell_weight": "gamma_c", "ln_cell_bias": "beta_c"}  # the LN parameters as the equations write them
UNIT_PARAMS = ("ln_cell_weight", "ln_cell_bias")  # one number per hidden unit (no gate blocks)

# what each quantity is, in the order computed, for printing (rnnkit step --cell lstm --layer-norm)
FORWARD_EQUATIONS = {
    "ax": "ax = W_ih x_t",
    "mu_x": "mu_x = mean(ax)",
    "sigma_x": "sigma_x = sqrt(mean((ax - mu_x)^2) + eps)",
    "ax_hat": "ax_hat = (ax - mu_x) / sigma_x",
    "ah": "ah = W_hh h_{t-1}",
    "mu_h": "mu_h = mean(ah)",
    "sigma_h": "sigma_h = sqrt(mean((ah - mu_h)^2) + eps)",
    "ah_hat": "ah_hat = (ah - mu_h) / sigma_h",
    "a": "a = gamma_ih * ax_hat + beta_ih + gamma_hh * ah_hat + beta_hh + b_ih + b_hh",
    "i": "i_t = sigmoid(a_i)",
    "f": "f_t = sigmoid(a_f)",
    "g": "g_t = tanh(a_g)",
    "o": "o_t = sigmoid(a_o)",
    "c": "c_t = f_t * c_{t-1} + i_t * g_t",
    "mu_c": "mu_c = mean(c_t)",
    "sigma_c": "sigma_c = sqrt(mean((c_t - mu_c)^2) + eps)",
    "c_hat": "c_hat = (c_t - mu_c) / sigma_c",
    "y_c": "y_c = gamma_c * c_hat + beta_c",
    "h": "h_t = o_t * tanh(y_c)",
}
BACKWARD_EQUATIONS = {
    "dh": "dh = dL/dh_t",
    "dc_next": "dc_next = dL/dc_t through c_{t+1}",
    "do": "do = dh * tanh(y_c)",
    "dy_c": "dy_c = dh * o_t * (1 - tanh(y_c)^2)",
    "dc_hat": "dc_hat = dy_c * gamma_c",
    "dc": "dc = dc_next + (dc_hat - mean(dc_hat) - c_hat * mean(dc_hat * c_hat)) / sigma_c",
    "di": "di = dc * g_t",
    "df": "df = dc * c_{t-1}",
    "dg": "dg = dc * i_t",
    "da_i": "da_i = di * i_t * (1 - i_t)",
    "da_f": "da_f = df * f_t * (1 - f_t)",
    "da_g": "da_g = dg * (1 - g_t^2)",
    "da_o": "da_o = do * o_t * (1 - o_t)",
    "da": "da = [da_i, da_f, da_g, da_o]",
    "dax_hat": "dax_hat = da * gamma_ih",
    "dax": "dax = (dax_hat - mean(dax_hat) - ax_hat * mean(dax_hat * ax_hat)) / sigma_x",
    "dah_hat": "dah_hat = da * gamma_hh",
    "dah": "dah = (dah_hat - mean(dah_hat) - ah_hat * mean(dah_hat * ah_hat)) / sigma_h",
    "dx": "dx_t = W_ih^T dax",
    "dh_prev": "dh_{t-1} = W_hh^T dah",
    "dc_prev": "dc_{t-1} = dc * f_t",
}
PARAM_GRADIENTS = {
    "weight_ih": "dW_ih = dax x_t^T",
    "weight_hh": "dW_hh = dah h_{t-1}^T",
    "bias_ih": "db_ih = da",
    "bias_hh": "db_hh = da",
    "ln_ih_weight": "dgamma_ih = da * ax_hat",
    "ln_ih_bias": "dbeta_ih = da",
    "ln_hh_weight": "dgamma_hh = da * ah_hat",
    "ln_hh_bias": "dbeta_hh = da",
    "ln_cell_weight": "dgamma_c = dy_c * c_hat",
    "ln_cell_bias": "dbeta_c = dy_c",
}


class Step(NamedTuple):
    """One forward step: its inputs and every intermediate, named as in the equations."""

    x: np.ndarray  # (D,) x_t
    h_prev: np.ndarray  # (H,) h_{t-1}
    c_prev: np.ndarray  # (H,) c_{t-1}
    ax: np.ndarray  # (4H,) W_ih x_t
    mu_x: np.ndarray  # (1,)
    sigma_x: np.ndarray  # (1,)
    ax_hat: np.ndarray  # (4H,)
    ah: np.ndarray  # (4H,) W_hh h_{t-1}
    mu_h: np.ndarray  # (1,)
    sigma_h: np.ndarray  # (1,)
    ah_hat: np.ndarray  # (4H,)
    a: np.ndarray  # (4H,) pre-activations, gate blocks i, f, g, o
    i: np.ndarray  # (H,) gates
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray  # (H,) c_t
    mu_c: np.ndarray  # (1,)
    sigma_c: np.ndarray  # (1,)
    c_hat: np.ndarray  # (H,)
    y_c: np.ndarray  # (H,) LN(c_t)
    h: np.ndarray  # (H,) h_t


class StepGrads(NamedTuple):
    """One backward step: the intermediate gradients and this step's share of each gradient."""

    dh: np.ndarray  # (H,) dL/dh_t, all that reaches h_t
    dc_next: np.ndarray  # (H,) dL/dc_t through c_{t+1}
    do: np.ndarray  # (H,)
    dy_c: np.ndarray  # (H,)
    dc_hat: np.ndarray  # (H,)
    dc: np.ndarray  # (H,) dL/dc_t, all that reaches c_t
    di: np.ndarray
    df: np.ndarray
    dg: np.ndarray
    da_i: np.ndarray
    da_f: np.ndarray
    da_g: np.ndarray
    da_o: np.ndarray
    da: np.ndarray  # (4H,)
    dax_hat: np.ndarray  # (4H,)
    dax: np.ndarray  # (4H,)
    dah_hat: np.ndarray  # (4H,)
    dah: np.ndarray  # (4H,)
    dx: np.ndarray  # (D,)
    dh_prev: np.ndarray  # (H,) dL/dh_{t-1} through this step
    dc_prev: np.ndarray  # (H,) dL/dc_{t-1} through this step
    weight_ih: np.ndarray  # (4H, D)
    weight_hh: np.ndarray  # (4H, H)
    bias_ih: np.ndarray  # (4H,)
    bias_hh: np.ndarray  # (4H,)
    ln_ih_weight: np.ndarray  # (4H,)
    ln_ih_bias: np.ndarray  # (4H,)
    ln_hh_weight: np.ndarray  # (4H,)
    ln_hh_bias: np.ndarray  # (4H,)
    ln_cell_weight: np.ndarray  # (H,)
    ln_cell_bias: np.ndarray  # (H,)


def forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, p: dict[str, np.ndarray]) -> Step:
    """One step: x_t (D,), h_{t-1} and c_{t-1} (H,) to h_t and c_t (H,), with every intermediate."""
    gamma_ih, beta_ih = p["ln_ih_weight"], p["ln_ih_bias"]  # (4H,) each
    gamma_hh, beta_hh = p["ln_hh_weight"], p["ln_hh_bias"]  # (4H,) each
    gamma_c, beta_c = p["ln_cell_weight"], p["ln_cell_bias"]  # (H,) each
    ax = p["weight_ih"] @ x
    mu_x = mean(ax)
    sigma_x = np.sqrt(mean((ax - mu_x) ** 2) + EPS)
    ax_hat = (ax - mu_x) / sigma_x
    ah = p["weight_hh"] @ h_prev
    mu_h = mean(ah)
    sigma_h = np.sqrt(mean((ah - mu_h) ** 2) + EPS)
    ah_hat = (ah - mu_h) / sigma_h
    a = gamma_ih * ax_hat + beta_ih + gamma_hh * ah_hat + beta_hh + p["bias_ih"] + p["bias_hh"]
    a_i, a_f, a_g, a_o = np.split(a, 4)  # (H,) each
    i = sigmoid(a_i)
    f = sigmoid(a_f)
    g = np.tanh(a_g)
    o = sigmoid(a_o)
    c = f * c_prev + i * g
    mu_c = mean(c)
    sigma_c = np.sqrt(mean((c - mu_c) ** 2) + EPS)
    c_hat = (c - mu_c) / sigma_c
    y_c = gamma_c * c_hat + beta_c
    h = o * np.tanh(y_c)
    return Step(x, h_prev, c_prev, ax, mu_x, sigma_x, ax_hat, ah, mu_h, sigma_h, ah_hat, a, i, f, g, o, c,
                mu_c, sigma_c, c_hat, y_c, h)


def backward(s: Step, p: dict[str, np.ndarray], dh: np.ndarray, dc_next: np.ndarray) -> StepGrads:
    """One step back: from dh = dL/dh_t and dc_next = dL/dc_t through c_{t+1} (H,) to dx_t, dh_{t-1},
    dc_{t-1} and this step's parameter gradients."""
    tanh_y = np.tanh(s.y_c)  # recomputed: the forward equations do not name it
    do = dh * tanh_y
    dy_c = dh * s.o * (1.0 - tanh_y**2)
    dc_hat = dy_c * p["ln_cell_weight"]
    dc = dc_next + (dc_hat - mean(dc_hat) - s.c_hat * mean(dc_hat * s.c_hat)) / s.sigma_c
    di = dc * s.g
    df = dc * s.c_prev
    dg = dc * s.i
    da_i = di * s.i * (1.0 - s.i)
    da_f = df * s.f * (1.0 - s.f)
    da_g = dg * (1.0 - s.g**2)
    da_o = do * s.o * (1.0 - s.o)
    da = np.concatenate([da_i, da_f, da_g, da_o])  # (4H,) PyTorch's gate order
    dax_hat = da * p["ln_ih_weight"]
    dax = (dax_hat - mean(dax_hat) - s.ax_hat * mean(dax_hat * s.ax_hat)) / s.sigma_x
    dah_hat = da * p["ln_hh_weight"]
    dah = (dah_hat - mean(dah_hat) - s.ah_hat * mean(dah_hat * s.ah_hat)) / s.sigma_h
    dx = p["weight_ih"].T @ dax
    dh_prev = p["weight_hh"].T @ dah
    dc_prev = dc * s.f
    dW_ih = np.outer(dax, s.x)
    dW_hh = np.outer(dah, s.h_prev)
    dgamma_ih = da * s.ax_hat
    dgamma_hh = da * s.ah_hat
    dgamma_c = dy_c * s.c_hat
    return StepGrads(dh, dc_next, do, dy_c, dc_hat, dc, di, df, dg, da_i, da_f, da_g, da_o, da, dax_hat, dax,
                     dah_hat, dah, dx, dh_prev, dc_prev, dW_ih, dW_hh, da.copy(), da.copy(), dgamma_ih, da.copy(),
                     dgamma_hh, da.copy(), dgamma_c, dy_c.copy())


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
