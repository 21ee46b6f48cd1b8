"""Multi30k (task 1) translation benchmark: German->English and English->German on test_2016_flickr.

Training goes through the command line (``rnnkit train seq2seq``) one epoch per call with
``--resume``, so a wall-clock budget can stop the run between epochs; the resumed run is bit for bit
the uninterrupted ``--epochs N`` run (the trainer's checkpoints are exact).  The best checkpoint is
chosen by greedy BLEU on the whole validation set.  Then the test set is decoded greedily and with
a beam of 5, its length-penalty alpha chosen on the validation set, and scored with sacrebleu:
corpus BLEU, cased, detokenised output against the raw references (13a tokenisation), and chrF.

    nice python benchmarks/bench_multi30k.py --src de --tgt en [--budget-minutes 115] [--work runs/bench_multi30k]

Settings: raw text split into words and punctuation (``--level punct``, cased), words seen once
become <unk> (``--min-count 2``), bidirectional GRU encoder (128 per direction) and GRU decoder (256)
with general attention and input feeding, embeddings 256, dropout 0.3, Adam 1e-3 halved when
validation BLEU stalls, batches of 64 pairs bucketed by length, clip 5.  BLAS runs on one thread
(see rnnkit.cli.seq2seq).  The reference point: the PyTorch GRU-with-attention tutorial reaches
about 28 BLEU on this test set.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from rnnkit import checkpoint as ckpt
from rnnkit.cli.main import main as rnnkit_main
from rnnkit.data.parallel import multi30k_files, read_parallel
from rnnkit.metrics.translation import corpus_bleu, corpus_chrf
from rnnkit.seq2seq.io import load_translator
from rnnkit.seq2seq.translate import translate
from rnnkit.train.loop import BEST, LAST

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "multi30k"
MODEL_OPTIONS = ["--level", "punct", "--min-count", "2", "--max-length", "50", "--cell", "gru", "--embed", "256",
                 "--hidden", "256", "--attention", "general", "--dropout", "0.3", "--batch-size", "64",
                 "--lr", "0.001", "--clip", "5", "--schedule", "plateau", "--lr-decay", "0.5", "--patience", "3",
                 "--select-by", "bleu", "--bleu-sentences", "1014", "--progress", "lines", "--log-every", "100",
                 "--checkpoint-minutes", "10"]
ALPHAS = (0.0, 0.6, 1.0)


def train_command(data: Path, src: str, tgt: str, run: Path) -> list[str]:
    train = multi30k_files(data, "train", src, tgt)
    valid = multi30k_files(data, "val", src, tgt)
    return ["train", "seq2seq", "--train", *map(str, train), "--valid", *map(str, valid), *MODEL_OPTIONS,
            "--run-dir", str(run)]


def train_with_budget(argv: list[str], run: Path, epochs: int, budget: float, resume: bool = False) -> dict:
    """Train one epoch per call until ``epochs``, early stopping, or the next epoch would pass ``budget`` s;
    ``resume`` continues the run in ``run`` after its last finished epoch."""
    t0 = time.monotonic()
    epoch_times = []
    done = ckpt.load_checkpoint(run / LAST)[1]["loop"]["epoch"] if resume else 0
    for epoch in range(done + 1, epochs + 1):
        start = time.monotonic()
        code = rnnkit_main(argv + ["--epochs", str(epoch)] + (["--resume"] if epoch > 1 else []))
        if code != 0:
            raise SystemExit(f"training failed with exit code {code}")
        epoch_times.append(time.monotonic() - start)
        _, meta = ckpt.load_checkpoint(run / LAST)
        done = meta["loop"]["epoch"]
        if meta["loop"]["stopped_early"]:
            break
        elapsed = time.monotonic() - t0
        if elapsed + max(epoch_times) > budget:
            print(f"budget: stopping after epoch {done} ({elapsed / 60:.1f} of {budget / 60:.0f} minutes)",
                  file=sys.stderr)
            break
    _, meta = ckpt.load_checkpoint(run / LAST)
    history = meta["loop"]["history"]
    return {"epochs": done, "seconds": time.monotonic() - t0, "epoch_seconds": epoch_times,
            "stopped_early": meta["loop"]["stopped_early"], "history": history}


def score(translator, pairs, beam: int, alpha: float) -> dict:
    t0 = time.perf_counter()
    out = translate(translator, [p.source_text for p in pairs], beam_size=beam, length_norm=alpha, batch_size=64)
    seconds = time.perf_counter() - t0
    hyps = [t[0].text for t in out]
    refs = [p.target_text for p in pairs]
    bleu = corpus_bleu(hyps, refs)
    return {"beam": beam, "alpha": alpha, "bleu": bleu.score, "chrf": corpus_chrf(hyps, refs).score,
            "signature": bleu.signature, "seconds": seconds, "hypotheses": hyps}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", choices=["de", "en", "fr"], default="de")
    p.add_argument("--tgt", choices=["de", "en", "fr"], default="en")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of Multi30k's task1 raw .gz files")
    p.add_argument("--work", type=Path, default=Path("runs/bench_multi30k"), help="runs and outputs go here")
    p.add_argument("--epochs", type=int, default=30, help="most epochs")
    p.add_argument("--budget-minutes", type=float, default=115.0, help="wall-clock budget for training")
    p.add_argument("--skip-training", action="store_true", help="score the existing run's best checkpoint")
    p.add_argument("--resume", action="store_true", help="continue the existing run (with a larger --epochs)")
    args = p.parse_args()
    run = args.work / f"{args.src}-{args.tgt}"
    argv = train_command(args.data, args.src, args.tgt, run)
    print("training command (one epoch per call, --resume after the first):\n  rnnkit "
          + shlex.join(argv) + " --epochs N", file=sys.stderr)
    result: dict = {"pair": f"{args.src}-{args.tgt}", "command": "rnnkit " + shlex.join(argv),
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if not args.skip_training:
        result["training"] = train_with_budget(argv, run, args.epochs, 60 * args.budget_minutes, args.resume)
    with threadpool_limits(limits=1, user_api="blas"):
        translator = load_translator(run / BEST)
        valid = read_parallel(*multi30k_files(args.data, "val", args.src, args.tgt),
                              translator.source_tokenizer, translator.target_tokenizer)
        test = read_parallel(*multi30k_files(args.data, "test_2016_flickr", args.src, args.tgt),
                             translator.source_tokenizer, translator.target_tokenizer)
        result["target_tokens_test"] = sum(len(p.target) + 1 for p in test)
        valid_beam = [score(translator, valid, 5, a) for a in ALPHAS]
        for s in valid_beam:
            print(f"valid beam 5 alpha {s['alpha']}: BLEU {s['bleu']:.2f} ({s['seconds']:.0f} s)", file=sys.stderr)
        alpha = max(valid_beam, key=lambda s: s["bleu"])["alpha"]
        test_greedy = score(translator, test, 1, 0.0)
        test_beam = [score(translator, test, 5, a) for a in ALPHAS]
    result["valid_beam"] = [{k: v for k, v in s.items() if k != "hypotheses"} for s in valid_beam]
    result["alpha"] = alpha
    result["test_greedy"] = {k: v for k, v in test_greedy.items() if k != "hypotheses"}
    result["test_beam"] = [{k: v for k, v in s.items() if k != "hypotheses"} for s in test_beam]
    chosen = next(s for s in test_beam if s["alpha"] == alpha)
    (run / "test_greedy.txt").write_text("".join(h + "\n" for h in test_greedy["hypotheses"]), encoding="utf-8")
    (run / "test_beam5.txt").write_text("".join(h + "\n" for h in chosen["hypotheses"]), encoding="utf-8")
    (run / "results.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"{args.src}->{args.tgt} test_2016_flickr: greedy BLEU {test_greedy['bleu']:.2f} "
          f"(chrF {test_greedy['chrf']:.2f}, {test_greedy['seconds']:.0f} s); beam 5 alpha {alpha} "
          f"(chosen on valid) BLEU {chosen['bleu']:.2f} (chrF {chosen['chrf']:.2f}, {chosen['seconds']:.0f} s); "
          f"{chosen['signature']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
