r"""The Elman RNN with layer normalization (Ba, Kiros & Hinton 2016, section 3.1) as the lecture notes write it:
one example, one time step, float64, one line per equation.

As :mod:`rnnkit.textbook.elman`, but the summed inputs a_t are normalized over the H hidden units before f
(LN of :mod:`rnnkit.textbook.layernorm`), with gain gamma and shift beta (H,) (parameters ``ln_weight``,
``ln_bias``)::

    a_t = W_ih x_t + W_hh h_{t-1}                        # (H,) the biases come after LN, as in Ba et al.
    mu_t = mean(a_t)                                     # one number
    sigma_t = sqrt(mean((a_t - mu_t)^2) + eps)           # one number, eps = 1e-5
    a_hat = (a_t - mu_t) / sigma_t                       # (H,)
    y_t = gamma * a_hat + beta + b_ih + b_hh             # the biases add where beta does (before LN, only
                                                         # their mean over H would go, the rest be scaled)
    h_t = f(y_t)                                         # f = tanh or relu

Backward, from dh = dL/dh_t (the loss at t and step t+1); the LN's own backward is the line of da::

    dy = dh * f'(y_t)                                    # tanh: 1 - h_t^2 ;  relu: 1 where y_t > 0, else 0
    da_hat = dy * gamma
    da = (da_hat - mean(da_hat) - a_hat * mean(da_hat * a_hat)) / sigma_t
    dx_t = W_ih^T da
    dh_{t-1} = W_hh^T da
    dW_ih = da x_t^T ;  dW_hh = da h_{t-1}^T ;  db_ih = dy ;  db_hh = dy
    dgamma = dy * a_hat ;  dbeta = dy

Parameters: PyTorch's ``weight_ih`` (H, D), ``weight_hh`` (H, H), ``bias_ih``, ``bias_hh`` (H,), and the LN's
``ln_weight`` (gamma) and ``ln_bias`` (beta) (H,).  The fast kernel is :mod:`rnnkit.cells.elman_ln`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.textbook import elman
from rnnkit.textbook.layernorm import EPS, mean

GATES = elman.GATES  # one block of H rows: no gates
LN_PARAMS = ("ln_weight", "ln_bias")  # gamma, beta (H,)
PARAM_NAMES = elman.PARAM_NAMES + LN_PARAMS
SYMBOLS = {"ln_weight": "gamma", "ln_bias": "beta"}  # the LN parameters as the equations write them
UNIT_PARAMS = LN_PARAMS  # one number per hidden unit (no gate blocks)

# what each quantity is, in the order computed, for printing (rnnkit step --cell rnn --layer-norm)
FORWARD_EQUATIONS = {
    "a": "a_t = W_ih x_t + W_hh h_{t-1}",
    "mu": "mu_t = mean(a_t)",
    "sigma": "sigma_t = sqrt(mean((a_t - mu_t)^2) + eps)",
    "a_hat": "a_hat = (a_t - mu_t) / sigma_t",
    "y": "y_t = gamma * a_hat + beta + b_ih + b_hh",
    "h": "h_t = f(y_t)",
}
BACKWARD_EQUATIONS = {
    "dh": "dh = dL/dh_t",
    "dy": "dy = dh * f'(y_t)",
    "da_hat": "da_hat = dy * gamma",
    "da": "da = (da_hat - mean(da_hat) - a_hat * mean(da_hat * a_hat)) / sigma_t",
    "dx": "dx_t = W_ih^T da",
    "dh_prev": "dh_{t-1} = W_hh^T da",
}
PARAM_GRADIENTS = {
    "weight_ih": "dW_ih = da x_t^T",
    "weight_hh": "dW_hh = da h_{t-1}^T",
    "bias_ih": "db_ih = dy",
    "bias_hh": "db_hh = dy",
    "ln_weight": "dgamma = dy * a_hat",
    "ln_bias": "dbeta = dy",
}


class Step(NamedTuple):
    """One forward step: its inputs and every intermediate, named as in the equations."""

    x: np.ndarray  # (D,) x_t
    h_prev: np.ndarray  # (H,) h_{t-1}
    a: np.ndarray  # (H,) summed inputs
    mu: np.ndarray  # (1,) their mean
    sigma: np.ndarray  # (1,) their standard deviation (eps added to the variance)
    a_hat: np.ndarray  # (H,) normalized
    y: np.ndarray  # (H,) pre-activation
    h: np.ndarray  # (H,) h_t


class StepGrads(NamedTuple):
    """One backward step: the intermediate gradients and this step's share of each gradient."""

    dh: np.ndarray  # (H,) dL/dh_t, all that reaches h_t
    dy: np.ndarray  # (H,)
    da_hat: np.ndarray  # (H,)
    da: np.ndarray  # (H,)
    dx: np.ndarray  # (D,)
    dh_prev: np.ndarray  # (H,) dL/dh_{t-1} through this step
    weight_ih: np.ndarray  # (H, D)
    weight_hh: np.ndarray  # (H, H)
    bias_ih: np.ndarray  # (H,)
    bias_hh: np.ndarray  # (H,)
    ln_weight: np.ndarray  # (H,)
    ln_bias: np.ndarray  # (H,)


def forward(x: np.ndarray, h_prev: np.ndarray, p: dict[str, np.ndarray], nonlinearity: str = "tanh") -> Step:
    """One step: x_t (D,) and h_{t-1} (H,) to h_t (H,), with every intermediate."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
    gamma, beta = p["ln_weight"], p["ln_bias"]  # (H,) each
    a = p["weight_ih"] @ x + p["weight_hh"] @ h_prev
    mu = mean(a)
    sigma = np.sqrt(mean((a - mu) ** 2) + EPS)
    a_hat = (a - mu) / sigma
    y = gamma * a_hat + beta + p["bias_ih"] + p["bias_hh"]
    h = np.tanh(y) if nonlinearity == "tanh" else np.maximum(y, 0.0)
    return Step(x, h_prev, a, mu, sigma, a_hat, y, h)


def backward(s: Step, p: dict[str, np.ndarray], dh: np.ndarray, nonlinearity: str = "tanh") -> StepGrads:
    """One step back: from dh = dL/dh_t (H,) to dx_t, dh_{t-1} and this step's parameter gradients."""
    dy = dh * (1.0 - s.h**2) if nonlinearity == "tanh" else dh * (s.y > 0)
    da_hat = dy * p["ln_weight"]
    da = (da_hat - mean(da_hat) - s.a_hat * mean(da_hat * s.a_hat)) / s.sigma
    dx = p["weight_ih"].T @ da
    dh_prev = p["weight_hh"].T @ da
    dW_ih = np.outer(da, s.x)
    dW_hh = np.outer(da, s.h_prev)
    dgamma = dy * s.a_hat
    return StepGrads(dh, dy, da_hat, da, dx, dh_prev, dW_ih, dW_hh, dy.copy(), dy.copy(), dgamma, dy.copy())


def forward_sequence(xs: np.ndarray, h0: np.ndarray, p: dict[str, np.ndarray],
                     nonlinearity: str = "tanh") -> list[Step]:
    """Steps t = 1..T over xs (T, D) from h0 (H,), as :func:`rnnkit.textbook.elman.forward_sequence`."""
    return elman.forward_sequence(xs, h0, p, nonlinearity, step=forward)


def backward_sequence(steps: list[Step], p: dict[str, np.ndarray], dout: np.ndarray, dh_T: np.ndarray,
                      nonlinearity: str = "tanh") -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray,
                                                           list[StepGrads]]:
    """Backpropagation through time, t = T..1, as :func:`rnnkit.textbook.elman.backward_sequence`: from ``dout``
    (T, H) and the final state's ``dh_T`` (H,) to (parameter gradients summed over the steps, dxs (T, D),
    dh0 (H,), each step's :class:`StepGrads` in time order)."""
    return elman.backward_sequence(steps, p, dout, dh_T, nonlinearity, step=backward, names=PARAM_NAMES)
