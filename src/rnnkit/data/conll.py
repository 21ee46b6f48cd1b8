"""CoNLL-U treebanks, read and written back.

CoNLL-U (Universal Dependencies): one word a line with 10 tab-separated columns
``ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC``, comment lines (``# sent_id = ...``) before
the words, a blank line after each sentence.  A sentence here is its syntactic words: multiword-token
ranges (ID ``3-4``) and empty nodes (ID ``5.1``) are kept in the raw lines but are not words, because
UD tags the words, not the surface token ``don't`` nor the copy nodes of enhanced graphs.  Each
sentence keeps its raw lines, line ends included, so :func:`format_conllu` can give back the same
bytes with only the UPOS or XPOS column replaced by predictions (or, for tags that are neither, ``Tag=...``
added to MISC).

Column files (CoNLL-2000 ``word POS chunk``) are read and written by :mod:`rnnkit.data.columns`.

Every file may be ``.gz`` or ``.xz`` compressed (by its name; :mod:`rnnkit.data.files`).  A malformed line raises
:class:`rnnkit.errors.DataError` naming the file and line, what was expected and what came.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rnnkit.data.files import read_text_file, write_text_file
from rnnkit import errors
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
    if not any(sentence.words for sentence in sentences):  # blank lines alone, or comments (which start a sentence)
        raise no_sentences(f"{name}: expected CoNLL-U sentences", [line.rstrip("\r\n") for line in raw], comments=True)
    for sentence in sentences:
        if not sentence.words:
            raise DataError(f"{name}:{sentence.line_number}: expected word lines after the comments, got a "
                            f"sentence without any word")
    for where, token_id, last, sentence in ranges:
        if last > len(sentence.words):
            raise DataError(f"{where}: multiword range {token_id} goes beyond the sentence's last word, "
                            f"{len(sentence.words)}; correct the range or add its words")
    return sentences


def read_conllu(path: str | os.PathLike, column: str = "upos", encoding: str = "utf-8") -> list[ConlluSentence]:
    """Sentences of a CoNLL-U file (``.gz``/``.xz`` too) with the UPOS or XPOS tags (see parse_conllu)."""
    _tag_index(column)
    return parse_conllu(read_text_file(path, encoding), column, name=str(path))


def check_predictions(words: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> None:
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
    check_predictions([s.words for s in sentences], predictions)
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


def no_sentences(expected: str, lines: list[str], comments: bool = False) -> NoSentencesError:
    """The error for a file of ``lines`` without a sentence: said as what it holds (blank lines, -DOCSTART-
    lines, with ``comments`` (CoNLL-U's) '#' lines), an empty file only when it is one."""
    docstart = sum(1 for line in lines if line.split()[:1] == ["-DOCSTART-"])
    remarks = sum(1 for line in lines if line.startswith("#")) if comments else 0
    return errors.no_sentences(expected, lines, [(docstart, "-DOCSTART- line", "-DOCSTART- lines"),
                                                 (remarks, "comment line", "comment lines"),
                                                 (len(lines) - docstart - remarks, "blank line", "blank lines")])
