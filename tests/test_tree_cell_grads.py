"""The binary tree cells (rnn, rntn, lstm) on their own, as tests/test_treenet_childsum.py checks the child-sum cell:
a random upstream gradient at every node's state (not one derived from a loss), every entry of x and of every
parameter against float64 central differences."""
from __future__ import annotations

import numpy as np
import pytest
from fullfd import assert_every_entry
from test_treenet import some_trees

from rnnkit.treenet import cells, make_batch


@pytest.mark.parametrize("cell", ["rnn", "rntn", "lstm"])
def test_cell_gradients_match_finite_differences_with_a_random_upstream_gradient(cell):
    rng = np.random.default_rng(1)
    H, E = 3, 4
    params = cells.init_params(cell, E, H, rng, np.float64)
    for v in params.values():  # every one random and non-zero (biases too)
        v[...] = rng.uniform(-0.9, 0.9, v.shape)
    trees = some_trees(rng, cell, (7, 1, 4, 6))
    batch = make_batch([t for t, _ in trees], [w for _, w in trees])
    x = rng.standard_normal((batch.leaves.size, E))
    G = rng.standard_normal((batch.num_nodes, H))  # dL/dh at every node: L = sum(G * h)

    def loss():
        return float((cells.forward(cell, x, batch, params)[0] * G).sum())

    _, cache = cells.forward(cell, x, batch, params)
    dx, grads = cells.backward(G.copy(), cache)
    assert_every_entry(loss, {"x": x, **params}, {"x": dx, **grads}, tol=1e-7)
