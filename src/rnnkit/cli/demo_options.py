"""The options that the length-generalisation demos share (``rnnkit demo ctc``, ``rnnkit demo pointer``): Adam
steps, the seed, the hidden size and the range of training lengths, each help ending in its default; and
``--save DIR`` / ``--load DIR``'s checks (the file --load names, the training options it refuses)."""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rnnkit.cli.common import nonnegative_int, positive_int
from rnnkit.cli.given import given
from rnnkit.demos.demo_steps import MODEL_FILE


def add_length_training(p: argparse.ArgumentParser, defaults: Any, items: str, hidden: str, min_len: str,
                        max_len: str, more: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    """--steps, --seed, --hidden, then ``more``'s options (in --help's order), then --min-len and --max-len, their
    defaults ``defaults``' fields; ``items``: what a batch holds ("strings"), ``hidden``, ``min_len`` and
    ``max_len``: those options' helps without the default."""
    p.add_argument("--steps", type=positive_int, default=defaults.steps, metavar="N",
                   help=f"Adam steps, each on a fresh batch of {defaults.batch_size} {items} "
                        f"(default {defaults.steps})")
    p.add_argument("--seed", type=nonnegative_int, default=defaults.seed, metavar="N",
                   help=f"random seed for the weights, the batches and the test {items} (default {defaults.seed})")
    p.add_argument("--hidden", type=positive_int, default=defaults.hidden, metavar="H",
                   help=f"{hidden} (default {defaults.hidden})")
    if more is not None:
        more(p)
    p.add_argument("--min-len", type=positive_int, default=defaults.min_len, metavar="N",
                   help=f"{min_len} (default {defaults.min_len})")
    p.add_argument("--max-len", type=positive_int, default=defaults.max_len, metavar="N",
                   help=f"{max_len} (default {defaults.max_len})")


def check_save_load(args: argparse.Namespace, training: Sequence[str]) -> None:
    """--load with an option of ``training`` (those only training reads), or --save naming a file, is a ValueError
    saying which and what to do."""
    written = [name for name in training if given(args, name)]
    if args.load is not None and written:
        option = "--" + written[0].replace("_", "-")
        raise ValueError(f"Expected no {option} with --load (it tests a trained network and trains none), got "
                         f"{option}; leave it out, or --load out to train one")
    if args.save is not None and Path(args.save).exists() and not Path(args.save).is_dir():
        raise ValueError(f"Expected --save to be a folder (the network goes to its {MODEL_FILE}), got the file "
                         f"{args.save}; give a folder")
