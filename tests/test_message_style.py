"""The wording rnnkit's errors share: a message that begins with what was expected begins "Expected X, got Y"
(PyTorch's words, and those of 735 of rnnkit's raises when this test was written, against 28 "expected").
Text after a place ("file:3: expected ...") is not the start of a message and is left alone."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import rnnkit
from rnnkit.cli.common import positive_int
from rnnkit.data.trees import parse_tree

RAISED_LOWER = re.compile(r"raise\s+[\w.]+\(\s*f?[\"']expected\b")


def test_no_raised_message_begins_with_a_lower_case_expected():
    root = Path(rnnkit.__file__).resolve().parent
    found = [f"{path.relative_to(root)}:{text.count(chr(10), 0, m.start()) + 1}"
             for path in sorted(root.rglob("*.py"))
             for text in [path.read_text(encoding="utf-8")]
             for m in RAISED_LOWER.finditer(text)]
    assert found == [], f"messages beginning 'expected' (write 'Expected'): {found}"


def test_the_argparse_types_and_the_tree_reader_say_expected_capitalised():
    with pytest.raises(argparse.ArgumentTypeError, match=r"^Expected an integer >= 1, got 0$"):
        positive_int("0")
    with pytest.raises(ValueError, match=r"^Expected 1 more '\)' at the end of the line$"):
        parse_tree("(3 (2 good) (2 film)")
