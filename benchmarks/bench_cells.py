r"""Speed of rnnkit's RNN (tanh), LSTM and GRU against torch.nn.RNN/LSTM/GRU on this machine.

One layer, one direction, float32, input size D = hidden size H, shapes (T, B, H).  Each library
runs in its own worker process (``_bench_worker.py``) with the same thread count: numpy's BLAS is
limited with threadpoolctl, torch with ``torch.set_num_threads``, and OMP/OPENBLAS/MKL_NUM_THREADS
are set in the child environment.  The children's environment drops OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, which users' machines do not set (they slow numpy's GEMM here); this script's
own environment is left alone.

Workers alternate rnnkit, torch, rnnkit, torch, ... over ``--rounds`` rounds.  In each round a
worker times every shape (warm-up calls, then the median of at least ``--repeat`` calls); the table
shows the median over rounds of those per-round medians.

- forward: rnnkit ``layer.forward(x)``; torch ``module(x)`` under ``torch.no_grad()``, so torch
  records no autograd graph (inference mode, its fastest forward);
- forward+backward: rnnkit forward then ``layer.backward(dout, None, cache)``; torch ``module(x)``
  then ``out.backward(dout)`` with x requiring a gradient, gradients reset each call: both compute
  dL/dx, dL/dW and dL/db, as a layer fed by an embedding or another layer must.  ``dout`` is a fixed
  random array.

GEMM flops of one forward: 2*T*B*G*H*(D+H) with G = 1, 4, 3 gates (RNN, LSTM, GRU); backward
counts twice that.  ratio = torch time / rnnkit time (> 1: rnnkit faster).

    python benchmarks/bench_cells.py [--threads N] [--rounds 5] [--repeat 5] [--cells gru ...]
        [--shapes 35,20,200 ...] [--json] [--write-results] [--profile [T,B,H]]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_bench_worker.py"
RESULTS = HERE / "RESULTS.md"
SECTION = "## Cell speed (bench_cells.py)"
SHAPES = [(35, 20, 200), (35, 20, 650), (100, 32, 128), (50, 1, 64), (35, 64, 1024)]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
IMPLS = ("rnnkit", "torch")


def parse_shape(text: str) -> tuple[int, int, int]:
    parts = text.replace("x", ",").split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"Expected a shape T,B,H of three positive integers, got {text!r}")
    T, B, H = (int(p) for p in parts)
    return T, B, H


def child_env(threads: int) -> dict[str, str]:
    """The workers' environment: thread counts pinned, OpenBLAS tuning overrides removed."""
    env = dict(os.environ)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(name, None)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return env


def run_worker(impl: str, args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, str(WORKER), "--impl", impl, "--threads", str(args.threads),
           "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--min-time", str(args.min_time),
           "--cells", *args.cells] + extra
    # the worker's progress lines go straight to our stderr; its stdout is one JSON object
    proc = subprocess.run(cmd, env=child_env(args.threads), stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} worker failed with exit code {proc.returncode}: {shlex.join(cmd)}")
    return json.loads(proc.stdout)


def forward_flops(cell: str, T: int, B: int, H: int) -> float:
    D = H
    return 2.0 * T * B * GATES[cell] * H * (D + H)


def collect(results: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """Median over rounds of the per-round medians; rows ordered cell, shape, impl."""
    per_key: dict[tuple, dict[str, list[float]]] = {}
    gemm: dict[str, list[float]] = {}
    for res in results:
        for name, rate in res.get("gemm", {}).items():
            gemm.setdefault(name, []).append(rate)
        for r in res["rows"]:
            key = (r["cell"], r["T"], r["B"], r["H"], res["impl"])
            slot = per_key.setdefault(key, {"fwd": [], "fb": []})
            slot["fwd"].append(r["fwd_ms"])
            slot["fb"].append(r["fb_ms"])
    rows = []
    for (cell, T, B, H, impl), slot in per_key.items():
        fwd = statistics.median(slot["fwd"])
        fb = statistics.median(slot["fb"])
        flops = forward_flops(cell, T, B, H)
        rows.append({"cell": cell, "T": T, "B": B, "H": H, "impl": impl, "fwd_ms": fwd, "fb_ms": fb,
                     "tokens_per_s": T * B / (fb / 1e3), "fwd_gflops": flops / (fwd / 1e3) / 1e9,
                     "fb_gflops": 3 * flops / (fb / 1e3) / 1e9,
                     "fwd_ms_rounds": slot["fwd"], "fb_ms_rounds": slot["fb"]})
    by_key = {(r["cell"], r["T"], r["B"], r["H"], r["impl"]): r for r in rows}
    for r in rows:
        other = by_key.get((r["cell"], r["T"], r["B"], r["H"], "torch"))
        if r["impl"] == "rnnkit" and other is not None:
            r["ratio_fwd"] = other["fwd_ms"] / r["fwd_ms"]
            r["ratio_fb"] = other["fb_ms"] / r["fb_ms"]
    order = {c: i for i, c in enumerate(GATES)}
    rows.sort(key=lambda r: (order[r["cell"]], r["T"], r["B"], r["H"], IMPLS.index(r["impl"])))
    return rows, gemm


def spread(values: list[float]) -> str:
    """Range over rounds as +-percent of the median: how far to trust a row."""
    mid = statistics.median(values)
    return f"{100 * (max(values) - min(values)) / (2 * mid):.0f}%"


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| cell | T | B | H | impl | fwd ms | fwd+bwd ms | ± rounds | tokens/s | GFLOP/s fwd | "
            "GFLOP/s fwd+bwd | torch/rnnkit fwd | torch/rnnkit fwd+bwd |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        ratios = ["", ""]
        if "ratio_fwd" in r:
            ratios = [f"**{r['ratio_fwd']:.2f}**", f"**{r['ratio_fb']:.2f}**"]
        lines.append(f"| {r['cell']} | {r['T']} | {r['B']} | {r['H']} | {r['impl']} | {r['fwd_ms']:.2f} | "
                     f"{r['fb_ms']:.2f} | {spread(r['fb_ms_rounds'])} | {r['tokens_per_s']:,.0f} | "
                     f"{r['fwd_gflops']:.1f} | {r['fb_gflops']:.1f} | {ratios[0]} | {ratios[1]} |")
    return "\n".join(lines)


def describe_info(results: list[dict[str, Any]], gemm: dict[str, list[float]]) -> str:
    """Thread pools and BLAS of each worker (from its first round) and the measured GEMM rates."""
    lines = []
    for impl in IMPLS:
        first = next((r for r in results if r["impl"] == impl), None)
        if first is None:
            continue
        info = first["info"]
        pools = "; ".join(", ".join(f"{k}={v}" for k, v in pool.items()) for pool in info["threadpoolctl"])
        lines.append(f"- {impl} worker, threadpoolctl: {pools}")
        if impl == "torch":
            lines.append(f"- torch {info['torch_version']}, torch.get_num_threads()={info['torch_threads']}, "
                         f"mkldnn available: {info['mkldnn_available']}; torch.__config__.show(): "
                         + " / ".join(info["config"][:5]))
    rates = ", ".join(f"{name}: {statistics.median(v):.0f}" for name, v in gemm.items())
    lines.append(f"- float32 GEMM n x n x n, GFLOP/s (median over rounds): {rates}")
    return "\n".join(lines)


def shell(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False).stdout.strip()
    except OSError:
        return "(unavailable)"


def cpu_name() -> str:
    """'AMD EPYC (family 25, model 17)': VMs report bare names, which the family and model tell apart."""
    try:
        fields = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "cpu family", "model") and key.strip() not in fields:
                fields[key.strip()] = value.strip()
        if "model name" in fields:
            extra = (f" (family {fields['cpu family']}, model {fields['model']})"
                     if "cpu family" in fields and "model" in fields else "")
            return fields["model name"] + extra
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


INTRO = ("One layer, one direction, float32, D = H; each library in its own process with the same "
         "thread count, runs alternating rnnkit/torch over rounds, forward and forward+backward calls "
         "alternating inside a worker.  Torch's forward runs under `torch.no_grad()` (no autograd "
         "graph); its fwd+bwd is `module(x)` + `out.backward(dout)` with x requiring a gradient, so both "
         "libraries compute dL/dx, dL/dW and dL/db.  GFLOP/s counts the GEMM flops "
         "(forward 2*T*B*G*H*(D+H), backward twice that); tokens/s = T*B / fwd+bwd time; ± rounds = "
         "half the range of fwd+bwd over rounds, relative to the median; ratio = torch time / rnnkit "
         "time (> 1: rnnkit faster).  One subsection per thread count, CPU and BLAS kernel set, the "
         "latest run of each: the VMs this project runs on change from session to session, and their "
         "timings do not compare.\n")


def blas_kernels(results: list[dict]) -> str:
    """'openblas SkylakeX kernels' (what threadpoolctl reports for rnnkit's BLAS): with the CPU's name,
    the subsection title keeps different machines apart, since their timings do not compare."""
    first = next((r for r in results if r["impl"] == "rnnkit"), None)
    pools = first["info"]["threadpoolctl"] if first else []
    blas = next((p for p in pools if p.get("user_api") == "blas"), {})
    return f"{blas.get('internal_api', 'unknown BLAS')} {blas.get('architecture') or 'unknown'} kernels"


def write_section(title: str, body: str) -> None:
    """Put `body` under '### title' in this script's section of RESULTS.md, replacing an older
    subsection of that title and keeping the others; the rest of the file is left as it is."""
    old = RESULTS.read_text() if RESULTS.exists() else ""
    start = old.find(SECTION + "\n")
    if start < 0:
        head, mine, tail = old.rstrip("\n") + ("\n\n" if old.strip() else ""), "", ""
    else:
        end = old.find("\n## ", start + len(SECTION))
        end = len(old) if end < 0 else end + 1
        head, mine, tail = old[:start], old[start:end], old[end:]
    subsections = {}
    for part in mine.split("\n### ")[1:]:
        name, _, text = part.partition("\n")
        subsections[name.strip()] = text.strip("\n")
    subsections[title] = body.strip("\n")
    parts = [f"{SECTION}\n\n{INTRO}"] + [f"### {k}\n\n{v}\n" for k, v in subsections.items()]
    text = "\n".join(parts)
    RESULTS.write_text(head + text + ("\n" + tail if tail else ""))


def load_warning(uptimes: list[str]) -> str:
    """A warning when the 1-minute load average exceeded the number of cores."""
    cores = os.cpu_count() or 1
    loads = []
    for text in uptimes:
        if "load average:" in text:
            loads.append(float(text.split("load average:")[1].split(",")[0]))
    if not loads or max(loads) <= cores:
        return ""
    return (f"**Warning: load average up to {max(loads):.1f} on {cores} cores during this run: other "
            f"jobs shared the cores, so times are inflated and noisy (see ± rounds).**\n\n")


def print_profile(res: dict[str, Any]) -> None:
    print(f"threads {res['threads']}; numpy BLAS: {res['info']['threadpoolctl']}")
    for p in res["profile"]:
        total = p["total_ms"]
        print(f"\n{p['cell']} T={p['T']} B={p['B']} H={p['H']}: fwd+bwd {total:.2f} ms (fwd {p['fwd_ms']:.2f} ms)")
        for name in ("gemm", "elementwise", "overhead", "residual"):
            print(f"  {name:12s} {p[name + '_ms']:9.2f} ms  {100 * p[name + '_ms'] / total:5.1f}%")
        print(f"  GEMMs alone, same shapes in a bare loop: {p['gemm_floor_ms']:.2f} ms; "
              f"traced run: {p['traced_ms']:.2f} ms")
        print(f"  recurrent products, forward: {p['per_step_gflops']:.0f} GFLOP/s as {p['T']} per-step GEMMs of "
              f"{p['B']} rows, {p['one_gemm_gflops']:.0f} GFLOP/s as one GEMM of {p['T'] * p['B']} rows")
        print("  slowest lines (traced ms per call; tiny-shape ms = overhead):")
        for line in p["lines"]:
            print(f"    {line['ms']:8.2f} {line['tiny_ms']:7.3f}  {line['kind']:11s} {line['where']:26s} {line['code']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads for both libraries (default: all cores)")
    parser.add_argument("--rounds", type=int, default=5, help="worker runs per library (default: 5)")
    parser.add_argument("--repeat", type=int, default=5, help="least timed calls per shape (default: 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per shape (default: 2)")
    parser.add_argument("--min-time", type=float, default=0.3,
                        help="time more calls (up to 200) until this many seconds (default: 0.3)")
    parser.add_argument("--cells", nargs="+", choices=tuple(GATES), default=list(GATES))
    parser.add_argument("--shapes", nargs="+", type=parse_shape, default=SHAPES, metavar="T,B,H")
    parser.add_argument("--json", action="store_true", help="only JSON rows on stdout, one per line")
    parser.add_argument("--write-results", action="store_true", help=f"write the section of {RESULTS.name}")
    parser.add_argument("--profile", nargs="?", const="35,20,650", type=parse_shape, metavar="T,B,H",
                        help="split rnnkit's fwd+bwd time at one shape (default 35,20,650) and exit")
    args = parser.parse_args(argv)
    for name in ("threads", "rounds", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"Expected --{name} >= 1, got {getattr(args, name)}")
    if args.profile is not None:
        res = run_worker("rnnkit", args, ["--profile", "--shapes", ",".join(map(str, args.profile))])
        if args.json:
            print(json.dumps(res))
        else:
            print_profile(res)
        return 0

    load_before = shell(["uptime"])
    t0 = time.perf_counter()
    shapes = [",".join(map(str, s)) for s in args.shapes]
    results = []
    for k in range(args.rounds):
        for impl in IMPLS:
            print(f"round {k + 1}/{args.rounds}: {impl}", file=sys.stderr, flush=True)
            results.append(run_worker(impl, args, ["--gemm", "--shapes", *shapes]))
    wall = time.perf_counter() - t0
    load_after = shell(["uptime"])
    rows, gemm = collect(results)
    if args.json:
        for r in rows:
            print(json.dumps(r))
    else:
        print(table(rows))
        print(describe_info(results, gemm))
        print(f"wall time {wall:.0f} s; load before: {load_before}; after: {load_after}")
    if args.write_results:
        import numpy
        import torch

        command = shlex.join(["python", "benchmarks/bench_cells.py", *sys.argv[1:]])
        body = (f"Command, run from /work/main (`date -u`: {shell(['date', '-u'])}; wall time {wall:.0f} s):\n\n"
                f"    {command}\n\n"
                f"Machine: {os.cpu_count()}-core {cpu_name()}, Python {platform.python_version()}, numpy "
                f"{numpy.__version__}, torch {torch.__version__}; {args.threads} thread(s) per library, "
                f"{args.rounds} rounds, each a median of >= {args.repeat} calls after {args.warmup} warm-up "
                f"calls.  `uptime` before: `{load_before}`; after: `{load_after}`.\n\n"
                f"{load_warning([load_before, load_after])}{table(rows)}\n\n{describe_info(results, gemm)}\n")
        write_section(f"{args.threads} thread(s) per library, {cpu_name()}, {blas_kernels(results)}", body)
        print(f"wrote the section '{SECTION}' of {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
