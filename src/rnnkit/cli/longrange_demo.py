"""``rnnkit demo adding`` and ``rnnkit demo copy``: the long-range tasks of the vanishing-gradient lectures,
learned by an Elman RNN, an LSTM or a GRU (``--cell all``: the three, one table)."""
from __future__ import annotations

import argparse
from dataclasses import replace

from rnnkit.cli.charlm_demo import refuse_main_demo_options
from rnnkit.cli.common import at_least_two, nonnegative_int, positive_float, positive_int
from rnnkit.cli.seq2seq_score import blas_threads
from rnnkit.demos.adding import ADDING_DEFAULTS, ADDING_LENGTH, run_adding_demo
from rnnkit.demos.copying import COPY_DEFAULTS, COPY_DELAY, COPY_LENGTH, run_copy_demo
from rnnkit.demos.longrange import CELL_NAMES, CELLS, GRADIENTS, LongRangeConfig

MAX_LENGTH = 10000  # steps of a sequence: the layer's cache holds every one (T * B * H floats, several times)


def _add_common(p: argparse.ArgumentParser, defaults: LongRangeConfig) -> None:
    p.add_argument("--cell", choices=[*CELLS, "all"], default=defaults.cell,
                   help=f"rnn (Elman, tanh), lstm or gru; all: train each with the same seed, batches and budget "
                        f"and print a table (default {defaults.cell})")
    p.add_argument("--steps", type=positive_int, default=defaults.steps, metavar="N",
                   help=f"Adam steps, each on a fresh batch (default {defaults.steps})")
    p.add_argument("--hidden", type=positive_int, default=defaults.hidden, metavar="H",
                   help=f"hidden units (default {defaults.hidden})")
    p.add_argument("--batch-size", type=positive_int, default=defaults.batch_size, metavar="B",
                   help=f"sequences per step (default {defaults.batch_size})")
    p.add_argument("--lr", type=positive_float, default=defaults.lr,
                   help=f"Adam's learning rate, for every cell (default {defaults.lr})")
    p.add_argument("--seed", type=nonnegative_int, default=defaults.seed, metavar="N",
                   help=f"random seed for the weights, the batches and the test set (default {defaults.seed})")
    p.add_argument("--gradient", choices=GRADIENTS, default=defaults.gradient,
                   help="bptt, or rtrl: the same gradient by real-time recurrent learning, forward in time, at "
                        "O(H^4) a step: for a few hidden units and short sequences (default bptt); a run longer than "
                        "2 min says how long after its first steps")


def register(groups) -> None:
    p = groups.demo.add_parser(
        "adding",
        help="the adding problem: an Elman RNN stays at the baseline where an LSTM or GRU learns it",
        description=("The adding problem (Hochreiter & Schmidhuber 1997): each step gives a value in [0, 1] and "
                     "a marker; two steps are marked, one in each half of the sequence, and after the last step "
                     "the network outputs the sum of the two marked values (mean squared error).  Always "
                     "predicting 1 scores 1/6 = 0.167, the baseline.  With the defaults an LSTM gets far below "
                     "it and an Elman RNN does not: the first value must be kept for 25 steps or more.  Takes "
                     "10-20 seconds (--cell all: under a minute)."),
    )
    p.add_argument("--length", type=at_least_two, default=ADDING_LENGTH, metavar="T",
                   help=f"steps per sequence, at most {MAX_LENGTH} (default {ADDING_LENGTH})")
    _add_common(p, ADDING_DEFAULTS)
    p.set_defaults(func=run_adding)

    c = groups.demo.add_parser(
        "copy",
        help="the copy-memory task: recall symbols after a long blank delay (Elman RNN at chance, GRU/LSTM not)",
        description=("The copy-memory task (Arjovsky et al. 2016): the network reads K symbols of 8, then a "
                     "blank delay of T steps ending in a delimiter, and must then output the K symbols in "
                     "order (blanks before).  Remembering nothing gives the symbols' chance level, 1/8 right "
                     "and a cross-entropy of ln 8; the test reports both.  The paper's K is 10 and T 100 or "
                     "more; the defaults (K 3, T 15) make a run take 10-20 seconds (--cell all: under a minute), "
                     "and there the Elman RNN stays at chance, the GRU learns the task and the LSTM part of it."),
    )
    c.add_argument("--delay", type=positive_int, default=COPY_DELAY, metavar="T",
                   help=f"steps from the last symbol to the delimiter (sequences are T + 2K long), at most "
                        f"{MAX_LENGTH} (default {COPY_DELAY})")
    c.add_argument("--copy-length", type=positive_int, default=COPY_LENGTH, metavar="K",
                   help=f"symbols to remember and copy, at most {MAX_LENGTH} (default {COPY_LENGTH})")
    _add_common(c, COPY_DEFAULTS)
    c.set_defaults(func=run_copy)


def _config(args: argparse.Namespace, defaults: LongRangeConfig) -> tuple[LongRangeConfig, list[str] | None]:
    """The run's config and the cells of a comparison (None: one cell)."""
    cells = list(CELLS) if args.cell == "all" else None
    cfg = replace(defaults, cell=defaults.cell if cells else args.cell, steps=args.steps, hidden=args.hidden,
                  batch_size=args.batch_size, lr=args.lr, seed=args.seed, gradient=args.gradient)
    return cfg, cells


def _check_max(option: str, value: int) -> None:
    if value > MAX_LENGTH:
        raise ValueError(f"Expected {option} <= {MAX_LENGTH}, got {value}: the layer keeps every step of the batch "
                         "for the backward pass")


def _say_cells(cells: list[str] | None, cfg: LongRangeConfig) -> str:
    who = ", ".join(CELL_NAMES[c] for c in cells) if cells else CELL_NAMES[cfg.cell]
    return (f"{who}, {cfg.hidden} hidden units, {cfg.steps} steps of {cfg.batch_size} sequences, Adam lr {cfg.lr}, "
            f"{cfg.gradient.upper()}, seed {cfg.seed}")


def run_adding(args: argparse.Namespace) -> int:
    refuse_main_demo_options(args, "adding")
    _check_max("--length", args.length)
    cfg, cells = _config(args, ADDING_DEFAULTS)
    print(f"Adding problem, T = {args.length}: {_say_cells(cells, cfg)}")
    with blas_threads(args):  # one BLAS thread unless --threads: (B, H) products are too small to share
        run_adding_demo(cfg, length=args.length, cells=cells, log=print)
    return 0


def run_copy(args: argparse.Namespace) -> int:
    refuse_main_demo_options(args, "copy")
    _check_max("--delay", args.delay)
    _check_max("--copy-length", args.copy_length)
    if args.delay + 2 * args.copy_length > MAX_LENGTH:  # a sequence: the symbols, the delay, then their copy
        raise ValueError(f"Expected --delay + 2 x --copy-length <= {MAX_LENGTH} (the steps of a sequence), got "
                         f"{args.delay} + 2 x {args.copy_length} = {args.delay + 2 * args.copy_length}: the layer "
                         "keeps every step of the batch for the backward pass; give a shorter --delay or --copy-length")
    cfg, cells = _config(args, COPY_DEFAULTS)
    print(f"Copy task, {args.copy_length} symbols after a delay of {args.delay}: {_say_cells(cells, cfg)}")
    with blas_threads(args):
        run_copy_demo(cfg, delay=args.delay, copy_length=args.copy_length, cells=cells, log=print)
    return 0
