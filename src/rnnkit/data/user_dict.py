"""A user dictionary for word segmentation: words that ``rnnkit segment --dict`` keeps whole, as jieba's
``load_userdict`` does, even when the model never saw them (names such as 欧阳丽, terms such as 循环神经网络).

The file (UTF-8, a byte-order mark allowed) holds one entry a line in jieba's format ``word [freq] [tag]``:
the word, then optionally a frequency (a whole number) and a part-of-speech tag (lowercase letters, as jieba
has them: ``nr``, ``nz``).  Frequencies and tags are read for jieba's files to load as they are, and then
ignored: a dictionary word is always kept whole, it has no weight to trade against the model's.  So a user
dictionary is for the words the model misses: a full lexicon (jieba's dict.txt) forces its words everywhere,
which is forward maximum matching (:func:`lexicon_warning` says so), and a one-character entry of a file is
skipped (:func:`read_user_dict`).  Blank lines
are skipped, and ``#`` starts a comment at the start of a line or after a space (``C#`` is a word).  As in
jieba, ``new york`` reads as the word ``new`` with the tag ``york``; any other second field (``欧阳 丽``,
``New York``) is refused, since a word holds no spaces: a space in the text is always a word boundary.

How the words are found in a line of raw text (:meth:`UserDict.matches`):

- a word matches the text's characters as written or width-folded (``ＡＩ芯片`` matches ``AI芯片``), never
  across a space of the text;
- overlapping matches are resolved leftmost-longest: from the start of the line, the longest dictionary word
  that starts at the first possible position is taken, and the search goes on after its end (with 研究生 and
  生命 in the dictionary, 研究生命 gives 研究生|命);
- a match may not start or end inside a unit that :mod:`rnnkit.data.segment_rules` keeps whole (a Latin word
  or number, a web or e-mail address, a character on screen): ``Book`` is not found inside ``MacBook``, nor
  ``example`` inside ``www.example.com``.

Each match then constrains the segmenter's decoding (:func:`word_tags`): its characters must take the tags
``B M ... M E`` (``S`` for one character), so it is one word and the rest of the line is decoded around it,
the best segmentation among those that keep it whole.  The rules of ``segment_rules`` run after decoding as
always, but never cut inside a dictionary word (:func:`keep_spans`): a word that holds Chinese punctuation
(《红楼梦》) or joins a Latin word to Chinese (卡拉OK) stays whole.
"""
from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import accumulate

from rnnkit.data.files import read_utf8_file, text_lines
from rnnkit.data.segmentation import fold_width
from rnnkit.errors import DataError
from rnnkit.english import a_or_an_name

MAX_WORD = 100  # characters: a longer "word" is a sentence or a file given by mistake
_FREQUENCY = re.compile(r"[0-9]+")
_TAG = re.compile(r"[a-z]+")  # jieba's tags
FORMAT = "one word a line, optionally followed by a frequency and a tag (jieba's 'word [freq] [tag]')"
_PLAIN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z0-9]+")  # characters width folding leaves as they are


@lru_cache(maxsize=65536)
def _form_char(ch: str) -> str:
    return ch if ch in "\u3002\uff61" else fold_width(ch)  # 。 stays itself: a sentence end, not a dot


def _form(text: str) -> str:
    """The text words are matched on: width-folded (:func:`~rnnkit.data.segmentation.fold_width`), the
    ideographic full stop kept; one character to one, so offsets are the text's."""
    if _PLAIN.fullmatch(text):  # most words: no folding character by character
        return text
    return "".join(map(_form_char, text))


def word_problem(word: object) -> str | None:
    """What makes ``word`` no dictionary word (empty, a space in it, a control character, nothing visible,
    an invisible format character such as U+200B inside it (the zero-width joiner of an emoji sequence
    excepted), over :data:`MAX_WORD` characters), or None."""
    if (isinstance(word, str) and 0 < len(word) <= MAX_WORD and word.isprintable() and " " not in word
            and unicodedata.category(word[0]) not in ("Mn", "Me")):
        return None  # printable: no control, format or space character, and a first one that shows
    if not isinstance(word, str):
        return f"{a_or_an_name(type(word).__name__)} {type(word).__name__}, not a str"
    if not word:
        return "an empty word"
    if any(c.isspace() for c in word):
        return f"{word[:40]!r} holds a space, and a space is always a word boundary: one word a line"
    if len(word) > MAX_WORD:
        return (f"a word of {len(word):,} characters ({word[:10]!r}...), and a dictionary word has at most "
                f"{MAX_WORD}: is this a word list?")
    control = next((c for c in word if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        return f"{word!r} holds the control character U+{ord(control):04X}"
    if all(unicodedata.category(c)[0] in "CZ" or unicodedata.category(c) in ("Mn", "Me") for c in word):
        return f"an empty word ({word!r}: invisible characters only)"
    hidden = _hidden(word)
    if hidden is not None:  # a zero-width space copied from a web page: the word would match only text holding it
        return (f"{word!r} holds the invisible character U+{ord(hidden):04X} "
                f"({unicodedata.name(hidden, 'a format character')}), so it would match only text that holds it "
                "too: delete it")
    if unicodedata.category(word[0]) in ("Mn", "Me"):
        return (f"{word!r} begins with the combining mark U+{ord(word[0]):04X}, which belongs to the character "
                "before it: write the word with its base character")
    return None


def _hidden(word: str) -> str | None:
    """The first invisible format character (category Cf: U+200B ZERO WIDTH SPACE, U+2060 WORD JOINER ...)
    of ``word``, the zero-width joiner of an emoji sequence excepted; None if it has none."""
    return next((c for c in word if unicodedata.category(c) == "Cf" and c != "\u200d"), None)


class _Invisible(ValueError):
    """A dictionary line whose word is one but for an invisible format character in it: skipped, not refused."""


class _Blank(ValueError):
    """A dictionary line whose word is invisible format characters only (U+200B alone, as a copy from a web
    page leaves): skipped, not refused, as a word of combining marks only is; it shows nothing, so it is no word."""


class _Marks(ValueError):
    """A dictionary line whose word is combining marks only (U+0304 alone, as a token of UD Chinese GSD is):
    skipped, not refused; in text they belong to the character before them, so they are no word."""


def _marks_only(word: str) -> bool:
    """True when ``word`` is combining marks (categories Mn, Me), with invisible format characters at most."""
    kinds = [unicodedata.category(c) for c in word]
    return any(k in ("Mn", "Me") for k in kinds) and all(k in ("Mn", "Me", "Cf") for k in kinds)


class UserDict:
    """A set of words to keep whole, found in raw text by :meth:`matches`; built from words
    (``UserDict(["欧阳丽", "循环神经网络"])``) or read from a file (:func:`read_user_dict`)."""

    def __init__(self, words: Iterable[str] = ()) -> None:
        if isinstance(words, str):
            raise TypeError(f"Expected user words as a list of str, got a str {words[:20]!r}: pass [word]")
        self.words: set[str] = set()  # in their matching form (width-folded)
        self._lengths: dict[str, list[int]] = {}  # first character -> lengths of the words it starts, longest first
        for position, word in enumerate(words):
            problem = word_problem(word)
            if problem is not None:
                raise ValueError(f"Expected user words as non-empty str without spaces, got {problem} at "
                                 f"position {position}")
            self.add(word)

    def add(self, word: str) -> None:
        """Add one word (already checked by :func:`word_problem`)."""
        form = _form(word)
        if form in self.words:
            return
        self.words.add(form)
        lengths = self._lengths.setdefault(form[0], [])
        if len(form) not in lengths:
            lengths.append(len(form))
            lengths.sort(reverse=True)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and _form(word) in self.words

    def matches(self, text: str, inner: Iterable[int] = ()) -> list[tuple[int, int]]:
        """``(start, end)`` of the dictionary words found in ``text`` (one chunk of a line, no spaces in
        it), leftmost-longest, none starting or ending at an offset of ``inner``
        (:func:`rnnkit.data.segment_rules.inner_offsets`); in order and never overlapping."""
        inner = set(inner)
        form = _form(text)
        found: list[tuple[int, int]] = []
        i = 0
        while i < len(form):
            end = None
            if i not in inner:
                for length in self._lengths.get(form[i], ()):
                    j = i + length
                    if j <= len(form) and j not in inner and form[i:j] in self.words:
                        end = j
                        break
            if end is None:
                i += 1
            else:
                found.append((i, end))
                i = end
        return found


def user_dict(words: UserDict | Iterable[str] | None) -> UserDict | None:
    """``words`` as a :class:`UserDict`: one as it is, a list of words built into one, None as None."""
    if words is None or isinstance(words, UserDict):
        return words
    return UserDict(words)


def _entry(line: str) -> str | None:
    """The word of one line of a dictionary file, None for a blank or comment line; ValueError saying
    what is wrong with any other."""
    fields = line.split()
    if "#" in line:
        fields = fields[:next((k for k, f in enumerate(fields) if f.startswith("#")), len(fields))]
    if not fields:
        return None
    word, rest = fields[0], fields[1:]
    if rest and _FREQUENCY.fullmatch(rest[0]):
        rest = rest[1:]
    if rest and _TAG.fullmatch(rest[0]):
        rest = rest[1:]
    if rest:
        raise ValueError(f"{' '.join(fields)[:60]!r} is not {FORMAT}: a word holds no spaces (a space is "
                         "always a word boundary), a frequency is a whole number and a tag lowercase letters")
    problem = word_problem(word)
    if problem is None:
        return word
    if all(unicodedata.category(c) == "Cf" for c in word):
        raise _Blank(f"{ascii(word)}: U+{ord(word[0]):04X} {unicodedata.name(word[0], 'a format character')}")
    if _marks_only(word):
        mark = next(c for c in word if unicodedata.category(c) in ("Mn", "Me"))
        raise _Marks(f"{ascii(word)}: U+{ord(mark):04X} {unicodedata.name(mark, 'a combining mark')}")
    hidden = _hidden(word)
    if hidden is not None and word_problem(word.replace(hidden, "")) is None:  # a word, but for the character
        raise _Invisible(f"{word!r} holds U+{ord(hidden):04X} ({unicodedata.name(hidden, 'a format character')})")
    raise ValueError(problem)


def read_user_dict(path: str | os.PathLike, into: UserDict | None = None) -> UserDict:
    """The words of a dictionary file (format in the module docstring), added to ``into`` if given.  A bad
    line (not UTF-8, a word with a space, an empty or overlong word) is a DataError naming file:line; so is
    a file with no word at all.  A one-character entry is skipped, with one warning for the file: a
    segmenter needs no help keeping one character whole, and forcing it to be a word of its own wherever
    it occurs would cut it from its neighbours (的 from 目的); jieba's lexicon holds 11,580 of them, for their
    frequencies.  A word that holds an invisible format character (U+200B ZERO WIDTH SPACE, as one word of
    UD Chinese GSD does) would match only text holding it too: its line is skipped, with one warning naming
    the lines.  So is a word of combining marks only (U+0304 alone, as one token of GSD is): in text a mark
    belongs to the character before it, and a word list made from a corpus's tokens should load; and so is
    a word of invisible format characters only (U+200B alone), which shows nothing.  (A list of
    words given to :class:`UserDict` is taken as it is.)"""
    text = read_utf8_file(path, "a word list")
    found = UserDict() if into is None else into
    lines = text_lines(text)
    words, single, hidden, blank, marks = 0, [], [], [], []
    for number, line in enumerate(lines, start=1):
        try:
            word = _entry(line)
        except _Invisible as exc:
            hidden.append((number, str(exc)))
            continue
        except _Blank as exc:
            blank.append((number, str(exc)))
            continue
        except _Marks as exc:
            marks.append((number, str(exc)))
            continue
        except ValueError as exc:
            raise DataError(f"{path}:{number}: {exc}") from None
        if word is not None and len(word) == 1:
            single.append(word)
        elif word is not None:
            found.add(word)
            words += 1
    if single:
        import warnings

        some = "".join(single[:3]) if len(single) > 3 else "".join(single)
        warnings.warn(f"{path}: {len(single):,} one-character entr{'y' if len(single) == 1 else 'ies'} ({some}"
                      f"{'...' if len(single) > 3 else ''}) skipped: a dictionary word is forced to be a word of "
                      "its own wherever it occurs, and one character forced so would be cut from its neighbours "
                      "(的 from 目的)", UserWarning, stacklevel=2)
    skipped = [_skipped(hidden, "for an invisible character in the word", "which would match only text that "
                        "holds it too; delete the character to keep the word"),
               _skipped(blank, "for a word of invisible characters only", "which shows nothing, so it is no word"),
               _skipped(marks, "for a word of combining marks only", "which in text belong to the character before "
                        "them, so they are no word of their own")]
    if hidden or blank or marks:
        import warnings

        warnings.warn(f"{path}: " + "; ".join(part for part in skipped if part), UserWarning, stacklevel=2)
    if not words and not single:
        got = f"{len(lines):,} blank or comment lines" if lines else "an empty file"
        if hidden or blank or marks:
            got = ", ".join([f"{len(hidden):,} skipped for an invisible character"] * bool(hidden)
                            + [f"{len(blank):,} skipped as invisible characters only"] * bool(blank)
                            + [f"{len(marks):,} skipped as combining marks only"] * bool(marks)
                            + [f"{len(lines) - len(hidden) - len(blank) - len(marks):,} blank or comment lines"])
        raise DataError(f"{path}: no word in it ({got}); expected {FORMAT}")
    return found


def _skipped(entries: list[tuple[int, str]], why: str, so: str) -> str:
    """Part of :func:`read_user_dict`'s warning: how many ``entries`` (line number, the first one's detail)
    were skipped, on which lines, why and what that means; "" for none."""
    if not entries:
        return ""
    numbers = ", ".join(str(number) for number, _ in entries[:10]) + (", ..." if len(entries) > 10 else "")
    return (f"{len(entries):,} entr{'y' if len(entries) == 1 else 'ies'} skipped (line"
            f"{'' if len(entries) == 1 else 's'} {numbers}) {why} ({entries[0][1]}), {so}")


LEXICON_SHARE = 0.5  # of the text's characters inside dictionary words: the dictionary decides, not the model
LEXICON_WORDS = 10_000  # a dictionary this large is a lexicon: warned about even on a short text
LEXICON_TEXT = 100  # characters: on a shorter text, a small dictionary may cover most of it (欧阳丽来了)


def outside_matches(words: UserDict, lines: Iterable[str]) -> str:
    """The characters of ``lines``, spaces left out, that no match of ``words`` covers."""
    kept = []
    for line in lines:
        for chunk in line.split():
            a = 0
            for start, end in words.matches(chunk):
                kept.append(chunk[a:start])
                a = end
            kept.append(chunk[a:])
    return "".join(kept)


def covered_characters(words: UserDict, lines: Iterable[str]) -> tuple[int, int]:
    """``(characters, covered)``: the characters of ``lines`` (spaces left out) and those inside ``words``' matches."""
    lines = list(lines)
    characters = sum(len(chunk) for line in lines for chunk in line.split())
    return characters, characters - len(outside_matches(words, lines))


def lexicon_warning(words: UserDict, characters: int, covered: int, what: str = "the --dict words") -> str | None:
    """A warning when ``words`` cover ``covered`` of a text's ``characters`` (spaces left out) so fully that
    the segmentation is the dictionary's, not the model's: over :data:`LEXICON_SHARE` of them, on a text of
    :data:`LEXICON_TEXT` characters or more or from a dictionary of :data:`LEXICON_WORDS` words or more
    (jieba's dict.txt: 350,000).  Every dictionary word is forced, so a full lexicon makes the segmenter
    forward maximum matching (研究生|命|的|起源 where the model alone reads 研究|生命); jieba, by contrast,
    weighs its dictionary's words by their frequencies.  None when the dictionary leaves the text to the model."""
    if not characters or covered < LEXICON_SHARE * characters:
        return None
    if characters < LEXICON_TEXT and len(words) < LEXICON_WORDS:
        return None
    return (f"{what} ({len(words):,}) cover {covered / characters:.0%} of the input's characters, and each one is "
            "kept whole wherever it occurs, so the segmentation is the dictionary's forward maximum matching, not the "
            "model's (with 研究生 in it, 研究生命 gives 研究生|命 whatever the model reads): a user dictionary is for "
            "the names and terms the model misses, not a full lexicon such as jieba's dict.txt (which jieba weighs "
            "by frequency)")


def word_tags(n: int, spans: Sequence[tuple[int, int]], have: str = "BMES") -> list[str | None]:
    """The BMES tags each of ``n`` characters may take for the words at ``spans`` (non-overlapping) to come
    out whole: ``S`` for a one-character word, else ``B``, ``M`` ..., ``E``; None where the model decides.
    Forcing a word's first tag to B or S also puts a boundary before it (B and S follow only E or S), and
    its last to E or S one after it.  ``have``: the tags the model knows.  A model trained on words of at
    most two characters has no M and cannot tag a longer word whole: its first character may then take B
    or S, its last E or S (so the boundaries at its ends stay), those between anything, and
    :func:`keep_spans` joins it; a model without S leaves a one-character word to :func:`keep_spans`."""
    tags: list[str | None] = [None] * n
    for a, b in spans:
        if b - a == 1:
            tags[a] = "S" if "S" in have else None
        elif b - a == 2 or "M" in have:
            tags[a:b] = ["B"] + ["M"] * (b - a - 2) + ["E"]
        else:
            tags[a], tags[b - 1] = "BS", "ES"
    return tags


def keep_spans(words: Sequence[str], spans: Sequence[tuple[int, int]]) -> list[str]:
    """``words`` with no boundary inside a span and one at each end of it (the dictionary words after the
    rules, which cut Chinese punctuation and Latin words from Chinese); the characters are unchanged."""
    if not spans:
        return list(words)
    text = "".join(words)
    cuts = set(accumulate(len(w) for w in words[:-1]))
    for a, b in spans:
        cuts.difference_update(range(a + 1, b))
        cuts.update(c for c in (a, b) if 0 < c < len(text))
    bounds = [0, *sorted(cuts), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]
