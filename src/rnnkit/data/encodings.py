"""What a file that is not UTF-8 probably is, for the error that says so.

rnnkit reads UTF-8.  When a file does not decode, the error should name the encoding to pass or convert
from, and a wrong single guess is worse than none: text read with the wrong codec decodes without any
error into mojibake (GBK read as cp1252 gives ``ÎÒÃÇ``).  So :func:`guess_encodings` returns the
codecs that fit, most likely first, and the message names all of them:

- a UTF-16 byte-order mark, or NUL bytes in every other position: UTF-16;
- valid UTF-8 multi-byte sequences beside the bad bytes: a UTF-8 file with damaged or mixed-in bytes;
- bytes >= 0x80 that mostly come in pairs: a double-byte East Asian encoding.  Every candidate that
  decodes the bytes is kept, ranked by the share of its characters that are common in its language
  (GB 2312's characters or frequent traditional ones for gb18030, Big5's frequent block for cp950,
  kana and level-1 kanji for cp932 and euc_jp (which must read a tenth or more as kana), Hangul
  syllables for cp949): GBK text read as Big5, or Big5 read as GBK, decodes into rare
  characters;
- bytes >= 0x80 in pairs that read as words of Cyrillic letters in cp1251: cp1251, or KOI8-R first
  when those letters come out mostly in upper case (KOI8-R's lower case sits where cp1251's upper is);
- otherwise, isolated bytes >= 0x80 in ASCII text: a Western single-byte encoding, cp1252 (a superset
  of ISO-8859-1's printable characters), or latin-1 when cp1252 leaves a byte undefined.
"""
from __future__ import annotations

import codecs
import re

from rnnkit.data.common_chars import frequent_share
from rnnkit.data.input_gap import NO_GAP, Gap, place
from rnnkit.data.legacy_chars import _EAST_ASIAN, _cyrillic, _kana_share, _plain_or_cjk, _reads_as_russian
from rnnkit.data.scripts import is_han

_SAMPLE = 1 << 18  # bytes looked at: enough to tell, quick on any file


def _decodes(data: bytes, codec: str) -> str | None:
    """``data`` decoded as codec, allowing a character cut at the end of the sample; None if it fails."""
    try:
        return codecs.getincrementaldecoder(codec)().decode(data, final=False)
    except UnicodeDecodeError:
        return None


NAMES = {"utf-16": "UTF-16", "utf-16-le": "UTF-16 little-endian", "utf-16-be": "UTF-16 big-endian",
         "gb18030": "Chinese (GBK/GB18030)", "cp950": "traditional Chinese (Big5/cp950)",
         "cp932": "Japanese (Shift JIS/cp932)", "euc_jp": "Japanese (EUC-JP)", "cp949": "Korean (EUC-KR/cp949)",
         "cp1251": "Windows Cyrillic (cp1251)", "koi8_r": "Russian (KOI8-R)",
         "cp1252": "Windows Western European (cp1252)", "latin-1": "ISO-8859-1", "utf-32": "UTF-32",
         "utf-32-le": "UTF-32 little-endian", "utf-32-be": "UTF-32 big-endian"}
# what GNU iconv calls them (it refuses euc_kr, utf-16-le, latin-1)
ICONV = {"utf-8": "UTF-8", "utf-16": "UTF-16", "utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE", "gb18030": "GB18030",
         "cp950": "CP950", "cp932": "CP932", "euc_jp": "EUC-JP", "cp949": "CP949", "cp1251": "CP1251",
         "koi8_r": "KOI8-R", "cp1252": "CP1252", "latin-1": "LATIN1", "utf-32": "UTF-32", "utf-32-le": "UTF-32LE",
         "utf-32-be": "UTF-32BE"}


def describe(codec: str, data: bytes) -> str:
    """What an error calls ``codec`` (:data:`NAMES`) for ``data``: for GBK/GB18030, which writes both scripts,
    "simplified" or "traditional" as its Han characters tell (a tenth or more outside GB 2312, the simplified
    set: traditional; next to none: simplified), else no script."""
    name = NAMES.get(codec, codec)
    if codec != "gb18030":
        return name
    han = [c for c in (_decodes(data[:_SAMPLE], codec) or "") if is_han(c)]
    outside = sum(1 for c in han if not _encodes(c, "gb2312"))
    if len(han) >= 5 and outside >= max(3, 0.1 * len(han)):
        return f"traditional {name}"
    return f"simplified {name}" if len(han) >= 5 and outside <= 0.02 * len(han) else name


def _encodes(ch: str, codec: str) -> bool:
    try:
        ch.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


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
    for codec in ("utf-16-le", "utf-16-be"):
        text = _decodes(sample[: len(sample) // 2 * 2], codec)
        if text and len(text) >= 2 and sum(map(_plain_or_cjk, text)) >= 0.95 * len(text):
            return [codec], "its bytes read as UTF-16 give ordinary text"
    damaged = sample.decode("utf-8", errors="replace")
    valid = sum(1 for c in damaged if ord(c) > 127 and c != "\ufffd")
    if valid > 2 * damaged.count("\ufffd"):  # (other encodings' bytes form a valid sequence only now and then)
        return ["utf-8"], ("it is mostly valid UTF-8 (multi-byte characters decode) with some bytes that "
                           "are not: damaged, or pieces in another encoding mixed in")
    high = [i for i, b in enumerate(sample) if b >= 0x80]
    n = len(sample)
    paired = sum(1 for i in high if (i > 0 and sample[i - 1] >= 0x80) or (i + 1 < n and sample[i + 1] >= 0x80))
    alone = "bytes >= 0x80 stand alone, as accented letters do in Western single-byte encodings"
    pairs = bool(high) and paired >= 0.6 * len(high)
    words = [w for w in re.findall(rb"[A-Za-z\x80-\xff]+", sample) if max(w) >= 0x80]
    whole = sum(1 for w in words if not re.search(rb"[A-Za-z]", w)) >= 0.8 * len(words) if words else False
    # whole words of bytes >= 0x80 (Russian), not accented letters inside Latin words (Grüße)
    cyr = _decodes(sample, "cp1251") if pairs and whole and len(high) >= 8 else None  # a few bytes tell nothing
    if cyr is not None:
        share, upper = _cyrillic(cyr)
        if share >= 0.95:  # Cyrillic letters in cp1251 or KOI8-R; KOI8-R read as cp1251 comes out in upper case
            found = ["koi8_r", "cp1251"] if upper > 0.5 else ["cp1251", "koi8_r"]
            for first, second in (found, found[::-1]):  # an all-capitals cp1251 text looks like KOI8-R above
                if _reads_as_russian(_decodes(sample, first) or ""):
                    return [first, second], "its bytes >= 0x80 read as words of Cyrillic letters"
    if high:
        if pairs:
            alone = "bytes >= 0x80 come in pairs, but no East Asian double-byte encoding fits them"
        scored = []
        for codec, common in _EAST_ASIAN:
            text = _decodes(sample, codec)
            if text is None:
                continue
            wide = [c for c in text if ord(c) > 127]
            if codec == "euc_jp" and _kana_share(text) < 0.1:
                continue  # Japanese is a third kana or more; GB 2312 and EUC-KR text read as EUC-JP is not
            scored.append((sum(map(common, wide)) / max(1, len(wide)), frequent_share(text), codec))
        # ties (Korean decodes as GB 2312 characters too): the fixed order below breaks them
        order = {"cp949": 0, "cp932": 1, "euc_jp": 2, "cp950": 3, "gb18030": 4}
        # bytes in pairs: any candidate most of whose characters are common; else (Big5 and GBK trail
        # bytes can be ASCII, so short text pairs badly) only one whose characters nearly all are
        floor = 0.5 if pairs else 0.9
        ranked = [c for s, _, c in sorted(scored, key=lambda sc: (-round(sc[0], 2), -round(sc[1], 2), order[sc[2]]))
                  if s >= floor]
        if ranked:
            return ranked, "its bytes >= 0x80 read as common characters of East Asian double-byte encodings"
    return (["cp1252"] if _decodes(sample, "cp1252") is not None else ["latin-1"]), alone


def _mixed(data: bytes, start: int, name: str, gap: Gap = NO_GAP) -> str | None:
    """The advice for a file that is UTF-8, Chinese or accented letters included, up to byte ``start``
    and another encoding from there (text pasted together from two sources): no --encoding reads it."""
    try:
        head = data[:start].decode("utf-8")
    except UnicodeDecodeError:
        return None
    wide = len(head) - len(head.encode("ascii", "ignore")) + gap.wide
    found = guess_encodings(data[start:])[0]
    if wide < 8 or found == ["utf-8"]:  # a few non-ASCII characters tell nothing
        return None
    line = place(data, start, gap)[0]
    codec = found[0]
    return (f"it mixes encodings: UTF-8 ({wide:,} non-ASCII characters) before line {line}, then what looks like "
            f"{describe(codec, data[start:])}, and no encoding (--encoding) reads both; convert the part from line {line} on "
            f"(e.g. tail -n +{line} {name} | iconv -f {ICONV.get(codec, codec)} -t UTF-8), or re-save the file in one "
            "encoding")


def not_utf8_advice(data: bytes, name: str, option: bool, start: int | None = None, gap: Gap = NO_GAP) -> str:
    """The part of a "not valid UTF-8" error that says what the file probably is and what to do.

    ``option``: the command reads an ``--encoding`` option (else only converting the file helps).
    ``start``: the offset of the first byte that is not UTF-8, when known (a mixed file is told apart).
    ``gap``: what the input holds before ``data``'s last line that ``data`` leaves out (:class:`Gap`)."""
    mixed = None if start is None else _mixed(data, start, name, gap)
    if mixed is not None:
        return mixed
    found, why = guess_encodings(data)
    if found == ["utf-8"]:
        return f"{why}; find and fix the line named, or re-save the file as UTF-8"
    first = found[0]
    what = " or ".join(describe(c, data) for c in found)
    others = f"if the text then looks wrong, try {', '.join(found[1:])}" if len(found) > 1 else ""
    convert = f"iconv -f {ICONV.get(first, first)} -t UTF-8 {name} > {name}.utf8"
    if option:  # after the command, not in parentheses beside the option's own
        return (f"it looks like {what} ({why}): pass encoding={first!r} (--encoding {first}), or convert it: "
                f"{convert}" + (f"; {others}" if others else ""))
    return f"it looks like {what} ({why}): convert it{f' ({others})' if others else ''}: {convert}"


def check_no_nul(text: str, data: bytes, name: str, encoding: str = "utf-8", gap: Gap = NO_GAP) -> None:
    """Raise DataError when decoded ``text`` holds a NUL character: no text file does, and UTF-16 text
    of ASCII characters decodes as valid UTF-8 with a NUL after every letter.  ``gap``: as
    :func:`decode_bytes`'."""
    at = text.find("\x00")
    if at >= 0:
        from rnnkit.errors import DataError

        problem = nul_problem(data, name, encoding, gap)
        if problem is not None:
            raise DataError(problem)
        line = place(text, at, gap)[0]
        advice = binary_signature(data) or not_utf8_advice(data, name, option=True)
        raise DataError(f"{name}:{line}: holds a NUL character, which no text file has; {advice}")


def _reads_as_utf16(data: bytes) -> bool:
    """Whether ``data`` is UTF-16 as :func:`guess_encodings` says: the codec it names decodes the whole
    of it into text without NUL characters (so the --encoding advised is not refused in turn)."""
    for codec in guess_encodings(data)[0]:
        if codec.startswith("utf-16"):
            try:
                return "\x00" not in data.decode(codec)
            except UnicodeDecodeError:
                return False
    return False


def _safetensors(data: bytes) -> bool:
    """Starts as a safetensors file does: the header's length (8 bytes, little-endian), then its JSON."""
    return len(data) >= 10 and data[8:9] == b"{" and 2 <= int.from_bytes(data[:8], "little") <= len(data) - 8


def _controls(text: str) -> int:
    return sum(1 for c in text if (ord(c) < 32 and c not in "\t\n\r\f\v") or 0x7F <= ord(c) < 0xA0)


def nul_problem(data: bytes, name: str, encoding: str = "utf-8", gap: Gap = NO_GAP) -> str | None:
    """The whole error for ``data`` holding NUL bytes that no --encoding can read: every codec but
    UTF-16's reads a NUL byte as a NUL character, which is refused, so advising one would loop.  None
    when ``data`` has no NUL byte, is UTF-16 (:func:`not_utf8_advice` tells it) or starts with a known
    signature (:func:`binary_signature`).  Else: a safetensors checkpoint, UTF-32 text (whose codec does
    read it), text with a few stray NUL bytes (remove them), or binary data; naming ``name`` and the
    offset of the first NUL byte (``gap``: as :func:`decode_bytes`')."""
    first = data.find(b"\x00")
    if first < 0 or binary_signature(data) is not None or _reads_as_utf16(data):
        return None
    line, at = place(data, first, gap)
    where = f"a NUL byte at offset {at:,}, which no text file has"
    if _safetensors(data):
        return (f"{name}: is a safetensors checkpoint (a model file), not text ({where}); give the text data "
                "file here, and the checkpoint where the command takes a model")
    for codec in (["utf-32"] if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"))
                  else ["utf-32-le", "utf-32-be"]):
        try:
            wide = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if "\x00" not in wide and _controls(wide) <= 0.01 * len(wide):
            file = name if name != "<stdin>" else "FILE"
            return (f"{name}: looks like {NAMES[codec]} text (four bytes a character, hence the NUL byte at offset "
                    f"{at:,}): pass encoding={codec!r} (--encoding {codec}), or convert it: iconv -f {ICONV[codec]} "
                    f"-t UTF-8 {file} > {file}.utf8")
    nuls = data.count(0)
    rest = data.replace(b"\x00", b"")
    try:
        text = rest.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        text = rest.decode("cp1252", errors="replace")
    if nuls <= max(1, 0.05 * len(data)) and _controls(text) <= 0.01 * len(text):
        file = name if name != "<stdin>" else "FILE"
        return (f"{name}:{line}: holds {nuls:,} NUL byte{'s' if nuls > 1 else ''} ({'the first ' if nuls > 1 else ''}at offset {at:,}), "
                f"which no text file has, in what otherwise reads as text; remove {'them' if nuls > 1 else 'it'}: "
                f"tr -d '\\000' < {file} > {file}.clean")
    return f"{name}: is binary data, not text ({where}); no encoding (--encoding) reads it: give the text file"


def decode_advice(data: bytes, encoding: str, name: str, option: bool = True, start: int | None = None,
                  gap: Gap = NO_GAP) -> str:
    """What to tell about ``data`` that did not decode as ``encoding`` (from byte ``start``, when known):
    for UTF-8, what the file probably is (:func:`not_utf8_advice`); for another encoding asked for, the
    likelier ones.  ``gap``: the lines before ``data``'s last one that it leaves out (:class:`Gap`)."""
    asked = codec_name(encoding)
    if asked == "utf-8":
        return not_utf8_advice(data, name, option, start, gap)
    if utf8_text(data):  # (guess_encodings is for bytes that are not UTF-8: it would name cp1252 for ASCII)
        what = "ASCII" if data.isascii() else "UTF-8"
        return f"it is {what} text, which UTF-8 reads: give encoding='utf-8' (--encoding utf-8, the default)"
    found = [c for c in guess_encodings(data)[0] if codec_name(c) != asked]
    if not found:
        return "pass the file's real encoding (--encoding)"
    return (f"pass the file's real encoding (--encoding; it may be {', '.join(found)}), or, "
            f"{convert_this_one(found[0], encoding, name)}")


def convert_this_one(codec: str, encoding: str, name: str) -> str:
    """"when the command's other files need --encoding X ..., convert this one: iconv ...": the way out for
    a file in ``codec`` beside files in the ``encoding`` asked for, which --encoding reads them all as."""
    # to the encoding the other files need, since --encoding will read this one as that too
    target = codecs.lookup(encoding).name
    convert = f"iconv -f {ICONV.get(codec, codec)} -t {ICONV.get(target, target.upper())} {name} > {name}.{target}"
    return (f"when the command's other files need --encoding {encoding} (it applies to them all), convert this one: "
            f"{convert}")


def utf8_text(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (ASCII included)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def codec_name(encoding: str) -> str:
    """The codec's own name (``u16`` and ``UTF_16`` are ``utf-16``, ``latin1`` is ``iso8859-1``), by which
    encodings are compared; a name Python does not know, lower-cased (:func:`check_encoding` refuses it)."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding.lower()


def lines_end_in_newline_byte(encoding: str) -> bool:
    """Whether ``encoding`` ends a line with the byte 0x0a alone, as a stream read a line at a time (up to that
    byte) needs: not UTF-16 or UTF-32 (``\\n`` is two or four bytes) nor EBCDIC (cp500: 0x25).  True for a name
    that is no text codec, which :func:`check_encoding` refuses in its own words."""
    try:
        return "a\n".encode(encoding) == "a".encode(encoding) + b"\n"
    except LookupError:
        return True


def check_encoding(encoding: str) -> None:
    """ValueError naming --encoding when ``encoding`` is not a codec Python knows."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"Expected encoding (--encoding) to be a codec name like 'utf-8', 'gb18030' or 'cp1252', "
                         f"got {encoding!r}") from None
    if not getattr(info, "_is_text_encoding", True):  # rot13, base64, zlib...: bytes to bytes, not text
        raise ValueError(f"Expected encoding (--encoding) to be a text encoding like 'utf-8', 'gb18030' or 'cp1252', "
                         f"got {encoding!r}, which is not one (it transforms bytes or text, it does not decode text)")


# the first bytes of the compressed files rnnkit reads: (magic, format, suffix, how to decompress)
COMPRESSIONS = ((b"\x1f\x8b", "gzip", ".gz", "gunzip -c"), (b"\xfd7zXZ\x00", "xz", ".xz", "xz -dc"),
                (b"BZh", "bzip2", ".bz2", "bunzip2 -c"))


def compression(data: bytes) -> str | None:
    """"gzip", "xz" or "bzip2" when ``data`` starts as such a compressed file does, else None."""
    return next((name for magic, name, _, _ in COMPRESSIONS if data.startswith(magic)), None)


# the first bytes of files that are not text at all, whatever the encoding
_SIGNATURES = (*((magic, f"{name}-compressed data", f"name it {suffix} (rnnkit decompresses .gz, .xz and .bz2 "
                  f"files) or decompress it ({how})") for magic, name, suffix, how in COMPRESSIONS),
               (b"PK\x03\x04", "a zip archive", "extract the text file from it (unzip)"),
               (b"\x89PNG", "a PNG image", "give the text file"),
               (b"%PDF", "a PDF document", "give the text file"))


def binary_signature(data: bytes) -> str | None:
    """"it is gzip-compressed data, not text: name it .gz ..." when ``data`` starts with the signature
    of a compressed file, an archive or an image; None otherwise."""
    for magic, what, fix in _SIGNATURES:
        if data.startswith(magic):
            return f"it is {what}, not text: {fix}"
    return None


def decode_bytes(data: bytes, encoding: str, name: str, gap: Gap = NO_GAP) -> str:
    """``data`` decoded strictly as ``encoding``; every reader of text files and of standard input
    decodes through here, so they all fail alike.  A byte that does not decode, or a NUL character, is a
    DataError naming ``name``:line, the byte and its offset, and what the file probably is
    (:func:`decode_advice`); so is an ``encoding`` that would decode the bytes into the wrong text (UTF-8
    read as cp1252, ASCII as UTF-16: :mod:`rnnkit.data.encoding_mistakes`).  ``encoding`` is already
    checked (:func:`check_encoding`): the readers do that before they read, so a misspelt --encoding is
    reported before a large file or stdin is read.  ``gap``: what the input holds before ``data``'s last line
    that ``data`` leaves out (:class:`Gap`), counted in the line and offset of a byte of that line."""
    from rnnkit.data.encoding_mistakes import encoding_mistake  # (it builds on this module)
    from rnnkit.errors import DataError

    mistake = encoding_mistake(data, encoding, name, gap)
    if mistake is not None:
        raise DataError(mistake)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        problem = nul_problem(data, name, encoding, gap)
        if problem is not None:  # a NUL byte: no encoding to advise, it would be refused in turn
            raise DataError(problem) from None
        line, offset = place(data, exc.start, gap)
        shown = "UTF-8" if codec_name(encoding) == "utf-8" else encoding
        hint = binary_signature(data) or decode_advice(data, encoding, name if name != "<stdin>" else "FILE",
                                                       start=exc.start, gap=gap)
        raise DataError(f"{name}:{line}: byte 0x{data[exc.start]:02x} at offset {offset} is not valid "
                        f"{shown}; {hint}") from None
    check_no_nul(text, data, name, encoding, gap)
    return text


# the advice as the library words it, "pass encoding='cp1252' (--encoding cp1252)": the parameter first
_PARAMETER_FIRST = re.compile(r"\b(?:pass|give) encoding='([^']+)' \(--encoding ([^,)]+)(, the default)?\)")


def option_first(message: str) -> str:
    """``message`` as the command line says it: the library's "pass encoding='cp1252' (--encoding cp1252)"
    (the convention of its messages, "parameter (--option)") read "give --encoding cp1252 (encoding='cp1252'
    in Python)", the option a command-line user types first."""
    return _PARAMETER_FIRST.sub(lambda m: f"give --encoding {m[2]} ({'the default; ' if m[3] else ''}"
                                          f"encoding='{m[1]}' in Python)", message)
