r"""The GRU with layer normalization (as Ba, Kiros & Hinton 2016 normalize the LSTM) as the lecture notes write
it: one example, one time step, float64, one line per equation.

As :mod:`rnnkit.textbook.gru` (PyTorch's GRU: gate order r, z, n, the recurrent n block inside r_t * (...)), but
the input projection W_ih x_t and the recurrent one W_hh h_{t-1} are each normalized over all their 3H numbers
(LN of :mod:`rnnkit.textbook.layernorm`), with gains and shifts gamma_ih, beta_ih, gamma_hh, beta_hh (3H,).
Forward::

    ax = W_ih x_t                                        # (3H,) the input projection
    mu_x = mean(ax)
    sigma_x = sqrt(mean((ax - mu_x)^2) + eps)            # eps = 1e-5
    ax_hat = (ax - mu_x) / sigma_x
    ah = W_hh h_{t-1}                                    # (3H,) the recurrent projection
    mu_h = mean(ah)
    sigma_h = sqrt(mean((ah - mu_h)^2) + eps)
    ah_hat = (ah - mu_h) / sigma_h
    u = gamma_ih * ax_hat + beta_ih + b_ih               # (3H,) = [u_r, u_z, u_n]
    v = gamma_hh * ah_hat + beta_hh + b_hh               # (3H,) = [v_r, v_z, v_n]
    a_r = u_r + v_r
    a_z = u_z + v_z
    r_t = sigmoid(a_r)                                   # reset gate
    z_t = sigmoid(a_z)                                   # update gate
    a_n = u_n + r_t * v_n                                # v_n (b_hn in it) inside r_t * (...), as PyTorch has it
    n_t = tanh(a_n)                                      # candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

Backward, from dh = dL/dh_t (the loss at t and step t+1); each LN's own backward is a line of the form
dv = (dv_hat - mean(dv_hat) - v_hat mean(dv_hat v_hat)) / sigma::

    dn = dh * (1 - z_t)
    dz = dh * (h_{t-1} - n_t)
    da_n = dn * (1 - n_t^2)
    dr = da_n * v_n
    dv_n = da_n * r_t
    da_r = dr * r_t * (1 - r_t)
    da_z = dz * z_t * (1 - z_t)
    du = [da_r, da_z, da_n]
    dv = [da_r, da_z, dv_n]
    dax_hat = du * gamma_ih
    dax = (dax_hat - mean(dax_hat) - ax_hat * mean(dax_hat * ax_hat)) / sigma_x
    dah_hat = dv * gamma_hh
    dah = (dah_hat - mean(dah_hat) - ah_hat * mean(dah_hat * ah_hat)) / sigma_h
    dx_t = W_ih^T dax
    dh_{t-1} = dh * z_t + W_hh^T dah
    dW_ih = dax x_t^T ;  dW_hh = dah h_{t-1}^T ;  db_ih = du ;  db_hh = dv
    dgamma_ih = du * ax_hat ;  dbeta_ih = du ;  dgamma_hh = dv * ah_hat ;  dbeta_hh = dv

Parameters: PyTorch's ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih``, ``bias_hh`` (3H,) (gate blocks
r, z, n), and the LN's ``ln_ih_weight``, ``ln_ih_bias``, ``ln_hh_weight``, ``ln_hh_bias`` (3H,).  The fast kernel
is :mod:`rnnkit.cells.gru_ln`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.textbook import gru
from rnnkit.textbook.layernorm import EPS, mean
from rnnkit.textbook.lstm import sigmoid

GATES = gru.GATES  # r, z, n: PyTorch's order of the blocks of H rows
LN_PARAMS = ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias")
PARAM_NAMES = gru.PARAM_NAMES + LN_PARAMS
SYMBOLS = {"ln_ih_weight": "gamma_ih", "ln_ih_bias": "beta_ih", "ln_hh_weight": "gamma_hh",
           "ln_hh_bias": "beta_hh"}  # the LN parameters as the equations write them
UNIT_PARAMS: tuple[str, ...] = ()  # every LN parameter has 3H numbers, in gate blocks

# what each quantity is, in the order computed, for printing (rnnkit step --cell gru --layer-norm)
FORWARD_EQUATIONS = {
    "ax": "ax = W_ih x_t",
    "mu_x": "mu_x = mean(ax)",
    "sigma_x": "sigma_x = sqrt(mean((ax - mu_x)^2) + eps)",
    "ax_hat": "ax_hat = (ax - mu_x) / sigma_x",
    "ah": "ah = W_hh h_{t-1}",
    "mu_h": "mu_h = mean(ah)",
    "sigma_h": "sigma_h = sqrt(mean((ah - mu_h)^2) + eps)",
    "ah_hat": "ah_hat = (ah - mu_h) / sigma_h",
    "u": "u = gamma_ih * ax_hat + beta_ih + b_ih",
    "v": "v = gamma_hh * ah_hat + beta_hh + b_hh",
    "a_r": "a_r = u_r + v_r",
    "a_z": "a_z = u_z + v_z",
    "r": "r_t = sigmoid(a_r)",
    "z": "z_t = sigmoid(a_z)",
    "a_n": "a_n = u_n + r_t * v_n",
    "n": "n_t = tanh(a_n)",
    "h": "h_t = (1 - z_t) * n_t + z_t * h_{t-1}",
}
BACKWARD_EQUATIONS = {
    "dh": "dh = dL/dh_t",
    "dn": "dn = dh * (1 - z_t)",
    "dz": "dz = dh * (h_{t-1} - n_t)",
    "da_n": "da_n = dn * (1 - n_t^2)",
    "dr": "dr = da_n * v_n",
    "dv_n": "dv_n = da_n * r_t",
    "da_r": "da_r = dr * r_t * (1 - r_t)",
    "da_z": "da_z = dz * z_t * (1 - z_t)",
    "du": "du = [da_r, da_z, da_n]",
    "dv": "dv = [da_r, da_z, dv_n]",
    "dax_hat": "dax_hat = du * gamma_ih",
    "dax": "dax = (dax_hat - mean(dax_hat) - ax_hat * mean(dax_hat * ax_hat)) / sigma_x",
    "dah_hat": "dah_hat = dv * gamma_hh",
    "dah": "dah = (dah_hat - mean(dah_hat) - ah_hat * mean(dah_hat * ah_hat)) / sigma_h",
    "dx": "dx_t = W_ih^T dax",
    "dh_prev": "dh_{t-1} = dh * z_t + W_hh^T dah",
}
PARAM_GRADIENTS = {
    "weight_ih": "dW_ih = dax x_t^T",
    "weight_hh": "dW_hh = dah h_{t-1}^T",
    "bias_ih": "db_ih = du",
    "bias_hh": "db_hh = dv",
    "ln_ih_weight": "dgamma_ih = du * ax_hat",
    "ln_ih_bias": "dbeta_ih = du",
    "ln_hh_weight": "dgamma_hh = dv * ah_hat",
    "ln_hh_bias": "dbeta_hh = dv",
}


class Step(NamedTuple):
    """One forward step: its inputs and every intermediate, named as in the equations."""

    x: np.ndarray  # (D,) x_t
    h_prev: np.ndarray  # (H,) h_{t-1}
    ax: np.ndarray  # (3H,) W_ih x_t
    mu_x: np.ndarray  # (1,)
    sigma_x: np.ndarray  # (1,)
    ax_hat: np.ndarray  # (3H,)
    ah: np.ndarray  # (3H,) W_hh h_{t-1}
    mu_h: np.ndarray  # (1,)
    sigma_h: np.ndarray  # (1,)
    ah_hat: np.ndarray  # (3H,)
    u: np.ndarray  # (3H,) input side, blocks r, z, n
    v: np.ndarray  # (3H,) recurrent side, blocks r, z, n
    a_r: np.ndarray  # (H,)
    a_z: np.ndarray
    r: np.ndarray
    z: np.ndarray
    a_n: np.ndarray
    n: np.ndarray
    h: np.ndarray  # (H,) h_t


class StepGrads(NamedTuple):
    """One backward step: the intermediate gradients and this step's share of each gradient."""

    dh: np.ndarray  # (H,) dL/dh_t, all that reaches h_t
    dn: np.ndarray  # (H,)
    dz: np.ndarray
    da_n: np.ndarray
    dr: np.ndarray
    dv_n: np.ndarray
    da_r: np.ndarray
    da_z: np.ndarray
    du: np.ndarray  # (3H,)
    dv: np.ndarray  # (3H,)
    dax_hat: np.ndarray  # (3H,)
    dax: np.ndarray  # (3H,)
    dah_hat: np.ndarray  # (3H,)
    dah: np.ndarray  # (3H,)
    dx: np.ndarray  # (D,)
    dh_prev: np.ndarray  # (H,) dL/dh_{t-1} through this step
    weight_ih: np.ndarray  # (3H, D)
    weight_hh: np.ndarray  # (3H, H)
    bias_ih: np.ndarray  # (3H,)
    bias_hh: np.ndarray  # (3H,)
    ln_ih_weight: np.ndarray  # (3H,)
    ln_ih_bias: np.ndarray  # (3H,)
    ln_hh_weight: np.ndarray  # (3H,)
    ln_hh_bias: np.ndarray  # (3H,)


def forward(x: np.ndarray, h_prev: np.ndarray, p: dict[str, np.ndarray]) -> Step:
    """One step: x_t (D,) and h_{t-1} (H,) to h_t (H,), with every intermediate."""
    gamma_ih, beta_ih = p["ln_ih_weight"], p["ln_ih_bias"]  # (3H,) each
    gamma_hh, beta_hh = p["ln_hh_weight"], p["ln_hh_bias"]  # (3H,) each
    ax = p["weight_ih"] @ x
    mu_x = mean(ax)
    sigma_x = np.sqrt(mean((ax - mu_x) ** 2) + EPS)
    ax_hat = (ax - mu_x) / sigma_x
    ah = p["weight_hh"] @ h_prev
    mu_h = mean(ah)
    sigma_h = np.sqrt(mean((ah - mu_h) ** 2) + EPS)
    ah_hat = (ah - mu_h) / sigma_h
    u = gamma_ih * ax_hat + beta_ih + p["bias_ih"]
    v = gamma_hh * ah_hat + beta_hh + p["bias_hh"]
    u_r, u_z, u_n = np.split(u, 3)  # (H,) each
    v_r, v_z, v_n = np.split(v, 3)
    a_r = u_r + v_r
    a_z = u_z + v_z
    r = sigmoid(a_r)
    z = sigmoid(a_z)
    a_n = u_n + r * v_n
    n = np.tanh(a_n)
    h = (1.0 - z) * n + z * h_prev
    return Step(x, h_prev, ax, mu_x, sigma_x, ax_hat, ah, mu_h, sigma_h, ah_hat, u, v, a_r, a_z, r, z, a_n, n, h)


def backward(s: Step, p: dict[str, np.ndarray], dh: np.ndarray) -> StepGrads:
    """One step back: from dh = dL/dh_t (H,) to dx_t, dh_{t-1} and this step's parameter gradients."""
    v_n = np.split(s.v, 3)[2]  # (H,) the recurrent n block
    dn = dh * (1.0 - s.z)
    dz = dh * (s.h_prev - s.n)
    da_n = dn * (1.0 - s.n**2)
    dr = da_n * v_n
    dv_n = da_n * s.r
    da_r = dr * s.r * (1.0 - s.r)
    da_z = dz * s.z * (1.0 - s.z)
    du = np.concatenate([da_r, da_z, da_n])  # (3H,) what reaches u, gate order r, z, n
    dv = np.concatenate([da_r, da_z, dv_n])  # (3H,) what reaches v
    dax_hat = du * p["ln_ih_weight"]
    dax = (dax_hat - mean(dax_hat) - s.ax_hat * mean(dax_hat * s.ax_hat)) / s.sigma_x
    dah_hat = dv * p["ln_hh_weight"]
    dah = (dah_hat - mean(dah_hat) - s.ah_hat * mean(dah_hat * s.ah_hat)) / s.sigma_h
    dx = p["weight_ih"].T @ dax
    dh_prev = dh * s.z + p["weight_hh"].T @ dah
    dW_ih = np.outer(dax, s.x)
    dW_hh = np.outer(dah, s.h_prev)
    dgamma_ih = du * s.ax_hat
    dgamma_hh = dv * s.ah_hat
    return StepGrads(dh, dn, dz, da_n, dr, dv_n, da_r, da_z, du, dv, dax_hat, dax, dah_hat, dah, dx, dh_prev,
                     dW_ih, dW_hh, du.copy(), dv.copy(), dgamma_ih, du.copy(), dgamma_hh, dv.copy())


def forward_sequence(xs: np.ndarray, h0: np.ndarray, p: dict[str, np.ndarray]) -> list[Step]:
    """Steps t = 1..T over xs (T, D) from h0 (H,), as :func:`rnnkit.textbook.gru.forward_sequence`."""
    return gru.forward_sequence(xs, h0, p, step=forward)


def backward_sequence(steps: list[Step], p: dict[str, np.ndarray], dout: np.ndarray,
                      dh_T: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[StepGrads]]:
    """Backpropagation through time, t = T..1, as :func:`rnnkit.textbook.gru.backward_sequence`: from ``dout``
    (T, H) and the final state's ``dh_T`` (H,) to (parameter gradients summed over the steps, dxs (T, D),
    dh0 (H,), each step's :class:`StepGrads` in time order)."""
    return gru.backward_sequence(steps, p, dout, dh_T, step=backward, names=PARAM_NAMES)
