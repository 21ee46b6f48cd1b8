"""An --encoding that decodes a file without error into the wrong text is refused, naming the fix.

Before, UTF-8 read with --encoding cp1252 or latin-1 became mojibake ('café' as 'cafÃ©', Chinese as
'æ\\x88\\x91ä»¬') and ASCII read with --encoding utf-16 became CJK characters, all with exit 0; and an ASCII
file that did not decode as UTF-16 was said to be 'maybe cp1252'.  :mod:`rnnkit.data.encoding_mistakes`
tells these from the bytes, in the reader every command reads through.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.data.encodings import decode_advice
from rnnkit.data.files import read_input, read_text_file
from rnnkit.data.text import read_text
from rnnkit.errors import DataError

FRENCH = "the old man\nsat by the sea\nat the café with a naïve friend\n"
CHINESE = "我们 今天 去 公园 。\n天气 很 好 。\n"


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "iso-8859-15", "mac-roman"])
def test_utf8_read_as_a_single_byte_encoding_is_refused_with_the_line_and_the_fix(tmp_path, encoding):
    path = _write(tmp_path, "fr.txt", FRENCH.encode("utf-8"))
    with pytest.raises(DataError) as info:
        read_text_file(path, encoding)
    message = str(info.value)
    seen = "café".encode("utf-8").decode(encoding)
    assert message.startswith(f"{path}:3: read as {encoding}, but its bytes are valid UTF-8 with non-ASCII text "
                              f"('café' read as {seen!r}): give encoding='utf-8' (--encoding utf-8, the default), or, "
                              f"when the command's other files need --encoding {encoding}"), message
    assert "\n" not in message and "iconv -f UTF-8 -t " in message


def test_utf8_chinese_read_as_latin1_is_refused_without_a_conversion_latin1_cannot_hold(tmp_path):
    path = _write(tmp_path, "zh.txt", CHINESE.encode("utf-8"))
    with pytest.raises(DataError, match=r"zh\.txt:1: read as latin-1, but its bytes are valid UTF-8 .*'我们' read as "
                                        r".*: give encoding='utf-8' \(--encoding utf-8, the default\)$"):
        read_text(path, "latin-1")


def test_utf8_chinese_read_as_gbk_is_refused(tmp_path):
    path = _write(tmp_path, "zh.txt", CHINESE.encode("utf-8"))
    with pytest.raises(DataError, match=r"read as gb18030, but its bytes are valid UTF-8 .*'我们' read as '鎴戜滑'"):
        read_text(path, "gb18030")


def test_gbk_text_whose_byte_pairs_are_also_utf8_still_reads(tmp_path):
    """Many frequent GBK characters are byte pairs (lead C2-DF, trail 80-BF) that are valid UTF-8 too: 同学 is
    CDAC D1A7, UTF-8 'ͬѧ'.  Short GBK input made only of them was refused as "UTF-8 read as gbk", and the
    advice given (--encoding utf-8) decoded it as 'ͬѧ'.  Every such GB 2312 character, in lines of 4 to 40."""
    rng = np.random.default_rng(0)
    pairs = []
    for lead in range(0xC2, 0xE0):
        for trail in range(0xA1, 0xC0):
            try:
                pairs.append(bytes([lead, trail]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    assert len(pairs) > 500
    for n in (4, 5, 8, 40):
        text = "".join(rng.choice(pairs, n)) + "\n"
        data = text.encode("gbk")
        assert data.decode("utf-8")  # the bytes are valid UTF-8 as well
        for encoding in ("gbk", "gb18030"):
            assert read_text_file(_write(tmp_path, "g.txt", data), encoding) == text
    data = "同学 也 要 去\n".encode("gbk")
    assert read_text_file(_write(tmp_path, "h.txt", data), "gbk") == "同学 也 要 去\n"
    data = "處之泰然\n".encode("gb18030")  # traditional characters too (cc8e d6ae cca9 c8bb: valid UTF-8)
    assert data.decode("utf-8") and read_text_file(_write(tmp_path, "i.txt", data), "gb18030") == "處之泰然\n"


def test_non_ascii_text_far_into_the_file_is_found(tmp_path):
    """The first byte >= 0x80 after a megabyte and more of ASCII (looked for a chunk at a time)."""
    head = "plain words only\n" * 70_000  # 1.2 MB
    path = _write(tmp_path, "late.txt", (head + FRENCH).encode("utf-8"))
    with pytest.raises(DataError, match=r"late\.txt:70003: read as cp1252"):
        read_text(path, "cp1252")


def test_files_that_are_what_the_encoding_says_still_read(tmp_path):
    """cp1252 and GBK text (not valid UTF-8), and ASCII (the same in every such encoding), read as before."""
    assert read_text_file(_write(tmp_path, "a.txt", FRENCH.encode("cp1252")), "cp1252") == FRENCH
    assert read_text_file(_write(tmp_path, "b.txt", FRENCH.encode("latin-1")), "latin-1") == FRENCH
    assert read_text_file(_write(tmp_path, "c.txt", CHINESE.encode("gbk")), "gb18030") == CHINESE
    assert read_text_file(_write(tmp_path, "d.txt", b"plain ascii\n"), "cp1252") == "plain ascii\n"
    # a single UTF-8 pair can be a GBK character by chance: a double-byte encoding needs more evidence
    assert read_text_file(_write(tmp_path, "e.txt", "caf\u00e9\n".encode("utf-8")), "gb18030")


@pytest.mark.parametrize("text", ["hello there\n", "hello there!\n"], ids=["even", "odd"])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_ascii_read_as_utf16_or_utf32_is_refused_as_ascii(tmp_path, text, encoding):
    """Even length decoded to CJK characters with exit 0; odd length was 'maybe cp1252'."""
    path = _write(tmp_path, "ascii.txt", text.encode("ascii"))
    with pytest.raises(DataError) as info:
        read_text_file(path, encoding)
    message = str(info.value)
    assert message.startswith(f"{path}: read as {encoding}, but it has no NUL byte, which UTF-"), message
    assert "it is ASCII text" in message, message
    assert message.endswith("give encoding='utf-8' (--encoding utf-8, the default)"), message
    assert "cp1252" not in message.lower()


def test_utf16_files_still_read(tmp_path):
    """With a byte-order mark, with NUL bytes (any ASCII character), or CJK only (no NUL byte at all)."""
    text = "hello 我们\n"
    assert read_text_file(_write(tmp_path, "a.txt", text.encode("utf-16")), "utf-16") == text
    assert read_text_file(_write(tmp_path, "b.txt", text.encode("utf-16-be")), "utf-16-be") == text
    cjk = "我们今天去公园"
    assert b"\x00" not in cjk.encode("utf-16-le")
    assert read_text_file(_write(tmp_path, "c.txt", cjk.encode("utf-16-le")), "utf-16-le") == cjk


def test_gbk_read_as_utf16_is_refused_with_the_likely_encoding(tmp_path):
    path = _write(tmp_path, "gbk.txt", (CHINESE * 4).encode("gbk"))
    with pytest.raises(DataError, match=r"gbk\.txt: read as utf-16, but it has no NUL byte.*--encoding gb18030"):
        read_text_file(path, "utf-16")


def test_standard_input_is_checked_too(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(FRENCH.encode("utf-8"))))
    with pytest.raises(DataError, match=r"^<stdin>:3: read as cp1252, .* convert this one: iconv -f UTF-8 -t CP1252 "
                                        r"FILE > FILE\.cp1252$"):
        read_input(None, "cp1252")


def test_ascii_that_does_not_decode_is_not_called_cp1252():
    """decode_advice for bytes that are UTF-8 (or ASCII), whatever codec failed on them."""
    assert decode_advice(b"plain ascii text\n", "utf-16", "f.txt") == (
        "it is ASCII text, which UTF-8 reads: give encoding='utf-8' (--encoding utf-8, the default)")
    assert decode_advice(FRENCH.encode("utf-8"), "ascii", "f.txt").startswith("it is UTF-8 text")


def test_train_ngram_on_ascii_with_utf16_says_ascii_not_cp1252(tmp_path, capsys):
    """Message #5 of the robustness hunt: 'it may be cp1252 ... iconv -f CP1252' for a pure ASCII file."""
    train = _write(tmp_path, "lm.txt", b"the cat sat on the mat\n" * 41)  # odd length: 943 bytes
    code, out, err = run_cli(capsys, ["train", "ngram", "--train", str(train), "--encoding", "utf-16"])
    assert code == 2 and out == "", (out, err)
    assert err.startswith(f"rnnkit: error: {train}: read as utf-16, but it has no NUL byte") and "ASCII" in err, err
    assert "cp1252" not in err.lower() and len(err.strip().splitlines()) == 1, err


def test_train_ngram_with_a_utf8_valid_file_beside_a_latin1_train_file_is_refused(tmp_path, capsys):
    """--encoding covers every file: a UTF-8 --valid beside a latin-1 --train read as 66% OOV, blaming --min-count."""
    train = _write(tmp_path, "train.txt", (FRENCH * 20).encode("latin-1"))
    valid = _write(tmp_path, "valid.txt", FRENCH.encode("utf-8"))
    code, out, err = run_cli(capsys, ["train", "ngram", "--train", str(train), "--valid", str(valid),
                                      "--encoding", "latin-1"])
    assert code == 2, (out, err)
    assert err.startswith(f"rnnkit: error: {valid}:3: read as latin-1, but its bytes are valid UTF-8"), err
    assert f"convert this one: iconv -f UTF-8 -t ISO8859-1 {valid} > {valid}.iso8859-1" in err, err


def test_score_refuses_utf8_read_as_cp1252_and_reads_it_as_utf8(tmp_path, capsys):
    train = _write(tmp_path, "train.txt", (FRENCH * 20).encode("utf-8"))
    model = tmp_path / "ng.safetensors"
    code, out, err = run_cli(capsys, ["train", "ngram", "--train", str(train), "--save", str(model)])
    assert code == 0, err
    data = _write(tmp_path, "data.txt", FRENCH.encode("utf-8"))
    code, out, err = run_cli(capsys, ["score", str(model), str(data), "--encoding", "cp1252"])
    assert code == 2 and out == "" and "'café' read as 'cafÃ©'" in err, (out, err)
    code, out, err = run_cli(capsys, ["score", str(model), str(data)])
    assert code == 0 and "café" in out, (out, err)
