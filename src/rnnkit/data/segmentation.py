"""Chinese word segmentation as character tagging: segmented text <-> characters with BMES tags.

A segmented file (SIGHAN bakeoff style) holds one sentence a line, its words separated by
whitespace.  Separators are any run of Unicode whitespace as ``str.split()`` sees it: ASCII space
and tab, and also the full-width IDEOGRAPHIC SPACE U+3000 that Chinese text often uses (and
U+00A0).  A blank line is kept as an empty sentence, so line k of the output is line k of the input.

Each character of a word gets a tag: ``S`` a single-character word, else ``B`` on the first, ``E``
on the last and ``M`` on those between.  Example: ``["我们", "爱", "北京大学"]`` ->
``我 们 爱 北 京 大 学`` tagged ``B E S B M M E``.

:func:`unsegmented_cjk` tells when texts are Chinese or Japanese written without spaces between words,
for the commands that read words and should warn before treating a whole sentence as one.

:func:`fold_width` maps full-width characters to their half-width forms, one character to one: Chinese
text is usually written with full-width punctuation (，。：（）) and digits, while some corpora (UD
Chinese GSD) use the ASCII forms, so a model trained on one sees the other's punctuation as unknown.

:mod:`rnnkit.data.segment_rules` holds the rules applied to a segmenter's output where its characters
cannot decide a boundary (an emoji, a URL, an English word, Chinese punctuation).
"""
from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from rnnkit.data.files import read_text_file, text_lines, write_text_file
from rnnkit.data.scripts import count_cjk
from rnnkit.errors import DataError

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
    """Sentences of a segmented file, each a list of words (an empty list for a blank line).

    A file with no word (empty, or blank lines only) is a DataError: it has nothing to train on or
    score."""
    sentences = [split_words(line) for line in text_lines(read_text_file(path, encoding))]
    if not any(sentences):
        got = f"only {len(sentences):,} blank lines" if sentences else "an empty file"
        raise DataError(f"{path}: expected segmented sentences (one a line, words separated by spaces), got {got}")
    return sentences


def format_segmented(sentences: Sequence[Sequence[str]], separator: str = "  ") -> str:
    """Text of segmented sentences, one a line; the default separator is two spaces, as in the PKU set."""
    return "".join(separator.join(words) + "\n" for words in sentences)


def write_segmented(path: str | os.PathLike, sentences: Sequence[Sequence[str]], separator: str = "  ",
                    encoding: str = "utf-8") -> None:
    """Write segmented sentences, one a line (see format_segmented)."""
    write_text_file(path, format_segmented(sentences, separator), encoding)


UNSEGMENTED_TOKEN_LENGTH = 4.0  # Chinese words average about 1.5 characters; a token of 4+ is a phrase


def unsegmented_cjk(texts: Iterable[str]) -> float | None:
    """The average length, in characters, of the whitespace tokens that hold Chinese or Japanese
    characters, when the texts look written without spaces between words; None when they do not.

    They look so when such characters are at least a third of the non-space characters and their
    tokens average :data:`UNSEGMENTED_TOKEN_LENGTH` characters or more: Chinese words average about
    1.5, so segmented text stays well below, while an unsegmented sentence is one token of 10 or
    more.  English with a few Chinese names, and Korean (spaced), give None.
    """
    chars = cjk = cjk_tokens = cjk_token_chars = 0
    for text in texts:
        if text.isascii():  # no such character: only its non-space characters count
            chars += sum(map(len, text.split()))
            continue
        for token in text.split():
            n = count_cjk(token)
            chars += len(token)
            if n:
                cjk += n
                cjk_tokens += 1
                cjk_token_chars += len(token)
    if not cjk_tokens or 3 * cjk < chars:
        return None
    average = cjk_token_chars / cjk_tokens
    return average if average >= UNSEGMENTED_TOKEN_LENGTH else None


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    if ch in "\u3002\uff61":  # ideographic full stop, and its half-width form (which NFKC maps to it)
        return "."
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch  # 1:1 only: a segmenter's output keeps the input's characters


def fold_width(text: str) -> str:
    """``text`` with each character folded to its compatibility form where that is one character
    (Unicode NFKC, character by character): full-width ASCII to ASCII (``Ａ１，：（`` -> ``A1,:(``),
    half-width katakana to full-width, compatibility ideographs to unified ones; and the ideographic
    full stop ``。`` to ``.``.  The length never changes, so positions in the folded text are
    positions in the original (``ﬁ``, which NFKC makes two letters, stays as it is).
    """
    return "".join(map(_fold_char, text))


def fold_sentences(sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    """Every word of every sentence width-folded (:func:`fold_width`): what a ``--fold-width`` tagger,
    segmenter or HMM reads."""
    return [[fold_width(w) for w in s] for s in sentences]


