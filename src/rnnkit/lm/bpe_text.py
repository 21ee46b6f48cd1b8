"""Text at the BPE level of a language model (``train lm --level bpe``): lines of subword pieces and ``<eos>``.

A line is a sentence, as at the word level: each non-blank line, its whitespace runs collapsed to one space,
is split into the pieces of a SentencePiece BPE model (:mod:`rnnkit.data.bpe`) and followed by ``<eos>``;
blank lines are skipped (an empty sentence would only add a second ``<eos>`` in a row).  The first piece of a
line carries SentencePiece's word-start mark ``▁``, as every word's first piece does, so the model learns
where words start and ``<eos>`` alone says where a line ends::

    "the cats sat\\n\\nhere\\n"  ->  ▁the ▁cat s ▁sat <eos> ▁here <eos>

A whitespace word that is one of the vocabulary's own tokens, ``<unk>`` or ``<eos>``, is that token, as
at the word level: PTB writes its rare words as ``<unk>``, which becomes one token, not the pieces
``< un k >`` (SentencePiece would read ``<`` and ``>`` as unknown), and the text around it is split on
its own; such words are left out of the text the BPE model is learned from.

The BPE model is learned from the training file's non-blank lines (all, in order, no sampling: the same
file and size give the same model byte for byte), and the vocabulary is built from the pieces of the
training text, ``<unk>`` and ``<eos>`` first: a piece the training text never uses alone (a character
always inside longer pieces) has no row, and new text that needs it reads it as ``<unk>``.  Pieces join
back into text by :func:`decode_pieces` (``▁`` is a space, ``<eos>`` a line end), which reproduces every
line made of the training text's characters (whitespace runs as one space).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, Callable

import numpy as np

from rnnkit.data.bpe import processor, train_bpe
from rnnkit.data.text import read_text
from rnnkit.data.text_ids import TextIds
from rnnkit.data.vocab import EOS, UNK, OOVStats, Vocabulary
from rnnkit.errors import DataError
from rnnkit.lm.units import TextUnits, line_units

WORD_START = "\u2581"  # ▁, SentencePiece's mark of a word's first piece
SPECIALS = (UNK, EOS)  # whitespace words read as the vocabulary's own tokens, not split into pieces


def sentences(text: str) -> list[str]:
    """The non-blank lines of ``text``, whitespace runs collapsed to one space: what is split into pieces."""
    out = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if line:
            out.append(line)
    return out


def learn(text: str | Sequence[str], vocab_size: int, what: str = "the training text") -> bytes:
    """The BPE model (SentencePiece ``ModelProto`` bytes) of ``vocab_size`` pieces learned from the
    non-blank lines of ``text`` (or ``text``, its :func:`sentences`) without their ``SPECIALS`` words; a size
    the text cannot fill is :func:`rnnkit.data.bpe.train_bpe`'s ValueError."""
    lines = sentences(text) if isinstance(text, str) else text
    return train_bpe((" ".join(w for w in line.split() if w not in SPECIALS) for line in lines), vocab_size, what)


def _segments(line: str) -> list[str]:
    """A line as the runs of its words to split into pieces and, between them, its ``SPECIALS`` words:
    "a b <unk> c" -> ["a b", "<unk>", "c"] (a special word is its own item; a run is never one)."""
    out: list[str] = []
    run: list[str] = []
    for word in line.split():
        if word in SPECIALS:
            if run:
                out.append(" ".join(run))
                run = []
            out.append(word)
        else:
            run.append(word)
    if run:
        out.append(" ".join(run))
    return out


def line_pieces(model: bytes, line: str) -> list[str]:
    """The pieces of one line and ``<eos>`` (none for a blank line), as a line is read everywhere."""
    sp = processor(model)
    out = []
    for segment in _segments(line):
        out.extend([segment] if segment in SPECIALS else sp.encode(segment, out_type=str))
    return out + [EOS] if out else []


def text_pieces(model: bytes, text: str, end: bool = True) -> list[str]:
    """The pieces of every non-blank line of ``text``, each line followed by ``<eos>``; ``end=False`` leaves
    out the last line's ``<eos>`` when ``text`` does not end with a newline (a line being continued)."""
    out = [piece for line in sentences(text) for piece in line_pieces(model, line)]
    if not end and out and not text.endswith("\n"):
        out.pop()
    return out


def _sentence_ids(text: Sequence[str], model: bytes, vocab: Vocabulary | None, head: int, name: str) -> TextIds:
    """The pieces of a text's :func:`sentences` as ids, as :func:`rnnkit.data.text_ids.read_ids` gives a word-level
    file's: with ``vocab`` None the vocabulary is built from the pieces (``<unk>``, ``<eos>``, then by count
    descending), else the text is encoded with ``vocab`` and the pieces it lacks are ``<unk>`` and counted in
    ``oov``."""
    sp = processor(model)
    lines = [_segments(line) for line in text]
    if not lines:
        raise DataError(f"{name}: the file is empty (it holds only whitespace, no bpe token); give a file with text")
    n = sp.get_piece_size()
    special = {EOS: n, UNK: n + 1}  # ids past SentencePiece's own: <eos>, and a text's own word <unk>
    runs = [seg for line in lines for seg in line if seg not in SPECIALS]
    encoded = iter(sp.encode(runs, out_type=int))  # one list of SentencePiece ids a run, in order
    flat = np.fromiter((i for line in lines for seg in (*line, EOS)
                        for i in ((special[seg],) if seg in special else next(encoded))),
                       dtype=np.int64)  # (N,) SentencePiece ids
    names = [sp.id_to_piece(i) for i in range(n)] + [EOS, UNK]
    counts = np.bincount(flat, minlength=n + 2)  # (pieces + 2,)
    unknown = sp.unk_id()  # a character the BPE model lacks
    if vocab is None:
        seen = {names[i]: int(c) for i, c in enumerate(counts[:n]) if c and i != unknown}
        vocab = Vocabulary.from_counts({**seen, EOS: int(counts[n])}, eos_token=EOS)
    table = np.array([vocab.unk_id if i == unknown else vocab.token_id(t) for i, t in enumerate(names)],
                     dtype=np.int64)  # SentencePiece id -> vocabulary id
    ids = table[flat]  # (N,)
    missing = int(counts[table == vocab.unk_id].sum() - counts[n + 1])  # the text's own <unk> words are known
    first = [names[i] for i in flat[:head]]
    return TextIds(vocab, ids, first, OOVStats(missing, int(ids.size), missing / ids.size))


def read_bpe_ids(path: str | os.PathLike, model: bytes, encoding: str = "utf-8", vocab: Vocabulary | None = None,
                 head: int = 200_000) -> tuple[TextIds, TextUnits]:
    """(:func:`counted_ids` of the file's :func:`sentences`)."""
    return counted_ids(sentences(read_text(path, encoding)), model, vocab, head, str(path))


def counted_ids(lines: Sequence[str], model: bytes, vocab: Vocabulary | None = None, head: int = 200_000,
                name: str = "the text") -> tuple[TextIds, TextUnits]:
    """(the pieces as ids: :class:`~rnnkit.data.text_ids.TextIds` of :func:`_sentence_ids`, the words and
    characters: :class:`~rnnkit.lm.units.TextUnits`) of a text's :func:`sentences` ``lines``, which are split
    from the text once for both."""
    got = _sentence_ids(lines, model, vocab, head, name)
    return got, line_units(lines, got.ids.size)


def decode_pieces(pieces: Sequence[str]) -> str:
    """The text of ``pieces``: run together, ``▁`` a space (none at a line's start), ``<eos>`` a newline."""
    out: list[str] = []
    stream_pieces(pieces, out.append)
    return "".join(out)


def stream_pieces(pieces: Iterable[str], write: Callable[[str], Any], line_start: bool = True) -> None:
    """Write ``pieces`` as text as they come (see :func:`decode_pieces`): a line's first word without its
    space; ``line_start=False``: the first piece continues a line already written (after a prime)."""
    first = line_start
    for piece in pieces:
        if piece == EOS:
            write("\n")
            first = True
            continue
        text = " " + piece if piece in SPECIALS else piece.replace(WORD_START, " ")  # <unk>: a word
        write(text.lstrip(" ") if first else text)
        first = first and not text.strip()

