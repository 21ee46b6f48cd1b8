"""Pretrained word vectors (GloVe, word2vec, fastText) and filling an embedding table from them.

Formats, told apart by the file name (``.gz`` / ``.xz`` compressed files too):

* text (GloVe ``.txt``, word2vec and fastText ``.vec``): one ``word v_1 ... v_d`` line per word,
  separated by spaces; an optional first line ``count d`` (word2vec, fastText) gives the number of
  lines that follow (a file holding fewer is truncated: DataError).  The last
  d fields are the vector and everything before them the word, so GloVe 840B's few words that hold a
  space are read whole.  Checked (DataError naming file and line): the first entry, every kept word's
  line and a last line without its newline (a truncated download) have d numbers.  Not checked: the
  fields of another line whose word is not wanted; it is passed over without splitting it (most of a
  big file's lines), so a short line inside the file is counted as an entry and otherwise ignored.
* word2vec binary (``.bin``, e.g. GoogleNews-vectors-negative300.bin): a ``count d`` line, then per
  word its UTF-8 bytes, a space and d little-endian float32 values (an optional newline between).

Only the words asked for are kept (a vocabulary's words and their lowercased forms), so a 5 GB file
costs the memory of the vocabulary's vectors, not of the file.  A word that is not valid UTF-8
(GoogleNews holds a few thousand) cannot be one of ours: it is skipped and counted.  A word given
twice keeps its first vector.

:func:`fill_embedding` copies vectors into the rows of an embedding table (V, E) in place: each
vocabulary token takes the vector of the same word, else of its lowercased form (GloVe 6B is
lowercase); the other rows keep their random initialisation.
"""
from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rnnkit.data.files import open_data
from rnnkit.data.vocab import Vocabulary
from rnnkit.errors import DataError


class WordVectors(NamedTuple):
    """The vectors kept from a file by :func:`read_vectors`."""

    words: list[str]  # N words, in file order
    vectors: np.ndarray  # (N, d) float32
    dim: int  # d
    entries: int  # words in the file (read, kept or not)
    skipped: int  # entries whose word is not valid UTF-8


class Coverage(NamedTuple):
    """How many vocabulary tokens :func:`fill_embedding` found a vector for."""

    exact: int  # vocabulary tokens that found their own word
    lowercased: int  # ... that found only their lowercased form
    total: int  # vocabulary size

    @property
    def found(self) -> int:
        """Tokens that found a vector, exactly or lowercased."""
        return self.exact + self.lowercased


def _header(line: bytes) -> tuple[int, int] | None:
    """(count, d) when the line is word2vec's header: two integers, else None."""
    parts = line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _read_text(f, path: Path, wanted: Collection[str] | None) -> WordVectors:
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    dim = entries = skipped = 0
    count = None  # the header's
    origin = "the dimension line 1 gives"
    # A vocabulary's words hold no space, so a line whose first field is not one of them is passed over
    # without splitting its d numbers: most lines of a big file (100k x 300 lines, 2% wanted: 0.47 s against 1.26 s).
    quick = None if wanted is None or any(" " in w for w in wanted) else {w.encode("utf-8") for w in wanted}
    for number, raw in enumerate(f, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark (Windows editors) is not the word
            if _header(raw) is not None:
                count, dim = _header(raw)
                continue
            origin = "as many as line 1 holds"
        # the first entry is always read whole, so a file whose lines disagree with its header is refused
        # even when none of its words is wanted
        if quick is not None and entries:
            first = raw.split(b" ", 1)[0]
            # a line without its "\n" is the last of a file whose download stopped: it is read below, which names
            # it when it holds too few fields, even when its word is not wanted.  Counting the spaces of every
            # skipped line would cost 57% more time (100k x 300d, 2% wanted), so a short line inside the file is
            # passed over unchecked unless its word is wanted
            if first not in quick and (raw.endswith(b"\n") or raw.rstrip().count(b" ") >= dim):
                if raw.strip():
                    entries += 1
                    skipped += not _is_utf8(first)
                continue
        parts = raw.rstrip().split(b" ")  # rstrip: "\n", "\r\n" and word2vec's trailing space
        if parts == [b""]:
            continue
        if not dim:  # GloVe has no header: the first line says d
            dim = len(parts) - 1
            if dim < 1:
                raise DataError(f"{path}: line {number}: expected a word and its vector (numbers separated by "
                                f"spaces), got {len(parts)} field; is this a word-vector file?")
        if len(parts) <= dim:
            raise DataError(f"{path}: line {number}: expected a word and {dim} numbers, got {len(parts)} fields; "
                            "the file is truncated or not in the text format (a word2vec binary file must end in .bin)")
        if len(parts) > dim + 1 and all(_is_number(p) for p in parts[1:-dim]):
            # more numbers than d: the extra ones would become part of the word ('the 0.1 0.2'), whereas the
            # fields of a word that holds a space (GloVe 840B's 'at name@domain.com') are not numbers
            raise DataError(f"{path}: line {number}: expected a word and {dim} numbers ({origin}), got "
                            f"{parts[0][:40].decode('utf-8', 'replace')!r} and {len(parts) - 1} numbers")
        entries += 1
        try:
            word = b" ".join(parts[:-dim]).decode("utf-8")
        except UnicodeDecodeError:
            skipped += 1
            continue
        if (wanted is not None and word not in wanted) or word in seen:
            continue
        try:
            with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, which the check below names
                vec = np.array(parts[-dim:], dtype=np.float32)
        except ValueError:
            bad = next(p for p in parts[-dim:] if not _is_number(p))
            raise DataError(f"{path}: line {number}: expected {dim} numbers after the word {word!r}, got "
                            f"{bad[:20].decode('utf-8', 'replace')!r}") from None
        seen.add(word)
        words.append(word)
        rows.append(vec)
    if not entries:
        raise DataError(f"{path}: no word vectors in the file; expected 'word v1 ... vd' lines")
    if skipped * 2 > entries:  # GoogleNews has a few thousand such words in 3 million, not most of them
        raise DataError(f"{path}: {skipped:,} of its {entries:,} words are not UTF-8 text; is it a binary file? "
                        "A word2vec binary file must end in .bin (or .bin.gz)")
    if count is not None and count != entries:
        raise DataError(f"{path}: line 1 says {count:,} vectors, but the file holds {entries:,}; "
                        + ("it is truncated (download it again)" if entries < count else
                           "correct the count on line 1"))
    return _result(words, rows, dim, entries, skipped)


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_number(b: bytes) -> bool:
    try:
        float(b)
    except ValueError:
        return False
    return True


def _read_binary(f, path: Path, wanted: Collection[str] | None) -> WordVectors:
    head = f.readline()
    hd = _header(head)
    if hd is None:
        shown = head[:40].decode("utf-8", "replace")
        got = repr(shown) if shown.rstrip("\r\n").isprintable() else "binary data (not text)"
        raise DataError(f"{path}: expected word2vec's binary header 'count dim' on line 1, got {got}; "
                        "a text file must not end in .bin")
    count, dim = hd
    size = 4 * dim
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    skipped = 0
    buf = b""
    pos = 0
    for entry in range(1, count + 1):
        while True:  # the word: bytes up to the next space, after an optional newline
            end = buf.find(b" ", pos)
            if end >= 0 and len(buf) - end - 1 >= size:
                break
            more = f.read(1 << 20)
            if not more:
                raise DataError(f"{path}: ends inside entry {entry:,} of {count:,}; the file is truncated")
            buf = buf[pos:] + more
            pos = 0
        raw = buf[pos:end].lstrip(b"\n")
        vec_bytes = buf[end + 1 : end + 1 + size]
        pos = end + 1 + size
        try:
            word = raw.decode("utf-8")
        except UnicodeDecodeError:
            skipped += 1
            continue
        if (wanted is not None and word not in wanted) or word in seen:
            continue
        seen.add(word)
        words.append(word)
        rows.append(np.frombuffer(vec_bytes, dtype="<f4"))
    return _result(words, rows, dim, count, skipped)


def _result(words: list[str], rows: list[np.ndarray], dim: int, entries: int, skipped: int) -> WordVectors:
    vectors = np.stack(rows).astype(np.float32) if rows else np.zeros((0, dim), np.float32)  # (N, d)
    return WordVectors(words, vectors, dim, entries, skipped)


def read_vectors(path: str | Path, wanted: Collection[str] | None = None) -> WordVectors:
    """Read a word-vector file (format by name: ``.bin`` is word2vec binary, anything else text).

    ``wanted``: keep only these words (None: all).  A missing, unreadable, truncated or malformed
    file raises :class:`DataError` naming the file and the line or entry.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Expected path to be a str or path-like object, got {type(path).__name__}")
    if wanted is not None:
        wanted = _word_set("wanted", wanted)
    path = Path(path)
    binary = path.name.endswith((".bin", ".bin.gz", ".bin.xz", ".bin.bz2"))
    with open_data(path, "a word-vector file") as f:
        vectors = (_read_binary if binary else _read_text)(f, path, wanted)
    if not np.isfinite(vectors.vectors).all():
        n = int(np.flatnonzero(~np.isfinite(vectors.vectors).all(axis=1))[0])
        raise DataError(f"{path}: the vector of {vectors.words[n]!r} holds NaN or inf (or a number beyond "
                        "float32's range, about 3.4e38)")
    return vectors


def wanted_words(tokens: Sequence[str] | Vocabulary) -> set[str]:
    """The words to keep from a vector file for these vocabulary tokens: each token and its lowercase."""
    words = _word_set("tokens", _tokens_of(tokens))
    return words | {t.lower() for t in words}


def _tokens_of(tokens):
    """A Vocabulary's token list (it is not iterable itself), else ``tokens`` unchanged."""
    return tokens.tokens if isinstance(tokens, Vocabulary) else tokens


def _word_set(name: str, words) -> set[str]:
    """``words`` as a set of str, refusing a str (its characters are not the words meant) or a non-str word."""
    if isinstance(words, (str, bytes)) or not isinstance(words, Iterable):
        got = "a str (pass a list or set of words, e.g. text.split())" if isinstance(words, str) else type(words).__name__
        raise TypeError(f"Expected {name} to be a collection of words (str), got {got}")
    words = set(words)
    bad = next((w for w in words if not isinstance(w, str)), None)
    if bad is not None:
        raise TypeError(f"Expected every word of {name} to be a str, got {type(bad).__name__} {bad!r}")
    return words


def fill_embedding(weight: np.ndarray, tokens: Sequence[str] | Vocabulary, vectors: WordVectors) -> Coverage:
    """Copy the vectors of ``tokens`` (row i is token i) into ``weight`` (V, E) in place.

    A token takes its own word's vector, else its lowercased form's; other rows are left as they are.
    """
    if not (isinstance(weight, np.ndarray) and weight.ndim == 2):
        raise TypeError(f"Expected weight to be a 2-D numpy array, got {type(weight).__name__}")
    if not np.issubdtype(weight.dtype, np.floating):  # an int table would store the vectors rounded to 0
        raise TypeError(f"Expected weight to be a float array, got dtype {weight.dtype}")
    tokens = _tokens_of(tokens)
    if not isinstance(vectors, WordVectors):
        raise TypeError(f"Expected vectors to be the WordVectors read_vectors returns, got {type(vectors).__name__}")
    if isinstance(tokens, str) or not isinstance(tokens, (Sequence, np.ndarray)):
        raise TypeError(f"Expected tokens to be a list of str (row i is token i) or a Vocabulary, "
                        f"got {'a str' if isinstance(tokens, str) else type(tokens).__name__}")
    if weight.shape[0] != len(tokens):
        raise ValueError(f"Expected one token per row of weight ({weight.shape[0]}), got {len(tokens)} tokens")
    if weight.shape[1] != vectors.dim:
        raise ValueError(f"Expected vectors of the embedding size {weight.shape[1]}, got {vectors.dim}-dimensional ones")
    index = {w: i for i, w in enumerate(vectors.words)}
    exact = lowered = 0
    for row, tok in enumerate(tokens):
        if not isinstance(tok, str):
            raise TypeError(f"Expected every token to be a str, got {type(tok).__name__} {tok!r} at row {row}")
        i = index.get(tok)
        if i is not None:
            exact += 1
        else:
            i = index.get(tok.lower())
            if i is None:
                continue
            lowered += 1
        weight[row] = vectors.vectors[i]
    return Coverage(exact, lowered, len(tokens))
