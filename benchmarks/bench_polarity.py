"""Sentence polarity dataset v1.0 (Pang & Lee 2005): 10-fold cross-validation accuracy.

The standard protocol for rt-polarity (MR): 10 folds, no official split.  The run goes through
``rnnkit train classifier --format polarity --folds 10`` (stratified folds from --fold-seed; in
each fold 10% of the training part is held out to pick the best epoch, then the held-out test fold
is scored).  Target: >= 77% mean accuracy (Kim 2014, CNN with random embeddings: 76.1%).

    nice python benchmarks/bench_polarity.py [--data ../shared/data] [--work runs/bench_polarity]

BLAS runs on one thread: the recurrent loops multiply small matrices, where extra threads only
contend for the two shared cores.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from rnnkit.cli.main import main as rnnkit_main

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TARGET = 77.0


class _Tee(io.TextIOBase):
    """Write to the real stdout and keep a copy, to read the final line back."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, s: str) -> int:
        self.stream.write(s)
        self.stream.flush()
        return self.copy.write(s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data folder (default: {DEFAULT_DATA})")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_polarity"), help="run directories")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per fold (the best one on validation is kept)")
    parser.add_argument("--folds", type=int, default=10, help="cross-validation folds")
    args, model_options = parser.parse_known_args(argv)
    rt = args.data / "rt_polarity"
    options = model_options or ["--cell", "lstm", "--embed", "128", "--hidden", "128", "--pooling", "max",
                                "--dropout", "0.5", "--lr", "0.001", "--batch-size", "32"]
    cmd = ["train", "classifier", "--format", "polarity", "--pos", str(rt / "rt-polarity.pos"),
           "--neg", str(rt / "rt-polarity.neg"), "--encoding", "cp1252", "--folds", str(args.folds),
           "--epochs", str(args.epochs), "--run-dir", str(args.work), "--progress", "none", *options]
    print(f"$ rnnkit {shlex.join(cmd)}", flush=True)
    tee = _Tee(sys.stdout)
    t0 = time.perf_counter()
    with threadpool_limits(1), contextlib.redirect_stdout(tee):
        code = rnnkit_main(cmd)
    wall = time.perf_counter() - t0
    if code != 0:
        return code
    found = re.search(r"cross-validation: accuracy ([\d.]+)% \(std ([\d.]+)\)", tee.copy.getvalue())
    acc, std = float(found.group(1)), float(found.group(2))
    gap = acc - TARGET
    print(f"polarity {args.folds}-fold CV accuracy {acc:.2f}% (std {std:.2f}); wall time {wall / 60:.1f} min; "
          f"target {TARGET}: {'met' if gap >= 0 else 'MISSED'} ({gap:+.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
