"""Recursive networks over trees: the bracketed-tree reader, batching by height, finite differences
for both cells, PyTorch parity (a node-by-node recursion under autograd), and a task learned."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.trees import Tree, parse_tree, read_trees
from rnnkit.errors import DataError
from rnnkit.gradcheck import numeric_grad
from rnnkit.treenet import TreeNet, TreeNetConfig, make_batch

SST_LINE = "(3 (2 (2 The) (2 Rock)) (4 (2 is) (4 (3 very) (4 good))))"


def random_tree(rng: np.random.Generator, n: int, V: int, K: int) -> tuple[Tree, np.ndarray]:
    """A random binary tree over n leaves (random split points), random labels, random word ids."""
    def build(lo: int, hi: int) -> str:
        lab = int(rng.integers(0, K))
        if hi - lo == 1:
            return f"({lab} w{lo})"
        cut = int(rng.integers(lo + 1, hi))
        return f"({lab} {build(lo, cut)} {build(cut, hi)})"

    return parse_tree(build(0, n)), rng.integers(0, V, n)


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
    """The numbers of children the internal nodes of ``trees`` have."""
    return {len(t.kids(k)) for t in trees for k in range(len(t.labels)) if t.leaf[k] < 0}


def some_trees(rng: np.random.Generator, cell: str, sizes: tuple[int, ...], V: int = 9, K: int = 5) -> list:
    """(tree, word ids) of the given sizes: binary for the binary cells; for "childsum" with nodes of 1, 2
    and 3+ children among them (redrawn until so)."""
    if cell != "childsum":
        return [random_tree(rng, n, V, K) for n in sizes]
    while True:
        trees = [nary_tree(rng, n, V, K) for n in sizes]
        seen = arities([t for t, _ in trees])
        if {1, 2} <= seen and max(seen) >= 3:
            return trees


def test_parse_keeps_post_order_words_and_labels():
    t = parse_tree(SST_LINE)
    assert t.tokens == ["The", "Rock", "is", "very", "good"]
    assert t.labels.tolist() == [2, 2, 2, 2, 3, 4, 4, 4, 3] and t.root_label == 3
    assert t.children.tolist() == [[-1, -1], [-1, -1], [0, 1], [-1, -1], [-1, -1], [-1, -1], [4, 5], [3, 6], [2, 7]]
    assert t.leaf.tolist() == [0, 1, -1, 2, 3, 4, -1, -1, -1]
    one = parse_tree("(1 alone)")
    assert one.tokens == ["alone"] and one.children.tolist() == [[-1, -1]]
    nbsp = parse_tree("(2 (2 8\u00a01\\/2) (2 .))")  # SST has a word holding a no-break space
    assert nbsp.tokens == ["8\u00a01\\/2", "."]


@pytest.mark.parametrize("line,message", [
    ("(3 (2 a) (2 b)", "1 more ')'"),
    ("(3 (2 a) (2 b)))", "end after the root"),
    ("(3 (2 a) (2 b) (2 c))", "exactly 2 children"),
    ("(3 (2 a))", "exactly 2 children"),
    ("(x (2 a) (2 b))", "a label"),
    ("((2 a) (2 b))", "a label"),
    ("(3 (2 a b) (2 c))", "')' after the word 'a'"),
    ("a b c", "outside a leaf"),
    (")", "unmatched ')'"),
])
def test_malformed_trees_raise_one_line_naming_file_and_line(tmp_path, line, message):
    path = tmp_path / "trees.txt"
    path.write_text(SST_LINE + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_trees(path)
    text = str(e.value)
    assert f"{path}:3:" in text and message in text and "\n" not in text, text
    path.write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match="no trees"):
        read_trees(path)


def test_batch_levels_cover_every_internal_node_once_and_children_come_first():
    rng = np.random.default_rng(0)
    trees = [random_tree(rng, n, 9, 5) for n in (1, 2, 7, 4)]
    b = make_batch([t for t, _ in trees], [w for _, w in trees])
    assert b.num_nodes == sum(2 * n - 1 for n in (1, 2, 7, 4)) and b.leaves.size == 14
    done = np.zeros(b.num_nodes, bool)
    done[b.leaves] = True
    for lv in b.levels:
        assert done[lv.left].all() and done[lv.right].all() and not done[lv.nodes].any()
        done[lv.nodes] = True
    assert done.all()
    assert b.roots.tolist() == np.cumsum([1, 3, 13, 7]).__sub__(1).tolist()
    assert b.words.tolist() == np.concatenate([w for _, w in trees]).tolist()


def _model(cell, rng, dropout=0.0, V=9, K=5, E=4, H=3):
    m = TreeNet(TreeNetConfig(V, K, cell=cell, embedding_dim=E, hidden_size=H, dropout=dropout, dtype="float64"), rng)
    for v in m.params.values():  # every parameter random and non-zero, biases included
        v[...] = rng.uniform(-0.8, 0.8, v.shape)
    return m


CELLS = ["rnn", "rntn", "lstm", "childsum"]  # childsum: on trees with nodes of 1, 2 and 3+ children


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_gradients_match_finite_differences(cell, dropout):
    rng = np.random.default_rng(1)
    model = _model(cell, rng, dropout)
    trees = some_trees(rng, cell, (6, 1, 3, 8))
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
        # central differences of a summed loss ~ 30 carry ~1e-8 of rounding noise; a wrong term is ~1e-3
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-7, err_msg=name)
        assert np.abs(grads[name]).max() > 1e-4, f"{name}: no gradient reached it"


def _torch_loss(torch, cell, params, trees, words, labels=None, drops=None):
    """The same model written node by node with torch tensors, differentiated by autograd.

    labels: one (N_b,) array a tree, -1 unlabelled (default: the trees' own); drops: rnnkit's
    scaled dropout multipliers in batch order, (n, E) on the leaves' vectors and (N, H) on the states."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    H = P["compose.weight"].shape[1] // (1 if cell == "childsum" else 2)
    U, b = P["compose.weight"], P["compose.bias"]
    labels = [t.labels for t in trees] if labels is None else labels
    total = 0.0
    n_seen = N_seen = 0  # leaves and nodes of the earlier trees: the offsets into the batch-order masks
    for t, w, lab in zip(trees, words, labels):
        h, c = [None] * len(t.labels), [None] * len(t.labels)
        for k in range(len(t.labels)):
            kids = t.kids(k)
            if not kids:
                x = P["embedding.weight"][int(w[t.leaf[k]])]
                if drops is not None:
                    x = x * drops[0][n_seen]
                n_seen += 1
                z = P["leaf.weight"] @ x + P["leaf.bias"]
                if cell in ("lstm", "childsum"):
                    i, o, u = torch.sigmoid(z[:H]), torch.sigmoid(z[H:2 * H]), torch.tanh(z[2 * H:])
                    c[k] = i * u
                    h[k] = o * torch.tanh(c[k])
                else:
                    h[k] = torch.tanh(z)
            elif cell == "childsum":  # Tai et al.'s Child-Sum equations, x = 0 at internal nodes
                hsum = torch.stack([h[j] for j in kids]).sum(0)
                i = torch.sigmoid(U[:H] @ hsum + b[:H])
                o = torch.sigmoid(U[2 * H:3 * H] @ hsum + b[2 * H:3 * H])
                u = torch.tanh(U[3 * H:] @ hsum + b[3 * H:])
                c[k] = i * u + sum(torch.sigmoid(U[H:2 * H] @ h[j] + b[H:2 * H]) * c[j] for j in kids)
                h[k] = o * torch.tanh(c[k])
            else:
                left, right = kids
                a = torch.cat([h[left], h[right]])
                z = P["compose.weight"] @ a + P["compose.bias"]
                if cell == "rntn":
                    z = z + torch.einsum("i,kij,j->k", a, P["compose.tensor"], a) / (2 * H)  # stored times 2H
                if cell == "lstm":
                    i, fl, fr, o = (torch.sigmoid(z[j * H:(j + 1) * H]) for j in range(4))
                    c[k] = i * torch.tanh(z[4 * H:]) + fl * c[left] + fr * c[right]
                    h[k] = o * torch.tanh(c[k])
                else:
                    h[k] = torch.tanh(z)
        hs = torch.stack(h)
        if drops is not None:
            hs = hs * drops[1][N_seen:N_seen + len(h)]
        N_seen += len(h)
        logits = hs @ P["output.weight"].T + P["output.bias"]
        total = total + torch.nn.functional.cross_entropy(logits, torch.from_numpy(np.asarray(lab)), ignore_index=-1,
                                                          reduction="sum")
    return total, P


@pytest.mark.parametrize("cell", CELLS)
def test_matches_pytorch(cell):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    model = _model(cell, rng, H=4)
    trees = some_trees(rng, cell, (5, 2, 9))
    batch = make_batch([t for t, _ in trees], [w for _, w in trees])
    loss, count, cache = model.loss(batch)
    grads = model.backward(1.0, cache)
    t_loss, P = _torch_loss(torch, cell, model.params, [t for t, _ in trees], [w for _, w in trees])
    t_loss.backward()
    assert count == batch.num_nodes
    assert abs(loss - t_loss.item()) < 1e-10 * abs(loss), (loss, t_loss.item())
    for name, p in P.items():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_matches_pytorch_with_unlabelled_nodes_dropout_and_random_dloss(cell):
    """Some nodes (a root too) unlabelled, dropout on the word vectors and the states with rnnkit's own
    masks carried into the torch rebuild, and a random upstream gradient: loss, count, every gradient."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    model = _model(cell, rng, dropout=0.3, H=4)
    trees = some_trees(rng, cell, (5, 1, 8))
    labels = [np.where(rng.random(len(t.labels)) < 0.35, -1, t.labels) for t, _ in trees]
    labels[0][-1] = -1  # the first tree's root
    batch = make_batch([t for t, _ in trees], [w for _, w in trees], labels)
    dloss = float(rng.uniform(-2.0, -0.5))
    loss, count, cache = model.loss(batch, training=True, rng=np.random.default_rng(7))
    grads = model.backward(dloss, cache)
    drops = [torch.from_numpy(d.mask * d.scale) for d in (cache.emb_drop, cache.out_drop)]
    assert all(0 < (d == 0).float().mean() < 1 for d in drops), "dropout must drop some units and keep others"
    t_loss, P = _torch_loss(torch, cell, model.params, [t for t, _ in trees], [w for _, w in trees], labels, drops)
    (dloss * t_loss).backward()
    assert 0 < count == sum(int((lab >= 0).sum()) for lab in labels) < batch.num_nodes
    assert abs(loss - t_loss.item()) < 1e-10 * abs(loss), (loss, t_loss.item())
    assert set(grads) == set(P)
    for name, p in P.items():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
        assert np.abs(grads[name]).max() > 1e-4, f"{name}: no gradient reached it"


@pytest.mark.parametrize("cell", ["lstm", "childsum"])
def test_float32_model_agrees_with_float64(cell):
    rng = np.random.default_rng(5)
    m64 = _model(cell, rng, H=6)
    cfg32 = TreeNetConfig(9, 5, cell=cell, embedding_dim=4, hidden_size=6, dropout=0.0, dtype="float32")
    m32 = TreeNet(cfg32, rng)
    for k, v in m64.params.items():
        m32.params[k][...] = v
    trees = some_trees(rng, cell, (7, 3, 5))
    batch = make_batch([t for t, _ in trees], [w for _, w in trees])
    l64, _, c64 = m64.loss(batch)
    l32, _, c32 = m32.loss(batch)
    g64, g32 = m64.backward(1.0, c64), m32.backward(1.0, c32)
    assert abs(l32 - l64) < 1e-5 * abs(l64)
    for k in g64:
        assert g32[k].dtype == np.float32
        np.testing.assert_allclose(g32[k], g64[k], rtol=1e-3, atol=1e-4, err_msg=k)


# childsum learns parity through a sum of children more slowly (30 epochs against 12): on binary trees,
# and on trees of 1-4 children a node
@pytest.mark.parametrize("cell,arity,epochs", [("rnn", "binary", 12), ("rntn", "binary", 12), ("lstm", "binary", 12),
                                               ("childsum", "binary", 12), ("childsum", "any", 30)])
def test_learns_a_compositional_task(cell, arity, epochs):
    """Label of a node = parity of the number of 'not' leaves below it: only composition can get the roots
    right; the training loss must fall and held-out roots must be mostly right."""
    from rnnkit.optim import make_optimizer

    rng = np.random.default_rng(0)
    draw = random_tree if arity == "binary" else nary_tree

    def make(n_trees):
        out = []
        for _ in range(n_trees):
            t, w = draw(rng, int(rng.integers(2, 6 if arity == "binary" else 7)), 2, 2)  # word 1 'not', 0 'fine'
            count = np.zeros(len(t.labels), np.int64)
            for k in range(len(t.labels)):
                count[k] = w[t.leaf[k]] if t.leaf[k] >= 0 else sum(count[c] for c in t.kids(k))
            out.append((t._replace(labels=count % 2), w))
        return out

    train, test = make(400), make(100)
    most = max(arities([t for t, _ in train]))
    assert (most == 2) if arity == "binary" else (most >= 3), most
    model = TreeNet(TreeNetConfig(2, 2, cell=cell, embedding_dim=8, hidden_size=16, dropout=0.0, dtype="float64"),
                    np.random.default_rng(1))
    opt = make_optimizer("adam", model.params, lr=0.02)
    losses = []
    for epoch in range(epochs):
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


def test_word_dropout_trains_the_unk_vector_and_is_recorded():
    from rnnkit.treenet.task import TreeEncoder, TreeTask

    trees = [parse_tree(line) for line in ["(3 (2 the) (4 good))", "(1 (2 the) (0 bad))"] * 10]
    enc = TreeEncoder.build(trees, 5, min_count=1)
    unk = enc.vocab.unk_id

    def unk_grad(p):
        model = TreeNet(TreeNetConfig(len(enc.vocab), 5, "lstm", 4, 3, 0.0), np.random.default_rng(0))
        task = TreeTask(model, enc, trees, batch_size=20, word_dropout=p)
        seen = []
        real = model.loss
        model.loss = lambda b, **kw: seen.append(b.words.copy()) or real(b, **kw)
        g = task.train_step(np.arange(20), None, np.random.default_rng(1)).grads["embedding.weight"]
        g = g.to_dense() if hasattr(g, "to_dense") else g
        return np.abs(g[unk]).sum(), seen[0], task.meta()["word_dropout"]

    g0, words0, p0 = unk_grad(0.0)
    g5, words5, p5 = unk_grad(0.5)
    assert g0 == 0 and not (words0 == unk).any() and p0 == 0.0  # min count 1: no training word is <unk>
    assert g5 > 0 and 0.3 < (words5 == unk).mean() < 0.7 and p5 == 0.5
    with pytest.raises(ValueError, match="word_dropout"):
        TreeTask(TreeNet(TreeNetConfig(len(enc.vocab), 5), np.random.default_rng(0)), enc, trees, word_dropout=1.0)


def test_tree_validation_loss_is_the_mean_node_nll():
    from rnnkit.treenet.task import TreeEncoder, TreeTask

    trees = [parse_tree(line) for line in ["(3 (2 the) (4 good))", "(1 (2 the) (0 (1 very) (0 bad)))"] * 4]
    enc = TreeEncoder.build(trees, 5, min_count=1)
    model = TreeNet(TreeNetConfig(len(enc.vocab), 5, "lstm", 4, 3, 0.2), np.random.default_rng(2))
    task = TreeTask(model, enc, trees, trees[:3], batch_size=4)
    m = task.evaluate()
    loss, n, _ = model.loss(enc.batch(trees[:3]))  # summed NLL over labelled nodes, no dropout
    assert m["loss"] == pytest.approx(loss / n, rel=1e-6) and task.criterion(m) == 1.0 - m["root_accuracy"]
