"""The rules rnnkit applies to a segmenter's output, where its characters cannot decide a boundary.

A segmenter trained on Chinese text cuts wherever the characters it has seen suggest, and those
suggest nothing sensible about an emoji, a URL or an English word.  :func:`fix_words` applies, in
this order:

- :func:`join_clusters`: no boundary inside a character on screen (an emoji with its joiners, a
  letter with its combining accent, a flag);
- :func:`split_punctuation`: Chinese sentence and clause punctuation (。，、；：？！ and the brackets
  and quotes) is a word of its own, as in every segmentation standard (PKU, MSR, CTB, UD), a run of
  one mark (……, ——) one word;
- :func:`keep_whole`: no boundary inside a web or e-mail address (a word of its own), a number with
  thousands separators or a run of Latin letters and digits (MacBook, 3.5, v1.2); and a boundary
  between such a run that holds a letter and a Han or kana character next to it (``MacBook|和``,
  ``iPhone7|手機``), as UD Chinese GSD has it for all but 2 of its 123,283 words (卡拉OK, 哆啦A夢),
  unless the model's word there is a training word (given as ``known``: then 卡拉OK, T恤 or Tシャツ
  stay whole).  A run of digits alone is left to the model: GSD writes 第1, 20萬 and 4.5億 as words.

``rnnkit segment`` runs the model on each line without its spaces and applies them with the spaces
as fixed boundaries; ``rnnkit evaluate`` and validation do the same with each gold sentence and the
spaces its written text would have (:func:`written_spaces`), so the F1 they report is that of what
``segment`` prints for the written text.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from itertools import accumulate

from rnnkit.data.scripts import is_cjk
from rnnkit.data.segmentation import fold_width

def _glues(ch: str) -> bool:
    """A character that belongs to the one before it: a combining mark, a zero-width joiner, a variation
    selector, an emoji skin-tone modifier or a tag character (the subdivision flags')."""
    o = ord(ch)
    return (unicodedata.category(ch) in ("Mn", "Mc", "Me") or o == 0x200D or 0xFE00 <= o <= 0xFE0F
            or 0xE0100 <= o <= 0xE01EF or 0x1F3FB <= o <= 0x1F3FF or 0xE0020 <= o <= 0xE007F)


_REGIONAL = "".join(map(chr, range(0x1F1E6, 0x1F200)))  # regional indicators: a flag is a pair of them


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def join_clusters(words: Sequence[str]) -> list[str]:
    """Words with no boundary inside a user-perceived character: a word that starts with a combining
    mark, joiner, variation selector or skin-tone modifier, or follows a word that ends in a joiner,
    is joined to the word before (a family emoji is one character on screen, and U+200D between two
    of its parts must not become a word boundary).  The characters are unchanged."""
    out: list[str] = []
    for w in words:
        if out and w and (_glues(w[0]) or out[-1].endswith("\u200d") or _half_flag(out[-1], w)):
            out[-1] += w
        else:
            out.append(w)
    return out


def _half_flag(left: str, right: str) -> bool:
    """Whether ``left`` ends with the first regional indicator of a flag and ``right`` starts with its
    second (indicators pair up from the start of their run)."""
    if not (_regional(right[0]) and _regional(left[-1])):
        return False
    run = len(left) - len(left.rstrip(_REGIONAL))
    return run % 2 == 1


# what segment keeps whole in raw text: a web address or an e-mail address (a word of its own), a number
# with thousands separators (6,000, as UD Chinese GSD writes it), or a run of ASCII letters and digits
# with inner . ' _ (iPhone7, MacBook, 3.5, v1.2, don't); trailing punctuation stays outside, and so does
# a hyphen (GSD splits ranges, 1688 - 1697).
#
# An address may hold letters and digits that are not ASCII (an IRI: https://中文.tw, a@例子.台灣,
# https://zh.wikipedia.org/wiki/臺灣), but Chinese text written with ASCII punctuation, as UD Chinese
# GSD is, puts Chinese right after an address's . ? ; ! ( (www.abc.com.明天見), so a run of Chinese
# belongs to one only where it starts a part of it:
# - a host label after // @ = & (https://中文.tw, user@中文.tw, ?q=中文&x=...), or after a dot when a dot
#   and an ASCII label or a top-level domain, a slash or a port follow it (www.百度.com, 例子.台灣/路徑);
# - a top-level domain of _ZH_TLD after a dot, when no more Chinese follows it or a Chinese label comes
#   before it (a@例子.台灣, https://例子.中国很好 ends at 中国: other Chinese after a final dot is text);
# - in the path (after a / that follows the host): after / = & @ # _ ( (https://example.com/路徑,
#   /wiki/北京大學_(台灣), #歷史), never after . ? ; ! : (/index.html.然後 ends at html).
# Chinese right after an ASCII letter, digit or closing bracket is the text that follows
# (https://example.com很好), as is all after a mark that is not ASCII (，。、「 ...: :func:`_for_matching`
# makes full-width marks spaces) or a space.  An e-mail's user part is ASCII (寫信到張三@abc.com: a
# Chinese one would take the sentence before it), and starts where its run of user characters does
# (the look-behind): tried from every character of a long run (a.b.c...), it would cost the square of
# the run's length.  The runs of Chinese are taken whole ((?!...)), so no shorter run is tried.
_IRI = r"[^\W_\x00-\x7f]"  # a letter or digit that is not ASCII
_ZH_TLD = "中国|中國|香港|台灣|台湾|澳門|新加坡|公司|网络|網絡|网址|在线|中文网|集团|商城|政务|公益"
_RUN = rf"{_IRI}+(?!{_IRI})"
_ZH_LABEL = (rf"(?<=[/@=&]){_RUN}|(?<=\.){_RUN}(?=/|:\d|\.[A-Za-z0-9]|\.(?:{_ZH_TLD}))"
             rf"|(?<=\.)(?:{_ZH_TLD})(?!{_IRI})|(?<={_IRI}\.)(?:{_ZH_TLD})")
_ZH_PATH = rf"(?<=[/=&@#_(]){_RUN}"
_WEB = (rf"(?:https?://|www\.)(?:[A-Za-z0-9._~:?#@!$&*+;=%()\[\]-]|{_ZH_LABEL})*"  # the host, up to a /
        rf"(?:/(?:[A-Za-z0-9._~:/?#@!$&*+;=%()\[\]-]|{_ZH_PATH})*)?"  # the path
        rf"(?<=[A-Za-z0-9/#=_)\]-]|{_IRI})(?<!://)")  # ending in a letter, digit or one of / # = _ ) ] -
_DOMAIN_LABEL = rf"(?:[A-Za-z0-9-]|{_ZH_LABEL})+"
_ADDRESS = re.compile(rf"{_WEB}|(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})+")
_WHOLE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![0-9])|[A-Za-z0-9]+(?:[.'_][A-Za-z0-9]+)*", re.ASCII)
_LETTER = re.compile(r"[A-Za-z]", re.ASCII)
_MARKS = re.compile(r"[!-/:-@\[-`{-~]+")  # ASCII punctuation and symbols


def _address_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the web and e-mail addresses of ``text``; a closing parenthesis the address did
    not open is left outside ("(see https://example.com)")."""
    spans = []
    for m in _ADDRESS.finditer(text):
        end = m.end()
        while text[end - 1] == ")" and text.count(")", m.start(), end) > text.count("(", m.start(), end):
            end -= 1
        spans.append((m.start(), end))
    return spans


def _stretch_address_spans(folded: str, fixed: Collection[int]) -> list[tuple[int, int]]:
    """:func:`_address_spans` of each stretch of ``folded`` between the ``fixed`` boundaries: a space of
    the written text ends an address (``segment`` reads a line without its spaces)."""
    bounds = [0, *sorted(c for c in fixed if 0 < c < len(folded)), len(folded)]
    return [(s + a, s + b) for s, e in zip(bounds, bounds[1:]) for a, b in _address_spans(folded[s:e])]


def _for_matching(text: str, folded: str) -> str:
    """``folded`` with each mark that is not ASCII in ``text`` made a space, unless both its
    neighbours are full-width too: ``ＭａｃＢｏｏｋ１．５`` is one word, but ``iPhone。MacBook`` (。 is
    a sentence end, not a dot) and ``100，200，300`` (a list: a writer of ASCII digits writes ASCII
    thousands separators) are not, and ``https://example.com/路徑：`` ends before its full-width colon."""
    out = list(folded)
    for i, (o, f) in enumerate(zip(text, folded)):
        if o != f and f.isascii() and not f.isalnum():
            wide = 0 < i < len(text) - 1 and text[i - 1] != folded[i - 1] and text[i + 1] != folded[i + 1]
            if o in "\u3002\uff61" or not wide:  # the ideographic full stop never joins
                out[i] = " "
    return "".join(out)


def keep_whole(words: Sequence[str], fixed: Iterable[int] = (), known: Collection[str] | None = None) -> list[str]:
    """The words of one sentence with no boundary inside a web or e-mail address (which
    becomes a word of its own), a number with thousands separators, or a Latin word or number
    (matched on the width-folded text, so full-width ＭａｃＢｏｏｋ counts, but a full-width separator
    joins only full-width neighbours, see :func:`_for_matching`): a segmenter trained on Chinese
    splits ``MacBook`` or ``https://example.com`` wherever its characters suggest, and the ASCII marks
    right after an address are cut from Chinese after them (``www.abc.com|.|明天見``: a model that
    read them beside Latin letters joins them to the Chinese); and a boundary
    between a run with a Latin letter and a Han or kana character beside it (``MacBook|和``; an
    undertrained model joined them), unless the model's word there is one of ``known`` (the training
    words, as they are or width-folded: a corpus that writes ``T恤``, ``卡拉OK`` or ``Tシャツ`` as one word
    keeps them).  ``fixed``: boundaries (character offsets) that stay, such as the spaces of the written
    text (:func:`written_spaces`); an address ends at one.  The characters are unchanged."""
    if not words:
        return []
    text = "".join(words)
    fixed = {c for c in fixed if 0 < c < len(text)}
    folded = _for_matching(text, fold_width(text))
    cuts = set(accumulate(len(w) for w in words[:-1]))
    taken = [0] * (len(text) + 1)
    for a, b in _stretch_address_spans(folded, fixed):  # an address is a word of its own: boundaries at its ends
        cuts.difference_update(range(a + 1, b))
        cuts.update(c for c in (a, b) if 0 < c < len(text))
        taken[a:b] = [1] * (b - a)
        marks = _MARKS.match(folded, b)  # the ASCII marks that end it before Chinese: www.abc.com.|明天見
        if marks and marks.end() < len(text) and is_cjk(text[marks.end()]):
            cuts.add(marks.end())
    scripts = []  # where a Latin word meets Chinese or Japanese
    for m in _WHOLE.finditer(folded):
        if not any(taken[m.start():m.end()]):
            cuts.difference_update(range(m.start() + 1, m.end()))
            if _LETTER.search(m.group()):
                scripts += [c for c, i in ((m.start(), m.start() - 1), (m.end(), m.end())) if 0 < c < len(text)
                            and is_cjk(text[i])]
    bounds = sorted(cuts)
    for c in scripts:  # MacBook|和, unless the word there, as cut so far, is a training word (T恤, 卡拉OK)
        k = bisect.bisect_left(bounds, c)
        word = text[bounds[k - 1] if k else 0 : bounds[k] if k < len(bounds) else len(text)]
        if c not in cuts and (known is None or (word not in known and fold_width(word) not in known)):
            cuts.add(c)
            bounds.insert(k, c)
    cuts.update(fixed)
    bounds = [0, *sorted(cuts), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


# Chinese punctuation that is always a word of its own: the full-width ，；：？！（） and the
# ideographic 。、 with brackets and quotes.  Not the full-width ．(a decimal point in １．５), nor the
# middle dot · (inside transliterated names, 列夫·達維多維奇), nor ASCII marks (inside 3.5, 4:00, g(x)).
_ALONE = frozenset("\u3002\u3001\uff0c\uff1b\uff1a\uff1f\uff01\uff08\uff09「」『』《》〈〉【】〔〕“”…—")
_DIGITS = frozenset("0123456789")


def split_punctuation(words: Sequence[str]) -> list[str]:
    """``words`` with a boundary on both sides of each mark of ``_ALONE``, except between two of the
    same mark (…… stays one word) and a full-width colon between digits (10：30, a time).  The
    characters are unchanged."""
    if not words:
        return []
    text = "".join(words)
    folded = fold_width(text)
    cuts = set(accumulate(len(w) for w in words[:-1]))
    for i, ch in enumerate(text):
        if ch not in _ALONE or (ch == "\uff1a" and 0 < i < len(text) - 1 and folded[i - 1] in _DIGITS
                                and folded[i + 1] in _DIGITS):
            continue
        if i > 0 and text[i - 1] != ch:
            cuts.add(i)
        if i < len(text) - 1 and text[i + 1] != ch:
            cuts.add(i + 1)
    bounds = [0, *sorted(cuts), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


def written_spaces(words: Sequence[str]) -> set[int]:
    """Offsets between two words of a segmented sentence where written text has a space: between a
    Latin letter or digit and another (width-folded), as in "Secondary School" or "iPhone 7"."""
    out, offset = set(), 0
    for left, right in zip(words, words[1:]):
        offset += len(left)
        if left and right and fold_width(left[-1]).isascii() and fold_width(left[-1]).isalnum() \
                and fold_width(right[0]).isascii() and fold_width(right[0]).isalnum():
            out.add(offset)
    return out


def fix_words(words: Sequence[str], fixed: Iterable[int] = (), known: Collection[str] | None = None) -> list[str]:
    """A segmenter's words after the rules of this module, in their order; ``fixed`` boundaries stay, and
    a word of ``known`` (the training words) that joins a Latin word to Chinese is kept whole."""
    return keep_whole(split_punctuation(join_clusters(words)), fixed, known)


_NOT_HAN = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff]+")  # what the rules may join: outside an address, a Han character joins nothing


def inner_offsets(text: str, fixed: Iterable[int] = ()) -> set[int]:
    """The offsets 0 < i < len(text) where :func:`fix_words` never leaves a boundary, whatever the model
    cut, with the boundaries ``fixed`` (a line's spaces, as ``segment`` gives them): inside a character
    on screen, a web or e-mail address, or a Latin word or number.  The rules only
    ever remove a boundary there and add one elsewhere, so these are the boundaries they remove from
    ``text`` cut between every two characters.  A user dictionary's word may not begin or end at one
    (``Book`` is not matched inside ``MacBook``).

    Only around characters that are not Han can a rule join anything (a combining mark joins the Han
    character before it, a joiner the one after it), so each run of them, with the character on either
    side, is looked at alone: Chinese text costs next to nothing.  Addresses, which may hold Han
    characters (https://中文.tw/路徑), are found in the whole text."""
    fixed = {c for c in fixed if 0 < c < len(text)}
    folded = _for_matching(text, fold_width(text))
    inner = {i for a, b in _stretch_address_spans(folded, fixed) for i in range(a + 1, b)}
    for m in _NOT_HAN.finditer(text):
        a, b = max(0, m.start() - 1), min(len(text), m.end() + 1)
        cuts = set(accumulate(len(w) for w in fix_words(list(text[a:b]), [c - a for c in fixed if a < c < b])[:-1]))
        inner.update(a + i for i in range(1, b - a) if i not in cuts)
    return inner
