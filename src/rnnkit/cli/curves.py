"""``rnnkit curves``: compare training runs from their metrics logs, as a table and optionally a plot."""
from __future__ import annotations

import argparse

from rnnkit.cli.common import HelpFormatter, positive_int
from rnnkit.cli.given import refuse_unused
from rnnkit.train.curves import TRAIN_SERIES


def register(groups) -> None:
    p = groups.commands.add_parser(
        "curves", help="learning curves of training runs: a summary table, and a plot with --output",
        description="Read the metrics.jsonl of one or more runs of 'rnnkit train ...' and print, per run, its "
                    "ended epochs, its latest training loss and what that covers (the last ended epoch's mean, or, "
                    "when the run stopped part-way through an epoch or is still in it, the last logged batch's: "
                    "'epoch 2 step 80'), and the validation metric at its best checkpoint and at its last ended "
                    "epoch.  With --output, also draw the training loss against the step and the validation "
                    "metric against the epoch, the runs overlaid (needs matplotlib: pip install 'rnnkit[plot]').",
        formatter_class=HelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN", help="a run folder (its --run-dir) or a metrics.jsonl file")
    p.add_argument("--metric", default=None,
                   help="validation metric to show: loss, or one the runs report (ppl, bits, accuracy, f1, ...) "
                        "(default: the one that chose the runs' best checkpoints, e.g. a tagger's accuracy or a "
                        "language model's loss; else loss, or the first metric all runs share)")
    p.add_argument("--train-metric", choices=list(TRAIN_SERIES), default="loss",
                   help="what the plot's training panel shows against the step: the logged batches' loss, the "
                        "learning rate (a schedule's shape), the gradient norm before clipping (logged with "
                        "--clip; where clipping bites), or a translator's coverage loss (logged with "
                        "--coverage-loss L > 0) (default: loss)")
    p.add_argument("--labels", default=None, help="comma-separated names for the runs (default: their folders)")
    p.add_argument("--output", "-o", default=None, metavar="FILE", help="write the plot here (.png, .pdf or .svg)")
    p.add_argument("--dpi", type=dpi, default=100,
                   help=f"resolution of a .png plot, dots per inch ({MIN_DPI} to {MAX_DPI})")
    p.set_defaults(func=run)


MIN_DPI = 10  # at 1 to 3 dpi matplotlib's font engine fails (invalid ppem): a traceback
MAX_DPI = 1200  # a 6 x 4 inch figure at 1200 dpi is 35 megapixels; far beyond, the renderer runs out of memory


def dpi(text: str) -> int:
    """argparse type: a resolution from MIN_DPI to MAX_DPI (below 4, matplotlib's font engine fails)."""
    value = positive_int(text)
    if not MIN_DPI <= value <= MAX_DPI:
        raise argparse.ArgumentTypeError(f"Expected a resolution from {MIN_DPI} to {MAX_DPI} dpi, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    from rnnkit.train.curves import (check_logged, plot_curves, read_run, run_metrics, selecting_metric, summary_lines,
                                     valid_metrics)

    refuse_unused(args, [("--dpi", args.output is None, "without --output (it sets the plot's resolution): give "
                                                        "--output FILE.png"),
                         ("--dpi", args.output is not None and not args.output.lower().endswith(".png"),
                          "for a vector plot (.svg, .pdf), which has no resolution: give --output FILE.png"),
                         ("--train-metric", args.output is None, "without --output (it chooses what the plot's "
                                                                 "training panel shows): give --output FILE.png")])
    if args.output is not None:
        from rnnkit.plotting import check_plot_file

        check_plot_file(args.output, "--output")  # before the runs are read and the table printed
    labels = args.labels.split(",") if args.labels is not None else [None] * len(args.runs)
    if len(labels) != len(args.runs):
        raise ValueError(f"Expected one --labels name per run ({len(args.runs)}), got {len(labels)}")
    if args.labels is not None and not all(name.strip() for name in labels):
        raise ValueError(f"Expected a non-empty --labels name for each run, got {args.labels!r}")
    runs = [read_run(r, name) for r, name in zip(args.runs, labels)]
    available = valid_metrics(runs)
    finished = [r for r in runs if r.epochs]  # none yet: only training curves, the table shows '-'
    if finished and not available:  # a language model's and a tagger's runs: no column to compare
        each = "; ".join(f"{r.name}: {', '.join(run_metrics(r)) or 'none'}" for r in finished)
        blind = [r.name for r in finished if not run_metrics(r)]
        them = "it" if len(blind) == 1 else "them"
        fix = (f"{', '.join(blind)} trained without validation data (--valid): leave {them} out, or train with "
               "--valid" if blind else "compare runs of one kind")
        raise ValueError(f"these runs report no validation metric in common ({each}); {fix}")
    if args.metric is None:  # the metric that chose the runs' best checkpoints, where they share one
        chosen = {selecting_metric(r) for r in finished}
        args.metric = chosen.pop() if len(chosen) == 1 and None not in chosen and chosen <= set(available) else (
            available[0] if available else "loss")
    elif finished and args.metric not in available:
        hint = (f" (the training {'learning rate' if args.metric == 'lr' else 'gradient norm'} is plotted with "
                f"--train-metric {args.metric} --output FILE)" if args.metric in ("lr", "grad_norm") else "")
        raise ValueError(f"Expected --metric to be one of the validation metrics every run reports "
                         f"({', '.join(available)}), got {args.metric!r}{hint}")
    print("\n".join(summary_lines(runs, args.metric)))
    if args.output is not None:
        check_logged(runs, args.train_metric, "--train-metric ")  # named as the option, not plot_curves' argument
        path = plot_curves(runs, args.output, args.metric, args.dpi, train=args.train_metric)
        print(f"plot written: {path}")
    return 0
