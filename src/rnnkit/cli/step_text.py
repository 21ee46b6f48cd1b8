"""What ``rnnkit step`` prints: the equations of a textbook cell with their numbers (text), or the same
numbers as one JSON object."""
from __future__ import annotations

import re

import numpy as np

from rnnkit.jsonline import json_line
from rnnkit.textbook import CELLS, base_cell, has_cell_state, has_layer_norm, has_peepholes
from rnnkit.textbook.exercise import Exercise, Solution
from rnnkit.textbook.lstm_peephole import PEEPHOLES
from rnnkit.textbook.params import LN_GAIN_RANGE, LN_SHIFT_RANGE

TITLES = {"rnn": "Elman RNN (torch.nn.RNNCell)", "lstm": "LSTM (torch.nn.LSTMCell)", "gru": "GRU (torch.nn.GRUCell)",
          "lstm_peephole": "peephole LSTM (Gers & Schmidhuber 2000, Graves 2013: torch.nn.LSTMCell's gates, "
                           "peepholes p_i, p_f, p_o)",
          "rnn_ln": "layer-normalized Elman RNN (Ba, Kiros & Hinton 2016: torch.nn.RNNCell's weights, LN of a_t)",
          "lstm_ln": "layer-normalized LSTM (Ba, Kiros & Hinton 2016: torch.nn.LSTMCell's gates, LN of W_ih x_t, "
                     "W_hh h_{t-1} and c_t)",
          "gru_ln": "layer-normalized GRU (torch.nn.GRUCell's gates, LN of W_ih x_t and W_hh h_{t-1} as Ba, Kiros & "
                    "Hinton 2016 do the LSTM's)",
          "lstm_ln_peephole": "layer-normalized peephole LSTM (Ba, Kiros & Hinton 2016's LN of W_ih x_t, W_hh h_{t-1} "
                              "and c_t; peepholes p_i, p_f, p_o added after the LNs)"}
DRAWN = {"parameters": "parameters", "h0": "h_0", "c0": "c_0", "x": "x", "dh": "dL/dh"}


SCIENTIFIC = 1e6  # a number this large or larger is printed as 1.2346e+20, not with all its digits


def numbers(a: np.ndarray, decimals: int) -> list[str]:
    """A vector (one line) or matrix (a line a row) with ``decimals`` decimals, the columns aligned; a
    number of magnitude :data:`SCIENTIFIC` or more in scientific notation (1e200 has 201 digits)."""
    texts = [f"{v: .{decimals}e}" if abs(v) >= SCIENTIFIC else f"{v: .{decimals}f}"  # a space for the sign of
             for v in np.ravel(a)]  # a positive number
    texts = [" " + t[1:] if t.startswith("-") and not t.strip("-0.") else t for t in texts]  # -0.0000: a zero
    width = max(len(t) for t in texts)
    cells = [t.rjust(width) for t in texts]
    cols = a.shape[-1]
    return ["[" + " ".join(cells[k : k + cols]) + "]" for k in range(0, len(cells), cols)]


def fewest_decimals(a: np.ndarray, decimals: int) -> int:
    """The fewest decimals, at most ``decimals``, that show every number of ``a`` exactly (0.3, not 0.3000)."""
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]  # inf and nan print as words: they need no decimals (and inf - inf would warn)
    for d in range(decimals):
        if np.all(np.abs(np.round(a, d) - a) <= 1e-12 * np.maximum(1.0, np.abs(a))):
            return d
    return decimals


def _lines(label: str, a: np.ndarray, decimals: int, width: int, indent: str = "  ") -> list[str]:
    """``label = [...]``, labels padded to ``width``, a matrix's further rows under its first."""
    rows = numbers(a, decimals)
    head = f"{indent}{label.ljust(width)} = "
    return [head + rows[0]] + [" " * len(head) + row for row in rows[1:]]


def _blocks(cell: str, name: str, prefix: str = "") -> list[str]:
    """The names of a parameter's gate blocks as the equations write them: weight_ih of an LSTM ->
    W_ii, W_if, W_ig, W_io; an Elman RNN's is one block, W_ih."""
    if name in PEEPHOLES:  # a peephole: one vector, p_i, p_f or p_o
        return [f"{prefix}p_{name[-1]}"]
    symbols = getattr(CELLS[cell], "SYMBOLS", {})
    if name in symbols:  # an LN gain or shift: one vector as the equations name it, gamma_ih, beta_c, ...
        return [f"{prefix}{symbols[name]}"]
    letter = "W" if name.startswith("weight") else "b"
    side = name[-2:]  # "ih" or "hh"
    gates = CELLS[cell].GATES
    if len(gates) == 1:
        return [f"{prefix}{letter}_{side}"]
    return [f"{prefix}{letter}_{side[0]}{g}" for g in gates]


INPUT_SIZED = ("x", "dx")  # x_t and dx_t: D numbers, not gate blocks, even when D = G*H


def gate_rows(cell: str, a: np.ndarray, H: int, name: str = "") -> np.ndarray:
    """A vector of all a gated cell's gates (G*H,) as G rows of H, one gate block a row (i, f, g, o or r, z, n), to
    print: the layer-normalized cells' ax, a, gamma_ih, ...; anything else, and the quantity ``name`` of
    :data:`INPUT_SIZED` whatever its size, as it is."""
    G = len(CELLS[cell].GATES)
    return a.reshape(G, H) if G > 1 and a.shape == (G * H,) and name not in INPUT_SIZED else a


def _param_lines(cell: str, values: dict[str, np.ndarray], decimals: int, prefix: str = "",
                 equations: dict[str, str] | None = None) -> list[str]:
    """Every parameter (or its gradient, ``prefix`` "d"), gate block by gate block; with ``equations``, those of
    one block (an Elman RNN's, the LN gains and shifts) on one line with their equation as their label."""
    names = list(CELLS[cell].PARAM_NAMES)
    H = values["weight_hh"].shape[1]
    labels = {name: _blocks(cell, name, prefix) for name in names}
    width = max(len(label) for name in names for label in labels[name])
    lines = []
    fewest = fewest_decimals(np.concatenate([np.ravel(values[name]) for name in names]), decimals)  # all alike
    symbols = getattr(CELLS[cell], "SYMBOLS", {})
    alone = [] if equations is None else [n for n in names if len(CELLS[cell].GATES) == 1 or n in symbols]
    eq_width = max((len(equations[name]) for name in alone), default=0)  # type: ignore[index]
    for name in names:
        if name in alone:  # the equation is its label
            lines += _lines(equations[name], gate_rows(cell, values[name], H), decimals, eq_width)  # type: ignore
            continue
        if equations is not None:
            lines.append(f"  {equations[name]}")
        parts = np.split(values[name], len(labels[name]))
        shown = decimals if equations is not None else fewest
        for label, part in zip(labels[name], parts):
            lines += _lines(label, gate_rows(cell, part, H), shown, width, "    " if equations is not None else "  ")
    return lines


def _header(ex: Exercise, decimals: int, seed: int | None, zero_biases: list[str], weights: str | None) -> list[str]:
    T, D = ex.xs.shape
    H = len(ex.h0)
    f = f", f = {ex.nonlinearity}" if base_cell(ex.cell) == "rnn" else ""
    lines = [f"{TITLES[ex.cell]}{f}: D = {D} inputs, H = {H} hidden units, T = {T} step{'s' if T > 1 else ''}; "
             f"float64, printed to {decimals} decimals"]
    if seed is not None:
        drawn = ", ".join(DRAWN[k] for k in ex.drawn)
        (g0, g1), (s0, s1) = LN_GAIN_RANGE, LN_SHIFT_RANGE
        ln = f" (LN gains from U({g0}, {g1}), shifts from U({s0}, {s1}))" if has_layer_norm(ex.cell) and \
            "parameters" in ex.drawn else ""
        lines.append(f"drawn with --seed {seed} from U(-1, 1){ln}, rounded to 1 decimal: {drawn}")
    if weights:
        source = "standard input" if weights == "-" else weights
        lines.append(f"parameters from {source}{_left_out(zero_biases)}")
    lines.append("vectors are columns, printed as rows; W x multiplies a matrix by a vector, * elementwise")
    gates = CELLS[ex.cell].GATES
    if len(gates) > 1:
        lines.append(f"weight_ih = [{'; '.join(_blocks(ex.cell, 'weight_ih'))}], weight_hh = "
                     f"[{'; '.join(_blocks(ex.cell, 'weight_hh'))}], the biases likewise (PyTorch's gate order)")
    if has_peepholes(ex.cell):
        lines.append("p_i, p_f, p_o = weight_ci, weight_cf, weight_co: diagonal peephole weights, one number a unit")
    symbols = getattr(CELLS[ex.cell], "SYMBOLS", {})
    if symbols:
        said = "gamma_* and beta_* = ln_*_weight and ln_*_bias" if len(symbols) > 2 else \
            f"{', '.join(symbols.values())} = {', '.join(symbols)}"
        lines.append(f"{said}: the LN gains and shifts; mean(v) is the mean of v's numbers; eps = 1e-5")
        if len(gates) > 1:
            lines.append(f"a vector of all {len(gates)} gates ({len(gates)}H numbers: ax, ah, gamma_ih, ...) is "
                         f"printed one gate block a row, {', '.join(gates)}")
        if base_cell(ex.cell) != "gru" and H == 2:
            what = "a_hat" if ex.cell == "rnn_ln" else "c_hat"
            lines.append(f"note: LN over H = 2 numbers gives {what} = +-1 (nearly) whatever they are, so little "
                         "gradient passes it: give --hidden-size 3 or more to see more")
    return lines


def _left_out(names: list[str]) -> str:
    """`` (bias_ih and bias_hh left out: 0; ln_weight left out: 1)`` for the parameters a --weights file left out."""
    from rnnkit.textbook.params import left_out_value

    parts = []
    for value in (0, 1):
        these = [name for name in names if left_out_value(name) == value]
        if these:
            parts.append(f"{' and '.join(these)} left out: {value}")
    return f" ({'; '.join(parts)})" if parts else ""


STATE_LABELS = {"x": "x_t", "h_prev": "h_{t-1}", "c_prev": "c_{t-1}"}


def _kink_notes(a: np.ndarray, decimals: int, label: str = "a_t") -> list[str]:
    """A note for each ReLU pre-activation that prints as 0 but is above it: its sign, which the printout
    hides, makes f'(a) 1 where f'(0) is 0 (float64 rounds 0.1 + 0.2 - 0.3 to 5.55e-17).  Exact arithmetic
    would hide the float64 that PyTorch computes too, so the number stays and the note tells."""
    hidden = [(k, v) for k, v in enumerate(a, start=1) if v > 0 and float(f"{v:.{decimals}f}") == 0]
    why = {True: "float64 rounding", False: "--precision shows more decimals"}
    return [f"  note: {label} unit {k} prints as 0 but is {v:.3g} ({why[v < 1e-12]}): above 0, so f' = 1 there "
            "(f'(0) = 0)" for k, v in hidden]


def beyond_range(ex: Exercise, sol: Solution) -> str | None:
    """The first number of the solution that is inf or NaN, named as the printout labels it (``a_t at
    forward step t = 1``), in a warning saying why; None when every number is finite."""
    cell = CELLS[ex.cell]
    places = [(f"forward step t = {t}", {**STATE_LABELS, **cell.FORWARD_EQUATIONS}, s._asdict())
              for t, s in enumerate(sol.forward, start=1)]
    places += [(f"backward step t = {t}", cell.BACKWARD_EQUATIONS, sol.backward[t - 1]._asdict())
               for t in range(len(sol.backward), 0, -1)]
    places.append(("the parameter gradients", cell.PARAM_GRADIENTS, {k: sol.grads[k] for k in cell.PARAM_GRADIENTS}))
    found = [f"{labels[name].split(' = ')[0]} at {where}" for where, labels, values in places
             for name, value in values.items() if name in labels and not np.all(np.isfinite(value))]
    if not found:
        return None
    given = "--x, --h0, --c0, --dh, --dc" if has_cell_state(ex.cell) else "--x, --h0, --dh"  # c: the LSTMs only
    more = (f"; so do {len(found) - 1} more: {', '.join(found[1:4])}{', ...' if len(found) > 4 else ''}"
            if len(found) > 1 else "; every other number is finite (tanh and sigmoid of an infinite number are not)")
    return (f"{found[0]} is beyond float64's range (magnitude over 1.8e308) and prints as inf or nan{more}; the given "
            f"numbers ({given}, --weights) are too large for this step's products and sums: give smaller ones")


_PER_STEP = re.compile(r"\b(d[a-z]+|[a-z]+_hat)(?:_([a-z]))?\b(?![_{^])")


def summed_equation(equation: str) -> str:
    """A parameter's gradient of one step as the sum over the steps, the per-step quantities subscripted t as the
    docstrings write them: "dW_ih = da x_t^T" -> "dW_ih = sum_t da_t x_t^T", "dp_i = da_i * c_{t-1}" -> "dp_i =
    sum_t da_{i,t} * c_{t-1}", "db_ih = [da_r, da_z, da_n]" -> "db_ih = sum_t [da_r, da_z, da_n]_t"."""
    lhs, rhs = equation.split(" = ", 1)
    parts = re.split(r"(\[[^\]]*\])", rhs)  # a gate block list stays whole, subscripted after its ]
    rhs = "".join(p + "_t" if p.startswith("[") else
                  _PER_STEP.sub(lambda m: f"{m[1]}_{{{m[2]},t}}" if m[2] else f"{m[1]}_t", p) for p in parts)
    return f"{lhs} = sum_t {rhs}"


def step_text(ex: Exercise, sol: Solution, decimals: int, backward: bool, seed: int | None,
              zero_biases: list[str], weights: str | None) -> str:
    """The whole printout: header, parameters, each forward step and, with ``backward``, each backward
    step and the parameters' gradients."""
    cell = CELLS[ex.cell]
    T = len(sol.forward)
    H = len(ex.h0)
    lines = _header(ex, decimals, seed, zero_biases, weights)
    lines += ["", "parameters"] + _param_lines(ex.cell, ex.params, decimals)
    labels = {**STATE_LABELS, **cell.FORWARD_EQUATIONS}
    width = max(len(label) for label in labels.values())
    kink = {"rnn": "a", "rnn_ln": "y"}.get(ex.cell)  # the ReLU's argument
    for t, s in enumerate(sol.forward, start=1):
        lines += ["", f"forward, t = {t}"]
        for name in s._fields:
            lines += _lines(labels[name], gate_rows(ex.cell, getattr(s, name), H, name), decimals, width)
            if name == kink and ex.nonlinearity == "relu":
                lines += _kink_notes(getattr(s, name), decimals, labels[name].split(" = ")[0])
    if not backward:
        return "\n".join(lines)
    labels = dict(cell.BACKWARD_EQUATIONS)
    last = {"dh": "dh = dL/dh_t from the loss (--dh)", "dc_next": "dc_next = dL/dc_T of the last state (--dc)"}
    if T > 1:  # dh has two parts: from the loss at t (--dh) and through step t+1
        labels.update(dout="dout_t = dL/dh_t from the loss (--dh)", dh="dh = dout_t + dL/dh_t through step t+1")
        last["dh"] = "dh = dout_t (no step T+1)"
    width = max(len(label) for label in [*labels.values(), *last.values()])
    for t in range(T, 0, -1):
        g = sol.backward[t - 1]
        lines += ["", f"backward, t = {t}"]
        if T > 1:
            lines += _lines(labels["dout"], ex.dout[t - 1], decimals, width)
        for name in cell.BACKWARD_EQUATIONS:
            label = last[name] if t == T and name in last else labels[name]
            lines += _lines(label, gate_rows(ex.cell, getattr(g, name), H, name), decimals, width)
    summed = f" (sums over t = 1..{T})" if T > 1 else ""
    lines += ["", f"parameter gradients{summed}"]
    equations = {k: summed_equation(v) for k, v in cell.PARAM_GRADIENTS.items()} if T > 1 else cell.PARAM_GRADIENTS
    lines += _param_lines(ex.cell, sol.grads, decimals, prefix="d", equations=equations)
    return "\n".join(lines)


def _listed(obj):
    """NamedTuple fields and dict values as nested lists."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return {k: v.tolist() for k, v in obj.items()}


def step_json(ex: Exercise, sol: Solution, seed: int, backward: bool, zero_biases: list[str]) -> str:
    """One JSON object with every number at full precision."""
    T, D = ex.xs.shape
    out = {"cell": base_cell(ex.cell), "input_size": D, "hidden_size": len(ex.h0), "steps": T}
    if has_peepholes(ex.cell):
        out["peephole"] = True
    if has_layer_norm(ex.cell):
        out["layer_norm"] = True
    if base_cell(ex.cell) == "rnn":
        out["nonlinearity"] = ex.nonlinearity
    from rnnkit.textbook.params import left_out_value

    zero = [name for name in zero_biases if left_out_value(name) == 0]
    out.update(seed=seed, drawn=ex.drawn, zero_biases=zero)
    if len(zero) < len(zero_biases):  # LN gains left out of a --weights file: 1, not 0
        out["unit_gains"] = [name for name in zero_biases if name not in zero]
    out["parameters"] = _listed(ex.params)
    out["forward"] = [{"t": t, **_listed(s._asdict())} for t, s in enumerate(sol.forward, start=1)]
    if backward:
        out["dout"] = ex.dout.tolist()
        if ex.dc is not None:
            out["dc"] = ex.dc.tolist()
        out["backward"] = [{"t": t, **_listed(g._asdict())} for t, g in enumerate(sol.backward, start=1)]
        out["gradients"] = _listed(sol.grads)
    return json_line(out)
