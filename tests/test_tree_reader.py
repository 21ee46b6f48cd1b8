"""Reading trees for prediction: bracketings without labels (or with some), writing trees back, and the
trivial right- and left-branching trees over plain words; the strict reader for training is unchanged."""
from __future__ import annotations

import re

import numpy as np
import pytest

from rnnkit.data.trees import binarize, format_tree, parse_tree, parse_trees
from rnnkit.errors import DataError
from rnnkit.treenet import make_batch


def _random_labelled(rng: np.random.Generator, words: list[str]) -> str:
    """A random binary bracketing of ``words`` with a random label 0-9 on every node."""
    if len(words) == 1:
        return f"({int(rng.integers(0, 10))} {words[0]})"
    cut = int(rng.integers(1, len(words)))
    return f"({int(rng.integers(0, 10))} {_random_labelled(rng, words[:cut])} {_random_labelled(rng, words[cut:])})"


def test_optional_labels_read_every_labelled_tree_as_the_strict_reader_does():
    rng = np.random.default_rng(0)
    vocab = ["the", "film", "3", "42", "good", "-LRB-", "n't"]  # number words too: "(2 3)" is the word 3 labelled 2
    for _ in range(200):
        line = _random_labelled(rng, [str(w) for w in rng.choice(vocab, size=int(rng.integers(1, 9)))])
        strict, loose = parse_tree(line), parse_tree(line, "optional")
        assert strict.tokens == loose.tokens, line
        for name in ("labels", "children", "leaf"):
            np.testing.assert_array_equal(getattr(strict, name), getattr(loose, name), err_msg=f"{name} of {line}")
        assert format_tree(strict) == line


@pytest.mark.parametrize("line", ["(good film)", "((good) (film))", "(good (film))", "((good) film)"])
def test_unlabelled_bracketings_are_one_binary_tree(line):
    t = parse_tree(line, "optional")
    assert t.tokens == ["good", "film"]
    assert t.labels.tolist() == [-1, -1, -1]
    assert t.children.tolist() == [[-1, -1], [-1, -1], [0, 1]]
    assert format_tree(t) == "((good) (film))"


def test_some_labels_and_the_number_rule():
    t = parse_tree("(3 (good) (4 film))", "optional")
    assert t.labels.tolist() == [-1, 4, 3]
    assert parse_tree("(3 dogs)", "optional").tokens == ["dogs"]  # a number before more than ')' is a label
    assert parse_tree("((3) dogs)", "optional").tokens == ["3", "dogs"]  # bracketed alone, the word 3
    t = parse_tree("((2 the) (film (is good)))", "optional")
    assert t.tokens == ["the", "film", "is", "good"] and t.labels.tolist() == [2, -1, -1, -1, -1, -1, -1]


@pytest.mark.parametrize("line,message", [
    ("(good film", "Expected 1 more ')'"),
    ("(a b c)", "Expected exactly 2 children"),
    ("()", "Expected a word in the leaf '()'"),  # an empty node: a leaf that lost its word
    ("good", "Expected '(' to open the tree"),
    ("(good) x", "Expected the line to end"),
])
def test_malformed_unlabelled_lines_name_file_and_line(line, message):
    with pytest.raises(DataError) as e:
        parse_trees(["((a) (b))", "", line], "in.txt", "optional")
    assert str(e.value).startswith(f"in.txt:3: {message}") and "\n" not in str(e.value), e.value


def test_the_training_reader_still_wants_every_label():
    with pytest.raises(DataError, match=r"^t.txt:2: Expected a label \(an integer >= 0\) after '\(', got 'good'"):
        parse_trees(["(3 (2 a) (4 b))", "(good film)"], "t.txt")
    with pytest.raises(ValueError, match="'required' or 'optional'"):
        parse_tree("(3 a)", "maybe")


@pytest.mark.parametrize("branching,expected", [("right", "((a) ((b) ((c) (d))))"), ("left", "((((a) (b)) (c)) (d))")])
def test_binarize_builds_the_trivial_trees_in_post_order(branching, expected):
    t = binarize(["a", "b", "c", "d"], branching)
    assert format_tree(t) == expected
    assert (t.labels == -1).all() and len(t.labels) == 7
    assert all(left < k and right < k for k, (left, right) in enumerate(t.children.tolist()) if left >= 0)
    b = make_batch([t], [np.arange(4)])
    assert len(b.levels) == 3 and b.roots.tolist() == [6]  # a chain: one node a height
    assert format_tree(binarize(["one"], branching)) == "(one)"
    with pytest.raises(ValueError, match="without spaces or brackets"):
        binarize(["a", "b)"], branching)


def test_format_tree_writes_given_labels():
    t = parse_tree("((The) (good))", "optional")
    assert format_tree(t, np.array([2, 4, 3])) == "(3 (2 The) (4 good))"
    with pytest.raises(ValueError, match="one label per node"):
        format_tree(t, np.array([1, 2]))


SST_LINE = "(3 (2 (2 The) (2 Rock)) (4 (2 is) (4 (3 very) (4 good))))"


def test_any_arity_reads_nodes_of_one_two_and_more_children():
    line = "(3 (2 (2 The) (2 Rock) (2 ,)) (4 (2 is) (4 (4 good))) (2 .))"
    t = parse_tree(line, arity="any")
    assert t.tokens == ["The", "Rock", ",", "is", "good", "."]
    assert t.children.shape == (len(t.labels), 3)  # the widest node's children, -1 padded
    assert [t.kids(k) for k in range(len(t.labels))] == [[], [], [], [0, 1, 2], [], [], [5], [4, 6], [], [3, 7, 8]]
    assert format_tree(t) == line  # written back as read
    b = make_batch([t], [np.arange(6)])
    assert [lv.nodes.tolist() for lv in b.levels] == [[3, 6], [7], [9]] and b.levels[0].left is None
    # a binary tree read with arity "any" is the binary reader's tree, (N, 2) children and all
    strict = parse_tree(SST_LINE, arity="any")
    np.testing.assert_array_equal(strict.children, parse_tree(SST_LINE).children)
    loose = parse_tree("(a b c (d))", "optional", arity="any")  # unlabelled: bare words are leaves
    assert loose.tokens == ["a", "b", "c", "d"] and loose.kids(len(loose.labels) - 1) == [0, 1, 2, 3]
    assert format_tree(loose) == "((a) (b) (c) (d))"
    zh = parse_tree("(3 (2 这部) (2 电影) (4 (4 很好)))", arity="any")  # Chinese words, a unary node
    assert zh.tokens == ["这部", "电影", "很好"] and zh.kids(4) == [0, 1, 3] and format_tree(zh).startswith("(3 (2 这部)")


@pytest.mark.parametrize("labels,line,message", [
    ("required", "(3 (2 a) (2 b) (2 c))", "Expected exactly 2 children at an internal node (binarised trees), got 3 "
                                          "at the node over 'a b c'; binarise the trees, or use a Child-Sum"),
    ("required", "(3 (2 x) (1 (2 a)))", "got 1 at the node over 'a'; binarise"),
    ("optional", "((a b c) d)", "Expected exactly 2 children at an internal node (binary trees), got 3 at the node "
                                "over 'a b c'"),
])
def test_the_binary_reader_names_the_node_of_other_arity_and_the_way_out(labels, line, message):
    with pytest.raises(DataError) as e:
        parse_trees(["(1 (1 a) (1 b))", line], "in.txt", labels)
    text = str(e.value)
    assert text.startswith("in.txt:2: Expected exactly 2 children") and message in text, text
    assert "(train one with --cell childsum; in Python cell 'childsum', arity='any')" in text, text
    assert "\n" not in text and "a line" not in text, text


def test_any_arity_still_refuses_an_empty_node_and_a_bad_arity():
    with pytest.raises(DataError, match=r"^in.txt:1: Expected a word in the leaf '\(\)'"):
        parse_trees(["(a () b)"], "in.txt", "optional", arity="any")
    with pytest.raises(ValueError, match="Expected arity 'binary' or 'any', got 'nary'"):
        parse_tree("(1 a)", arity="nary")


@pytest.mark.parametrize("line,labels,node", [("(3 (2 the) (4 ))", "required", "'(4 )'"),
                                              ("((the) ())", "optional", "'()'")])
def test_a_leaf_without_its_word_is_said_to_be_one(line, labels, node):
    with pytest.raises(ValueError, match=rf"Expected a word in the leaf {re.escape(node)} \(as in '\(4 good\)'\), or "
                                         r"children if it is an internal node .*got neither: write the word"):
        parse_tree(line, labels)
