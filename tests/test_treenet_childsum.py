"""The Child-Sum Tree-LSTM over trees of any arity: batching of n-ary levels, finite differences of the
cell (random upstream gradient) and of the model (dropout, unlabelled nodes), PyTorch parity with the
same equations written node by node under autograd, the binary cells' refusal, and a task learned."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.trees import Tree, parse_tree
from rnnkit.gradcheck import numeric_grad
from rnnkit.treenet import TreeNet, TreeNetConfig, cells, make_batch


def nary_tree(rng: np.random.Generator, n: int, V: int, K: int, most: int = 4) -> tuple[Tree, np.ndarray]:
    """A random tree over n leaves whose internal nodes have 1 to ``most`` children (unary nodes too),
    random labels and word ids."""
    def build(lo: int, hi: int, depth: int = 0) -> str:
        lab = int(rng.integers(0, K))
        if hi - lo == 1 and (depth > 2 or rng.random() < 0.7):
            return f"({lab} w{lo})"
        if hi - lo == 1:  # a unary node over a smaller tree
            return f"({lab} {build(lo, hi, depth + 1)})"
        parts = min(hi - lo, int(rng.integers(2, most + 1)))
        cuts = np.sort(rng.choice(np.arange(lo + 1, hi), size=parts - 1, replace=False)).tolist()
        edges = [lo, *cuts, hi]
        return f"({lab} " + " ".join(build(a, b, depth + 1) for a, b in zip(edges, edges[1:])) + ")"

    return parse_tree(build(0, n), arity="any"), rng.integers(0, V, n)


def arities(trees: list[Tree]) -> set[int]:
    return {len(t.kids(k)) for t in trees for k in range(len(t.labels)) if t.leaf[k] < 0}


def some_trees(rng: np.random.Generator, sizes: tuple[int, ...], V: int = 9, K: int = 5) -> list:
    """Trees of the given sizes with nodes of 1, 2 and 3+ children among them (redrawn until so)."""
    while True:
        trees = [nary_tree(rng, n, V, K) for n in sizes]
        seen = arities([t for t, _ in trees])
        if {1, 2} <= seen and max(seen) >= 3:
            return trees


def _model(rng, dropout=0.0, V=9, K=5, E=4, H=3, dtype="float64"):
    m = TreeNet(TreeNetConfig(V, K, cell="childsum", embedding_dim=E, hidden_size=H, dropout=dropout, dtype=dtype),
                rng)
    for v in m.params.values():  # every parameter random and non-zero, biases included
        v[...] = rng.uniform(-0.8, 0.8, v.shape)
    return m


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


def test_cell_gradients_match_finite_differences_with_a_random_upstream_gradient():
    rng = np.random.default_rng(1)
    H, E = 3, 4
    params = cells.init_params("childsum", E, H, rng, np.float64)
    for v in params.values():
        v[...] = rng.uniform(-0.9, 0.9, v.shape)
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
    p = cells.init_params("childsum", E, H, rng, np.float64)
    for v in p.values():
        v[...] = rng.uniform(-1, 1, v.shape)
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


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_model_gradients_match_finite_differences(dropout):
    rng = np.random.default_rng(3)
    model = _model(rng, dropout)
    trees = some_trees(rng, (6, 1, 3, 8))
    labels = [np.where(rng.random(len(t.labels)) < 0.3, -1, t.labels) for t, _ in trees]  # some unlabelled
    batch = make_batch([t for t, _ in trees], [w for _, w in trees], labels)
    dloss = float(rng.uniform(0.5, 1.5))
    training = dropout > 0

    def loss():
        return model.loss(batch, training, np.random.default_rng(3))[0]

    _, _, cache = model.loss(batch, training, np.random.default_rng(3))
    grads = model.backward(dloss, cache)
    assert set(grads) == set(model.params)
    for name, p in model.params.items():
        num = dloss * numeric_grad(loss, p)
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-7, err_msg=name)
        assert np.abs(grads[name]).max() > 1e-4, f"{name}: no gradient reached it"


def _torch_loss(torch, params, trees, words, labels, drops):
    """The Child-Sum Tree-LSTM node by node in torch (Tai et al.'s equations with x = 0 at internal
    nodes), differentiated by autograd; drops: rnnkit's scaled dropout multipliers in batch order."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    H = P["compose.weight"].shape[1]
    U, b = P["compose.weight"], P["compose.bias"]
    total = 0.0
    n_seen = N_seen = 0
    for t, w, lab in zip(trees, words, labels):
        h, c = [None] * len(t.labels), [None] * len(t.labels)
        for k in range(len(t.labels)):
            kids = t.kids(k)
            if not kids:
                x = P["embedding.weight"][int(w[t.leaf[k]])] * drops[0][n_seen]
                n_seen += 1
                z = P["leaf.weight"] @ x + P["leaf.bias"]
                c[k] = torch.sigmoid(z[:H]) * torch.tanh(z[2 * H:])
                h[k] = torch.sigmoid(z[H:2 * H]) * torch.tanh(c[k])
                continue
            hsum = torch.stack([h[j] for j in kids]).sum(0)
            i = torch.sigmoid(U[:H] @ hsum + b[:H])
            o = torch.sigmoid(U[2 * H:3 * H] @ hsum + b[2 * H:3 * H])
            u = torch.tanh(U[3 * H:] @ hsum + b[3 * H:])
            c[k] = i * u + sum(torch.sigmoid(U[H:2 * H] @ h[j] + b[H:2 * H]) * c[j] for j in kids)
            h[k] = o * torch.tanh(c[k])
        hs = torch.stack(h) * drops[1][N_seen:N_seen + len(h)]
        N_seen += len(h)
        logits = hs @ P["output.weight"].T + P["output.bias"]
        total = total + torch.nn.functional.cross_entropy(logits, torch.from_numpy(np.asarray(lab)), ignore_index=-1,
                                                          reduction="sum")
    return total, P


def test_matches_pytorch_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    model = _model(rng, dropout=0.3, H=5)
    trees = some_trees(rng, (5, 1, 9, 7))
    labels = [np.where(rng.random(len(t.labels)) < 0.3, -1, t.labels) for t, _ in trees]
    batch = make_batch([t for t, _ in trees], [w for _, w in trees], labels)
    dloss = float(rng.uniform(-2.0, -0.5))
    loss, count, cache = model.loss(batch, training=True, rng=np.random.default_rng(7))
    grads = model.backward(dloss, cache)
    drops = [torch.from_numpy(d.mask * d.scale) for d in (cache.emb_drop, cache.out_drop)]
    assert all(0 < (d == 0).float().mean() < 1 for d in drops)
    t_loss, P = _torch_loss(torch, model.params, [t for t, _ in trees], [w for _, w in trees], labels, drops)
    (dloss * t_loss).backward()
    assert abs(loss - t_loss.item()) < 1e-10 * abs(loss), (loss, t_loss.item())
    assert set(grads) == set(P)
    for name, p in P.items():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
        assert np.abs(grads[name]).max() > 1e-4, f"{name}: no gradient reached it"


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


def test_float32_agrees_with_float64():
    rng = np.random.default_rng(6)
    m64 = _model(rng, H=6)
    m32 = TreeNet(TreeNetConfig(9, 5, cell="childsum", embedding_dim=4, hidden_size=6, dropout=0.0), rng)
    for k, v in m64.params.items():
        m32.params[k][...] = v
    trees = some_trees(rng, (7, 3, 5))
    batch = make_batch([t for t, _ in trees], [w for _, w in trees])
    (l64, _, c64), (l32, _, c32) = m64.loss(batch), m32.loss(batch)
    g64, g32 = m64.backward(1.0, c64), m32.backward(1.0, c32)
    assert abs(l32 - l64) < 1e-5 * abs(l64)
    for k in g64:
        assert g32[k].dtype == np.float32
        np.testing.assert_allclose(g32[k], g64[k], rtol=1e-3, atol=1e-4, err_msg=k)


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


EPOCHS = 30  # slower than the binary cells (12): parity through a sum of children is harder to learn


def test_learns_a_compositional_task_over_nary_trees():
    """Label of a node = parity of the number of 'not' leaves below it, on trees of 1-4 children a node."""
    from rnnkit.optim import make_optimizer

    rng = np.random.default_rng(0)

    def make(n_trees):
        out = []
        for _ in range(n_trees):
            t, w = nary_tree(rng, int(rng.integers(2, 7)), 2, 2)  # word 1 = 'not', 0 = 'fine'
            count = np.zeros(len(t.labels), np.int64)
            for k in range(len(t.labels)):
                count[k] = w[t.leaf[k]] if t.leaf[k] >= 0 else sum(count[c] for c in t.kids(k))
            out.append((t._replace(labels=count % 2), w))
        return out

    train, test = make(400), make(100)
    assert max(arities([t for t, _ in train])) >= 3
    model = TreeNet(TreeNetConfig(2, 2, cell="childsum", embedding_dim=8, hidden_size=16, dropout=0.0,
                                  dtype="float64"), np.random.default_rng(1))
    opt = make_optimizer("adam", model.params, lr=0.02)
    losses = []
    for epoch in range(EPOCHS):
        total = 0.0
        for s in range(0, len(train), 20):
            chunk = train[s:s + 20]
            batch = make_batch([t for t, _ in chunk], [w for _, w in chunk])
            loss, n, cache = model.loss(batch)
            opt.step(model.backward(1.0 / n, cache))
            total += loss
        losses.append(total)
    batch = make_batch([t for t, _ in test], [w for _, w in test])
    pred = model.predict_proba(batch)[batch.roots].argmax(axis=1)
    acc = np.mean(pred == batch.labels[batch.roots])
    assert losses[-1] < 0.3 * losses[0], losses
    assert acc > 0.9, acc
