"""The Child-Sum Tree-LSTM over trees of any arity: its parameters, batching of n-ary levels, finite
differences of the cell with a random upstream gradient, the equations on a hand-built tree, the order
of children, and the binary cells' refusal.  The model's finite differences (dropout, unlabelled nodes),
PyTorch parity and a task learned are tests/test_treenet.py's, parametrized over every cell."""
from __future__ import annotations

import numpy as np
import pytest

from test_treenet import _model as model_of
from test_treenet import some_trees as trees_of

from rnnkit.data.trees import parse_tree
from rnnkit.gradcheck import numeric_grad
from rnnkit.treenet import TreeNet, TreeNetConfig, cells, make_batch


def some_trees(rng: np.random.Generator, sizes: tuple[int, ...]) -> list:
    """(tree, word ids) of the given sizes with nodes of 1, 2 and 3+ children among them."""
    return trees_of(rng, "childsum", sizes)


def _model(rng: np.random.Generator, **sizes) -> TreeNet:
    """A float64 Child-Sum model, every parameter random and non-zero (biases too)."""
    return model_of("childsum", rng, **sizes)


def test_parameters_and_levels_of_any_arity():
    rng = np.random.default_rng(0)
    m = _model(rng, E=4, H=3)
    shapes = {k: v.shape for k, v in m.params.items() if k.startswith(("leaf", "compose"))}
    assert shapes == {"leaf.weight": (9, 4), "leaf.bias": (9,), "compose.weight": (12, 3), "compose.bias": (12,)}
    trees = some_trees(rng, (6, 1, 5, 7))
    b = make_batch([t for t, _ in trees], [w for _, w in trees])
    done = np.zeros(b.num_nodes, bool)
    done[b.leaves] = True
    offsets = np.cumsum([0] + [len(t.labels) for t, _ in trees])
    parent_of = {}
    for bi, (t, _) in enumerate(trees):
        for k in range(len(t.labels)):
            for c in t.kids(k):
                parent_of[offsets[bi] + c] = offsets[bi] + k
    for lv in b.levels:
        assert done[lv.kids].all() and not done[lv.nodes].any()
        assert [parent_of[c] for c in lv.kids.tolist()] == lv.nodes[lv.owner].tolist()
        assert lv.first.tolist() == np.flatnonzero(np.diff(np.concatenate([[-1], lv.owner]))).tolist()
        counts = np.bincount(lv.owner, minlength=lv.nodes.size)
        assert (lv.left is None) == bool((counts != 2).any())
        done[lv.nodes] = True
    assert done.all() and len(parent_of) == b.num_nodes - len(trees)


def cell_params(rng: np.random.Generator, E: int, H: int) -> dict:
    """The cell's float64 parameters, every one random and non-zero (biases too)."""
    params = cells.init_params("childsum", E, H, rng, np.float64)
    for v in params.values():
        v[...] = rng.uniform(-0.9, 0.9, v.shape)
    return params


def test_cell_gradients_match_finite_differences_with_a_random_upstream_gradient():
    rng = np.random.default_rng(1)
    H, E = 3, 4
    params = cell_params(rng, E, H)
    trees = some_trees(rng, (7, 1, 4, 6))
    batch = make_batch([t for t, _ in trees], [w for _, w in trees])
    x = rng.standard_normal((batch.leaves.size, E))
    G = rng.standard_normal((batch.num_nodes, H))  # dL/dh at every node: L = sum(G * h)

    def loss():
        return float((cells.forward("childsum", x, batch, params)[0] * G).sum())

    _, cache = cells.forward("childsum", x, batch, params)
    dx, grads = cells.backward(G.copy(), cache)
    assert set(grads) == set(params)
    for name, arr, g in [("x", x, dx), *((k, params[k], grads[k]) for k in params)]:
        num = numeric_grad(loss, arr)
        err = np.abs(g - num).max()
        assert err < 1e-7, f"{name}: max difference {err:.2e}"
        assert np.abs(g).max() > 1e-3, f"{name}: no gradient reached it"


def test_cell_equals_the_equations_on_a_hand_built_tree():
    """(a b c) under one node, then that node and d under the root: h~, one forget gate per child."""
    rng = np.random.default_rng(2)
    H, E = 2, 3
    p = cell_params(rng, E, H)
    t = parse_tree("(1 (1 (0 a) (0 b) (0 c)) (1 d))", arity="any")
    b = make_batch([t], [np.arange(4)])
    x = rng.standard_normal((4, E))
    h, _ = cells.forward("childsum", x, b, p)

    def sig(z):
        return 1 / (1 + np.exp(-z))

    U, bias = p["compose.weight"], p["compose.bias"]

    def leaf(xv):
        z = p["leaf.weight"] @ xv + p["leaf.bias"]
        c = sig(z[:H]) * np.tanh(z[2 * H:])
        return sig(z[H:2 * H]) * np.tanh(c), c

    def node(kids):
        hs = sum(k[0] for k in kids)
        i, o, u = (sig(U[:H] @ hs + bias[:H]), sig(U[2 * H:3 * H] @ hs + bias[2 * H:3 * H]),
                   np.tanh(U[3 * H:] @ hs + bias[3 * H:]))
        c = i * u + sum(sig(U[H:2 * H] @ hk + bias[H:2 * H]) * ck for hk, ck in kids)
        return o * np.tanh(c), c

    a, bb, c, d = (leaf(x[j]) for j in range(4))
    abc = node([a, bb, c])
    root = node([abc, d])
    # post-order: a b c (abc) d root
    expected = np.stack([a[0], bb[0], c[0], abc[0], d[0], root[0]])
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-14)


def test_the_order_of_children_does_not_matter():
    """h~ sums the children and each has its own forget gate from its own state: a node's state is the
    same whatever order its children come in."""
    rng = np.random.default_rng(5)
    model = _model(rng)
    one = parse_tree("(1 (2 (0 a) (1 b) (3 c)) (4 d) (2 (1 e)))", arity="any")
    other = parse_tree("(1 (2 (1 e)) (2 (3 c) (0 a) (1 b)) (4 d))", arity="any")
    ids = {w: k for k, w in enumerate("abcde")}
    roots = []
    for t in (one, other):
        b = make_batch([t], [np.array([ids[w] for w in t.tokens])])
        roots.append(model.predict_proba(b)[b.roots[0]])
    np.testing.assert_allclose(roots[0], roots[1], rtol=1e-12)
    swapped = model.predict_proba(make_batch([one], [np.array([3, 1, 2, 0, 4])]))[-1]  # a and d trade places
    assert not np.allclose(roots[0], swapped)


@pytest.mark.parametrize("cell", ["lstm", "rnn", "rntn"])
def test_binary_cells_refuse_a_node_of_other_arity_naming_it(cell):
    rng = np.random.default_rng(7)
    model = TreeNet(TreeNetConfig(9, 5, cell=cell, embedding_dim=4, hidden_size=3, dropout=0.0), rng)
    trees = [parse_tree("(1 (2 a) (3 b))"), parse_tree("(1 (2 a) (3 (1 b) (1 c) (2 d)))", arity="any")]
    batch = make_batch(trees, [np.array([0, 1]), np.array([0, 1, 2, 3])])
    with pytest.raises(ValueError) as e:
        model.loss(batch)
    msg = str(e.value)
    assert msg.startswith(f"Expected binary trees for cell {cell!r}") and "\n" not in msg, msg
    assert "got 3 children at node 4 (post-order) of trees[1]" in msg and "'childsum'" in msg, msg
