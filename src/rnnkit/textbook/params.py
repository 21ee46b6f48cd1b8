"""The parameters of a textbook cell: read from a JSON file, written as one, or drawn at random.

A parameter file is a JSON object with PyTorch's names for a cell (``torch.nn.RNNCell``, ``LSTMCell``,
``GRUCell``): ``weight_ih`` (G*H, D), ``weight_hh`` (G*H, H), ``bias_ih``, ``bias_hh`` (G*H,), G the
number of gate blocks (1, 4: i, f, g, o, or 3: r, z, n).  A gated cell's parameter may also be an
object of its gate blocks, ``{"i": [[...], ...], "f": ..., "g": ..., "o": ...}``, as lecture notes write
W_ii, W_if, ... .  A bias left out is zero (notes with one bias per gate: give it as ``bias_ih``).

The peephole LSTM adds ``weight_ci``, ``weight_cf``, ``weight_co`` (H,); the layer-normalized cells add their LN
gains and shifts (``LN_PARAMS`` of :mod:`rnnkit.textbook.elman_ln`, :mod:`~rnnkit.textbook.lstm_ln`,
:mod:`~rnnkit.textbook.gru_ln`): those of a gate vector have G*H numbers (gate blocks allowed), those of the
Elman RNN's a_t and the LSTM's cell H.  A peephole or an LN shift left out is 0, an LN gain left out 1 (LN's
own start, torch.nn.LayerNorm's too).

Random values are drawn from U(-1, 1) (LN gains from U(0.5, 1.5) and shifts from U(-0.2, 0.2), near what a
fresh layer's 1 and 0 are) and rounded to one decimal, so that a step can be worked by hand.
"""
from __future__ import annotations

import json
import math
import re
import sys
import unicodedata
from typing import Any

import numpy as np

from rnnkit.textbook import CELL_NAMES, CELLS
from rnnkit.textbook.lstm_peephole import PEEPHOLES  # the peephole LSTM's p_i, p_f, p_o: H numbers each

WEIGHTS = ("weight_ih", "weight_hh")
BIASES = ("bias_ih", "bias_hh")


def _extras(cell: str) -> tuple[str, ...]:
    """The parameters of ``cell`` after the four weights and biases: the peephole LSTM's peepholes, a
    layer-normalized cell's LN gains and shifts, else none."""
    return getattr(CELLS[cell], "PEEPHOLES", ()) + getattr(CELLS[cell], "LN_PARAMS", ())


def _per_unit(cell: str) -> tuple[str, ...]:
    """The parameters of ``cell`` with one number per hidden unit (H,), not gate blocks."""
    return getattr(CELLS[cell], "PEEPHOLES", ()) + getattr(CELLS[cell], "UNIT_PARAMS", ())


def left_out_value(name: str) -> float:
    """What a parameter left out of a --weights file is: 1 for an LN gain (``ln_*_weight``), else 0."""
    return 1.0 if name.startswith("ln_") and name.endswith("_weight") else 0.0


LN_GAIN_RANGE = (0.5, 1.5)  # an LN gain near 1 as trained ones are, never 0 or negative
LN_SHIFT_RANGE = (-0.2, 0.2)  # an LN shift near 0


def random_values(shape: tuple[int, ...], rng: np.random.Generator, low: float = -1.0,
                  high: float = 1.0) -> np.ndarray:
    """Numbers for an exercise: U(low, high), by default U(-1, 1), rounded to one decimal (-1.0, -0.9, ..., 1.0),
    float64.  One draw a number whatever the range, so the numbers drawn after are the same."""
    return np.round(rng.uniform(low, high, size=shape), 1) + 0.0  # + 0.0: no -0.0


def _draw_range(name: str) -> tuple[float, float]:
    """U(-1, 1) for weights, biases and peepholes; LN gains (``ln_*_weight``) near 1, shifts (``ln_*_bias``) near 0."""
    if name.startswith("ln_"):
        return LN_GAIN_RANGE if name.endswith("_weight") else LN_SHIFT_RANGE
    return -1.0, 1.0


def random_params(cell: str, input_size: int, hidden_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A cell's four parameters (with peepholes or LN gains and shifts, drawn after the others), in PyTorch's
    layout, drawn by :func:`random_values` in PyTorch's order: U(-1, 1), but LN gains U(0.5, 1.5) and shifts
    U(-0.2, 0.2)."""
    rows = len(CELLS[cell].GATES) * hidden_size
    shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden_size), "bias_ih": (rows,),
              "bias_hh": (rows,)}
    shapes.update({name: (hidden_size if name in _per_unit(cell) else rows,) for name in _extras(cell)})
    return {name: random_values(shape, rng, *_draw_range(name)) for name, shape in shapes.items()}


def _array(value: Any, ndim: int, where: str) -> np.ndarray:
    """A JSON list (ndim 1) or list of equally long lists (ndim 2) of finite numbers, as float64."""
    shape = "a list of numbers" if ndim == 1 else "a list of rows, each a list of numbers"
    rows = value if ndim == 2 else [value]
    if not isinstance(value, list) or not value or not all(isinstance(r, list) and r for r in rows):
        raise ValueError(f"{where}: expected {shape}, got {json.dumps(value)[:60]}")
    for k, row in enumerate(rows, start=1):
        at = f"{where} row {k}" if ndim == 2 else where
        bad = next((v for v in row if isinstance(v, bool) or not isinstance(v, (int, float))), None)
        if bad is not None:
            raise ValueError(f"{at}: expected numbers, got {json.dumps(bad)}")
        for v in row:
            if not math.isfinite(_float(v)):  # JSON's 1e999 reads as inf
                raise ValueError(f"{at}: {str(v)[:24]} is beyond float64's range; give finite numbers")
        if len(row) != len(rows[0]):
            raise ValueError(f"{at} has {len(row)} number{'s' if len(row) != 1 else ''}, row 1 has {len(rows[0])}: "
                             "every row needs as many")
    return np.array(value, dtype=np.float64)


def _float(v: int | float) -> float:
    """float(v), inf for an integer too large for a float (10**400) rather than an OverflowError."""
    try:
        return float(v)
    except OverflowError:
        return math.inf


def _parameter(cell: str, name: str, value: Any, where: str) -> np.ndarray:
    """One parameter: a matrix (weights) or vector (biases), or for a gated cell an object of its gate blocks."""
    gates = CELLS[cell].GATES
    ndim = 2 if name in WEIGHTS else 1
    if name in PEEPHOLES and isinstance(value, dict):
        raise ValueError(f"{where} {name}: a peephole weight is one number per hidden unit; give it as a list of "
                         "H numbers, not an object of gate blocks")
    if name in _per_unit(cell) and isinstance(value, dict) and len(gates) > 1:
        raise ValueError(f"{where} {name}: the LN gain or shift of the cell state is one number per hidden unit; "
                         "give it as a list of H numbers, not an object of gate blocks")
    if not isinstance(value, dict):
        return _array(value, ndim, f"{where} {name}")
    if len(gates) == 1:
        raise ValueError(f"{where} {name}: {CELL_NAMES[cell]} has no gates; give {name} as "
                         f"{'a matrix' if ndim == 2 else 'a list of numbers'}, not an object")
    if sorted(value) != sorted(gates):
        raise ValueError(f"{where} {name}: expected the gate blocks {', '.join(gates)} ({CELL_NAMES[cell]}'s, "
                         f"PyTorch's order), got {', '.join(map(repr, value)) or 'none'}")
    blocks = [_array(value[gate], ndim, f"{where} {name} block {gate!r}") for gate in gates]
    for gate, block in zip(gates, blocks):
        if block.shape != blocks[0].shape:
            raise ValueError(f"{where} {name}: block {gate!r} is {block.shape}, block {gates[0]!r} "
                             f"{blocks[0].shape}; every gate's block has the same shape")
    return np.concatenate(blocks)


def params_from_json(cell: str, obj: Any, where: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """A cell's parameters from a parsed JSON object (see the module's docstring), checked; returns them and
    the parameters that were left out (:func:`left_out_value`: 0, or 1 for an LN gain).  ``where`` names the
    source in the errors (``--weights w.json``)."""
    gates = CELLS[cell].GATES
    known = WEIGHTS + BIASES + _extras(cell)
    names = ", ".join(known)
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object of parameters ({names}), got {type(obj).__name__}")
    for key in obj:
        if key not in known:
            layer = key[: -len("_l0")] if key.endswith("_l0") else None
            hint = f" (a torch.nn.RNN/LSTM/GRU layer's name: the cell's is {layer})" if layer in known \
                else ""
            if key in PEEPHOLES or layer in PEEPHOLES:  # a sheet of the peephole LSTM read as another cell
                hint = (f" (a peephole weight: give cell '{cell}_peephole', --peephole)" if cell in ("lstm", "lstm_ln")
                        else " (a peephole weight, of cell 'lstm_peephole', an LSTM with --peephole)")
            elif key.startswith("ln_"):  # a layer-normalized cell's sheet read without --layer-norm, or another's
                normed = {"lstm_peephole": "lstm_ln_peephole"}.get(cell, f"{cell}_ln")
                hint = (f" (a layer-norm gain or shift: give cell '{normed}', --layer-norm)"
                        if "LN_PARAMS" not in vars(CELLS[cell]) else " (a layer-norm gain or shift of another cell)")
            raise ValueError(f"{where}: unknown parameter {key!r}{hint}; {CELL_NAMES[cell]}'s are {names} "
                             f"(PyTorch's names{', gate blocks ' + ', '.join(gates) if len(gates) > 1 else ''})")
    missing = [w for w in WEIGHTS if w not in obj]
    if missing:
        raise ValueError(f"{where}: {' and '.join(missing)} missing; give every weight ({names}; a bias left out is 0)")
    params = {name: _parameter(cell, name, obj[name], where) for name in known if name in obj}
    rows, hidden = params["weight_hh"].shape
    input_size = params["weight_ih"].shape[1]
    if rows != len(gates) * hidden:
        blocks = f"{len(gates)} gate blocks of H rows" if len(gates) > 1 else "H rows"
        raise ValueError(f"{where}: weight_hh is {rows}x{hidden}, expected {len(gates) * hidden}x{hidden}: "
                         f"{blocks} and H = {hidden} columns (one per hidden unit)")
    expected = {"weight_ih": (rows, input_size), "bias_ih": (rows,), "bias_hh": (rows,)}
    expected.update({name: (hidden if name in _per_unit(cell) else rows,) for name in _extras(cell)})
    for name, shape in expected.items():
        if name in params and params[name].shape != shape:
            got = "x".join(map(str, params[name].shape))
            raise ValueError(f"{where}: {name} is {got}, expected {'x'.join(map(str, shape))} "
                             f"(weight_hh {rows}x{hidden}: H = {hidden})")
    left_out = [b for b in BIASES + _extras(cell) if b not in params]
    for name in left_out:
        params[name] = np.full(hidden if name in _per_unit(cell) else rows, left_out_value(name))
    return {name: params[name] for name in known}, left_out


# minus signs and dashes that text copied from a PDF or a word processor holds where '-' was meant: the
# minus sign U+2212, the hyphen U+2010 and U+2011, the figure dash U+2012, the en dash U+2013, the small and
# full-width hyphen-minus U+FE63 and U+FF0D
MINUS_SIGNS = "\u2212\u2010\u2011\u2012\u2013\ufe63\uff0d"
_SIGNED = re.compile(f"[{MINUS_SIGNS}](?=[0-9.])")  # one before a number


def ascii_minus(text: str) -> str:
    """``text`` with each minus sign or dash of :data:`MINUS_SIGNS` before a digit or a point as '-'
    (``−0.3`` -> ``-0.3``); one character for one, so positions in it are the text's."""
    return _SIGNED.sub("-", text)


def character(c: str) -> str:
    """A character as an error names it: ``'a'``, or ``U+2014 EM DASH`` when it is not printable ASCII."""
    if c.isascii() and c.isprintable():
        return repr(c)
    return f"U+{ord(c):04X} {unicodedata.name(c, '(unnamed)')}"


def read_params(cell: str, path: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """:func:`params_from_json` of a JSON file (UTF-8, a byte-order mark allowed; a minus sign copied from a
    PDF, U+2212, read as '-': :func:`ascii_minus`); one-line errors naming it.  ``-`` is standard input (as
    ``step --save-weights -`` writes standard output), so one step's parameters can pipe into the next."""
    where = f"--weights {path}"
    try:
        if path == "-":
            where = "--weights - (standard input)"
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        else:
            with open(path, encoding="utf-8-sig") as f:
                text = f.read()
    except UnicodeDecodeError:
        raise ValueError(f"{where}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        from rnnkit.errors import os_problem

        raise OSError(f"{where}: cannot read it ({os_problem(exc)}); check the path") from None
    try:
        obj = json.loads(ascii_minus(text), parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        at = exc.doc[exc.pos] if exc.pos < len(exc.doc) else ""
        said = f" ({character(at)})" if at and not at.isascii() else ""  # a character that looks like JSON's
        raise ValueError(f"{where}: not valid JSON at line {exc.lineno}, column {exc.colno}{said}: "
                         f"{exc.msg}") from None
    except ValueError as exc:  # NaN or Infinity, or an integer of over 4300 digits
        raise ValueError(f"{where}: {exc}") from None
    return params_from_json(cell, obj, where)


def _refuse_constant(constant: str) -> None:
    raise ValueError(f"{constant} is not a finite number; give numbers")


def params_json(cell: str, params: dict[str, np.ndarray]) -> str:
    """The parameters as the JSON :func:`read_params` reads, a gated cell's by gate block, one block a line."""
    gates = CELLS[cell].GATES
    lines = []
    for name in WEIGHTS + BIASES + _extras(cell):
        blocks = np.split(params[name], len(gates)) if name not in _per_unit(cell) else [params[name]]
        if len(blocks) == 1:
            lines.append(f'  "{name}": {json.dumps(blocks[0].tolist())}')
            continue
        inner = ",\n".join(f'    "{g}": {json.dumps(b.tolist())}' for g, b in zip(gates, blocks))
        lines.append(f'  "{name}": {{\n{inner}\n  }}')
    return "{\n" + ",\n".join(lines) + "\n}\n"
