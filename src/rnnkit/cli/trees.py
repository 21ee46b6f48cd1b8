"""``rnnkit train tree``: a Tree-LSTM or Tree-RNN over bracketed sentiment trees; its evaluator.

A thin layer over :mod:`rnnkit.treenet`.  Data: one bracketed tree a line with a label on every
node (the Stanford Sentiment Treebank's ``train.txt`` / ``dev.txt`` / ``test.txt``).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from rnnkit.cli import evaluate as evaluate_cli
from rnnkit.cli.common import (HelpFormatter, add_train_options, check_min_count, fit, positive_int, probability,
                               train_config_from_args)
from rnnkit.cli.pretrained import (
    add_embedding_options,
    add_extend_option,
    apply_pretrained,
    embedding_size,
    embeddings_option,
    extend_vocab,
    read_pretrained,
)
from rnnkit.jsonline import json_line


def register(groups) -> None:
    p = groups.train.add_parser(
        "tree", help="train a recursive network (Tree-LSTM, Tree-RNN, RNTN) on labelled trees",
        description="Train embedding -> Tree-LSTM, Tree-RNN or RNTN -> softmax at every node on bracketed trees with a "
                    "label on every node (the Stanford Sentiment Treebank); validation and test report the root "
                    "accuracy and the accuracy over all labelled nodes.", formatter_class=HelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--train", required=True, help="training trees, one bracketed tree a line")
    d.add_argument("--valid", help="validation trees (picks the best epoch)")
    d.add_argument("--test", help="test trees, scored with the best model at the end")
    d.add_argument("--encoding", default="utf-8", help="text encoding of the tree files")
    d.add_argument("--classes", type=int, choices=[5, 2], default=5,
                   help="5: fine-grained labels 0-4; 2: SST-2 (0-1 negative, 3-4 positive, neutral trees left out)")
    d.add_argument("--lowercase", action="store_true", help="lowercase the words")
    d.add_argument("--min-count", type=positive_int, default=1, help="words rarer than this become <unk>")
    m = p.add_argument_group("model")
    m.add_argument("--cell", choices=["lstm", "rnn", "rntn"], default="lstm",
                   help="lstm: binary Tree-LSTM (Tai et al. 2015); rnn: Tree-RNN (Socher et al. 2011); rntn: recursive "
                        "neural tensor network (Socher et al. 2013; its tensor has H*2H*2H entries: use a small "
                        "--hidden, e.g. 30-50)")
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


def _read(path: str, classes: int, encoding: str = "utf-8", use: str = "train on") -> list:
    """The trees of ``path`` that the task keeps; DataError if a label is outside SST's 0-4 (naming its
    line), or if --classes 2 keeps none (every root neutral), which leaves nothing to ``use``."""
    from rnnkit.data.files import read_text_file, text_lines
    from rnnkit.data.trees import parse_trees
    from rnnkit.errors import DataError
    from rnnkit.treenet.task import select_trees

    lines = text_lines(read_text_file(path, encoding))
    trees = parse_trees(lines, path)
    numbers = [n for n, line in enumerate(lines, start=1) if line.strip()]  # the line of each tree
    for n, t in zip(numbers, trees):
        if t.labels.max() > 4:
            raise DataError(f"{path}:{n}: a node has the label {int(t.labels.max())}; a tree model reads SST's labels "
                            "0 (very negative) to 4 (very positive)")
    kept = select_trees(trees, classes)
    if not kept:
        which = "the one tree has" if len(trees) == 1 else f"all {len(trees):,} trees have"
        raise DataError(f"{path}: {which} a neutral root (label 2), which a binary task "
                        f"(--classes 2, SST-2) leaves out, so there is nothing to {use}")
    return kept


def _describe(s: dict) -> str:
    return (f"root accuracy {100 * s['root_accuracy']:.2f}% over {s['trees']:,} tree{'s' * (s['trees'] != 1)}, "
            f"all-node accuracy {100 * s['node_accuracy']:.2f}% over {s['nodes']:,} labelled nodes")


def train_tree(args: argparse.Namespace) -> int:
    from rnnkit.treenet.model import TreeNet, TreeNetConfig
    from rnnkit.errors import DataError
    from rnnkit.treenet.task import TreeEncoder, TreeTask, load_treenet, task_labels, tree_scores

    cfg = train_config_from_args(args)
    train = _read(args.train, args.classes, args.encoding)
    kinds = {int(c) for t in train for c in task_labels(t, args.classes) if c >= 0}
    if len(kinds) == 1:
        only = f"label {kinds.pop()}" if args.classes == 5 else ("negative", "positive")[kinds.pop()]
        raise DataError(f"{args.train}: every node the task learns from is {only} (--classes {args.classes}): nothing "
                        "to learn; a tree model needs trees whose nodes have at least two labels")
    valid = _read(args.valid, args.classes, args.encoding, "validate on") if args.valid else None
    test = _read(args.test, args.classes, args.encoding, "test on") if args.test else None
    enc = TreeEncoder.build(train, args.classes, args.lowercase, args.min_count)
    check_min_count(args.min_count, enc.vocab, args.train)
    print(f"data: {len(train):,} training trees, vocabulary {len(enc.vocab):,}"
          + (f", {len(valid):,} validation trees" if valid else "")
          + (" (neutral roots left out: --classes 2)" if args.classes == 2 else ""), file=sys.stderr)
    enc.vocab = extend_vocab(args, enc.vocab, (w for t in (valid or []) + (test or []) for w in enc._words(t)))
    vectors = read_pretrained(args, enc.vocab.tokens)
    model = TreeNet(TreeNetConfig(len(enc.vocab), args.classes, args.cell, embedding_size(args, vectors, 100),
                                  args.hidden, args.dropout), np.random.default_rng(cfg.seed))
    cfg = apply_pretrained(args, model.params, enc.vocab.tokens, vectors, cfg)
    task = TreeTask(model, enc, train, valid, args.batch_size, cfg.seed, word_dropout=args.word_dropout)
    done = fit(task, cfg, args.run_dir, args.resume, [args.train], unit="tree", options=embeddings_option(args))
    if done is None:  # a process other than 0 of several: process 0 reports
        return 0
    best = done[1]
    if test:
        model, enc = load_treenet(best)
        print("test: " + _describe(tree_scores(model, enc, test)))
    return 0


train_tree.data_parallel = True  # mpiexec -n P rnnkit train tree ...: several processes (rnnkit.cli.processes)


def classify_trees(args: argparse.Namespace) -> int:
    """``rnnkit classify`` with a tree model: each input tree's root class, then its words.

    The input is bracketed trees (their labels are read but not used); classes are SST's 0-4, or 0
    (negative) and 1 (positive) for a binary model.
    """
    from rnnkit.data.files import read_input, text_lines
    from rnnkit.data.trees import parse_trees
    from rnnkit.treenet.task import load_treenet

    from rnnkit.cli.output import check_output, write_output

    model, enc = load_treenet(args.model)
    check_output(args)  # before the work: not the input or the model, and a file that can be made
    text, name = read_input(args.input, args.encoding)
    lines = text_lines(text)
    # one per non-blank line; blank lines only: nothing to classify, each answered by a blank line, as
    # a text classifier answers them
    trees = parse_trees(lines, name) if any(line.strip() for line in lines) else []
    rows = []
    for s in range(0, len(trees), 256):
        chunk = trees[s : s + 256]
        b = enc.batch(chunk, labelled=False)
        probs = model.predict_proba(b)[b.roots]  # (B, K)
        for t, p in zip(chunk, probs):
            shown = "\t" + " ".join(f"{k}:{q:.4f}" for k, q in enumerate(p)) if args.probs else ""
            rows.append(f"{int(p.argmax())}{shown}\t{t.text()}")
    found = iter(rows)  # a blank input line gives an empty output line, so line k answers line k
    write_output(args, ["".join((next(found) if line.strip() else "") + "\n" for line in lines)])
    return 0


def evaluate_tree(model_path: str, data_path: str, args: argparse.Namespace) -> int:
    from rnnkit.treenet.task import load_treenet, tree_scores

    model, enc = load_treenet(model_path)
    s = tree_scores(model, enc, _read(data_path, enc.classes, args.encoding or "utf-8", "score"))
    del s["predictions"]
    print(json_line(s) if args.json else f"{data_path}: {_describe(s)}")
    return 0


evaluate_cli.EVALUATORS["treenet"] = evaluate_tree
