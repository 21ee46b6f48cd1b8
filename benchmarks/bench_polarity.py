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
import json
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lm_common import fmt_time, machine_load, run_cli_one_thread, this_command, write_subsection  # noqa: E402,E501


DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TARGET = 77.0
SECTION = "Sentence polarity v1.0, 10-fold cross-validation (bench_polarity.py)"
INTRO = """\
rt-polarity (Pang & Lee 2005): 5,331 positive and 5,331 negative snippets, no official split, so
10-fold cross-validation (stratified folds; in each fold 10% of the training part is held out to
pick the best epoch).  Embeddings learn from the training folds alone.  Target: >= 77% (Kim 2014,
CNN with random embeddings: 76.1%; with word2vec: 81.5%)."""


def inner_validation(work: Path, folds: int) -> float:
    """Mean over folds of the best epoch's validation accuracy (the 10% held out of each training part)."""
    best = []
    for k in range(1, folds + 1):
        rows = [json.loads(line) for line in (work / f"fold{k}" / "metrics.jsonl").read_text().splitlines()]
        best.append(max(r["valid_accuracy"] for r in rows if r["type"] == "epoch"))
    return 100 * sum(best) / len(best)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data folder (default: {DEFAULT_DATA})")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_polarity"), help="run directories")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per fold (the best one on validation is kept)")
    parser.add_argument("--folds", type=int, default=10, help="cross-validation folds")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--label", default=None, help="subsection title in RESULTS.md (default: folds and epochs)")
    args, model_options = parser.parse_known_args(argv)
    rt = args.data / "rt_polarity"
    options = model_options or ["--cell", "lstm", "--embed", "128", "--hidden", "128", "--pooling", "max",
                                "--dropout", "0.5", "--lr", "0.001", "--batch-size", "32"]
    cmd = ["train", "classifier", "--format", "polarity", "--pos", str(rt / "rt-polarity.pos"),
           "--neg", str(rt / "rt-polarity.neg"), "--encoding", "cp1252", "--folds", str(args.folds),
           "--epochs", str(args.epochs), "--run-dir", str(args.work), "--progress", "none", *options]
    code, output, date, load0, wall = run_cli_one_thread(cmd)
    if code != 0:
        return code
    found = re.search(r"cross-validation: accuracy ([\d.]+)% \(std ([\d.]+)\)", output)
    acc, std = float(found.group(1)), float(found.group(2))
    gap = acc - TARGET
    print(f"polarity {args.folds}-fold CV accuracy {acc:.2f}% (std {std:.2f}); wall time {wall / 60:.1f} min; "
          f"target {TARGET}: {'met' if gap >= 0 else 'MISSED'} ({gap:+.2f})")
    inner = inner_validation(args.work, args.folds)
    print(f"mean best inner-validation accuracy {inner:.2f}% (the criterion for choosing between settings)")
    if not args.no_record:
        folds = re.findall(r"fold (\d+)/\d+: accuracy ([\d.]+)%", output)
        body = "\n".join([
            f"{date}; from {Path.cwd()}; wall time {fmt_time(wall)}:", "",
            f"    {this_command()}", "", "which ran:", "", f"    rnnkit {shlex.join(cmd)}", "",
            f"Load before: {load0}; after: {machine_load()}.", "",
            "| fold | " + " | ".join(f for f, _ in folds) + " |", "|---|" + "---|" * len(folds),
            "| accuracy % | " + " | ".join(a for _, a in folds) + " |", "",
            f"**Mean accuracy {acc:.2f}%** (std {std:.2f} over folds); target {TARGET}: "
            f"**{'met' if gap >= 0 else 'missed'}** ({gap:+.2f}).  Mean over folds of the best epoch's accuracy "
            f"on the held-out 10% of the training part (used to compare settings, never the test folds): "
            f"{inner:.2f}%."])
        write_subsection(SECTION, INTRO, args.label or f"{args.folds} folds, {args.epochs} epochs per fold", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
