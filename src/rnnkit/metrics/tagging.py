"""Tagging metrics: token accuracy, and span precision / recall / F1 as the conlleval script scores them.

Span scores come from ``seqeval`` in its default mode, a port of conlleval's chunk rules (see
:mod:`rnnkit.data.spans`): a predicted span counts only when its type, start and end all equal a
gold span's.  With ``c`` correct, ``p`` predicted and ``g`` gold spans::

    precision = c / p      recall = c / g      F1 = 2 * precision * recall / (precision + recall)

each 0 when its denominator is 0, as conlleval prints them.  Scores are fractions in [0, 1]
(conlleval prints percentages).  Sentences are scored as one stream with a sentence end closing
every span, as conlleval does at a blank line.
"""
from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np

from rnnkit.data.spans import check_tags


def _check_pairs(gold: Sequence[Sequence], pred: Sequence[Sequence]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"Expected as many predicted sentences as gold ones ({len(gold)}), got {len(pred)}")
    for k, (g, p) in enumerate(zip(gold, pred)):
        if isinstance(g, str) or isinstance(p, str):  # "AB" would count as the tags "A", "B"
            raise TypeError(f"Expected sentence {k} as a list of tags, got a str")
        if len(g) != len(p):
            raise ValueError(f"Expected {len(g)} predicted tags for sentence {k} (its gold length), got {len(p)}")


def _rows(a):
    """A 1-D object array of sentences (ragged, as np.array(list_of_lists, dtype=object) makes) as a list."""
    if isinstance(a, np.ndarray) and a.dtype == object and a.ndim == 1 and len(a) \
            and all(isinstance(r, (list, tuple, np.ndarray)) for r in a):
        return list(a)
    return a


_RAGGED_WARNING = getattr(np, "exceptions", np).VisibleDeprecationWarning  # np.exceptions: numpy >= 1.25


def _array(name: str, a) -> np.ndarray:
    try:
        with warnings.catch_warnings():  # numpy < 1.24 warns and makes an object array instead of raising
            warnings.simplefilter("error", _RAGGED_WARNING)
            return np.asarray(a)
    except (ValueError, _RAGGED_WARNING):  # sentences of different lengths
        raise ValueError(f"Expected {name} as an array of tag ids, e.g. (B, T), or both gold and pred as lists of "
                         "sentences, got sentences of different lengths next to an array or a mask") from None


def token_accuracy(gold, pred, mask=None) -> float:
    """Fraction of tokens whose predicted tag equals the gold tag.

    ``gold`` and ``pred`` are lists of sentences (lists of tags), or arrays of tag ids of the same
    shape, e.g. (B, T), with ``mask`` (same shape, true or 1 for real tokens) leaving out the padding.
    """
    gold, pred = _rows(gold), _rows(pred)
    if isinstance(gold, np.ndarray) or isinstance(pred, np.ndarray) or mask is not None:
        gold = _array("gold", gold)
        pred = _array("pred", pred)
        if gold.shape != pred.shape:
            raise ValueError(f"Expected pred of shape {gold.shape} (the shape of gold), got {pred.shape}")
        keep = np.ones(gold.shape, dtype=bool) if mask is None else _array("mask", mask)
        if keep.shape != gold.shape:
            raise ValueError(f"Expected mask of shape {gold.shape} (the shape of gold), got {keep.shape}")
        if keep.dtype != bool:  # 0/1 numbers as softmax_cross_entropy takes them; 2 or 0.5 is no mask
            if keep.dtype.kind not in "iuf":
                raise TypeError(f"Expected mask of dtype bool (or 0/1 numbers), got {keep.dtype}")
            if not np.isin(keep, (0, 1)).all():
                raise ValueError(f"Expected mask to be bool or hold only 0 and 1, got values "
                                 f"{np.unique(keep[~np.isin(keep, (0, 1))])[:5].tolist()}")
            keep = keep == 1
        total = int(keep.sum())
        correct = int(((gold == pred) & keep).sum())
    else:
        _check_pairs(gold, pred)
        total = sum(len(g) for g in gold)
        correct = sum(int(a == b) for g, p in zip(gold, pred) for a, b in zip(g, p))
    if total == 0:
        raise ValueError("Expected at least one token to score, got none")
    return correct / total


_SPAN_SCHEMES = {"bio": "iob2", "iob2": "iob2", "iob1": "iob1", "bioes": "bioes"}  # as rnnkit.tagging names them

SEQEVAL_HINT = "span F1 needs seqeval: pip install 'rnnkit[tagging]' (or pip install seqeval)"


def require_seqeval() -> None:
    """Raise the install hint at once when span F1 will be needed: before training, not after it."""
    try:
        import seqeval  # noqa: F401
    except ImportError:
        raise ImportError(SEQEVAL_HINT) from None


def span_prf(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str = "iob2") -> dict:
    """conlleval span scores: ``{"precision", "recall", "f1", "per_type": {type: {...}}}``.

    ``scheme`` ("iob1", "iob2" = "bio", or "bioes") decides which tag prefixes are accepted; the chunk rules
    are conlleval's for every scheme.  Each ``per_type`` entry holds precision, recall, f1 and
    ``support`` (number of gold spans), for every type found in gold or pred, in sorted order; a type's
    precision is None when no span of it was found, its recall None when gold has none (undefined, where
    conlleval prints 0.00%), as :func:`rnnkit.metrics.per_class_prf` gives them.
    Needs the ``seqeval`` package (``pip install rnnkit[tagging]``).
    """
    try:
        from seqeval.metrics.sequence_labeling import get_entities, precision_recall_fscore_support
    except ImportError:
        raise ImportError(SEQEVAL_HINT) from None
    if not isinstance(scheme, str) or scheme not in _SPAN_SCHEMES:
        raise ValueError(f"Expected scheme to be one of {tuple(_SPAN_SCHEMES)} ('bio' is 'iob2'), got {scheme!r}")
    scheme = _SPAN_SCHEMES[scheme]
    _check_pairs(gold, pred)
    gold = [list(s) for s in gold]
    pred = [list(s) for s in pred]
    for name, sentences in (("gold", gold), ("pred", pred)):
        for k, tags in enumerate(sentences):
            try:
                check_tags(tags, scheme)
            except ValueError as exc:
                raise ValueError(f"{exc} in {name} sentence {k}") from None
    types = sorted({t for s in (gold, pred) for t, _, _ in get_entities(s)})
    # zero_division=0 is conlleval's convention and keeps seqeval from warning
    p, r, f, _ = precision_recall_fscore_support(gold, pred, average="micro", zero_division=0)
    per_type = {}
    if types:
        ps, rs, fs, supports = precision_recall_fscore_support(gold, pred, average=None, zero_division=0)
        found = Counter(t for t, _, _ in get_entities(pred))  # spans predicted, by type
        for t, pt, rt, ft, st in zip(types, ps, rs, fs, supports):
            per_type[t] = {"precision": float(pt) if found[t] else None, "recall": float(rt) if st else None,
                           "f1": float(ft), "support": int(st)}
    return {"precision": float(p), "recall": float(r), "f1": float(f), "per_type": per_type}
