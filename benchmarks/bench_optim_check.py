r"""Cost of the optimizers' finite-gradient check (``rnnkit.checks.all_finite`` in ``Optimizer.step``).

A PTB-sized parameter set in float32: embedding 10000 x 200, a 2-layer LSTM of 200 (PyTorch's names and
shapes), output layer 10000 x 200 with its bias: 4.65M numbers.  Each optimizer steps with the check and
with it replaced by ``lambda a: True`` and by ``np.isfinite(a).all()``, one step each in turn.
The candidate checks alone are timed too (the sum of one call per array).  On a machine
shared with other jobs the fastest of the repeats is the figure to compare (medians shown too).
``--sparse`` gives the embedding a row-sparse gradient of 400 rows (a 20 x 20 batch), as the language
model's backward does.

    python benchmarks/bench_optim_check.py [--repeat 30] [--sparse]
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

import rnnkit.optim.base as base
from rnnkit.optim import SGD, Adam
from rnnkit.row_sparse import RowSparseGrad


def ptb_shapes() -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (10000, 200)}
    for k in range(2):
        shapes.update({f"lstm.weight_ih_l{k}": (800, 200), f"lstm.weight_hh_l{k}": (800, 200),
                       f"lstm.bias_ih_l{k}": (800,), f"lstm.bias_hh_l{k}": (800,)})
    shapes.update({"output.weight": (10000, 200), "output.bias": (10000,)})
    return shapes


def median_ms(f, repeat: int) -> float:
    f()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--sparse", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    shapes = ptb_shapes()
    params = {k: (0.1 * rng.standard_normal(s)).astype(np.float32) for k, s in shapes.items()}
    grads = {k: (1e-3 * rng.standard_normal(s)).astype(np.float32) for k, s in shapes.items()}
    if args.sparse:
        rows = np.unique(rng.integers(0, 10000, 400))
        grads["embedding.weight"] = RowSparseGrad(rows, grads["embedding.weight"][rows], (10000, 200))
    dense = [getattr(g, "values", g) for g in grads.values()]
    print(f"{sum(p.size for p in params.values()) / 1e6:.2f}M float32 parameters, sparse embedding: {args.sparse}")
    checks = {
        "np.isfinite(g).all()": lambda: [bool(np.isfinite(g).all()) for g in dense],
        "float64 sum": lambda: [math.isfinite(float(np.sum(g, dtype=np.float64))) for g in dense],
        "float32 sum": lambda: [math.isfinite(float(np.sum(g))) for g in dense],
        "min and max": lambda: [math.isfinite(float(g.min())) and math.isfinite(float(g.max())) for g in dense],
        "all_finite (dot)": lambda: [base.all_finite(g) for g in dense],
    }
    for label, f in checks.items():
        print(f"  check {label:22s} {median_ms(f, args.repeat):7.3f} ms")
    real = base.all_finite
    in_step = {"none": lambda a: True, "all_finite": real, "isfinite.all": lambda a: bool(np.isfinite(a).all())}
    for label, opt in [("Adam", Adam(params, lr=1e-9)), ("SGD", SGD(params, lr=1e-9)),
                       ("SGD momentum", SGD(params, lr=1e-9, momentum=0.9))]:
        times: dict[str, list[float]] = {key: [] for key in in_step}
        opt.step(grads)
        for _ in range(args.repeat):  # one step each in turn, so that drift on a shared machine hits all alike
            for key, check in in_step.items():
                base.all_finite = check
                start = time.perf_counter()
                opt.step(grads)
                times[key].append(1e3 * (time.perf_counter() - start))
        base.all_finite = real
        line = [f"{key} {min(t):.2f} (median {statistics.median(t):.2f})" for key, t in times.items()]
        extra = min(times["all_finite"]) - min(times["none"])
        print(f"  {label:12s} step ms, fastest of {args.repeat}: " + ", ".join(line)
              + f"; the check adds {extra:.2f} ms ({100 * extra / min(times['none']):+.1f}%)")

if __name__ == "__main__":
    main()
