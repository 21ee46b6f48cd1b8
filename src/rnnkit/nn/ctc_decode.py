r"""Decoding a CTC network's frame scores into label sequences (Graves et al. 2006, section 3.2).

Best path (greedy): the most probable class at each frame, then B (merge repeats, drop blanks).  Fast, but
the most probable path need not give the most probable labelling, which sums over all of its paths.

Prefix beam search (Graves 2012, ch. 7; Hannun et al. 2014, without a language model) keeps the ``beam_width``
most probable label prefixes, each with two log-probabilities over the frames so far: p_b(l), the paths that
give l and end in the blank, and p_nb(l), those ending in l's last label.  A frame t with log y_t extends them:

    p_b'(l)  (+)= [p_b(l) (+) p_nb(l)] + log y_t(-)                 stay on l through a blank
    p_nb'(l) (+)= p_nb(l) + log y_t(l_last)                          repeat l's last label: still l
    p_nb'(l+k) (+)= p_b(l) + log y_t(k)                  if k = l_last (a repeat needs a blank between)
    p_nb'(l+k) (+)= [p_b(l) (+) p_nb(l)] + log y_t(k)    for any other label k

and the prefixes are ranked by p_b (+) p_nb, the log-probability of the labelling so far.  With a beam wide
enough to keep every prefix it returns the most probable labelling exactly; a narrower one is a heuristic.
"""
from __future__ import annotations

import math

import numpy as np

from rnnkit.checks import check_int
from rnnkit.nn.ctc_checks import check_blank, check_input_lengths, check_logits
from rnnkit.nn.softmax import log_softmax


def collapse(path: np.ndarray | list[int], blank: int = 0) -> list[int]:
    """B: merge repeated classes, then drop the blanks (``[0, 1, 1, 0, 1, 2, 2]`` -> ``[1, 1, 2]``)."""
    out: list[int] = []
    prev = None
    for k in np.asarray(path).tolist():
        if k != prev and k != blank:
            out.append(int(k))
        prev = k
    return out


def ctc_greedy_decode(logits: np.ndarray, input_lengths: np.ndarray | None = None,
                      blank: int = 0) -> list[list[int]]:
    """Best-path decoding of logits (T, B, C) (or log-probabilities): per sequence, argmax over the classes
    at each of its first input_lengths[b] frames (None: all T), merged and blank-free."""
    logits = check_logits(logits)
    T, B, C = logits.shape
    blank = check_blank(blank, C)
    lengths = check_input_lengths(input_lengths, T, B)
    best = logits.argmax(axis=2)  # (T, B)
    return [collapse(best[:lengths[b], b], blank) for b in range(B)]


def _logaddexp(a: float, b: float) -> float:
    """log(e^a + e^b) of two Python floats (numpy's ufunc costs a microsecond a call on scalars)."""
    if a < b:
        a, b = b, a
    return a if b == -math.inf else a + math.log1p(math.exp(b - a))


def prefix_beam_search(log_probs: np.ndarray, beam_width: int, blank: int = 0) -> list[tuple[tuple[int, ...], float]]:
    """The prefix beam search (module docstring) of one sequence's log-probabilities (T, C): its beams at the
    last frame as ``(labels, log p)``, most probable first."""
    neg = -math.inf
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, neg)}  # prefix -> (log p_b, log p_nb)
    labels = [k for k in range(log_probs.shape[1]) if k != blank]
    for row in np.asarray(log_probs, dtype=np.float64).tolist():  # floats: Python's arithmetic on scalars is fast
        nxt: dict[tuple[int, ...], list[float]] = {}

        def add(prefix: tuple[int, ...], which: int, value: float) -> None:
            if value == neg:  # no path: a prefix of probability 0 (too long for the frames) is not a beam
                return
            entry = nxt.setdefault(prefix, [neg, neg])
            entry[which] = _logaddexp(entry[which], value)

        for prefix, (pb, pnb) in beams.items():
            total = _logaddexp(pb, pnb)
            add(prefix, 0, total + row[blank])
            last = prefix[-1] if prefix else None
            if last is not None:
                add(prefix, 1, pnb + row[last])
            for k in labels:
                add(prefix + (k,), 1, (pb if k == last else total) + row[k])
        ranked = sorted(nxt.items(), key=lambda item: -_logaddexp(*item[1]))[:beam_width]
        beams = {prefix: (pb, pnb) for prefix, (pb, pnb) in ranked}
    return [(prefix, float(_logaddexp(pb, pnb))) for prefix, (pb, pnb) in beams.items()]


def ctc_beam_decode(logits: np.ndarray, input_lengths: np.ndarray | None = None, beam_width: int = 8,
                    blank: int = 0) -> list[list[int]]:
    """Prefix beam search of ``beam_width`` beams over logits (T, B, C) (or log-probabilities): the most
    probable labelling found for each sequence of its first input_lengths[b] frames (None: all T)."""
    logits = check_logits(logits)
    T, B, C = logits.shape
    blank = check_blank(blank, C)
    lengths = check_input_lengths(input_lengths, T, B)
    beam_width = check_int("beam_width", beam_width, 1)
    log_probs = log_softmax(logits, axis=2)  # (T, B, C)
    return [list(prefix_beam_search(log_probs[:lengths[b], b], beam_width, blank)[0][0]) for b in range(B)]
