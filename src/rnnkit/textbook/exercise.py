"""One exercise for a textbook cell: its numbers (given, or drawn at random), their sizes checked against
each other, and its solution, forward over the steps and back through time (what ``rnnkit step`` prints).

The loss of an exercise is L = sum_t dout_t . h_t (+ dc_T . c_T for an LSTM): ``dout`` (T, H) is dL/dh_t
from the loss at every step, ``dc`` dL/dc_T of the last cell state (zero when the loss reads h only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnkit.textbook import CELL_NAMES, CELLS, base_cell, has_cell_state, has_layer_norm
from rnnkit.textbook.params import MINUS_SIGNS, character, random_params, random_values

DEFAULT_INPUT_SIZE = 3
DEFAULT_HIDDEN_SIZE = 2
DEFAULT_HIDDEN_SIZE_LN = 3  # layer normalization over 2 numbers makes them +-1 (nearly) whatever they are
# the minus signs as '-', and the commas a Chinese keyboard types (full-width ，, the enumeration comma 、) as ','
_ASCII = str.maketrans({**dict.fromkeys(MINUS_SIGNS, "-"), "，": ",", "、": ","})


def parse_numbers(text: str, what: str) -> np.ndarray:
    """``"0.5, -1, 2e-1"`` as a float64 vector (a full-width comma ， or the enumeration comma 、, as a Chinese
    keyboard types them between items of a list, and the minus signs and dashes of
    :data:`~rnnkit.textbook.params.MINUS_SIGNS`, as a PDF copies them, too); a word, an empty place, NaN or inf
    raises ValueError naming ``what`` (an option: ``--x``) and the character that is no part of a number."""
    values = []
    for k, part in enumerate(text.translate(_ASCII).split(","), start=1):
        try:
            value = float(part)
        except ValueError:
            got = repr(part.strip()) if part.strip() else "nothing"
            odd = next((c for c in part.strip() if not (c.isascii() and c.isprintable())), None)
            said = f" (it holds {character(odd)})" if odd is not None else ""
            raise ValueError(f"{what} {text!r}: number {k} is {got}{said}, not a number; give comma-separated "
                             "numbers such as 0.5,-1,2") from None
        if not math.isfinite(value):
            raise ValueError(f"{what} {text!r}: number {k} is {part.strip()}; give finite numbers")
        values.append(value)
    return np.array(values, dtype=np.float64)


@dataclass
class Exercise:
    """Every number of one exercise: parameters (PyTorch's names), inputs, initial state, upstream gradients."""

    cell: str  # a key of rnnkit.textbook.CELLS: "rnn", "lstm", "gru", "lstm_peephole", "rnn_ln", "lstm_ln", ...
    params: dict[str, np.ndarray]
    xs: np.ndarray  # (T, D)
    h0: np.ndarray  # (H,)
    dout: np.ndarray  # (T, H) dL/dh_t from the loss
    c0: np.ndarray | None = None  # (H,) the LSTMs only
    dc: np.ndarray | None = None  # (H,) the LSTMs only: dL/dc_T
    nonlinearity: str = "tanh"  # Elman only
    drawn: list[str] = field(default_factory=list)  # the quantities drawn at random, for saying so


NAMES = {name: name for name in ("xs", "h0", "c0", "dout", "dc", "input_size", "hidden_size", "steps")}


def _agree(quantity: str, sources: list[tuple[str, int | None]], default: int, fix: str = "make them agree") -> int:
    """The one size all given ``sources`` (description, size or None) agree on, else ``default``."""
    given = [(what, n) for what, n in sources if n is not None]
    for what, n in given[1:]:
        if n != given[0][1]:
            raise ValueError(f"{quantity}: {given[0][0]} gives {given[0][1]}, {what} gives {n}; {fix}")
    return given[0][1] if given else default


def _pad_dout(xs: list[np.ndarray] | None, dout: list[np.ndarray] | None, option: str) -> str:
    """How to give fewer upstream gradients than steps: zeros first, for the steps without loss; in the caller's
    syntax, a command line's (``--dout 0,0 1,0``, ``option`` an option) or Python's (``dout=[[0, 0], [1, 0]]``)."""
    if not xs or not dout or len(dout) >= len(xs):
        return "make them agree"
    rows = [[0.0] * len(dout[0])] * (len(xs) - len(dout)) + [list(d) for d in dout]
    if option.startswith("-"):
        groups = " ".join(",".join(f"{v:g}" for v in row) for row in rows)
        return f"give one group a step, zeros for a step without loss: {option} {groups}"
    vectors = ", ".join("[" + ", ".join(f"{v:g}" for v in row) + "]" for row in rows)
    return f"give one vector a step, zeros for a step without loss: {option}=[{vectors}]"


def _count(n: int) -> str:
    return f"{n} number{'s' if n != 1 else ''}"


def _same_lengths(vectors: list[np.ndarray] | None, option: str) -> int | None:
    """The length every vector of a repeated option (one a step) shares, or None when none is given."""
    if not vectors:
        return None
    for k, v in enumerate(vectors[1:], start=2):
        if len(v) != len(vectors[0]):
            raise ValueError(f"{option}: group {k} has {_count(len(v))}, the first {_count(len(vectors[0]))}; "
                             "give every step as many")
    return len(vectors[0])


def build_exercise(cell: str, rng: np.random.Generator, *, nonlinearity: str = "tanh",
                   params: dict[str, np.ndarray] | None = None, params_from: str = "the weights",
                   xs: list[np.ndarray] | None = None, h0: np.ndarray | None = None, c0: np.ndarray | None = None,
                   dout: list[np.ndarray] | None = None, dc: np.ndarray | None = None,
                   input_size: int | None = None, hidden_size: int | None = None,
                   steps: int | None = None, names: dict[str, str] | None = None) -> Exercise:
    """An exercise from the numbers given (None: drawn from ``rng``, :func:`random_values`; ``dc``: zero).

    D (input size), H (hidden size) and T (steps) are read from whatever gives them (``params``, the
    vectors, ``input_size``, ``hidden_size``, ``steps``), which must agree; D = 3, H = 2 (3 for a
    layer-normalized cell), T = 1 when nothing does.  ``xs`` and ``dout`` hold one vector a step.  Everything is
    drawn, always in the same order (parameters, h0, c0, xs, dout), so that the same seed gives the same numbers
    whatever else is given.  ``names`` (default :data:`NAMES`): what errors call each argument, e.g.
    ``{"xs": "--x"}`` for a command line.
    """
    name = {**NAMES, **(names or {})}
    if cell not in CELLS:
        raise ValueError(f"Expected cell {', '.join(map(repr, CELLS))}, got {cell!r}")
    if not has_cell_state(cell) and (c0 is not None or dc is not None):
        raise ValueError(f"c0 and dc are an LSTM's cell state and its gradient; {CELL_NAMES[cell]} has none")
    w_ih, w_hh = (None, None) if params is None else (params["weight_ih"], params["weight_hh"])
    D = _agree("The input size D", [(f"{params_from} (weight_ih's columns)", None if w_ih is None else w_ih.shape[1]),
                                    (name["xs"], _same_lengths(xs, name["xs"])),
                                    (name["input_size"], input_size)],
               DEFAULT_INPUT_SIZE)
    sizes = [(f"{params_from} (weight_hh's columns)", None if w_hh is None else w_hh.shape[1]),
             (name["h0"], None if h0 is None else len(h0)), (name["c0"], None if c0 is None else len(c0)),
             (name["dout"], _same_lengths(dout, name["dout"])), (name["dc"], None if dc is None else len(dc)),
             (name["hidden_size"], hidden_size)]
    H = _agree("The hidden size H", sizes, DEFAULT_HIDDEN_SIZE_LN if has_layer_norm(cell) else DEFAULT_HIDDEN_SIZE)
    from rnnkit.recurrent_checks import ln_over_one_unit

    why = ln_over_one_unit(base_cell(cell), has_layer_norm(cell), H)
    if why:
        given = ", ".join(what for what, n in sizes if n is not None)  # what set H: each must give 2 or more
        raise ValueError(f"Expected H >= 2 hidden units for {CELL_NAMES[cell]} (layer normalization over H = 1: "
                         f"{why}), got H = 1 from {given}; give 2 or more there")
    each = "(one group a step)" if name["dout"].startswith("-") else "(one vector a step)"  # a command line's words
    T = _agree("The number of steps", [(f"{name['xs']} {each}", None if xs is None else len(xs)),
                                       (f"{name['dout']} {each}", None if dout is None else len(dout)),
                                       (name["steps"], steps)], 1, _pad_dout(xs, dout, name["dout"]))
    drawn = {"parameters": random_params(cell, D, H, rng), "h0": random_values((H,), rng)}
    if has_cell_state(cell):
        drawn["c0"] = random_values((H,), rng)
    drawn["x"] = random_values((T, D), rng)
    drawn["dh"] = random_values((T, H), rng)
    given: dict[str, Any] = {"parameters": params, "h0": h0, "c0": c0, "x": None if xs is None else np.array(xs),
                             "dh": None if dout is None else np.array(dout)}
    value = {k: drawn[k] if given.get(k) is None else given[k] for k in drawn}
    if has_cell_state(cell) and dc is None:
        dc = np.zeros(H)
    return Exercise(cell, value["parameters"], value["x"], value["h0"], value["dh"], value.get("c0"), dc,
                    nonlinearity, [k for k in drawn if given.get(k) is None])


@dataclass
class Solution:
    """An exercise solved: each step's forward and backward intermediates, and every gradient."""

    forward: list[Any]  # the cell's Step, t = 1..T
    backward: list[Any]  # the cell's StepGrads, t = 1..T
    grads: dict[str, np.ndarray]  # each parameter's (summed over the steps), x (T, D), h0, c0


def solve(ex: Exercise) -> Solution:
    """Run the exercise's steps forward, then back through time from its upstream gradients."""
    H = len(ex.h0)
    module = CELLS[ex.cell]
    if has_cell_state(ex.cell):  # the LSTM, the peephole LSTM or the layer-normalized LSTM
        fwd = module.forward_sequence(ex.xs, ex.h0, ex.c0, ex.params)
        grads, dxs, dh0, dc0, back = module.backward_sequence(fwd, ex.params, ex.dout, np.zeros(H), ex.dc)
        return Solution(fwd, back, {**grads, "x": dxs, "h0": dh0, "c0": dc0})
    if base_cell(ex.cell) == "gru":
        fwd = module.forward_sequence(ex.xs, ex.h0, ex.params)
        grads, dxs, dh0, back = module.backward_sequence(fwd, ex.params, ex.dout, np.zeros(H))
    else:
        fwd = module.forward_sequence(ex.xs, ex.h0, ex.params, ex.nonlinearity)
        grads, dxs, dh0, back = module.backward_sequence(fwd, ex.params, ex.dout, np.zeros(H), ex.nonlinearity)
    return Solution(fwd, back, {**grads, "x": dxs, "h0": dh0})
