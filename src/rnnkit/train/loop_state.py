"""Where a training run is (:class:`LoopState`): the part of a checkpoint that says how far it got."""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class LoopState:
    """Where the run is: epoch, position, step, best criterion, history; saved in every checkpoint."""
    epoch: int = 0  # completed epochs
    cursor: int = 0  # position inside the current epoch
    step: int = 0  # optimizer steps taken
    best: float = math.inf  # best validation criterion (lower is better; see criterion())
    bad_epochs: int = 0  # epochs since the best one
    stopped_early: bool = False
    epoch_loss: float = 0.0  # sum of loss * units so far in this epoch
    epoch_units: int = 0
    history: list = field(default_factory=list)  # per-epoch validation metrics
    # name -> sum of penalty * units so far in this epoch; None: not kept (resumed from an earlier version's
    # checkpoint inside the epoch), the epoch's record then without its means
    epoch_penalties: dict | None = field(default_factory=dict)
    # wall-clock seconds this epoch trained up to the last save, which a resumed epoch adds to its own: its
    # train_seconds then count the work it kept (not the time lost after that save); a TIMING_KEYS figure
    epoch_seconds: float = 0.0
