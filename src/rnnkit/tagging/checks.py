"""Checks of tagging training data before anything is trained.

Each check raises one :class:`rnnkit.errors.DataError` line that names the file, where in it the
problem is, and what to pass instead.  They catch data that would otherwise train a silently
useless model:

* :func:`check_columns`: the word column or a ``--feature-columns`` entry is the tag column (the
  model would read the answer it must predict); negative indices are resolved first, so ``-1`` and
  the explicit last index are the same column.
* :func:`check_tag_variety`: every token has the same tag (``--tag-column xpos`` on a treebank
  whose XPOS is ``_`` everywhere): a one-tag model learns nothing.
* :func:`check_gold_column` (scoring, not training): a column file's gold tags read from its word
  column (a file narrower than the training data), which would be scored as a result.
* :func:`check_scheme`: a sentence whose tags break ``--scheme`` (``B-NP O`` under BIOES, where a
  one-token chunk is ``S-NP``; ``O I-NP`` under BIO, which IOB1 allows): constrained decoding would
  then never output the missing moves.  The message says which scheme the tags do fit.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from rnnkit.constraints import allowed_transitions
from rnnkit.errors import DataError
from rnnkit.tagging.io import DataSpec, TaggingData
from rnnkit.english import a_or_an_letters

SPAN_SCHEMES = ("bio", "iob1", "bioes", "bmes")  # the order in which fitting schemes are suggested
_NAMES = {"bio": "BIO", "iob1": "IOB1", "bioes": "BIOES", "bmes": "BMES"}


class TrainingDataError(DataError):
    """A check's one line, kept in two parts so a caller can replace the fix with a better one."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix


_FORMS = {"bio": "O, B-TYPE, I-TYPE", "iob1": "O, I-TYPE, B-TYPE", "bioes": "O, B-TYPE, I-TYPE, E-TYPE, S-TYPE",
          "bmes": "B, M, E, S or B-TYPE, M-TYPE, E-TYPE, S-TYPE"}


# ---------------------------------------------------------------------- where a token is
def token_line(data: TaggingData, sentence: int, token: int) -> int | None:
    """1-based line of token ``token`` of sentence ``sentence`` in the file ``data`` was read from (None if unknown)."""
    source = data.source
    if not isinstance(source, list) or sentence >= len(source):
        return None
    s = source[sentence]
    if hasattr(s, "word_lines"):  # CoNLL-U: raw_lines may start with the file's leading blank lines
        leading = next((i for i, line in enumerate(s.raw_lines) if line.strip()), 0)
        return s.line_number + s.word_lines[token] - leading
    if hasattr(s, "rows"):  # column file: one token a line
        return s.line_number + token
    if hasattr(s, "gaps"):  # slash text: one sentence a line
        return s.line_number
    return None


def _where(path: str | os.PathLike, data: TaggingData, sentence: int, token: int) -> str:
    line = token_line(data, sentence, token)
    return f"{path}:{line}: sentence {sentence + 1}" if line else f"{path}: sentence {sentence + 1}"


# ---------------------------------------------------------------------- label leakage
def _resolve(index: int, width: int) -> int:
    return index + width if index < 0 else index


def check_columns(spec: DataSpec, data: TaggingData, path: str | os.PathLike) -> None:
    """A column file's word column and feature columns must not be its tag column, a feature column not the
    word column (read anyway) nor given twice."""
    if spec.format != "columns" or not data.source:
        return
    width = len(data.source[0].rows[0])
    tag = _resolve(int(spec.tag_column), width)
    where = f"{path}:{data.source[0].line_number}"
    shown = (f"tag_column={spec.tag_column!r}, --tag-column {spec.tag_column}"
             + ("" if spec.tag_column == tag else f" = column {tag} of {width}"))
    if _resolve(spec.word_column, width) == tag:
        raise TrainingDataError(f"{where}: word_column={spec.word_column!r} (--word-column {spec.word_column}) is "
                                f"the tag column ({shown}): the model would read the tags it must predict",
                                "choose another word_column or tag_column (--word-column, --tag-column)")
    for c in spec.feature_columns:  # first: the worst of the mistakes
        if _resolve(c, width) == tag:
            raise TrainingDataError(f"{where}: feature column {c} (feature_columns, --feature-columns {c}) is the tag "
                                    f"column ({shown}): the model would be given the tags it must predict",
                                    f"leave column {c} out of feature_columns (--feature-columns)")
    word, seen = _resolve(spec.word_column, width), {}
    for c in spec.feature_columns:
        at = _resolve(c, width)
        if at == word:
            raise TrainingDataError(f"{where}: feature column {c} (feature_columns, --feature-columns {c}) is the word "
                                    f"column (word_column={spec.word_column!r}, --word-column {spec.word_column}), "
                                    "which the model reads anyway",
                                    f"leave column {c} out of feature_columns (--feature-columns)")
        if at in seen:
            twice = f"{seen[at]} and {c} are both column {at} of {width}" if seen[at] != c else f"{c} is given twice"
            raise TrainingDataError(f"{where}: feature_columns (--feature-columns) {twice}", "give each column once")
        seen[at] = c


def check_gold_column(spec: DataSpec, data: TaggingData, path: str | os.PathLike) -> None:
    """A column file scored against its gold tags must have them in a column of their own: in a file
    narrower than the training data, --tag-column -1 can fall on the word column, and every word
    then 'is' its own gold tag (accuracy 0, said as if it were a result)."""
    if spec.format != "columns" or not data.source:
        return
    width = len(data.source[0].rows[0])
    if _resolve(spec.word_column, width) == _resolve(int(spec.tag_column), width):
        raise DataError(f"{path}:{data.source[0].line_number}: a line of {width} column{'s' * (width != 1)}, and "
                        f"the model reads words from column {spec.word_column} and gold tags from column "
                        f"{spec.tag_column}, the same one here; give the file with its gold tags in a column of "
                        "their own (as in the training data)")


# ---------------------------------------------------------------------- one tag only
def _varied_columns(data: TaggingData, spec: DataSpec) -> list[int]:
    """Column indices (not the word nor the tag column) whose values differ somewhere, of a column file."""
    width = len(data.source[0].rows[0])
    skip = {_resolve(spec.word_column, width), _resolve(int(spec.tag_column), width)}
    varied = []
    for c in range(width):
        if c in skip:
            continue
        values = {row[c] for s in data.source for row in s.rows}
        if len(values) > 1:
            varied.append(c)
    return varied


def check_tag_variety(spec: DataSpec, data: TaggingData, path: str | os.PathLike) -> None:
    """At least two different tags in the training data: one tag leaves nothing to learn."""
    tags = {t for s in data.tags or [] for t in s}
    if len(tags) != 1:
        return
    (only,) = tags
    if spec.format == "segmented":
        raise TrainingDataError(f"{path}: every character's tag is {only!r} (every word is one character): nothing "
                                f"to learn", "a segmenter needs words of more than one character")
    if spec.format == "conllu":
        from rnnkit.data.conll import read_conllu

        other = "upos" if spec.tag_column == "xpos" else "xpos"
        try:
            other_tags = {t for s in read_conllu(path, other, spec.encoding) for t in s.tags}
        except DataError:
            other_tags = set()
        fix = (f"use tag_column={other!r} (--tag-column {other})" if len(other_tags) > 1
               else f"its {other} column has no two tags either")
        raise TrainingDataError(f"{path}: every token's tag (column {spec.tag_column}) is {only!r}: nothing to learn",
                                fix)
    varied = _varied_columns(data, spec)
    fix = (f"use tag_column={varied[-1]!r} (--tag-column {varied[-1]})" if varied else
           "no other column has two values either; a tagger needs at least two tags")
    raise TrainingDataError(f"{path}: every token's tag (column {spec.tag_column}) is {only!r}: nothing to learn", fix)


# ---------------------------------------------------------------------- tag scheme
def scheme_violation(sentences: Sequence[Sequence[str]], scheme: str) -> tuple[int, int, str] | None:
    """``(sentence, token, what)`` of the first place where the tags break ``scheme``, or None.

    ``what`` says it in words: a tag with no prefix of the scheme, a tag that may not start or end
    a sentence, or a pair of tags that may not follow each other.
    """
    name = _NAMES[scheme]
    tagset = sorted({t for s in sentences for t in s})
    try:
        allowed, allowed_start, allowed_end = allowed_transitions(tagset, scheme)
    except ValueError:
        for k, tags in enumerate(sentences):
            for i, tag in enumerate(tags):
                try:
                    allowed_transitions([tag], scheme)
                except ValueError:
                    return k, i, (f"tag {tag!r} is not {a_or_an_letters(name)} {name} tag ({_FORMS[scheme]}) as "
                                  f"scheme={scheme!r} (--scheme {scheme}) needs")
        raise  # a tag set that fails as a whole always has a tag that fails alone
    index = {t: j for j, t in enumerate(tagset)}
    return next(_breaks(sentences, (allowed, allowed_start, allowed_end), index, _named(scheme)), None)


def _breaks(sentences: Sequence[Sequence[str]], rules: tuple, index: dict[str, int],
            named: str) -> Iterator[tuple[int, int, str]]:
    """``(sentence, token, what)`` of the first break of ``rules`` (allowed, allowed_start, allowed_end over the
    tags' ``index``) in each sentence that has one, in order; ``named`` names the scheme in ``what``."""
    allowed, allowed_start, allowed_end = rules
    for k, tags in enumerate(sentences):
        if not tags:
            continue
        ids = [index[t] for t in tags]
        if not allowed_start[ids[0]]:
            yield k, 0, f"{tags[0]} at the start of a sentence is not legal {named}"
            continue
        bad = next((i for i in range(1, len(ids)) if not allowed[ids[i - 1], ids[i]]), None)
        if bad is not None:
            yield k, bad, f"{tags[bad - 1]} followed by {tags[bad]} is not legal {named}"
        elif not allowed_end[ids[-1]]:
            yield k, len(ids) - 1, f"{tags[-1]} at the end of a sentence is not legal {named}"


def scheme_breaks(sentences: Sequence[Sequence[str]], scheme: str) -> list[tuple[int, int, str]] | None:
    """``(sentence, token, what)`` of every sentence whose tags break ``scheme``, as :func:`scheme_violation` says
    the first, in one pass over tables built once; None when a tag is not of the scheme's form at all
    (:func:`scheme_violation` names that one)."""
    tagset = sorted({t for s in sentences for t in s})
    try:
        rules = allowed_transitions(tagset, scheme)
    except ValueError:
        return None
    return list(_breaks(sentences, rules, {t: j for j, t in enumerate(tagset)}, _named(scheme)))


def _named(scheme: str) -> str:
    """A span scheme as the messages name it: its name, the library's argument and the option."""
    return f"{_NAMES[scheme]} (scheme={scheme!r}, --scheme {scheme})"




def fitting_schemes(sentences: Sequence[Sequence[str]], exclude: str | None = None) -> list[str]:
    """The schemes (of bio, iob1, bioes, bmes) that every sentence's tags follow."""
    return [s for s in SPAN_SCHEMES if s != exclude and scheme_violation(sentences, s) is None]


def unnamed_spans(spec: DataSpec, data: TaggingData) -> str | None:
    """When no --scheme was chosen (token accuracy) and every sentence's tags follow a span scheme
    (B-NP I-NP O), what to say: span F1 and legal-sequence decoding are what such tags are for."""
    if spec.scheme != "none" or spec.format == "segmented" or data.tags is None:
        return None
    tags = [t for s in data.tags for t in s]
    if not any(t != "O" for t in tags):  # all O (or nothing): no span at all
        return None
    fits = [s for s in fitting_schemes(data.tags) if s != "bmes"]
    if not fits:
        return None
    shown = ", ".join(sorted(set(tags))[:4])
    return (f"the tags ({shown}, ...) look like {' or '.join(_NAMES[s] for s in fits)} spans, and without a scheme "
            f"(--scheme) they are scored by token accuracy and decoded without span rules; give scheme={fits[0]!r} "
            f"(--scheme {fits[0]}) for span F1")


def check_scheme(spec: DataSpec, data: TaggingData, path: str | os.PathLike) -> None:
    """Every training sentence's tags must follow ``spec.scheme``; the error suggests the scheme they fit."""
    if spec.scheme == "none" or data.tags is None:
        return
    found = scheme_violation(data.tags, spec.scheme)
    if found is None:
        return
    k, i, what = found
    tag = data.tags[k][i]
    fits = fitting_schemes(data.tags, exclude=spec.scheme)
    spans = spec.scheme in ("bio", "iob1", "bioes")
    tags = {t for s in data.tags for t in s}
    if fits:
        names = " or ".join(_NAMES[s] for s in fits)
        fix = f"the tags look like {names}: use scheme={fits[0]!r} (--scheme {fits[0]})"
    elif spans and len(tag) == 2 and tag[0] in _PREFIXES and tag[1] == "-":  # I- alone: --repair-spans needs types
        raise TrainingDataError(f"{_where(path, data, k, i)}: tag {tag!r} has no type after {tag}",
                                f"{_NAMES[spec.scheme]} tags are {_FORMS[spec.scheme]}: give each such tag its "
                                f"span's type ({tag}NP), or use scheme='none' (--scheme none: token accuracy, no "
                                "span decoding)")
    elif spans and not any(t[:2] in _SPAN_STARTS for t in tags):  # ADP NOUN VERB: a POS column, not spans
        shown = ", ".join(sorted(tags)[:4])
        raise TrainingDataError(f"{path}: the tags ({shown}, ...) look like POS tags, not span tags: none starts "
                                f"with B- or I- as scheme={spec.scheme!r} (--scheme {spec.scheme}) needs",
                                "give scheme='none' (--scheme none) to train on them with token accuracy")
    else:
        repair = (", or read them as conlleval does (a stray I- starts a span) with repair_spans=True "
                  "(--repair-spans)" if spans and _fits_form(tag, spec.scheme) else "")  # rewrites sequences, not tags
        fix = (f"the tags fit no tag scheme ({', '.join(SPAN_SCHEMES)}): fix them{repair}, or use scheme='none' "
               "(--scheme none: token accuracy, no span decoding)")
    raise TrainingDataError(f"{_where(path, data, k, i)}: {what}", fix)


_PREFIXES = "BIESLU"  # span prefixes of bio, iob1, bioes (and BILOU's L- U-)
_SPAN_STARTS = {"B-", "I-", "E-", "S-", "L-", "U-"}


def _fits_form(tag: str, scheme: str) -> bool:
    """Whether ``tag`` alone is a tag of ``scheme`` (B-NP under bio), whatever tags it follows."""
    try:
        allowed_transitions([tag], scheme)
    except ValueError:
        return False
    return True


def repair_spans(spec: DataSpec, data: TaggingData, path: str | os.PathLike) -> str | None:
    """Rewrite, in place, every sentence whose tags break ``spec``'s span scheme (bio, iob1, bioes) as
    conlleval reads it: the spans of :func:`rnnkit.data.spans.spans` (``O I-PER`` opens a PER span,
    ``B-PER I-LOC`` closes it and opens a LOC one) written back in the scheme.  What to warn (how many
    sentences, the first with its line), or None when every sentence followed the scheme.  A tag
    with no prefix of the scheme is left for :func:`check_scheme` to name."""
    from rnnkit.data.spans import convert

    if spec.scheme not in ("bio", "iob1", "bioes") or data.tags is None:
        return None
    breaks = scheme_breaks(data.tags, spec.scheme)
    if not breaks:  # None: a tag of another scheme, which check_scheme names
        return None
    scheme = "iob2" if spec.scheme == "bio" else spec.scheme
    for k, _, _ in breaks:
        try:
            data.tags[k] = convert(data.tags[k], scheme, scheme)
        except ValueError:  # a tag convert cannot read: check_scheme names it
            return None
    changed = len(breaks)
    k, i, what = breaks[0]
    n = sum(1 for t in data.tags if t)
    more = f", and {changed - 1:,} more of the {n:,} sentences break {_NAMES[spec.scheme]}" if changed > 1 else ""
    return (f"{_where(path, data, k, i)}: {what}{more}: repair_spans (--repair-spans) reads "
            f"{'them' if changed > 1 else 'it'} as conlleval does and trains on "
            f"{'them' if changed > 1 else 'it'} rewritten in {_NAMES[spec.scheme]}")


def check_gold_spans(spec: DataSpec, data: TaggingData, path: str | os.PathLike) -> None:
    """Gold tags scored with span F1 must be tags of the model's scheme (a POS column read as chunks is
    not): DataError at the first that is not, with its line, and the scheme the tags do fit, if any."""
    from rnnkit.data.spans import split_tag

    if spec.scheme not in ("bio", "iob1", "bioes") or data.tags is None:
        return
    scheme = "iob2" if spec.scheme == "bio" else spec.scheme
    for k, tags in enumerate(data.tags):
        for i, tag in enumerate(tags):
            try:
                split_tag(tag, scheme)
            except ValueError:
                fits = fitting_schemes(data.tags, exclude=spec.scheme)
                looks = f" (the file's tags look like {' or '.join(_NAMES[s] for s in fits)})" if fits else ""
                name = _NAMES[spec.scheme]
                raise DataError(f"{_where(path, data, k, i)}: gold tag {tag!r} is not {a_or_an_letters(name)} {name} "
                                f"span tag ({_FORMS[spec.scheme]}), and the model is scored on {name} spans{looks}; "
                                "give the file with its tags in the model's scheme, where the training data had them"
                                ) from None


def gold_scheme_note(spec: DataSpec, data: TaggingData, path: str | os.PathLike) -> str | None:
    """When gold tags of the model's span scheme break its moves (``O I-LOC`` under BIO, which training refuses):
    what to say, once for the file: how many sentences, the first with its line, and how they are scored; or,
    when they fit another scheme (IOB1 gold for a BIO model), that token accuracy then compares tag strings of two
    schemes.  None when every sentence follows the scheme."""
    if spec.scheme not in ("bio", "iob1", "bioes") or data.tags is None:
        return None
    breaks = scheme_breaks(data.tags, spec.scheme)
    if breaks == []:
        return None
    fits = fitting_schemes(data.tags, exclude=spec.scheme)
    k, i, what = breaks[0] if breaks else scheme_violation(data.tags, spec.scheme)  # None: a tag not of its form
    name = _NAMES[spec.scheme]
    if not fits:
        broken, n = len(breaks or ()), sum(1 for t in data.tags if t)
        return (f"{path}: {broken:,} of its {n:,} sentences have gold tags that break {name}, which training "
                f"refuses (the first at {_where(path, data, k, i)}: {what}); they are scored as conlleval scores "
                "them: span F1 reads their spans as conlleval does (O I-LOC opens a LOC span at the I-, B-PER I-LOC "
                "ends the PER span and opens a LOC one), token accuracy compares the tags as written")
    return (f"{_where(path, data, k, i)}: {what}: the gold tags look like {' or '.join(_NAMES[s] for s in fits)}; "
            f"span F1 reads the spans either way, but token accuracy compares tag strings with the model's {name} "
            f"tags: convert the file to {name} for a token accuracy that compares")


LONG_SENTENCE = 1000  # tokens (characters of segmented text: 3 times as many): longer is sentences run together


def run_together(spec: DataSpec, data: TaggingData, path: str | os.PathLike) -> str | None:
    """What to say when the longest training sentence is so long that it is likely several run together
    (a column file without its blank lines reads as one sentence, and trains a useless model), or None."""
    if not data.words:
        return None
    k = max(range(len(data.words)), key=lambda j: len(data.words[j]))
    n = len(data.words[k])
    limit = LONG_SENTENCE * (3 if spec.format == "segmented" else 1)
    if n <= limit:
        return None
    unit = "characters" if spec.format == "segmented" else "tokens"
    gap = "line breaks" if spec.format in ("segmented", "slash") else "blank lines"
    return (f"{_where(path, data, k, 0)} has {n:,} {unit}; a sentence that long is usually several run together: "
            f"are the {gap} between sentences missing?")


def check_training_data(spec: DataSpec, data: TaggingData, path: str | os.PathLike) -> None:
    """Every check above, in the order that gives the most useful message first."""
    check_columns(spec, data, path)
    check_tag_variety(spec, data, path)
    check_scheme(spec, data, path)
