"""CoNLL-U treebanks and CoNLL-2000-style column files, read and written back.

CoNLL-U (Universal Dependencies): one word a line with 10 tab-separated columns
``ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC``, comment lines (``# sent_id = ...``) before
the words, a blank line after each sentence.  A sentence here is its syntactic words: multiword-token
ranges (ID ``3-4``) and empty nodes (ID ``5.1``) are kept in the raw lines but are not words, because
UD tags the words, not the surface token ``don't`` nor the copy nodes of enhanced graphs.  Each
sentence keeps its raw lines, line ends included, so :func:`format_conllu` can give back the same
bytes with only the UPOS or XPOS column replaced by predictions (or, for tags that are neither, ``Tag=...``
added to MISC).

Column files (CoNLL-2000 ``word POS chunk``): whitespace-separated columns, a blank line between
sentences; the word and tag columns are chosen by index.  ``-DOCSTART-`` lines (CoNLL-2003) mark
documents, not sentences: they are skipped when ``skip_docstart`` is true.

Every file may be ``.gz`` or ``.xz`` compressed (by its name; :mod:`rnnkit.data.files`).  A malformed line raises
:class:`rnnkit.errors.DataError` naming the file and line, what was expected and what came.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rnnkit.data.files import read_text_file, text_lines, write_text_file
from rnnkit.errors import DataError, NoSentencesError
from rnnkit.english import a_or_an_letters

CONLLU_COLUMNS = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")
_TAG_COLUMN = {"upos": 3, "xpos": 4}
MISC_TAG = "Tag"  # the MISC key of a predicted tag that is neither UPOS nor XPOS: Tag=B-NP
MISC_PROB = "TagProb"  # the MISC key of a predicted tag's probability (rnnkit tag --probs): TagProb=0.9731
_WORD_ID = re.compile(r"[1-9][0-9]*")
_RANGE_ID = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")
_EMPTY_ID = re.compile(r"[0-9]+\.[1-9][0-9]*")

# what a file that is not CoNLL-U may be, in the training commands' options (evaluate replaces it)
FORMAT_HINT = (" A column file (word POS chunk) reads with format 'columns' (--format columns), segmented text with "
               "format 'segmented' (--format segmented)")


@dataclass
class ConlluSentence:
    """One CoNLL-U sentence: its words, the chosen tag column, and everything needed to write it back."""

    words: list[str]  # FORM of each syntactic word
    tags: list[str]  # UPOS or XPOS of each word, as chosen when reading
    comments: list[str]  # comment lines without line end, e.g. "# sent_id = 1"
    line_number: int  # 1-based line of the sentence's first comment or word line
    raw_lines: list[str] = field(repr=False)  # every line read for it, line ends included
    word_lines: list[int] = field(repr=False)  # index into raw_lines of each word's line


def _tag_index(column: str) -> int:
    if column not in _TAG_COLUMN:
        raise ValueError(f"Expected column to be one of {tuple(_TAG_COLUMN)}, got {column!r}")
    return _TAG_COLUMN[column]


def parse_conllu(text: str, column: str = "upos", name: str = "<string>") -> list[ConlluSentence]:
    """Sentences of a CoNLL-U text; ``column`` ("upos" or "xpos") gives the tags; ``name`` is for errors.

    Blank lines before the first sentence and after each sentence are kept in the raw lines of the
    sentence before them (of the first sentence for leading ones), so the sentences' raw lines
    joined give the text back.
    """
    tag_index = _tag_index(column)
    raw = text.split("\n")
    last = raw.pop()
    for i, line in enumerate(raw):  # the line ends put back in place: no second list of every line
        raw[i] = line + "\n"
    if last:
        raw.append(last)  # last line without a line end
    sentences: list[ConlluSentence] = []
    leading: list[str] = []
    current: ConlluSentence | None = None
    closed = True  # the current sentence has met its blank line
    seen_token = False  # the current sentence has had a token line (comments must come before)
    ranges: list[tuple[str, str, int, ConlluSentence]] = []  # multiword tokens: where, ID, last word, sentence
    for i, raw_line in enumerate(raw):
        number = i + 1
        line = raw_line.rstrip("\n").rstrip("\r")
        if i == 0:
            line = line.lstrip("\ufeff")
        where = f"{name}:{number}"
        if not line.strip():
            if current is None:
                leading.append(raw_line)
            else:
                current.raw_lines.append(raw_line)
                closed = True
            continue
        if closed:
            current = ConlluSentence([], [], [], number, leading, [])
            leading = []
            sentences.append(current)
            closed = False
            seen_token = False
        if line.startswith("#"):
            if seen_token:
                raise DataError(f"{where}: comment line after the word lines of a sentence; comments go before "
                                f"the first word line of their sentence (is a blank line missing?)")
            current.comments.append(line)
            current.raw_lines.append(raw_line)
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            n_words = len(line.split())
            if len(fields) < 10 and n_words == 10:
                hint = " (columns must be separated by tabs, not spaces)"
            elif len(fields) < 10 and n_words > 1:  # text, or a column file: not CoNLL-U at all
                hint = f"; the line has {n_words} whitespace-separated fields: is the file not CoNLL-U?{FORMAT_HINT}"
            else:
                hint = ""
            raise DataError(f"{where}: expected 10 tab-separated columns ({' '.join(CONLLU_COLUMNS)}), "
                            f"got {len(fields)}{hint}")
        token_id = fields[0]
        current.raw_lines.append(raw_line)
        seen_token = True
        if _RANGE_ID.fullmatch(token_id):  # a multiword token (du = de le): not a syntactic word
            first, last = (int(x) for x in token_id.split("-"))
            if not first < last or first != len(current.words) + 1:
                raise DataError(f"{where}: expected a multiword range from word {len(current.words) + 1} (the "
                                f"next word's ID) to a later one, such as {len(current.words) + 1}-"
                                f"{len(current.words) + 2}, got {token_id}")
            ranges.append((where, token_id, last, current))
            continue
        if _EMPTY_ID.fullmatch(token_id):
            continue  # an empty node (enhanced dependencies): not a syntactic word
        if not _WORD_ID.fullmatch(token_id):
            raise DataError(f"{where}: expected an ID that is an integer (3), a range (3-4) or a decimal (5.1), "
                            f"got {token_id!r}")
        if int(token_id) != len(current.words) + 1:
            raise DataError(f"{where}: expected word ID {len(current.words) + 1} (IDs count 1, 2, ... in each "
                            f"sentence), got {token_id}; is a blank line missing between sentences?")
        form, tag = fields[1], fields[tag_index]
        if form == "":
            raise DataError(f"{where}: expected a FORM in column 2, got an empty column")
        if tag == "":
            name = column.upper()
            raise DataError(f"{where}: expected {a_or_an_letters(name)} {name} in column {tag_index + 1}, got an "
                            f"empty column (write _ for an unknown tag)")
        current.words.append(form)
        current.tags.append(tag)
        current.word_lines.append(len(current.raw_lines) - 1)
    for sentence in sentences:
        if not sentence.words:
            raise DataError(f"{name}:{sentence.line_number}: expected word lines after the comments, got a "
                            f"sentence without any word")
    for where, token_id, last, sentence in ranges:
        if last > len(sentence.words):
            raise DataError(f"{where}: multiword range {token_id} goes beyond the sentence's last word, "
                            f"{len(sentence.words)}; correct the range or add its words")
    if not sentences:  # blank lines alone (a comment starts a sentence)
        raise no_sentences(f"{name}: expected CoNLL-U sentences", [line.rstrip("\r\n") for line in raw])
    return sentences


def read_conllu(path: str | os.PathLike, column: str = "upos", encoding: str = "utf-8") -> list[ConlluSentence]:
    """Sentences of a CoNLL-U file (``.gz``/``.xz`` too) with the UPOS or XPOS tags (see parse_conllu)."""
    _tag_index(column)
    return parse_conllu(read_text_file(path, encoding), column, name=str(path))


def _check_predictions(words: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> None:
    if len(predictions) != len(words):
        raise ValueError(f"Expected predictions for {len(words)} sentences, got {len(predictions)}")
    for k, (sent, pred) in enumerate(zip(words, predictions)):
        if len(pred) != len(sent):
            raise ValueError(f"Expected {len(sent)} predicted tags for sentence {k}, got {len(pred)}")
        for tag in pred:
            if not isinstance(tag, str) or tag == "" or any(c.isspace() for c in tag):
                raise ValueError(f"Expected every predicted tag to be a non-empty str without whitespace, "
                                 f"got {tag!r} in sentence {k}")


def with_misc(sentence: ConlluSentence, key: str, values: Sequence[str]) -> ConlluSentence:
    """A copy of ``sentence`` with ``key=value`` in the MISC column of each word's line, one value a word:
    in place of an old value of ``key`` (a file tagged before), else after the other entries (``_``, no
    entry, goes)."""
    lines = list(sentence.raw_lines)
    for index, value in zip(sentence.word_lines, values):
        body = lines[index].rstrip("\r\n")
        end = lines[index][len(body):]
        fields = body.split("\t")
        entries = [] if fields[9] == "_" else fields[9].split("|")
        mine = [i for i, e in enumerate(entries) if e.split("=", 1)[0] == key]
        if mine:
            entries[mine[0]] = f"{key}={value}"
            entries = [e for i, e in enumerate(entries) if i not in mine[1:]]
        else:
            entries.append(f"{key}={value}")
        fields[9] = "|".join(entries)
        lines[index] = "\t".join(fields) + end
    return replace(sentence, raw_lines=lines)


def without_misc(sentence: ConlluSentence, key: str) -> ConlluSentence:
    """A copy of ``sentence`` without ``key=...`` in the MISC column of its words' lines (``_`` if none is left)."""
    lines = list(sentence.raw_lines)
    for index in sentence.word_lines:
        body = lines[index].rstrip("\r\n")
        if f"{key}=" not in body:  # most lines: nothing to drop, nothing to split
            continue
        fields = body.split("\t")
        entries = [e for e in fields[9].split("|") if e.split("=", 1)[0] != key]
        if len(entries) < len(fields[9].split("|")):
            fields[9] = "|".join(entries) or "_"
            lines[index] = "\t".join(fields) + lines[index][len(body):]
    return replace(sentence, raw_lines=lines)


def format_conllu(sentences: Sequence[ConlluSentence], predictions: Sequence[Sequence[str]],
                  column: str = "upos", probs: Sequence[Sequence[str]] | None = None) -> str:
    """The sentences' text with ``column`` of each word replaced by its prediction; all else unchanged,
    except that a sentence missing its closing blank line (the last of a file) gets one, as CoNLL-U
    requires.  ``column`` "misc" (:data:`MISC_TAG`): the predictions go into MISC as ``Tag=B-NP`` and
    UPOS and XPOS stay as they are, for tags that are neither (a chunker's, a NER model's).  ``probs``: one
    string per word, written to MISC as ``TagProb=P`` (:data:`MISC_PROB`); without them a ``TagProb`` the
    input holds (a file tagged with --probs before) is dropped, as it was the probability of a tag now replaced."""
    _check_predictions([s.words for s in sentences], predictions)
    tag_index = None if column == "misc" else _tag_index(column)
    out: list[str] = []
    for k, (sentence, pred) in enumerate(zip(sentences, predictions)):
        sentence = without_misc(sentence, MISC_PROB)  # the old tag's; a new one goes after Tag=
        if tag_index is None:
            sentence = with_misc(sentence, MISC_TAG, pred)
        if probs is not None:
            sentence = with_misc(sentence, MISC_PROB, probs[k])
        lines = list(sentence.raw_lines)
        if tag_index is not None:
            for line_index, tag in zip(sentence.word_lines, pred):
                fields = lines[line_index].split("\t")
                # the line end stays in the last column (MISC), so replacing UPOS/XPOS keeps it
                fields[tag_index] = tag
                lines[line_index] = "\t".join(fields)
        if lines[-1].strip():  # the file's last sentence without its blank line: CoNLL-U requires one
            lines[-1] = lines[-1] if lines[-1].endswith("\n") else lines[-1] + "\n"
            lines.append("\n")
        out.extend(lines)
    return "".join(out)


def write_conllu(path: str | os.PathLike, sentences: Sequence[ConlluSentence],
                 predictions: Sequence[Sequence[str]], column: str = "upos", encoding: str = "utf-8") -> None:
    """Write the sentences back with ``column`` ("upos", "xpos", or "misc": see :func:`format_conllu`) filled
    with ``predictions``."""
    write_text_file(path, format_conllu(sentences, predictions, column), encoding)


@dataclass
class ColumnSentence:
    """One sentence of a column file: the chosen word and tag columns and all its rows."""

    words: list[str]
    tags: list[str] | None  # None when read with tag_column=None (unlabelled text)
    rows: list[list[str]] = field(repr=False)  # every column of every token line
    line_number: int = 0  # 1-based line of the sentence's first token
    lead: tuple[str, ...] = ()  # the lines before it that are not its own: -DOCSTART-, extra blank lines
    trail: tuple[str, ...] = ()  # the last sentence's: such lines after it, at the file's end


def check_column(index: int, n_columns: int, what: str, where: str) -> None:
    """DataError when column ``index`` (negative: from the end) is not in a line of ``n_columns``;
    ``what`` names it for the message ("tag column", the --tag-column option's)."""
    if not -n_columns <= index < n_columns:
        raise DataError(f"{where}: {what} {index} asked for, but the line has {n_columns} column"
                        f"{'s' * (n_columns != 1)}; choose one from 0 to {n_columns - 1} (or -1 for the last)")


def _odd_space(line: str) -> str:
    """For a column-count error: the first whitespace character of ``line`` other than space and tab (a
    no-break space inside "10 000", a line separator), which splits columns as a space does."""
    odd = next((c for c in line if c.isspace() and c not in " \t\r\n"), None)
    if odd is None:
        return ""
    import unicodedata

    name = unicodedata.name(odd, "a control character").lower()
    return (f"; the line holds U+{ord(odd):04X} ({name}), which separates columns as a space does: replace it "
            "(e.g. with nothing or '_') inside tokens")


def read_columns(path: str | os.PathLike, word_column: int = 0, tag_column: int | None = -1,
                 encoding: str = "utf-8", skip_docstart: bool = True) -> list[ColumnSentence]:
    """Sentences of a whitespace-separated column file (CoNLL-2000 ``word POS chunk``).

    Every token line must have as many columns as the file's first token line.  ``tag_column`` may
    be None for a file without tags.  Column indices may be negative (-1 is the last column).
    """
    for argument, value in (("word_column", word_column), ("tag_column", tag_column)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise TypeError(f"Expected {argument} to be an int, got {type(value).__name__}")
    name = str(path)
    sentences: list[ColumnSentence] = []
    rows: list[list[str]] = []
    first_line = 0
    n_columns = 0
    lines = text_lines(read_text_file(path, encoding)) + [""]  # the sentinel closes the last sentence
    pending: list[str] = []  # lines since the last sentence and the blank line that ended it
    lead: tuple[str, ...] = ()
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if fields and skip_docstart and fields[0] == "-DOCSTART-":
            pending.append(line)  # kept, so that tag --format columns writes it back in its place
            continue
        if fields:
            where = f"{name}:{number}"
            if n_columns == 0:
                n_columns = len(fields)
                check_column(word_column, n_columns, "word column", where)
                if tag_column is not None:
                    check_column(tag_column, n_columns, "tag column", where)
            elif len(fields) != n_columns:
                raise DataError(f"{where}: expected {n_columns} whitespace-separated columns like the first "
                                f"token line, got {len(fields)}{_odd_space(line)}")
            if not rows:
                first_line, lead, pending = number, tuple(pending), []
            rows.append(fields)
            continue
        if rows:
            words = [row[word_column] for row in rows]
            tags = None if tag_column is None else [row[tag_column] for row in rows]
            sentences.append(ColumnSentence(words, tags, rows, first_line, lead))
            rows = []
        elif number < len(lines):  # a blank line that ends no sentence (not the sentinel)
            pending.append(line)
    if not sentences:
        raise no_sentences(f"{name}: expected sentences of whitespace-separated columns", lines[:-1])
    sentences[-1].trail = tuple(pending)  # a -DOCSTART- after the last sentence: written back too
    return sentences


def no_sentences(expected: str, lines: list[str]) -> NoSentencesError:
    """The error for a file of ``lines`` without a sentence: said as what it holds (blank lines, -DOCSTART-
    lines), an empty file only when it is one."""
    docstart = sum(1 for line in lines if line.split()[:1] == ["-DOCSTART-"])
    parts = [f"{n:,} {what} line{'s' * (n != 1)}" for n, what in ((docstart, "-DOCSTART-"),
                                                                 (len(lines) - docstart, "blank")) if n]
    return NoSentencesError(f"{expected}, got no sentences: only {' and '.join(parts)}" if parts
                            else f"{expected}, got an empty file", lines)


def format_columns(sentences: Sequence[ColumnSentence], predictions: Sequence[Sequence[str]],
                   column: int | None = None, sep: str = " ") -> str:
    """Column text of the sentences with ``predictions`` appended (column None) or replacing ``column``.

    Appending gives ``word POS gold predicted``, the input the conlleval script reads.  The lines
    read between sentences (``-DOCSTART-``, extra blank lines) are written back in their places, so a
    file read by :func:`read_columns` comes back line for line (a last blank line added).
    """
    _check_predictions([s.words for s in sentences], predictions)
    out: list[str] = []
    for k, (sentence, pred) in enumerate(zip(sentences, predictions)):
        out.extend(line + "\n" for line in sentence.lead)  # -DOCSTART- and extra blank lines, as read
        for row, tag in zip(sentence.rows, pred):
            row = list(row)
            if column is None:
                row.append(tag)
            elif -len(row) <= column < len(row):
                row[column] = tag
            else:
                raise ValueError(f"Expected column from {-len(row)} to {len(row) - 1} (or None to append), "
                                 f"got {column} for sentence {k}")
            out.append(sep.join(row) + "\n")
        out.append("\n")
        out.extend(line + "\n" for line in sentence.trail)  # after the file's last sentence
    return "".join(out)


def write_columns(path: str | os.PathLike, sentences: Sequence[ColumnSentence],
                  predictions: Sequence[Sequence[str]], column: int | None = None, sep: str = " ",
                  encoding: str = "utf-8") -> None:
    """Write a column file with the predictions appended or in place of ``column`` (see format_columns)."""
    write_text_file(path, format_columns(sentences, predictions, column, sep), encoding)
