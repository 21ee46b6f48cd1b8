"""Plain-text corpora for language models, at character or word level.

Character level: every Unicode character is a token (Chinese included), newline too (``"\\n"``);
Windows line ends ``\\r\\n`` are read as ``\\n`` and a leading byte-order mark is dropped.

Word level (PTB convention): tokens are the whitespace-separated words of a line, and ``<eos>`` is
appended to each line.  Blank lines are skipped, as PTB readers do: an empty sentence would only add a
second ``<eos>`` in a row, a token no model can usefully predict.  Lines are split on ``\\n`` only.

Files ending in ``.xz`` or ``.gz`` are decompressed on the fly (the PTB train file is shipped as .xz).  Every
problem with a file is a one-line :class:`rnnkit.errors.DataError` naming the file.
"""
from __future__ import annotations

import os
from pathlib import Path

from rnnkit.data.encodings import check_encoding, decode_bytes
from rnnkit.data.files import open_data
from rnnkit.data.vocab import EOS, OOVStats, Vocabulary, oov_rate
from rnnkit.errors import DataError

LEVELS = ("word", "char")


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    r"""The whole file as a str, decoded strictly as ``encoding`` (UTF-8 unless told; ``.gz``, ``.bz2`` and
    ``.xz`` files are decompressed first), without a leading byte-order mark and with ``\r\n`` read as ``\n``.
    File problems and bytes that do not decode are the same one-line DataErrors as every reader's
    (:func:`rnnkit.data.files.open_data`, :func:`rnnkit.data.encodings.decode_bytes`)."""
    path = Path(path)
    check_encoding(encoding)
    with open_data(path) as f:
        data = f.read()
    return plain_text(decode_bytes(data, encoding, str(path)))


def plain_text(text: str) -> str:
    r"""``text`` as :func:`read_text` gives a file: without a leading byte-order mark, ``\r\n`` read as ``\n``
    (for text read another way, such as standard input)."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def tokenize(text: str, level: str = "word") -> list[str]:
    """Tokens of ``text``: characters (``level="char"``) or words plus ``<eos>`` per non-blank line."""
    if level == "char":
        return list(text)
    if level != "word":
        raise ValueError(f"Expected level to be one of {LEVELS}, got {level!r}")
    tokens: list[str] = []
    for line in text.split("\n"):
        words = line.split()
        if words:
            tokens.extend(words)
            tokens.append(EOS)
    return tokens


def read_tokens(path: str | os.PathLike, level: str = "word", encoding: str = "utf-8") -> list[str]:
    """Tokens of a text file (see :func:`tokenize`); a file without any token is a DataError."""
    if level not in LEVELS:
        raise ValueError(f"Expected level to be one of {LEVELS}, got {level!r}")
    tokens = tokenize(read_text(path, encoding), level)
    if not tokens:
        what = "only whitespace" if level == "word" else "nothing"
        raise DataError(f"{path}: the file is empty (it holds {what}, no {level} token); give a file with text")
    return tokens


def build_vocabulary(
    path: str | os.PathLike, level: str = "word", max_size: int | None = None, min_count: int = 1,
    encoding: str = "utf-8",
) -> tuple[Vocabulary, list[str]]:
    """Vocabulary built on a training file, and that file's tokens (so it is read only once)."""
    tokens = read_tokens(path, level, encoding)
    eos = EOS if level == "word" else None
    return Vocabulary.build(tokens, max_size=max_size, min_count=min_count, eos_token=eos), tokens


def file_oov_rate(path: str | os.PathLike, vocab: Vocabulary, level: str = "word",
                  encoding: str = "utf-8") -> OOVStats:
    """Number and fraction of the file's tokens missing from ``vocab`` (see :func:`vocab.oov_rate`)."""
    return oov_rate(read_tokens(path, level, encoding), vocab)


def require_tokens(
    n_tokens: int,
    needed: int,
    path: str | os.PathLike,
    *,
    batch_size: int | None = None,
    bptt: int | None = None,
    fix: str = "use a smaller batch_size/bptt (--batch-size/--bptt)",
) -> None:
    """Raise DataError when a file of ``n_tokens`` tokens is too short for one batch of ``needed``.

    Give ``batch_size`` (B) and ``bptt`` (T) to have the message spell out B x (T+1); ``fix`` says
    which options make the batch smaller for this file.
    """
    if n_tokens >= needed:
        return
    if batch_size is not None and bptt is not None:
        batch = f"one batch of {batch_size} x ({bptt}+1)"
    else:
        batch = "one batch"
    raise DataError(
        f"file {path} has {n_tokens} tokens; {batch} needs {needed}: {fix}"
    )
