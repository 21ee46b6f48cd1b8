"""Reading trees for prediction: bracketings without labels (or with some), writing trees back, and the
trivial right- and left-branching trees over plain words; the strict reader for training is unchanged."""
from __future__ import annotations

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
    ("()", "Expected exactly 2 children"),
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
