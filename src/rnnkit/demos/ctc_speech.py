r"""The synthetic "speech" of ``rnnkit demo ctc``: a string of symbols spoken as a noisy 2-D signal.

Each of the A symbols (labels 1..A; 0 is CTC's blank) is a direction in the plane, p_k = (cos 2 pi k/A,
sin 2 pi k/A).  Saying a symbol takes a run of n frames, n drawn from 3..6, that swell and fade:

    x_i = sin(pi (i + 1/2) / n) p_k + eps_i,   i = 0 .. n-1,   eps_i ~ N(0, sigma^2 I)

Silence is noise alone, eps_i.  A string is said with 0..3 frames of silence before it and after it, and 0..2
between two symbols, but at least 1 between two equal ones (a repeated symbol sounds twice, with a pause).
The frames carry no alignment: the network sees x (T, B, 2) and must write the string, by CTC.

The trivial baseline knows the directions p_k but not the context: it labels each frame with its nearest
point among the p_k and the origin (silence), then merges repeats and drops silences as CTC's best path
does.  Noise that throws a single frame off makes it insert and substitute symbols; the network, which
reads the whole run (and both directions), can average over the run.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from rnnkit.checks import check_int
from rnnkit.nn.ctc_decode import collapse

ALPHABET = "abcdefgh"  # symbol k (1..A) is ALPHABET[k - 1]
RUN = (3, 6)  # frames per symbol, both ends included
EDGE = 3  # at most this many silent frames before and after a string
GAP = 2  # at most this many between two symbols (at least 1 between two equal ones)


def prototypes(symbols: int) -> np.ndarray:
    """The symbols' directions (A + 1, 2): row 0 the origin (silence), row k the unit vector at angle 2 pi k/A."""
    angles = 2 * np.pi * np.arange(1, symbols + 1) / symbols
    return np.vstack([np.zeros(2), np.stack([np.cos(angles), np.sin(angles)], axis=1)])


def say(rng: np.random.Generator, labels: np.ndarray, protos: np.ndarray, noise: float) -> np.ndarray:
    """One string of ``labels`` (1..A) as frames (n, 2) float64 (module docstring); protos: :func:`prototypes`."""
    pieces = [np.zeros((rng.integers(0, EDGE + 1), 2))]
    for i, k in enumerate(labels):
        if i > 0:
            gap = int(rng.integers(0, GAP + 1))
            pieces.append(np.zeros((max(gap, int(k == labels[i - 1])), 2)))
        n = int(rng.integers(RUN[0], RUN[1] + 1))
        envelope = np.sin(np.pi * (np.arange(n) + 0.5) / n)  # (n,)
        pieces.append(envelope[:, None] * protos[k])
    pieces.append(np.zeros((rng.integers(0, EDGE + 1), 2)))
    clean = np.concatenate(pieces)  # (n, 2)
    return clean + noise * rng.standard_normal(clean.shape)


def uniform_string(rng: np.random.Generator, n: int, symbols: int) -> np.ndarray:
    """n labels (n,) drawn uniformly from 1..A: the default text's string (``rnnkit demo ctc --text random``)."""
    return rng.integers(1, symbols + 1, size=n)


def speech_batch(rng: np.random.Generator, label_lengths: np.ndarray, symbols: int, noise: float,
                 dtype: object = np.float32, draw: Callable[[np.random.Generator, int], np.ndarray] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Strings of ``label_lengths`` (B,) symbols drawn by ``draw(rng, n)``, n labels (:func:`uniform_string` when
    None; :func:`rnnkit.demos.ctc_words.text_drawer`), said (:func:`say`): frames x (T, B, 2) zero after each
    sequence's end, input lengths (B,), targets (B, S) zero-padded, target lengths (B,) (T, S the longest)."""

    A = check_int("symbols", symbols, 2)
    lengths = np.asarray(label_lengths, dtype=np.int64)
    B, S = lengths.shape[0], int(lengths.max())
    targets = np.zeros((B, S), dtype=np.int64)  # (B, S)
    frames = []
    protos = prototypes(A)  # (A + 1, 2)
    draw = partial(uniform_string, symbols=A) if draw is None else draw
    for b in range(B):
        targets[b, :lengths[b]] = draw(rng, int(lengths[b]))
        frames.append(say(rng, targets[b, :lengths[b]], protos, noise))
    input_lengths = np.array([len(f) for f in frames], dtype=np.int64)  # (B,)
    x = np.zeros((int(input_lengths.max()), B, 2), dtype=dtype)  # (T, B, 2)
    for b, f in enumerate(frames):
        x[:len(f), b] = f
    return x, input_lengths, targets, lengths


def nearest_prototype_decode(x: np.ndarray, input_lengths: np.ndarray, symbols: int) -> list[list[int]]:
    """The baseline (module docstring): each frame's nearest of the origin and the directions, collapsed."""
    protos = prototypes(symbols)  # (A + 1, 2)
    distance = ((x[:, :, None, :] - protos[None, None]) ** 2).sum(axis=3)  # (T, B, A + 1)
    nearest = distance.argmin(axis=2)  # (T, B)
    return [collapse(nearest[:input_lengths[b], b], 0) for b in range(x.shape[1])]


def spell(labels: list[int] | np.ndarray) -> str:
    """Labels 1..A as letters ('' for none)."""
    return "".join(ALPHABET[k - 1] for k in labels)
