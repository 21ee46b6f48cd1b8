r"""How many steps decoding may take for each sentence: a limit from the training data's length ratio.

Decoding ends a hypothesis when it says EOS; the limit only stops one that never does (an untrained
model, a loop).  It must not cut a real translation, and how long that is depends on the languages and
the tokens: word-level English to German is about 1:1, character-level Chinese to English 1:4 or
more.  So the limit comes from the training pairs.  With n source tokens, a sentence may take::

    limit(n) = ceil(ratio * n) + 10 steps,    ratio = max over training pairs of (m + 1) / n

(m target tokens; the + 1 is the EOS step), so no output as long, for its source, as the longest
training target is ever cut, and the + 10 leaves room beyond that.  Each sentence has its own limit:
what a line translates to does not depend on the other lines of its batch.  A limit given by the
user (``max_len``, ``rnnkit translate --max-len``) replaces the rule: every sentence may then take
``max_len`` steps.  Checkpoints written before the ratio was stored read as ``DEFAULT_RATIO`` 2
(the rule 2 n + 10 of those versions).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from rnnkit.checks import check_int

DEFAULT_RATIO = 2.0
SLACK = 10  # steps allowed beyond ratio * n


def length_ratio(pairs: Iterable[tuple[Any, Any]]) -> float:
    """The largest (target tokens + 1) / source tokens over id pairs (source ids, target ids); pairs
    with an empty source are skipped (they are never decoded).  ``DEFAULT_RATIO`` when none is left."""
    ratios = [(len(t) + 1) / len(s) for s, t in pairs if len(s)]
    return max(ratios) if ratios else DEFAULT_RATIO


def check_ratio(ratio: Any) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 < ratio < math.inf:
        raise ValueError(f"Expected the length ratio to be a positive finite number, got {ratio!r}")
    return float(ratio)


def decode_limits(src_lengths: np.ndarray, ratio: float, max_len: int | None = None) -> np.ndarray:
    """(B,) int64 steps each sentence may take: ``max_len`` for every one when given, else
    ceil(ratio * n) + SLACK for a source of n tokens."""
    n = np.asarray(src_lengths, dtype=np.int64)  # (B,)
    if max_len is not None:
        return np.full(n.shape, check_int("max_len", max_len, 1), dtype=np.int64)
    return np.ceil(check_ratio(ratio) * n).astype(np.int64) + SLACK


def describe_limit(ratio: float, max_len: int | None, option: str = "--max-len") -> str:
    """The limit in words, for a message about cut outputs."""
    if max_len is not None:
        return f"the {option} {max_len} limit"
    return f"the limit of {ratio:.3g} x source tokens + {SLACK} (the longest training target for its source)"
