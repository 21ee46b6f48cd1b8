r"""Labelled trees in the bracketed (Penn Treebank) format of the Stanford Sentiment Treebank.

One tree a line, a label on every node, words at the leaves::

    (3 (2 (2 The) (2 Rock)) (4 (2 is) (3 good)))

A leaf is ``(label word)``; an internal node is ``(label left right)``: exactly two children, as in
SST's binarised trees (``arity="binary"``, the default).  With ``arity="any"`` an internal node has
one child or more, ``(3 (2 a) (2 b) (4 c))`` or ``(2 (2 a))``: the trees of a Child-Sum Tree-LSTM,
which sums over any number of children.  Labels are integers >= 0 (SST: 0 very negative ... 4 very
positive).

A :class:`Tree` keeps its nodes in post-order (children before parents, the root last), the order
a recursive network computes them in::

    tokens    list of n words, left to right
    labels    (N,) int64  label of every node (binary trees: N = 2n - 1)
    children  (N, C) int64  the children's node indices, left to right, padded with -1 (all -1 at
              leaves); C = 2 for binary trees, else the largest number of children (at least 2)
    leaf      (N,) int64  the word position of a leaf, -1 at internal nodes

A malformed line raises :class:`rnnkit.errors.DataError` naming the file, the line and the problem.

Training reads every label strictly.  Prediction needs none: :func:`parse_tree` with
``labels="optional"`` also reads bracketings without labels, or with some, where a bare word is an
unlabelled leaf and ``(word)`` one too::

    (good film)    ((good) (film))    (3 (good) (4 film))    ((2 the) (film (is good)))

Unlabelled nodes have the label -1.  A number right after ``(`` that more than ``)`` follows is
that node's label, as in the strict format: ``(3 dogs)`` is the word ``dogs`` labelled 3; a leading
number word is bracketed alone: ``((3) dogs)``.  :func:`format_tree` writes a tree back, with any
labels (a model's predictions); :func:`binarize` makes a right- or left-branching tree over plain
words.
"""
from __future__ import annotations

import os
import re
from typing import Any, NamedTuple

import numpy as np

from rnnkit.data.files import read_text_file, text_lines
from rnnkit.errors import DataError

# words are separated by ASCII white space only: SST has words holding a no-break space ("8\u00a01\/2")
_TOKEN = re.compile(r"\(|\)|[^ \t\n\r\f\v()]+")


class ArityError(ValueError):
    """A node with another number of children than the trees' arity: its message says what to do (a Child-Sum
    Tree-LSTM), so readers add no format hint to it."""


class Tree(NamedTuple):
    """One tree, its N nodes in post-order (the root last), made by :func:`parse_tree`."""

    tokens: list[str]  # n words
    labels: np.ndarray  # (N,) int64, post-order
    children: np.ndarray  # (N, C) int64, C >= 2 (binary: 2), -1 padded, all -1 at leaves
    leaf: np.ndarray  # (N,) int64 word position, -1 at internal nodes

    def kids(self, k: int) -> list[int]:
        """Node k's children, left to right (none at a leaf)."""
        return [c for c in self.children[k].tolist() if c >= 0]

    @property
    def root_label(self) -> int:
        """The root's label."""
        return int(self.labels[-1])

    def text(self) -> str:
        """The words, joined by single spaces."""
        return " ".join(self.tokens)

    def spans(self) -> np.ndarray:
        """(N, 2) the [start, end) word span of every node, post-order (a node's children are contiguous)."""
        out = np.zeros((len(self.labels), 2), dtype=np.int64)  # (N, 2)
        for k in range(len(self.labels)):
            kids = self.kids(k)
            out[k] = (self.leaf[k], self.leaf[k] + 1) if not kids else (out[kids[0], 0], out[kids[-1], 1])
        return out


MAX_LABEL_DIGITS = 18  # every such label fits an int64 (a class number: SST's are 0-4)


def _label(tok: str) -> int:
    if not (tok.isascii() and tok.isdigit()):  # str.isdigit takes '²' and '٣' too
        raise ValueError(f"Expected a label (an integer >= 0) after '(', got {tok!r}")
    if len(tok.lstrip("0")) > MAX_LABEL_DIGITS:  # int64 would overflow: a class number is small
        raise ValueError(f"Expected a label (a class number, such as 0-4) after '(', got {tok[:30]} "
                         f"({len(tok)} digits)")
    return int(tok)


ARITIES = ("binary", "any")


def _check_arity(arity: Any) -> None:
    if arity not in ARITIES:
        raise ValueError(f"Expected arity 'binary' or 'any', got {arity!r}")


class _Builder:
    """The nodes of a tree being read, in post-order, and the nodes still open: what both readers of
    :func:`parse_tree` build with."""

    def __init__(self, line: Any) -> None:
        if not isinstance(line, str):
            raise TypeError(f"Expected line to be a str holding one bracketed tree, got {type(line).__name__}")
        self.toks = _TOKEN.findall(line)
        if not self.toks:
            raise ValueError("Expected a tree, got an empty line")
        self.tokens: list[str] = []
        self.labels: list[int] = []
        self.children: list[tuple[int, ...]] = []
        self.leaf: list[int] = []
        # open nodes: (label or -1, indices of finished children, position of the node's first word)
        self.stack: list[tuple[int, list[int], int]] = []

    def open(self, label: int) -> None:
        """Start an internal node."""
        self.stack.append((label, [], len(self.tokens)))

    def add(self, label: int, kids: tuple[int, ...], word: str | None) -> bool:
        """Append a finished node and hand it to its parent; True when it is the root."""
        self.labels.append(label)
        self.children.append(kids)
        self.leaf.append(-1 if word is None else len(self.tokens))
        if word is not None:
            self.tokens.append(word)
        if self.stack:
            self.stack[-1][1].append(len(self.labels) - 1)
        return not self.stack

    def close(self, trees: str, arity: str) -> bool:
        """A ')' that ends an internal node, which must have two children (``arity`` "binary"; ``trees``
        says which kind) or one or more ("any"); True when it is the root."""
        if not self.stack:
            raise ValueError("Expected '(' to open a node, got an unmatched ')'")
        label, kids, start = self.stack.pop()
        if not kids:  # '(4 )' or '()': a leaf that lost its word (or a node its children), not an arity problem
            node = f"({label} )" if label >= 0 else "()"
            raise ValueError(f"Expected a word in the leaf {node!r} (as in '(4 good)'), or children if it is an internal "
                             f"node ({trees}), got neither: write the word, or remove the empty node")
        if arity == "binary" and len(kids) != 2:
            words = " ".join(self.tokens[start:])
            shown = words if len(words) <= 40 else words[:37] + "..."
            raise ArityError(f"Expected exactly 2 children at an internal node ({trees}), got {len(kids)} at the "
                             f"node over {shown!r}; binarise the trees, or use a Child-Sum Tree-LSTM "
                             "(train one with --cell childsum; in Python cell 'childsum', arity='any'), which reads "
                             "any number of children")
        return self.add(label, tuple(kids), None)

    def tree(self) -> Tree:
        if self.stack:
            raise ValueError(f"Expected {len(self.stack)} more ')' at the end of the line")
        width = max(2, max(len(k) for k in self.children))  # binary trees: (N, 2), as before
        children = np.full((len(self.children), width), -1, dtype=np.int64)  # (N, C)
        for k, kids in enumerate(self.children):
            if kids[0] >= 0:
                children[k, : len(kids)] = kids
        return Tree(self.tokens, np.array(self.labels, dtype=np.int64), children, np.array(self.leaf, dtype=np.int64))


def parse_tree(line: str, labels: str = "required", arity: str = "binary") -> Tree:
    """One bracketed tree; ValueError saying what is wrong (the reader adds file and line).
    ``labels``: ``"required"`` on every node, or ``"optional"`` (for prediction; -1 where none).
    ``arity``: ``"binary"`` (exactly 2 children at every internal node) or ``"any"`` (1 or more)."""
    _check_arity(arity)
    if labels == "optional":
        return _parse_optional(line, arity)
    if labels != "required":
        raise ValueError(f"Expected labels 'required' or 'optional', got {labels!r}")
    t = _Builder(line)
    toks = t.toks
    i, done = 0, False
    while i < len(toks):
        tok = toks[i]
        if done:
            raise ValueError(f"Expected the line to end after the root's ')', got {tok!r}")
        if tok == "(":
            if i + 1 >= len(toks):
                raise ValueError("Expected a label after the last '(', got the end of the line")
            label = _label(toks[i + 1])
            if i + 2 < len(toks) and toks[i + 2] not in ("(", ")"):  # a leaf: ( label word )
                if i + 3 >= len(toks) or toks[i + 3] != ")":
                    got = toks[i + 3] if i + 3 < len(toks) else "the end of the line"
                    raise ValueError(f"Expected ')' after the word {toks[i + 2]!r}, got {got!r}")
                done = t.add(label, (-1, -1), toks[i + 2])
                i += 4
                continue
            t.open(label)
            i += 2
        elif tok == ")":
            done = t.close("binarised trees" if arity == "binary" else "labelled trees", arity)
            i += 1
        else:
            raise ValueError(f"Expected '(' or ')', got the word {tok!r} outside a leaf")
    return t.tree()


def _parse_optional(line: str, arity: str) -> Tree:
    """A bracketed tree whose labels may be left out (:func:`parse_tree` with labels="optional")."""
    t = _Builder(line)
    toks = t.toks

    def word_at(j: int) -> bool:
        return j < len(toks) and toks[j] not in ("(", ")")

    i, done = 0, False
    while i < len(toks):
        tok = toks[i]
        if done:
            raise ValueError(f"Expected the line to end after the root's ')', got {tok!r}")
        if tok == "(":
            j, label = i + 1, -1
            # a number with more than ')' after it is a label (the strict format's reading)
            if word_at(j) and toks[j].isascii() and toks[j].isdigit() and j + 1 < len(toks) and toks[j + 1] != ")":
                label = _label(toks[j])
                j += 1
            if j >= len(toks):
                raise ValueError("Expected a word or '(' after the last '(', got the end of the line")
            if word_at(j) and j + 1 < len(toks) and toks[j + 1] == ")":  # a leaf: ( [label] word )
                done = t.add(label, (-1, -1), toks[j])
                i = j + 2
                continue
            t.open(label)
            i = j
        elif tok == ")":
            done = t.close("binary trees" if arity == "binary" else "trees", arity)
            i += 1
        else:  # a bare word: an unlabelled leaf of the open node
            if not t.stack:
                raise ValueError(f"Expected '(' to open the tree, got the word {tok!r}")
            t.add(-1, (-1, -1), tok)
            i += 1
    return t.tree()


def format_tree(tree: Tree, labels: np.ndarray | None = None) -> str:
    """The tree in the bracketed format, each node with its label in ``labels`` ((N,), post-order;
    default: the tree's own), none where it is -1: ``(3 (2 The) (4 good))``, ``((The) (good))``."""
    labels = tree.labels if labels is None else np.asarray(labels)
    if labels.shape != tree.labels.shape:
        raise ValueError(f"Expected one label per node {tree.labels.shape}, got shape {labels.shape}")
    text: list[str] = []
    for k, kids in enumerate(tree.children.tolist()):
        inside = tree.tokens[tree.leaf[k]] if kids[0] < 0 else " ".join(text[c] for c in kids if c >= 0)
        text.append(f"({inside})" if labels[k] < 0 else f"({int(labels[k])} {inside})")
    return text[-1]


def binarize(words: list[str], branching: str = "right") -> Tree:
    """An unlabelled binary tree over ``words``: right-branching ``(w1 (w2 (w3 w4)))`` or left-branching
    ``(((w1 w2) w3) w4)``.  Not a parse: a stand-in where no parse tree is at hand."""
    if branching not in ("right", "left"):
        raise ValueError(f"Expected branching 'right' or 'left', got {branching!r}")
    if not words or any(not w or _TOKEN.fullmatch(w) is None or w in ("(", ")") for w in words):
        raise ValueError(f"Expected one or more words without spaces or brackets, got {words[:5]!r}")
    children = [(-1, -1)] * len(words)  # right: every word first, then the nodes from the last pair up
    leaf = list(range(len(words)))
    if branching == "right":
        top = len(words) - 1
        for w in range(len(words) - 2, -1, -1):
            children.append((w, top))
            leaf.append(-1)
            top = len(children) - 1
    else:  # left: each word, then the node joining it to all before it
        children, leaf = [(-1, -1)], [0]
        for w in range(1, len(words)):
            children += [(-1, -1), (len(children) - 1, len(children))]
            leaf += [w, -1]
    return Tree(list(words), np.full(len(children), -1, dtype=np.int64), np.array(children, dtype=np.int64),
                np.array(leaf, dtype=np.int64))


def parse_trees(lines: list[str], where: str, labels: str = "required", arity: str = "binary") -> list[Tree]:
    """One tree per non-blank line; DataError names ``where`` (a file name, or "stdin") and the line.
    ``labels`` and ``arity``: as :func:`parse_tree`'s."""
    _check_arity(arity)
    trees = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            trees.append(parse_tree(line, labels, arity))
        except ValueError as e:
            tail = "" if isinstance(e, ArityError) else " (one bracketed tree a line, e.g. '(3 (2 The) (4 good))')"
            raise DataError(f"{where}:{n}: {e}{tail}") from None
        except Exception as e:  # any other failure on a line (an overflow...) is still that line's problem
            raise DataError(f"{where}:{n}: cannot read this line as a tree ({type(e).__name__}: {e}) (one bracketed "
                            "tree a line, e.g. '(3 (2 The) (4 good))')") from None
    if not trees:
        raise DataError(f"{where}: no trees (one bracketed tree a line, e.g. '(3 (2 The) (4 good))')")
    return trees


def read_trees(path: str | os.PathLike, encoding: str = "utf-8", arity: str = "binary") -> list[Tree]:
    """Every tree of a file, one a line (blank lines skipped); DataError names the file and line.
    ``arity``: as :func:`parse_tree`'s."""
    _check_arity(arity)
    return parse_trees(text_lines(read_text_file(path, encoding)), str(path), arity=arity)
