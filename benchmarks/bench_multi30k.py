"""Multi30k (task 1) translation benchmark: German->English and English->German on test_2016_flickr.

Training goes through the command line (``rnnkit train seq2seq``) one epoch per call with
``--resume``, so a wall-clock budget can stop the run between epochs; the resumed run is bit for bit
the uninterrupted ``--epochs N`` run (the trainer's checkpoints are exact).  The best checkpoint is
chosen by greedy BLEU on the whole validation set.  Then the test set is decoded greedily and with
a beam of 5, its length-penalty alpha (and whether to replace each output <unk> by the most attended
source word) chosen on the validation set, and scored with sacrebleu:
corpus BLEU, cased, detokenised output against the raw references (13a tokenisation), and chrF.

    nice python benchmarks/bench_multi30k.py --src de --tgt en [--budget-minutes 115] [--work runs/bench_multi30k]

``--level bpe`` trains on SentencePiece BPE pieces (8000 per side, learned on each side's training text) instead
of punct's words, and records its own subsection.  ``--copy`` trains with copy attention (the pointer-generator,
``rnnkit train seq2seq --copy``), everything else the same, in its own run folder and subsection.

Settings: raw text split into words and punctuation (``--level punct``, cased), words seen once
become <unk> (``--min-count 2``), bidirectional GRU encoder (128 per direction) and GRU decoder (256)
with general attention and input feeding, embeddings 256, dropout 0.3, Adam 1e-3 halved when
validation BLEU stalls, batches of 64 pairs bucketed by length, clip 5.  BLAS runs on one thread
(see rnnkit.cli.seq2seq).  The reference point, not measured alike: B. Trevett's PyTorch Seq2Seq tutorial 4
(GRU with attention; github.com/bentrevett/pytorch-seq2seq, legacy/4 - Packed Padded Sequences, Masking, Inference
and BLEU.ipynb) prints BLEU 28.11 on this test set, greedy, from torchtext's bleu_score on lowercased spaCy tokens,
not sacrebleu's cased BLEU on detokenised text.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lm_common import PROGRESS_RE, fmt_time, machine_load, this_command, write_subsection  # noqa: E402

from rnnkit import checkpoint as ckpt  # noqa: E402
from rnnkit.cli.main import main as rnnkit_main  # noqa: E402
from rnnkit.data.parallel import multi30k_files, read_parallel  # noqa: E402
from rnnkit.metrics.translation import corpus_bleu, corpus_chrf  # noqa: E402
from rnnkit.seq2seq.io import load_translator  # noqa: E402
from rnnkit.seq2seq.translate import replace_unknowns, translate  # noqa: E402
from rnnkit.train.loop import BEST, LAST  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "multi30k"
MODEL_OPTIONS = ["--max-length", "50", "--cell", "gru", "--embed", "256",
                 "--hidden", "256", "--attention", "general", "--dropout", "0.3", "--batch-size", "64",
                 "--lr", "0.001", "--clip", "5", "--schedule", "plateau", "--lr-decay", "0.5", "--patience", "3",
                 "--select-by", "bleu", "--bleu-sentences", "1014", "--progress", "lines", "--log-every", "100",
                 "--checkpoint-minutes", "10"]
ALPHAS = (0.0, 0.6, 1.0)


# --level bpe: SentencePiece BPE pieces, 8000 per side (Sennrich et al. 2016), in place of punct's words seen twice
LEVEL_OPTIONS = {"punct": ["--level", "punct", "--min-count", "2"], "bpe": ["--level", "bpe", "--bpe-vocab", "8000"]}


def train_command(data: Path, src: str, tgt: str, run: Path, level: str = "punct", copy: bool = False) -> list[str]:
    """The ``rnnkit train seq2seq`` arguments (``--copy`` for copy attention) without ``--epochs``."""
    train = multi30k_files(data, "train", src, tgt)
    valid = multi30k_files(data, "val", src, tgt)
    return ["train", "seq2seq", "--train", *map(str, train), "--valid", *map(str, valid), *LEVEL_OPTIONS[level],
            *MODEL_OPTIONS, *(["--copy"] if copy else []),
            "--run-dir", str(run)]


def train_with_budget(argv: list[str], run: Path, epochs: int, budget: float, resume: bool = False,
                      epoch_estimate: float | None = None) -> dict:
    """Train one epoch per call until ``epochs``, early stopping, or until the next epoch would end past
    ``budget`` seconds (judged by the last epoch's time, or ``epoch_estimate`` before the first one);
    ``resume`` continues the run in ``run`` after its last finished epoch."""
    t0 = time.monotonic()
    epoch_times: list[float] = []
    done = ckpt.load_checkpoint(run / LAST)[1]["loop"]["epoch"] if resume else 0
    for epoch in range(done + 1, epochs + 1):
        elapsed = time.monotonic() - t0
        expected = epoch_times[-1] if epoch_times else (epoch_estimate or 0.0)
        if elapsed + expected > budget:
            print(f"budget: stopping after epoch {done} ({elapsed / 60:.1f} of {budget / 60:.0f} minutes)",
                  file=sys.stderr)
            break
        start = time.monotonic()
        code = rnnkit_main(argv + ["--epochs", str(epoch)] + (["--resume"] if epoch > 1 else []))
        if code != 0:
            raise SystemExit(f"training failed with exit code {code}")
        epoch_times.append(time.monotonic() - start)
        _, meta = ckpt.load_checkpoint(run / LAST)
        done = meta["loop"]["epoch"]
        if meta["loop"]["stopped_early"]:
            break
    _, meta = ckpt.load_checkpoint(run / LAST)
    history = meta["loop"]["history"]
    return {"epochs": done, "seconds": time.monotonic() - t0, "epoch_seconds": epoch_times,
            "stopped_early": meta["loop"]["stopped_early"], "history": history}


def decode(translator, pairs, beam: int, alpha: float) -> dict:
    """Translations of the sources (best of the beam), plain and with <unk> replaced, and decoding time."""
    sources = [p.source_text for p in pairs]
    t0 = time.perf_counter()
    out = [t[0] for t in translate(translator, sources, beam_size=beam, length_norm=alpha, batch_size=64)]
    seconds = time.perf_counter() - t0
    replaced = [replace_unknowns(translator, s, t).text for s, t in zip(sources, out)]
    return {"beam": beam, "alpha": alpha, "seconds": seconds, "plain": [t.text for t in out], "replaced": replaced}


def scores(d: dict, pairs) -> dict:
    """BLEU and chrF of both versions of a decoding (``d`` from :func:`decode`)."""
    refs = [p.target_text for p in pairs]
    out = {"beam": d["beam"], "alpha": d["alpha"], "seconds": d["seconds"]}
    for version in ("plain", "replaced"):
        bleu = corpus_bleu(d[version], refs)
        out[version] = {"bleu": bleu.score, "chrf": corpus_chrf(d[version], refs).score}
        out["signature"] = bleu.signature
    return out


SECTION = "Multi30k translation (bench_multi30k.py)"
INTRO = """\
Multi30k task 1, test_2016_flickr (1,000 sentences), sacrebleu corpus BLEU (cased, detokenised
output against the raw references, 13a) and chrF.  Training on the 29,000 training pairs at most
2 hours on this machine; the best epoch by greedy BLEU on the whole validation set (1,014) is kept;
beam 5 with the length penalty (and <unk> replacement) chosen on the validation set.  Reference
point, not measured alike: B. Trevett's PyTorch Seq2Seq tutorial 4 (bidirectional GRU encoder, GRU decoder with
additive attention; https://github.com/bentrevett/pytorch-seq2seq/blob/4574589a428f84bec7ffd71e7579af5815a67cbf/legacy/4%20-%20Packed%20Padded%20Sequences%2C%20Masking%2C%20Inference%20and%20BLEU.ipynb)
prints BLEU 28.11 on this test set, greedy, from torchtext's `bleu_score` on lowercased spaCy tokens (so case
errors cost nothing there, and its tokens are not 13a's): a different measure from the cased, detokenised
sacrebleu BLEU here, so the two numbers are not a like-for-like comparison."""
TARGETS = {"de-en": 30.0}


def progress_rates(log: Path) -> list[float]:
    """The last tokens/s figure of each training epoch in a bench log (rnnkit's progress lines)."""
    last: dict[int, float] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        m = PROGRESS_RE.match(line.strip())
        if m:
            last[int(m.group(1))] = float(m.group(3).replace(",", ""))
    return [last[k] for k in sorted(last)]


def report(result: dict, log: Path | None = None) -> str:
    """The RESULTS.md text of a run (``result`` as in results.json)."""
    tr = result["training"]
    history = tr.get("history", [])
    tokens = result.get("train_target_tokens")
    rates = [tokens / h["train_seconds"] for h in history if tokens and h.get("train_seconds")]
    if not rates and log is not None and log.exists():
        rates = progress_rates(log)
    chosen = result["chosen"]
    version = chosen["version"]
    g, b = result["test_greedy"], result["test_beam"]
    seconds = tr.get("seconds")
    if seconds is None and history and all("train_seconds" in h for h in history):
        # scored with --skip-training: the epochs' own times (training and validation, start-up excluded)
        seconds = sum(h["train_seconds"] + h["valid_seconds"] for h in history)
    lines = [f"{result['date']}; training wall time {fmt_time(seconds) if seconds is not None else '?'} over "
             f"{tr['epochs']} epochs{' (stopped early)' if tr.get('stopped_early') else ''}; from {result.get('cwd', '?')}:",
             "", f"    {result.get('bench_command', 'python benchmarks/bench_multi30k.py')}", "",
             "which trains, one epoch per call (``--epochs N --resume``):", "", f"    {result['command']} --epochs N", ""]
    if result.get("note"):
        lines += [result["note"], ""]
    if result.get("load0"):
        lines += [f"Load before: {result['load0']}; after: {result.get('load1', '?')}.", ""]
    lines += ["| epoch | lr | train loss | valid ppl | valid BLEU (greedy) | epoch wall s |", "|---|---|---|---|---|---|"]
    secs = tr.get("epoch_seconds") or [h.get("train_seconds", float("nan")) + h.get("valid_seconds", float("nan"))
                                       for h in history]
    for i, h in enumerate(history):
        wall = secs[i] if i < len(secs) else float("nan")
        lines.append(f"| {h['epoch']} | {h['lr']:.3g} | {h['train_loss']:.3f} | {h.get('valid_ppl', float('nan')):.2f} "
                     f"| {h.get('valid_bleu', float('nan')):.2f}{' (best)' if h.get('best') else ''} | {wall:.0f} |")
    lines.append("")
    if rates:
        lines.append(f"Training speed: {sorted(rates)[len(rates) // 2]:,.0f} target tokens/s (median over epochs; "
                     f"{min(rates):,.0f}-{max(rates):,.0f}).")
    lines.append("")
    lines += ["| decoding (test_2016_flickr) | BLEU | chrF | BLEU, <unk> replaced | chrF, <unk> replaced | seconds |",
              "|---|---|---|---|---|---|"]
    for name, d in (("greedy", g), (f"beam 5, alpha {b['alpha']}", b)):
        lines.append(f"| {name} | {d['plain']['bleu']:.2f} | {d['plain']['chrf']:.2f} | {d['replaced']['bleu']:.2f} "
                     f"| {d['replaced']['chrf']:.2f} | {d['seconds']:.0f} |")
    vb = ", ".join(f"alpha {s['alpha']}: {s['plain']['bleu']:.2f} / {s['replaced']['bleu']:.2f}"
                   for s in result["valid_beam"])
    lines += ["", f"Validation BLEU, beam 5 (plain / <unk> replaced): {vb}; chosen: alpha {chosen['alpha']}, "
              f"{'<unk> replaced' if version == 'replaced' else 'plain'}.", f"sacrebleu signature: {b['signature']}.", ""]
    final = b[version]["bleu"]
    lines.append(f"**Test BLEU, beam 5 (chosen on valid): {final:.2f}**; greedy {g[version]['bleu']:.2f}.")
    target = TARGETS.get(result["pair"])
    if target is not None:
        lines.append(f"Target >= {target}: **{'met' if final >= target else 'missed'}** ({final - target:+.2f}).")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", choices=["de", "en", "fr"], default="de")
    p.add_argument("--tgt", choices=["de", "en", "fr"], default="en")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="the Multi30k folder, or the shared data folder that holds it (as the other benchmarks' "
                        "--data)")
    p.add_argument("--work", type=Path, default=Path("runs/bench_multi30k"), help="runs and outputs go here")
    p.add_argument("--epochs", type=int, default=30, help="most epochs")
    p.add_argument("--level", choices=sorted(LEVEL_OPTIONS), default="punct",
                   help="tokens: words and punctuation (words seen once are <unk>), or BPE pieces (sentencepiece)")
    p.add_argument("--copy", action="store_true",
                   help="copy attention (train seq2seq --copy, the pointer-generator); own run folder and subsection")
    p.add_argument("--budget-minutes", type=float, default=115.0, help="wall-clock budget for training")
    p.add_argument("--skip-training", action="store_true", help="score the existing run's best checkpoint")
    p.add_argument("--resume", action="store_true", help="continue the existing run (with a larger --epochs)")
    p.add_argument("--report-only", action="store_true",
                   help="write the RESULTS.md subsection from the run's results.json (no training, no decoding)")
    p.add_argument("--log", type=Path, default=None, help="with --report-only: the run's log, for tokens/s")
    p.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    p.add_argument("--epoch-minutes", type=float, default=None,
                   help="with --resume: expected minutes of one epoch, to respect the budget from the start")
    args = p.parse_args()
    if (args.data / "multi30k").is_dir():  # ../shared/data, as every other benchmark takes it
        args.data = args.data / "multi30k"
    suffix = ("-bpe" if args.level == "bpe" else "") + ("-copy" if args.copy else "")
    run = args.work / f"{args.src}-{args.tgt}{suffix}"
    title = (f"{args.src} -> {args.tgt}" + (", BPE (--level bpe, 8000 pieces per side)" if args.level == "bpe" else "")
             + (", copy attention (--copy)" if args.copy else ""))
    if args.report_only:
        result = json.loads((run / "results.json").read_text(encoding="utf-8"))
        write_subsection(SECTION, INTRO, title, report(result, args.log))
        return 0
    argv = train_command(args.data, args.src, args.tgt, run, args.level, args.copy)
    print("training command (one epoch per call, --resume after the first):\n  rnnkit "
          + shlex.join(argv) + " --epochs N", file=sys.stderr)
    result: dict = {"pair": f"{args.src}-{args.tgt}", "command": "rnnkit " + shlex.join(argv),
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cwd": str(Path.cwd()),
                    "bench_command": this_command(), "load0": machine_load()}
    if args.skip_training:
        loop = ckpt.load_checkpoint(run / LAST)[1]["loop"]
        result["training"] = {"epochs": loop["epoch"], "history": loop["history"]}
    else:
        estimate = None if args.epoch_minutes is None else 60 * args.epoch_minutes
        result["training"] = train_with_budget(argv, run, args.epochs, 60 * args.budget_minutes, args.resume,
                                               estimate)
    with threadpool_limits(limits=1, user_api="blas"):
        translator = load_translator(run / BEST)
        valid = read_parallel(*multi30k_files(args.data, "val", args.src, args.tgt),
                              translator.source_tokenizer, translator.target_tokenizer)
        test = read_parallel(*multi30k_files(args.data, "test_2016_flickr", args.src, args.tgt),
                             translator.source_tokenizer, translator.target_tokenizer)
        result["target_tokens_test"] = sum(len(p.target) + 1 for p in test)
        train = read_parallel(*multi30k_files(args.data, "train", args.src, args.tgt),
                              translator.source_tokenizer, translator.target_tokenizer)
        max_len = int(MODEL_OPTIONS[MODEL_OPTIONS.index("--max-length") + 1])  # longer pairs are not trained on
        result["train_target_tokens"] = sum(len(p.target) + 1 for p in train
                                            if len(p.source) <= max_len and len(p.target) <= max_len)
        # the beam's length penalty and <unk> replacement are chosen on the validation set
        valid_runs = [scores(decode(translator, valid, 5, a), valid) for a in ALPHAS]
        options = [(s[v]["bleu"], s["alpha"], v) for s in valid_runs for v in ("plain", "replaced")]
        _, alpha, version = max(options)
        for s in valid_runs:
            print(f"valid beam 5 alpha {s['alpha']}: BLEU {s['plain']['bleu']:.2f}, <unk> replaced "
                  f"{s['replaced']['bleu']:.2f} ({s['seconds']:.0f} s)", file=sys.stderr)
        greedy = decode(translator, test, 1, 0.0)
        beam = decode(translator, test, 5, alpha)
    result["valid_beam"] = valid_runs
    result["chosen"] = {"alpha": alpha, "version": version}
    result["test_greedy"] = scores(greedy, test)
    result["test_beam"] = scores(beam, test)
    for name, d in (("greedy", greedy), ("beam5", beam)):
        (run / f"test_{name}.txt").write_text("".join(h + "\n" for h in d[version]), encoding="utf-8")
    result["load1"] = machine_load()
    (run / "results.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    if not args.no_record:
        write_subsection(SECTION, INTRO, title, report(result))
    g, b = result["test_greedy"], result["test_beam"]
    print(f"{args.src}->{args.tgt} test_2016_flickr ({version}): greedy BLEU {g[version]['bleu']:.2f} "
          f"(chrF {g[version]['chrf']:.2f}, {g['seconds']:.0f} s); beam 5 alpha {alpha} BLEU "
          f"{b[version]['bleu']:.2f} (chrF {b[version]['chrf']:.2f}, {b['seconds']:.0f} s); {b['signature']}")
    print(json.dumps({k: v for k, v in result.items() if k not in ("training",)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
