r"""Edit distance and the label error rate of transcriptions (Graves et al. 2006's measure of a CTC network).

The Levenshtein distance d(r, h) between a reference r and a hypothesis h is the least number of
substitutions, deletions and insertions turning r into h, by dynamic programming over prefixes:

    D(i, 0) = i,  D(0, j) = j
    D(i, j) = min(D(i-1, j) + 1, D(i, j-1) + 1, D(i-1, j-1) + [r_i != h_j])

The label error rate over a set of pairs is sum d(r, h) / sum |r| (the total, not a mean of ratios, so a long
reference counts more); it may exceed 1 when the hypotheses insert many labels.
"""
from __future__ import annotations

from collections.abc import Sequence


def edit_distance(reference: Sequence, hypothesis: Sequence) -> int:
    """The Levenshtein distance between two sequences of comparable items (labels, characters)."""
    ref, hyp = list(reference), list(hypothesis)
    row = list(range(len(hyp) + 1))  # D(i - 1, .)
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i  # prev: D(i-1, j-1)
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def label_error_rate(references: Sequence[Sequence], hypotheses: Sequence[Sequence]) -> float:
    """sum_n d(r_n, h_n) / sum_n |r_n| over paired references and hypotheses (0 when every reference is empty
    and every hypothesis too)."""
    if len(references) != len(hypotheses):
        raise ValueError(f"Expected as many hypotheses as references, got {len(hypotheses)} and {len(references)}")
    errors = sum(edit_distance(r, h) for r, h in zip(references, hypotheses))
    total = sum(len(r) for r in references)
    if total == 0:
        return 0.0 if errors == 0 else float("inf")
    return errors / total
