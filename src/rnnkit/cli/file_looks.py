"""What kind of data file a file's head looks like, for the hints of commands given another kind: CoNLL-U,
a column file (CoNLL-2000), plain text one sentence a line, or ``label<TAB>text`` lines (a classifier's data).
Each ``*_reason`` says why the lines look so, or None: a guess from their shape, for a hint beside an error
or for a warning, never for reading a file."""
from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path

from rnnkit.errors import DataError

# a tag as column files hold them: capitals, digits and $_+- (NNP, PRP$, B-NP, I-PER, O, -LRB-), or punctuation
# standing for itself (",", ".", "``", ":"); a word of a sentence has lowercase letters, or is not repeated
_TAG = re.compile(r"-?[A-Z][A-Z0-9$_+\-]{0,7}|[^\w\s]{1,2}")


def looks_like_conllu(path: str, encoding: str) -> str | None:
    """Why a file given with --format columns or segmented looks like CoNLL-U (None when it does not)."""
    head = head_lines(path, encoding)
    return None if head is None else conllu_reason(head)


def head_lines(path: str, encoding: str) -> list[str] | None:
    """The lines of a file's first 64 KiB (None when it cannot be read, or is not a regular file): enough to tell
    its format by.  A pipe (bash's ``<(...)``) is read once, by the command's reader: a look first would take the
    bytes it reads, and a second open of a named pipe waits for a writer that has gone."""
    from rnnkit.data.files import open_data, text_lines

    if not Path(path).is_file():
        return None
    try:  # the head is enough (20 lines are looked at): the reader reads the whole file anyway
        with open_data(Path(path)) as f:
            head = f.read(1 << 16).decode(encoding, errors="replace")
    except (DataError, ValueError, LookupError, OSError):
        return None
    return text_lines(head)


def plain_text_reason(lines: list[str]) -> str | None:
    """Why these lines (a file's head) look like plain text, one sentence a line, or None: neither CoNLL-U nor
    a column file nor label<TAB>text, and their numbers of words vary (no one number on half of them), three
    or more on average and four or more on some line, where a column file's token lines all have the same few
    columns; nor word/TAG pairs (slash-tagged text).  A line is split as a column file's
    (:func:`rnnkit.data.columns.column_fields`: at its tabs when it has them), so a tab-separated file whose
    tokens hold spaces (``New York<TAB>NNP``) has its columns' count on every line."""
    from rnnkit.data.columns import column_fields
    from rnnkit.data.slash import tagged_tokens

    if (conllu_reason(lines) or column_reason(lines) or tsv_reason(lines)
            or tagged_tokens(line.split() for line in lines[:200])):
        return None
    fields = [len(column_fields(line)) for line in lines[:200] if line.strip()]
    if len(fields) < 2 or sum(fields) < 3 * len(fields) or max(fields) < 4 \
            or Counter(fields).most_common(1)[0][1] > len(fields) / 2:
        return None
    return f"its lines hold {min(fields)} to {max(fields)} words"


def conllu_reason(lines: list[str]) -> str | None:
    """Why these lines (a file's head) look like CoNLL-U, or None when they do not."""
    lines = [line for line in lines[:200] if line.strip()]
    if not lines:
        return None
    ten_columns = any(len(line.split("\t")) == 10 for line in lines[:20] if not line.startswith("#"))
    # "# sent_id = 1", "# text = ..." (a CoNLL-2000 token line "# # B-NP", the pound sign, has no " = ")
    if lines[0].startswith("#") and (" = " in lines[0] or ten_columns):
        return f"its first line {lines[0][:30]!r} is a comment"
    if ten_columns:
        return "its lines have 10 tab-separated columns"
    return None


def column_reason(lines: list[str]) -> str | None:
    """Why these lines (a file's head) look like a column file (CoNLL-2000, CoNLL-2003: one token a line,
    its fields split as the reader splits them, :func:`rnnkit.data.columns.column_fields`: at tabs when a line
    has them, else at whitespace; a blank line after each sentence), or None: nine in ten of the
    non-blank lines have the same number (two or more) of fields, and blank lines part blocks of two
    lines or more on average.  Sentences one a line vary in length, and unsegmented text has one field.
    One block (a one-sentence file) is told by its fields alone: two lines or more, each with the same number
    of fields, every field after the first a tag (:data:`_TAG`: capitals or punctuation), some tag repeated."""
    from rnnkit.data.columns import column_fields

    head = lines[:200]
    rows = [column_fields(line) for line in head if line.strip()]
    fields = [len(row) for row in rows]
    blocks = sum(1 for i, line in enumerate(head) if line.strip() and (i == 0 or not head[i - 1].strip()))
    if blocks == 1 and len(fields) >= 2 and fields[0] >= 2 and len(set(fields)) == 1:
        tags = [tag for row in rows for tag in row[1:]]
        if all(_TAG.fullmatch(tag) for tag in tags) and len(set(tags)) < len(tags):
            return f"{fields[0]} columns, one token a line, tags after the first"
        return None
    if len(fields) < 4 or blocks < 2 or len(fields) < 2 * blocks:
        return None
    width, count = Counter(fields).most_common(1)[0]
    if width < 2 or count < 0.9 * len(fields):
        return None
    return f"{width} columns, one token a line"


def tsv_reason(lines: list[str]) -> str | None:
    """Why these lines (a file's head) look like ``label<TAB>text``, a classifier's data, or None: every
    non-blank line is one tab between a label (a field without spaces) and a text of two words or more on
    average, where a two-column tagging file (word<TAB>TAG) has one word after its tab."""
    texts = [line for line in lines[:200] if line.strip()]
    if not texts or any(line.count("\t") != 1 for line in texts):
        return None
    pairs = [line.split("\t") for line in texts]
    if any(len(label.split()) != 1 or not text.strip() for label, text in pairs):
        return None
    if sum(len(text.split()) for _, text in pairs) < 2 * len(pairs):
        return None
    return f"every line a label, a tab and a text; the first label {pairs[0][0].strip()!r}"


def conllu_lines_warning(lines: list[str], name: str, command: str, unit: str, done: str) -> str | None:
    """The warning for a command that reads one ``unit`` (text, sentence) a line given CoNLL-U, or None:
    each comment and token line is then ``done`` (classified, scored) as a ``unit`` of its own.  The fix
    it gives prints the sentences one a line from the file ``name`` (or standard input): its
    ``# text = `` comments, or without them (UD Chinese has no comments) its words, the FORM column."""
    why = conllu_reason(lines)
    if why is None:
        return None
    operand = "" if name == "standard input" else f" {shlex.quote(name)}"
    kinds = "comment and token lines" if any(line.startswith("#") for line in lines) else "token lines"
    if any(line.startswith("# text = ") for line in lines):
        how = f"its '# text = ' comments hold them: sed -n 's/^# text = //p'{operand}"
    else:  # words joined by spaces, a sentence a line: token lines only (not 1-2 multiword ranges nor 1.1 nodes)
        how = ("its FORM column (the 2nd) holds their words: awk -F'\\t' '$1 ~ /^[0-9]+$/ {s = s sep $2; sep = \" \"} "
               f"NF == 0 {{if (s != \"\") print s; s = sep = \"\"}} END {{if (s != \"\") print s}}'{operand}")
    return (f"{name} looks like CoNLL-U ({why}), and {command} reads one {unit} a line, so each of its {kinds} "
            f"is {done} as a {unit} of its own; give the sentences one a line ({how})")


def columns_lines_warning(lines: list[str], name: str, command: str, unit: str, done: str) -> str | None:
    """The warning for a command that reads one ``unit`` a line given a column file (CoNLL-2000), or None:
    each token line is then ``done`` as a ``unit`` of its own; the file is a tagger's data."""
    why = column_reason(lines)
    if why is None:
        return None
    path = "FILE" if name == "standard input" else shlex.quote(name)
    return (f"{name} looks like a column file ({why}), a tagger's data, and {command} reads one {unit} a line, so "
            f"each of its token lines is {done} as a {unit} of its own; to train a tagger on it, rnnkit train tagger "
            f"--format columns --train {path}")
