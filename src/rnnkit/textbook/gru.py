r"""The GRU as PyTorch defines it, written as lecture notes would: one example, one time step, float64.

Column vectors x_t (D,) and h_t (H,); each weight (out, in) multiplies from the left, as in PyTorch's
documentation of ``torch.nn.GRUCell``.  Forward, one line per equation::

    a_r = W_ir x_t + b_ir + W_hr h_{t-1} + b_hr        # pre-activations (H,)
    a_z = W_iz x_t + b_iz + W_hz h_{t-1} + b_hz
    q_t = W_hn h_{t-1} + b_hn                          # the recurrent part of the candidate
    r_t = sigmoid(a_r)                                 # reset gate
    z_t = sigmoid(a_z)                                 # update gate
    a_n = W_in x_t + b_in + r_t * q_t                  # b_hn inside r_t * (...), as PyTorch (and cuDNN) have it
    n_t = tanh(a_n)                                    # candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

Cho et al. (2014) and many lecture notes apply the reset gate before the product, tanh(W_in x_t +
(r_t * h_{t-1}) W_hn ...): a different function, whose weights do not carry over to this one.

Backward, from dh = dL/dh_t (the loss at t and step t+1)::

    dn  = dh * (1 - z_t)
    dz  = dh * (h_{t-1} - n_t)
    da_n = dn * (1 - n_t^2)
    dr  = da_n * q_t
    dq  = da_n * r_t
    da_r = dr * r_t * (1 - r_t)
    da_z = dz * z_t * (1 - z_t)
    dx_t     = W_ih^T [da_r, da_z, da_n]
    dh_{t-1} = dh * z_t + W_hh^T [da_r, da_z, dq]
    dW_ih = [da_r, da_z, da_n] x_t^T ;  dW_hh = [da_r, da_z, dq] h_{t-1}^T
    db_ih = [da_r, da_z, da_n] ;  db_hh = [da_r, da_z, dq]

The n blocks differ: b_in and W_in sit outside the reset gate (gradient da_n), b_hn and W_hn inside
it (gradient dq = da_n * r_t).

Parameters: a dict with PyTorch's names and layouts, ``weight_ih`` (3H, D), ``weight_hh`` (3H, H),
``bias_ih`` and ``bias_hh`` (3H,), each the blocks of r, z, n in this order.  The fast kernel is
:mod:`rnnkit.cells.gru`.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from rnnkit.textbook.lstm import sigmoid  # 1 / (1 + exp(-a))

GATES = ("r", "z", "n")  # PyTorch's order of the blocks of H rows
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

# what each quantity is, in the order computed, for printing (rnnkit step)
FORWARD_EQUATIONS = {
    "a_r": "a_r = W_ir x_t + b_ir + W_hr h_{t-1} + b_hr",
    "a_z": "a_z = W_iz x_t + b_iz + W_hz h_{t-1} + b_hz",
    "q": "q_t = W_hn h_{t-1} + b_hn",
    "r": "r_t = sigmoid(a_r)",
    "z": "z_t = sigmoid(a_z)",
    "a_n": "a_n = W_in x_t + b_in + r_t * q_t",
    "n": "n_t = tanh(a_n)",
    "h": "h_t = (1 - z_t) * n_t + z_t * h_{t-1}",
}
BACKWARD_EQUATIONS = {
    "dh": "dh = dL/dh_t",
    "dn": "dn = dh * (1 - z_t)",
    "dz": "dz = dh * (h_{t-1} - n_t)",
    "da_n": "da_n = dn * (1 - n_t^2)",
    "dr": "dr = da_n * q_t",
    "dq": "dq = da_n * r_t",
    "da_r": "da_r = dr * r_t * (1 - r_t)",
    "da_z": "da_z = dz * z_t * (1 - z_t)",
    "dx": "dx_t = W_ih^T [da_r, da_z, da_n]",
    "dh_prev": "dh_{t-1} = dh * z_t + W_hh^T [da_r, da_z, dq]",
}
PARAM_GRADIENTS = {
    "weight_ih": "dW_ih = [da_r, da_z, da_n] x_t^T",
    "weight_hh": "dW_hh = [da_r, da_z, dq] h_{t-1}^T",
    "bias_ih": "db_ih = [da_r, da_z, da_n]",
    "bias_hh": "db_hh = [da_r, da_z, dq]",
}



class Step(NamedTuple):
    """One forward step: its inputs and every intermediate, named as in the equations."""

    x: np.ndarray  # (D,) x_t
    h_prev: np.ndarray  # (H,) h_{t-1}
    a_r: np.ndarray  # (H,)
    a_z: np.ndarray
    q: np.ndarray
    r: np.ndarray
    z: np.ndarray
    a_n: np.ndarray
    n: np.ndarray
    h: np.ndarray  # (H,) h_t


class StepGrads(NamedTuple):
    """One backward step: the intermediate gradients and this step's share of each gradient."""

    dh: np.ndarray  # (H,) dL/dh_t, all that reaches h_t
    dn: np.ndarray
    dz: np.ndarray
    da_n: np.ndarray
    dr: np.ndarray
    dq: np.ndarray
    da_r: np.ndarray
    da_z: np.ndarray
    dx: np.ndarray  # (D,)
    dh_prev: np.ndarray  # (H,) dL/dh_{t-1} through this step
    weight_ih: np.ndarray  # (3H, D)
    weight_hh: np.ndarray  # (3H, H)
    bias_ih: np.ndarray  # (3H,)
    bias_hh: np.ndarray  # (3H,)


def forward(x: np.ndarray, h_prev: np.ndarray, p: dict[str, np.ndarray]) -> Step:
    """One step: x_t (D,) and h_{t-1} (H,) to h_t (H,), with every intermediate."""
    W_ir, W_iz, W_in = np.split(p["weight_ih"], 3)  # (H, D) each
    W_hr, W_hz, W_hn = np.split(p["weight_hh"], 3)  # (H, H) each
    b_ir, b_iz, b_in = np.split(p["bias_ih"], 3)  # (H,) each
    b_hr, b_hz, b_hn = np.split(p["bias_hh"], 3)
    a_r = W_ir @ x + b_ir + W_hr @ h_prev + b_hr
    a_z = W_iz @ x + b_iz + W_hz @ h_prev + b_hz
    q = W_hn @ h_prev + b_hn
    r = sigmoid(a_r)
    z = sigmoid(a_z)
    a_n = W_in @ x + b_in + r * q
    n = np.tanh(a_n)
    h = (1.0 - z) * n + z * h_prev
    return Step(x, h_prev, a_r, a_z, q, r, z, a_n, n, h)


def backward(s: Step, p: dict[str, np.ndarray], dh: np.ndarray) -> StepGrads:
    """One step back: from dh = dL/dh_t (H,) to dx_t, dh_{t-1} and this step's parameter gradients."""
    dn = dh * (1.0 - s.z)
    dz = dh * (s.h_prev - s.n)
    da_n = dn * (1.0 - s.n**2)
    dr = da_n * s.q
    dq = da_n * s.r
    da_r = dr * s.r * (1.0 - s.r)
    da_z = dz * s.z * (1.0 - s.z)
    da_x = np.concatenate([da_r, da_z, da_n])  # (3H,) what reaches W_ih x_t + b_ih, gate order r, z, n
    da_h = np.concatenate([da_r, da_z, dq])  # (3H,) what reaches W_hh h_{t-1} + b_hh
    dx = p["weight_ih"].T @ da_x
    dh_prev = dh * s.z + p["weight_hh"].T @ da_h
    dW_ih = np.outer(da_x, s.x)
    dW_hh = np.outer(da_h, s.h_prev)
    db_ih = da_x
    db_hh = da_h
    return StepGrads(dh, dn, dz, da_n, dr, dq, da_r, da_z, dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh)


def forward_sequence(xs: np.ndarray, h0: np.ndarray, p: dict[str, np.ndarray],
                     step: Callable[..., Any] | None = None) -> list[Step]:
    """Steps t = 1..T over xs (T, D) from h0 (H,): each step's h_t is the next one's h_{t-1}.  ``step``: the
    one-step forward, this module's :func:`forward` unless given (the layer-normalized GRU's passes its own)."""
    step = forward if step is None else step
    steps = []
    h = h0
    for x in xs:
        s = step(x, h, p)
        steps.append(s)
        h = s.h
    return steps


def backward_sequence(steps: list[Step], p: dict[str, np.ndarray], dout: np.ndarray, dh_T: np.ndarray,
                      step: Callable[..., Any] | None = None, names: tuple[str, ...] = PARAM_NAMES,
                      ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[StepGrads]]:
    """Backpropagation through time, t = T..1.

    ``dout`` (T, H): the loss's own gradient with respect to each output h_t; ``dh_T`` (H,): that of the
    final state.  Returns (parameter gradients summed over the steps, dxs (T, D), dh0 (H,), each step's
    :class:`StepGrads` in time order).  ``step`` and ``names``: the one-step backward and the parameters it
    gives gradients of, this module's unless given (the layer-normalized GRU passes its own).
    """
    step = backward if step is None else step
    grads = {name: np.zeros_like(p[name]) for name in names}
    back = []
    dh_next = dh_T  # dL/dh_T from the final state; later, dL/dh_t through step t+1
    for t in reversed(range(len(steps))):
        g = step(steps[t], p, dout[t] + dh_next)
        for name in names:
            grads[name] += getattr(g, name)  # the same weights at every step: their gradients add up
        back.append(g)
        dh_next = g.dh_prev
    back.reverse()
    dxs = np.array([g.dx for g in back])
    return grads, dxs, dh_next, back
