r"""Decoding a pointer network (:mod:`rnnkit.seq2seq.pointer`): beam search over output positions, greedy as K = 1.

Each of the K beams of a sequence is a prefix C_1..C_{t-1} with its log-probability
S = sum_{s<t} log p(C_s | C_<s, P).  A step runs the decoder one step on every beam (its input the vector of
the position it pointed to last), scores every real position j, and keeps the K best extensions over all
beams and positions::

    S'(beam k, j) = S_k + log p(C_t = j | beam k's prefix, P)       # (B, K * T), -inf at padded j
    keep the K largest; the decoder states follow their parent beams

Before the first step only one beam is alive (the others start at S = -inf).  A sequence stops after its
``steps[b]`` outputs; its beams are then frozen.  The answer is the beam of largest S.  With ``distinct``
a beam never points at a position it has already pointed at (a permutation when steps = lengths): those
positions' log p are set to -inf, not renormalized away, so S stays the model's own log-probability and a wide
enough beam finds the most probable output that repeats no position.

With an end marker (``end``, a position every input has, as the hull task's position 0) the search follows
:func:`rnnkit.seq2seq.decode.beam_search`'s rules with the marker as EOS: each step looks at the 2K best
extensions; an end extension among the first K finishes its hypothesis (the marker counted as one of its m
steps), the others, best first, become the next K beams.  The finished ones compete by GNMT's length-normalised
score (:mod:`rnnkit.seq2seq.penalties`; alpha = ``length_norm``, 0: the plain sum), the first found of equals
winning::

    s(C) = S(C) / lp(m),   lp(m) = ((5 + m) / 6) ** alpha

Unlike there, a sequence does not stop once K hypotheses have finished: it goes on while a live beam may still
beat its best finished one, i.e. while the best live S_now / lp(steps[b]) > best s (S only falls as a beam grows
and lp(m) <= lp(steps[b]), so no completion scores more), and at most ``steps[b]`` steps (the end's included).
(Stopping at K finished, 5 beams on the hull demo's network, seed 0, n = 5, returned a hypothesis less probable
than greedy decoding's for 20 point sets in 250, short finished ones filling the K before the right hull's last
step: 70.3% exact against greedy's 75.0%; going on, none in 250 and 75.9%.)
The answer is the best finished hypothesis, or, when none finished by the limit, the best live beam, unfinished.
With K = 1 and alpha = 0 this is greedy decoding, the argmax at every step (stopping at the end marker if pointed
at: the other extensions score less).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rnnkit.checks import check_int
from rnnkit.rtrl import step_mask
from rnnkit.seq2seq.decode import check_length_norm
from rnnkit.seq2seq.penalties import length_penalty, may_still_win

if TYPE_CHECKING:
    from rnnkit.seq2seq.pointer import PointerNet

PAD = -1  # the position written after a sequence's last output step


def check_steps(steps: Any, lengths: np.ndarray, distinct: bool) -> np.ndarray:
    """``steps`` (B,) output steps per sequence (None: ``lengths``), checked; a one-line ValueError otherwise."""
    B = lengths.shape[0]
    steps = lengths if steps is None else np.asarray(steps)
    if steps.shape != (B,) or not np.issubdtype(steps.dtype, np.integer):
        raise ValueError(f"Expected steps to be integers >= 1 of shape (B,) = ({B},), got {steps.dtype} "
                         f"{steps.shape}")
    if steps.size and steps.min() < 1:
        raise ValueError(f"Expected steps >= 1 (output steps per sequence), got min {steps.min()} at "
                         f"b={int(steps.argmin())}")
    if distinct and (steps > lengths).any():
        raise ValueError("Expected steps <= lengths with distinct=True (each position is pointed at once at "
                         "most), got more steps than positions")
    return steps.astype(np.int64)


def check_end(end: Any, lengths: np.ndarray) -> int | None:
    """``end`` (None: no end marker) as a position every sequence has, 0..min(lengths)-1."""
    if end is None:
        return None
    low = int(lengths.min())
    if isinstance(end, (bool, np.bool_)) or not isinstance(end, (int, np.integer)) or not 0 <= end < low:
        raise ValueError(f"Expected end to be a position every sequence has, an integer in 0..{low - 1} (the "
                         f"shortest length is {low}), or None, got {end!r}")
    return int(end)


def beam_search(model: PointerNet, x: np.ndarray, lengths: Any, beam_size: int = 1, steps: Any = None,
                distinct: bool = False, end: int | None = None, length_norm: float = 0.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Beam search of ``beam_size`` (K) beams per sequence over x (T, B, D) with lengths (B,); ``end`` the end
    marker's position (None: none), ``length_norm`` alpha of the finished hypotheses' lp (see the module docstring).

    Returns (positions (max(steps), B), ``PAD`` after each sequence's last step (its end marker, when it has
    one) and never a padded position; log-probabilities (B,) of those outputs, float64).
    """
    x, lengths = model._check_input(x, lengths)
    K = check_int("beam_size", beam_size, 1)
    steps = check_steps(steps, lengths, distinct)
    end = check_end(end, lengths)
    alpha = check_length_norm(length_norm)
    T, B, D = x.shape
    state, keys, _, _ = model._encode(x, lengths)  # (1, B, H) twice, keys (B, T, A)
    rows = np.repeat(np.arange(B), K)  # (B*K,): the sequence of every beam row
    keys = keys[rows]  # (B*K, T, A)
    state = tuple(s[:, rows] for s in state)
    real = step_mask(lengths, T, B).T[rows]  # (B*K, T): the positions it may point at
    mask = real.copy()  # (B*K, T): with distinct, also False where the beam has pointed
    total = np.full((B, K), -np.inf)  # (B, K): the beams' log-probabilities; one alive at first
    total[:, 0] = 0.0
    n = int(steps.max())
    out = np.full((n, B, K), PAD, np.int64)  # (n, B, K): every beam's positions so far
    best = np.full(B, -np.inf)  # (B,): the best finished one's s = S / lp, its S and its positions
    best_total = np.full(B, -np.inf)
    best_out = np.full((n, B), PAD, np.int64)
    m = K if end is None else min(2 * K, K * T)  # extensions looked at: with an end marker 2K, as seq2seq's
    mark = -1 if end is None else end  # no position is -1
    cols = np.arange(B)
    first = (cols * K)[:, None]  # (B, 1): the first row of each sequence's beams
    inp = np.broadcast_to(model.params["start"], (1, B * K, D)).copy()  # (1, B*K, D)
    live = np.ones(B, bool)  # (B,): sequences still searching
    for t in range(n):
        d, state, _ = model.decoder._run(inp, list(state), None)  # (1, B*K, H); its inputs are x's, checked
        logp, _ = model._scores(d[0], keys, real)  # (B*K, T): the model's own distribution
        if distinct:  # the used positions are left out of the choice, not renormalized away
            logp[~mask] = -np.inf
        cand = (total[:, :, None] + logp.reshape(B, K, T)).reshape(B, K * T)  # (B, K*T)
        top = np.argsort(-cand, axis=1, kind="stable")[:, :m]  # (B, m), best first
        ends = top % T == mark  # (B, m): all False without an end marker
        if end is not None:  # the end extensions among the best K finish (at most K: one per beam)
            score = np.take_along_axis(cand, top, axis=1)  # (B, m)
            done = ends & (np.arange(m) < K) & (score > -np.inf) & live[:, None]
            norm = np.where(done, score / length_penalty(t + 1, alpha), -np.inf)  # (B, m)
            j = norm.argmax(axis=1)  # (B,): the best finished now, the first of equals
            new = norm[cols, j] > best  # (B,): better than those finished before
            best = np.where(new, norm[cols, j], best)
            best_total = np.where(new, score[cols, j], best_total)
            best_out[:, new] = out[:, cols, top[cols, j] // T][:, new]  # its parent beam's positions, PAD from t
            best_out[t, new] = end
        # the next beams: the best K extensions that are not the end marker (at least K of the 2K)
        top = np.take_along_axis(top, np.argsort(ends, axis=1, kind="stable")[:, :K], axis=1)  # (B, K)
        go = np.where(top % T == mark, -np.inf, np.take_along_axis(cand, top, axis=1))  # (B, K); T = 1 only
        keep = live[:, None]  # (B, 1): finished sequences keep their beams as they are
        parent = np.where(keep, top // T, np.arange(K))  # (B, K)
        pick = np.where(keep, top % T, PAD)  # (B, K)
        total = np.where(keep, go, total)
        out[:t] = np.take_along_axis(out[:t], parent[None], axis=2)
        out[t] = pick
        # a sequence goes on while a live beam may still beat its best finished one (s <= S_now / lp(steps), see
        # penalties.may_still_win), and up to its step limit
        live &= (t + 1 < steps) & may_still_win(total[:, 0], steps, alpha, best)
        if not live.any():
            break
        src = (first + parent).reshape(-1)  # (B*K,): the row each new beam continues
        state = tuple(s[:, src] for s in state)
        flat = np.maximum(pick.reshape(-1), 0)  # (B*K,); finished rows' inputs are never used
        inp = x[flat, rows][None]  # (1, B*K, D)
        if distinct:
            mask = mask[src]
            mask[np.arange(B * K), flat] = False
    # a finished hypothesis first; one without (none met the end marker, or no marker): the best beam at the limit
    had = best > -np.inf
    return np.where(had, best_out, out[:, :, 0]), np.where(had, best_total, total[:, 0])
