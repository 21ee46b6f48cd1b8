"""Stanford Sentiment Treebank: root accuracy of recursive networks, fine-grained (5 classes) or binary.

The canonical splits (8,544 / 1,101 / 2,210 trees; SST-2 keeps the 6,920 / 872 / 1,821 with a
non-neutral root), every node's label trained, the epoch with the best validation root accuracy
kept, then the test set scored once.  Runs ``rnnkit train tree`` in this process on one BLAS thread
(the per-height products are small).  Model options after the script's own go to ``rnnkit train tree``:

    nice python benchmarks/bench_sst.py [--data ../shared/data] [--classes 5] [--epochs 15] [--cell lstm] ...
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
# test root accuracy (%), Socher et al. 2013 (RNN, RNTN; word vectors learned from scratch) and
# Tai et al. 2015 (constituency Tree-LSTM, GloVe 300d vectors tuned in training)
PUBLISHED = {5: "RNN 43.2, RNTN 45.7, Tree-LSTM 51.0", 2: "RNN 82.4, RNTN 85.4, Tree-LSTM 88.0"}
SECTION = "Stanford Sentiment Treebank (bench_sst.py)"
INTRO = """\
Recursive networks over SST's binarised parse trees (Socher et al. 2013): every phrase is labelled
0-4, the model is trained on every node, validated on the dev set's root accuracy (the best epoch is
kept) and scored once on the test set.  Test root accuracy, published: fine-grained (5 classes)
RNN 43.2, RNTN 45.7 (Socher et al. 2013, word vectors learned from scratch), constituency
Tree-LSTM 51.0 with GloVe 300d vectors (Tai et al. 2015); binary (SST-2, neutral trees left out)
RNN 82.4, RNTN 85.4, Tree-LSTM 88.0.  rnnkit's word vectors are learned from scratch here."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data folder (default: {DEFAULT_DATA})")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_sst"), help="run directory")
    parser.add_argument("--classes", type=int, choices=[5, 2], default=5, help="5: fine-grained; 2: SST-2")
    parser.add_argument("--epochs", type=int, default=15, help="epochs (the best one on dev is kept)")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--label", default=None, help="subsection title in RESULTS.md")
    args, model_options = parser.parse_known_args(argv)
    sst = args.data / "sst_trees"
    cmd = ["train", "tree", "--train", str(sst / "train.txt"), "--valid", str(sst / "dev.txt"),
           "--test", str(sst / "test.txt"), "--classes", str(args.classes), "--epochs", str(args.epochs),
           "--run-dir", str(args.work), "--progress", "lines", "--log-every", "1000", *model_options]
    code, output, date, load0, wall = run_cli_one_thread(cmd)
    if code != 0:
        return code
    found = re.search(r"test: root accuracy ([\d.]+)% over ([\d,]+) trees, all-node accuracy ([\d.]+)%",
                      output)
    root, n_trees, nodes = float(found.group(1)), found.group(2), float(found.group(3))
    rows = [json.loads(line) for line in (args.work / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in rows if r["type"] == "epoch"]
    best = max(epochs, key=lambda r: r["valid_root_accuracy"])
    print(f"SST-{args.classes} test root accuracy {root:.2f}% (dev best {100 * best['valid_root_accuracy']:.2f}% "
          f"at epoch {best['epoch']}); wall time {fmt_time(wall)}")
    if not args.no_record:
        table = ["| epoch | train loss | dev root accuracy % | dev all-node accuracy % | epoch ends at |",
                 "|---|---|---|---|---|"]
        at = 0.0
        for r in epochs:
            at += r["train_seconds"] + r["valid_seconds"]
            table.append(f"| {r['epoch']} | {r['train_loss']:.4f} | {100 * r['valid_root_accuracy']:.2f} | "
                         f"{100 * r['valid_node_accuracy']:.2f} | {fmt_time(at)} |")
        body = "\n".join([
            f"{date}; from {Path.cwd()}; wall time {fmt_time(wall)} (one BLAS thread):", "",
            f"    {this_command()}", "", "which ran:", "", f"    rnnkit {shlex.join(cmd)}", "",
            f"Load before: {load0}; after: {machine_load()}.", "", *table, "",
            f"**Test root accuracy {root:.2f}%** over {n_trees} trees (the dev-best epoch, {best['epoch']}: dev "
            f"{100 * best['valid_root_accuracy']:.2f}%); all-node accuracy {nodes:.2f}%.  Published: "
            f"{PUBLISHED[args.classes]}."])
        write_subsection(SECTION, INTRO, args.label or f"SST-{args.classes}, {shlex.join(model_options) or 'defaults'}",
                         body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
