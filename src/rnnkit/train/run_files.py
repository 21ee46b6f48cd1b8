"""The files a training run writes into its folder: the checkpoints ``last`` (every N steps / minutes and
at every epoch end) and ``best`` (on validation), and the metrics log, one JSON record a line."""
from __future__ import annotations

import os
from pathlib import Path

LAST = "last.safetensors"
BEST = "best.safetensors"
METRICS = "metrics.jsonl"
# Keys of an epoch record that hold wall-clock measurements.  ``train_seconds`` is the epoch's training
# time: after a resume mid-epoch, the seconds trained up to the checkpoint resumed from (its loop record's
# ``epoch_seconds``, 0 in checkpoints written before it was kept) and those since; the time lost after that
# checkpoint is not counted.  ``valid_seconds`` is its evaluation, ``time`` the UTC end.  A resumed run equals an
# uninterrupted one in every other key (and in every loop record field but ``epoch_seconds``).
TIMING_KEYS = ("train_seconds", "valid_seconds", "time")


def model_file(run_dir: str | os.PathLike) -> Path:
    """The checkpoint a finished run offers: the best on validation, or the last without validation."""
    return Path(run_dir) / BEST if (Path(run_dir) / BEST).exists() else Path(run_dir) / LAST
