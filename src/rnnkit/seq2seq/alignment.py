"""Attention as data: one JSON object per translation, and hard word alignments in Pharaoh format.

A translation's attention ``A`` (T, S) (:func:`rnnkit.seq2seq.translate.translate` with
``return_attention=True``) has one row per target token, the last one for ``<eos>`` when the
translation finished, and one column per source token; row t sums to 1.

The hard alignment links each target token j (``<eos>`` left out: it is no word of the output) to the
source token it attended to most, i = argmax_s A[j, s] (the first one on a tie), and writes the links
as Pharaoh does (fast_align, Moses' ``-alignment-output-file``, GIZA++ symmetrised): ``i-j`` pairs,
source index first, both 0-based, in target order, separated by spaces.  Every target token gets
exactly one link; a source token may get none or several.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.checks import check_int

EOS = "<eos>"
DIGITS = 4  # decimals kept in the JSON: a row then sums to 1 within S * 0.5e-4


def rounded(attention: Any, digits: int = DIGITS) -> np.ndarray:
    """``attention`` (T, S) as float64 rounded to ``digits`` decimals (float32 weights would print as
    0.12340000271797180 after rounding)."""
    check_int("digits", digits, 0)
    w = np.asarray(attention, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"Expected attention of shape (T, S), got {w.shape}")
    return np.round(w, digits)


def target_tokens(tokens: Sequence[str], finished: bool) -> list[str]:
    """The tokens the attention's rows belong to: the translation's, then ``<eos>`` when it finished."""
    return [*tokens, EOS] if finished else list(tokens)


def hard_alignment(attention: Any, n_target: int) -> list[tuple[int, int]]:
    """(i, j) links, source index i and target index j: for each of the first ``n_target`` rows j of
    ``attention`` (T, S) (T = n_target, or n_target + 1 with the ``<eos>`` row, which is left out),
    the column it weighs most (the first one on a tie)."""
    w = np.asarray(attention)
    check_int("n_target", n_target, 0)
    if w.ndim != 2 or not n_target <= w.shape[0] <= n_target + 1 or (n_target and w.shape[1] == 0):
        raise ValueError(f"Expected attention of shape (T, S) with T = {n_target} or {n_target + 1} (the <eos> "
                         f"row) and S >= 1, got {w.shape}")
    if n_target == 0:
        return []
    best = np.argmax(w[:n_target], axis=1)  # (n_target,)
    return [(int(i), j) for j, i in enumerate(best)]


def pharaoh(links: Sequence[tuple[int, int]]) -> str:
    """``i-j`` pairs separated by spaces (an empty string for none), as fast_align writes them."""
    return " ".join(f"{i}-{j}" for i, j in links)


def attention_record(line: int, rank: int, source: Sequence[str], tokens: Sequence[str], finished: bool,
                     attention: Any, digits: int = DIGITS) -> dict[str, Any]:
    """The JSON object of one translation: ``line`` (1-based input line), ``rank`` (0 the best; the
    n-best entry), ``source`` (S tokens), ``target`` (its tokens, plus ``<eos>`` when ``finished``)
    and ``attention`` (len(target) rows of S weights rounded to ``digits`` decimals).  A blank input line
    (no source token, no tokens, attention None: nothing was decoded) gives empty lists."""
    if attention is None:  # the EMPTY translation of a sentence without source tokens: nothing was decoded
        if tokens or source:
            raise ValueError(f"Expected an attention matrix for {len(tokens)} target and {len(source)} source "
                             "tokens, got None")
        return {"line": line, "rank": rank, "source": [], "target": [], "attention": []}
    target = target_tokens(tokens, finished)
    w = rounded(attention, digits)  # (T, S)
    if w.shape != (len(target), len(source)):
        raise ValueError(f"Expected attention of shape (T, S) = {(len(target), len(source))} (target tokens"
                         f"{' with <eos>' if finished else ''}, source tokens), got {w.shape}")
    return {"line": line, "rank": rank, "source": list(source), "target": target, "attention": w.tolist()}
