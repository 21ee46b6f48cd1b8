"""The run's metrics log (``RUN/metrics.jsonl``, one JSON object a line) cut back to a checkpoint on
resume, so that the log of a resumed run equals an uninterrupted run's."""
from __future__ import annotations

import json
import os
from pathlib import Path


def truncate_metrics(path: Path, epoch: int, step: int) -> None:
    """Keep the lines of ``path`` written up to the checkpoint (epoch lines up to ``epoch``, the others
    up to ``step``).  A line cut by a kill (not JSON, or not UTF-8) or not a record of this log (not an
    object, an epoch line without its epoch) is dropped, never a reason to refuse the resume."""
    if not path.exists():
        return
    keep = []
    for raw in path.read_bytes().splitlines():
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(rec, dict):
            continue
        at = rec.get("epoch") if rec.get("type") == "epoch" else rec.get("step", 0)
        if isinstance(at, int) and at <= (epoch if rec.get("type") == "epoch" else step):
            keep.append(raw.decode("utf-8"))
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(x + "\n" for x in keep), encoding="utf-8")
    os.replace(tmp, path)
