"""Zaremba et al. (2014) LSTM language models on Penn Treebank, trained with the rnnkit CLI.

``--config small`` (default; the paper's non-regularised model, test perplexity 114.5): 2 x 200 LSTM,
embeddings 200, unrolled 20 steps, 20 streams, 13 epochs of SGD at lr 1 halved after each epoch from
epoch 5 on, gradient norm clipped at 5, every parameter from U(-0.1, 0.1), no dropout, loss summed over
time and averaged over the batch; full softmax, Mikolov's class-based softmax (about 100 classes), or
Grave et al.'s adaptive softmax (a 2,000-word shortlist and one tail cluster by default).

``--config medium`` (the paper's medium regularised model, test perplexity 82.7): 2 x 650 LSTM,
embeddings 650, unrolled 35 steps, 20 streams, 39 epochs of SGD at lr 1 divided by 1.2 after each epoch
from epoch 7 on, clipping at 5, U(-0.05, 0.05), dropout 0.5 on every non-recurrent connection
(embeddings, between the layers, before the softmax); class-based softmax by default.  About 4.5 hours
on a 2-core VM, so it checkpoints every 10 minutes and ``--resume`` continues a stopped run;
``--report`` writes what a run has done so far (stopped or still running) into RESULTS.md.

Each run is ``rnnkit train lm ...`` in a child process (what a user runs), followed by
``rnnkit evaluate best.safetensors ptb.test.txt`` (one stream read from <eos>, so every one of the
82,430 test tokens is predicted).  Results go into benchmarks/RESULTS.md.

    python benchmarks/bench_ptb.py --softmax class            # one full 13-epoch run
    python benchmarks/bench_ptb.py --softmax adaptive --div-value 1
    python benchmarks/bench_ptb.py --softmax both --max-steps 200   # smoke run, not recorded
    python benchmarks/bench_ptb.py --speed-ratio 1500 --rounds 4    # rnnkit vs PyTorch, A B A B ...
    python benchmarks/bench_ptb.py --config medium                  # class softmax, ~4.5 h
    python benchmarks/bench_ptb.py --config medium --resume         # continue it after a stop
    python benchmarks/bench_ptb.py --config medium --report         # record its progress so far
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lm_common import (  # noqa: E402
    DEFAULT_DATA, RUNS, ProgressRates, evaluate_json, fmt_time, machine_load, mpi_cmd, read_epochs, rnnkit_cmd,
    run_logged, this_command, train_logged, shown_cmd, user_env, utc_date, write_subsection,
)

SECTION = "PTB word-level LSTM (Zaremba small)"
INTRO = """\
Zaremba, Sutskever & Vinyals (2014), small non-regularised model: 2 x 200 LSTM, embedding 200, 20 steps
unrolled, B = 20, 13 epochs, SGD lr 1 halved every epoch after epoch 4, gradient norm clipped at 5,
U(-0.1, 0.1) init, no dropout, loss summed over time and averaged over the batch. Paper: test
perplexity 114.5 (valid 120.7). Test perplexity here is over all 82,430 test tokens (`rnnkit evaluate`,
one stream started from `<eos>`). Valid perplexity per epoch is the training run's own (10 streams)."""
INTRO_MEDIUM = """\
Zaremba, Sutskever & Vinyals (2014), medium regularised model: 2 x 650 LSTM, embedding 650, 35 steps
unrolled, B = 20, 39 epochs, SGD lr 1, divided by 1.2 every epoch after epoch 6, gradient norm clipped at
5, U(-0.05, 0.05) init, dropout 0.5 on the non-recurrent connections (embeddings, between the layers,
before the output layer), loss summed over time and averaged over the batch. Paper: test perplexity 82.7
(valid 86.2), with a full softmax. Test perplexity here is over all 82,430 test tokens (`rnnkit
evaluate`, one stream started from `<eos>`). Valid perplexity per epoch is the training run's own (10
streams)."""


@dataclass(frozen=True)
class Config:
    """One of the paper's configurations: the hyperparameters that differ between them."""

    name: str
    hidden: int  # LSTM units per layer, and the embedding size
    bptt: int  # steps unrolled
    epochs: int
    decay_start: int  # epochs at lr 1 before the decay
    lr_decay: float  # lr multiplier per epoch after that
    init_scale: float  # U(-s, s) for every parameter
    dropout: float
    paper_test: float
    section: str
    intro: str
    default_softmax: str  # what --softmax means when not given
    checkpoint_minutes: float | None  # also checkpoint this often (long runs), besides each epoch's end


CONFIGS = {
    "small": Config("small", 200, 20, 13, 4, 0.5, 0.1, 0.0, 114.5, SECTION, INTRO, "both", None),
    "medium": Config("medium", 650, 35, 39, 6, 1 / 1.2, 0.05, 0.5, 82.7, "PTB word-level LSTM (Zaremba medium)",
                     INTRO_MEDIUM, "class", 10.0),
}
SMALL = CONFIGS["small"]


def train_args(softmax: str, ptb: Path, run_dir: Path, epochs: int, max_steps: int | None, classes: int,
               seed: int, valid: bool = True, log_every: int = 100, class_power: float = 1.0,
               cutoffs: str | None = None, div_value: float = 4.0, config: Config = SMALL,
               resume: bool = False) -> list[str]:
    args = ["train", "lm", "--train", str(ptb / "ptb.train.txt.xz")]
    if valid:
        args += ["--valid", str(ptb / "ptb.valid.txt")]
    h = str(config.hidden)
    args += [
        "--level", "word", "--cell", "lstm", "--layers", "2", "--hidden", h, "--embed", h,
        "--bptt", str(config.bptt), "--batch-size", "20", "--epochs", str(epochs),
        "--optimizer", "sgd", "--lr", "1", "--schedule", "decay_after", "--decay-start", str(config.decay_start),
        "--lr-decay", f"{config.lr_decay:.10g}", "--clip", "5", "--init-scale", f"{config.init_scale:g}",
        "--loss-scale", "batch", "--dropout", f"{config.dropout:g}",
        "--softmax", softmax, "--seed", str(seed), "--run-dir", str(run_dir),
        "--progress", "lines", "--log-every", str(log_every),
    ]
    if config.checkpoint_minutes:
        args += ["--checkpoint-minutes", f"{config.checkpoint_minutes:g}"]
    if softmax == "class":
        args += ["--class-power", f"{class_power:g}"] + (["--classes", str(classes)] if classes else [])
    if softmax == "adaptive":
        args += ["--div-value", f"{div_value:g}"] + (["--cutoffs", cutoffs] if cutoffs else [])
    if max_steps is not None:
        args += ["--max-steps", str(max_steps)]
    if resume:
        args += ["--resume"]
    return rnnkit_cmd(*args)


def env_prefix(args: argparse.Namespace) -> str:
    """How the BLAS thread cap shows in a command line (nothing when not capped)."""
    return "" if args.blas_threads is None else f"OPENBLAS_NUM_THREADS={args.blas_threads} "


def versions() -> str:
    return f"Python {platform.python_version()}, numpy {np.__version__}, {platform.processor() or platform.machine()}"


def run_name(softmax: str, config: Config) -> str:
    """The run's folder and log name under --run-root (the small configuration keeps its old names)."""
    return f"ptb_{softmax}" if config.name == "small" else f"ptb_{config.name}_{softmax}"


def run_one(softmax: str, args: argparse.Namespace, record: bool) -> dict:
    """Train (or, with --report, only look at the run so far), evaluate on the test set, record."""
    config = args.config
    ptb = args.data / "ptb"
    name = run_name(softmax, config)
    run_dir, log = args.run_root / name, args.run_root / f"{name}.log"
    env = user_env(args.blas_threads)
    cmd = mpi_cmd(train_args(softmax, ptb, run_dir, args.epochs, args.max_steps, args.classes, args.seed,
                             class_power=args.class_power, cutoffs=args.cutoffs, div_value=args.div_value,
                             config=config, resume=args.resume), args.processes)
    date, load0 = utc_date(), machine_load()
    rates = ProgressRates()
    if args.report:
        train_wall, model = None, run_dir / "best.safetensors"
        if not model.exists():
            raise SystemExit(f"{run_dir} has no best.safetensors yet (no epoch finished); nothing to report")
    else:
        train_wall, model = train_logged(cmd, log, env, rates, run_dir)
    test, eval_cmd, eval_wall = evaluate_json(model, ptb / "ptb.test.txt", log, env)
    load1 = machine_load()
    epochs = read_epochs(run_dir)
    prefix = env_prefix(args)
    res = {"softmax": softmax, "cmd": prefix + shown_cmd(cmd), "eval_cmd": prefix + eval_cmd, "date": date,
           "load0": load0, "load1": load1, "train_wall": train_wall, "eval_wall": eval_wall, "test": test,
           "epochs": epochs, "rates": rates.rate, "done_at": rates.epoch_done_at, "log": str(log)}
    wall = "see RESULTS" if train_wall is None else fmt_time(train_wall)
    print(f"[bench_ptb] {config.name}, {softmax} softmax: test perplexity {test['ppl']:.2f} over "
          f"{test['tokens']:,} tokens; training {wall}, evaluation {fmt_time(eval_wall)}", flush=True)
    if record:
        title = f"rnnkit, {softmax} softmax" + (f" (bins of equal count^{args.class_power:g})" if softmax == "class" else "")
        if softmax == "adaptive":
            title += f" (cutoffs {args.cutoffs or 'default'}, div_value {args.div_value:g})"
        if args.processes > 1:
            title += f", {args.processes} processes (mpiexec)"
        if args.title:
            title = args.title
        if len(epochs) < args.epochs:
            title += f" ({len(epochs)} of {args.epochs} epochs so far)"
        write_subsection(config.section, config.intro, title, report(res, args))
    return res


def report(res: dict, args: argparse.Namespace) -> str:
    """The RESULTS.md text of one run."""
    config = args.config
    threads = "library default" if args.blas_threads is None else str(args.blas_threads)
    lines = [
        f"{res['date']}; {versions()}; BLAS threads: {threads}; from /work/main:",
        "",
        f"    {this_command()}",
        "",
        "which " + ("reported on the run of" if args.report else "ran, one after the other") + ":",
        "",
        f"    {res['cmd']}",
        f"    {res['eval_cmd']}",
        "",
        f"Load at start: {res['load0']}; at end: {res['load1']}.",
        "",
        "| epoch | lr | train ppl | valid ppl | train tok/s | train s | epoch ends at |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in res["epochs"]:
        n = e["epoch"]
        rate = f"{res['rates'][n]:,.0f}" if n in res["rates"] else "(earlier process)"
        at = res["done_at"].get(n)
        valid = e.get("valid_ppl", math.nan)
        lines.append(f"| {n} | {e['lr']:.4g} | {math.exp(e['train_loss']):.2f} | {valid:.2f} | {rate} "
                     f"| {e.get('train_seconds', math.nan):.0f} | {fmt_time(at) if at is not None else e.get('time', '?')} |")
    t = res["test"]
    rates = [r for r in res["rates"].values() if r > 0]
    mean_rate = len(rates) / sum(1.0 / r for r in rates) if rates else float("nan")
    gap = t["ppl"] - config.paper_test
    verdict = ("target met" if gap <= 0
               else f"target missed by {gap:.2f} ({100 * gap / config.paper_test:.1f}%)")
    best = min(res["epochs"], key=lambda e: e.get("valid_loss", math.inf), default=None)
    chosen = f"best checkpoint: epoch {best['epoch']}, valid {best['valid_ppl']:.2f}; " if best else ""
    recorded = sum(e.get("train_seconds", 0.0) + e.get("valid_seconds", 0.0) for e in res["epochs"])
    if res["train_wall"] is None:
        wall = (f"Training so far {fmt_time(recorded)} (the epochs' recorded training and validation time; "
                "an epoch resumed after a stop counts only its resumed part)")
    else:
        wall = (f"Training {fmt_time(res['train_wall'])} wall in this process (validation included), mean "
                f"training speed {mean_rate:,.0f} tok/s (harmonic mean of the epochs' rates)")
        if args.resume:
            wall += f"; all epochs' recorded training and validation time {fmt_time(recorded)}"
    starts = training_starts(Path(res["log"])) if args.resume or args.report else []
    if len(starts) > 1:
        wall += (f"; the training process was started {len(starts)} times, each after the first resuming from "
                 f"the last checkpoint: {', '.join(starts)}")
    lines += [
        "",
        f"**Test perplexity {t['ppl']:.2f}** over {t['tokens']:,} tokens ({chosen}paper "
        f"{config.paper_test}: {verdict}). {wall}; test evaluation {res['eval_wall']:.0f} s.",
    ]
    return "\n".join(lines)


def training_starts(log: Path) -> list[str]:
    """UTC start of every ``rnnkit train lm`` process logged in ``log`` (run_logged writes a date line,
    then the command, for each process it starts)."""
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    return [prev[2:].split(" | ")[0] for prev, line in zip(lines, lines[1:])
            if line.startswith("# ") and " train lm " in line and prev.startswith("# ")]


def speed_ratio(args: argparse.Namespace) -> None:
    """rnnkit and PyTorch (full softmax; optionally class / adaptive), alternating, each in its own process."""
    ptb = args.data / "ptb"
    env = user_env(args.blas_threads)
    torch_script = Path(__file__).resolve().parent / "bench_ptb_torch.py"
    rows = []
    for r in range(1, args.rounds + 1):
        jobs = [("rnnkit full", "rnnkit", "full"), ("PyTorch full", "torch", "full")]
        if args.with_processes:
            jobs.append((f"rnnkit full, {args.with_processes} processes", "rnnkit", "full"))
        if args.with_class:
            jobs.append(("rnnkit class", "rnnkit", "class"))
        if args.with_adaptive:
            jobs += [("rnnkit adaptive", "rnnkit", "adaptive"), ("PyTorch adaptive", "torch", "adaptive")]
        for name, lib, softmax in jobs:
            log = args.run_root / "speed_ratio.log"
            load = machine_load()
            if lib == "torch":
                cmd = [sys.executable, str(torch_script), "--data", str(args.data), "--epochs", "1",
                       "--max-steps", str(args.speed_ratio), "--no-record", "--no-test", "--softmax", softmax]
                if softmax == "adaptive":
                    cmd += ["--cutoffs", args.cutoffs or "2000", "--div-value", f"{args.div_value:g}"]
                if args.torch_threads is not None:
                    cmd += ["--threads", str(args.torch_threads)]
                out: list[str] = []
                rc, wall = run_logged(cmd, log, env, lambda line, _: out.append(line))
                found = [json.loads(x[len("RESULT "):]) for x in out if x.startswith("RESULT ")]
                rate = found[-1]["train_tok_per_s"] if found else float("nan")
            else:
                cmd = train_args(softmax, ptb, args.run_root / f"speed_{softmax}", 1, args.speed_ratio, args.classes,
                                 args.seed, valid=False, log_every=50, class_power=args.class_power,
                                 cutoffs=args.cutoffs, div_value=args.div_value)
                if "processes" in name:  # the rate process 0 prints counts every process's tokens
                    cmd = mpi_cmd(cmd, args.with_processes)
                rates = ProgressRates()
                rc, wall = run_logged(cmd, log, env, rates)
                rate = rates.last_rate()
            if rc != 0:
                raise SystemExit(f"{name} failed (exit code {rc}); see {log}")
            rows.append((r, name, rate, wall, load, (env_prefix(args) if lib == "rnnkit" else "") + shown_cmd(cmd)))
            print(f"[speed] round {r} {name}: {rate:,.0f} tok/s ({wall:.0f} s wall; {load})", flush=True)
    by = {}
    for _, name, rate, *_ in rows:
        by.setdefault(name, []).append(rate)
    mean = {k: float(np.mean(v)) for k, v in by.items()}
    ratio = mean["rnnkit full"] / mean["PyTorch full"]
    ratio_ad = mean["rnnkit adaptive"] / mean["PyTorch adaptive"] if args.with_adaptive else None
    threads = "library default" if args.blas_threads is None else str(args.blas_threads)
    tthreads = f"os.cpu_count() = {os.cpu_count()}" if args.torch_threads is None else str(args.torch_threads)
    body = [
        f"{utc_date()}; {versions()}; BLAS threads for rnnkit: {threads}; PyTorch torch.set_num_threads({tthreads}).",
        "",
        f"    {this_command()}",
        "",
        f"{args.speed_ratio} training steps (T = 20, B = 20) per process, processes run one at a time in the order "
        "below; tokens/s is over those steps (start-up and vocabulary building excluded).  PyTorch's first few "
        "hundred steps run slower than its steady state, so a short run (300 steps) understates its speed.",
        "",
        "| round | run | train tok/s | process wall | load before |",
        "|---|---|---|---|---|",
    ]
    for r, name, rate, wall, load, _ in rows:
        body.append(f"| {r} | {name} | {rate:,.0f} | {wall:.0f} s | {load.replace('load average: ', '')} |")
    body += ["", "Commands (one round):", ""]
    seen = set()
    for _, name, _, _, _, cmd in rows:
        if name not in seen:
            seen.add(name)
            body.append(f"    {cmd}")
    body += ["", f"**rnnkit / PyTorch tokens/s, full softmax: {ratio:.2f}** (mean rates: "
             + ", ".join(f"{k} {v:,.0f}" for k, v in mean.items()) + ")."]
    if args.with_processes:
        name = f"rnnkit full, {args.with_processes} processes"
        body += ["", f"**{name}: {mean[name] / mean['PyTorch full']:.2f}x PyTorch's tokens/s, "
                     f"{mean[name] / mean['rnnkit full']:.2f}x one rnnkit process's.**"]
        print(f"[speed] {name} / PyTorch = {mean[name] / mean['PyTorch full']:.2f}, / one process = "
              f"{mean[name] / mean['rnnkit full']:.2f}", flush=True)
    if ratio_ad is not None:
        body += ["", f"**rnnkit / PyTorch tokens/s, adaptive softmax: {ratio_ad:.2f}**."]
        print(f"[speed] rnnkit/PyTorch (adaptive softmax) = {ratio_ad:.2f}", flush=True)
    print(f"[speed] rnnkit/PyTorch (full softmax) = {ratio:.2f}", flush=True)
    if not args.no_record:
        title = args.title or f"Speed side by side: rnnkit vs PyTorch (rnnkit BLAS threads {threads}, torch threads {tthreads})"
        write_subsection(SECTION, INTRO, title, "\n".join(body))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding ptb/ (default: %(default)s)")
    p.add_argument("--config", choices=sorted(CONFIGS), default="small",
                   help="the paper's small (unregularised) or medium (dropout 0.5) model (default: small)")
    p.add_argument("--softmax", choices=["full", "class", "adaptive", "both"], default=None,
                   help="output layer; both = class then full, one after the other "
                        "(default: both for small, class for medium)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the paper's, 13 or 39)")
    p.add_argument("--resume", action="store_true",
                   help="continue a stopped run from its last checkpoint (same --run-root and options)")
    p.add_argument("--report", action="store_true",
                   help="do not train: evaluate the run's best checkpoint so far and record its epochs")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke run, not recorded)")
    p.add_argument("--classes", type=int, default=0, help="classes for the class softmax (0: about sqrt(V) = 100)")
    p.add_argument("--class-power", type=float, default=1.0,
                   help="class softmax bins of equal count**power (1: RNNLM's old classes; 0.5: its default)")
    p.add_argument("--cutoffs", default=None, help="adaptive softmax cutoffs, e.g. 2000 (default: rnnkit's)")
    p.add_argument("--div-value", type=float, default=4.0, help="adaptive softmax div_value (default: 4)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="cap BLAS threads in the child processes (default: leave the library default)")
    p.add_argument("--run-root", type=Path, default=RUNS, help="checkpoints and logs go here (default: %(default)s)")
    p.add_argument("--speed-ratio", type=int, default=None, metavar="STEPS",
                   help="instead of training: time STEPS steps of rnnkit and of PyTorch, alternating "
                        "(1500 or more: PyTorch's first few hundred steps are slower than its steady state)")
    p.add_argument("--rounds", type=int, default=2, help="--speed-ratio: rounds of A B (default: 2)")
    p.add_argument("--torch-threads", type=int, default=None,
                   help="--speed-ratio: torch.set_num_threads for PyTorch (default: os.cpu_count())")
    p.add_argument("--with-class", action="store_true", help="--speed-ratio: also time rnnkit's class softmax")
    p.add_argument("--processes", type=int, default=1,
                   help="train rnnkit as this many processes (mpiexec -n N; each takes cores / N BLAS threads)")
    p.add_argument("--with-processes", type=int, default=None, metavar="N",
                   help="--speed-ratio: also time rnnkit's full softmax trained by N processes (mpiexec)")
    p.add_argument("--with-adaptive", action="store_true",
                   help="--speed-ratio: also time the adaptive softmax, rnnkit's and PyTorch's")
    p.add_argument("--record", action="store_true", help="write a --max-steps run into RESULTS.md anyway")
    p.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    p.add_argument("--title", default=None,
                   help="subsection title in RESULTS.md (default: from the output layer; a new title keeps an "
                        "earlier record of the same setting)")
    args = p.parse_args(argv)
    args.config = CONFIGS[args.config]
    args.softmax = args.softmax or args.config.default_softmax
    args.epochs = args.epochs or args.config.epochs
    if args.config.name != "small" and args.speed_ratio is not None:
        p.error("--speed-ratio times the small configuration only")
    if args.speed_ratio is not None and args.speed_ratio < 100:  # the rate is read off progress lines every 50 steps
        p.error(f"--speed-ratio {args.speed_ratio}: time at least 100 steps (rnnkit's rate is read from its progress "
                "lines, one every 50 steps; fewer gave 'nan tok/s')")
    args.run_root.mkdir(parents=True, exist_ok=True)
    if args.speed_ratio is not None:
        speed_ratio(args)
        return 0
    record = not args.no_record and (args.max_steps is None or args.record)
    t0 = time.perf_counter()
    for softmax in (["class", "full"] if args.softmax == "both" else [args.softmax]):
        run_one(softmax, args, record)
    print(f"[bench_ptb] total wall time {fmt_time(time.perf_counter() - t0)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
