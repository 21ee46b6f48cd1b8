r"""A row-sparse gradient: the gradient of an embedding table, stored as the rows a batch touched.

An embedding's gradient :math:`\partial L/\partial W` (V, E) is zero but for the rows of the ids in
the batch: for a language model on PTB (V = 10,000, a batch of 20 x 20 tokens) at most 400 of the
10,000 rows.  Kept dense, every step writes 2 million zeros and gradient clipping and the optimizer
read them back; kept as (rows, values), the same update touches only what changed.  It is
``torch.nn.Embedding(sparse=True)``'s idea, with the rows unique and sorted so that
``p[rows] -= lr * values`` is the whole SGD step.

Where a consumer has no sparse path it calls :meth:`RowSparseGrad.to_dense` and gets exactly the
array the dense backward would have returned.
"""
from __future__ import annotations

import numpy as np


class RowSparseGrad:
    """``indices`` (U,) unique, sorted row numbers; ``values`` (U, E); ``shape`` (V, E) of the dense array.

    Row ``indices[k]`` of the dense gradient is ``values[k]``; every other row is zero.
    """

    __slots__ = ("indices", "values", "shape")

    def __init__(self, indices: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> None:
        indices = np.asarray(indices)
        if indices.ndim != 1 or indices.dtype.kind not in "iu":
            raise ValueError(f"Expected indices to be a 1-d integer array, got {indices.dtype} {indices.shape}")
        if not (isinstance(values, np.ndarray) and values.ndim == 2 and values.shape[0] == indices.shape[0]
                and len(shape) == 2 and values.shape[1] == shape[1]):
            raise ValueError(f"Expected values of shape ({indices.shape[0]}, {shape[1]}) for indices "
                             f"{indices.shape} and dense shape {tuple(shape)}, got {getattr(values, 'shape', values)}")
        if indices.size and (indices[0] < 0 or indices[-1] >= shape[0] or np.any(indices[1:] <= indices[:-1])):
            raise ValueError(f"Expected unique, sorted indices in [0, {shape[0]})")
        self.indices = indices
        self.values = values
        self.shape = (int(shape[0]), int(shape[1]))

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``values``."""
        return self.values.dtype

    def to_dense(self) -> np.ndarray:
        """The (V, E) array with ``values`` in the listed rows and zeros elsewhere."""
        out = np.zeros(self.shape, dtype=self.values.dtype)
        out[self.indices] = self.values
        return out

    def __repr__(self) -> str:
        return f"RowSparseGrad({self.indices.shape[0]} of {self.shape[0]} rows, dim {self.shape[1]}, {self.dtype})"
