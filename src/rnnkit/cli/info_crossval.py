"""``rnnkit info`` of a cross-validation run's folder (``train classifier --folds K``): no model of its own, but
its RUN/cross_validation.json says how the folds scored, which is what the folder is for."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORD = "cross_validation.json"  # written by rnnkit.cli.classify_folds (record_results, same_folds)


def cross_validation_record(folder: str) -> dict[str, Any] | None:
    """The record of a cross-validation folder that holds no single run's checkpoint (None otherwise, or when the
    record cannot be read: the usual "no checkpoint" answer then stands), with its fold models listed."""
    from rnnkit.checkpoint_files import fold_models
    from rnnkit.train.run_files import BEST, LAST

    run = Path(folder)
    if not run.is_dir() or any((run / name).exists() for name in (BEST, LAST)):
        return None
    try:
        record = json.loads((run / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("folds"), int):
        return None
    return {"kind": "cross-validation", "run_folder": str(run), **record,
            "models": [str(p) for p in fold_models(run)]}


def cross_validation_lines(record: dict[str, Any]) -> list[str]:
    """The info table of :func:`cross_validation_record`: the folds, each fold's scores, their mean and standard
    deviation (shown as training shows them: accuracy 50.82%, macro-F1 45.40), and where the fold models are."""
    from rnnkit.train.progress import format_metric

    k, models = record["folds"], record["models"]
    rows = [("run", f"{record['run_folder']}: a {k}-fold cross-validation (rnnkit train classifier --folds {k}"
                    f"{', --fold-seed ' + str(record['fold_seed']) if 'fold_seed' in record else ''})")]
    per_fold, mean, std = record.get("per_fold"), record.get("mean"), record.get("std")
    if isinstance(per_fold, list) and isinstance(mean, dict) and isinstance(std, dict):
        for name in mean:
            shown = ", ".join(format_metric(name, f[name]) for f in per_fold if isinstance(f, dict) and name in f)
            spread = format_metric(name, std.get(name, 0)).rstrip("%")  # as training says it: (std 1.29)
            rows.append((name, f"{format_metric(name, mean[name])} (std {spread}), mean of the folds' {shown}"))
    else:  # written when the run started, completed at its end
        rows.append(("results", f"none yet: the run has not finished; {fold_states(Path(record['run_folder']), k)}; "
                                "--resume with the same --folds continues it"))
    if models:
        rows.append(("models", f"{models[0]} to {models[-1]}" if len(models) > 1 else models[0]))
        rows.append(("", "one model a fold: give one of them to info, classify or export"))
    return [f"{label:<13} {text}".rstrip() for label, text in rows]


def fold_states(run: Path, k: int) -> str:
    """Which of an unfinished run's ``k`` folds have a model (fold<i>/best.safetensors), which were started
    (their folder, no model yet) and which not: "folds 1-2 of 5 have a model, fold 3 started without one, folds
    4-5 not started".  (The folds train in order, so only the last with a model may still be training.)"""
    from rnnkit.train.run_files import BEST

    states: dict[str, list[int]] = {"have a model": [], "started without one": [], "not started": []}
    for i in range(1, k + 1):
        fold = run / f"fold{i}"
        state = "have a model" if (fold / BEST).is_file() else "started without one" if fold.is_dir() else "not started"
        states[state].append(i)
    parts = []
    for state, folds in states.items():
        if folds:
            said = f"{'folds' if len(folds) > 1 else 'fold'} {_spans(folds)}"
            if not parts:
                said += f" of {k}"
            parts.append(f"{said} {state if len(folds) > 1 or state != 'have a model' else 'has a model'}")
    return ", ".join(parts)


def _spans(numbers: list[int]) -> str:
    """Ascending integers as runs: [1, 2, 3, 5] is "1-3, 5"."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
