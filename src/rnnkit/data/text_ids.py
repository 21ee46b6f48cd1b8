"""A text file read straight into token ids, without a list of token strings.

:func:`rnnkit.data.text.read_tokens` gives one Python string per token: about 57 bytes a word, and 70 a
Chinese character, each its own object, so a 200 MB corpus became 3-6 GB before training began.  Here
each distinct token is a string once: words go through a dict that hands every new word the next
provisional id, a megabyte of lines at a time, into a 4-byte array; characters are their code points
(the text encoded as UTF-32) and are counted with ``np.bincount``.  The vocabulary is then built from
the counts exactly as :meth:`Vocabulary.build` builds it from the tokens (specials, then count
descending, then the token), and the provisional ids are mapped to its ids in one lookup.

The tokens are :func:`rnnkit.data.text.tokenize`'s (words and ``<eos>`` per non-blank line, or every
character), the ids those :meth:`Vocabulary.encode` gives them, and the OOV figures those of
:func:`rnnkit.data.vocab.oov_rate`: the same numbers, in a fifth to a seventh of the memory.
"""
from __future__ import annotations

import os
from array import array
from typing import NamedTuple

import numpy as np

from rnnkit.data.text import LEVELS, read_text
from rnnkit.data.vocab import EOS, OOVStats, Vocabulary
from rnnkit.errors import DataError

SLICE = 1 << 20  # characters of text split into lines at a time: no list of all the lines


class TextIds(NamedTuple):
    """A file's tokens as ids of ``vocab``."""

    vocab: Vocabulary  # the one given, or the one built on the file
    ids: np.ndarray  # (N,) int64, as Vocabulary.encode gives them; unknown tokens are vocab.unk_id
    head: list[str]  # the first tokens (at most read_ids' ``head``), for messages and hints
    oov: OOVStats  # tokens not in vocab (what became <unk>), as oov_rate counts them


class _NextId(dict):
    """token -> provisional id, in order of first appearance: a new token gets the next id."""

    def __missing__(self, token: str) -> int:
        self[token] = n = len(self)
        return n


def _words(text: str, head: int) -> tuple[list[str], np.ndarray, list[str]]:
    """(types in order of first appearance, provisional ids (N,) int32, the first ``head`` tokens)."""
    index = _NextId()
    get = index.__getitem__
    ids = array("i")
    first: list[str] = []
    pos, n = 0, len(text)
    while pos < n:
        end = text.find("\n", min(pos + SLICE, n))  # a slice ends at a line end: no line is cut
        end = n if end < 0 else end + 1
        for line in text[pos:end].split("\n"):
            words = line.split()
            if words:
                words.append(EOS)
                ids.extend(map(get, words))
                if len(first) < head:
                    first.extend(words[: head - len(first)])
        pos = end
    return list(index), np.frombuffer(ids, dtype=np.int32), first


def _characters(text: str) -> tuple[list[str], np.ndarray]:
    """(types in order of code point, provisional ids (N,) int32 indexing them)."""
    # (N,) one code point each; surrogatepass: a lone surrogate (utf-7 or unicode_escape text) is its code point
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    present = np.flatnonzero(np.bincount(points)) if points.size else np.zeros(0, dtype=np.intp)
    provisional = np.zeros(int(present[-1]) + 1 if present.size else 0, dtype=np.int32)  # code point -> id
    provisional[present] = np.arange(present.size, dtype=np.int32)
    return [chr(c) for c in present], provisional[points]


def read_ids(path: str | os.PathLike, level: str = "word", encoding: str = "utf-8", vocab: Vocabulary | None = None,
             max_size: int | None = None, min_count: int = 1, head: int = 200_000) -> TextIds:
    """The tokens of a text file as ids (see the module docstring).

    With ``vocab`` None the vocabulary is built on the file (``max_size``, ``min_count`` as
    :meth:`Vocabulary.build` takes them; ``<eos>`` at word level only), else the file is encoded with
    ``vocab``.  ``head``: how many of the first tokens to keep as strings.  A file without a token is
    the DataError :func:`rnnkit.data.text.read_tokens` raises.
    """
    if level not in LEVELS:
        raise ValueError(f"Expected level to be one of {LEVELS}, got {level!r}")
    text = read_text(path, encoding)
    if level == "word":
        types, provisional, first = _words(text, head)
    else:
        (types, provisional), first = _characters(text), list(text[:head])
    del text
    if provisional.size == 0:
        what = "only whitespace" if level == "word" else "nothing"
        raise DataError(f"{path}: the file is empty (it holds {what}, no {level} token); give a file with text")
    counts = np.bincount(provisional, minlength=len(types))  # (types,)
    if vocab is None:
        vocab = Vocabulary.from_counts(dict(zip(types, counts.tolist())), max_size, min_count,
                                       eos_token=EOS if level == "word" else None)
    known = np.fromiter((t in vocab for t in types), dtype=bool, count=len(types))
    table = np.fromiter((vocab.token_id(t) for t in types), dtype=np.int64, count=len(types))  # provisional -> id
    ids = table[provisional]  # (N,) int64
    missing = int(counts[~known].sum())
    return TextIds(vocab, ids, first, OOVStats(missing, int(ids.size), missing / ids.size))
