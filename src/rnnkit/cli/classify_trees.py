"""A sentence classifier on labelled trees: ``train classifier --format tree``, and ``evaluate`` and
``classify`` of a classifier so trained.

Each tree (one bracketed tree a line, SST's ``train.txt``/``dev.txt``/``test.txt``, as ``train tree``
reads them) is one example: its words and its root's label, read with ``train tree``'s label schemes
(``--labels sst5``, the default; ``--labels sst2`` or ``--classes 2``: neutral roots left out, 0-1
negative, 3-4 positive, written as SST's 1 and 3; ``--labels as-is``): :mod:`rnnkit.classify.trees`.
``--all-phrases`` trains on every labelled phrase of the training trees (each distinct one once);
validation and test score whole sentences.  The checkpoint keeps ``format`` "tree" and the
``label_scheme``; ``evaluate`` of such a model reads DATA as trees when its first line starts with ``(``
(the root's label is the gold one; the other nodes' labels may be left out, as ``classify --format tree``
writes them), else as ``label<TAB>text`` lines; ``classify`` reads a line starting with ``(`` as a tree
(its words), any other as plain text, and ``--format tree`` writes the tree with the predicted class at
its root (``3<TAB>(3 (The) (good))``), which ``evaluate`` reads back.
"""
from __future__ import annotations

import argparse

from rnnkit.errors import DataError
from rnnkit.treenet.labels import SCHEMES


def add_tree_format_options(d: argparse._ArgumentGroup) -> None:
    """--labels, --classes and --all-phrases of ``train classifier --format tree``."""
    d.add_argument("--labels", choices=list(SCHEMES), default=None,
                   help="--format tree: how root labels become classes, as 'train tree' reads them: sst5 (the "
                        "default): SST's 0-4 as 5 classes; sst2: SST-2 (trees with a neutral root 2 left out, 0-1 "
                        "negative written 1, 3-4 positive written 3); as-is: the labels as they are")
    d.add_argument("--classes", type=int, choices=[5, 2], default=None,
                   help="--format tree: SST's schemes by their class count: 5 is --labels sst5, 2 is --labels sst2")
    d.add_argument("--all-phrases", action="store_true",
                   help="--format tree: train on every labelled phrase of the training trees (each distinct phrase "
                        "once; sst2: not the neutral ones), as Kim (2014) and Tai et al. (2015) do on SST; "
                        "validation and test score whole sentences")


def tree_format_rules(args: argparse.Namespace) -> list[tuple[str, bool, str]]:
    """The refusals (:func:`rnnkit.cli.given.refuse_unused`) of the tree options without --format tree."""
    why = f"with --format {args.format} (it reads the labels of tree files): give --format tree"
    return [(option, args.format != "tree", why) for option in ("--labels", "--classes", "--all-phrases")]


def read_tree_examples(args: argparse.Namespace, path: str, use: str = "train on") -> list:
    """The sentences (:class:`rnnkit.classify.trees.TreeSentence`) of the trees of ``path`` that the task keeps;
    DataError naming the line at a malformed tree or a label the scheme cannot read."""
    from rnnkit.classify.trees import tree_examples
    from rnnkit.cli.trees import label_scheme, numbered_task_trees

    scheme = label_scheme(args)
    trees, lines = numbered_task_trees(path, scheme, None, args.encoding, use, arity="any", trainer="classifier")
    return tree_examples(trees, scheme, lines)


def train_phrases(args: argparse.Namespace, train: list) -> list:
    """The texts to train on: with --all-phrases every distinct labelled phrase of ``train``'s trees (after a
    hold-out, so no held-out sentence is trained on), else ``train``."""
    import sys

    from rnnkit.classify.trees import phrase_examples

    if not getattr(args, "all_phrases", False):
        return train
    phrases = phrase_examples(train)
    if not args.folds:  # a fold's part: not said, as its other figures are not
        print(f"--all-phrases: training on {len(phrases):,} distinct labelled phrases of the {len(train):,} training "
              "trees (validation and test: whole sentences)", file=sys.stderr)
    return phrases


def trees_given(path: str, encoding: str) -> bool:
    """Whether ``evaluate`` of a classifier trained on trees reads ``path`` as trees: its first non-blank
    line starts with '(' (else it is label<TAB>text lines, as ``classify``'s default output); a pipe, which
    can be read once only, is read as trees, the format the model was trained on."""
    from rnnkit.cli.file_looks import head_lines

    head = head_lines(path, encoding)
    if head is None:
        return True
    first = next((line for line in head if line.strip()), "")
    return first.lstrip().startswith("(")


def read_gold_trees(path: str, encoding: str, scheme: str, model: str = "the model") -> list:
    """The gold sentences of the tree file ``path`` for ``evaluate`` of ``model``: each tree's words and root
    label (the other nodes' labels may be left out); SST-2's neutral roots left out; DataError naming
    ``path``:line at a malformed tree, a root without a label, or a node's label the scheme cannot read (as
    ``train classifier --valid`` refuses it: :func:`rnnkit.cli.trees.check_known_labels`)."""
    from rnnkit.classify.trees import TreeSentence, root_label
    from rnnkit.cli.trees import check_known_labels
    from rnnkit.cli.trees_classify import one_tree
    from rnnkit.data.files import read_text_file, text_lines

    lines = text_lines(read_text_file(path, encoding))
    numbers = [n for n, line in enumerate(lines, start=1) if line.strip()]  # the line of each tree
    trees = [one_tree(lines[n - 1], path, n, "any") for n in numbers]
    check_known_labels(trees, numbers, path, scheme, None, "score", model, "classifier")
    out = []
    for n, tree in zip(numbers, trees):
        try:
            label = root_label(tree, scheme)
        except ValueError as e:
            raise DataError(f"{path}:{n}: {e}; evaluate scores the class at each tree's root: label every root, "
                            "as '(3 (2 The) (4 good))' or '(3 (The) (good))'") from None
        if label is not None:
            out.append(TreeSentence(label, " ".join(tree.tokens), line=n))
    if not out:
        raise DataError(f"{path}: no tree to score: no tree, or every root neutral (label 2), which SST-2 leaves "
                        "out")
    return out


def classified_lines(lines: list[str], where: str, fmt: str, from_trees: bool = True) -> tuple[list[str], list]:
    """``(texts, trees)``: each line's text to classify and its tree: for a classifier trained on trees
    (``from_trees``) a line starting with '(' is a tree, read as its words, another line is plain text (no
    tree: None); with ``fmt`` "tree" a non-blank line must be a tree.  Otherwise the lines as they are."""
    from rnnkit.cli.trees_classify import one_tree

    if not from_trees:
        return lines, [None] * len(lines)
    texts, trees = [], []
    for n, line in enumerate(lines, start=1):
        tree = one_tree(line, where, n, "any") if line.lstrip().startswith("(") else None
        if tree is None and fmt == "tree" and line.strip():
            raise DataError(f"{where}:{n}: --format tree writes each input tree with its predicted class at the "
                            f"root, and this line is plain text ({line.strip()[:30]!r}); give one bracketed tree a "
                            "line, or --format text")
        texts.append(line if tree is None else " ".join(tree.tokens))
        trees.append(tree)
    return texts, trees


def tree_row(tree, label: str, probs, labels: list[str], with_probs: bool) -> str:
    """``classify --format tree``'s line (newline included): the predicted label, the probabilities with
    ``with_probs``, and the tree with that label at its root and none elsewhere (a sentence classifier
    predicts the sentence only)."""
    import numpy as np

    from rnnkit.cli.trees_classify import tree_line

    marks = np.full(len(tree.labels), -1, dtype=np.int64)  # (N,) unlabelled but the root
    marks[-1] = int(label)
    return tree_line(tree, marks, probs, labels, with_probs) + "\n"
