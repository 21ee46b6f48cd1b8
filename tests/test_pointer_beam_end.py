"""Pointer-network beam search with an end marker (rnnkit.seq2seq.pointer_decode): exhaustive on tiny inputs, one
beam is greedy decoding stopped at the marker, and the hull demo decodes with it."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from clirun import _one_line, run_cli

from rnnkit.seq2seq.penalties import length_penalty
from rnnkit.seq2seq.pointer import PAD, PointerNet
from rnnkit.seq2seq.pointer_decode import beam_search

D, H, A = 2, 4, 3


def _random_net(seed: int, scale: float = 1.5):
    rng = np.random.default_rng(seed)
    model = PointerNet(D, H, A, dtype=np.float64, rng=rng)
    for a in model.params.values():
        a[...] = rng.uniform(-scale, scale, a.shape)
    return rng, model


def _log_prob(model, x, lengths, b, positions):
    """log p(positions | input b), from the teacher-forced loss (the mean -log p over its steps)."""
    n = len(positions)
    loss, _ = model.forward(x[: lengths[b], b : b + 1], lengths[b : b + 1], np.array(positions)[:, None],
                            np.array([n]))
    return -loss * n


def _finished(n: int, end: int, steps: int, distinct: bool):
    """Every output over positions 0..n-1 that ends at ``end``, never points at it before, and has at most
    ``steps`` steps (the end's included); with ``distinct`` no position twice."""
    others = [j for j in range(n) if j != end]
    for k in range(min(steps - 1, len(others) if distinct else steps - 1) + 1):
        pick = itertools.permutations(others, k) if distinct else itertools.product(others, repeat=k)
        yield from (seq + (end,) for seq in pick)


def _is_the_best_finished(model, x, lengths, b, steps: int, distinct: bool, end: int, alpha: float, out, logp):
    """Assert that sequence b's answer (out[:, b], logp[b]) is the enumerated finished output of the best
    S / lp(m) and its S; returns (every finished output's S, that output)."""
    scores = {seq: _log_prob(model, x, lengths, b, seq) for seq in _finished(int(lengths[b]), end, steps, distinct)}
    best = max(scores, key=lambda s: scores[s] / length_penalty(len(s), alpha))
    m = len(best)
    assert tuple(out[:m, b]) == best and (out[m:, b] == PAD).all(), (alpha, b, best, out[:, b], scores)
    assert logp[b] == pytest.approx(scores[best], abs=1e-10)
    return scores, best


@pytest.mark.parametrize("distinct", [True, False])
def test_a_wide_beam_with_an_end_marker_finds_the_best_finished_output_by_brute_force(distinct):
    """24 beams hold every prefix of these tiny inputs (at most 6 live, 24 extensions a step), so the search is
    exhaustive: it must return the enumerated output, ended at the marker, of the best S / lp(m), with its S, for
    the plain sum and a length normalisation alike (which must change the answer somewhere)."""
    rng, model = _random_net(9, 3.0)  # peaked distributions: the best output is not always the marker alone
    n_seq = 30
    lengths = rng.integers(1, 5 if distinct else 4, size=n_seq)  # the end marker and up to 3 (2) points
    end = 0
    steps = lengths if distinct else np.full(n_seq, 3)
    x = rng.normal(size=(int(lengths.max()), n_seq, D))
    greedy = model.greedy(x, lengths, steps=steps, distinct=distinct, end=end)
    answers = {}
    for alpha in (0.0, 3.0):
        out, logp = model.beam_search(x, lengths, 24, steps=steps, distinct=distinct, end=end, length_norm=alpha)
        assert out.shape[1] == n_seq and out.shape[0] <= int(steps.max())
        answers[alpha] = out
        beaten = 0
        for b in range(n_seq):
            scores, best = _is_the_best_finished(model, x, lengths, b, int(steps[b]), distinct, end, alpha, out, logp)
            m = len(best)
            g = tuple(int(j) for j in greedy[:, b] if j != PAD)
            beaten += g not in scores or scores[g] / length_penalty(len(g), alpha) < scores[best] / length_penalty(
                m, alpha) - 1e-9  # unfinished (no marker by the limit), or finished less probable
        assert beaten >= 1  # the beam beat greedy decoding somewhere: the test tells them apart
    w = max(answers[0.0].shape[0], answers[3.0].shape[0])
    pad = [np.pad(a, ((0, w - a.shape[0]), (0, 0)), constant_values=PAD) for a in answers.values()]
    assert (pad[0] != pad[1]).any()  # the length normalisation changed some answer
    assert (answers[0.0][1] != PAD).any()  # and the plain sum chose more than the marker alone somewhere


def test_the_search_stops_only_when_no_longer_output_can_beat_the_best_finished_one():
    """A strong length normalisation (alpha = 4) and up to 5 steps: a live beam's S only falls, but lp grows up to
    lp(steps), so the search may stop only when S_now / lp(steps) cannot beat the best finished s; bounding by
    lp(t + 1) instead stops too early and returns a shorter output that a longer one beats.  48 beams hold every
    prefix here (at most 16 live, 48 extensions a step, all among the best K), so the enumerated best comes back."""
    rng, model = _random_net(158, 1.0)
    n_seq, end, alpha = 40, 0, 4.0
    lengths = rng.integers(2, 4, size=n_seq)  # the end marker and one or two other points
    steps = rng.integers(3, 6, size=n_seq)
    x = rng.normal(size=(int(lengths.max()), n_seq, D))
    out, logp = model.beam_search(x, lengths, 48, steps=steps, end=end, length_norm=alpha)
    longer = 0
    for b in range(n_seq):
        _, best = _is_the_best_finished(model, x, lengths, b, int(steps[b]), False, end, alpha, out, logp)
        longer += len(best) >= 3
    assert longer >= 3  # some answers are long ones, which an early stop would miss


def test_one_beam_with_an_end_marker_is_greedy_decoding_stopped_at_the_marker():
    rng, model = _random_net(8, 2.0)
    n_seq = 40
    lengths = rng.integers(1, 7, size=n_seq)
    x = rng.normal(size=(6, n_seq, D))
    end = 0
    plain = model.greedy(x, lengths)  # no end marker: every step of ``lengths``
    out, logp = model.beam_search(x, lengths, 1, end=end)
    assert (model.greedy(x, lengths, end=end) == out).all()
    stopped = 0
    for b in range(n_seq):
        row = list(plain[: lengths[b], b])
        m = row.index(end) + 1 if end in row else len(row)
        stopped += m < lengths[b]
        assert list(out[:m, b]) == row[:m] and (out[m:, b] == PAD).all()
        assert logp[b] == pytest.approx(_log_prob(model, x, lengths, b, row[:m]), abs=1e-10)
    assert stopped >= 5  # greedy decoding pointed at the marker before its last step in many sequences


class _Table:
    """A stand-in for a PointerNet whose next-position distribution is a table over the prefix pointed at so far:
    x is one-hot (position j's vector e_j), the decoder's state h codes the prefix as a number, p its row."""

    def __init__(self, table: dict, T: int):
        self.T, self.table = T, table
        self.params = {"start": np.zeros(T)}
        self.decoder = self

    def _check_input(self, x, lengths):
        return x, np.asarray(lengths)

    def _encode(self, x, lengths):
        h = np.zeros((1, x.shape[1], 1))
        return (h, h.copy()), np.zeros((x.shape[1], self.T, 1)), None, None

    def _run(self, inp, state, lengths):  # h' = h (T + 1) + (j + 1) after pointing at j; the start adds 0
        h = state[0] * (self.T + 1) + ((inp.argmax(axis=2) + 1) * inp.any(axis=2))[..., None]  # (1, B*K, 1)
        return h, (h, state[1]), None

    def _scores(self, d, keys, real):
        return np.log([self.table.get(int(code), [1 / self.T] * self.T) for code in d[:, 0]]), None


def test_the_search_goes_on_past_k_finished_hypotheses_while_a_live_beam_can_still_win():
    """Two beams; the end marker is position 0.  Step 1 finishes (0) at 0.3 and keeps (1) at 0.5, (2) at 0.2;
    step 2 finishes (2, 0) at 0.18 and keeps (1, 1) at 0.45: two finished, yet (1, 1) can still beat 0.3, and
    does: (1, 1, 0) at 0.4455, greedy decoding's answer too.  Stopping at K finished would return (0)."""
    code = {(): 0, (1,): 2, (2,): 3, (1, 1): 2 * 4 + 2}  # h of each prefix, T = 3
    table = {code[()]: [0.3, 0.5, 0.2], code[(1,)]: [0.05, 0.9, 0.05], code[(2,)]: [0.9, 0.05, 0.05],
             code[(1, 1)]: [0.99, 0.005, 0.005]}
    model = _Table(table, 3)
    x = np.eye(3)[:, None, :]  # (T, 1, T): position j is e_j
    for k in (1, 2):
        out, logp = beam_search(model, x, np.array([3]), k, end=0)
        assert list(out[:, 0]) == [1, 1, 0] and logp[0] == pytest.approx(np.log(0.5 * 0.9 * 0.99)), k


def test_a_bad_end_marker_is_a_one_line_error():
    rng, model = _random_net(9)
    x = rng.normal(size=(4, 2, D))
    for end in (3, -1, 1.0, True):
        with pytest.raises(ValueError, match=r"^Expected end to be a position every sequence has, an integer in "
                                             r"0\.\.2 \(the shortest length is 3\), or None, got "):
            model.beam_search(x, np.array([4, 3]), 2, end=end)
    with pytest.raises(ValueError, match=r"^Expected length_norm \(alpha\)"):
        model.beam_search(x, np.array([4, 3]), 2, end=0, length_norm=-1.0)


def test_the_cli_hull_demo_decodes_by_beam_search(capsys):
    code, out, err = run_cli(capsys, ["demo", "pointer", "--task", "hull", "--steps", "3", "--hidden", "8",
                                      "--test-lengths", "4", "--test-size", "10", "--beam", "3"])
    assert code == 0, err
    assert "beam search, 3 beams" in out and [line.split()[0] for line in out.splitlines()
                                             if line.startswith("     4 ")] == ["4"], out
    code, _, err = run_cli(capsys, ["demo", "pointer", "--task", "hull", "--beam", "0"])
    assert code == 2 and "--beam" in _one_line(err), err
