"""Sentence classification data: ``label<TAB>text`` files and one-class-per-file sets (rt-polarity).

TSV: one example a line, the label before the first tab and the text after it (later tabs belong
to the text, with a warning: more columns are more often an id or a misplaced label than a text
with tabs).  Label and text are stripped of surrounding whitespace and must not be empty.  A
blank line is an error, not a skipped line: in a labelled file it is most often a broken export.

One-class-per-file (Pang & Lee's ``rt-polarity.pos`` / ``rt-polarity.neg``): one sentence a line,
every line of a file has that file's label.  Those two files are Windows-1252, not UTF-8: read them
with ``encoding="cp1252"``; with the default UTF-8 their first accented byte raises a DataError
naming the line and hinting ``--encoding cp1252``.

Chinese and Japanese are written without spaces between words, so a whitespace split makes a whole
sentence one token, which no new sentence repeats.  :func:`char_tokens` splits text into characters
instead, and :func:`rnnkit.data.segmentation.unsegmented_cjk` tells when texts look like that (to
warn before training on them).
"""
from __future__ import annotations

import os
import unicodedata
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from rnnkit.data.files import read_text_file, text_lines, write_text_file
from rnnkit.errors import DataError


class LabeledText(NamedTuple):
    """One example: its class label and its text."""

    label: str
    text: str


def read_tsv(path: str | os.PathLike, encoding: str = "utf-8", header: bool = False,
             labels: Sequence[str] = (), several: bool = False) -> list[LabeledText]:
    """Examples of a ``label<TAB>text`` file; ``header=True`` skips the first line.  ``several``: the file is one
    of a training run's TSV files, which one --header covers, so a header problem's fix names the others too.

    With ``header=True`` a first line that reads as an example (its first column one of ``labels``, a
    model's classes, or a label of another line) raises DataError rather than being dropped unseen:
    a file without a header would lose its first example, and an evaluation would score one text fewer.
    """
    examples: list[LabeledText] = []
    lines = text_lines(read_text_file(path, encoding))
    wide: list[int] = []  # lines with more than two tab-separated columns
    for number, line in enumerate(lines, start=1):
        if header and number == 1:
            continue
        where = f"{path}:{number}"
        if line.count("\t") > 1:
            wide.append(number)
        if "\t" not in line:
            got = "an empty line" if not line.strip() else f"{line[:40]!r} without a tab"
            raise DataError(f"{where}: expected label<TAB>text, got {got}")
        label, text = line.split("\t", 1)
        label = label.strip()
        text = text.strip()
        if not label:
            raise DataError(f"{where}: expected a label before the tab, got an empty label")
        if not text:
            raise DataError(f"{where}: expected a text after the tab, got an empty text (label {label!r}); write the "
                            "text after the tab, or remove the line")
        examples.append(LabeledText(label, text))
    if not examples and header and lines:  # the line --header skipped, and nothing after it
        raise DataError(f"{path}: has a header line and no example after it (header=True, --header, skips the first "
                        "line); add label<TAB>text lines below it, or give header=False (leave out --header) if the "
                        "line is an example")
    if not examples:
        raise DataError(f"{path}: expected label<TAB>text lines, got an empty file")
    _check_not_swapped(examples, path)
    if header:
        _check_not_data(lines[0], examples, labels, path, several)
    else:
        _check_header(examples, path, several)
    if wide:
        warnings.warn(f"{path}:{wide[0]}: {len(wide):,} of {len(examples):,} lines have more than two tab-separated "
                      "columns; the text is everything after the first tab, later columns included (if a column "
                      "is an id or the file is text<TAB>label, write it as label<TAB>text)", stacklevel=2)
    return examples


AGREE = "--header skips the first line of every TSV file given (--train, --valid, --test), so they must agree"
HEADER_TEXTS = {"text", "texts", "sentence", "sentences", "review", "reviews", "document", "content", "x", "文本",
                "句子", "内容", "評論", "评论"}
HEADER_WORDS = {"label", "labels", "class", "classes", "category", "sentiment", "polarity", "target", "y", "tag",
                "标签", "类别", "類別", "標籤", "分类", "分類", "情感", "极性", "極性"}


def looks_like_header(label: str, text: str) -> bool:
    """Whether a ``label<TAB>text`` line names its columns (``label<TAB>text``, ``sentiment<TAB>review``,
    ``标签<TAB>文本``): both fields words a header uses, in any case."""
    return label.strip().lower() in HEADER_WORDS and text.strip().lower() in HEADER_TEXTS


def _check_not_swapped(examples: Sequence[LabeledText], path: str | os.PathLike) -> None:
    """A text<TAB>label file read as label<TAB>text has a different sentence for nearly every label and a
    few values, repeated, for the texts: it would train a classifier of as many classes as sentences.
    Refuse it, saying how to swap.  Told by how many distinct values each column has, not by spaces in
    the labels alone: Chinese and Japanese sentences have none."""
    labels = [e.label for e in examples]
    texts = {e.text for e in examples}
    distinct = len(set(labels))
    spaced = sum(1 for label in labels if " " in label) > len(labels) / 2 and not any(" " in t for t in texts)
    few = len(texts) <= 20 and len(texts) <= len(labels) / 2  # the second column: a few values, repeated
    if len(examples) >= 4 and few and (spaced or distinct > len(labels) / 2):
        raise DataError(f"{path}: the first column has {distinct:,} different values in {len(labels):,} lines (e.g. "
                        f"{labels[0][:40]!r}) and the second only {len(texts)} ({', '.join(sorted(texts)[:4])}): "
                        "the file looks like text<TAB>label; write it as label<TAB>text, e.g. awk -F'\\t' -v "
                        "OFS='\\t' '{print $2, $1}'")


def _check_header(examples: Sequence[LabeledText], path: str | os.PathLike, several: bool = False) -> None:
    """A header line (label<TAB>text) read as an example becomes a class of its own, with one example."""
    first = examples[0].label
    counts = Counter(e.label for e in examples)
    if len(examples) < 3 or counts.pop(first) > 1:
        return
    if looks_like_header(first, examples[0].text):  # both columns named: a header
        raise DataError(f"{path}:1: the first line ({first!r}<TAB>{examples[0].text[:20]!r}) looks like a header, "
                        "and read as an example it would be a class of its own: give header=True (--header) to skip "
                        "it, or remove the line" + (f"; {AGREE}: with --header, each of them needs a header line"
                                             if several else ""))
    repeated = len(examples) >= 10 and min(counts.values()) > 1  # the other labels
    if repeated or first.lower() in HEADER_WORDS:  # one column named like a header: said, not refused
        where = ", where every other label occurs more than once" if repeated else ""
        warnings.warn(f"{path}:1: the label {first!r} occurs only on the first line{where}: if the line is a "
                      "header, give header=True (--header) to skip it", stacklevel=3)


def _check_not_data(first: str, examples: Sequence[LabeledText], labels: Sequence[str],
                    path: str | os.PathLike, several: bool = False) -> None:
    """The line --header skips is a header unless it reads as an example: label<TAB>text whose label is a
    class (one of ``labels``, or the label of another line) and not both columns named like a header."""
    if "\t" not in first:
        return
    label, text = (part.strip() for part in first.split("\t", 1))
    if not text or looks_like_header(label, text):
        return
    others = sum(e.label == label for e in examples)
    if label in labels:
        why = f"the model's label {label!r}"
    elif others:
        lines = f"{others:,} other lines have" if others > 1 else "1 other line has"
        why = f"the label {label!r}, which {lines} too"
    else:
        return
    fix = (f"{AGREE}: add a header line to {path}, or leave out --header and remove the header lines of the others"
           if several else "give header=False (leave out --header) if the file has no header line")
    raise DataError(f"{path}:1: header=True (--header) skips the first line as a header, but it reads as an example "
                    f"({why}, text "
                    f"{text[:30]!r}), which would be dropped; {fix}")


def format_tsv(examples: Sequence[tuple[str, str]]) -> str:
    """``label<TAB>text`` lines of the examples; raises ValueError for a label or text that would not read back."""
    out: list[str] = []
    for k, (label, text) in enumerate(examples):
        if not label.strip() or "\t" in label or "\n" in label or not text.strip() or "\n" in text:
            raise ValueError(f"Expected a non-empty label without tab or newline and a non-empty one-line text, "
                             f"got ({label!r}, {text[:40]!r}) at example {k}")
        out.append(f"{label}\t{text}\n")
    return "".join(out)


def write_tsv(path: str | os.PathLike, examples: Sequence[tuple[str, str]], encoding: str = "utf-8") -> None:
    """Write examples as a ``label<TAB>text`` file (see format_tsv)."""
    write_text_file(path, format_tsv(examples), encoding)


def read_class_files(paths: Mapping[str, str | os.PathLike], encoding: str = "utf-8") -> list[LabeledText]:
    """Examples of one-class-per-file data: ``{label: path}``, files read in the mapping's order.

    Every line is one example; a blank line raises DataError (nothing is dropped without a word).
    """
    if not paths:
        raise ValueError("Expected paths to map at least one label to a file, got an empty mapping")
    examples: list[LabeledText] = []
    for label, path in paths.items():
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"Expected every label to be a non-empty str, got {label!r}")
        lines = text_lines(read_text_file(path, encoding))
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            if not text:
                raise DataError(f"{path}:{number}: expected a sentence (one a line), got an empty line; remove it")
            examples.append(LabeledText(label, text))
        if not lines:
            raise DataError(f"{path}: expected one sentence a line, got an empty file")
    return examples


def read_polarity(pos_path: str | os.PathLike, neg_path: str | os.PathLike,
                  encoding: str = "utf-8") -> list[LabeledText]:
    """rt-polarity style data: positive sentences labelled "pos", then negative ones labelled "neg".

    The published rt-polarity files need ``encoding="cp1252"``.
    """
    return read_class_files({"pos": pos_path, "neg": neg_path}, encoding)


def char_tokens(text: str) -> list[str]:
    """The characters of ``text`` as tokens, whitespace dropped: ``"這家 餐廳ok"`` -> ``這 家 餐 廳 o k``.

    Whitespace is dropped rather than kept as a token, so a text reads the same whether or not its
    words were separated by spaces (segmented or raw Chinese, a stray space).  A combining mark
    (accent, Thai or Devanagari vowel sign) stays with the character before it, so a decomposed
    e + U+0301 is one token, not two (the text is not normalised: it is another token than
    the composed U+00E9).
    """
    tokens: list[str] = []
    for ch in text:
        if ch.isspace():
            continue
        if tokens and unicodedata.category(ch).startswith("M"):
            tokens[-1] += ch
        else:
            tokens.append(ch)
    return tokens
