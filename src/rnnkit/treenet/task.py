"""Tree models as a :class:`rnnkit.train.Task`: the Stanford Sentiment Treebank's two tasks, or a user's
own labels (the label schemes of :mod:`rnnkit.treenet.labels`: ``"sst5"``, ``"sst2"``, ``"as-is"``).

Validation reports the loss (mean NLL per labelled node, the training loss's units), and the accuracy
and macro-F1 of the roots (the figures the papers give) and of all labelled nodes; the best checkpoint
is the one with the most roots right (``criterion`` = 1 - root accuracy), or with
``select_by="macro_f1"`` the one of the highest root macro-F1 (:mod:`rnnkit.train.select_by`).  Batches
are drawn from a generator seeded by ``(seed, epoch)`` so a resumed run sees the same batches.  A
checkpoint holds the parameters under ``model/`` and the metadata
``{"model": "treenet", "treenet_config", "vocab", "classes", "label_scheme", "lowercase", "word_dropout"}``
(``label_scheme`` is absent from checkpoints written before it was kept: SST's scheme of ``classes``).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from rnnkit.checkpoint_files import model_file
from rnnkit.checkpoint_task import check_matches, load_task_checkpoint, reading_metadata, restore_params
from rnnkit.checks import check_bool, check_int, check_rate
from rnnkit.data.trees import Tree
from rnnkit.data.vocab import Vocabulary
from rnnkit.guard import UniformLoss, uniform_guess
from rnnkit.metrics.classification import confusion_macro_f1, confusion_prf
from rnnkit.train.distributed import split_rows
from rnnkit.train.select_by import OPTION, check_select_by, selection_criterion
from rnnkit.train.task import IndependentBatches, StepResult
from rnnkit.treenet.batch import TreeBatch, make_batch
from rnnkit.treenet.labels import BINARY, scheme_for, select_trees, task_labels, written_labels
from rnnkit.treenet.model import TreeNet, TreeNetConfig
from rnnkit.train.digest import value_digest

__all__ = ["BINARY", "TreeEncoder", "TreeTask", "load_treenet", "predict_nodes", "select_trees", "task_labels",
           "tree_scores"]


class TreeEncoder:
    """The word vocabulary (built on the training trees) and the task's label mapping: ``classes`` K and
    the ``scheme`` (:mod:`rnnkit.treenet.labels`; default: SST's of 5 or 2 classes)."""

    def __init__(self, vocab: Vocabulary, classes: int, lowercase: bool = False, scheme: str | None = None) -> None:
        self.vocab = vocab
        self.classes = check_int("classes", classes, 2)
        self.scheme = scheme_for(self.classes, scheme)
        self.lowercase = check_bool("lowercase", lowercase)  # "no" would be true

    @classmethod
    def build(cls, trees: Sequence[Tree], classes: int, lowercase: bool = False, min_count: int = 1,
              scheme: str | None = None) -> TreeEncoder:
        """An encoder whose vocabulary (with ``<unk>``, no end token) holds the words of ``trees`` seen at
        least ``min_count`` times, lowercased with ``lowercase``."""
        enc = cls(Vocabulary(["<unk>"], eos_token=None), classes, lowercase, scheme)
        enc.vocab = Vocabulary.build((w for t in trees for w in enc._words(t)), min_count=min_count, eos_token=None)
        return enc

    def _words(self, tree: Tree) -> list[str]:
        return [w.lower() for w in tree.tokens] if self.lowercase else tree.tokens

    def batch(self, trees: Sequence[Tree], labelled: bool = True) -> TreeBatch:
        """The trees' batch with the task's labels, or with none (-1 everywhere) for prediction."""
        labels = [task_labels(t, self.classes, self.scheme) if labelled else np.full(len(t.labels), -1) for t in trees]
        return make_batch(trees, [self.vocab.encode(self._words(t)) for t in trees], labels)

    def to_json(self) -> dict[str, Any]:
        """The encoder as JSON-safe fields for a checkpoint's metadata."""
        return {"vocab": self.vocab.to_json(), "classes": self.classes, "label_scheme": self.scheme,
                "lowercase": self.lowercase}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TreeEncoder:
        """The encoder saved by :meth:`to_json`."""
        return cls(Vocabulary.from_json(d["vocab"]), d["classes"], d["lowercase"], d.get("label_scheme"))


def tree_scores(model: TreeNet, encoder: TreeEncoder, trees: Sequence[Tree], batch_size: int = 256,
                on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Root accuracy, all-node accuracy (labelled nodes), the mean NLL per labelled node, and for the
    roots and for all labelled nodes (every phrase, Socher et al. 2013's "all") the macro-F1
    (:mod:`rnnkit.metrics.classification`), confusion matrix (``root_confusion[i][j]``: roots of gold
    class i predicted class j, over all K classes; ``node_confusion`` alike) and per-class precision,
    recall and F1 (the classes present in gold or predicted, keyed by label); ``labels[i]``: class i's label
    as a tree file writes it (SST-2's 1 and 3, :func:`rnnkit.treenet.labels.written_labels`, as ``classify``
    writes it); and the predicted root classes.  ``on_batch``: called after each batch with its number of
    words (a progress display)."""
    s = tree_sums(model, encoder, trees, batch_size, on_batch)
    labels = written_labels(encoder.classes, encoder.scheme).tolist()
    out = scores_from_sums(s)
    for level in ("root", "node"):
        # roots without a label to learn (SST-2's neutral ones, in trees select_trees would leave out) are
        # not in the confusion matrix, as unlabelled nodes are not: unscored, where the accuracy counts them
        out.update({f"{level}_confusion": s[f"{level}_confusion"].tolist(),
                    f"{level}_per_class": confusion_prf(s[f"{level}_confusion"], labels, present_only=True)})
    return {**out, "labels": labels, "predictions": s["predictions"]}


def scores_from_sums(s: dict[str, Any]) -> dict[str, Any]:
    """Root and node accuracy, the mean NLL per labelled node and the roots' and nodes' macro-F1 (NaN
    without a labelled one) from :func:`tree_sums` (of one set of trees, or added up over several)."""
    return {"root_accuracy": s["root_right"] / max(1, s["trees"]),
            "node_accuracy": s["node_right"] / max(1, s["nodes"]),
            "loss": s["nll"] / s["nodes"] if s["nodes"] else float("nan"), "trees": s["trees"], "nodes": s["nodes"],
            "root_macro_f1": confusion_macro_f1(s["root_confusion"]),
            "node_macro_f1": confusion_macro_f1(s["node_confusion"])}


def tree_sums(model: TreeNet, encoder: TreeEncoder, trees: Sequence[Tree], batch_size: int = 256,
              on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Right roots, right labelled nodes, labelled nodes, summed NLL over them, trees, the confusion
    matrices (K, K) of the labelled roots and of all labelled nodes, and the predicted root labels, in
    batches of ``batch_size`` trees; ``on_batch`` as :func:`tree_scores` calls it."""
    batch_size = check_int("batch_size", batch_size, 1)
    K = encoder.classes
    root_right = node_right = nodes = 0
    nll = 0.0
    preds = []
    root_confusion = np.zeros((K, K), dtype=np.int64)  # (K, K) rows gold, columns predicted
    node_confusion = np.zeros((K, K), dtype=np.int64)  # (K, K)
    for s in range(0, len(trees), batch_size):
        b = encoder.batch(trees[s : s + batch_size])
        probs = model.predict_proba(b)  # (N, K)
        pred = probs.argmax(axis=1)  # (N,)
        mask = b.labels >= 0
        node_right += int((pred[mask] == b.labels[mask]).sum())
        nodes += int(mask.sum())
        nll -= float(np.log(np.maximum(probs[mask, b.labels[mask]], 1e-300)).sum())
        np.add.at(node_confusion, (b.labels[mask], pred[mask]), 1)
        root_right += int((pred[b.roots] == b.labels[b.roots]).sum())
        kept = b.roots[mask[b.roots]]  # (B',) the roots with a label to learn
        np.add.at(root_confusion, (b.labels[kept], pred[kept]), 1)
        preds.extend(pred[b.roots].tolist())
        _counted(on_batch, trees[s : s + batch_size])
    return {"root_right": root_right, "node_right": node_right, "nodes": nodes, "nll": nll, "trees": len(trees),
            "root_confusion": root_confusion, "node_confusion": node_confusion, "predictions": preds}


def predict_nodes(model: TreeNet, encoder: TreeEncoder, trees: Sequence[Tree], batch_size: int = 256,
                  on_batch: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Class probabilities at every node of every tree: one (N_b, K) array a tree, its nodes in the
    tree's post-order (the root last).  The trees' labels are not read (they may have none); ``on_batch``
    as :func:`tree_scores` calls it."""
    batch_size = check_int("batch_size", batch_size, 1)
    out = []
    for s in range(0, len(trees), batch_size):
        chunk = trees[s : s + batch_size]
        b = encoder.batch(chunk, labelled=False)
        probs = model.predict_proba(b)  # (N, K)
        starts = b.roots + 1 - np.array([len(t.labels) for t in chunk])  # (B,) each tree's first node
        out.extend(probs[a : r + 1] for a, r in zip(starts.tolist(), b.roots.tolist()))
        _counted(on_batch, chunk)
    return out


def _counted(on_batch: Callable[[int], None] | None, trees: Sequence[Tree]) -> None:
    """Tell ``on_batch`` (None: nobody) the words of a batch of ``trees`` done."""
    if on_batch is not None:
        on_batch(sum(len(t.tokens) for t in trees))


class TreeTask(IndependentBatches):
    """Train a :class:`TreeNet` on ``trees``; the loss of a batch is the mean NLL over its labelled nodes.

    ``word_dropout`` p: each training leaf's word becomes ``<unk>`` with probability p, drawn afresh at
    every step from the trainer's generator, which also trains the ``<unk>`` vector that words unseen
    in training get (with ``min_count`` 1 no training word is ``<unk>`` otherwise).

    ``select_by`` (``"accuracy"`` or ``"macro_f1"``): the roots' validation metric whose highest value
    picks the best checkpoint, and which early stopping and the plateau schedule follow.
    """

    def __init__(self, model: TreeNet, encoder: TreeEncoder, trees: Sequence[Tree],
                 valid: Sequence[Tree] | None = None, batch_size: int = 25, seed: int = 0,
                 word_dropout: float = 0.0, select_by: str = "accuracy") -> None:
        if not trees:
            raise ValueError("Expected at least one training tree, got none")
        check_rate("word_dropout", word_dropout)
        self.select_by = check_select_by(select_by)
        self.word_dropout = float(word_dropout)
        self.model = model
        self.params = model.params
        self.encoder = encoder
        self.trees = list(trees)
        self.valid = list(valid) if valid else None
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.seed = check_int("seed", seed, 0)

    def epoch_units(self) -> int:
        """Training trees per epoch."""
        return len(self.trees)

    def uniform_loss(self) -> UniformLoss:
        """ln K per labelled node, the loss of guessing every node's label uniformly (see
        :class:`rnnkit.train.task.Task`).  The epoch's mean weighs each batch's mean per node by its trees, so
        a batch without a labelled node (all -1) counts as 0 and the uniform guess's epoch scores at most ln
        K: a bound from above, which may miss a run that does not learn but never names a healthy one."""
        return uniform_guess(self.model.config.num_classes, "node's label")

    def train_batches(self, epoch: int, cursor: int, rng: np.random.Generator) -> Iterator[tuple[int, Any]]:
        """Yields (index after the batch, tree indices) of ``epoch``'s shuffled batches from ``cursor`` on."""
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.trees))
        batches = [order[i : i + self.batch_size] for i in range(0, order.size, self.batch_size)]
        for i in range(cursor, len(batches)):
            yield i + 1, batches[i]

    def split_batch(self, batch: Any, parts: int) -> list[Any]:
        """The batch's trees in ``parts`` runs, the shares of processes training together
        (:mod:`rnnkit.train.distributed`; their losses, per labelled node, are combined weighted by nodes)."""
        return split_rows(batch, parts)

    def train_step(self, batch: Any, carry: Any, rng: np.random.Generator) -> StepResult:
        """Loss (mean NLL per labelled node) and gradients of one batch of trees, with word dropout."""
        trees = [self.trees[i] for i in batch]
        b = self.encoder.batch(trees)
        if self.word_dropout > 0:
            b.words[rng.random(b.words.shape) < self.word_dropout] = self.encoder.vocab.unk_id  # (n,) leaves
        loss, n, cache = self.model.loss(b, training=True, rng=rng)
        grads = self.model.backward(1.0 / max(1, n), cache)
        return StepResult(loss=loss / max(1, n), units=len(trees), grads=grads, weight=n)

    def evaluate(self) -> dict[str, float]:
        """Validation loss (mean NLL per labelled node), root and node accuracy and macro-F1; {} without
        validation trees."""
        return self.evaluate_joined([self.evaluate_share(0, 1)])

    def evaluate_share(self, rank: int, size: int) -> dict[str, Any] | None:
        """The sums of :func:`tree_sums` over part ``rank`` of ``size`` of the validation trees (every
        size-th; see :class:`rnnkit.train.task.Task`); None without validation trees."""
        if not self.valid:
            return None
        s = tree_sums(self.model, self.encoder, self.valid[rank::size])
        del s["predictions"]
        return s

    def evaluate_joined(self, parts: list[dict[str, Any] | None]) -> dict[str, float]:
        """The validation metrics from the parts' sums added up."""
        if not self.valid:
            return {}
        s = scores_from_sums({k: sum(p[k] for p in parts) for k in parts[0]})  # type: ignore[index]
        # loss: mean NLL per labelled node, the training loss's units
        return {"loss": s["loss"], "root_accuracy": s["root_accuracy"], "root_macro_f1": s["root_macro_f1"],
                "node_accuracy": s["node_accuracy"], "node_macro_f1": s["node_macro_f1"]}

    @property
    def selected_by(self) -> str:
        """The validation metric :meth:`criterion` follows (see :mod:`rnnkit.train.task`)."""
        return "root_" + self.select_by

    def criterion(self, metrics: dict[str, float]) -> float:
        """The best checkpoint has the highest root (sentence) accuracy, or root macro-F1 with
        select_by='macro_f1'."""
        return selection_criterion(metrics, self.select_by, "root_")

    def resume_options(self) -> dict[str, Any]:
        """What a resumed run must share with this one (see :class:`rnnkit.train.loop.Task`): the best so far
        was measured by ``select_by``, so it may not change."""
        return {"--batch-size": self.batch_size, OPTION: self.select_by, "validation data": value_digest(self.valid)}

    def meta(self) -> dict[str, Any]:
        """What the checkpoint holds to rebuild the model: its config, the encoder, the word dropout."""
        return {"model": "treenet", "treenet_config": self.model.config.to_dict(), **self.encoder.to_json(),
                "word_dropout": self.word_dropout}


def load_treenet(path: str | os.PathLike) -> tuple[TreeNet, TreeEncoder]:
    """``(model, encoder)`` from a checkpoint of ``rnnkit train tree``."""
    path = model_file(path)  # a run folder: its best.safetensors, else last.safetensors
    params, task = load_task_checkpoint(path, "treenet", "tree model", "rnnkit train tree")
    with reading_metadata(path, "tree model"):
        cfg = TreeNetConfig(**task["treenet_config"])
        encoder = TreeEncoder.from_json(task)
        check_matches(("treenet_config.vocab_size", cfg.vocab_size, "the vocabulary", len(encoder.vocab)),
                      ("treenet_config.num_classes", cfg.num_classes, "classes", encoder.classes))
        model = TreeNet(cfg, np.random.default_rng(0))
    restore_params(model, params, path)
    return model, encoder
