"""k-fold cross-validation for datasets without an official split (rt-polarity: 10 folds).

The folds are a deterministic function of ``(n, k, seed)`` (and of the labels when stratified):
the same seed gives the same folds on any machine, so published numbers can be reproduced.  Each
example is in exactly one test fold; fold sizes differ by at most one (per class when stratified:
each class's examples, shuffled, are dealt to the folds in turn).

The score is reported as the mean over folds with the sample standard deviation (ddof = 1).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit.checks import check_int, check_number


def kfold_indices(n: int, k: int, seed: int = 0,
                  labels: Sequence[Any] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` pairs ``(train_indices, test_indices)`` over ``range(n)``, each sorted.

    With ``labels`` (length n) the folds are stratified: every fold gets about 1/k of each class.
    """
    n = check_int("n", n, 1)
    k = check_int("k", k, 2)
    seed = check_int("seed", seed, 0)
    if n < k:
        raise ValueError(f"Expected at least k={k} examples for {k} folds, got {n}")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(n, dtype=np.int64)  # (n,) test fold of each example
    if labels is None:
        perm = rng.permutation(n)
        fold_of[perm] = np.arange(n) % k
    else:
        labels = list(labels)
        if len(labels) != n:
            raise ValueError(f"Expected {n} labels, got {len(labels)}")
        start = 0
        for label in sorted(set(labels), key=str):
            members = np.array([i for i, y in enumerate(labels) if y == label], dtype=np.int64)
            members = members[rng.permutation(members.size)]
            # continue the round-robin where the previous class stopped, so sizes stay balanced
            fold_of[members] = (start + np.arange(members.size)) % k
            start += members.size
    everything = np.arange(n)
    return [(everything[fold_of != f], everything[fold_of == f]) for f in range(k)]


def holdout_split(indices: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split ``indices`` into ``(rest, held_out)`` with about ``fraction`` held out (e.g. a validation set)."""
    fraction = check_number("fraction", fraction, 0.0, 1.0, low_open=True, high_open=True)
    seed = check_int("seed", seed, 0)
    indices = np.asarray(indices)
    if indices.ndim != 1:
        raise ValueError(f"Expected indices as a 1-D array, got shape {indices.shape}")
    perm = np.random.default_rng(seed).permutation(indices.size)
    m = max(1, int(round(fraction * indices.size)))
    return np.sort(indices[perm[m:]]), np.sort(indices[perm[:m]])


@dataclass
class CrossValResult:
    """The per-fold metrics of :func:`cross_validate` and their mean and standard deviation."""

    folds: list[dict[str, float]]  # the metrics of every fold
    mean: dict[str, float]
    std: dict[str, float]  # sample standard deviation over folds


def cross_validate(n: int, k: int, run_fold: Callable[[int, np.ndarray, np.ndarray], dict[str, float]],
                   seed: int = 0, labels: Sequence[Any] | None = None) -> CrossValResult:
    """Call ``run_fold(fold, train_indices, test_indices) -> metrics`` for each fold; aggregate.

    ``run_fold`` trains a fresh model on the training indices and scores it on the test ones.
    """
    if not callable(run_fold):
        raise TypeError(f"Expected run_fold to be a function (fold, train_indices, test_indices) -> metrics, "
                        f"got {type(run_fold).__name__}")
    results = []
    for fold, (train, test) in enumerate(kfold_indices(n, k, seed, labels)):
        metrics = run_fold(fold, train, test)
        if not isinstance(metrics, Mapping):
            raise TypeError(f"Expected run_fold to return a dict of metrics, got {type(metrics).__name__} "
                            f"for fold {fold}")
        for name, v in metrics.items():
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"Expected run_fold's metrics to be numbers, got {type(v).__name__} {v!r:.40} for "
                                f"{name!r} of fold {fold}")
        if results and set(metrics) != set(results[0]):
            raise ValueError(f"Expected run_fold to return the same metrics for every fold, got {sorted(metrics)} "
                             f"for fold {fold} and {sorted(results[0])} for fold 0")
        results.append({name: float(v) for name, v in metrics.items()})
    names = list(results[0])
    mean = {name: float(np.mean([r[name] for r in results])) for name in names}
    std = {name: float(np.std([r[name] for r in results], ddof=1)) for name in names}
    return CrossValResult(results, mean, std)
