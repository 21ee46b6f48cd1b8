"""The wording rnnkit's errors share: a message that begins with what was expected begins "Expected X, got Y"
(PyTorch's words, and those of 735 of rnnkit's raises when this test was written, against 28 "expected"), and one
that says what was expected does not say it after what came ("level 'xyz', expected 'word', ..." began lower-case
with the value, and read "got level 'xyz', expected ..." inside the savers' "Expected metadata ..., got ...").
Text after a place ("file:3: expected ...", "--units 0-x: expected ...") is not the start of a message and is left
alone."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import rnnkit
from rnnkit.cli.common import positive_int
from rnnkit.data.trees import parse_tree

RAISED_LOWER = re.compile(r"raise\s+[\w.]+\(\s*f?[\"']expected\b")
# "X is Y, expected Z" with no place (no colon) before it; a format spec's colon ({x:.40}) stops it early, so a
# message written so is missed there, never one written as Expected flagged
RAISED_AFTER = re.compile(r"raise\s+[\w.]+\(\s*f?[\"'][^\"':]*?[,;] expected\b")


def _raised(pattern: re.Pattern[str]) -> list[str]:
    """``file:line`` of each raise in rnnkit's source whose message ``pattern`` finds."""
    root = Path(rnnkit.__file__).resolve().parent
    return [f"{path.relative_to(root)}:{text.count(chr(10), 0, m.start()) + 1}"
            for path in sorted(root.rglob("*.py"))
            for text in [path.read_text(encoding="utf-8")]
            for m in pattern.finditer(text)]


def test_no_raised_message_begins_with_a_lower_case_expected():
    found = _raised(RAISED_LOWER)
    assert found == [], f"messages beginning 'expected' (write 'Expected'): {found}"


def test_no_raised_message_says_what_was_expected_after_what_came():
    found = _raised(RAISED_AFTER)
    assert found == [], f"messages 'X is Y, expected Z' (write 'Expected Z, got Y'): {found}"


@pytest.mark.parametrize("source, caught", [
    ('raise ValueError(f"level {level!r}, expected {names}")', True),
    ('raise ValueError(\n    f"table {name} is {t.dtype}; expected float32")', True),
    ('raise ValueError(f"Expected level {names}, got {level!r}")', False),
    ('raise DataError(f"{path}:{n}: expected a tab, got none")', False),  # after a place
    ('raise ValueError(f"--units {text}: expected unit numbers, got {part!r}")', False),
])
def test_the_after_pattern_finds_that_form_alone(source, caught):
    assert bool(RAISED_AFTER.search(source)) is caught


def test_the_argparse_types_and_the_tree_reader_say_expected_capitalised():
    with pytest.raises(argparse.ArgumentTypeError, match=r"^Expected an integer >= 1, got 0$"):
        positive_int("0")
    with pytest.raises(ValueError, match=r"^Expected 1 more '\)' at the end of the line$"):
        parse_tree("(3 (2 good) (2 film)")
