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

Shallow fusion with a language model (Hannun, Maas, Jurafsky & Ng 2014, "First-pass large vocabulary continuous
speech recognition using bi-directional recurrent DNNs"; Graves & Jaitly 2014): the prefixes are ranked by

    score(l) = log p_ctc(l | x) + alpha log P_lm(l) + beta |l|,   log P_lm(l) = sum_i log P_lm(l_i | l_1 .. l_{i-1})

with log p_ctc(l | x) = p_b(l) (+) p_nb(l) as above, alpha the LM's weight and beta a bonus per label (which
offsets the LM's and CTC's pull towards short labellings).  The LM's factor P_lm(k | l)^alpha e^beta enters when a
prefix l is extended to l+k by a label k (both p_nb'(l+k) lines above, a repeat after a blank included) and never
on the repeat-merge line, where the labels stay l; every path of l+k was so extended once per label, so the factor
is the prefix's own and the search keeps it beside p_b and p_nb rather than inside them.  A prefix whose LM
probability is 0 is dropped.  alpha = beta = 0 is the search without a language model, ranked identically.
"""
from __future__ import annotations

import math

import numpy as np

from rnnkit.checks import check_int, check_number
from rnnkit.nn.ctc_checks import check_blank, check_input_lengths, check_logits
from rnnkit.nn.ctc_lm import LabelLM, label_lm
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


def prefix_beam_search(log_probs: np.ndarray, beam_width: int, blank: int = 0, lm: LabelLM | None = None,
                       lm_weight: float = 0.0, length_bonus: float = 0.0) -> list[tuple[tuple[int, ...], float]]:
    """The prefix beam search (module docstring) of one sequence's log-probabilities (T, C): its beams at the
    last frame as ``(labels, score)``, best first; the score is log p_ctc(l | x) + lm_weight log P_lm(l) +
    length_bonus |l| (log p_ctc alone without them).  ``lm``: None or a callable prefix -> log P_lm(. | prefix)
    (C,) (:data:`rnnkit.nn.ctc_lm.LabelLM`), read only when lm_weight != 0."""
    neg = -math.inf
    # prefix -> (log p_b, log p_nb, f), f = alpha log P_lm(prefix) + beta |prefix| fixed when the prefix is made
    beams: dict[tuple[int, ...], tuple[float, float, float]] = {(): (0.0, neg, 0.0)}
    use_lm = lm is not None and lm_weight != 0  # 0 * log 0 would be nan: an unweighted LM is not asked
    labels = [k for k in range(log_probs.shape[1]) if k != blank]
    for row in np.asarray(log_probs, dtype=np.float64).tolist():  # floats: Python's arithmetic on scalars is fast
        nxt: dict[tuple[int, ...], list[float]] = {}  # prefix -> [log p_b', log p_nb', f]

        for prefix, (pb, pnb, f) in beams.items():
            total = _logaddexp(pb, pnb)
            last = prefix[-1] if prefix else None
            # a prefix already in the beam keeps its f: the blank and the repeat merge add no label
            for which, value in ((0, total + row[blank]), (1, pnb + row[last] if last is not None else neg)):
                if value != neg:  # no path: a prefix of probability 0 (too long for the frames) is not a beam
                    entry = nxt.setdefault(prefix, [neg, neg, f])
                    entry[which] = _logaddexp(entry[which], value)
            lm_row = None
            for k in labels:
                value = (pb if k == last else total) + row[k]
                if value == neg:
                    continue
                longer = prefix + (k,)
                entry = nxt.get(longer)
                if entry is None:  # l+k is new this frame: its LM factor, asked only of a beam's prefix l
                    if use_lm and lm_row is None:
                        lm_row = lm(prefix)
                    step = lm_weight * lm_row[k] if use_lm else 0.0
                    if step == neg:  # the LM forbids k after l: no labelling through l+k
                        continue
                    entry = nxt[longer] = [neg, neg, f + step + length_bonus]
                entry[1] = _logaddexp(entry[1], value)
        ranked = sorted(nxt.items(), key=lambda item: -(_logaddexp(item[1][0], item[1][1]) + item[1][2]))
        beams = {prefix: (pb, pnb, f) for prefix, (pb, pnb, f) in ranked[:beam_width]}
    return [(prefix, float(_logaddexp(pb, pnb) + f)) for prefix, (pb, pnb, f) in beams.items()]


def ctc_beam_decode(logits: np.ndarray, input_lengths: np.ndarray | None = None, beam_width: int = 8,
                    blank: int = 0, lm: object = None, lm_weight: float = 0.0,
                    length_bonus: float = 0.0) -> list[list[int]]:
    """Prefix beam search of ``beam_width`` beams over logits (T, B, C) (or log-probabilities): the most
    probable labelling found for each sequence of its first input_lengths[b] frames (None: all T).

    With ``lm`` (an :class:`rnnkit.lm.ngram.NGramLM` over the C - 1 labels, or a callable prefix ->
    log-probabilities (C,); :mod:`rnnkit.nn.ctc_lm`), ``lm_weight`` alpha and ``length_bonus`` beta: the best
    labelling by log p_ctc(l | x) + alpha log P_lm(l) + beta |l| (shallow fusion, module docstring)."""
    logits = check_logits(logits)
    T, B, C = logits.shape
    blank = check_blank(blank, C)
    lengths = check_input_lengths(input_lengths, T, B)
    beam_width = check_int("beam_width", beam_width, 1)
    lm_weight = check_number("lm_weight", lm_weight, low=0.0)
    length_bonus = check_number("length_bonus", length_bonus)
    scorer = label_lm(lm, C, blank)
    log_probs = log_softmax(logits, axis=2)  # (T, B, C)
    best = []
    for b in range(B):
        beams = prefix_beam_search(log_probs[:lengths[b], b], beam_width, blank, scorer, lm_weight, length_bonus)
        best.append(list(beams[0][0]) if beams else [])  # none: the LM forbade every labelling the frames allow
    return best
