"""Which characters are common in the language of each legacy encoding: the tests that tell whether bytes
read with a codec give text such a file holds, or the rare characters a wrong codec gives.

:func:`rnnkit.data.encodings.guess_encodings` ranks the East Asian codecs that decode a file by them
(``_EAST_ASIAN``) and tells cp1251 from KOI8-R; :mod:`rnnkit.data.encoding_mistakes` leaves alone a
double-byte file whose bytes happen to be valid UTF-8 too when they read as its language.
"""
from __future__ import annotations

import re

from rnnkit.data.scripts import (CJK_PUNCTUATION, CJK_UNIFIED, FULLWIDTH_FORMS, HANGUL_SYLLABLES, HIRAGANA_KATAKANA,
                                  in_ranges, is_kana)

# Unicode blocks that frequent East Asian text is made of, beside the characters of each encoding:
# Korean (EUC-KR, cp949) Hangul syllables and CJK punctuation (_common_korean); Chinese and Japanese CJK
# punctuation, kana and full-width forms (WIDE_PUNCTUATION_AND_KANA), with the ideographs in UTF-16
# (_plain_or_cjk); a double-byte file of any of the three, Hangul and those (EAST_ASIAN_BLOCKS,
# rnnkit.data.encoding_mistakes._plausible_east_asian)
KOREAN_BLOCKS = (HANGUL_SYLLABLES, CJK_PUNCTUATION)
WIDE_PUNCTUATION_AND_KANA = (CJK_PUNCTUATION, HIRAGANA_KATAKANA, FULLWIDTH_FORMS)
EAST_ASIAN_BLOCKS = (HANGUL_SYLLABLES, *WIDE_PUNCTUATION_AND_KANA)


def _common_gb(ch: str) -> bool:
    """In GB 2312 (simplified Chinese), or a frequent traditional character (GBK writes those too)."""
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return in_ranges(ch, (CJK_UNIFIED,)) and _common_big5(ch)


def _common_big5(ch: str) -> bool:
    try:
        lead = ch.encode("cp950")[0]
    except UnicodeEncodeError:
        return False
    return 0xA1 <= lead <= 0xC6  # punctuation and the frequent characters


def _common_japanese(ch: str) -> bool:
    try:
        lead = ch.encode("cp932")[0]
    except UnicodeEncodeError:
        return False
    return 0x81 <= lead <= 0x9F  # punctuation, kana and the level-1 kanji (not half-width kana)


def _plain_or_cjk(ch: str) -> bool:
    """Printable ASCII, whitespace, CJK ideographs, kana, CJK punctuation or full-width forms: what
    UTF-16 text is made of (GBK or Big5 bytes read as UTF-16 land mostly on Hangul and private use)."""
    return 32 <= ord(ch) < 127 or ch in "\t\n\r" or in_ranges(ch, (CJK_UNIFIED, *WIDE_PUNCTUATION_AND_KANA))


def _common_japanese_euc(ch: str) -> bool:
    try:
        lead = ch.encode("euc_jp")[0]
    except UnicodeEncodeError:
        return False
    return 0xA1 <= lead <= 0xA5 or 0xB0 <= lead <= 0xCF  # punctuation, kana, the level-1 kanji


def _kana_share(text: str) -> float:
    wide = [c for c in text if ord(c) > 127]
    return sum(map(is_kana, wide)) / max(1, len(wide))


def _cyrillic(text: str) -> tuple[float, float]:
    """(share of the non-ASCII characters that are Cyrillic letters, share of those in upper case)."""
    wide = [c for c in text if ord(c) > 127]
    letters = [c for c in wide if 0x0400 <= ord(c) <= 0x04FF and c.isalpha()]
    return len(letters) / max(1, len(wide)), sum(c.isupper() for c in letters) / max(1, len(letters))


_RUSSIAN = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
_VOWELS = set("аеёиоуыэюя")


def _reads_as_russian(text: str) -> bool:
    """Whether the non-ASCII words of ``text`` look like Russian: Russian letters only, each word in
    lower case after its first letter (or all capitals), and a fair share of vowels.  Short Chinese
    GBK text read as cp1251 passes a plain "Cyrillic letters" test ('我们今天' -> 'ОТГЗЅсМм'), not this."""
    words = [w for w in re.findall(r"[^\W\d_]+", text) if any(ord(c) > 127 for c in w)]
    if not words:
        return False
    letters = "".join(words).lower()
    if any(c not in _RUSSIAN for c in letters):
        return False
    cased = sum(1 for w in words if w[1:].islower() or w.isupper() or len(w) == 1)
    vowels = sum(c in _VOWELS for c in letters) / len(letters)
    return cased >= 0.8 * len(words) and vowels >= 0.25


def _common_korean(ch: str) -> bool:
    return in_ranges(ch, KOREAN_BLOCKS)


# the Windows code pages: supersets of Big5, Shift JIS and EUC-KR (as gb18030 is of GBK), so a file
# with one vendor character (碁, ①, 똠) still decodes
_EAST_ASIAN = (("gb18030", _common_gb), ("cp950", _common_big5), ("cp932", _common_japanese),
               ("euc_jp", _common_japanese_euc), ("cp949", _common_korean))
