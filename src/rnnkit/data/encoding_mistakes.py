"""An --encoding that reads a file without any decode error, into the wrong text.

:func:`rnnkit.data.encodings.decode_bytes` refuses bytes that do not decode.  These two mistakes decode
without complaint, into text that trains a model on garbage, so they are told from the bytes, before
decoding and at a bounded cost (a few milliseconds on a 50 MB file):

- UTF-8 read as a legacy encoding: cp1252, latin-1 and the other single-byte ones decode every byte
  ('café' becomes 'cafÃ©', Chinese 'æˆ‘ä»¬'), GBK and its like most.  Legacy text whose bytes >= 0x80
  all form valid UTF-8 sequences is next to impossible (cp1252's 'é' is the byte 0xE9, and a UTF-8
  sequence starting 0xE9 needs two bytes 0x80-0xBF after it, not a letter), so valid UTF-8 in the
  256 KiB from the first byte >= 0x80 is refused.  A pure ASCII file reads the same either way and passes.
- UTF-16 or UTF-32 with no byte-order mark and no NUL byte at all: every ASCII character (a letter, a
  space, a line end) has a NUL byte in them, so ASCII text of even length reads as CJK characters
  ('Th' as '桔').  Refused, unless the bytes read as UTF-16 give CJK text (a line of Chinese without
  a space or line end has no NUL byte either).

Refused rather than warned about: a warning scrolls past in a training log while the vocabulary, the
model and every output are built on mojibake, and the rare legacy file that is valid UTF-8 (written as
mojibake pairs such as 'Ã©' only) still reads once converted: ``iconv -f CP1252 -t UTF-8``.
"""
from __future__ import annotations

import codecs
import functools
import re

from rnnkit.data.encodings import _decodes, convert_this_one, not_utf8_advice
from rnnkit.data.input_gap import NO_GAP, Gap, place
from rnnkit.data.legacy_chars import EAST_ASIAN_BLOCKS, _common_gb, _common_japanese_euc, _plain_or_cjk
from rnnkit.data.scripts import in_ranges

_WINDOW = 1 << 18  # bytes looked at from the first byte >= 0x80: enough to tell, quick on any file
_CHUNK = 1 << 16  # bytes tested at a time for the first byte >= 0x80 (bytes.isascii is fast, a regex is not)
_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # (UTF-32's start with these too)
# multi-byte characters a double-byte encoding (GBK, Big5, Shift JIS) must see before refusing: a
# character or two of them can form a valid UTF-8 sequence by chance, four in a row do not
_DOUBLE_BYTE_EVIDENCE = 4


@functools.lru_cache(maxsize=None)
def _ascii_compatible(codec: str) -> tuple[bool, bool]:
    """(reads ASCII bytes as ASCII, reads every byte as one character) for a codec that is not UTF."""
    ascii_bytes = bytes(range(128))
    try:
        compatible = _decodes(ascii_bytes, codec) == ascii_bytes.decode("ascii")
        return compatible, len(bytes(range(256)).decode(codec, errors="replace")) == 256
    except (UnicodeError, ValueError):  # idna and its like: not a text file's encoding, nothing to tell
        return False, False


def _first_high(data: bytes) -> int:
    """The offset of the first byte >= 0x80 of ``data``, which is not ASCII."""
    for at in range(0, len(data), _CHUNK):
        chunk = data[at:at + _CHUNK]
        if not chunk.isascii():
            return at + re.search(rb"[\x80-\xff]", chunk).start()
    raise ValueError("Expected data with a byte >= 0x80, got ASCII")


def _utf8_read_as_legacy(data: bytes, encoding: str, codec: str, name: str, gap: Gap = NO_GAP) -> str | None:
    compatible, single = _ascii_compatible(codec)
    if not compatible or data.isascii():
        return None
    start = _first_high(data)
    window = data[start:start + _WINDOW]
    text = _decodes(window, "utf-8")  # (a character cut at the window's end is allowed)
    if text is None or (not single and len(text) - len(text.encode("ascii", "ignore")) < _DOUBLE_BYTE_EVIDENCE):
        return None
    if not single and _plausible_east_asian(window.decode(codec, errors="replace")):
        return None  # GBK's 同学 (CDAC D1A7) is also UTF-8 ('ͬѧ'): text that reads as Chinese in it is Chinese
    line = place(data, start, gap)[0]
    left = start  # the word the first non-ASCII character is in, for the example: 'café read as cafÃ©'
    while left > 0 and start - left < 20 and data[left - 1] not in b" \t\r\n":
        left -= 1
    run = re.match(r"\S{1,8}", text)
    word = data[left:start].decode("ascii") + (run[0] if run else text[0])
    seen = word.encode("utf-8").decode(codec, errors="replace")
    told = (f"{name}:{line}: read as {encoding}, but its bytes are valid UTF-8 with non-ASCII text ({word!r} read "
            f"as {seen!r}): give encoding='utf-8' (--encoding utf-8, the default)")
    try:
        text.encode(codec)
    except UnicodeEncodeError:  # (Chinese in latin-1): no converting it to the others' encoding
        return told
    return f"{told}, or, {convert_this_one('utf-8', encoding, name if name != '<stdin>' else 'FILE')}"


def _plausible_east_asian(text: str) -> bool:
    """Whether ``text``, bytes read with a double-byte encoding, reads as the text such a file holds: its
    non-ASCII characters at least 90% frequent Chinese (GB 2312, Big5's frequent block), Japanese (kana, the
    level-1 kanji), Hangul syllables, CJK punctuation or full-width forms.  Many frequent GBK characters
    (一为之说也时要去学) are byte pairs that are valid UTF-8 too, so valid UTF-8 alone does not tell a GBK
    file from a UTF-8 one; UTF-8 Chinese read as GBK gives the rare characters of GBK's extension (我们 as
    鎴戜滑) and fails this."""
    wide = [ch for ch in text if ord(ch) >= 0x80]
    if not wide:
        return False

    def plausible(ch: str) -> bool:
        return in_ranges(ch, EAST_ASIAN_BLOCKS) or _common_gb(ch) or _common_japanese_euc(ch)

    return sum(map(plausible, wide)) >= 0.9 * len(wide)


def _ascii_read_as_wide(data: bytes, encoding: str, codec: str, name: str) -> str | None:
    if not data or data.startswith(_BOMS) or b"\x00" in data:
        return None
    sample = data[:_WINDOW]
    width = "UTF-16" if codec.startswith("utf-16") else "UTF-32"
    codec = {"utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(codec, codec)  # as they read without a BOM
    why = (f"read as {encoding}, but it has no NUL byte, which {width} text of any ASCII character (a letter, a "
           "space, a line end) has")
    if _decodes(sample, "utf-8") is not None:
        shown = _decodes(sample[:4], codec) if width == "UTF-16" else None
        example = f" ({sample[:2].decode('ascii')!r} read as {shown[0]!r})" if shown and sample[:2].isascii() else ""
        what = "ASCII" if data.isascii() else "UTF-8"
        return f"{name}: {why}: it is {what} text{example}; give encoding='utf-8' (--encoding utf-8, the default)"
    if width == "UTF-16":
        wide = _decodes(sample[: len(sample) // 2 * 2], codec)
        if wide and sum(map(_plain_or_cjk, wide)) >= 0.95 * len(wide):
            return None  # CJK text without a space or line end
    return f"{name}: {why}; {not_utf8_advice(data, name if name != '<stdin>' else 'FILE', option=True)}"


def encoding_mistake(data: bytes, encoding: str, name: str, gap: Gap = NO_GAP) -> str | None:
    """The one-line error for ``data`` (the file ``name``) that ``encoding`` would decode into the wrong
    text (see the module docstring), or None when it reads right or cannot be told.  ``encoding`` is a
    codec Python knows (:func:`rnnkit.data.encodings.check_encoding`); ``gap``: the lines before ``data``'s
    last one that it leaves out (:class:`rnnkit.data.input_gap.Gap`), which the line named counts."""
    codec = codecs.lookup(encoding).name
    if codec.startswith(("utf-16", "utf-32")):
        return _ascii_read_as_wide(data, encoding, codec, name)
    if codec.startswith("utf-"):  # utf-8, utf-8-sig, utf-7
        return None
    return _utf8_read_as_legacy(data, encoding, codec, name, gap)
