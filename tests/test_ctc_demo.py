"""``rnnkit demo ctc``: its metric by hand, its synthetic speech, its baseline, and the demo end to end."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from clirun import _one_line, run_cli
from docs_text import README

from rnnkit.demos.ctc import CTCDemoConfig, evaluate_transcriber, run_ctc_demo
from rnnkit.demos.ctc_speech import RUN, nearest_prototype_decode, speech_batch, spell
from rnnkit.metrics import edit_distance, label_error_rate


@pytest.mark.parametrize("ref,hyp,d", [
    ("kitten", "sitting", 3),  # k->s, e->i, + g
    ("abc", "abc", 0),
    ("", "abc", 3),  # three insertions
    ("abc", "", 3),  # three deletions
    ("abcd", "acbd", 2),  # a swap is two edits
    ("aab", "ab", 1),
    ("abab", "baba", 2),  # drop the first a, add one at the end
])
def test_edit_distance_by_hand(ref, hyp, d):
    assert edit_distance(ref, hyp) == d and edit_distance(hyp, ref) == d
    assert edit_distance(list(ref), list(hyp)) == d


def test_label_error_rate_is_total_edits_over_total_reference_length():
    refs = [[1, 2, 3], [4], [2, 2]]
    hyps = [[1, 3], [4, 4, 4], [2, 2]]  # 1 deletion; 2 insertions; none
    assert label_error_rate(refs, hyps) == pytest.approx(3 / 6)
    assert label_error_rate([[]], [[]]) == 0.0
    with pytest.raises(ValueError, match="Expected as many hypotheses as references, got 1 and 2"):
        label_error_rate(refs[:2], hyps[:1])


def test_speech_batch_says_each_symbol_as_a_run_and_pauses_between_repeats():
    rng = np.random.default_rng(0)
    x, lengths, targets, target_lengths = speech_batch(rng, np.array([6, 2, 40]), 3, noise=0.0)
    assert x.dtype == np.float32 and x.shape == (lengths.max(), 3, 2)
    assert targets.shape == (3, 40) and list(target_lengths) == [6, 2, 40]
    assert np.all(targets[1, 2:] == 0) and np.all(x[lengths[1]:, 1] == 0)  # padding
    for b in range(3):
        loud = np.linalg.norm(x[:lengths[b], b], axis=1) > 1e-9  # (T_b,) frames of a symbol
        edges = np.flatnonzero(np.diff(np.r_[0, loud.astype(int), 0]))
        runs = edges[1::2] - edges[::2]  # lengths of the stretches of sound, each one symbol or several
        assert runs.sum() == loud.sum() and runs.min() >= RUN[0]
        assert len(runs) >= 1 + np.sum(targets[b, 1:target_lengths[b]] == targets[b, :target_lengths[b] - 1])
    # without noise the baseline hears every symbol: the middle of a run is nearest its own direction
    hyps = nearest_prototype_decode(x, lengths, 3)
    assert hyps == [t[:n].tolist() for t, n in zip(targets, target_lengths)]
    assert spell([1, 3, 2]) == "acb"


def test_the_same_seed_draws_the_same_speech():
    a = speech_batch(np.random.default_rng([5, 1]), np.array([3, 4]), 5, 0.3)
    b = speech_batch(np.random.default_rng([5, 1]), np.array([3, 4]), 5, 0.3)
    for u, v in zip(a, b):
        assert np.array_equal(u, v)


class _Oracle:
    """A 'network' whose logits spell the truth: the baseline's frames, read from the noise-free signal."""

    def forward(self, x, lengths):
        z = np.full(x.shape[:2] + (4,), -5.0)  # (T, B, blank + 3 symbols)
        for b, labels in enumerate(nearest_prototype_decode(x, lengths, 3)):
            for t, k in enumerate(labels):  # symbol t at frame 2t, blanks between
                z[2 * t, b, k] = 5.0
            z[2 * len(labels):, b, 0] = 5.0
            z[1:2 * len(labels):2, b, 0] = 5.0
        return z, None


def test_evaluation_scores_a_perfect_transcriber_zero_and_counts_the_baseline():
    cfg = CTCDemoConfig(symbols=3, noise=0.0)
    m = evaluate_transcriber(_Oracle(), cfg, 5, 7, np.random.default_rng(0), beam=2, batch_size=3)
    assert m == {"baseline": 0.0, "greedy": 0.0, "beam": 0.0}
    noisy = CTCDemoConfig(symbols=3, noise=0.6)
    m = evaluate_transcriber(_Oracle(), noisy, 5, 7, np.random.default_rng(0), beam=2, batch_size=3)
    assert m["baseline"] > 0.2 and m["greedy"] == m["baseline"]  # the oracle is the baseline here


def test_run_ctc_demo_trains_shows_examples_and_tests_longer_strings():
    lines: list[str] = []
    cfg = CTCDemoConfig(steps=3, hidden=4, batch_size=4, max_len=3)
    results = run_ctc_demo(cfg, [2, 5], test_size=6, beam=2, log=lines.append)
    assert set(results) == {2, 5} and all(set(m) == {"baseline", "greedy", "beam"} for m in results.values())
    text = "\n".join(lines)
    assert "step     3/3  CTC loss per label" in text and text.count("  truth '") == 3
    assert text.count("(longer than training)") == 1
    again: list[str] = []
    assert run_ctc_demo(cfg, [2, 5], test_size=6, beam=2, log=again.append) == results  # reproducible


def test_the_cli_demo_runs_and_refuses_bad_options(capsys):
    code, out, err = run_cli(capsys, ["demo", "ctc", "--steps", "2", "--hidden", "4", "--seed", "3",
                                      "--test-lengths", "3", "9", "--test-size", "4", "--beam", "2"])
    assert code == 0, err
    assert "2 Adam steps of 32 strings of 2-6 symbols, noise 0.3 (seed 3)" in out and "step     2/2" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(("     3 ", "     9 "))]
    assert [r[0] for r in rows] == ["3", "9"] and out.count("(longer than training)") == 1, out
    code, out, err = run_cli(capsys, ["demo", "ctc", "--min-len", "7", "--max-len", "5"])
    assert code == 2 and _one_line(err) == "rnnkit: error: Expected --min-len <= --max-len, got 7 and 5"
    code, out, err = run_cli(capsys, ["demo", "ctc", "--symbols", "9"])
    assert code == 2 and "Expected --symbols in 2..8 (the letters abcdefgh), got 9" in _one_line(err)
    code, out, err = run_cli(capsys, ["demo", "ctc", "--noise", "-1"])
    assert code == 2 and _one_line(err).endswith("argument --noise: Expected a finite number >= 0, got -1")


def test_the_demo_states_its_cost_as_measured_in_help_and_readme(capsys):
    """2000 steps took 25-27 s of CPU (79-99 s wall on 2 shared cores): the one-line help, the --help text and
    README's command list all say so, none "under a minute"."""
    _, listing, _ = run_cli(capsys, ["demo", "--help"])
    rows = listing.splitlines()
    at = next(i for i, row in enumerate(rows) if row.split()[:1] == ["ctc"])
    entry = " ".join([rows[at], *itertools.takewhile(lambda row: row.startswith(" " * 10), rows[at + 1:])])
    _, usage, _ = run_cli(capsys, ["demo", "ctc", "--help"])
    lines = README.read_text(encoding="utf-8").splitlines()
    readme = next(line for line in lines if line.startswith("rnnkit demo ctc "))
    for text in (" ".join(entry.split()), " ".join(usage.split()), readme):
        assert "under 30 s of CPU time" in text and "under a minute" not in text, text
