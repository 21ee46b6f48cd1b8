r"""``rnnkit demo pointer --task hull``: a pointer network learns planar convex hulls (Vinyals et al. 2015).

Each example is n points drawn uniformly from the unit square; the answer is the points of their convex hull,
counter-clockwise from the hull point of lowest index (Vinyals' convention), then "end".  The hull's size
varies, so, as in the paper, the output needs an end symbol: position 0 of every input is a marker element
(0, 0, 1), the points are positions 1..n as (x, y, 0), and pointing at 0 ends the output::

    x = [(0, 0, 1), (x_1, y_1, 0), ..., (x_n, y_n, 0)]      # (n + 1, B, 3)
    C = (hull positions, counter-clockwise, lowest first) then 0

Decoding (greedy, or beam search) runs for up to n + 1 steps and stops at the end marker
(:mod:`rnnkit.seq2seq.pointer_decode`).  Reported: the share of test examples whose output is exactly C, the
share of C's steps (the end included) that the output points at rightly, and the share whose output names
exactly the hull's points (in any order or start).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from rnnkit.demos.pointer_sort import PointerDemoConfig, trained_or_loaded
from rnnkit.seq2seq.pointer import PointerNet


def convex_hull(points: np.ndarray) -> list[int]:
    """Indices of the convex hull of points (n, 2), counter-clockwise from the lowest index (Andrew's monotone
    chain; collinear boundary points left out)."""
    n = len(points)
    if n < 3:
        return list(range(n))
    order = sorted(range(n), key=lambda i: (points[i, 0], points[i, 1]))

    def cross(o: int, a: int, b: int) -> float:
        return float((points[a, 0] - points[o, 0]) * (points[b, 1] - points[o, 1])
                     - (points[a, 1] - points[o, 1]) * (points[b, 0] - points[o, 0]))

    chain: list[int] = []
    for seq in (order, order[::-1]):  # the lower hull left to right, then the upper hull right to left
        part: list[int] = []
        for i in seq:
            while len(part) >= 2 and cross(part[-2], part[-1], i) <= 0:
                part.pop()
            part.append(i)
        chain += part[:-1]  # each half's last point is the other's first
    k = chain.index(min(chain))
    return chain[k:] + chain[:k]


def hull_batch(rng: np.random.Generator, lengths: np.ndarray, dtype: object = np.float32
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Examples of ``lengths`` (B,) points: x (T + 1, B, 3) with the end marker at position 0, input lengths
    (lengths + 1), targets (T_out, B) (hull positions, then 0; 0-padded) and target lengths (hull size + 1)."""
    lengths = np.asarray(lengths)
    T, B = int(lengths.max()), lengths.shape[0]
    points = rng.random((B, T, 2))  # (B, T, 2); the padded ones are never used
    x = np.zeros((T + 1, B, 3), dtype=dtype)
    x[0, :, 2] = 1  # the end marker
    hulls = []
    for b, n in enumerate(lengths):
        x[1 : n + 1, b, :2] = points[b, :n]
        hulls.append([i + 1 for i in convex_hull(points[b, :n])] + [0])
    target_lengths = np.array([len(h) for h in hulls])
    targets = np.zeros((int(target_lengths.max()), B), np.int64)
    for b, h in enumerate(hulls):
        targets[: len(h), b] = h
    return x, lengths + 1, targets, target_lengths


def evaluate_hull(model: PointerNet, n: int, count: int, rng: np.random.Generator, batch_size: int = 250,
                  beam: int = 1, length_norm: float = 0.0) -> dict[str, float]:
    """Decoding (greedy, or ``beam`` beams, the finished hulls ranked by S / lp(m) with lp's alpha =
    ``length_norm``), stopped at the end marker, of ``count`` examples of ``n`` points:
    {"exact": share of outputs equal to the hull in order, "per_position": share of the answers' steps (the end
    included) pointed at rightly, "same_points": share naming exactly the hull's points}."""
    exact = same = right = steps = 0
    for lo in range(0, count, batch_size):
        size = min(batch_size, count - lo)
        x, lengths, targets, target_lengths = hull_batch(rng, np.full(size, n), model.dtype)
        # (<= n + 1, B): up to every point, then the end
        out = model.beam_search(x, lengths, beam, end=0, length_norm=length_norm)[0]
        for b in range(size):
            got = list(out[:, b])
            got = got[: got.index(0) + 1] if 0 in got else got
            want = list(targets[: target_lengths[b], b])
            exact += got == want
            same += sorted(got) == sorted(want)
            right += sum(g == w for g, w in zip(got, want))
            steps += len(want)
    return {"exact": exact / count, "per_position": right / steps, "same_points": same / count}


def run_hull_demo(cfg: PointerDemoConfig, test_lengths: Sequence[int], test_size: int = 1000, beam: int = 1,
                  log: Callable[[str], None] = print, model: PointerNet | None = None,
                  save: str | os.PathLike | None = None, length_norm: float = 0.0) -> dict[int, dict[str, float]]:
    """Train on hulls of min_len..max_len points (or take ``model``; ``save``:
    :func:`rnnkit.demos.pointer_sort.trained_or_loaded`), then test at each of ``test_lengths`` (greedy decoding,
    or ``beam`` beams with lp's alpha = ``length_norm``); returns {n: evaluate_hull's dict}."""
    model, said = trained_or_loaded(cfg, hull_batch, 3, "hull", model, save, log)
    log(said)
    how = "greedy decoding" if beam == 1 else f"beam search, {beam} beams"
    how += f", length penalty alpha {length_norm:g}" if length_norm else ""
    log(f"test, {test_size} point sets per size, {how} (trained on n = {cfg.min_len}..{cfg.max_len}):")
    log("     n   exact hull   per position   same points")
    results = {}
    for n in test_lengths:
        m = evaluate_hull(model, n, test_size, np.random.default_rng([cfg.seed, 2, n]), beam=beam,
                          length_norm=length_norm)
        results[n] = m
        longer = "  (more points than in training)" if n > cfg.max_len else ""
        log(f"  {n:>4}   {100 * m['exact']:9.1f}%   {100 * m['per_position']:11.1f}%   "
            f"{100 * m['same_points']:10.1f}%{longer}")
    return results
