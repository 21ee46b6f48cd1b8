r"""A recursive network that labels every node of a tree: the Stanford Sentiment Treebank model.

For a batch of trees (see :mod:`rnnkit.treenet.batch`) with N nodes and n leaves::

    x_j   = dropout(E[w_j])                     # (n, E) the leaves' word vectors
    h     = TreeNet(x)                          # (N, H) every node's state, :mod:`rnnkit.treenet.cells`
                                                # (:mod:`rnnkit.treenet.childsum` for any arity)
    z_k   = U dropout(h_k) + b                  # (N, K) class scores at every node
    loss  = - sum_{k labelled} log softmax(z_k)[y_k]

Every labelled node contributes (SST labels every phrase); nodes with label -1 do not (the neutral
phrases of the binary task).  Prediction reads the root's scores.

Parameters: ``embedding.weight`` (V, E) ~ N(0, 1) like ``nn.Embedding``, ``leaf.*`` and ``compose.*``
(and the RNTN's ``compose.tensor``: the cell's), ``output.weight`` (K, H) and ``output.bias`` (K,).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from rnnkit.checkpoint_task import copy_into
from rnnkit.checks import check_config, check_dtype_name, check_int, check_rate, check_rng
from rnnkit.fielddoc import fields_in_doc
from rnnkit.nn.dropout import dropout_backward, dropout_forward
from rnnkit.nn.softmax import softmax, softmax_cross_entropy, softmax_cross_entropy_backward
from rnnkit.treenet import cells
from rnnkit.treenet.batch import TreeBatch


@fields_in_doc
@dataclass(frozen=True)
class TreeNetConfig:
    """Sizes, cell and dropout of a :class:`TreeNet`."""

    vocab_size: int  # V
    num_classes: int  # K
    cell: str = "lstm"  # "lstm" (binary Tree-LSTM), "rnn" (Tree-RNN), "rntn" (recursive neural tensor network)
    #   over binary trees; "childsum" (Child-Sum Tree-LSTM) over trees of any arity
    embedding_dim: int = 100  # E
    hidden_size: int = 150  # H
    dropout: float = 0.5  # on the word vectors and on the node states before the output layer
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.cell not in cells.GATES:
            raise ValueError(f"Expected cell one of {cells.CELLS}, got {self.cell!r}")
        for name in ("vocab_size", "num_classes", "embedding_dim", "hidden_size"):
            check_int(name, getattr(self, name), 1)
        check_rate("dropout", self.dropout)
        # np.float32 as well as "float32", like the other models' configs; the name is kept (JSON holds it)
        object.__setattr__(self, "dtype", check_dtype_name("dtype", self.dtype))

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict of its fields."""
        return asdict(self)


class TreeNetCache(NamedTuple):
    """What :meth:`TreeNet.backward` needs from :meth:`TreeNet.loss`."""

    emb_drop: Any
    tree: cells.TreeCache | cells.childsum.ChildSumCache
    out_drop: Any
    hd: np.ndarray  # (N, H) node states after dropout
    ce: Any
    words: np.ndarray  # (n,) the leaves' word ids


class TreeNet:
    """Embedding -> recursive cell over each tree -> softmax at every node; see the module docstring."""

    def __init__(self, config: TreeNetConfig, rng: np.random.Generator) -> None:
        check_config(config, TreeNetConfig)
        check_rng(rng)
        cfg = config
        self.config = cfg
        dtype = np.dtype(cfg.dtype)
        H, K = cfg.hidden_size, cfg.num_classes
        p = {"embedding.weight": rng.standard_normal((cfg.vocab_size, cfg.embedding_dim)).astype(dtype)}
        p.update(cells.init_params(cfg.cell, cfg.embedding_dim, H, rng, dtype))
        bound = 1.0 / np.sqrt(H)
        p["output.weight"] = rng.uniform(-bound, bound, (K, H)).astype(dtype)
        p["output.bias"] = rng.uniform(-bound, bound, (K,)).astype(dtype)
        self.params = p

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters in place, checking names and shapes."""
        copy_into(self.params, arrays, "the tree model's")

    def _check(self, batch: TreeBatch) -> None:
        if not isinstance(batch, TreeBatch):
            raise TypeError(f"Expected batch to be a TreeBatch (rnnkit.treenet.make_batch of the trees and their "
                            f"word ids), got {type(batch).__name__}")
        V, K = self.config.vocab_size, self.config.num_classes
        for name, array in (("words", batch.words), ("labels", batch.labels)):
            if not (isinstance(array, np.ndarray) and array.dtype.kind in "iu"):
                raise TypeError(f"Expected batch.{name} to be an integer array, got "
                                f"{getattr(array, 'dtype', type(array).__name__)}")
        if batch.words.size and (batch.words.min() < 0 or batch.words.max() >= V):
            raise ValueError(f"Expected word ids in [0, {V}), got values in [{batch.words.min()}, {batch.words.max()}]")
        if batch.labels.size and (batch.labels.max() >= K or batch.labels.min() < -1):
            bad = batch.labels.max() if batch.labels.max() >= K else batch.labels.min()
            raise ValueError(f"Expected labels in [0, {K}) (or -1 for none), got {bad}")

    def states(self, batch: TreeBatch, training: bool = False,
               rng: np.random.Generator | None = None) -> tuple[np.ndarray, tuple]:
        """Every node's state h (N, H) and the caches up to it."""
        self._check(batch)
        p, cfg = self.params, self.config
        x = np.take(p["embedding.weight"], batch.words, axis=0)  # (n, E)
        x, emb_drop = dropout_forward(x, cfg.dropout, rng, training)
        h, tcache = cells.forward(cfg.cell, x, batch, p)
        return h, (emb_drop, tcache)

    def loss(self, batch: TreeBatch, training: bool = False,
             rng: np.random.Generator | None = None) -> tuple[float, int, TreeNetCache]:
        """Summed NLL over the labelled nodes, their count, and the cache for :meth:`backward`."""
        h, (emb_drop, tcache) = self.states(batch, training, rng)
        hd, out_drop = dropout_forward(h, self.config.dropout, rng, training)
        logits = hd @ self.params["output.weight"].T + self.params["output.bias"]  # (N, K)
        mask = batch.labels >= 0
        total, ce = softmax_cross_entropy(logits, batch.labels, mask, reduction="sum")
        return total, int(mask.sum()), TreeNetCache(emb_drop, tcache, out_drop, hd, ce, batch.words)

    def backward(self, dloss: float, cache: TreeNetCache) -> dict[str, np.ndarray]:
        """Gradients of dloss * loss for every parameter, keyed like ``params``."""
        p = self.params
        dlogits = softmax_cross_entropy_backward(dloss, cache.ce)  # (N, K)
        grads = {"output.weight": dlogits.T @ cache.hd, "output.bias": dlogits.sum(axis=0)}
        dh, _ = dropout_backward(dlogits @ p["output.weight"], cache.out_drop)  # (N, H)
        dx, g = cells.backward(dh, cache.tree)  # dh is a fresh array: the cell may overwrite it
        grads.update(g)
        dx, _ = dropout_backward(dx, cache.emb_drop)
        demb = np.zeros_like(p["embedding.weight"])
        np.add.at(demb, cache.words, dx)  # a word may sit at several leaves
        grads["embedding.weight"] = demb
        return grads

    def predict_proba(self, batch: TreeBatch) -> np.ndarray:
        """Class probabilities (N, K) at every node (evaluation: no dropout)."""
        h, _ = self.states(batch)
        return softmax(h @ self.params["output.weight"].T + self.params["output.bias"])
