r"""The Elman (simple) RNN as the lecture notes write it: one example, one time step, float64.

Column vectors x_t (D,) and h_t (H,); each weight (out, in) multiplies from the left, as in PyTorch's
documentation of ``torch.nn.RNNCell``.  Forward, one line per equation::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          # pre-activation (H,)
    h_t = f(a_t)                                         # f = tanh or relu

Backward, from dh = dL/dh_t (everything that reaches h_t: the loss at t and step t+1)::

    da       = dh * f'(a_t)                  # tanh: 1 - h_t^2 ;  relu: 1 where a_t > 0, else 0
    dx_t     = W_ih^T da
    dh_{t-1} = W_hh^T da
    dW_ih = da x_t^T ;  dW_hh = da h_{t-1}^T ;  db_ih = da ;  db_hh = da

Parameters: a dict with PyTorch's names and layouts, ``weight_ih`` (H, D), ``weight_hh`` (H, H),
``bias_ih`` (H,), ``bias_hh`` (H,).  The fast kernel for batches and whole sequences is
:mod:`rnnkit.cells.elman`; this one is for reading and for checking a hand calculation.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

GATES = ("",)  # one block of H rows: no gates
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

# what each quantity is, in the order computed, for printing (rnnkit step)
FORWARD_EQUATIONS = {
    "a": "a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh",
    "h": "h_t = f(a_t)",
}
BACKWARD_EQUATIONS = {
    "dh": "dh = dL/dh_t",
    "da": "da = dh * f'(a_t)",
    "dx": "dx_t = W_ih^T da",
    "dh_prev": "dh_{t-1} = W_hh^T da",
}
PARAM_GRADIENTS = {
    "weight_ih": "dW_ih = da x_t^T",
    "weight_hh": "dW_hh = da h_{t-1}^T",
    "bias_ih": "db_ih = da",
    "bias_hh": "db_hh = da",
}


class Step(NamedTuple):
    """One forward step: its inputs and every intermediate, named as in the equations."""

    x: np.ndarray  # (D,) x_t
    h_prev: np.ndarray  # (H,) h_{t-1}
    a: np.ndarray  # (H,) pre-activation
    h: np.ndarray  # (H,) h_t


class StepGrads(NamedTuple):
    """One backward step: the intermediate gradients and this step's share of each gradient."""

    dh: np.ndarray  # (H,) dL/dh_t, all that reaches h_t
    da: np.ndarray  # (H,)
    dx: np.ndarray  # (D,)
    dh_prev: np.ndarray  # (H,) dL/dh_{t-1} through this step
    weight_ih: np.ndarray  # (H, D)
    weight_hh: np.ndarray  # (H, H)
    bias_ih: np.ndarray  # (H,)
    bias_hh: np.ndarray  # (H,)


def forward(x: np.ndarray, h_prev: np.ndarray, p: dict[str, np.ndarray], nonlinearity: str = "tanh") -> Step:
    """One step: x_t (D,) and h_{t-1} (H,) to h_t (H,), with every intermediate."""
    a = p["weight_ih"] @ x + p["bias_ih"] + p["weight_hh"] @ h_prev + p["bias_hh"]
    if nonlinearity == "tanh":
        h = np.tanh(a)
    elif nonlinearity == "relu":
        h = np.maximum(a, 0.0)
    else:
        raise ValueError(f"Expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
    return Step(x, h_prev, a, h)


def backward(s: Step, p: dict[str, np.ndarray], dh: np.ndarray, nonlinearity: str = "tanh") -> StepGrads:
    """One step back: from dh = dL/dh_t (H,) to dx_t, dh_{t-1} and this step's parameter gradients."""
    if nonlinearity == "tanh":
        da = dh * (1.0 - s.h**2)
    else:
        da = dh * (s.a > 0)
    dx = p["weight_ih"].T @ da
    dh_prev = p["weight_hh"].T @ da
    dW_ih = np.outer(da, s.x)
    dW_hh = np.outer(da, s.h_prev)
    db_ih = da.copy()
    db_hh = da.copy()
    return StepGrads(dh, da, dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh)


def forward_sequence(xs: np.ndarray, h0: np.ndarray, p: dict[str, np.ndarray],
                     nonlinearity: str = "tanh", step: Callable[..., Any] | None = None) -> list[Step]:
    """Steps t = 1..T over xs (T, D) from h0 (H,): each step's h_t is the next one's h_{t-1}.  ``step``: the
    one-step forward, this module's :func:`forward` unless given (the layer-normalized cell's passes its own)."""
    step = forward if step is None else step
    steps = []
    h = h0
    for x in xs:
        s = step(x, h, p, nonlinearity)
        steps.append(s)
        h = s.h
    return steps


def backward_sequence(steps: list[Step], p: dict[str, np.ndarray], dout: np.ndarray, dh_T: np.ndarray,
                      nonlinearity: str = "tanh", step: Callable[..., Any] | None = None,
                      names: tuple[str, ...] = PARAM_NAMES) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray,
                                                                     list[StepGrads]]:
    """Backpropagation through time, t = T..1.

    ``dout`` (T, H): the loss's own gradient with respect to each output h_t; ``dh_T`` (H,): that of the
    final state.  Returns (parameter gradients summed over the steps, dxs (T, D), dh0 (H,), each step's
    :class:`StepGrads` in time order).  ``step`` and ``names``: the one-step backward and the parameters it
    gives gradients of, this module's unless given (the layer-normalized cell passes its own).
    """
    step = backward if step is None else step
    grads = {name: np.zeros_like(p[name]) for name in names}
    back = []
    dh_next = dh_T  # dL/dh_T from the final state; later, dL/dh_t through step t+1
    for t in reversed(range(len(steps))):
        g = step(steps[t], p, dout[t] + dh_next, nonlinearity)
        for name in names:
            grads[name] += getattr(g, name)  # the same weights at every step: their gradients add up
        back.append(g)
        dh_next = g.dh_prev
    back.reverse()
    dxs = np.array([g.dx for g in back])
    return grads, dxs, dh_next, back
