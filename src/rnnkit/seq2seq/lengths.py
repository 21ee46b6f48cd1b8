r"""How many steps decoding may take for each sentence: a limit fitted to the training pairs.

Decoding ends a hypothesis when it says EOS; the limit only stops one that never does (an untrained
model, a loop).  It must not cut a real translation, and how long that is depends on the languages and
the tokens: word-level German to English is about 1:1, character-level Chinese to English 1:4 or
more.  So the limit comes from the training pairs.  With n source tokens, a sentence may take::

    limit(n) = ceil(ratio * n) + extra steps

fitted to the training pairs (n source tokens, m target tokens, m + 1 steps with the EOS):

    ratio = q((m + 1) / n)
    extra = 10 + max(0, q(m + 1 - ceil(ratio * n)))

where q is the 99.9th percentile taken as a value of the data (numpy's ``method="higher"``): the
smallest value at or above 99.9% of the pairs'.  So 99.9% of the training pairs or more fit their own
limit with 10 steps to spare, and every pair does in a set of 1,000 pairs or fewer.  Both are
percentiles, not largest values, because the largest come from a few odd pairs: in Multi30k de-en at
character level a one-character source has a 26-character target (ratio 27, against 1.65 for the
99.9th percentile), and one misaligned pair of 1 -> 1,500 tokens would otherwise let every looping
output run for 1,500 steps.  Each sentence has its own limit: what a line translates to does not
depend on the other lines of its batch.  A limit given by the user (``max_len``, ``rnnkit translate --max-len``) replaces
the rule: every sentence may then take ``max_len`` steps.  Checkpoints written before the rule was
stored read as ``LengthRule(2.0, 10)`` (the rule 2 n + 10 of those versions).

The rule also keeps the longest source of the training pairs (``longest_source``, tokens; None in
checkpoints written before it was kept), which ``rnnkit translate`` compares each line with
(:meth:`LengthRule.far_too_long`): a line many times longer was never seen in training, and its decoding costs
time and memory in proportion to its length times the output's, as every output step attends over
every source token.
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit.checks import check_int

SLACK = 10  # steps every training pair has to spare
QUANTILE = 0.999  # of the pairs' ratios: the slope
MAX_RATIO, MAX_EXTRA = 1000.0, 100_000  # far above any corpus's; a rule beyond them is a damaged file
FAR = 4  # a source this many times the longest training source is far beyond what the model saw
LONG_SOURCE = 1_000  # ... or, when the checkpoint does not say (written before it kept it), tokens


@dataclass(frozen=True)
class LengthRule:
    """limit(n) = ceil(ratio * n) + extra steps for a source of n tokens; ``longest_source``: the longest
    training source it was fitted on (None: not known)."""

    ratio: float = 2.0
    extra: int = SLACK
    longest_source: int | None = None

    def __post_init__(self) -> None:
        r = self.ratio
        if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Real) or not 0.0 < r <= MAX_RATIO:
            raise ValueError(f"Expected the length rule's ratio to be a number in (0, {MAX_RATIO:g}], got {r!r}")
        object.__setattr__(self, "ratio", float(r))  # np.float32(2.0) and 2 alike: one type in the rule
        if check_int("the length rule's extra steps", self.extra, 1) > MAX_EXTRA:  # decoding would not end
            raise ValueError(f"Expected the length rule's extra steps to be at most {MAX_EXTRA:,}, got {self.extra}")
        object.__setattr__(self, "longest_source",
                           check_int("the length rule's longest_source", self.longest_source, 1, allow_none=True))

    def limits(self, src_lengths: np.ndarray, max_len: int | None = None) -> np.ndarray:
        """(B,) int64 steps each sentence may take: ``max_len`` for every one when given, else the rule."""
        n = np.asarray(src_lengths)  # (B,)
        if n.ndim != 1 or (n.size and (n.dtype.kind not in "iu" or n.min() < 0)):
            raise ValueError(f"Expected src_lengths as a 1-D array of integers >= 0, got {n.dtype} of shape "
                             f"{n.shape}" + (f" with minimum {n.min()}" if n.size and n.dtype.kind in "iuf" else ""))
        n = n.astype(np.int64, copy=False)
        if max_len is not None:
            return np.full(n.shape, check_int("max_len", max_len, 1), dtype=np.int64)
        return np.ceil(self.ratio * n).astype(np.int64) + self.extra

    def to_dict(self) -> dict[str, Any]:
        """The rule as a JSON-safe dict ``{'ratio': float, 'extra': int, 'longest_source': int}`` (the last
        left out when not known)."""
        d: dict[str, Any] = {"ratio": float(self.ratio), "extra": int(self.extra)}
        if self.longest_source is not None:
            d["longest_source"] = int(self.longest_source)
        return d

    @classmethod
    def from_dict(cls, d: Any) -> LengthRule:
        """The rule saved by :meth:`to_dict` (without ``longest_source`` before it was kept); raises
        ValueError for any other shape."""
        if not (isinstance(d, dict) and {"ratio", "extra"} <= set(d) <= {"ratio", "extra", "longest_source"}):
            raise ValueError(f"Expected the length rule as {{'ratio': ..., 'extra': ..., 'longest_source': ...}}, "
                             f"got {d!r:.80}")
        return cls(d["ratio"], d["extra"], d.get("longest_source"))

    def far_too_long(self, n: int) -> bool:
        """Whether a source of ``n`` tokens is far beyond the training sources: over FAR (4) times the
        longest, or over LONG_SOURCE (1,000) tokens when the rule does not know the longest."""
        return n > (LONG_SOURCE if self.longest_source is None else FAR * self.longest_source)

    def describe(self, max_len: int | None, option: str = "--max-len") -> str:
        """The limit in words, for a message about cut outputs."""
        if max_len is not None:
            return f"the {option} {max_len} limit"
        return (f"the limit of {self.ratio:.3g} x source tokens + {self.extra} (fitted so that 99.9% of the "
                "training pairs fit)")


def fit_length_rule(pairs: Iterable[tuple[Any, Any]]) -> LengthRule:
    """The :class:`LengthRule` of id pairs (source ids, target ids), as the module docstring says
    (every pair fits when there are 1,000 or fewer, 99.9% of them when there are more), with the longest source;
    pairs with an empty source are skipped (they are never decoded), and without any pair left the
    rule is the default one."""
    try:
        lengths = [(len(p[0]), len(p[1]) + 1) for p in pairs]  # pairs, or copy attention's triples
    except TypeError:
        raise TypeError("Expected pairs as (source ids, target ids) sequences, such as a list of pairs of "
                        "id arrays") from None
    lengths = np.array([nm for nm in lengths if nm[0]], dtype=np.int64).reshape(-1, 2)
    if lengths.size == 0:
        return LengthRule()
    n, steps = lengths[:, 0], lengths[:, 1]  # (N,) source tokens, target tokens + EOS
    ratio = float(np.quantile(steps / n, QUANTILE, method="higher"))
    short = int(np.quantile(steps - np.ceil(ratio * n), QUANTILE, method="higher"))  # steps beyond the slope
    # bounds: a rule loads
    return LengthRule(min(ratio, MAX_RATIO), min(SLACK + max(0, short), MAX_EXTRA), int(n.max()))
