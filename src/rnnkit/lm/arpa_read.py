r"""Reading an ARPA back-off n-gram file (KenLM's ``lmplz``, SRILM's ``ngram-count``, rnnkit's own
``train ngram --arpa``) as a :class:`~rnnkit.lm.backoff.BackoffLM`, which evaluates, scores, samples and
interpolates wherever rnnkit takes an n-gram model.

The file (UTF-8; a byte-order mark before it is read past): blank lines anywhere; before ``\data\``,
``#`` comment lines (the format allows any text there; KenLM, and so rnnkit, only these); ``\data\``;
``ngram k=N`` for k = 1..n; then for each order a ``\k-grams:`` section of N lines
``log10_p  w_1 .. w_k  [log10_bow]`` (fields split on whitespace; the weight only below the highest order, 0
when left out); then ``\end\``.  Probabilities are read as written, 10^x: SRILM's and KenLM's -99 (their
"log 0") is 10^-99, as KenLM reads it.

Tokens, word level (the default): ``</s>`` is rnnkit's ``<eos>`` (predicted at the end of each line),
``<s>`` the start symbol (context only, whatever probability the file gives it), ``<unk>`` the token
every word the vocabulary lacks is read as.  A file without ``<unk>`` gets one with log10 probability
-100, and a warning, as KenLM does (SRILM leaves such words out of its perplexity instead: rnnkit's
``score --skip-unknown``); one without ``<s>``, or ``</s>`` at word level, is refused (KenLM refuses
both too).  Character level (``level="char"``): each token is one character, written as
:func:`rnnkit.lm.arpa.char_token` writes them (``<space>``, ``</s>`` for the newline, ``<U+XXXX>``).
A character model read as one stream (rnnkit's own) predicts every character of the text from the ones
before it, a line's first from the newline before it; a model of lines (e.g. KenLM's on ``h e l l o`` lines)
starts every line from ``<s>``.  Which one a file is: its comment line ``# rnnkit: text=stream`` (or
``text=lines``), which rnnkit writes before ``\data\``; without one, a stream when an n-gram runs on after a
``</s>``, as rnnkit's model of a text of several lines does, else a model of lines.

A file rnnkit cannot read is one :class:`~rnnkit.errors.DataError` line: ``file:line: what is wrong``.
"""
from __future__ import annotations

import os
import re
import warnings
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.files import open_data
from rnnkit.data.vocab import EOS, UNK, Vocabulary
from rnnkit.errors import DataError
from rnnkit.lm.arpa import CHAR_SPACE
from rnnkit.lm.backoff import BackoffLM, DuplicateNGram

SUFFIXES = (".arpa", ".arpa.gz", ".arpa.xz", ".arpa.bz2")
MISSING_UNK = -100.0  # log10 p of an <unk> the file lacks (KenLM's unknown_missing_logprob)
_NGRAM = re.compile(rb"ngram\s+(\d+)\s*=\s*(\d+)")
_SECTION = re.compile(rb"\\(\d+)-grams:")
_CODE_POINT = re.compile(r"<U\+([0-9A-F]{4,6})>")
BOM = b"\xef\xbb\xbf"  # the UTF-8 byte-order mark some editors put first: not part of the file's first line
_TEXT = re.compile(rb"#\s*rnnkit:\s*text=(stream|lines)\b")  # how a character model reads its text


def is_arpa(path: str | os.PathLike) -> bool:
    """True for a file named ``*.arpa`` (``.gz``, ``.xz``, ``.bz2``), or whose first line is ``\\data\\`` (after
    a byte-order mark, blank lines and ``#`` comment lines, if any)."""
    if os.fspath(path).lower().endswith(SUFFIXES):
        return True
    if not os.path.isfile(path):
        return False
    try:
        with open_data(Path(path)) as f:
            head = f.read(4096)
    except (DataError, OSError):  # the checkpoint reader says what is wrong with it
        return False
    lines = (line.split() for line in head.removeprefix(BOM).splitlines() if not line.startswith(b"#"))
    return next((fields for fields in lines if fields), None) == [b"\\data\\"]


def declared_level(path: str | os.PathLike) -> str | None:
    """"char" for an ARPA file whose comment lines before ``\\data\\`` say how a character model reads its
    text (``# rnnkit: text=stream``, which ``train ngram --level char --arpa`` writes), else None (a word
    model, or a file of another tool, whose level the reader must be told)."""
    if not os.path.isfile(path):  # a pipe: a look would take the bytes its reader refuses (lm.io) or waits for
        return None
    try:
        with open_data(Path(path)) as f:
            return "char" if _first_fields(enumerate(f, start=1))[2] else None
    except (DataError, OSError):  # the reader says what is wrong with the file
        return None


@dataclass
class ArpaTables:
    """An ARPA file as listed: ``words`` the unigrams in file order; per order k, ``rows[k-1]`` (n_k, k) int32
    the n-grams as indices into ``words``, ``logp`` and ``bows`` (n_k,) their log10 values; ``text`` "stream" or
    "lines" when a comment line before ``\\data\\`` says how a character model reads its text
    (``# rnnkit: text=stream``), else None."""

    words: list[str]
    rows: list[np.ndarray]
    logp: list[np.ndarray]
    bows: list[np.ndarray]
    text: str | None = None


def read_arpa(path: str | os.PathLike, level: str = "word") -> tuple[BackoffLM, Vocabulary]:
    """The model of an ARPA file and its vocabulary, at ``level`` "word" or "char" (see the module doc)."""
    if level not in ("word", "char"):
        raise ValueError(f"Expected level 'word' or 'char', got {level!r}")
    t = parse_arpa(path)
    vocab, to_id, added_unk = _vocabulary(t.words, level, str(path))
    rows = [to_id[r] for r in t.rows]  # (n_k, k) symbol ids; <s> is V
    del t.rows  # (the file's own indices: not needed again)
    logp, bows = list(t.logp), list(t.bows)
    if added_unk:
        rows[0] = np.concatenate([rows[0], [[vocab.unk_id]]])
        logp[0] = np.concatenate([logp[0], [MISSING_UNK]])
        bows[0] = np.concatenate([bows[0], [0.0]])
    eos = vocab.eos_id
    if level == "char" and "\n" in vocab:
        stream = t.text == "stream" if t.text else _runs_past(rows, vocab.token_id("\n"))
        if not stream:
            eos = vocab.token_id("\n")  # a model of lines: each one from <s>
    try:
        model = BackoffLM.from_tables(len(vocab), eos, rows, logp, bows)
    except DuplicateNGram as exc:
        raise DataError(f"{path}:{_line_of(path, exc.order, exc.index)}: this {exc.order}-gram is listed a second "
                        "time; each n-gram is listed once") from None
    return model, vocab


def _runs_past(rows: list[np.ndarray], end: int) -> bool:
    """Whether an n-gram has ``end`` before its last token: its history runs on after the end of a line."""
    return any(bool((r[:, :-1] == end).any()) for r in rows[1:])


def _vocabulary(words: list[str], level: str, path: str) -> tuple[Vocabulary, np.ndarray, bool]:
    """``(vocab, to_id, added_unk)``: the vocabulary of the unigrams ``words`` (``<s>`` left out), each word's
    symbol id (len(words),) (``<s>``'s is V), and whether ``<unk>`` was missing and added last."""
    tokens, start, seen = [], None, {}
    to_id = np.zeros(len(words), dtype=np.int32)
    for i, word in enumerate(words):
        if word == "<s>":
            start = i
            continue
        tok = _token(word, level)
        if tok in seen:
            raise DataError(f"{path}: the unigrams {seen[tok]!r} and {word!r} are both rnnkit's token {tok!r}; list "
                            "one of them" + (" (rnnkit reads </s> as its <eos>)" if tok == EOS else ""))
        seen[tok] = word
        to_id[i] = len(tokens)
        tokens.append(tok)
    if start is None:
        raise DataError(f"{path}: no <s> among the unigrams: an ARPA model lists the start of a sentence "
                        "(KenLM refuses such a file too)")
    if level == "word" and EOS not in seen:
        raise DataError(f"{path}: no </s> among the unigrams: a word-level model predicts the end of each "
                        "sentence (KenLM refuses such a file too); a character model is read with level 'char' "
                        "(--level char)")
    added_unk = UNK not in seen
    if added_unk:
        warnings.warn(f"{path}: no <unk> among the unigrams; a token the model does not know gets log10 "
                      f"probability {MISSING_UNK:g}, as KenLM gives it ('score --skip-unknown' leaves such tokens "
                      "out, as SRILM does)", stacklevel=3)
        tokens.append(UNK)
    if level == "char":
        long = [w for w in seen.values() if len(_token(w, level)) > 1 and w != UNK]
        if long:
            warnings.warn(f"{path}: {len(long):,} unigram(s) of more than one character (e.g. {long[0]!r}) never "
                          f"match a character of the text; rnnkit writes a space {CHAR_SPACE}, a newline </s> and "
                          "other whitespace <U+XXXX>", stacklevel=3)
    to_id[start] = len(tokens)
    return Vocabulary(tokens, UNK, EOS if level == "word" else None), to_id, added_unk


def _token(word: str, level: str) -> str:
    """rnnkit's token of an ARPA word."""
    if word == "</s>":
        return EOS if level == "word" else "\n"
    if level == "char":
        if word == CHAR_SPACE:
            return " "
        m = _CODE_POINT.fullmatch(word)
        if m and int(m[1], 16) <= 0x10FFFF:
            return chr(int(m[1], 16))
    return word


# ---- the file --------------------------------------------------------------------------------------

Lines = Iterator[tuple[int, bytes]]  # (line number, line) of a file


def _next_fields(it: Lines, number: int) -> tuple[int, list[bytes] | None]:
    """The number and whitespace-separated fields of the next line that has any; (``number``, None) at the end."""
    for number, line in it:
        fields = line.split()
        if fields:
            return number, fields
    return number, None


def _show(fields: list[bytes] | None) -> str:
    if fields is None:
        return "the end of the file"
    text = b" ".join(fields).decode("utf-8", "replace")
    return repr(text if len(text) <= 60 else text[:57] + "...")


def parse_arpa(path: str | os.PathLike) -> ArpaTables:
    """The :class:`ArpaTables` of an ARPA file (.gz, .xz, .bz2 read directly); DataError naming the file and
    the line of the first problem."""
    with open_data(Path(path), "an ARPA file") as f:
        return _parse(enumerate(f, start=1), str(path))


def _first_fields(it: Lines) -> tuple[int, list[bytes] | None, str | None]:
    """:func:`_next_fields` from the start of the file, past a byte-order mark and ``#`` comment lines, and
    the ``text`` (stream or lines) a comment line says, if any."""
    text = None
    for number, line in it:
        if number == 1:
            line = line.removeprefix(BOM)
        if line.startswith(b"#"):
            m = _TEXT.match(line)
            text = m[1].decode() if m else text
            continue
        fields = line.split()
        if fields:
            return number, fields, text
    return 0, None, text


def _binary(fields: list[bytes]) -> str | None:
    """What a first line that is not text is, instead of its bytes shown raw: KenLM's binary model (its
    header starts "mmap lm"), or binary data."""
    line = b" ".join(fields)
    if line.startswith(b"mmap lm"):
        return ("KenLM's binary format ('mmap lm ...'), which rnnkit does not read: give the ARPA text file it "
                "was built from")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or any(not c.isprintable() for c in text):
        return "binary data (not text): give an ARPA text file (.arpa, or .arpa.gz/.xz/.bz2)"
    return None


def arpa_header(path: str | os.PathLike) -> tuple[list[int], str | None]:
    """``(counts, text)`` of an ARPA file from its header alone (``rnnkit info``): the number of n-grams of each
    order its ``ngram k=N`` lines list, and the ``text`` a comment line says (module doc); DataError (one line)
    for a file that does not start as an ARPA file does."""
    with open_data(Path(path)) as f:
        _, _, text, counts, _ = _header(enumerate(f, start=1), str(path))
    return counts, text


def _header(it: Lines, path: str) -> tuple[int, list[bytes] | None, str | None, list[int], dict[int, int]]:
    """Read up to the first section: ``(number, fields)`` of its line, the ``text`` comment, the n-gram ``counts``
    of the header and the line number of each order's count."""
    number, fields, text = _first_fields(it)
    if fields is None:
        raise DataError(f"{path}: the file is empty; an ARPA file starts with a \\data\\ line")
    if fields != [b"\\data\\"]:
        raise DataError(f"{path}:{number}: expected \\data\\, the first line of an ARPA file (after # comment "
                        f"lines, if any), got {_binary(fields) or _show(fields)}")
    counts, header = [], {}
    number, fields = _next_fields(it, number)
    while fields is not None and fields[0] == b"ngram":
        m = _NGRAM.fullmatch(b" ".join(fields))
        if m is None or int(m[1]) != len(counts) + 1:
            raise DataError(f"{path}:{number}: expected 'ngram {len(counts) + 1}=N' (the number of "
                            f"{len(counts) + 1}-grams), got {_show(fields)}")
        counts.append(int(m[2]))
        header[len(counts)] = number
        number, fields = _next_fields(it, number)
    if not counts or counts[0] == 0:
        raise DataError(f"{path}:{number}: expected 'ngram 1=N' with N > 0 after \\data\\ (the number of unigrams), "
                        f"got {_show(fields)}")
    return number, fields, text, counts, header


def _parse(it: Lines, path: str) -> ArpaTables:
    number, fields, text, counts, header = _header(it, path)
    t = ArpaTables([], [], [], [], text)
    index: dict[bytes, int] = {}
    for k in range(1, len(counts) + 1):
        m = None if fields is None else _SECTION.fullmatch(b" ".join(fields))
        if m is None or int(m[1]) != k:
            raise DataError(f"{path}:{number}: expected \\{k}-grams:, the start of the {k}-grams (the header lists "
                            f"{len(counts)} orders), got {_show(fields)}")
        number, fields = _section(it, number, k, k == len(counts), index, t, path)
        n = len(t.logp[-1])
        if n != counts[k - 1]:
            raise DataError(f"{path}:{number}: the \\{k}-grams: section lists {n:,} n-grams, but the header says "
                            f"ngram {k}={counts[k - 1]:,} (line {header[k]}); is the file cut short or edited?")
    if fields != [b"\\end\\"]:
        short = "; is it cut short?" if fields is None else ""
        raise DataError(f"{path}:{number}: expected \\end\\ after the {len(counts)}-grams (the header lists "
                        f"{len(counts)} orders), got {_show(fields)}{short}")
    return t


def _section(it: Lines, number: int, k: int, top: bool, index: dict[bytes, int], t: ArpaTables,
             path: str) -> tuple[int, list[bytes] | None]:
    """Read the \\k-grams: section (its header on line ``number``) into ``t`` (and the unigrams into ``index``);
    return the number and fields of the line after it (the last line's number and None at the end of the file).

    One line at a time, but lean: PTB KN5 (2.3 million n-grams, 98 MB) in 3 to 5 s on a shared 2-core machine."""
    ids, logp, bows = array("i"), array("d"), array("d")
    add_logp, add_bow, add_ids, word_id = logp.append, bows.append, ids.extend, index.__getitem__
    short, long = k + 1, (k + 1 if top else k + 2)  # fields without and with a back-off weight
    fields = None
    for number, line in it:
        fields = line.split()
        n = len(fields)
        try:
            if n == short:
                add_bow(0.0)
            elif n == long:
                add_bow(float(fields[short]))
            elif n == 0:
                continue
            elif fields[0][:1] == b"\\":
                break
            else:
                want = f"{short}" if top else f"{short} or {long}"
                raise DataError(f"{path}:{number}: expected {want} fields (log10 probability, {k} word(s)"
                                f"{'' if top else ', back-off weight if any'}), got {n}: {_show(fields)}")
            add_logp(float(fields[0]))
            if k == 1:
                ids.append(_unigram(fields[1], index, t.words))
            else:
                add_ids(map(word_id, fields[1:short]))
        except _Unigram as exc:
            raise DataError(f"{path}:{number}: {exc}") from None
        except ValueError:
            bad = fields[0] if not _is_number(fields[0]) else fields[-1]
            raise DataError(f"{path}:{number}: {bad.decode('utf-8', 'replace')!r} is not a number (expected "
                            f"a log10 {'probability' if bad is fields[0] else 'back-off weight'})") from None
        except KeyError as exc:
            raise DataError(f"{path}:{number}: the word {exc.args[0].decode('utf-8', 'replace')!r} is not among "
                            "the unigrams (\\1-grams:); every word of an n-gram is one") from None
    else:
        fields = None
    t.rows.append(np.frombuffer(ids, dtype=np.intc).reshape(-1, k))
    t.logp.append(np.frombuffer(logp, dtype=np.float64))
    t.bows.append(np.frombuffer(bows, dtype=np.float64))
    _check_numbers(t, k, path)
    return number, fields


class _Unigram(ValueError):
    """A unigram that cannot be read (listed twice, not UTF-8); said with its line by the section reader."""


def _unigram(word: bytes, index: dict[bytes, int], words: list[str]) -> int:
    """Add ``word`` to the unigrams; its index."""
    if word in index:
        raise _Unigram(f"the unigram {word.decode('utf-8', 'replace')!r} is listed a second time; each is listed once")
    try:
        words.append(word.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Unigram(f"the word {word!r} is not UTF-8 text; rnnkit reads ARPA files in UTF-8") from None
    index[word] = len(index)
    return index[word]


def _is_number(field: bytes) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _check_numbers(t: ArpaTables, k: int, path: str) -> None:
    """A log10 probability above 0 or NaN, or a back-off weight NaN or +inf: DataError at its line."""
    logp, bows = t.logp[-1], t.bows[-1]
    bad = np.isnan(logp) | (logp > 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{path}:{_line_of(path, k, i)}: the log10 probability {logp[i]:g} is not <= 0 (a "
                        "probability of at most 1)")
    bad = np.isnan(bows) | np.isposinf(bows)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{path}:{_line_of(path, k, i)}: the log10 back-off weight {bows[i]:g} is not a finite "
                        "number")


def _line_of(path: str, k: int, i: int) -> int:
    """The line number of the ``i``-th n-gram (from 0) of the \\k-grams: section, found again for a message
    (the reader keeps no line numbers: 2.3 million of them would cost time and memory for nothing)."""
    with open_data(Path(path), "an ARPA file") as f:
        it = enumerate(f, start=1)
        for _, line in it:
            if line.split() == [b"\\%d-grams:" % k]:
                break
        for number, line in it:
            if line.split():
                i -= 1
                if i < 0:
                    return number
    return 0
