"""A trained pointer network (:class:`rnnkit.seq2seq.pointer.PointerNet`) in a checkpoint, and back.

The file is :mod:`rnnkit.checkpoint`'s (safetensors arrays and a JSON header, written atomically, never pickle):
the parameters under ``model/`` by :attr:`PointerNet.params`' names, and the task metadata::

    meta["task"] = {"model": "pointer",
                    "pointer_config": {"input_size": D, "hidden_size": H, "attention_size": A, "dtype": "float32"},
                    ... the caller's own fields (the demo's: which task, its training settings)}
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.checkpoint_task import load_task_checkpoint, reading_metadata, restore_params, save_task_checkpoint
from rnnkit.demos.demo_steps import saved_model
from rnnkit.seq2seq.pointer import PointerNet

__all__ = ["KIND", "load_pointer", "save_pointer"]

KIND = "pointer"  # meta["task"]["model"]


def save_pointer(path: str | os.PathLike, model: PointerNet, extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``model`` to the checkpoint ``path`` (atomically); ``extra``: more JSON fields of the task metadata.
    Returns the file written."""
    config = {"input_size": model.input_size, "hidden_size": model.hidden_size,
              "attention_size": model.attention_size, "dtype": model.dtype.name}
    task = {**(extra or {}), "model": KIND, "pointer_config": config}
    return save_task_checkpoint(path, model.params, task)


def load_pointer(path: str | os.PathLike, command: str = "rnnkit demo pointer --save DIR"
                 ) -> tuple[PointerNet, dict[str, Any]]:
    """(the pointer network, its task metadata) of a checkpoint :func:`save_pointer` wrote; another kind of file,
    a damaged one or weights of other shapes raise CheckpointError (one line naming the file and ``command``, which
    writes one)."""
    path = saved_model(path, command)  # the folder --save wrote: its model.safetensors
    arrays, task = load_task_checkpoint(path, KIND, "pointer network", command)
    with reading_metadata(path, "pointer network"):
        cfg = task["pointer_config"]
        model = PointerNet(cfg["input_size"], cfg["hidden_size"], cfg["attention_size"],
                           dtype=np.dtype(cfg["dtype"]))
    restore_params(model, arrays, path)
    return model, task
