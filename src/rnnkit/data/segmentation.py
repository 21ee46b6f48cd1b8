"""Chinese word segmentation as character tagging: segmented text <-> characters with BMES tags.

A segmented file (SIGHAN bakeoff style) holds one sentence a line, its words separated by
whitespace.  Separators are any run of Unicode whitespace as ``str.split()`` sees it: ASCII space
and tab, and also the full-width IDEOGRAPHIC SPACE U+3000 that Chinese text often uses (and
U+00A0).  A blank line is kept as an empty sentence, so line k of the output is line k of the input.

Each character of a word gets a tag: ``S`` a single-character word, else ``B`` on the first, ``E``
on the last and ``M`` on those between.  Example: ``["我们", "爱", "北京大学"]`` ->
``我 们 爱 北 京 大 学`` tagged ``B E S B M M E``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

from rnnkit.data.conll import read_text_file, text_lines, write_text_file

TAGS = ("B", "M", "E", "S")


def split_words(line: str) -> list[str]:
    """The words of a segmented line (separated by any whitespace, U+3000 included)."""
    return line.split()


def words_to_tags(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(characters, BMES tags)`` of a segmented sentence; raises ValueError for an empty word."""
    chars: list[str] = []
    tags: list[str] = []
    for i, word in enumerate(words):
        if not isinstance(word, str) or word == "" or any(c.isspace() for c in word):
            raise ValueError(f"Expected every word to be a non-empty str without whitespace, got {word!r} at "
                             f"position {i}")
        chars.extend(word)
        if len(word) == 1:
            tags.append("S")
        else:
            tags.extend(["B"] + ["M"] * (len(word) - 2) + ["E"])
    return chars, tags


def tags_to_words(chars: Sequence[str], tags: Sequence[str]) -> list[str]:
    """Words of characters tagged BMES; robust to sequences a tagger should not produce.

    A new word starts at the first character, at every ``B`` or ``S``, and after every ``E`` or
    ``S``.  So an ``M`` or ``E`` that follows a finished word (``S M``, ``E E``) starts a word of its
    own, and a ``B`` or ``M`` at the end of the sentence ends the last word.  The characters are
    never changed: ``"".join(words) == "".join(chars)`` always holds.
    """
    if len(chars) != len(tags):
        raise ValueError(f"Expected as many tags as characters ({len(chars)}), got {len(tags)}")
    words: list[str] = []
    previous = "E"  # as if a word had just ended, so the first character starts one
    for i, (char, tag) in enumerate(zip(chars, tags)):
        if tag not in TAGS:
            raise ValueError(f"Expected a tag among {TAGS}, got {tag!r} at position {i}")
        if tag in "BS" or previous in "ES":
            words.append(char)
        else:
            words[-1] += char
        previous = tag
    return words


def read_segmented(path: str | os.PathLike, encoding: str = "utf-8") -> list[list[str]]:
    """Sentences of a segmented file, each a list of words (an empty list for a blank line)."""
    return [split_words(line) for line in text_lines(read_text_file(path, encoding))]


def format_segmented(sentences: Sequence[Sequence[str]], separator: str = "  ") -> str:
    """Text of segmented sentences, one a line; the default separator is two spaces, as in the PKU set."""
    return "".join(separator.join(words) + "\n" for words in sentences)


def write_segmented(path: str | os.PathLike, sentences: Sequence[Sequence[str]], separator: str = "  ",
                    encoding: str = "utf-8") -> None:
    """Write segmented sentences, one a line (see format_segmented)."""
    write_text_file(path, format_segmented(sentences, separator), encoding)
