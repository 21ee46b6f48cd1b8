"""``rnnkit demo`` with no further argument: the character-level LSTM on Python's standard library."""
from __future__ import annotations

from rnnkit.cli.common import nonnegative_int, positive_float, positive_int, run_folder
from rnnkit.cli.given import given
from rnnkit.demos.charlm import DemoConfig, run_charlm_demo


def register(groups) -> None:
    p = groups.demo_parser
    p.description = ("Built-in demonstrations. With no DEMO, train a character-level LSTM for about two minutes "
                     "on this Python's own standard-library source, then sample from it.")
    defaults = DemoConfig()
    # dests of their own: a demo named after them (demo reverse) has options of the same names, whose
    # defaults would silently replace these (argparse lets a subcommand's defaults win)
    p.add_argument("--steps", dest="main_steps", metavar="N", type=positive_int, default=defaults.steps,
                   help=f"training steps (default {defaults.steps})")
    p.add_argument("--seed", dest="main_seed", metavar="N", type=nonnegative_int, default=defaults.seed,
                   help=f"random seed (default {defaults.seed})")
    p.add_argument("--run-dir", dest="main_run_dir", metavar="DIR", type=run_folder, default="runs/demo",
                   help="where the model and checkpoints go (default runs/demo)")
    p.add_argument("--temperature", dest="main_temperature", metavar="T", type=positive_float,
                   default=defaults.temperature, help=f"sampling temperature (default {defaults.temperature})")
    p.add_argument("--progress", dest="main_progress", choices=["auto", "bar", "lines", "none"], default="auto",
                   help="progress display (default auto: a bar on a terminal, lines otherwise)")
    p.set_defaults(func=run)


_MAIN_OPTIONS = ("main_steps", "main_seed", "main_run_dir", "main_temperature", "main_progress")


def refuse_main_demo_options(args, demo: str) -> None:
    """``rnnkit demo --run-dir X reverse``: options before a demo's name belong to the default demo and
    would be ignored (and --run-dir X would not keep the demo out of its default folder): refuse them,
    advising to move the option after the name only when that demo has it (its parser set the plain dest)."""
    written = [dest for dest in _MAIN_OPTIONS if given(args, dest)]  # even with its default value
    if written:
        dest = written[0][len("main_"):]
        option = "--" + dest.replace("_", "-")
        if hasattr(args, dest):
            cure = f"give the options of 'demo {demo}' after its name: rnnkit demo {demo} {option} ..."
        else:
            cure = f"'demo {demo}' has no {option}: leave it out (rnnkit demo {demo} --help lists its options)"
        raise ValueError(f"{option} before '{demo}' is an option of the default demo (rnnkit demo); {cure}")


def run(args) -> int:
    cfg = DemoConfig(steps=args.main_steps, seed=args.main_seed, temperature=args.main_temperature)
    run_charlm_demo(cfg, args.main_run_dir, progress=args.main_progress)
    return 0
