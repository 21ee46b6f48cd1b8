"""The defaults of ``rnnkit train KIND``'s options, read from its own parser: for ``rnnkit info``, which tells the
settings a run chose from those it left at their defaults (:func:`chosen_options`)."""
from __future__ import annotations

import argparse
import functools
import json
from typing import Any

from rnnkit.train.digest import TRAIN_COMMANDS  # rnnkit train KIND of each model kind a training checkpoint holds


@functools.lru_cache(maxsize=None)
def train_defaults(kind: str) -> tuple[str, dict[str, Any]] | None:
    """``("rnnkit train lm", {"--bptt": 35, ...})``: the command that trains a model of ``kind`` and each of its
    options' default (as JSON keeps it: a tuple a list), None for a kind no training command writes."""
    from rnnkit.cli.given import command_parsers
    from rnnkit.cli.main import build_parser

    command = TRAIN_COMMANDS.get(kind)
    parser = dict(command_parsers(build_parser())).get(("train", command)) if command else None
    if parser is None:
        return None
    defaults = {option: json.loads(json.dumps(action.default, default=str)) for action in parser._actions
                for option in action.option_strings if action.default is not argparse.SUPPRESS}
    return f"rnnkit train {command}", defaults


def chosen_options(kind: str | None, run_options: Any) -> dict[str, Any]:
    """``{"command", "chosen"}``: the command that trains a model of ``kind`` ("rnnkit train lm") and the run
    options (``--bptt``: those a run stores, ``run_options``) whose value is not that command's default (nor an
    option it has any more), in their stored order; both None for a kind without one, or options not stored."""
    found = train_defaults(kind) if isinstance(kind, str) and isinstance(run_options, dict) else None
    if found is None:
        return {"command": None, "chosen": None}
    command, defaults = found
    missing = object()
    return {"command": command, "chosen": [k for k, v in run_options.items() if isinstance(k, str)
                                           and k.startswith("--") and defaults.get(k, missing) != v]}
