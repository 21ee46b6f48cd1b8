r"""The LSTM as the lecture notes write it: one example, one time step, float64.

Column vectors x_t (D,), h_t and c_t (H,); each weight (out, in) multiplies from the left, as in
PyTorch's documentation of ``torch.nn.LSTMCell``.  Forward, one line per equation::

    a_i = W_ii x_t + b_ii + W_hi h_{t-1} + b_hi        # pre-activations (H,)
    a_f = W_if x_t + b_if + W_hf h_{t-1} + b_hf
    a_g = W_ig x_t + b_ig + W_hg h_{t-1} + b_hg
    a_o = W_io x_t + b_io + W_ho h_{t-1} + b_ho
    i_t = sigmoid(a_i)                                 # input gate
    f_t = sigmoid(a_f)                                 # forget gate
    g_t = tanh(a_g)                                    # candidate
    o_t = sigmoid(a_o)                                 # output gate
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

Backward, from dh = dL/dh_t (the loss at t and step t+1) and dc_next = dL/dc_t through c_{t+1}
(at the last step: the final state's)::

    do  = dh * tanh(c_t)
    dc  = dc_next + dh * o_t * (1 - tanh(c_t)^2)        # all that reaches c_t
    di  = dc * g_t
    df  = dc * c_{t-1}
    dg  = dc * i_t
    da_i = di * i_t * (1 - i_t)
    da_f = df * f_t * (1 - f_t)
    da_g = dg * (1 - g_t^2)
    da_o = do * o_t * (1 - o_t)
    dx_t     = W_ih^T da                   da = [da_i, da_f, da_g, da_o]  (4H,)
    dh_{t-1} = W_hh^T da
    dc_{t-1} = dc * f_t
    dW_ih = da x_t^T ;  dW_hh = da h_{t-1}^T ;  db_ih = da ;  db_hh = da

Parameters: a dict with PyTorch's names and layouts, ``weight_ih`` (4H, D), ``weight_hh`` (4H, H),
``bias_ih`` and ``bias_hh`` (4H,), each the blocks of the gates i, f, g, o in this order (W_ii, W_if,
W_ig, W_io are the blocks of weight_ih).  The fast kernel is :mod:`rnnkit.cells.lstm`.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

GATES = ("i", "f", "g", "o")  # PyTorch's order of the blocks of H rows
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

# what each quantity is, in the order computed, for printing (rnnkit step)
FORWARD_EQUATIONS = {
    "a_i": "a_i = W_ii x_t + b_ii + W_hi h_{t-1} + b_hi",
    "a_f": "a_f = W_if x_t + b_if + W_hf h_{t-1} + b_hf",
    "a_g": "a_g = W_ig x_t + b_ig + W_hg h_{t-1} + b_hg",
    "a_o": "a_o = W_io x_t + b_io + W_ho h_{t-1} + b_ho",
    "i": "i_t = sigmoid(a_i)",
    "f": "f_t = sigmoid(a_f)",
    "g": "g_t = tanh(a_g)",
    "o": "o_t = sigmoid(a_o)",
    "c": "c_t = f_t * c_{t-1} + i_t * g_t",
    "h": "h_t = o_t * tanh(c_t)",
}
BACKWARD_EQUATIONS = {
    "dh": "dh = dL/dh_t",
    "dc_next": "dc_next = dL/dc_t through c_{t+1}",
    "do": "do = dh * tanh(c_t)",
    "dc": "dc = dc_next + dh * o_t * (1 - tanh(c_t)^2)",
    "di": "di = dc * g_t",
    "df": "df = dc * c_{t-1}",
    "dg": "dg = dc * i_t",
    "da_i": "da_i = di * i_t * (1 - i_t)",
    "da_f": "da_f = df * f_t * (1 - f_t)",
    "da_g": "da_g = dg * (1 - g_t^2)",
    "da_o": "da_o = do * o_t * (1 - o_t)",
    "dx": "dx_t = W_ih^T da",
    "dh_prev": "dh_{t-1} = W_hh^T da",
    "dc_prev": "dc_{t-1} = dc * f_t",
}
PARAM_GRADIENTS = {
    "weight_ih": "dW_ih = da x_t^T",
    "weight_hh": "dW_hh = da h_{t-1}^T",
    "bias_ih": "db_ih = da",
    "bias_hh": "db_hh = da",
}


def sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)); exp(-a) may overflow to inf for a < -709, which gives the right limit, 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-a))


class Step(NamedTuple):
    """One forward step: its inputs and every intermediate, named as in the equations."""

    x: np.ndarray  # (D,) x_t
    h_prev: np.ndarray  # (H,) h_{t-1}
    c_prev: np.ndarray  # (H,) c_{t-1}
    a_i: np.ndarray  # (H,) pre-activations
    a_f: np.ndarray
    a_g: np.ndarray
    a_o: np.ndarray
    i: np.ndarray  # (H,) gates
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray  # (H,) c_t
    h: np.ndarray  # (H,) h_t


class StepGrads(NamedTuple):
    """One backward step: the intermediate gradients and this step's share of each gradient."""

    dh: np.ndarray  # (H,) dL/dh_t, all that reaches h_t
    dc_next: np.ndarray  # (H,) dL/dc_t through c_{t+1}
    do: np.ndarray  # (H,)
    dc: np.ndarray  # (H,) dL/dc_t, all that reaches c_t
    di: np.ndarray
    df: np.ndarray
    dg: np.ndarray
    da_i: np.ndarray
    da_f: np.ndarray
    da_g: np.ndarray
    da_o: np.ndarray
    dx: np.ndarray  # (D,)
    dh_prev: np.ndarray  # (H,) dL/dh_{t-1} through this step
    dc_prev: np.ndarray  # (H,) dL/dc_{t-1} through this step
    weight_ih: np.ndarray  # (4H, D)
    weight_hh: np.ndarray  # (4H, H)
    bias_ih: np.ndarray  # (4H,)
    bias_hh: np.ndarray  # (4H,)


def forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, p: dict[str, np.ndarray]) -> Step:
    """One step: x_t (D,), h_{t-1} and c_{t-1} (H,) to h_t and c_t (H,), with every intermediate."""
    W_ii, W_if, W_ig, W_io = np.split(p["weight_ih"], 4)  # (H, D) each
    W_hi, W_hf, W_hg, W_ho = np.split(p["weight_hh"], 4)  # (H, H) each
    b_ii, b_if, b_ig, b_io = np.split(p["bias_ih"], 4)  # (H,) each
    b_hi, b_hf, b_hg, b_ho = np.split(p["bias_hh"], 4)
    a_i = W_ii @ x + b_ii + W_hi @ h_prev + b_hi
    a_f = W_if @ x + b_if + W_hf @ h_prev + b_hf
    a_g = W_ig @ x + b_ig + W_hg @ h_prev + b_hg
    a_o = W_io @ x + b_io + W_ho @ h_prev + b_ho
    i = sigmoid(a_i)
    f = sigmoid(a_f)
    g = np.tanh(a_g)
    o = sigmoid(a_o)
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return Step(x, h_prev, c_prev, a_i, a_f, a_g, a_o, i, f, g, o, c, h)


def backward(s: Step, p: dict[str, np.ndarray], dh: np.ndarray, dc_next: np.ndarray) -> StepGrads:
    """One step back: from dh = dL/dh_t and dc_next = dL/dc_t through c_{t+1} (H,) to dx_t, dh_{t-1},
    dc_{t-1} and this step's parameter gradients."""
    tanh_c = np.tanh(s.c)  # recomputed: the forward equations do not name it
    do = dh * tanh_c
    dc = dc_next + dh * s.o * (1.0 - tanh_c**2)
    di = dc * s.g
    df = dc * s.c_prev
    dg = dc * s.i
    da_i = di * s.i * (1.0 - s.i)
    da_f = df * s.f * (1.0 - s.f)
    da_g = dg * (1.0 - s.g**2)
    da_o = do * s.o * (1.0 - s.o)
    da = np.concatenate([da_i, da_f, da_g, da_o])  # (4H,) PyTorch's gate order
    dx = p["weight_ih"].T @ da
    dh_prev = p["weight_hh"].T @ da
    dc_prev = dc * s.f
    dW_ih = np.outer(da, s.x)
    dW_hh = np.outer(da, s.h_prev)
    db_ih = da.copy()
    db_hh = da.copy()
    return StepGrads(dh, dc_next, do, dc, di, df, dg, da_i, da_f, da_g, da_o, dx, dh_prev, dc_prev,
                     dW_ih, dW_hh, db_ih, db_hh)


def forward_sequence(xs: np.ndarray, h0: np.ndarray, c0: np.ndarray, p: dict[str, np.ndarray],
                     step: Callable[..., Any] | None = None) -> list[Step]:
    """Steps t = 1..T over xs (T, D) from h0 and c0 (H,): each step's h_t, c_t are the next one's h_{t-1}, c_{t-1}.
    ``step``: the one-step forward, this module's :func:`forward` unless given (the peephole LSTM's passes its own)."""
    step = forward if step is None else step
    steps = []
    h, c = h0, c0
    for x in xs:
        s = step(x, h, c, p)
        steps.append(s)
        h, c = s.h, s.c
    return steps


def backward_sequence(steps: list[Step], p: dict[str, np.ndarray], dout: np.ndarray, dh_T: np.ndarray,
                      dc_T: np.ndarray, step: Callable[..., Any] | None = None,
                      names: tuple[str, ...] = PARAM_NAMES) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray,
                                                                     np.ndarray, list[StepGrads]]:
    """Backpropagation through time, t = T..1.

    ``dout`` (T, H): the loss's own gradient with respect to each output h_t; ``dh_T`` and ``dc_T`` (H,):
    those of the final state.  Returns (parameter gradients summed over the steps, dxs (T, D), dh0 (H,),
    dc0 (H,), each step's :class:`StepGrads` in time order).  ``step`` and ``names``: the one-step backward and
    the parameters it gives gradients of, this module's unless given (the peephole LSTM passes its own).
    """
    step = backward if step is None else step
    grads = {name: np.zeros_like(p[name]) for name in names}
    back = []
    dh_next, dc_next = dh_T, dc_T  # from the final state; later, through step t+1
    for t in reversed(range(len(steps))):
        g = step(steps[t], p, dout[t] + dh_next, dc_next)
        for name in names:
            grads[name] += getattr(g, name)  # the same weights at every step: their gradients add up
        back.append(g)
        dh_next, dc_next = g.dh_prev, g.dc_prev
    back.reverse()
    dxs = np.array([g.dx for g in back])
    return grads, dxs, dh_next, dc_next, back
