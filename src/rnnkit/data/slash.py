"""Slash-tagged text, ``word/TAG`` tokens: the People's Daily (PKU) corpus format, read and written back.

One sentence a line, its tokens separated by whitespace (any run of it, as ``str.split`` sees it: the
PKU files' two spaces, a tab, the full-width U+3000), each token a word and its tag joined by ``/``::

    迈向/v  充满/v  希望/n  的/u  新/a  世纪/n
    The/DT dog/NN barks/VBZ

A token is split at its **last** ``/``: ``1/2/CD`` is the word ``1/2`` tagged ``CD``, and ``//w`` the
word ``/`` tagged ``w`` (a tag never holds a ``/``).  A token without ``/``, or with nothing before or
after its last one, raises :class:`rnnkit.errors.DataError` naming the file, the line and the token.
Blank lines (whitespace only) part nothing: they are not sentences.  The 1998 People's Daily files'
bracketed compounds (``[中央/n  人民/n  广播/vn  电台/n]nt``) are read as they are written: ``[中央`` is
the first word and ``n]nt`` the last tag.

Each :class:`SlashSentence` keeps the text around its tokens (the blank lines and spaces before it, the
spaces between its tokens, its line end), so :func:`format_slash` with the tags read gives the file back
byte for byte, and with predicted tags the same text with only the tags replaced.

:func:`tagged_tokens` tells when the tokens of a file read some other way (``--format segmented``)
mostly look like ``word/TAG`` pairs.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rnnkit.data.files import read_text_file
from rnnkit.errors import DataError

_TOKENS = re.compile(r"(\S+)")  # re.split with it: [space, token, space, ..., token, space]
# a word, a slash and a tag as taggers write them: a letter then up to 7 letters, digits or $_+- (VBZ, PRP$, vn)
_LOOKS_TAGGED = re.compile(r".+/[A-Za-z][A-Za-z0-9$_+\-]{0,7}")
FIX = "--format slash reads each token as word/TAG, split at its last '/' (迈向/v, The/DT, 1/2/CD)"


@dataclass
class SlashSentence:
    """One line of ``word/TAG`` tokens: its words, their tags, and the text between them."""

    words: list[str]
    tags: list[str]
    line_number: int  # 1-based
    gaps: list[str] = field(repr=False)  # len(words) + 1: before the first token (blank lines before it
    # included), between tokens, after the last (its line end, and the file's trailing blank lines)


def split_token(token: str, where: str) -> tuple[str, str]:
    """``(word, tag)`` of a ``word/TAG`` token, split at its last ``/``; ``where`` ("FILE:LINE") names it in errors."""
    word, slash, tag = token.rpartition("/")
    if not slash:
        problem = "has no '/' before a tag"
    elif not word:
        problem = "has no word before its last '/'"
    elif not tag:
        problem = "has no tag after its last '/'"
    else:
        return word, tag
    raise DataError(f"{where}: token {token!r} {problem}; {FIX}: give each token its word and tag")


def parse_slash(text: str, name: str = "<string>") -> list[SlashSentence]:
    """Sentences of a slash-tagged text (blank lines are no sentence); ``name`` is for errors."""
    lines = text.split("\n")
    last = lines.pop()
    lines = [line + "\n" for line in lines] + ([last] if last else [])
    sentences: list[SlashSentence] = []
    before = ""  # blank lines (and a byte-order mark) not yet given to a sentence
    if lines and lines[0].startswith("\ufeff"):
        before, lines[0] = "\ufeff", lines[0][1:]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            before += line
            continue
        pieces = _TOKENS.split(line)
        words, tags = [], []
        for token in pieces[1::2]:
            word, tag = split_token(token, f"{name}:{number}")
            words.append(word)
            tags.append(tag)
        gaps = pieces[0::2]
        gaps[0] = before + gaps[0]
        before = ""
        sentences.append(SlashSentence(words, tags, number, gaps))
    if not sentences:
        got = f"only {len(lines):,} blank lines" if lines else "an empty file"
        raise DataError(f"{name}: expected word/TAG sentences (one a line, e.g. 'The/DT dog/NN'), got {got}")
    sentences[-1].gaps[-1] += before
    return sentences


def read_slash(path: str | os.PathLike, encoding: str = "utf-8") -> list[SlashSentence]:
    """Sentences of a slash-tagged file (``.gz``, ``.xz`` too: :mod:`rnnkit.data.files`)."""
    return parse_slash(read_text_file(path, encoding), str(path))


def format_slash(sentences: Sequence[SlashSentence], tags: Sequence[Sequence[str]] | None = None) -> str:
    """The sentences' text with ``tags`` (default: their own) in place of the tags read; a tag that
    holds a ``/`` or whitespace, which would not read back, raises ValueError."""
    out = []
    for k, s in enumerate(sentences):
        ts = s.tags if tags is None else tags[k]
        if len(ts) != len(s.words):
            raise ValueError(f"Expected one tag per word of sentence {k} ({len(s.words)}), got {len(ts)}")
        out.append(s.gaps[0])
        for word, tag, gap in zip(s.words, ts, s.gaps[1:]):
            if not tag or "/" in tag or any(c.isspace() for c in tag):
                raise ValueError(f"Expected a tag without '/' or whitespace for word/TAG text, got {tag!r} "
                                 f"(sentence {k}, word {word!r})")
            out += [word, "/", tag, gap]
    return "".join(out)


LOOKED_AT = 5000  # tokens: enough to tell, and a large corpus is not scanned whole


def tagged_tokens(sentences: Iterable[Sequence[str]], share: float = 0.5) -> list[str] | None:
    """A few of the tokens when more than ``share`` of the first :data:`LOOKED_AT` look like ``word/TAG``
    (a ``/`` then a short tag of ASCII letters: ``迈向/v``, ``dog/NN``), else None.  A segmented
    corpus has a ``/`` in a date or an address now and then, never in most of its tokens."""
    seen, examples, tagged = 0, [], 0
    for sentence in sentences:
        for token in sentence:
            seen += 1
            if _LOOKS_TAGGED.fullmatch(token):
                tagged += 1
                if len(examples) < 2:
                    examples.append(token)
            if seen >= LOOKED_AT:
                break
        if seen >= LOOKED_AT:
            break
    return examples if seen and tagged > share * seen else None
