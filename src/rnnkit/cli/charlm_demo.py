"""``rnnkit demo`` with no further argument: the character-level LSTM on Python's standard library."""
from __future__ import annotations

from rnnkit.cli.common import nonnegative_int, positive_float, positive_int, run_folder
from rnnkit.demos.charlm import DemoConfig, run_charlm_demo


def register(groups) -> None:
    p = groups.demo_parser
    p.description = ("Built-in demonstrations. With no DEMO, train a character-level LSTM for about two minutes "
                     "on this Python's own standard-library source, then sample from it.")
    defaults = DemoConfig()
    p.add_argument("--steps", type=positive_int, default=defaults.steps, help=f"training steps (default {defaults.steps})")
    p.add_argument("--seed", type=nonnegative_int, default=defaults.seed, help=f"random seed (default {defaults.seed})")
    p.add_argument("--run-dir", type=run_folder, default="runs/demo", help="where the model and checkpoints go (default runs/demo)")
    p.add_argument("--temperature", type=positive_float, default=defaults.temperature,
                   help=f"sampling temperature (default {defaults.temperature})")
    p.add_argument("--progress", choices=["auto", "bar", "lines", "none"], default="auto",
                   help="progress display (default auto: a bar on a terminal, lines otherwise)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.steps < 1:
        raise ValueError(f"Expected --steps >= 1, got {args.steps}")
    cfg = DemoConfig(steps=args.steps, seed=args.seed, temperature=args.temperature)
    run_charlm_demo(cfg, args.run_dir, progress=args.progress)
    return 0
