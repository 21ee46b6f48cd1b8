"""A sentence classifier's examples from labelled trees (the Stanford Sentiment Treebank's files).

Each tree gives one example: its words (the leaves, left to right, joined by spaces) and its root's
label, read with a tree model's label scheme (:mod:`rnnkit.treenet.labels`):

- ``"sst5"`` (fine-grained, the default): SST's 0-4 as they are, 5 classes;
- ``"sst2"`` (binary): roots 0, 1 negative and 3, 4 positive, neutral roots (2) left out: SST-2's
  6,920 / 872 / 1,821 sentences of train / dev / test;
- ``"as-is"``: a user's own labels as they are.

Labels are written as a tree file gives them (:func:`rnnkit.treenet.labels.written_labels`): an SST-2
classifier's classes are ``"1"`` (negative) and ``"3"`` (positive), which read back with the scheme as
the same classes, so ``classify --format tree`` output scored by ``evaluate`` round-trips.

With ``phrases`` every labelled node of a tree is an example too, its words the node's span (Socher
et al. 2013's phrase labels, which Kim 2014 and Tai et al. 2015 train their sentence models on):
:func:`phrase_examples` gives them, each distinct (label, text) once.
"""
from __future__ import annotations

from collections.abc import Sequence

from rnnkit.data.classification import LabeledText
from rnnkit.data.trees import Tree
from rnnkit.treenet.labels import BINARY, SST_CLASSES, check_scheme, task_labels, written_labels


class TreeSentence(LabeledText):
    """A tree's sentence: ``label`` (its root's, as written) and ``text`` (its words), keeping its labelled
    ``phrases`` (every node's, the root's last) for training on phrases, and the ``line`` of its file (None:
    not known), which blank lines and left-out trees make no count of the sentences.  Still a (label, text)
    pair."""

    phrases: tuple[LabeledText, ...]
    line: int | None

    def __new__(cls, label: str, text: str, phrases: Sequence[LabeledText] = (),
                line: int | None = None) -> TreeSentence:
        self = super().__new__(cls, label, text)
        self.phrases = tuple(phrases)
        self.line = line
        return self


def _written_names(scheme: str) -> list[str] | None:
    """Each class's label as an example has it, the label a tree file gives it (SST-2's ``"1"``, ``"3"``);
    None for ``"as-is"``, whose classes are their labels; ValueError for an unknown scheme."""
    if check_scheme(scheme) == "as-is":
        return None
    return [str(int(x)) for x in written_labels(SST_CLASSES[scheme], scheme)]


def tree_examples(trees: Sequence[Tree], scheme: str = "sst5",
                  lines: Sequence[int] | None = None) -> list[TreeSentence]:
    """One example a tree whose root the scheme keeps (``"sst2"`` leaves neutral roots out), with its
    labelled phrases (``"sst2"``: not the neutral ones) and its line of ``lines`` (each tree's, if given);
    every node must be labelled (ValueError otherwise)."""
    names = _written_names(scheme)  # once a call, not once a node
    out = []
    for tree, line in zip(trees, lines if lines is not None else [None] * len(trees)):
        if tree.labels.min() < 0:
            raise ValueError("Expected a label on every node of a tree to learn from, got an unlabelled node")
        # (N,) the class of every node; SST-2: -1 at its neutral ones
        learnt = tree.labels if names is None else task_labels(tree, len(names), scheme)
        if learnt[-1] < 0:  # a neutral root: not a sentence of the binary task
            continue
        phrases = [LabeledText(str(k) if names is None else names[k], " ".join(tree.tokens[a:b]))
                   for (a, b), k in zip(tree.spans().tolist(), learnt.tolist()) if k >= 0]
        out.append(TreeSentence(phrases[-1].label, " ".join(tree.tokens), phrases, line))
    return out


def root_label(tree: Tree, scheme: str = "sst5") -> str | None:
    """The root's label as an example of ``scheme`` has it (``"1"``/``"3"`` for SST-2), None for a neutral
    root of ``"sst2"``; ValueError for an unlabelled root or one the scheme cannot read."""
    names = _written_names(scheme)
    root = int(tree.root_label)
    if root < 0:
        raise ValueError("Expected a label at the root (the sentence's gold class), got an unlabelled root")
    if names is None:
        return str(root)
    if root > 4:
        raise ValueError(f"Expected SST labels 0-4 for label scheme {scheme!r}, got {root}")
    k = root if scheme == "sst5" else int(BINARY[root])
    return None if k < 0 else names[k]


def phrase_examples(sentences: Sequence[LabeledText]) -> list[LabeledText]:
    """Every labelled phrase of ``sentences`` (:class:`TreeSentence`; another example counts as its own one
    phrase), each distinct (label, text) once, in order of first appearance: SST's phrases repeat across
    trees ("the", "film") with one label each, and Kim (2014) trains on the distinct ones."""
    seen: set[tuple[str, str]] = set()
    out = []
    for s in sentences:
        for p in getattr(s, "phrases", None) or (LabeledText(s.label, s.text),):
            key = (p.label, p.text)
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out
