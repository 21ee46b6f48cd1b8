"""``rnnkit gradflow``: print ||dL/dh_t|| at every step of BPTT with the loss at the last step."""
from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from rnnkit.cli.common import check_layer_norm, nonnegative_int, positive_int
from rnnkit.diagnostics import CELLS, INIT_SCHEMES, gradient_flow
from rnnkit.jsonline import json_line


def register(groups) -> None:
    p = groups.commands.add_parser(
        "gradflow",
        help="show the gradient vanishing through time (Elman RNN vs LSTM vs GRU)",
        description=("Build a randomly initialised recurrent layer, run standard-normal inputs through it, put a "
                     "random loss gradient on the last hidden state h_T only and print ||dL/dh_t|| (the Frobenius "
                     "norm over the batch) for the steps before it, and for an LSTM ||dL/dc_t|| too, its cell path.  "
                     "An Elman RNN's gradient shrinks geometrically with the distance to the loss; an "
                     "LSTM's (forget-gate bias 1) decays far more slowly.  The train commands start an LSTM from "
                     "PyTorch's init instead, whose forget gates are open about halfway (--forget-bias none shows "
                     "it): less of a head start, which training then builds.  A GRU's update gate z starts near "
                     "0.5, so its direct path h_{t-1} -> h_t passes about half the gradient a step.  Norms are "
                     "accurate down to about 1e-308 (each is taken of the scaled gradient, so squaring does not "
                     "underflow below 1e-154) and lose digits in float64's subnormal range below it; a 0 is a "
                     "gradient below float64's 5e-324."),
    )
    p.add_argument("--cell", choices=CELLS, default=None, help="recurrent cell (default rnn)")
    p.add_argument("--all-cells", action="store_true", help="run rnn, lstm and gru and print them side by side")
    p.add_argument("--steps", type=positive_int, default=100, help="sequence length T (default 100)")
    p.add_argument("--hidden", type=positive_int, default=50, help="hidden units H (default 50)")
    p.add_argument("--batch", type=positive_int, default=16, help="sequences in the batch (default 16)")
    p.add_argument("--input-size", type=positive_int, default=10, help="input features D (default 10)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed for weights, inputs and the gradient (default 0)")
    p.add_argument("--init", type=init_scheme, default="pytorch",
                   help=f"weight init: one of {', '.join(INIT_SCHEMES)}, or a number s for U(-s, s) (default pytorch)")
    p.add_argument("--forget-bias", type=number_or_none, default=None,
                   help="LSTM forget-gate bias b_if + b_hf (default 1; 'none' keeps PyTorch's random init)")
    p.add_argument("--peephole", action="store_true",
                   help="the LSTM with peephole connections (Gers & Schmidhuber 2000; Graves 2013): needs --cell lstm "
                        "or --all-cells, where it is the lstm column")
    p.add_argument("--layer-norm", action="store_true",
                   help="layer-normalized cells (Ba, Kiros & Hinton 2016), every column with --all-cells; with "
                        "--peephole the LSTM has both")
    p.add_argument("--layers", type=positive_int, default=1,
                   help="stacked layers L (default 1): a column for each layer's ||dL/dh_t|| (l0 the bottom), the "
                        "loss on the top layer's h_T")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead: the setting and every step's norms at full precision, "
                        "keyed as the table's columns, and the per-step rates")
    p.add_argument("--every", type=positive_int, default=10,
                   help="print every N-th step counted back from the loss (default 10)")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="also draw the norms against the distance to the loss, log scale, into FILE (.png, .pdf, "
                        ".svg; needs matplotlib: pip install 'rnnkit[plot]')")
    p.set_defaults(func=run)


def init_scheme(text: str) -> str:
    """--init value: a scheme's name or a scale, checked as rnnkit.diagnostics checks it."""
    from rnnkit.diagnostics import _parse_init

    try:
        _parse_init(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("Expected init to be", "expected")) from None
    return text


def number_or_none(text: str) -> float | str:
    """--forget-bias value: a finite number, or 'none' (kept as the str, so that None can mean "not
    given")."""
    if text.lower() == "none":
        return "none"
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"Expected a finite number or 'none', got {text!r}")
    return value


def _rows(T: int, every: int) -> list[int]:
    """1-based steps to print: T, T-every, T-2*every, ... and step 1, in increasing order."""
    rows = set(range(T, 0, -every))
    rows.add(1)
    return sorted(rows)


def run(args) -> int:
    for name in ("steps", "hidden", "batch", "input_size", "every", "layers"):
        value = getattr(args, name)
        if value < 1:
            raise ValueError(f"Expected --{name.replace('_', '-')} >= 1, got {value}")
    if args.plot is not None:
        from rnnkit.plotting import check_plot_file

        check_plot_file(args.plot, "--plot")  # before the backward passes and the table
    if args.all_cells and args.cell is not None:
        raise ValueError(f"--all-cells runs every cell, so --cell {args.cell} would be ignored; give one of them")
    cells = list(CELLS) if args.all_cells else [args.cell or "rnn"]
    given = ("" if args.cell else "the default ") + f"--cell {cells[0]}"  # the messages name what the user gave
    if args.forget_bias is not None and "lstm" not in cells:
        raise ValueError(f"--forget-bias is the LSTM's forget-gate bias; with {given} it would be ignored: "
                         "add --cell lstm (or --all-cells) or leave --forget-bias out")
    if args.peephole and "lstm" not in cells:
        raise ValueError(f"--peephole has no effect with {given} (peepholes read an LSTM's cell c): give "
                         "--cell lstm (or --all-cells), or leave --peephole out")
    for cell in cells:  # the CLI's fix (--hidden 2) where the library would say hidden_size
        check_layer_norm(argparse.Namespace(cell=cell, layer_norm=args.layer_norm, hidden=args.hidden),
                         cell_given=f"--all-cells (its {cell} column)" if args.all_cells else given)
    forget_bias = 1.0 if args.forget_bias is None else None if args.forget_bias == "none" else args.forget_bias
    L = args.layers
    curves = {}  # column label -> (T,) norms: each cell's ||dL/dh_t|| per layer, and an LSTM's ||dL/dc_t||
    for cell in cells:
        got = gradient_flow(cell, steps=args.steps, hidden=args.hidden, batch=args.batch, seed=args.seed,
                            init=args.init, forget_bias=forget_bias, input_size=args.input_size, num_layers=L,
                            peephole=args.peephole and cell == "lstm", layer_norm=args.layer_norm,
                            with_cell=cell == "lstm")
        h, c = got if cell == "lstm" else (got, None)
        for k in range(L):
            name = cell if L == 1 else f"{cell} l{k}"
            curves[name] = np.atleast_2d(h)[k]
            if c is not None:
                curves[f"{name} c"] = np.atleast_2d(c)[k]
    T = args.steps
    setting = f"T={T}, H={args.hidden}, B={args.batch}, D={args.input_size}, init={args.init}, seed={args.seed}"
    setting += f", {L} layers (the loss on the top one's h_T; l0 the bottom)" if L > 1 else ""
    if "lstm" in cells:
        setting += f", LSTM forget bias={'random (init)' if forget_bias is None else forget_bias}"
        setting += ", LSTM with peepholes" if args.peephole else ""
    if args.layer_norm:
        setting += ", layer-normalized " + ", ".join({"rnn": "Elman RNN"}.get(c, c.upper()) for c in cells)
    rates = {name: _per_step(n) for name, n in curves.items()} if T > 1 else {}
    out = sys.stderr if args.json else sys.stdout  # with --json, stdout holds the JSON alone
    if args.json:
        print(json_line({"setting": setting, "norm": "Frobenius norm over the batch", "steps": T, "layers": L,
                         "norms": {name: n.tolist() for name, n in curves.items()},
                         "per_step": {name: {"rate": r, "steps": k} for name, (r, k) in rates.items()}}))
    else:
        _print_table(curves, T, args.every, setting, "lstm" in cells, rates)
    if args.plot is not None:
        from rnnkit.diagnostics_plot import plot_gradient_flow

        print(f"plot written: {plot_gradient_flow(curves, args.plot, title=setting)}", file=out)
    return 0


def _print_table(curves: dict[str, np.ndarray], T: int, every: int, setting: str, lstm: bool,
                 rates: dict[str, tuple[float, int]]) -> None:
    """The table of norms at every ``every``-th step back, the per-step rates under it, and a note on underflow."""
    print(f"||dL/dh_t|| (Frobenius norm over the batch) with the loss on h_T only ({setting})")
    if lstm:
        print("c: ||dL/dc_t||, all the gradient reaching the LSTM's cell c_t, whose path back to c_{t-1} is "
              "dL/dc_t * f_t")
    rows = _rows(T, every)
    names = list(curves)
    if len(names) <= 2 and names[0] in CELLS:  # one layer of one cell: its norms in full
        n = curves[names[0]]
        cell_cols = f" {'c norm':>11} {'c/last':>11}" if len(names) == 2 else ""
        print(f"{'step':>6} {'back':>6} {'norm':>11} {'norm/last':>11} {'log10':>8}{cell_cols}")
        for t in rows:
            lg = _log10_ratio(n, t)
            line = f"{t:>6} {T - t:>6} {n[t - 1]:>11.3e} {_sci(lg):>11} {lg:>8.2f}"
            if len(names) == 2:
                c = curves[names[1]]
                line += f" {c[t - 1]:>11.3e} {_sci(_log10_ratio(c, t)):>11}"
            print(line)
    else:
        print("columns: each norm / its own at step T")
        print(f"{'step':>6} {'back':>6} " + " ".join(f"{name:>11}" for name in names))
        for t in rows:
            cols = " ".join(f"{_sci(_log10_ratio(curves[name], t)):>11}" for name in names)
            print(f"{t:>6} {T - t:>6} {cols}")
    if rates:  # the rate a student can compare with a forget gate's value or W_hh's spectral radius
        spans = {k for _, k in rates.values()}
        one = len(spans) == 1
        text = ", ".join(f"{name} {r:.3f}" + ("" if one else f" over {k} steps") for name, (r, k) in rates.items())
        ratio = "||dL/dh_t|| / ||dL/dh_t+1||"
        if any(name.endswith(" c") for name in rates):  # an LSTM's cell path: its own ratio
            ratio += ", in the c columns ||dL/dc_t|| / ||dL/dc_t+1||"
        print(f"per step back, on average: {text} (geometric mean of {ratio}"
              + (f", over {spans.pop()} steps)" if one else ")"))
    if any(np.any(n == 0) for n in curves.values()):
        print("0 (log10 -inf): the gradient itself underflowed float64 (below about 5e-324) that far back; the "
              "rate above is over the last steps where it did not")


def _per_step(n: np.ndarray) -> tuple[float, int]:
    """(rate, k): rate = (n_{T-k} / n_T)^(1/k), the average factor by which the norm changes a step back, over the
    last k steps, where no norm is 0 (an underflow); from logs, so that 1e-300 / 1e2 does not underflow too.
    nan and 0 steps if even ||dL/dh_{T-1}|| is 0."""
    zeros = np.flatnonzero(n <= 0)
    first = int(zeros[-1]) + 1 if zeros.size else 0  # the suffix n[first:] is all > 0
    k = n.size - 1 - first
    if k < 1:
        return float("nan"), 0
    return float(np.exp((np.log(n[first]) - np.log(n[-1])) / k)), k


def _log10_ratio(n: np.ndarray, t: int) -> float:
    """log10(n_t / n_T) from the logs: the ratio itself of 1e-320 to 28 would be a subnormal with 1 digit."""
    return float(np.log10(n[t - 1]) - np.log10(n[-1])) if n[t - 1] > 0 else float("-inf")


def _sci(lg: float) -> str:
    """10**lg as %.3e would print it, also where 10**lg underflows float64."""
    if not math.isfinite(lg):
        return f"{0.0:.3e}"
    exp = math.floor(lg)
    mant = f"{10 ** (lg - exp):.3f}"
    if mant == "10.000":  # 9.9996 rounds up
        mant, exp = "1.000", exp + 1
    return f"{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
