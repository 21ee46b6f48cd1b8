"""The earlier run in a run folder that a new run (without ``--resume``) starts in.

Its checkpoints and metrics log must not pass for the new run's (a run without validation never
writes ``best.safetensors``, so an old one would be taken for its model, and ``--resume`` would
continue the old ``last.safetensors``).  They used to be deleted as the new run started, so a new run
that failed at once -- a typo in ``--lr`` that blows the loss up at step 2, Ctrl-C in the first
minutes -- had already destroyed a trained model.  Now they are only set aside, under hidden names
(``.best.safetensors.earlier``), until the new run writes its first checkpoint, and deleted then; a
new run that ends without one puts them back.

A run killed outright (SIGKILL, a power cut) before its first checkpoint leaves them set aside; the
next new run in the folder takes those as the earlier run's (there is no newer checkpoint), and
``--resume`` says where they are.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

SUFFIX = ".earlier"


def aside(path: Path) -> Path:
    """Where ``path`` is kept while it is set aside: ``RUN/.NAME.earlier``."""
    return path.with_name(f".{path.name}{SUFFIX}")


def resume_hint(last: Path, others: tuple[str, ...] = ("best.safetensors", "metrics.jsonl")) -> str:
    """What ``--resume`` without ``last`` says of a last checkpoint set aside there, or "": every file of the
    earlier run that is set aside (its best checkpoint and log too), each to be renamed back."""
    if not aside(last).exists():
        return ""
    kept = [last] + [last.with_name(n) for n in others if aside(last.with_name(n)).exists()]
    moves = ", ".join(f"{aside(p).name} to {p.name}" for p in kept)
    return (f" (the earlier run's files are set aside in {last.parent}, a new run there having stopped before its "
            f"first checkpoint: rename {moves} to resume that run)")


def replaced_note(run_dir: Path, names: tuple[str, ...]) -> str | None:
    """What a new run that writes ``names`` itself, outside the checkpoints (a demo's data files and HMM),
    says of those an earlier run left in ``run_dir``, as the new run's note on its checkpoints does; None
    when there are none."""
    found = [name for name in names if (run_dir / name).exists()]
    if not found:
        return None
    listed = ", ".join(found[:-1]) + (" and " if len(found) > 1 else "") + found[-1]
    return f"new run in {run_dir}: the earlier run's {listed} {'are' if len(found) > 1 else 'is'} replaced now"


class EarlierRun:
    """``names`` (the metrics log first, then the checkpoints) of ``run_dir``, set aside by :meth:`set_aside`,
    then either dropped (:meth:`drop`, the new run has saved) or put back (:meth:`restore`, it has not)."""

    def __init__(self, run_dir: Path, names: tuple[str, ...]) -> None:
        self.run_dir = run_dir
        self.names = names
        self.kept: list[str] = []  # names set aside, of files that were there

    def set_aside(self) -> list[str]:
        """Move the earlier run's files aside; the names moved.  Files a killed run left aside stay the
        earlier run's: beside them, that run's own log (it wrote no checkpoint) is dropped, and a newer
        checkpoint (written just before the kill) replaces the older one set aside."""
        log, checkpoints = self.names[0], self.names[1:]
        killed = any(aside(self.run_dir / n).exists() for n in self.names) and not any(
            (self.run_dir / n).exists() for n in checkpoints)
        if killed:
            with contextlib.suppress(FileNotFoundError):
                (self.run_dir / log).unlink()
        for name in self.names:
            path, hidden = self.run_dir / name, aside(self.run_dir / name)
            if path.exists():
                os.replace(path, hidden)  # a newer one replaces an older one set aside
            if hidden.exists():
                self.kept.append(name)
        return list(self.kept)

    def drop(self) -> None:
        """The new run has a checkpoint of its own: the earlier run's files go."""
        for name in self.kept:
            with contextlib.suppress(FileNotFoundError):
                aside(self.run_dir / name).unlink()
        self.kept = []

    def restore(self) -> list[str]:
        """The new run ends without a checkpoint: the earlier run's files take their places again (this
        run's metrics log, if it began one, is replaced); the names restored."""
        if not self.kept:  # no earlier run: this run's files (a metrics log) stay, to be read
            return []
        restored = []
        for name in self.kept:
            hidden = aside(self.run_dir / name)
            if hidden.exists():
                os.replace(hidden, self.run_dir / name)
                restored.append(name)
        for name in self.names:  # this run's own files of those names, where the earlier run had none
            if name not in restored:
                with contextlib.suppress(FileNotFoundError):
                    (self.run_dir / name).unlink()
        self.kept = []
        return restored
