"""Padding text for tables by the columns it takes on a terminal, not by its number of characters.

East Asian wide and full-width characters (Chinese, Japanese, Korean, full-width punctuation) take two
columns, combining marks and zero-width characters none, so ``f"{s:<10}"`` misaligns a table whose
cells hold Chinese.  :func:`ljust` and :func:`rjust` pad to a display width instead.
"""
from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    """Terminal columns of ``text``: 2 for wide and full-width characters, 0 for combining marks and
    zero-width characters, 1 for the rest."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def ljust(text: str, width: int) -> str:
    """``text`` padded with spaces on the right to ``width`` columns (unchanged if already wider)."""
    return text + " " * max(0, width - display_width(text))


def rjust(text: str, width: int) -> str:
    """``text`` padded with spaces on the left to ``width`` columns (unchanged if already wider)."""
    return " " * max(0, width - display_width(text)) + text


def align_columns(rows: list[list[str]], gap: int = 2) -> list[str]:
    """Rows of cells as lines whose cells stand in columns, each column as wide as its widest cell (in
    display width, so a column of Chinese lines up), ``gap`` spaces between columns; a row may have fewer
    cells than another, and trailing spaces are cut.

    >>> align_columns([["字", "B", "x"], ["ab", "字字"]])
    ['字  B     x', 'ab  字字']
    """
    widths: list[int] = []
    for row in rows:
        for j, cell in enumerate(row):
            if j == len(widths):
                widths.append(0)
            widths[j] = max(widths[j], display_width(cell))
    return [(" " * gap).join(ljust(cell, w) for cell, w in zip(row, widths)).rstrip() for row in rows]
