"""A batch of trees flattened for level-by-level computation.

The B trees' nodes are laid end to end (each tree in post-order), N nodes in all.  A node's height
is 0 at a leaf and 1 + max(children's heights) above; all nodes of one height depend only on lower
ones, so a recursive network computes every leaf in one call and then each height of every tree in
the batch at once (one GEMM per height, not one per node).  Within a height every node has its own
two children, and every child has one parent, so scattering gradients back with ``a[idx] += g`` is
exact (no index repeats).
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
    left: np.ndarray  # (m,) their left children
    right: np.ndarray  # (m,) their right children


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
    for k, (left, right) in enumerate(children.tolist()):
        if left >= 0:
            h[k] = 1 + max(h[left], h[right])
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
    children = np.concatenate([np.where(t.children >= 0, t.children + o, -1) for t, o in zip(trees, offsets)])
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
        levels.append(Level(nodes, children[nodes, 0], children[nodes, 1]))
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
