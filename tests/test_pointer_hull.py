"""``rnnkit demo pointer --task hull``: the convex hulls it learns from, their encoding, and the command."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.demos.pointer_hull import convex_hull, hull_batch


def _cross(p, o, a, b):
    return (p[a, 0] - p[o, 0]) * (p[b, 1] - p[o, 1]) - (p[a, 1] - p[o, 1]) * (p[b, 0] - p[o, 0])


def test_the_hull_is_counter_clockwise_from_its_lowest_index_and_every_other_point_is_inside():
    rng = np.random.default_rng(0)
    for n in [3, 4, 5, 8, 13, 30] * 5:
        p = rng.random((n, 2))
        hull = convex_hull(p)
        assert hull[0] == min(hull) and len(set(hull)) == len(hull) >= 3
        for a, b in zip(hull, hull[1:] + hull[:1]):  # every edge has all the other points strictly to its left
            assert all(_cross(p, a, b, j) > 0 for j in range(n) if j not in (a, b)), (hull, a, b)
    assert convex_hull(np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0], [0.0, 1.0]])) == [0, 1, 3, 4]


def test_hull_batch_puts_the_end_marker_first_and_ends_every_target_with_it():
    lengths = np.array([5, 3, 7])
    x, in_lengths, targets, target_lengths = hull_batch(np.random.default_rng(1), lengths)
    assert x.shape == (8, 3, 3) and list(in_lengths) == [6, 4, 8]
    assert (x[0] == [0, 0, 1]).all() and (x[1:, :, 2] == 0).all()
    for b, n in enumerate(lengths):
        hull = list(targets[: target_lengths[b], b])
        assert hull[-1] == 0 and hull[:-1] == [i + 1 for i in convex_hull(x[1 : n + 1, b, :2].astype(np.float64))]
        assert (x[n + 1 :, b] == 0).all()


def test_the_cli_hull_demo_trains_and_reports_each_size(capsys):
    code, out, err = run_cli(capsys, ["demo", "pointer", "--task", "hull", "--steps", "3", "--hidden", "8",
                                      "--test-lengths", "4", "11", "--test-size", "10"])
    assert code == 0, err
    assert out.startswith("Convex hulls of points with a pointer network") and "step      3/3  loss" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(("     4 ", "    11 "))]
    assert [r[0] for r in rows] == ["4", "11"] and out.count("(more points than in training)") == 1, out
    assert "greedy decoding" in out and "exact hull   per position   same points" in out


def test_the_cli_hull_demo_ranks_finished_hulls_by_length_norm(capsys, monkeypatch):
    """--length-norm ALPHA reaches the beam search of every test batch, and the report says so."""
    from rnnkit.seq2seq.pointer import PointerNet

    seen = []
    search = PointerNet.beam_search

    def recording(self, *args, **kwargs):
        seen.append(kwargs.get("length_norm"))
        return search(self, *args, **kwargs)

    monkeypatch.setattr(PointerNet, "beam_search", recording)
    code, out, err = run_cli(capsys, ["demo", "pointer", "--task", "hull", "--steps", "3", "--hidden", "8",
                                      "--test-lengths", "4", "6", "--test-size", "10", "--beam", "3",
                                      "--length-norm", "0.7"])
    assert code == 0, err
    assert "beam search, 3 beams, length penalty alpha 0.7 (trained on" in out, out
    assert seen == [0.7, 0.7], seen  # one batch of each test length


@pytest.mark.parametrize("options, why", [
    (["--task", "hull"], "--length-norm has no effect with --beam 1 (greedy decoding ranks no finished hulls): "
                         "give --beam K, or leave --length-norm out"),
    (["--beam", "3"], "--length-norm has no effect on sorting (every output has n steps, so lp is the same for "
                      "all; it ranks --task hull's hulls), or leave --length-norm out"),
])
def test_the_cli_refuses_a_length_norm_that_would_change_nothing(capsys, options, why):
    code, out, err = run_cli(capsys, ["demo", "pointer", "--steps", "3", "--hidden", "8", "--test-lengths", "4",
                                      "--test-size", "10", "--length-norm", "1", *options])
    assert code != 0 and out == "" and err.count("\n") == 1 and why in err, err
