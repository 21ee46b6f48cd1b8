"""A header line in a file of sentence pairs (``source<TAB>target``): told apart from a pair by its fields, each
a column's name (``source``, ``tgt``, ``en``, ``zh-cn``, ``English``, ``中文``), as the classifier's reader tells a
``label<TAB>text`` header (:mod:`rnnkit.data.classification`).  Read as a pair, a header would be trained on
as a sentence and translated and scored as one, silently; the reader refuses it unless told to skip it
(``header=True``, the commands' ``--header``).  A header with another word in it (``id<TAB>de sentence``) is
not recognised: the rule keeps real pairs, such as ``de<TAB>of``, out of its reach by asking every word of both
fields to be a name."""
from __future__ import annotations

import os
import re
from collections.abc import Sequence

from rnnkit.errors import DataError

# roles a column is named by, languages by ISO 639-1 code or name, and regions (zh-cn, en_US)
_ROLES = {"source", "target", "src", "tgt", "input", "output", "text", "sentence", "sentences", "translation",
          "reference", "ref", "lang", "language", "原文", "译文", "譯文", "源", "目标", "目標", "源语言", "目标语言",
          "句子", "翻译", "翻譯", "参考译文"}
_CODES = {"en", "zh", "de", "fr", "es", "ja", "ko", "ru", "it", "pt", "ar", "nl", "cs", "tr", "vi", "th", "pl", "sv",
          "fi", "da", "hu", "ro", "el", "he", "hi", "id", "uk", "fa", "cmn", "eng", "deu", "fra", "jpn", "kor"}
_NAMES = {"english", "chinese", "mandarin", "german", "french", "spanish", "japanese", "korean", "russian", "italian",
          "portuguese", "arabic", "dutch", "czech", "turkish", "vietnamese", "deutsch", "englisch", "français",
          "中文", "英文", "汉语", "漢語", "英语", "英語", "德语", "法语", "日语", "日語", "日本語", "韩语", "한국어"}
_REGIONS = {"cn", "tw", "hk", "sg", "us", "gb", "br", "hans", "hant"}
_WORDS = _ROLES | _CODES | _NAMES | _REGIONS


def looks_like_header(fields: Sequence[str]) -> bool:
    """Whether every field is a column's name: each of its words (split at spaces, ``_`` and ``-``) one of a role
    (source, tgt, 原文), a language's code or name (en, zh-cn, English, 中文)."""
    for field in fields:
        words = [w for w in re.split(r"[\s_\-]+", field.strip().lower()) if w]
        if not words or not all(w in _WORDS for w in words):
            return False
    return True


def refuse_header(path: str | os.PathLike, fields: Sequence[str]) -> None:
    """DataError for a first line ``fields`` (the pair's two) that looks like a header, read as a pair."""
    if looks_like_header(fields):
        shown = "<TAB>".join(repr(f.strip()[:20]) for f in fields)
        raise DataError(f"{path}:1: the first line ({shown}) looks like a header, and read as a sentence pair it "
                        "would be trained on or scored as one: give header=True (--header, which skips the first "
                        "line of every TSV file given) to skip it, or remove the line")
