"""The pointer demos' metrics on a stub model of known outputs: exact match, per-position and same-points counts."""
from __future__ import annotations

import numpy as np

from rnnkit.demos.pointer_hull import convex_hull, evaluate_hull
from rnnkit.demos.pointer_sort import evaluate_sorter


class _Stub:
    """Answers from the inputs themselves, spoiled in a known way by each sequence's number k (counted over
    the calls, so over the evaluation's batches): ``spoil(k, right)`` gives the output for the right one."""

    dtype = np.dtype(np.float64)  # the demos' batches in float64: the stub sees the exact numbers

    def __init__(self, right, spoil):
        self.right, self.spoil, self.k = right, spoil, 0
        self.ends: list = []  # the end marker each beam_search call was given

    def _outputs(self, x):
        out = []
        for b in range(x.shape[1]):
            out.append(self.spoil(self.k, self.right(x[:, b])))
            self.k += 1
        return np.array(out).T  # (steps, B)

    def beam_search(self, x, lengths, beam_size, steps=None, distinct=False, end=None, length_norm=0.0):
        self.ends.append(end)
        return self._outputs(x), np.zeros(x.shape[1])

    def greedy(self, x, lengths, steps=None, distinct=False):
        return self._outputs(x)


def _spoil_sort(k, right):
    """k % 4: 0 all 4 steps right; 1 the first two swapped (2 right); 2 reversed (0 right); 3 the last step
    pointing at the first number (3 right)."""
    out = right.copy()
    if k % 4 == 1:
        out[[0, 1]] = out[[1, 0]]
    elif k % 4 == 2:
        out = out[::-1].copy()
    elif k % 4 == 3:
        out[-1] = out[0]
    return out


def test_evaluate_sorter_counts_whole_sequences_and_positions():
    stub = _Stub(lambda seq: np.argsort(seq[:, 0], kind="stable"), _spoil_sort)
    # 8 sequences of n = 4 in batches of 3, 3, 2: exact 2 of 8 (k = 0, 4; any step right would say 6 of 8);
    # per position (4 + 2 + 0 + 3) * 2 = 18 of 32 steps
    got = evaluate_sorter(stub, 4, 8, np.random.default_rng(0), batch_size=3)
    assert stub.k == 8 and got == {"exact": 2 / 8, "per_position": 18 / 32}


def _hull(seq):
    """The hull's input positions (1-based: position 0 is the end marker), counter-clockwise from the lowest."""
    return [i + 1 for i in convex_hull(seq[1:, :2])]


def _spoil_hull(k, hull):
    """Outputs of n + 1 = 9 steps.  k % 5: 0 the hull, the end 0, then 1s (read up to the first 0: exact);
    1 the hull started at its second point (same points); 2 clockwise (same points); 3 every point 1..9 and no
    end (neither); 4 the hull with its first point twice (neither: a point set would call it the same)."""
    if k % 5 == 0:
        out = hull + [0]
    elif k % 5 == 1:
        out = hull[1:] + hull[:1] + [0]
    elif k % 5 == 2:
        out = hull[:1] + hull[:0:-1] + [0]
    elif k % 5 == 3:
        return np.arange(1, 10)
    else:
        out = hull + hull[:1] + [0]
    assert len(hull) >= 3 and len(out) <= 9  # the test's point sets have room for it
    return np.array(out + [1] * (9 - len(out)))


def _right_steps(k, hull):
    """How many of the answer's steps (hull, then the end) ``_spoil_hull``'s output k gets right in place: all;
    the end only; the first and the end, and the middle point of an odd-sized rest; those of the hull equal to
    their step + 1 (1..9, no end); the hull's own."""
    h = len(hull)
    return [h + 1, 1, 2 + (h % 2 == 0), sum(p == t + 1 for t, p in enumerate(hull)), h][k % 5]


def test_evaluate_hull_reads_up_to_the_end_marker_and_compares_points():
    hulls = []
    stub = _Stub(lambda seq: hulls.append(_hull(seq)) or hulls[-1], _spoil_hull)
    got = evaluate_hull(stub, 8, 10, np.random.default_rng(0), batch_size=3)  # hulls of 4-6 points
    right = sum(_right_steps(k, h) for k, h in enumerate(hulls))
    assert right < sum(len(h) + 1 for h in hulls) - 10  # far from all: the count is tested
    # exact: k = 0, 5; same points: k % 5 in (0, 1, 2), 6 of 10
    assert stub.k == 10 and got == {"exact": 2 / 10, "per_position": right / sum(len(h) + 1 for h in hulls),
                                    "same_points": 6 / 10}
    assert stub.ends == [0, 0, 0, 0]  # decoding stops at the end marker, position 0
