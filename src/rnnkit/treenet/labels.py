"""How the node labels of a tree file become the classes a tree model learns: the label scheme.

- ``"sst5"`` (fine-grained, SST-5; the default): SST's labels 0-4 as they are, 5 classes.
- ``"sst2"`` (binary, SST-2): labels 0, 1 become 0 (negative) and 3, 4 become 1 (positive); neutral
  nodes (2) get no loss, and trees whose root is neutral are left out, as in Socher et al. (2013)
  and Tai et al. (2015): 6,920 / 872 / 1,821 trees in train / dev / test.
- ``"as-is"`` (a user's own labels): the labels 0..K-1 as they are, K classes, K read from the
  training trees (1 + their largest label).  Every one of 0..K-1 must label some training node: a
  gap would be a class the softmax has but never learns (:func:`as_is_classes` refuses it).

A checkpoint keeps the scheme (``label_scheme``) beside ``classes`` (K); one written before the scheme
was kept has ``classes`` 5 or 2 alone, which :func:`scheme_for` reads as ``"sst5"`` or ``"sst2"``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnkit.data.trees import Tree
from rnnkit.errors import DataError

SCHEMES = ("sst5", "sst2", "as-is")
SST_CLASSES = {"sst5": 5, "sst2": 2}  # the SST schemes' fixed class counts
BINARY = np.array([0, 0, -1, 1, 1], dtype=np.int64)  # SST's 0-4 -> negative / none / positive
SST2_WRITTEN = np.array([1, 3], dtype=np.int64)  # SST-2's classes 0, 1 written as SST's labels that BINARY reads back


def written_labels(classes: int, scheme: str | None = None) -> np.ndarray:
    """(K,) the label a tree file gets for each class, such that reading it with the scheme gives the class back:
    SST-2's negative 0 and positive 1 as SST's 1 and 3 (its own 0 and 1 would both read as negative), the
    other schemes' classes as they are."""
    if scheme_for(classes, scheme) == "sst2":
        return SST2_WRITTEN.copy()
    return np.arange(classes, dtype=np.int64)


def check_scheme(scheme: str) -> str:
    """``scheme`` if it is one of :data:`SCHEMES`, else ValueError."""
    if scheme not in SCHEMES:
        raise ValueError(f"Expected a label scheme among {', '.join(SCHEMES)}, got {scheme!r}")
    return scheme


def scheme_for(classes: int, scheme: str | None = None) -> str:
    """The label scheme: ``scheme`` checked against ``classes``, or, without one (an older
    checkpoint, a caller of the first API), SST's of ``classes`` 5 or 2."""
    if scheme is None:
        if classes == 5:
            return "sst5"
        if classes == 2:
            return "sst2"
        raise ValueError(f"Expected classes 5 (fine-grained) or 2 (binary) for SST's labels, got {classes!r} "
                         "(other labels: label scheme 'as-is')")
    check_scheme(scheme)
    if scheme in SST_CLASSES and classes != SST_CLASSES[scheme]:
        raise ValueError(f"Expected {SST_CLASSES[scheme]} classes for label scheme {scheme!r}, got {classes!r}")
    if scheme == "as-is" and not (isinstance(classes, int) and classes >= 2):
        raise ValueError(f"Expected at least 2 classes for label scheme 'as-is', got {classes!r}")
    return scheme


def task_labels(tree: Tree, classes: int, scheme: str | None = None) -> np.ndarray:
    """(N,) labels to learn: the tree's own (``"sst5"``, ``"as-is"``) or SST-2's (-1 at neutral nodes)."""
    scheme = scheme_for(classes, scheme)
    if tree.labels.min() < 0:  # a tree read without its labels (for prediction) has nothing to learn
        raise ValueError("Expected a label on every node of a tree to learn from, got an unlabelled node")
    top = int(tree.labels.max())
    if scheme == "as-is":
        if top >= classes:
            raise ValueError(f"Expected labels 0-{classes - 1} (the {classes} classes), got {top}")
        return tree.labels
    if top > 4:
        raise ValueError(f"Expected SST labels 0-4 for label scheme {scheme!r}, got {top}")
    return tree.labels if scheme == "sst5" else BINARY[tree.labels]


def select_trees(trees: Sequence[Tree], classes: int, scheme: str | None = None) -> list[Tree]:
    """The trees of a task: those with a non-neutral root for ``"sst2"``, all of them otherwise."""
    if scheme_for(classes, scheme) == "sst2":
        return [t for t in trees if t.root_label != 2]
    return list(trees)


def as_is_classes(trees: Sequence[Tree], where: str) -> int:
    """K for labels read as they are: 1 + the largest label of ``trees``; DataError (naming ``where``)
    if some label below it labels no node."""
    seen = {int(x) for t in trees for x in np.unique(t.labels)}
    K = max(seen) + 1
    if len(seen) < K:  # a gap; look for the first few missing labels only (a label may be huge)
        missing = []
        k = 0
        while len(missing) < 3 and k < K:
            if k not in seen:
                missing.append(k)
            k += 1
        more = K - len(seen) - len(missing)
        shown = ", ".join(map(str, missing)) + (f" and {more:,} more" if more > 0 else "")
        plural = "s" if K - len(seen) > 1 else ""
        raise DataError(f"{where}: labels read as they are (--labels as-is) are the classes 0-{K - 1} (the largest "
                        f"label is {K - 1}), and no node has the label{plural} {shown}; number the labels 0 to K-1 "
                        "without gaps")
    return K
