"""Slash-tagged text, ``word/TAG`` tokens: the People's Daily (PKU) corpus format, read and written back.

One sentence a line, its tokens separated by whitespace (any run of it, as ``str.split`` sees it: the
PKU files' two spaces, a tab, the full-width U+3000), each token a word and its tag joined by ``/``::

    迈向/v  充满/v  希望/n  的/u  新/a  世纪/n
    The/DT dog/NN barks/VBZ

A token is split at its **last** ``/``: ``1/2/CD`` is the word ``1/2`` tagged ``CD``, and ``//w`` the
word ``/`` tagged ``w`` (a tag never holds a ``/``).  A token without ``/``, or with nothing before or
after its last one, raises :class:`rnnkit.errors.DataError` naming the file, the line and the token.
Blank lines (whitespace only) part nothing: they are not sentences.

The 1998 People's Daily files (PKU's annotated corpus) add two things, both kept in the text but not read
as words, so that a tagger learns the words and their own tags::

    19980101-01-001-002/m  中共中央/nt  总书记/n  、/wu  [国家/n  主席/n]nt  江/nr  泽民/nr

* a line's first token ``19980101-01-001-002/m`` (date, page, article, paragraph) is its ID, not a word;
* a bracketed compound ``[国家/n  主席/n]nt`` is read as its words with their own tags, ``国家/n`` and
  ``主席/n``; the brackets and the compound's tag (``nt``, a name of an organisation) are dropped.  Only
  brackets that pair up within the line are read so (nested ones too); a lone ``[`` or ``]`` stays part of
  its word or tag, and ``[/w`` is the word ``[``.

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
from rnnkit.errors import DataError, no_sentences

_TOKENS = re.compile(r"(\S+)")  # re.split with it: [space, token, space, ..., token, space]
# a word, a slash and a tag as taggers write them: a letter then up to 7 letters, digits or $_+- (VBZ, PRP$, vn)
_LOOKS_TAGGED = re.compile(r".+/[A-Za-z][A-Za-z0-9$_+\-]{0,7}")
_LINE_ID = re.compile(r"[0-9]{8}-[0-9]{2}-[0-9]{3}-[0-9]{3}/m")  # 1998 People's Daily: date-page-article-paragraph
_CLOSES = re.compile(r"(?:\][A-Za-z]+)+$")  # after a tag: the ]nt of each compound the word ends
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
        if _LINE_ID.fullmatch(pieces[1]):  # the line's ID: text around the words, as the spaces are
            pieces[:3] = ["".join(pieces[:3])]
            if len(pieces) == 1:  # an ID alone: no sentence
                before += line
                continue
        tokens, gaps = pieces[1::2], pieces[0::2]
        _unbracket(tokens, gaps)
        words, tags = [], []
        for token in tokens:
            word, tag = split_token(token, f"{name}:{number}")
            words.append(word)
            tags.append(tag)
        gaps[0] = before + gaps[0]
        before = ""
        sentences.append(SlashSentence(words, tags, number, gaps))
    if not sentences:
        blank = sum(1 for line in lines if not line.strip())
        raise no_sentences(f"{name}: expected word/TAG sentences (one a line, e.g. 'The/DT dog/NN')",
                           [line.rstrip("\r\n") for line in lines],
                           [(blank, "blank line", "blank lines"), (len(lines) - blank, "line ID alone", "line IDs alone")])
    sentences[-1].gaps[-1] += before
    return sentences


def _unbracket(tokens: list[str], gaps: list[str]) -> None:
    """Move the brackets of the compounds of one line (``[国家/n``, ``主席/n]nt``) from ``tokens`` into the
    ``gaps`` beside them (len(tokens) + 1), in place: only those that pair up, innermost first."""
    opens, closes = [], []  # per token: its leading '['s, its closing ']TAG's
    for token in tokens:
        k = len(token) - len(token.lstrip("["))
        while k and not token[k:].rpartition("/")[0]:  # "[/w" is the word "["
            k -= 1
        opens.append(k)
        found = _CLOSES.search(token.rpartition("/")[2])
        closes.append([] if found is None else found.group().split("]")[1:])
    stack: list[int] = []  # tokens with an open bracket not yet closed, one entry a bracket
    kept_closes = [0] * len(tokens)
    for i, (k, ends) in enumerate(zip(opens, closes)):
        stack += [i] * k
        while kept_closes[i] < len(ends) and stack:
            stack.pop()
            kept_closes[i] += 1
    for i in stack:  # a '[' no ']' closes: part of its word
        opens[i] -= 1
    for i, token in enumerate(tokens):
        ends = "".join("]" + tag for tag in closes[i][:kept_closes[i]])
        tokens[i] = token[opens[i]:len(token) - len(ends)]
        gaps[i] += "[" * opens[i]
        gaps[i + 1] = ends + gaps[i + 1]


def read_slash(path: str | os.PathLike, encoding: str = "utf-8") -> list[SlashSentence]:
    """Sentences of a slash-tagged file (``.gz``, ``.xz`` too: :mod:`rnnkit.data.files`)."""
    return parse_slash(read_text_file(path, encoding), str(path))


def format_slash(sentences: Sequence[SlashSentence], tags: Sequence[Sequence[str]] | None = None,
                 probs: Sequence[Sequence[str]] | None = None) -> str:
    """The sentences' text with ``tags`` (default: their own) in place of the tags read; a tag that
    holds a ``/`` or whitespace, which would not read back, raises ValueError.  ``probs``: one string per
    word written after its tag, ``word/TAG/P`` (``rnnkit tag --probs``; such text no longer reads back as
    word/TAG: its tags would be the P's)."""
    out = []
    for k, s in enumerate(sentences):
        ts = s.tags if tags is None else tags[k]
        ps = [""] * len(s.words) if probs is None else ["/" + p for p in probs[k]]
        if len(ts) != len(s.words) or len(ps) != len(s.words):
            raise ValueError(f"Expected one tag (and probability) per word of sentence {k} ({len(s.words)}), got "
                             f"{len(ts)}")
        out.append(s.gaps[0])
        for word, tag, p, gap in zip(s.words, ts, ps, s.gaps[1:]):
            if not tag or "/" in tag or any(c.isspace() for c in tag):
                raise ValueError(f"Expected a tag without '/' or whitespace for word/TAG text, got {tag!r} "
                                 f"(sentence {k}, word {word!r})")
            out += [word, "/", tag, p, gap]
    return "".join(out)


def lines_around(sentence: SlashSentence) -> tuple[int, int]:
    """``(before, after)``: how many lines without a sentence (blank, or a People's Daily ID alone) the text
    kept with ``sentence`` holds before its line and after it (the file's last lines), so that output of one
    block per input line (``rnnkit tag --nbest``, ``--spans``) can give them theirs, as for raw text."""
    before = sentence.gaps[0].count("\n")
    end = sentence.gaps[-1]
    rest = end[end.index("\n") + 1:] if "\n" in end else ""
    return before, rest.count("\n") + (rest != "" and not rest.endswith("\n"))


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
