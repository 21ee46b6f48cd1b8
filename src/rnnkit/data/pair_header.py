"""A header line in a file of sentence pairs (``source<TAB>target``): told apart from a pair by its fields, each
a column's name, as the classifier's reader tells a ``label<TAB>text`` header (:mod:`rnnkit.data.classification`).
Read as a pair, a header would be trained on as a sentence and translated and scored as one.

A short real pair can be made of such names too (``English<TAB>Englisch``, ``Text<TAB>Text``, ``It<TAB>Es``), so
the reader refuses a first line only when no pair reads so: the two fields name two *different* languages
(``DE<TAB>EN``, ``de<TAB>fr``, ``zh-CN<TAB>英文``; ``Deutsch<TAB>German`` name one, and are a translation) or the two roles
(``source<TAB>target``, ``src<TAB>tgt``, ``原文<TAB>译文``).  Other lines of names only (``input<TAB>output``,
``sentence<TAB>translation``) are a guess: said in a warning, and trained on.  A language's code counts only as a
code is written (``de``, ``EN``, ``zh-CN``): ``It<TAB>Es`` is a sentence.  Two lower-case codes alone that are also
common words (:data:`_WORDS`: ``es<TAB>it``, German "es" and English "it"; ``id<TAB>de``) are a guess too, as a
real lower-cased pair may be them; in capitals (``ES<TAB>IT``), or with a code that is no word (``de<TAB>fr``), they
are a header.  A header with another word in it
(``id<TAB>de sentence``) is not recognised: every word of both fields must be a name."""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence

from rnnkit.errors import DataError

# a language's names, in English, in itself and in the languages rnnkit's users write (German, French, Chinese),
# mapped to its ISO 639-1 code: names of one language are translations of each other, so never a header
_NAMES = {
    "en": "english englisch anglais inglés 英文 英语 英語 영어",
    "zh": "chinese mandarin chinesisch chinois chino 中文 汉语 漢語 华语 華語 中国語 중국어",
    "de": "german deutsch allemand alemán 德语 德文 德語 ドイツ語 독일어",
    "fr": "french français francais französisch francés 法语 法文 法語 フランス語",
    "es": "spanish español espanol spanisch espagnol 西班牙语",
    "ja": "japanese japanisch japonais japonés 日语 日文 日語 日本語 일본어",
    "ko": "korean koreanisch coréen 韩语 韓語 한국어",
    "ru": "russian russisch russe русский 俄语",
    "it": "italian italienisch italien italiano 意大利语",
    "pt": "portuguese portugiesisch português portugais 葡萄牙语",
    "ar": "arabic arabisch arabe العربية 阿拉伯语",
    "nl": "dutch niederländisch néerlandais nederlands 荷兰语",
    "cs": "czech tschechisch tchèque čeština",
    "tr": "turkish türkisch turc türkçe 土耳其语",
    "vi": "vietnamese vietnamesisch vietnamien 越南语",
}
_LANGUAGE = {name: code for code, names in _NAMES.items() for name in names.split()}
_CODES = {code: code for code in (*_NAMES, "th", "pl", "sv", "fi", "da", "hu", "ro", "el", "he", "hi", "id", "uk",
                                  "fa")}
_CODES.update({"cmn": "zh", "eng": "en", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "jpn": "ja",
               "kor": "ko", "spa": "es", "rus": "ru"})
# the two roles, each by its names: source<TAB>target in any of them is a header
_ROLE = {**dict.fromkeys(("source", "src", "原文", "源", "源文", "源语言", "源語言"), "source"),
         **dict.fromkeys(("target", "tgt", "译文", "譯文", "目标", "目標", "目标语言", "目標語言", "参考译文"), "target")}
# names a column may have that a short pair may also be (input<TAB>output): a guess, not a refusal; by meaning,
# as a field and its translation (text<TAB>文本) mean the same
_OTHER = {**dict.fromkeys(("text", "文本"), "text"), **dict.fromkeys(("sentence", "sentences", "句子"), "sentence"),
          **dict.fromkeys(("translation", "translations", "翻译", "翻譯"), "translation"),
          **dict.fromkeys(("lang", "language", "语言", "語言"), "language"),
          "input": "input", "output": "output", "reference": "reference", "ref": "reference", "id": "id"}
# codes that are also common words, lower-cased: es (German, Spanish), it (English), de (German "there" as da,
# French and Spanish "of"), en (French), ja (German, Dutch), da, id, el (Spanish), he, hi, vi (Scandinavian "we")
_WORDS = {"es", "it", "de", "da", "id", "en", "ja", "el", "he", "hi", "vi"}
_REGIONS = {"cn", "tw", "hk", "sg", "us", "gb", "br", "hans", "hant"}  # after a code: zh-CN, en_US, zh-Hant


def _meanings(field: str) -> set[tuple[str, str]] | None:
    """What a field's words name, as (kind, meaning): ("language", "de"), ("role", "source"), ("other", "text");
    None if a word of it is not a column's name.  A code counts written as codes are (lower case or capitals:
    de, EN), not as a word starting a sentence (It, Es)."""
    meanings = set()
    words = [w for w in re.split(r"[\s_\-()\[\]:/]+", field.strip()) if w]
    for k, word in enumerate(words):
        lower = word.lower()
        if (word.islower() or word.isupper()) and lower in _CODES:
            meanings.add(("language", _CODES[lower]))
        elif lower in _LANGUAGE:
            meanings.add(("language", _LANGUAGE[lower]))
        elif lower in _ROLE:
            meanings.add(("role", _ROLE[lower]))
        elif lower in _OTHER:
            meanings.add(("other", _OTHER[lower]))
        elif not (k and lower in _REGIONS):
            return None
    return meanings or None


def header_kind(fields: Sequence[str]) -> str | None:
    """``"header"`` if the two fields name two different languages or the source and the target role (no pair
    reads so), ``"guess"`` if they are other column names of different meaning (``input<TAB>output``) or two
    lower-case codes that are both common words (``es<TAB>it``: :data:`_WORDS`), None if a field is not a name
    or both mean the same (``Text<TAB>Text``, ``Deutsch<TAB>German``: a translation)."""
    if len(fields) != 2:
        return None
    a, b = (_meanings(f) for f in fields)
    if a is None or b is None or a == b:
        return None
    if all(f.strip() in _WORDS for f in fields):  # es<TAB>it: German "es" is English "it"
        return "guess"
    for kind, pair in (("role", {"source", "target"}), ("language", None)):
        sides = [{m for k, m in field if k == kind} for field in (a, b)]
        if all(len(side) == 1 for side in sides) and sides[0] != sides[1] and (pair is None or
                                                                              sides[0] | sides[1] == pair):
            return "header"
    languages = [{m for k, m in field if k == "language"} for field in (a, b)]
    if all(languages) and languages[0] & languages[1]:  # English<TAB>English text: one language, a translation
        return None
    return "guess"


def _shown(fields: Sequence[str]) -> str:
    return "<TAB>".join(repr(f.strip()[:20]) for f in fields)


def refuse_header(path: str | os.PathLike, fields: Sequence[str]) -> None:
    """DataError for a first line ``fields`` (the pair's two) that is a header, read as a pair; a warning for one
    that may be (``input<TAB>output``)."""
    kind = header_kind(fields)
    if kind == "header":
        raise DataError(f"{path}:1: the first line ({_shown(fields)}) looks like a header, and read as a sentence "
                        "pair it would be trained on or scored as one: give header=True (--header, which skips the "
                        "first line of every TSV file given) to skip it, or remove the line")
    if kind == "guess":
        warnings.warn(f"{path}:1: the first line ({_shown(fields)}) may be a header, read as a sentence pair: if "
                      "it is, give header=True (--header) to skip it", stacklevel=3)


def warn_not_header(path: str | os.PathLike, fields: Sequence[str]) -> None:
    """A warning when header=True skips a first line that reads as a pair, or that is only a guess at a header
    (``input<TAB>output``, ``es<TAB>it``): a file without a header loses its first pair.  Not refused, as the
    classifier refuses a label it knows: a pair's words prove nothing."""
    kind = header_kind(fields)
    if kind != "header":
        what = "it reads as a sentence pair" if kind is None else "it may as well be a sentence pair"
        warnings.warn(f"{path}:1: header=True (--header) skips the first line as a header, but {what} "
                      f"({_shown(fields)}), which is dropped; leave out --header if the file has no header line",
                      stacklevel=3)
