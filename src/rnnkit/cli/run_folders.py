"""A training run's folder given where a command reads a model (``translate runs/zh``, ``evaluate runs/lm
test.txt``, ``tag``, ``segment``, ``classify``, ``generate``, ``score``, ``states``, ``evaluate --interpolate``):
it stands for the run's best.safetensors, else its last.safetensors, as ``export`` and ``info`` take a run folder
(:func:`rnnkit.checkpoint_files.find_checkpoint`, the one rule they share), and one line on standard error says
which file was read.  ``export`` takes the folder itself (its --last picks the other file)."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

MODEL_OPTIONS = ("model", "interpolate")  # the destinations that name a model to read


def read_run_folders(func: Any, args: argparse.Namespace) -> None:
    """Replace each run folder among ``args``' model paths by its checkpoint's path, saying which on standard
    error; unless the command ``func`` takes a run folder itself (``func.takes_run_folder``)."""
    from rnnkit.checkpoint_files import find_checkpoint, run_folder_note

    if getattr(func, "takes_run_folder", False):
        return
    for dest in MODEL_OPTIONS:
        path = getattr(args, dest, None)
        if isinstance(path, str) and os.path.isdir(path):
            file = find_checkpoint(path)  # CheckpointError for a folder without them (a cross-validation's: its folds)
            setattr(args, dest, str(file))
            print(f"rnnkit: reading {run_folder_note(path, file)}", file=sys.stderr)
