"""``rnnkit classify`` with a tree model: each input tree's root class, or every node's.

One bracketed binary tree a line, labelled or not (``(3 (2 The) (4 good))``, ``((The) (good))``,
``(The good)``: :func:`rnnkit.data.trees.parse_tree` with ``labels="optional"``; the labels are not
used); for a Child-Sum Tree-LSTM (``--cell childsum``) any number of children a node,
``(a very good)``.  A line that does not start with ``(`` is plain text: refused, unless
``--binarize right|left`` asks for a right- or left-branching tree over its words, an approximation
of the parse the model was trained on.  Output, one line an input line (a blank line answers a blank one):

- ``--format text`` (default): ``root class[<TAB>root probabilities]<TAB>words``;
- ``--format tree``: ``root class[<TAB>root probabilities]<TAB>tree``, the tree bracketed with every
  node's predicted class, ``(3 (2 The) (4 good))``;
- ``--format json``: ``{"label", "probs", "words", "tree", "nodes": [{"start", "end", "label", "probs"}, ...]}``
  with every node (post-order, the root last; ``end`` exclusive) and ``"probs"`` for the root and each
  node, keyed by label (JSON keys are strings): ``{"1": 0.2, "3": 0.8}``; with or without ``--probs``, as a
  sentence classifier's JSON has them (``--probs`` is the text formats' column).

Every class is written as the label a tree file gives it (:func:`rnnkit.treenet.labels.written_labels`), so
that the output read with the model's scheme gives the same classes back: an SST-2 model writes SST's 1
(negative) and 3 (positive), not its class numbers 0 and 1, which SST's reading takes both as negative;
``probs`` names the classes so.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

FORMATS = ("text", "tree", "json")


def add_tree_options(c: argparse.ArgumentParser) -> None:
    """The options of ``rnnkit classify`` that only a tree model reads."""
    c.add_argument("--format", choices=FORMATS, default="text",
                   help="text: the class then the text (a tree model: the root's class then the words); json: one "
                        "JSON object a line, a sentence classifier's {label, probs (every class's), text} (with "
                        "--attention also each token's weight), a tree model's {label, probs, words, tree, nodes} "
                        "with every node's span, class and probs (JSON has probs with or without --probs); tree (tree "
                        "models): the root's class then the tree with "
                        "every node's predicted class, '(3 (2 The) (4 good))'.  An SST-2 tree model writes SST's 1 "
                        "(negative) and 3 (positive), which read back as its classes")
    t = c.add_argument_group("tree models (from 'rnnkit train tree')")
    t.add_argument("--binarize", choices=["right", "left"], default=None,
                   help="read a line that does not start with '(' as plain words (split at spaces) and classify it "
                        "over a right-branching (w1 (w2 (w3 w4))) or left-branching tree: an approximation, since the "
                        "model was trained on parse trees (parse the text into binary trees for its real reading); "
                        "without it such a line is refused")


def read_tree_lines(lines: list[str], where: str, binarize: str | None, arity: str = "binary") -> list:
    """One tree per non-blank line (None for a blank one): bracketed, labels optional (binary trees, or
    any number of children a node with ``arity="any"``), or plain words with ``binarize``; DataError
    naming ``where`` and the line otherwise."""
    from rnnkit.data.trees import binarize as make_tree
    from rnnkit.errors import DataError

    out = []
    for n, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            out.append(None)
        elif text.startswith("("):
            out.append(one_tree(line, where, n, arity))
        elif binarize is None:
            kind = "binary tree" if arity == "binary" else "tree"
            raise DataError(f"{where}:{n}: expected a bracketed {kind} such as '((good) (film))', got plain text "
                            f"({text[:30]!r}); parse it into a tree, or give --binarize right to classify it over a "
                            "right-branching tree (an approximation)")
        elif "(" in text or ")" in text:
            raise DataError(f"{where}:{n}: a line of plain words (--binarize) holds '(' or ')' but does not start "
                            "with '(' as a tree does; write brackets in words as the training trees do (SST: -LRB-, "
                            "-RRB-)")
        else:
            out.append(make_tree(text.split(), binarize))
    return out


def one_tree(line: str, where: str, n: int, arity: str = "binary"):
    """The bracketed tree of line ``n``; DataError ``where:n: ...`` if it is malformed."""
    from rnnkit.data.trees import ArityError, parse_tree
    from rnnkit.errors import DataError

    try:
        return parse_tree(line, "optional", arity)
    except ValueError as e:
        if isinstance(e, ArityError):  # a node of another arity: the message says what to do
            raise DataError(f"{where}:{n}: {e}") from None
        kind = "binary tree" if arity == "binary" else "tree"
        raise DataError(f"{where}:{n}: {e} (one bracketed {kind} a line, labelled or not, e.g. "
                        "'(3 (2 The) (4 good))' or '((The) (good))')") from None


def tree_line(tree, marks: np.ndarray, probs: np.ndarray, labels: list, with_probs: bool) -> str:
    """``--format tree``'s line (no newline): the root's label, its probabilities (K,) over ``labels`` with
    ``with_probs``, and the tree with the labels ``marks`` (N,) (-1: none).  A tree model's, and a sentence
    classifier's of trees (a label at the root only)."""
    from rnnkit.cli.classify_rows import probs_column
    from rnnkit.data.trees import format_tree

    return f"{int(marks[-1])}{probs_column(labels, probs, with_probs)}\t{format_tree(tree, marks)}"


def _row(tree, probs: np.ndarray, fmt: str, with_probs: bool, written: np.ndarray) -> str:
    """One output line (no newline) for a tree and its nodes' (N, K) probabilities; ``written`` (K,): each
    class's label in a tree file; ``with_probs`` (--probs): the text formats' probability column (JSON has
    the probabilities always)."""
    from rnnkit.cli.classify_rows import probs_column, probs_json
    from rnnkit.data.trees import format_tree

    pred = written[probs.argmax(axis=1)]  # (N,) every node's class, as its label
    root = int(pred[-1])
    if fmt == "json":
        # keyed by the written label, and with or without --probs, as a sentence classifier's JSON has them
        nodes = [{"start": int(a), "end": int(b), "label": int(k), "probs": probs_json(written.tolist(), p)}
                 for (a, b), k, p in zip(tree.spans().tolist(), pred, probs)]
        row = {"label": root, "probs": nodes[-1]["probs"], "words": tree.tokens, "tree": format_tree(tree, pred),
               "nodes": nodes}
        return json.dumps(row, ensure_ascii=False)
    if fmt == "tree":
        return tree_line(tree, pred, probs[-1], written.tolist(), with_probs)
    return f"{root}{probs_column(written.tolist(), probs[-1], with_probs)}\t{tree.text()}"


def classify_trees(args: argparse.Namespace) -> int:
    """``rnnkit classify`` with a tree model (see the module docstring)."""
    from rnnkit.cli.apply_progress import Shown
    from rnnkit.cli.output import check_output, write_output
    from rnnkit.cli.text_warnings import warn
    from rnnkit.cli.trees import check_known_labels
    from rnnkit.data.files import read_input, text_lines
    from rnnkit.treenet.cells import arity
    from rnnkit.treenet.labels import written_labels
    from rnnkit.treenet.task import load_treenet, predict_nodes

    model, enc = load_treenet(args.model)
    check_output(args)  # before the work: not the input or the model, and a file that can be made
    text, name = read_input(args.input, args.encoding)
    lines = text_lines(text)
    trees = read_tree_lines(lines, name, args.binarize, arity(model.config.cell))
    numbered = [(n, t) for n, t in enumerate(trees, start=1) if t is not None]  # a gold label the model lacks:
    check_known_labels([t for _, t in numbered], [n for n, _ in numbered], name, enc.scheme, enc.classes,
                       "classify", args.model)  # a mistaken file, refused as evaluate refuses it
    plain = sum(t is not None and not line.lstrip().startswith("(") for t, line in zip(trees, lines))
    if plain:
        warn(f"{name}: {plain:,} line{'s' * (plain != 1)} of plain words classified over {args.binarize}-branching "
             "trees (--binarize): an approximation of the parse trees the model was trained on")
    given = [t for t in trees if t is not None]
    with Shown(args.progress, sum(len(t.tokens) for t in given), "classifying") as shown:
        found = iter(predict_nodes(model, enc, given, on_batch=shown))
    written = written_labels(enc.classes, enc.scheme)
    rows = [("" if t is None else _row(t, next(found), args.format, args.probs, written)) + "\n" for t in trees]
    write_output(args, ["".join(rows)])  # line k answers input line k
    return 0
