"""Classification metrics: accuracy, confusion matrix (and its most frequent errors), per-class and
macro-averaged F1.

For class k with ``tp`` true positives, ``fp`` false positives and ``fn`` false negatives::

    precision_k = tp / (tp + fp)    recall_k = tp / (tp + fn)    F1_k = 2 tp / (2 tp + fp + fn)

(``F1_k`` is 0 when ``tp`` is 0.)  A ratio whose denominator is 0 is undefined, and given as ``None``, not
0: the precision of a class never predicted (tp + fp = 0) and the recall of a class never in gold
(tp + fn = 0), where scikit-learn's ``precision_recall_fscore_support(zero_division=np.nan)`` gives nan.
``F1_k`` is 0 for a class never predicted that is in gold (or predicted, never in gold), and undefined
(``None``) only for a class listed (``labels=``) that is in neither, where all three ratios are 0/0.
Macro-F1 is the plain mean of ``F1_k`` over the classes present in gold or in pred, each class
weighing the same whatever its size, a class never predicted counting 0 (scikit-learn's
``f1_score(average="macro")``, whatever its zero_division); a class that appears in neither is left
out, as scikit-learn does by default, since it says nothing about this set.
"""
from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence

import numpy as np


def _check(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> None:
    for name, labels in (("gold", gold), ("pred", pred)):
        # a (N, 1) array would compare rows, a str its characters (a list may hold tuples as labels)
        if isinstance(labels, str) or (isinstance(labels, np.ndarray) and labels.ndim != 1):
            got = "a str" if isinstance(labels, str) else f"an array of shape {labels.shape}"
            raise ValueError(f"Expected {name} as a 1-D sequence of labels, got {got}")
        if not isinstance(labels, (Sequence, np.ndarray)):  # a generator, a set: no length, no order
            raise TypeError(f"Expected {name} to be a list or 1-D array of labels, got {type(labels).__name__}"
                            + (" (pass list(...))" if isinstance(labels, Iterable) else ""))
        # a nested list [[1], [2]] is the (N, 1) array above: its rows are lists, which no label can be
        # (a label must be hashable); a tuple label stays allowed
        plain = isinstance(labels, np.ndarray) and labels.dtype != object
        row = None if plain else next((x for x in labels if isinstance(x, (list, np.ndarray))), None)
        if row is not None:
            raise ValueError(f"Expected {name} as a 1-D sequence of labels, got a nested sequence holding "
                             f"{type(row).__name__} {_short(row)}")
    if len(gold) != len(pred):
        raise ValueError(f"Expected as many predictions as gold labels ({len(gold)}), got {len(pred)}")
    if len(gold) == 0:
        raise ValueError("Expected at least one example to score, got none")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _sorted(labels: set) -> list:
    """The labels sorted; labels written as integers ("1", "2", "10", as a file's label column holds them) by
    their value, not as text (1, 10, 2); labels of types that do not compare (1 and "pos") by type name, then
    value."""
    if labels and all(isinstance(v, str) and re.fullmatch(r"[+-]?[0-9]+", v) for v in labels):
        return sorted(labels, key=lambda v: (int(v), v))  # v breaks ties: "01" and "1" are two labels
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=lambda v: (type(v).__name__, repr(v)))


def accuracy(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """Fraction of examples whose predicted label equals the gold label."""
    _check(gold, pred)
    return sum(int(g == p) for g, p in zip(gold, pred)) / len(gold)


def confusion_matrix(gold: Sequence[Hashable], pred: Sequence[Hashable],
                     labels: Sequence[Hashable] | None = None) -> tuple[np.ndarray, list]:
    """``(matrix, labels)``: ``matrix[i, j]`` (K, K) counts examples of gold ``labels[i]`` predicted ``labels[j]``.

    ``labels`` fixes the order; by default the sorted labels present in gold or pred (grouped by type
    when they do not compare, as 1 and "1").  A label of
    gold or pred missing from ``labels`` raises ValueError.
    """
    _check(gold, pred)
    if labels is None:
        labels = _sorted(set(gold) | set(pred))
    labels = list(labels)
    index = {label: i for i, label in enumerate(labels)}
    if len(index) != len(labels):
        raise ValueError(f"Expected distinct labels, got {labels}")
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)  # (K, K)
    for name, values in (("gold", gold), ("pred", pred)):
        for k, value in enumerate(values):
            if value not in index:
                raise ValueError(f"Expected every {name} label among labels {labels}, got {value!r} at example {k}")
    for g, p in zip(gold, pred):
        matrix[index[g], index[p]] += 1
    return matrix, labels


def top_confusions(matrix: np.ndarray, labels: Sequence[Hashable], n: int = 10) -> list[tuple[Hashable, Hashable, int]]:
    """The ``n`` most frequent errors of a confusion matrix (K, K) (rows gold, columns predicted, as
    :func:`confusion_matrix`): ``[(gold, predicted, count), ...]``, the largest off-diagonal cells
    first, ties in the labels' order; cells of 0 are left out, so a matrix without errors gives []."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape != (len(labels), len(labels)):
        raise ValueError(f"Expected a ({len(labels)}, {len(labels)}) confusion matrix for {len(labels)} labels, "
                         f"got shape {matrix.shape}")
    gold, pred = np.nonzero(matrix * (1 - np.eye(len(labels), dtype=matrix.dtype)))  # (E,) each: the error cells
    order = sorted(range(len(gold)), key=lambda e: (-matrix[gold[e], pred[e]], gold[e], pred[e]))[:n]
    return [(labels[gold[e]], labels[pred[e]], int(matrix[gold[e], pred[e]])) for e in order]


def per_class_prf(gold: Sequence[Hashable], pred: Sequence[Hashable],
                  labels: Sequence[Hashable] | None = None) -> dict:
    """``{label: {"precision", "recall", "f1", "support"}}`` for each label (default: present in gold or pred);
    precision None for a label never predicted, recall None for one never in gold (see the module doc)."""
    matrix, labels = confusion_matrix(gold, pred, labels)
    return confusion_prf(matrix, labels)


def confusion_prf(matrix: np.ndarray, labels: Sequence[Hashable], present_only: bool = False) -> dict:
    """``{label: {"precision", "recall", "f1", "support"}}`` from a confusion matrix (K, K) (rows gold,
    columns predicted, as :func:`confusion_matrix`), for every label, or with ``present_only`` for those
    present in gold or pred (a matrix summed over parts of the data, over all K classes)."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape != (len(labels), len(labels)):
        raise ValueError(f"Expected a ({len(labels)}, {len(labels)}) confusion matrix for {len(labels)} labels, "
                         f"got shape {matrix.shape}")
    tp = np.diag(matrix)  # (K,)
    predicted = matrix.sum(axis=0)  # (K,) examples predicted as each class
    support = matrix.sum(axis=1)  # (K,) gold examples of each class
    result = {}
    for k, label in enumerate(labels):
        denominator = predicted[k] + support[k]  # = 2 tp + fp + fn
        if present_only and not denominator:
            continue
        precision = float(tp[k] / predicted[k]) if predicted[k] else None  # 0/0: undefined, not 0
        recall = float(tp[k] / support[k]) if support[k] else None
        f1 = float(2 * tp[k] / denominator) if denominator else None  # in neither gold nor pred: 0/0
        result[label] = {"precision": precision, "recall": recall, "f1": f1, "support": int(support[k])}
    return result


def confusion_macro_f1(matrix: np.ndarray) -> float:
    """Macro-F1 from a confusion matrix (K, K): the mean F1 over the classes present in gold or pred
    (see the module docstring); NaN for a matrix of no examples."""
    matrix = np.asarray(matrix)
    scores = confusion_prf(matrix, range(matrix.shape[0]) if matrix.ndim == 2 else [], present_only=True)
    return float(np.mean([s["f1"] for s in scores.values()])) if scores else float("nan")


def macro_f1(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """Mean per-class F1 over the classes present in gold or pred (see the module docstring)."""
    return confusion_macro_f1(confusion_matrix(gold, pred)[0])
