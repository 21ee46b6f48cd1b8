"""The run's metrics log (``RUN/metrics.jsonl``, one JSON object a line) cut back to a checkpoint on
resume, so that the log of a resumed run equals an uninterrupted run's."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

from rnnkit.atomic import write_atomically


def truncate_metrics(path: Path, epoch: int, step: int) -> None:
    """Keep the lines of ``path`` written up to the checkpoint (epoch lines up to ``epoch``, the others
    up to ``step``).  A line cut by a kill (not JSON, or not UTF-8) or not a record of this log (not an
    object, an epoch line without its epoch) is dropped, never a reason to refuse the resume."""
    if not path.exists():
        return
    old = path.read_bytes()
    keep = []
    for raw in old.splitlines():
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(rec, dict):
            continue
        at = rec.get("epoch") if rec.get("type") == "epoch" else rec.get("step", 0)
        if isinstance(at, int) and at <= (epoch if rec.get("type") == "epoch" else step):
            keep.append(raw.decode("utf-8"))
    data = "".join(x + "\n" for x in keep).encode("utf-8")
    if data != old:  # a resume with nothing to cut (one with nothing to train) leaves the log as it was
        write_atomically(path, lambda f: f.write(data))  # a kill now leaves the old log or the new one
    with contextlib.suppress(OSError):
        path.with_suffix(".tmp").unlink()  # what earlier versions' kills left here
