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
With K = 1 this is greedy decoding, the argmax at every step.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rnnkit.checks import check_int
from rnnkit.rtrl import step_mask

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


def beam_search(model: PointerNet, x: np.ndarray, lengths: Any, beam_size: int = 1, steps: Any = None,
                distinct: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Beam search of ``beam_size`` (K) beams per sequence over x (T, B, D) with lengths (B,).

    Returns (positions (max(steps), B), ``PAD`` after each sequence's last step and never a padded position;
    log-probabilities (B,) of those outputs, float64).
    """
    x, lengths = model._check_input(x, lengths)
    K = check_int("beam_size", beam_size, 1)
    steps = check_steps(steps, lengths, distinct)
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
    beams = np.arange(K)
    first = (np.arange(B) * K)[:, None]  # (B, 1): the first row of each sequence's beams
    inp = np.broadcast_to(model.params["start"], (1, B * K, D)).copy()  # (1, B*K, D)
    for t in range(n):
        d, state, _ = model.decoder.forward(inp, state=state)  # (1, B*K, H)
        logp, _ = model._scores(d[0], keys, real)  # (B*K, T): the model's own distribution
        if distinct:  # the used positions are left out of the choice, not renormalized away
            logp[~mask] = -np.inf
        cand = (total[:, :, None] + logp.reshape(B, K, T)).reshape(B, K * T)  # (B, K*T)
        top = np.argsort(-cand, axis=1, kind="stable")[:, :K]  # (B, K), best first
        live = (t < steps)[:, None]  # (B, 1): finished sequences keep their beams as they are
        parent = np.where(live, top // T, beams)  # (B, K)
        pick = np.where(live, top % T, PAD)  # (B, K)
        total = np.where(live, np.take_along_axis(cand, top, axis=1), total)
        out[:t] = np.take_along_axis(out[:t], parent[None], axis=2)
        out[t] = pick
        src = (first + parent).reshape(-1)  # (B*K,): the row each new beam continues
        state = tuple(s[:, src] for s in state)
        flat = np.maximum(pick.reshape(-1), 0)  # (B*K,); finished rows' inputs are never used
        inp = x[flat, rows][None]  # (1, B*K, D)
        if distinct:
            mask = mask[src]
            mask[np.arange(B * K), flat] = False
    return out[:, :, 0], total[:, 0]
