"""``rnnkit train tree``: a Tree-LSTM, Tree-RNN, RNTN or Child-Sum Tree-LSTM over bracketed labelled trees;
its evaluator.

A thin layer over :mod:`rnnkit.treenet`.  Data: one bracketed tree a line with a label on every
node (the Stanford Sentiment Treebank's ``train.txt`` / ``dev.txt`` / ``test.txt``, or a user's
own labels 0..K-1 with ``--labels as-is``); binary trees, or with ``--cell childsum`` trees whose
nodes have any number of children.  ``rnnkit classify`` of a tree model:
:mod:`rnnkit.cli.trees_classify`.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli.common import (HelpFormatter, add_select_by_option, add_train_options, check_min_count, fit,
                               positive_int, probability, train_config_from_args, vocab_types)
from rnnkit.cli.given import refuse_unused
from rnnkit.cli.pretrained import (
    add_embedding_options,
    add_extend_option,
    apply_pretrained,
    embedding_size,
    embeddings_option,
    vocabulary_options,
    extend_vocab,
    read_pretrained,
)
from rnnkit.jsonline import json_line
from rnnkit.treenet.labels import SCHEMES, SST_CLASSES


def register(groups) -> None:
    p = groups.train.add_parser(
        "tree", help="train a recursive network (Tree-LSTM, Tree-RNN, RNTN, Child-Sum Tree-LSTM) on labelled trees",
        description="Train embedding -> Tree-LSTM, Tree-RNN, RNTN or Child-Sum Tree-LSTM -> softmax at every node on "
                    "bracketed trees with a label on every node (the Stanford Sentiment Treebank's 0-4, or your own "
                    "0..K-1 with --labels as-is): binary trees, or with --cell childsum any number of children a "
                    "node; validation and test report the accuracy and macro-F1 of the roots and of all labelled "
                    "nodes; --select-by picks the best epoch by the roots' accuracy or macro-F1.",
        formatter_class=HelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--train", required=True,
                   help="training trees, one bracketed tree a line: binary ('(3 (2 The) (4 good))'), or for --cell "
                        "childsum with any number of children a node ('(3 (2 a) (2 very) (4 good))')")
    d.add_argument("--valid", help="validation trees (picks the best epoch)")
    add_select_by_option(d, " of the roots (root accuracy or root macro-F1)")
    d.add_argument("--test", help="test trees, scored with the best model at the end")
    d.add_argument("--encoding", default="utf-8", help="text encoding of the tree files")
    d.add_argument("--labels", choices=list(SCHEMES), default=None,
                   help="how node labels become classes: sst5 (the default): SST's 0-4 as 5 classes; sst2: SST-2 (0-1 "
                        "negative, 3-4 positive, neutral nodes unlearnt and neutral trees left out); as-is: your own "
                        "labels 0..K-1, K = 1 + the largest label of --train (every label below it must occur). Kept "
                        "with the model for classify and evaluate; --resume refuses another")
    d.add_argument("--classes", type=int, choices=[5, 2], default=None,
                   help="SST's schemes by their class count: 5 is --labels sst5, 2 is --labels sst2")
    d.add_argument("--lowercase", action="store_true", help="lowercase the words")
    d.add_argument("--min-count", type=positive_int, default=1, help="words rarer than this become <unk>")
    m = p.add_argument_group("model")
    m.add_argument("--cell", choices=["lstm", "rnn", "rntn", "childsum"], default="lstm",
                   help="lstm: binary Tree-LSTM (Tai et al. 2015); rnn: Tree-RNN (Socher et al. 2011); rntn: recursive "
                        "neural tensor network (Socher et al. 2013; its tensor has H*2H*2H entries: use a small "
                        "--hidden, e.g. 30-50); childsum: Child-Sum Tree-LSTM (Tai et al. 2015), over trees of any "
                        "arity (1, 2, 3... children a node; internal nodes have no word: x = 0 there). The first "
                        "three read binary trees only")
    add_embedding_options(m, 100)
    add_extend_option(m)
    m.add_argument("--hidden", type=positive_int, default=150, help="node state size")
    m.add_argument("--dropout", type=probability, default=0.5, help="dropout on the word vectors and the node states")
    m.add_argument("--word-dropout", type=probability, default=0.0,
                   help="replace each training leaf's word by <unk> with this probability (regularises, and trains "
                        "the <unk> vector that words unseen in training get)")
    m.add_argument("--batch-size", type=positive_int, default=25, help="trees per batch")
    add_train_options(p, lr=0.002, clip=5.0, optimizer="adam", epochs=10, run_dir="runs/tree")
    p.set_defaults(func=train_tree)


def label_scheme(args: argparse.Namespace) -> str:
    """The label scheme of --labels or --classes (sst5 without either); ValueError if they disagree."""
    if args.labels is not None and args.classes is not None and SST_CLASSES.get(args.labels) != args.classes:
        raise ValueError(f"--classes {args.classes} and --labels {args.labels} disagree (--classes 5 is --labels sst5, "
                         "--classes 2 is --labels sst2): give one of them")
    return args.labels or {2: "sst2"}.get(args.classes, "sst5")


def read_task_trees(path: str, scheme: str, classes: int | None, *args: Any, **kwargs: Any) -> list:
    """The trees of :func:`numbered_task_trees`, without their lines."""
    return numbered_task_trees(path, scheme, classes, *args, **kwargs)[0]


def numbered_task_trees(path: str, scheme: str, classes: int | None, encoding: str = "utf-8", use: str = "train on",
                        model: str = "the model", arity: str = "binary",
                        trainer: str = "tree") -> tuple[list, list[int]]:
    """``(trees, lines)``: the trees of ``path`` that the task keeps and the line of each; DataError (naming the
    line) at a label the scheme cannot read: above SST's 0-4, or for ``as-is`` at or above ``classes`` (None: the
    training file, which sets it); or if sst2 keeps none (every root neutral), leaving nothing to ``use``.
    ``arity``: the cell's trees (:func:`rnnkit.treenet.cells.arity`); a binary cell's reader refuses
    a node of other than 2 children, naming the line and the node's words.  ``trainer``: who reads the
    labels, a key of :data:`TRAINERS`."""
    from rnnkit.data.files import read_text_file, text_lines
    from rnnkit.data.trees import parse_trees
    from rnnkit.errors import DataError

    lines = text_lines(read_text_file(path, encoding))
    trees = parse_trees(lines, path, arity=arity)
    numbers = [n for n, line in enumerate(lines, start=1) if line.strip()]  # the line of each tree
    check_known_labels(trees, numbers, path, scheme, classes, use, model, trainer)
    kept = [k for k, t in enumerate(trees) if scheme != "sst2" or t.root_label != 2]  # labels.select_trees
    if not kept:
        which = "the one tree has" if len(trees) == 1 else f"all {len(trees):,} trees have"
        raise DataError(f"{path}: {which} a neutral root (label 2), which a binary task "
                        f"(--classes 2, SST-2) leaves out, so there is nothing to {use}")
    return [trees[k] for k in kept], [numbers[k] for k in kept]


# who reads a tree file's labels, as the messages name it: its noun, its own labels, the command that trains on them
TRAINERS = {"tree": ("a tree model", "labels of your own, 0 to K-1", "rnnkit train tree"),
            "classifier": ("a classifier of trees", "labels of your own", "rnnkit train classifier --format tree")}


def check_known_labels(trees: list, numbers: list[int], path: str, scheme: str, classes: int | None,
                       use: str = "train on", model: str = "the model", trainer: str = "tree") -> None:
    """DataError naming ``path``:line (``numbers``: each tree's) at the first label the scheme cannot read: above
    SST's 0-4, or for ``as-is`` at or above ``classes`` (None: the training file, which sets it).  ``use``
    "score" (evaluate) and "classify" name the model's scheme; "classify" also says the labels may go.
    ``trainer``: a key of :data:`TRAINERS`, a tree model's or a sentence classifier's words."""
    from rnnkit.errors import DataError

    noun, own, command = TRAINERS[trainer]
    top = 4 if scheme != "as-is" else (None if classes is None else classes - 1)
    drop = ", or give the trees without labels (classify does not read them)" if use == "classify" else ""
    for n, t in zip(numbers, trees):
        if top is None or t.labels.max() <= top:
            continue
        if scheme != "as-is" and use in ("score", "classify"):  # the model's scheme, no --labels to give
            raise DataError(f"{path}:{n}: a node has the label {int(t.labels.max())}; {model} reads SST's labels "
                            f"0 (very negative) to 4 (very positive) (it was trained with --labels {scheme}): "
                            f"leave trees with other labels out{drop}, or for {own}, train a model with "
                            f"'{command} --labels as-is'")
        if scheme != "as-is":
            raise DataError(f"{path}:{n}: a node has the label {int(t.labels.max())}; {noun} reads SST's "
                            f"labels 0 (very negative) to 4 (very positive) with --labels {scheme}; for {own}, "
                            "give --labels as-is")
        raise DataError(f"{path}:{n}: a node has the label {int(t.labels.max())}; {model}'s classes are the "
                        f"labels 0-{top} of its training trees (--labels as-is): leave trees with other labels "
                        f"out{drop}, or train on trees that have them")


def _describe(s: dict) -> str:
    """The scores of :func:`rnnkit.treenet.task.tree_scores`, then the confusion matrix and per-class scores of
    the roots and of all labelled nodes (every phrase: Socher et al. 2013's "all")."""
    from rnnkit.cli.classify_report import confusion_lines

    head = (f"root accuracy {100 * s['root_accuracy']:.2f}% over {s['trees']:,} tree{'s' * (s['trees'] != 1)}, "
            f"all-node accuracy {100 * s['node_accuracy']:.2f}% over {s['nodes']:,} labelled nodes, root macro-F1 "
            f"{100 * s['root_macro_f1']:.2f}, all-node macro-F1 {100 * s['node_macro_f1']:.2f}")
    return "\n".join([head, "root confusion matrix (rows gold, columns predicted):",
                      *confusion_lines(s["labels"], s["root_confusion"], s["root_per_class"]),
                      "all-node confusion matrix (rows gold, columns predicted):",
                      *confusion_lines(s["labels"], s["node_confusion"], s["node_per_class"])])


def _check_learnable(args: argparse.Namespace, train: list, scheme: str, classes: int) -> None:
    """Refuse training data with a single class to learn; warn when SST's 5 classes meet fewer labels."""
    from rnnkit.cli.text_warnings import warn
    from rnnkit.errors import DataError
    from rnnkit.treenet.labels import BINARY

    labels = {int(x) for t in train for x in np.unique(t.labels)}  # _read refused SST labels above 4
    kinds = {int(BINARY[x]) for x in labels if BINARY[x] >= 0} if scheme == "sst2" else labels
    flag = f"--labels {scheme}" if args.labels else f"--classes {classes}"
    if len(kinds) == 1:
        only = ("negative", "positive")[kinds.pop()] if scheme == "sst2" else f"label {kinds.pop()}"
        hint = ("; if 0 and 1 are your own two classes, give --labels as-is (SST-2 reads both as negative)"
                if scheme == "sst2" and labels <= {0, 1} else "")
        raise DataError(f"{args.train}: every node the task learns from is {only} ({flag}): nothing to learn; a tree "
                        f"model needs trees whose nodes have at least two labels{hint}")
    if scheme == "sst5" and labels != set(range(5)):
        warn(f"{args.train}: the nodes' labels are {', '.join(map(str, sorted(labels)))} only, read as SST's 0-4: the "
             "model has 5 classes, some never seen; for labels of your own (0 to K-1) give --labels as-is")


def _check_resume_scheme(args: argparse.Namespace, scheme: str) -> None:
    """--resume with another label scheme than the run's (an older checkpoint: SST's of its classes)."""
    from pathlib import Path

    from rnnkit import checkpoint as ckpt
    from rnnkit.errors import CheckpointError
    from rnnkit.train.loop import LAST

    last = Path(args.run_dir) / LAST
    if not (args.resume and last.exists()):
        return  # fit says what is missing
    task = ckpt.load_meta(last).get("task") or {}
    if not isinstance(task, dict) or task.get("model") != "treenet":
        return  # fit refuses another kind of run
    then = task.get("label_scheme") or ("sst2" if task.get("classes") == 2 else "sst5")
    if then != scheme:
        now = f"--labels {scheme}" + ("" if args.labels or args.classes else " (the default)")
        raise CheckpointError(f"{last}: this run was started with --labels {then}, this one has {now}; "
                              "resume with the same labels, or start a new run without --resume")


def train_tree(args: argparse.Namespace) -> int:
    from rnnkit.treenet.cells import arity
    from rnnkit.treenet.labels import as_is_classes
    from rnnkit.treenet.model import TreeNet, TreeNetConfig
    from rnnkit.treenet.task import TreeEncoder, TreeTask, load_treenet, tree_scores

    refuse_unused(args, [("--select-by", not args.valid,
                          "without --valid (it chooses best.safetensors by a validation metric): give --valid")])
    scheme = label_scheme(args)
    cfg = train_config_from_args(args)
    trees = arity(args.cell)
    train = read_task_trees(args.train, scheme, None, args.encoding, arity=trees)
    classes = SST_CLASSES.get(scheme) or as_is_classes(train, args.train)
    _check_learnable(args, train, scheme, classes)
    valid = (read_task_trees(args.valid, scheme, classes, args.encoding, "validate on", arity=trees)
             if args.valid else None)
    test = read_task_trees(args.test, scheme, classes, args.encoding, "test on", arity=trees) if args.test else None
    _check_resume_scheme(args, scheme)
    enc = TreeEncoder.build(train, classes, args.lowercase, args.min_count, scheme)
    check_min_count(args.min_count, enc.vocab, args.train)
    print(f"data: {len(train):,} training trees, vocabulary {vocab_types(enc.vocab, 'word')}"
          + (f", {len(valid):,} validation trees" if valid else "")
          + (" (neutral roots left out: SST-2)" if scheme == "sst2" else "")
          + (f", {classes} classes: the labels 0-{classes - 1} as they are" if scheme == "as-is" else ""),
          file=sys.stderr)
    enc.vocab = extend_vocab(args, enc.vocab, (w for t in (valid or []) + (test or []) for w in enc._words(t)))
    vectors = read_pretrained(args, enc.vocab.tokens)
    model = TreeNet(TreeNetConfig(len(enc.vocab), classes, args.cell, embedding_size(args, vectors, 100),
                                  args.hidden, args.dropout), np.random.default_rng(cfg.seed))
    cfg = apply_pretrained(args, model.params, enc.vocab.tokens, vectors, cfg)
    task = TreeTask(model, enc, train, valid, args.batch_size, cfg.seed, word_dropout=args.word_dropout,
                    select_by=args.select_by)
    done = fit(task, cfg, args.run_dir, args.resume, [args.train], unit="tree",
               options={**embeddings_option(args), **vocabulary_options(args)})
    if done is None:  # a process other than 0 of several: process 0 reports
        return 0
    best = done[1]
    if test:
        model, enc = load_treenet(best)
        print("test: " + _describe(tree_scores(model, enc, test)))
    return 0


train_tree.data_parallel = True  # mpiexec -n P rnnkit train tree ...: several processes (rnnkit.cli.processes)


def evaluate_tree(model_path: str, data_path: str, args: argparse.Namespace) -> int:
    from rnnkit.cli.apply_progress import Shown
    from rnnkit.treenet.cells import arity
    from rnnkit.treenet.task import load_treenet, tree_scores

    model, enc = load_treenet(model_path)
    trees = read_task_trees(data_path, enc.scheme, enc.classes, args.encoding or "utf-8", "score", model_path,
                            arity(model.config.cell))
    with Shown(args.progress, sum(len(t.tokens) for t in trees), "evaluating") as shown:
        s = tree_scores(model, enc, trees, on_batch=shown)
    del s["predictions"]
    print(json_line(s) if args.json else f"{data_path}: {_describe(s)}")
    return 0


evaluate_cli.EVALUATORS["treenet"] = evaluate_tree
