"""``rnnkit step --cell rnn|lstm|gru [--peephole] [--layer-norm]``: one step of a cell (or a few) as the equations
with their numbers, forward and with ``--backward`` back, to check a hand calculation (:mod:`rnnkit.textbook`)."""
from __future__ import annotations

import argparse
import re
import sys

from rnnkit.cli.common import HelpFormatter, nonnegative_int, positive_int
from rnnkit.cli.given import refuse_unused, same_file

MAX_PRECISION = 17  # float64 holds about 17 significant digits
OPTION_NAMES = {"xs": "--x", "h0": "--h0", "c0": "--c0", "dout": "--dh", "dc": "--dc", "input_size": "--input-size",
                "hidden_size": "--hidden", "steps": "--steps"}  # build_exercise's arguments as step's options


def register(groups) -> None:
    p = groups.commands.add_parser(
        "step", help="one step of an RNN, LSTM or GRU as its equations with their numbers (forward and backward)",
        description="Print one time step of a cell, as lecture notes write it: every pre-activation, gate, state "
                    "and output with its numbers, and with --backward every intermediate gradient and the "
                    "parameters' gradients, to check a calculation by hand.  PyTorch's equations, parameter "
                    "names and gate orders (torch.nn.RNNCell, LSTMCell, GRUCell); one example, float64.  Every "
                    "number not given is drawn with --seed from U(-1, 1) (an LN gain from U(0.5, 1.5), a shift "
                    "from U(-0.2, 0.2)) and rounded to one decimal (a cell "
                    "state's gradient --dc is 0 unless given).  Give your own with --weights, --x, --h0, --c0, "
                    "--dh, --dc; several steps with --x 1,0,2 0,1,-1 (one group of numbers a step).",
        formatter_class=HelpFormatter)
    p.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm", help="recurrent cell")
    p.add_argument("--peephole", action="store_true",
                   help="--cell lstm with peephole connections (Gers & Schmidhuber 2000; Graves 2013): a_i and a_f "
                        "add p_i * c_{t-1} and p_f * c_{t-1}, a_o adds p_o * c_t (weight_ci, weight_cf, weight_co "
                        "in --weights, H numbers each; one left out is 0)")
    p.add_argument("--layer-norm", action="store_true",
                   help="the cell with layer normalization (Ba, Kiros & Hinton 2016; eps 1e-5), as train "
                        "--layer-norm has it: the Elman RNN normalizes a_t = W_ih x_t + W_hh h_{t-1}, the LSTM and "
                        "the GRU W_ih x_t and W_hh h_{t-1} apart (each over all its gates), the LSTM also c_t before "
                        "its tanh; every mean, sigma and normalized vector is printed, and with --backward the LN's "
                        "own backward.  Gains and shifts in --weights: ln_weight, ln_bias (rnn: H numbers), "
                        "ln_ih_weight, ln_ih_bias, ln_hh_weight, ln_hh_bias (G*H, gate blocks allowed), "
                        "ln_cell_weight, ln_cell_bias (lstm: H); a gain left out is 1, a shift 0.  H >= 2 for "
                        "rnn and lstm.  With --peephole: the LSTM with both, the peepholes added after the "
                        "normalizations")
    p.add_argument("--nonlinearity", choices=["tanh", "relu"], default=None,
                   help="Elman RNN's f in h_t = f(a_t) (--cell rnn only; default tanh)")
    p.add_argument("--weights", default=None, metavar="FILE",
                   help="the parameters, a JSON object with PyTorch's names weight_ih (G*H rows, D columns), "
                        "weight_hh (G*H x H), bias_ih, bias_hh (G*H), or for an LSTM or GRU each as an object of "
                        'its gate blocks: {"weight_ih": {"i": [[...], ...], "f": ..., "g": ..., "o": ...}, ...}; '
                        "a bias left out is 0 (see --save-weights for a file to start from); '-' reads standard "
                        "input, so 'step ... --save-weights - | step ... --weights -' passes them on")
    p.add_argument("--save-weights", default=None, metavar="FILE",
                   help="also write the parameters used (drawn or given) to FILE in the JSON --weights reads, "
                        "gate by gate: a sheet to edit; '-' prints them to standard output alone (the step itself "
                        "then goes to standard error), so '--save-weights - > w.json' saves them")
    p.add_argument("--x", nargs="+", action="extend", default=None, metavar="NUMBERS",
                   help="the input x_t, comma-separated numbers (D of them); for several steps one group a step, "
                        "separated by spaces: --x 1,0,2 0,1,-1 runs two steps, as does --x 1,0,2 --x 0,1,-1 (a "
                        "repeated --x adds steps).  A minus sign copied from a PDF "
                        "(U+2212) reads as -, and a Chinese keyboard's commas ， and 、 as ',', here and in every "
                        "option's numbers")
    p.add_argument("--h0", default=None, metavar="NUMBERS", help="the initial hidden state h_0 (H numbers)")
    p.add_argument("--c0", default=None, metavar="NUMBERS", help="the LSTM's initial cell state c_0 (H numbers)")
    p.add_argument("--backward", action="store_true", help="also the backward step(s): every gradient")
    p.add_argument("--dh", nargs="+", action="extend", default=None, metavar="NUMBERS",
                   help="dL/dh_t, the loss's gradient with respect to the output h_t (H numbers); one group a step, "
                        "as --x (0,0 for a step without loss)")
    p.add_argument("--dc", default=None, metavar="NUMBERS",
                   help="the LSTM's dL/dc_T, the gradient of the last cell state (H numbers; default 0)")
    p.add_argument("--input-size", type=positive_int, default=None, metavar="D",
                   help="the input size, when nothing given sets it (default 3)")
    p.add_argument("--hidden", "--hidden-size", dest="hidden_size", type=positive_int, default=None, metavar="H",
                   help="the hidden size, when nothing given sets it (default 2; 3 with --layer-norm); --hidden as in "
                        "gradcheck, gradflow and train, or --hidden-size")
    p.add_argument("--steps", type=positive_int, default=None, metavar="T",
                   help="the number of steps, when --x does not set it (default 1)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed of the numbers not given")
    p.add_argument("--precision", type=precision, default=4, metavar="DECIMALS", help="decimals printed")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead, every number at full precision: the parameters, each "
                        "step's quantities by name (x, h_prev, a_i, i, ..., h; with --layer-norm mu_x, sigma_x, "
                        "ax_hat, ...), with --backward each step's "
                        "gradients and the gradients of the parameters, x, h0 (and c0)")
    p.set_defaults(func=run)
    # a value such as -0.5,1,2 is not an option: argparse takes only -0.5 or -1 alone for a negative number
    p._negative_number_matcher = re.compile(r"^-\.?\d")


def precision(text: str) -> int:
    """argparse type for --precision: decimals 0..17."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= MAX_PRECISION:
        raise argparse.ArgumentTypeError(f"Expected decimals 0..{MAX_PRECISION}, got {text!r}")
    return n


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from rnnkit.cli.output import is_stdout
    from rnnkit.cli.step_text import beyond_range, step_json, step_text
    from rnnkit.textbook import CELL_NAMES  # here: the textbook loads when step runs, not at every start-up
    from rnnkit.textbook.exercise import build_exercise, parse_numbers, solve
    from rnnkit.textbook.params import params_json, read_params

    cell = args.cell
    other = f"with --cell {cell}: {CELL_NAMES[cell]}"
    refuse_unused(args, [
        ("--peephole", cell != "lstm", f"{other} has no cell state for peepholes to read; use --cell lstm"),
        ("--nonlinearity", cell != "rnn", f"{other} has fixed gates; use --cell rnn"),
        ("--c0", cell != "lstm", f"{other} has no cell state; use --cell lstm"),
        ("--dc", cell != "lstm", f"{other} has no cell state; use --cell lstm"),
        ("--dh", not args.backward, "without --backward: add it"),
        ("--dc", not args.backward, "without --backward: add it"),
        ("--precision", args.json, "with --json, which prints every number in full: drop --json"),
    ])
    if args.peephole:
        cell = "lstm_peephole"  # the textbook's peephole LSTM (rnnkit.textbook.lstm_peephole)
    if args.layer_norm:  # rnnkit.textbook.elman_ln, lstm_ln, gru_ln, or with peepholes lstm_ln_peephole
        cell = "lstm_ln_peephole" if args.peephole else f"{cell}_ln"
    if args.weights and args.save_weights and same_file(args.weights, args.save_weights):
        raise ValueError(f"--save-weights {args.save_weights} is the --weights file: it would be rewritten; "
                         "choose another file")
    to_stdout = is_stdout(args.save_weights)
    if args.save_weights and not to_stdout:  # a folder, a missing one, no permission: refused before any work
        from rnnkit.data.files import check_output_path

        check_output_path(args.save_weights, "--save-weights", suffix=".json")
    params, zero_biases = (None, []) if args.weights is None else read_params(cell, args.weights)

    def vector(option: str, text: str | None):
        return None if text is None else parse_numbers(text, option)

    ex = build_exercise(
        cell, np.random.default_rng(args.seed), nonlinearity=args.nonlinearity or "tanh", params=params,
        params_from=f"--weights {args.weights}", xs=args.x and [vector("--x", x) for x in args.x],
        h0=vector("--h0", args.h0), c0=vector("--c0", args.c0), dout=args.dh and [vector("--dh", d) for d in args.dh],
        dc=vector("--dc", args.dc), input_size=args.input_size, hidden_size=args.hidden_size, steps=args.steps,
        names=OPTION_NAMES)
    if not args.backward:  # no gradients asked for: the ones drawn are not said either
        ex.drawn = [d for d in ex.drawn if d != "dh"]
    with np.errstate(over="ignore", invalid="ignore"):  # said below in step's terms, not numpy's
        solution = solve(ex)
    overflow = beyond_range(ex, solution)
    if overflow:
        from rnnkit.cli.text_warnings import warn

        warn(overflow)
    out = sys.stdout
    if to_stdout:  # stdout holds the parameters' JSON alone, a file --weights reads; the step goes beside it
        out = sys.stderr
        print("rnnkit: the parameters are on standard output (the step on standard error): save them with "
              "'> FILE', edit its numbers and give it to --weights", file=sys.stderr)
    elif args.save_weights:
        from rnnkit.atomic import write_atomically

        text = params_json(cell, ex.params)
        write_atomically(args.save_weights, lambda f: f.write(text.encode("utf-8")))
        print(f"rnnkit: the parameters are in {args.save_weights}: edit its numbers and give it to --weights",
              file=sys.stderr)
    if args.json:
        print(step_json(ex, solution, args.seed, args.backward, zero_biases), file=out)
    else:
        seed = args.seed if ex.drawn else None
        print(step_text(ex, solution, args.precision, args.backward, seed, zero_biases,
                        args.weights), file=out)
    if to_stdout:
        sys.stdout.write(params_json(cell, ex.params))
    return 0
