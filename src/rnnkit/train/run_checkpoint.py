"""What a training run's checkpoint holds, apart from the loop that writes and reads it.

Arrays under prefixes: ``model/`` (the model to use: the weight average when averaging), ``raw/`` (the
training weights of an averaging run), ``optim/`` (the optimizer's state), ``carry/`` (the state carried
between windows).  The loop's counters go in the metadata's ``loop`` record.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.errors import CheckpointError
from rnnkit.train.loop_state import LoopState


def run_arrays(params: Mapping[str, np.ndarray], average: Mapping[str, np.ndarray] | None,
               optimizer_arrays: Mapping[str, np.ndarray], carry: Mapping[str, np.ndarray] | None
               ) -> dict[str, np.ndarray]:
    """The arrays of a training checkpoint, under their prefixes."""
    if average is None:
        arrays = {"model/" + k: v for k, v in params.items()}
    else:  # the model to use is the average; the training weights are kept for resuming
        arrays = {"model/" + k: v for k, v in average.items()}
        arrays.update({"raw/" + k: v for k, v in params.items()})
    arrays.update({"optim/" + k: v for k, v in optimizer_arrays.items()})
    if carry is not None:
        arrays.update({"carry/" + k: v for k, v in carry.items()})
    return arrays


def loop_record(st: LoopState, has_carry: bool, first_loss: float | None) -> dict[str, Any]:
    """The ``loop`` record of a checkpoint's metadata."""
    return {
        "epoch": st.epoch, "cursor": st.cursor, "step": st.step, "best": st.best if math.isfinite(st.best) else None,
        "bad_epochs": st.bad_epochs, "stopped_early": st.stopped_early, "history": st.history,
        "epoch_loss": st.epoch_loss, "epoch_units": st.epoch_units, "epoch_penalties": st.epoch_penalties,
        "has_carry": has_carry, "epoch_seconds": round(st.epoch_seconds, 3),
        "first_loss": first_loss,  # the divergence guard's reference: a resumed run keeps it
    }


def loop_state(lp: Mapping[str, Any]) -> LoopState:
    """The loop's state from its ``loop`` record (KeyError, TypeError or ValueError when damaged)."""
    return LoopState(int(lp["epoch"]), int(lp["cursor"]), int(lp["step"]),
                     math.inf if lp["best"] is None else lp["best"], lp["bad_epochs"],
                     lp["stopped_early"], lp["epoch_loss"], lp["epoch_units"], list(lp["history"]),
                     _penalty_sums(lp),
                     float(lp.get("epoch_seconds", 0.0)))  # none in an earlier version's: the resumed part's alone


def _penalty_sums(lp: Mapping[str, Any]) -> dict | None:
    """The epoch's penalty sums so far; None when lost: a checkpoint of an earlier version has none, which inside
    an epoch leaves that epoch's means out (the rest's sums over the whole epoch's units would be too small)."""
    sums = lp.get("epoch_penalties", None if lp["epoch_units"] else {})
    return None if sums is None else dict(sums)


def model_arrays(arrays: Mapping[str, np.ndarray], path: Path, params: Mapping[str, np.ndarray],
                 averaging: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """(training weights, weight average or None) of a checkpoint, checked against the model's ``params``
    and against this run's averaging; CheckpointError naming ``path`` otherwise."""
    model = {k[6:]: v for k, v in arrays.items() if k.startswith("model/")}
    raw = {k[4:]: v for k, v in arrays.items() if k.startswith("raw/")}  # only an averaging run has them
    if raw and not averaging:
        raise CheckpointError(f"{path}: this run was averaging its weights; resume with the same --average "
                              "(TrainConfig.average)")
    if not raw and averaging:
        raise CheckpointError(f"{path}: this run was not averaging its weights; resume without --average "
                              "(TrainConfig.average None)")
    averaged = None
    if raw:
        averaged, model = model, raw
    if set(model) != set(params):
        raise CheckpointError(f"{path}: its parameters do not match this model; resume with the same options")
    for k, v in model.items():
        if v.shape != params[k].shape:
            raise CheckpointError(f"{path}: {k} has shape {v.shape}, this model {params[k].shape}")
    return model, averaged


def read_last(path: Path) -> tuple[Any, Any]:
    """The arrays and meta of the checkpoint a run resumes from, or (the error, None)."""
    from rnnkit.train.earlier_run import resume_hint

    try:
        if not path.exists():
            raise CheckpointError(f"{path}: no checkpoint to resume from{resume_hint(path)}; start the run without "
                                  "--resume")
        return ckpt.load_checkpoint(path)
    except CheckpointError as exc:
        return exc, None
