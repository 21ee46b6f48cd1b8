"""Class weights for the classifier's loss (:class:`rnnkit.classify.model.ClassifierConfig.class_weights`).

``balanced`` is scikit-learn's ``compute_class_weight("balanced")``: class k of N_k among N training
texts of K classes weighs ``N / (K N_k)``, so every class adds the same total weight to the loss and
the weights average 1 over the training texts.  ``none`` leaves every class at 1.  Otherwise the
weights are given by label, ``LABEL=W,LABEL=W``: a label not named keeps 1 (``pos=3`` counts a
positive text three times), and a name that is not a training label is refused (a typo would
otherwise weigh nothing), as is a weight that is not above 0 (the class would never be learnt).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rnnkit.checks import check_id_values

CLASS_WEIGHTS = ("none", "balanced")


def balanced_class_weights(labels: np.ndarray, num_classes: int) -> tuple[float, ...]:
    """``N / (K N_k)`` for each class k of the label ids ``labels`` (N,) in [0, K); every class must occur."""
    labels = check_id_values("labels", labels, num_classes)
    counts = np.bincount(labels, minlength=num_classes)  # (K,)
    if labels.size == 0 or counts.min() == 0:
        missing = [k for k in range(num_classes) if counts[k] == 0]
        raise ValueError(f"Expected every class among the labels for balanced weights, got none of class(es) {missing}")
    return tuple(float(w) for w in labels.size / (num_classes * counts))


def parse_class_weights(spec: str, name: str = "class weights") -> str | list[tuple[str, float]]:
    """``"none"``, ``"balanced"`` or the ``(label, weight)`` pairs of ``LABEL=W,...`` in their order; ValueError
    naming ``name`` and the part that is not a label, ``=`` and a number > 0."""
    spec = spec.strip()
    if spec in ("none", "balanced"):
        return spec
    pairs = []
    for part in spec.split(","):
        label, eq, value = part.strip().rpartition("=")
        if not eq or not label:
            raise ValueError(f"{name} {spec!r}: expected none, balanced or LABEL=W,LABEL=W,..., got {part!r}")
        try:
            w = float(value)
        except ValueError:
            w = math.nan
        if not (math.isfinite(w) and w > 0):  # 0 (or less) would take the class's texts out of the loss
            raise ValueError(f"{name} {spec!r}: expected a number > 0 for {label!r} (a class of weight 0 is never "
                             f"learnt), got {value!r}; give a positive weight, or leave {label} out (weight 1)")
        pairs.append((label, w))
    return pairs


def class_weights_from(spec: str, labels: Sequence[str], label_ids: np.ndarray,
                       name: str = "class weights") -> tuple[float, ...] | None:
    """The weights ``spec`` (``none``, ``balanced`` or ``LABEL=W,...``; see the module docstring) gives the
    classes ``labels`` (the model's, in order), ``label_ids`` (N,) being the training texts' classes; None
    for ``none``.  ValueError naming ``name`` (the option) and the part of ``spec`` that is wrong."""
    parsed = parse_class_weights(spec, name)
    if parsed == "none":
        return None
    if parsed == "balanced":
        return balanced_class_weights(label_ids, len(labels))
    spec = spec.strip()
    weights = dict.fromkeys(labels, 1.0)
    seen = set()
    for label, w in parsed:
        if label not in weights:
            raise ValueError(f"{name} {spec!r}: {label!r} is not a label of the training data (its labels: "
                             f"{', '.join(map(repr, labels[:10]))}{', ...' if len(labels) > 10 else ''})")
        if label in seen:
            raise ValueError(f"{name} {spec!r}: {label!r} is given twice")
        seen.add(label)
        weights[label] = w
    return tuple(weights[label] for label in labels)
