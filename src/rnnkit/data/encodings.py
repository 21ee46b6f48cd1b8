"""What a file that is not UTF-8 probably is, for the error that says so.

rnnkit reads UTF-8.  When a file does not decode, the error should name the encoding to pass or convert
from, and a wrong single guess is worse than none: text read with the wrong codec decodes without any
error into mojibake (GBK read as cp1252 gives ``ÎÒÃÇ``).  So :func:`guess_encodings` returns the
codecs that fit, most likely first, and the message names all of them:

- a UTF-16 byte-order mark, or NUL bytes in every other position: UTF-16;
- valid UTF-8 multi-byte sequences beside the bad bytes: a UTF-8 file with damaged or mixed-in bytes;
- bytes >= 0x80 that mostly come in pairs: a double-byte East Asian encoding.  Every candidate that
  decodes the bytes is kept, ranked by the share of its characters that are common in its language
  (GB 2312's characters for gb18030, Big5's frequent block for big5, kana and level-1 kanji for
  shift_jis, Hangul syllables for euc_kr): GBK text read as Big5, or Big5 read as GBK, decodes into rare
  characters;
- otherwise, isolated bytes >= 0x80 in ASCII text: a Western single-byte encoding, cp1252 (a superset
  of ISO-8859-1's printable characters), or latin-1 when cp1252 leaves a byte undefined.
"""
from __future__ import annotations

import codecs

_SAMPLE = 1 << 18  # bytes looked at: enough to tell, quick on any file


def _decodes(data: bytes, codec: str) -> str | None:
    """``data`` decoded as codec, allowing a character cut at the end of the sample; None if it fails."""
    try:
        return codecs.getincrementaldecoder(codec)().decode(data, final=False)
    except UnicodeDecodeError:
        return None


def _common_gb(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def _common_big5(ch: str) -> bool:
    try:
        lead = ch.encode("big5")[0]
    except UnicodeEncodeError:
        return False
    return 0xA1 <= lead <= 0xC6  # punctuation and the frequent characters


def _common_japanese(ch: str) -> bool:
    try:
        lead = ch.encode("shift_jis")[0]
    except UnicodeEncodeError:
        return False
    return 0x81 <= lead <= 0x9F  # punctuation, kana and the level-1 kanji (not half-width kana)


def _common_korean(ch: str) -> bool:
    return 0xAC00 <= ord(ch) <= 0xD7A3 or 0x3000 <= ord(ch) <= 0x303F


_EAST_ASIAN = (("gb18030", _common_gb), ("big5", _common_big5), ("shift_jis", _common_japanese),
               ("euc_kr", _common_korean))
NAMES = {"utf-16": "UTF-16", "utf-16-le": "UTF-16 little-endian", "utf-16-be": "UTF-16 big-endian",
         "gb18030": "simplified Chinese (GBK/GB18030)", "big5": "traditional Chinese (Big5)",
         "shift_jis": "Japanese (Shift JIS)", "euc_kr": "Korean (EUC-KR)",
         "cp1252": "Windows Western European (cp1252)", "latin-1": "ISO-8859-1"}


def guess_encodings(data: bytes) -> tuple[list[str], str]:
    """``(codecs, what)``: the codecs that plausibly decode ``data`` (a file that is not UTF-8), most
    likely first, and a short description of the evidence.  Never empty: latin-1 decodes anything."""
    sample = data[:_SAMPLE]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ["utf-16"], "it starts with a UTF-16 byte-order mark"
    if len(sample) >= 4:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if max(even, odd) > len(sample) // 4:
            codec = "utf-16-be" if even > odd else "utf-16-le"
            return [codec], "every other byte is 0, as in UTF-16"
    damaged = sample.decode("utf-8", errors="replace")
    valid = sum(1 for c in damaged if ord(c) > 127 and c != "\ufffd")
    if valid > 2 * damaged.count("\ufffd"):  # (other encodings' bytes form a valid sequence only now and then)
        return ["utf-8"], ("it is mostly valid UTF-8 (multi-byte characters decode) with some bytes that "
                           "are not: damaged, or pieces in another encoding mixed in")
    high = [i for i, b in enumerate(sample) if b >= 0x80]
    n = len(sample)
    paired = sum(1 for i in high if (i > 0 and sample[i - 1] >= 0x80) or (i + 1 < n and sample[i + 1] >= 0x80))
    alone = "bytes >= 0x80 stand alone, as accented letters do in Western single-byte encodings"
    if high and paired >= 0.6 * len(high):
        alone = "bytes >= 0x80 come in pairs, but no East Asian double-byte encoding fits them"
        scored = []
        for codec, common in _EAST_ASIAN:
            text = _decodes(sample, codec)
            if text is None:
                continue
            wide = [c for c in text if ord(c) > 127]
            scored.append((sum(map(common, wide)) / max(1, len(wide)), codec))
        # ties (Korean decodes as GB 2312 characters too): the fixed order below breaks them
        order = {"euc_kr": 0, "shift_jis": 1, "big5": 2, "gb18030": 3}
        ranked = [c for s, c in sorted(scored, key=lambda sc: (-round(sc[0], 2), order[sc[1]])) if s >= 0.5]
        if ranked:
            return ranked, "bytes >= 0x80 come in pairs, as in East Asian double-byte encodings"
    return (["cp1252"] if _decodes(sample, "cp1252") is not None else ["latin-1"]), alone


def not_utf8_advice(data: bytes, name: str, option: bool) -> str:
    """The part of a "not valid UTF-8" error that says what the file probably is and what to do.

    ``option``: the command reads an ``--encoding`` option (else only converting the file helps)."""
    found, why = guess_encodings(data)
    if found == ["utf-8"]:
        return f"{why}; find and fix the line named, or re-save the file as UTF-8"
    first = found[0]
    what = " or ".join(f"{NAMES.get(c, c)}" for c in found)
    others = f" (if the text then looks wrong, try {', '.join(found[1:])})" if len(found) > 1 else ""
    convert = f"iconv -f {first} -t utf-8 {name} > {name}.utf8"
    if option:
        return f"it looks like {what} ({why}): pass --encoding {first}{others}, or convert it: {convert}"
    return f"it looks like {what} ({why}): convert it{others}: {convert}"


def decode_advice(data: bytes, encoding: str, name: str, option: bool = True) -> str:
    """What to tell about ``data`` that did not decode as ``encoding``: for UTF-8, what the file
    probably is (:func:`not_utf8_advice`); for another encoding asked for, the likelier ones."""
    asked = encoding.lower().replace("_", "-")
    if asked in ("utf-8", "utf8"):
        return not_utf8_advice(data, name, option)
    found = [c for c in guess_encodings(data)[0] if c.replace("_", "-") != asked]
    return "pass the file's real --encoding" + (f" (it may be {', '.join(found)})" if found else "")
