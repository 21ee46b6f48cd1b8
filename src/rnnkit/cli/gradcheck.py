"""``rnnkit gradcheck``: verify the hand-derived BPTT of a cell against finite differences and RTRL."""
from __future__ import annotations

import argparse

from rnnkit.cli.common import (
    HelpFormatter,
    add_layer_norm_option,
    add_peephole_option,
    check_layer_norm,
    nonnegative_int,
    peephole_rule,
    positive_float,
    positive_int,
)
from rnnkit.cli.given import refuse_unused
from rnnkit.diagnostics import CELLS


def register(groups) -> None:
    p = groups.commands.add_parser(
        "gradcheck", help="check a cell's backward pass against finite differences and RTRL",
        description="Build a float64 layer with random non-zero weights, biases and initial state, run random "
                    "inputs of unequal lengths through it, put random gradients on every output and on the final "
                    "state, and compare every gradient BPTT computes (parameters, input, initial state) with "
                    "central finite differences, and for one layer in one direction with real-time recurrent "
                    "learning (RTRL).  Exits 1 if any error exceeds --tolerance.",
        formatter_class=HelpFormatter)
    p.add_argument("--cell", choices=CELLS, default="lstm", help="recurrent cell")
    p.add_argument("--nonlinearity", choices=["tanh", "relu"], default=None,
                   help="Elman RNN's nonlinearity (--cell rnn only; default tanh)")
    add_peephole_option(p)
    add_layer_norm_option(p, saved=False)  # the check trains and saves nothing
    p.add_argument("--layers", type=positive_int, default=1, help="stacked layers (RTRL is compared for 1 only)")
    p.add_argument("--bidirectional", action="store_true", help="both directions (RTRL is then not compared)")
    p.add_argument("--steps", type=positive_int, default=6, help="sequence length T")
    p.add_argument("--batch", type=positive_int, default=3, help="sequences B (lengths drawn in 1..T)")
    p.add_argument("--input-size", type=positive_int, default=3, help="input features D")
    p.add_argument("--hidden", type=positive_int, default=4, help="hidden units H")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed of the problem")
    p.add_argument("--tolerance", type=positive_float, default=1e-6,
                   help="largest error |analytic - reference| / max(1, |reference|) accepted")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnkit.gradcheck import check_recurrent

    if args.nonlinearity is not None and args.cell != "rnn":
        article = "an" if args.cell == "lstm" else "a"
        raise ValueError(f"--nonlinearity is the Elman RNN's; {article} {args.cell.upper()} has fixed gates: leave it "
                         "out or use --cell rnn")
    refuse_unused(args, [peephole_rule(args)])
    check_layer_norm(args)
    args.nonlinearity = args.nonlinearity or "tanh"
    info: dict = {}
    checks = check_recurrent(args.cell, args.nonlinearity, args.layers, args.bidirectional, args.steps, args.batch,
                             args.input_size, args.hidden, args.seed, info=info, peephole=args.peephole,
                             layer_norm=args.layer_norm)
    name = args.cell if args.cell != "rnn" else f"rnn ({args.nonlinearity})"
    extras = [what for what, on in (("peepholes", args.peephole), ("layer normalization", args.layer_norm)) if on]
    name += f" with {' and '.join(extras)}" if extras else ""
    print(f"{name}, {args.layers} layer(s), {'bidirectional' if args.bidirectional else 'one direction'}, "
          f"T={args.steps}, B={args.batch}, D={args.input_size}, H={args.hidden}, seed {args.seed}, float64")
    print(f"lengths {info['lengths']}; parameters, inputs, initial states and upstream gradients random")
    shape = [what for what, on in ((f"--layers {args.layers}", args.layers > 1),
                                   ("--bidirectional", args.bidirectional)) if on]
    if shape:
        print(f"RTRL not compared: rnnkit's RTRL (rnnkit.rtrl, rnnkit.rtrl_gated) runs one layer in one direction, "
              f"and {' and '.join(shape)} {'asks' if len(shape) == 1 else 'ask'} for more")
    elif not (args.peephole or args.layer_norm):
        print("RTRL compares the parameters' and the initial state's gradients, not dx (input x): rnnkit's RTRL "
              "gives no input gradient")
    if args.peephole and args.layers == 1 and not args.bidirectional:
        print("RTRL not compared: rnnkit's RTRL (rnnkit.rtrl_gated) derives the LSTM without peepholes")
    if args.layer_norm and args.layers == 1 and not args.bidirectional:
        print("RTRL not compared: rnnkit's RTRL (rnnkit.rtrl, rnnkit.rtrl_gated) derives the cells without layer "
              "normalization")
    print(f"finite differences central, eps = {info['eps']:g}; error = |analytic - reference| / max(1, |reference|)")
    width = max(len(c.name) for c in checks)
    print(f"{'gradient':<{width}}  {'against':<18} {'entries':>7} {'max |grad|':>11} {'max error':>10}")
    for c in checks:
        flag = "" if c.max_error <= args.tolerance else "   <-- MISMATCH"
        print(f"{c.name:<{width}}  {c.reference:<18} {c.entries:>7} {c.max_grad:>11.3e} {c.max_error:>10.2e}{flag}")
    worst = max(checks, key=lambda c: c.max_error)
    if worst.max_error > args.tolerance:
        print(f"MISMATCH: {sum(c.max_error > args.tolerance for c in checks)} of {len(checks)} gradients exceed "
              f"{args.tolerance:g} (worst: {worst.name} against {worst.reference}, {worst.max_error:.2e})")
        return 1
    print(f"OK: all {len(checks)} gradients ({sum(c.entries for c in checks):,} entries) agree within "
          f"{args.tolerance:g} (worst {worst.max_error:.1e})")
    return 0
