"""A batch of trees flattened for level-by-level computation.

The B trees' nodes are laid end to end (each tree in post-order), N nodes in all.  A node's height
is 0 at a leaf and 1 + max(children's heights) above; all nodes of one height depend only on lower
ones, so a recursive network computes every leaf in one call and then each height of every tree in
the batch at once (one GEMM per height, not one per node).  Within a height every node has its own
children, and every child has one parent, so scattering gradients back with ``a[idx] += g`` is
exact (no index repeats).

A level lists its nodes' children twice: ``left`` and ``right`` for the binary cells (None when a
node of the level has other than 2 children), and ``kids`` with ``first`` and ``owner`` for any
number (the Child-Sum Tree-LSTM): node j's children are ``kids[first[j]:first[j + 1]]``, so
``np.add.reduceat(v[kids], first)`` sums each node's children's rows in one call.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from rnnkit.checks import check_id_values
from rnnkit.data.trees import Tree
from rnnkit.fielddoc import fields_in_doc


class Level(NamedTuple):
    """The internal nodes of one height across the batch, with their children."""

    nodes: np.ndarray  # (m,) node indices of this height
    left: np.ndarray | None  # (m,) their left children; None if a node has other than 2 children
    right: np.ndarray | None  # (m,) their right children; None alike
    kids: np.ndarray  # (k,) every child of the m nodes, grouped by parent, left to right
    first: np.ndarray  # (m,) where each node's children start in kids (np.add.reduceat's offsets)
    owner: np.ndarray  # (k,) the position in nodes (0..m-1) of each kid's parent


@fields_in_doc
class TreeBatch(NamedTuple):
    """B trees flattened end to end (post-order, N nodes), made by :func:`make_batch`."""

    num_nodes: int  # N
    leaves: np.ndarray  # (n,) node index of every leaf
    words: np.ndarray  # (n,) word id of every leaf
    levels: list[Level]  # heights 1, 2, ... in order
    labels: np.ndarray  # (N,) int64 label per node, -1 where a node has no label to learn
    roots: np.ndarray  # (B,) node index of every root


def _heights(children: np.ndarray) -> np.ndarray:
    """(N,) height of every node of one post-ordered tree."""
    h = np.zeros(len(children), dtype=np.int64)
    for k, kids in enumerate(children.tolist()):
        if kids[0] >= 0:
            h[k] = 1 + max(h[c] for c in kids if c >= 0)
    return h


def make_batch(trees: Sequence[Tree], word_ids: Sequence[np.ndarray], labels: Sequence[np.ndarray] | None = None
               ) -> TreeBatch:
    """Flatten trees with their leaves' word ids (one (n_b,) array a tree) and, optionally, node labels
    to learn (one (N_b,) array a tree, -1 for none; default: the trees' own labels)."""
    if isinstance(trees, Tree) or not isinstance(trees, Sequence):
        raise TypeError(f"Expected trees to be a list of Tree, got {type(trees).__name__}")
    if len(trees) == 0:
        raise ValueError("Expected at least one tree in a batch, got none")
    if len(word_ids) != len(trees) or (labels is not None and len(labels) != len(trees)):
        raise ValueError(f"Expected word ids (and labels) for each of the {len(trees)} trees, got {len(word_ids)}")
    for b, t in enumerate(trees):
        if not isinstance(t, Tree):
            raise TypeError(f"Expected trees[{b}] to be a Tree (rnnkit.data.trees.parse_tree), got {type(t).__name__}")
    # word ids are ints (a float id 1.7 would be cut to 1; words are encoded with a vocabulary first)
    word_ids = [check_id_values(f"word_ids[{b}]", w) for b, w in enumerate(word_ids)]
    offsets = np.cumsum([0] + [len(t.labels) for t in trees])
    N = int(offsets[-1])
    C = max(t.children.shape[1] for t in trees)  # the widest node's children (2 for binary trees)
    children = np.full((N, C), -1, dtype=np.int64)  # (N, C) batch node indices, -1 padded
    for t, o in zip(trees, offsets):
        children[o : o + len(t.labels), : t.children.shape[1]] = np.where(t.children >= 0, t.children + o, -1)
    heights = np.concatenate([_heights(t.children) for t in trees])
    leaf_pos = np.concatenate([t.leaf for t in trees])
    is_leaf = leaf_pos >= 0
    leaves = np.flatnonzero(is_leaf)
    for t, w in zip(trees, word_ids):
        if w.shape != (len(t.tokens),):
            raise ValueError(f"Expected one word id per leaf ({len(t.tokens)}), got shape {w.shape}")
    words = np.concatenate([w[t.leaf[t.leaf >= 0]] for t, w in zip(trees, word_ids)])
    levels = []
    for height in range(1, int(heights.max()) + 1):
        nodes = np.flatnonzero(heights == height)
        kid = children[nodes]  # (m, C)
        real = kid >= 0  # children left-aligned: a row's real ones come first
        counts = real.sum(axis=1)  # (m,) >= 1
        binary = bool((counts == 2).all())
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        owner = np.repeat(np.arange(nodes.size), counts)
        levels.append(Level(nodes, kid[:, 0] if binary else None, kid[:, 1] if binary else None, kid[real], first,
                            owner))
    if labels is None:
        lab = np.concatenate([t.labels for t in trees])
    else:  # ints >= -1 (-1: no label); a label 2.9 would be cut to 2, and -5 taken for "none"
        lab = [check_id_values(f"labels[{b}]", x, low=-1) for b, x in enumerate(labels)]
        for b, (t, x) in enumerate(zip(trees, lab)):
            if x.shape != t.labels.shape:
                raise ValueError(f"Expected labels[{b}] to hold one label per node {t.labels.shape}, got shape {x.shape}")
        lab = np.concatenate(lab)
    if lab.shape != (N,):
        raise ValueError(f"Expected one label per node ({N}), got {lab.shape[0]}")
    return TreeBatch(N, leaves, words, levels, lab.astype(np.int64), offsets[1:] - 1)


def check_binary(batch: TreeBatch, cell: str) -> None:
    """ValueError naming the first node (tree of the batch, post-order index) with other than 2 children,
    for the binary cells."""
    for lv in batch.levels:
        if lv.left is not None:
            continue
        counts = np.diff(np.append(lv.first, lv.kids.size))  # (m,) children per node
        j = int(np.flatnonzero(counts != 2)[0])
        node = int(lv.nodes[j])
        b = int(np.searchsorted(batch.roots, node))  # the tree holding it
        start = int(batch.roots[b - 1]) + 1 if b else 0
        raise ValueError(f"Expected binary trees for cell {cell!r} (2 children at every internal node), got "
                         f"{counts[j]} children at node {node - start} (post-order) of trees[{b}]; binarise the trees, "
                         "or use cell 'childsum' (the Child-Sum Tree-LSTM), which takes any number")
