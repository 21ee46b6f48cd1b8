"""CoNLL-2000-style column files, read and written back.

Column files (CoNLL-2000 ``word POS chunk``): one token a line in columns, a blank line between sentences; the
word and tag columns are chosen by index.  A line that holds a tab between its columns is split at tabs (runs of
them, with the spaces around them), so a token of a tab-separated file may hold a space (``New York``); a line
without tabs is split at whitespace.  A file without tabs, and a tab-separated one whose tokens hold no whitespace,
read the same either way; trailing spaces and tabs are no separator, and a line that mixes the two between its
columns (``word POS<tab>chunk``) is split at whitespace when only that gives the file's column count.  Written
back, the columns keep the file's separator (a tab when its first token line holds one), and a line of a file
separated by spaces whose token holds whitespace is written with tabs, so that it reads back as it was read.
``-DOCSTART-`` lines (CoNLL-2003) mark documents, not sentences: they are skipped when ``skip_docstart`` is true.

Every file may be ``.gz`` or ``.xz`` compressed (by its name; :mod:`rnnkit.data.files`).  A malformed line raises
:class:`rnnkit.errors.DataError` naming the file and line, what was expected and what came.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rnnkit.data.conll import check_predictions, no_sentences
from rnnkit.data.files import read_text_file, text_lines, write_text_file
from rnnkit.errors import DataError


@dataclass
class ColumnSentence:
    """One sentence of a column file: the chosen word and tag columns and all its rows."""

    words: list[str]
    tags: list[str] | None  # None when read with tag_column=None (unlabelled text)
    rows: list[list[str]] = field(repr=False)  # every column of every token line
    line_number: int = 0  # 1-based line of the sentence's first token
    lead: tuple[str, ...] = ()  # the lines before it that are not its own: -DOCSTART-, extra blank lines
    trail: tuple[str, ...] = ()  # the last sentence's: such lines after it, at the file's end
    sep: str = " "  # the file's column separator, as written back: "\t" when its first token line holds a tab


_TABS = re.compile(r"\s*\t\s*")  # a tab-separated line's separator: aligned columns have runs of tabs


def column_fields(line: str, n_columns: int = 0) -> list[str]:
    """The columns of one line of a column file: split at tabs when it holds one between its fields (a token may
    then hold spaces), else at whitespace; [] for a blank line.  ``n_columns``: the file's count (0: not known
    yet), which a line mixing spaces and tabs between its columns ("word POS<TAB>chunk") meets only when split
    at whitespace: then it is split so."""
    line = line.strip()  # (trailing spaces and tabs, as hand-edited files have, are no separator)
    if "\t" not in line:
        return line.split()
    fields = _TABS.split(line)
    if n_columns and len(fields) != n_columns and len(line.split()) == n_columns:
        return line.split()
    return fields


def check_column(index: int, n_columns: int, what: str, where: str) -> None:
    """DataError when column ``index`` (negative: from the end) is not in a line of ``n_columns``;
    ``what`` names it for the message ("tag column", the --tag-column option's)."""
    if not -n_columns <= index < n_columns:
        raise DataError(f"{where}: {what} {index} asked for, but the line has {n_columns} column"
                        f"{'s' * (n_columns != 1)}; choose one from 0 to {n_columns - 1} (or -1 for the last)")


def _odd_space(line: str) -> str:
    """For a column-count error: the first whitespace character of ``line`` other than space and tab (a
    no-break space inside "10 000", a line separator), which splits columns as a space does."""
    odd = next((c for c in line if c.isspace() and c not in " \t\r\n"), None)
    if odd is None:
        return ""
    import unicodedata

    name = unicodedata.name(odd, "a control character").lower()
    return (f"; the line holds U+{ord(odd):04X} ({name}), which separates columns as a space does: replace it "
            "(e.g. with nothing or '_') inside tokens")


def _separators(line: str, sep: str, first: tuple[int, str]) -> str:
    """For a column-count error: how ``line`` was split when the file's first token line was split otherwise
    (``sep``, its separator), else :func:`_odd_space`'s hint; and, when the first token line (``first``: its
    number and text) mixes spaces and tabs between its columns, the count split at whitespace would give."""
    line = line.strip()
    number, first_text = first
    split = len(first_text.split())
    if sep == "\t" and split != len(column_fields(first_text)) and len(column_fields(line)) == split:
        return (f" (the first token line, line {number}, mixes spaces and tabs between its columns: split at its "
                f"tabs it has {len(column_fields(first_text))}, at whitespace {split}, as this line has; separate "
                "its columns by tabs alone)")
    if ("\t" in line) == (sep == "\t"):
        return "" if sep == "\t" else _odd_space(line)
    if sep == "\t":
        return " (the first token line's columns are separated by tabs, this line's by spaces)"
    return (" split at its tabs (a line holding a tab between its columns is split at tabs; the first token line's "
            "columns are separated by spaces)")


def read_columns(path: str | os.PathLike, word_column: int = 0, tag_column: int | None = -1,
                 encoding: str = "utf-8", skip_docstart: bool = True) -> list[ColumnSentence]:
    """Sentences of a whitespace-separated column file (CoNLL-2000 ``word POS chunk``).

    Every token line must have as many columns as the file's first token line.  ``tag_column`` may
    be None for a file without tags.  Column indices may be negative (-1 is the last column).
    """
    for argument, value in (("word_column", word_column), ("tag_column", tag_column)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise TypeError(f"Expected {argument} to be an int, got {type(value).__name__}")
    name = str(path)
    sentences: list[ColumnSentence] = []
    rows: list[list[str]] = []
    first_line = 0
    n_columns = 0
    lines = text_lines(read_text_file(path, encoding)) + [""]  # the sentinel closes the last sentence
    pending: list[str] = []  # lines since the last sentence and the blank line that ended it
    lead: tuple[str, ...] = ()
    sep = ""  # the first token line's separator
    first = (0, "")  # the first token line: its number and text, for a column-count error
    for number, line in enumerate(lines, start=1):
        fields = column_fields(line, n_columns)
        if fields and skip_docstart and fields[0] == "-DOCSTART-":
            pending.append(line)  # kept, so that tag --format columns writes it back in its place
            continue
        if fields:
            where = f"{name}:{number}"
            if n_columns == 0:
                n_columns, sep = len(fields), "\t" if "\t" in line.strip() else " "
                first = (number, line)
                check_column(word_column, n_columns, "word column", where)
                if tag_column is not None:
                    check_column(tag_column, n_columns, "tag column", where)
            elif len(fields) != n_columns:
                kind = "tab" if sep == "\t" else "whitespace"
                raise DataError(f"{where}: expected {n_columns} {kind}-separated columns like the first "
                                f"token line, got {len(fields)}{_separators(line, sep, first)}")
            if not rows:
                first_line, lead, pending = number, tuple(pending), []
            rows.append(fields)
            continue
        if rows:
            words = [row[word_column] for row in rows]
            tags = None if tag_column is None else [row[tag_column] for row in rows]
            sentences.append(ColumnSentence(words, tags, rows, first_line, lead, sep=sep))
            rows = []
        elif number < len(lines):  # a blank line that ends no sentence (not the sentinel)
            pending.append(line)
    if not sentences:
        raise no_sentences(f"{name}: expected sentences of whitespace-separated columns", lines[:-1])
    sentences[-1].trail = tuple(pending)  # a -DOCSTART- after the last sentence: written back too
    return sentences


def format_columns(sentences: Sequence[ColumnSentence], predictions: Sequence[Sequence[str]],
                   column: int | None = None, sep: str | None = None) -> str:
    """Column text of the sentences with ``predictions`` appended (column None) or replacing ``column``, the
    columns separated by ``sep`` (None: each sentence's own, the separator of the file it was read from); a
    row whose field holds whitespace (``New York`` after lines separated by spaces) by tabs, as it can only
    be read back so.

    Appending gives ``word POS gold predicted``, the input the conlleval script reads.  The lines
    read between sentences (``-DOCSTART-``, extra blank lines) are written back in their places, so a
    file read by :func:`read_columns` comes back line for line (a last blank line added).
    """
    check_predictions([s.words for s in sentences], predictions)
    out: list[str] = []
    for k, (sentence, pred) in enumerate(zip(sentences, predictions)):
        out.extend(line + "\n" for line in sentence.lead)  # -DOCSTART- and extra blank lines, as read
        for row, tag in zip(sentence.rows, pred):
            row = list(row)
            if column is None:
                row.append(tag)
            elif -len(row) <= column < len(row):
                row[column] = tag
            else:
                raise ValueError(f"Expected column from {-len(row)} to {len(row) - 1} (or None to append), "
                                 f"got {column} for sentence {k}")
            joiner = sentence.sep if sep is None else sep
            if joiner != "\t" and len(" ".join(row).split()) != len(row):  # a field holds whitespace
                joiner = "\t"
            out.append(joiner.join(row) + "\n")
        out.append("\n")
        out.extend(line + "\n" for line in sentence.trail)  # after the file's last sentence
    return "".join(out)


def write_columns(path: str | os.PathLike, sentences: Sequence[ColumnSentence],
                  predictions: Sequence[Sequence[str]], column: int | None = None, sep: str | None = None,
                  encoding: str = "utf-8") -> None:
    """Write a column file with the predictions appended or in place of ``column`` (see format_columns)."""
    write_text_file(path, format_columns(sentences, predictions, column, sep), encoding)
