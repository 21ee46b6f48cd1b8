r"""One timing process of ``bench_cells.py``: rnnkit's or PyTorch's recurrent layers, never both.

Started by ``bench_cells.py`` in a fresh interpreter per round, so that one library's thread pool
never competes with the other's (two pools in one process fight over the cores).  Prints one JSON
object on stdout::

    {"impl": ..., "threads": n, "info": {...}, "gemm": {"numpy sgemm 1024": GFLOP/s, ...},
     "rows": [{"cell", "T", "B", "H", "fwd_ms", "fb_ms", "calls"}, ...]}

Timing of one shape: ``warmup`` untimed calls, then at least ``repeat`` timed calls of forward and
of forward+backward, alternating (more for fast shapes, until ``min_time`` seconds are spent), and
the median of each.  The input size D equals H.

- rnnkit: forward = ``layer.forward(x)``; forward+backward = forward then
  ``layer.backward(dout, None, cache)``.
- torch: forward = ``module(x)`` under ``torch.no_grad()`` (no autograd graph is recorded, as in
  inference); forward+backward = ``module(x)`` then ``out.backward(dout)``, with x and the parameters
  requiring gradients and their ``.grad`` set to None before each call.  Both libraries thus compute
  the same things: dL/dx (as for any layer fed by an embedding or another layer), dL/dW and dL/db.

With ``--profile`` it instead splits rnnkit's forward+backward time for one shape (see
:func:`profile`).
"""
from __future__ import annotations

import argparse
import json
import linecache
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import threadpoolctl

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
SEED = 1234


def median_times(fns: list[Callable[[], Any]], warmup: int, repeat: int, min_time: float) -> tuple[list[float], int]:
    """Median wall time in seconds of each fn and the number of timed calls of each.

    The fns are called in turn (f, g, f, g, ...) so that a burst of load from other processes
    falls on all of them alike rather than on whichever happened to be running.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    spent = 0.0
    # fast shapes get more calls (up to 200) so their median is not one noisy sample
    while len(times[0]) < repeat or (spent < min_time and len(times[0]) < 200):
        for fn, acc in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            acc.append(dt)
            spent += dt
    return [statistics.median(acc) for acc in times], len(times[0])


def median_time(fn: Callable[[], Any], warmup: int, repeat: int, min_time: float) -> tuple[float, int]:
    """Median wall time of fn() in seconds and the number of timed calls."""
    (t,), n = median_times([fn], warmup, repeat, min_time)
    return t, n


def make_inputs(T: int, B: int, H: int) -> tuple[np.ndarray, np.ndarray]:
    """The same x (T, B, D=H) and dout (T, B, H) in both workers: one seeded Generator."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((T, B, H)).astype(np.float32)  # (T, B, D)
    dout = rng.standard_normal((T, B, H)).astype(np.float32)  # (T, B, H), random, not all ones
    return x, dout


# ----------------------------------------------------------------------------------- rnnkit
def rnnkit_layer(cell: str, H: int) -> Any:
    from rnnkit.recurrent import GRU, LSTM, RNN

    classes = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
    return classes[cell](H, H, dtype=np.float32, rng=np.random.default_rng(SEED))


def rnnkit_fns(cell: str, T: int, B: int, H: int) -> tuple[Callable, Callable]:
    layer = rnnkit_layer(cell, H)
    x, dout = make_inputs(T, B, H)

    def fwd() -> None:
        layer.forward(x)

    def fb() -> None:
        _, _, cache = layer.forward(x)
        layer.backward(dout, None, cache)

    return fwd, fb


def numpy_gemm_rate(n: int) -> float:
    """float32 GEMM rate of numpy's BLAS for an n x n x n product, GFLOP/s (median of 5)."""
    rng = np.random.default_rng(SEED)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    out = np.empty((n, n), np.float32)
    t, _ = median_time(lambda: np.matmul(a, b, out=out), 1, 5, 0.0)
    return 2.0 * n**3 / t / 1e9


# ------------------------------------------------------------------------------------ torch
def torch_fns(cell: str, T: int, B: int, H: int) -> tuple[Callable, Callable]:
    import torch

    torch.manual_seed(SEED)
    classes = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
    module = classes[cell](H, H, num_layers=1, dtype=torch.float32)
    xn, doutn = make_inputs(T, B, H)
    x = torch.from_numpy(xn).requires_grad_(True)  # dL/dx too, as rnnkit's backward returns it
    dout = torch.from_numpy(doutn)
    params = [x, *module.parameters()]

    def fwd() -> None:
        with torch.no_grad():
            module(x)

    def fb() -> None:
        for p in params:
            p.grad = None
        out, _ = module(x)
        out.backward(dout)

    return fwd, fb


def torch_gemm_rate(n: int) -> float:
    import torch

    g = torch.Generator().manual_seed(SEED)
    a = torch.randn(n, n, generator=g, dtype=torch.float32)
    b = torch.randn(n, n, generator=g, dtype=torch.float32)
    out = torch.empty(n, n)
    t, _ = median_time(lambda: torch.mm(a, b, out=out), 1, 5, 0.0)
    return 2.0 * n**3 / t / 1e9


def blas_info() -> list[dict[str, Any]]:
    """threadpoolctl's view of the native thread pools loaded in this process."""
    keys = ("user_api", "internal_api", "prefix", "architecture", "version", "num_threads", "threading_layer")
    return [{k: d[k] for k in keys if k in d} for d in threadpoolctl.threadpool_info()]


# ---------------------------------------------------------------------------------- profile
GEMM_CODE = re.compile(r"@|\bmatmul\b|\bdot\(|\beinsum\b|\btensordot\b")
TINY = (1, 8)  # (B, H) of the overhead run: same T, so the same Python lines and numpy calls


class LineTimer:
    """Self time of every source line of rnnkit's code over calls of fn, with sys.settrace.

    The time between two trace events goes to the rnnkit line that was running; calls into code
    outside rnnkit (numpy's Python wrappers) stay with the calling line.  The clock restarts when
    the handler returns, so the tracer's own work is mostly not charged; what remains (entering the
    handler) is the same in the tiny run and cancels in ``profile``'s differences.
    """

    def __init__(self) -> None:
        import rnnkit

        self.prefix = str(Path(rnnkit.__file__).parent)
        self.times: dict[tuple[str, int], float] = defaultdict(float)
        self.names: dict[tuple[str, int], str] = {}
        self.key: tuple[str, int] | None = None
        self.clock = 0.0

    def _charge(self) -> None:
        if self.key is not None:
            self.times[self.key] += time.perf_counter() - self.clock

    def _enter(self, frame: Any, key: tuple[str, int] | None) -> None:
        self.key = key
        if key is not None:
            self.names[key] = frame.f_code.co_name
        self.clock = time.perf_counter()

    def _on_call(self, frame: Any, event: str, arg: Any) -> Any:
        if not frame.f_code.co_filename.startswith(self.prefix):
            return None  # not traced: its time stays with the calling rnnkit line
        self._charge()
        self._enter(frame, (frame.f_code.co_filename, frame.f_lineno))
        return self._on_event

    def _on_event(self, frame: Any, event: str, arg: Any) -> Any:
        self._charge()
        if event == "return":
            caller = frame.f_back
            inside = caller is not None and caller.f_code.co_filename.startswith(self.prefix)
            self._enter(caller, (caller.f_code.co_filename, caller.f_lineno) if inside else None)
        else:
            self._enter(frame, (frame.f_code.co_filename, frame.f_lineno))
        return self._on_event

    def run(self, fn: Callable[[], Any]) -> dict[tuple[str, int], float]:
        """Seconds of each line in one traced call of fn."""
        self.times = defaultdict(float)
        self.key = None
        sys.settrace(self._on_call)
        try:
            fn()
        finally:
            sys.settrace(None)
        return dict(self.times)


def traced_medians(fn: Callable[[], Any], calls: int) -> tuple[float, dict[tuple[str, int], float], LineTimer]:
    """Median untraced time of fn and per-line median traced times, the two interleaved call by
    call so that a burst of load from other processes hits both alike."""
    timer = LineTimer()
    fn()
    plain = []
    traced = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        plain.append(time.perf_counter() - t0)
        traced.append(timer.run(fn))
    keys = set().union(*traced)
    lines = {k: statistics.median([d.get(k, 0.0) for d in traced]) for k in keys}
    return statistics.median(plain), lines, timer


def gemm_floor(cell: str, T: int, B: int, H: int, repeat: int) -> float:
    """Seconds for the GEMMs alone of an ideal kernel, same shapes and layouts: the input
    projection, T recurrent products forward, T backward, and dx, dW_ih, dW_hh after the loop."""
    G = GATES[cell]
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((T * B, H)).astype(np.float32)  # (T*B, D)
    w_ih = rng.standard_normal((G * H, H)).astype(np.float32)  # (GH, D)
    w_hh = rng.standard_normal((G * H, H)).astype(np.float32)  # (GH, H)
    dz = rng.standard_normal((T, B, G * H)).astype(np.float32)  # (T, B, GH)
    gx = np.empty((T * B, G * H), np.float32)
    rec = np.empty((B, G * H), np.float32)
    dh = rng.standard_normal((B, H)).astype(np.float32)  # (B, H): h forward, dh backward

    def gemms() -> None:
        np.matmul(x, w_ih.T, out=gx)
        for _ in range(T):
            np.matmul(dh, w_hh.T, out=rec)
        for t in range(T):
            np.matmul(dz[t], w_hh, out=dh)
        dz2 = dz.reshape(T * B, G * H)
        dz2 @ w_ih  # dx
        dz2.T @ x  # dW_ih
        dz2.T @ x  # dW_hh: same shapes as dW_ih since D = H

    return median_time(gemms, 1, repeat, 0.5)[0]


def step_gemm_rates(cell: str, T: int, B: int, H: int, repeat: int) -> dict[str, float]:
    """GFLOP/s of the forward's T recurrent products (B, H) @ (H, GH), one per step as the loop must
    run them, against the same flops as one (T*B, H) @ (H, GH) product: the price of a short M.
    Every call re-reads (and OpenBLAS re-packs) the whole (H, GH) weight for only B rows."""
    G = GATES[cell]
    rng = np.random.default_rng(SEED)
    w = rng.standard_normal((H, G * H)).astype(np.float32)  # (H, GH), the kernel's contiguous layout
    hs = rng.standard_normal((T, B, H)).astype(np.float32)
    out = np.empty((T, B, G * H), np.float32)

    def per_step() -> None:
        for t in range(T):
            np.matmul(hs[t], w, out=out[t])

    def one_gemm() -> None:
        np.matmul(hs.reshape(T * B, H), w, out=out.reshape(T * B, G * H))

    flops = 2.0 * T * B * H * G * H
    (t_steps, t_one), _ = median_times([per_step, one_gemm], 2, repeat, 0.5)  # alternating calls
    return {"per_step_gflops": flops / t_steps / 1e9, "one_gemm_gflops": flops / t_one / 1e9}


def profile(cell: str, T: int, B: int, H: int, repeat: int) -> dict[str, Any]:
    """Split rnnkit's forward+backward time at (T, B, H) into GEMM, elementwise and overhead.

    Method: time fwd+bwd untraced (total), then trace it line by line at (T, B, H) and at a tiny
    shape (same T, B=1, H=8) where the arithmetic is negligible and only the Python and numpy call
    overhead remains.  Per line, big minus tiny is its arithmetic (the tracer's cost cancels);
    lines with a matrix product are "gemm", all other lines "elementwise" (ufuncs, reductions,
    copies, allocation).  overhead = the untraced tiny total; residual = total - the three.
    """
    fwd, fb = rnnkit_fns(cell, T, B, H)
    _, fb_tiny = rnnkit_fns(cell, T, *TINY)
    fwd_total = median_time(fwd, 2, repeat, 0.5)[0]
    total, big_lines, timer_big = traced_medians(fb, max(5, repeat))
    tiny, tiny_lines, _ = traced_medians(fb_tiny, 50)
    sums = {"gemm": 0.0, "elementwise": 0.0}
    lines = []
    for key, t_big in big_lines.items():
        code = linecache.getline(key[0], key[1]).split("#")[0].strip()
        kind = "gemm" if GEMM_CODE.search(code) and not code.startswith("@") else "elementwise"
        t_tiny = tiny_lines.get(key, 0.0)
        sums[kind] += t_big - t_tiny
        where = f"{Path(key[0]).name}:{key[1]} {timer_big.names[key]}"
        lines.append({"where": where, "kind": kind, "ms": 1e3 * t_big, "tiny_ms": 1e3 * t_tiny,
                      "code": code[:70]})
    lines.sort(key=lambda d: -d["ms"])
    ms = {k: 1e3 * v for k, v in sums.items()}
    return {"cell": cell, "T": T, "B": B, "H": H, "total_ms": 1e3 * total, "fwd_ms": 1e3 * fwd_total,
            "gemm_ms": ms["gemm"], "elementwise_ms": ms["elementwise"], "overhead_ms": 1e3 * tiny,
            "residual_ms": 1e3 * total - ms["gemm"] - ms["elementwise"] - 1e3 * tiny,
            "traced_ms": 1e3 * sum(big_lines.values()), "gemm_floor_ms": 1e3 * gemm_floor(cell, T, B, H, repeat),
            **step_gemm_rates(cell, T, B, H, repeat), "lines": lines[:15]}


# -------------------------------------------------------------------------------------- main
def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"impl": args.impl, "threads": args.threads}
    if args.impl == "torch":
        import torch

        torch.set_num_threads(args.threads)
        make = torch_fns
        rate = torch_gemm_rate
        result["info"] = {
            "torch_version": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "mkldnn_available": bool(torch.backends.mkldnn.is_available()),
            "config": [line.strip() for line in torch.__config__.show().splitlines()[1:9]],
            "threadpoolctl": blas_info(),
        }
    else:
        make = rnnkit_fns
        rate = numpy_gemm_rate
        result["info"] = {"numpy_version": np.__version__, "threadpoolctl": blas_info()}
    if args.gemm:
        label = "torch.mm" if args.impl == "torch" else "numpy sgemm"
        result["gemm"] = {f"{label} {n}": rate(n) for n in (1024, 2048)}
    rows = []
    for cell in args.cells:
        for T, B, H in args.shapes:
            fwd, fb = make(cell, T, B, H)
            (t_fwd, t_fb), calls = median_times([fwd, fb], args.warmup, args.repeat, args.min_time)
            rows.append({"cell": cell, "T": T, "B": B, "H": H, "fwd_ms": 1e3 * t_fwd,
                         "fb_ms": 1e3 * t_fb, "calls": calls})
            print(f"  {args.impl:6s} {cell:4s} {T}x{B}x{H}: fwd {1e3 * t_fwd:.2f} ms, "
                  f"fwd+bwd {1e3 * t_fb:.2f} ms", file=sys.stderr, flush=True)
    result["rows"] = rows
    return result


def parse_shape(text: str) -> tuple[int, int, int]:
    parts = text.replace("x", ",").split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"Expected a shape T,B,H of three positive integers, got {text!r}")
    T, B, H = (int(p) for p in parts)
    return T, B, H


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one timing process of bench_cells.py")
    parser.add_argument("--impl", choices=("rnnkit", "torch"), required=True)
    parser.add_argument("--cells", nargs="+", choices=tuple(GATES), default=list(GATES))
    parser.add_argument("--shapes", nargs="+", type=parse_shape, default=[(35, 20, 200)])
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=0.3)
    parser.add_argument("--gemm", action="store_true", help="also measure the float32 GEMM rate")
    parser.add_argument("--profile", action="store_true", help="rnnkit only: split fwd+bwd time")
    args = parser.parse_args(argv)
    # numpy's BLAS is limited in both workers; in the torch worker it is loaded but not timed
    with threadpoolctl.threadpool_limits(limits=args.threads):
        if args.profile:
            T, B, H = args.shapes[0]
            profiles = [profile(cell, T, B, H, args.repeat) for cell in args.cells]
            result = {"impl": "rnnkit", "threads": args.threads, "info": {"threadpoolctl": blas_info()},
                      "profile": profiles}
        else:
            result = run(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
