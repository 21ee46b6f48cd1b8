"""A file that is not UTF-8 gets an error naming what it probably is, and following the advice works.

Before, every such file was told to try cp1252, which decodes GBK, Big5 or Shift JIS text without an
error into mojibake (``ÎÒÃÇ½ñÌì``): a silent wrong result one step after the error."""
from __future__ import annotations

import pytest
from clirun import run_cli

from rnnkit.data.files import read_text_file
from rnnkit.data.encodings import guess_encodings, not_utf8_advice
from rnnkit.errors import DataError

ZH = "我们今天去公园散步，天气很好。这是一个测试句子，看看编码能不能被正确地猜出来。\n" * 3
TW = "我們今天去公園散步，天氣很好。這是一個測試句子，看看編碼能不能被正確地猜出來。臺灣的夜市很有名。\n" * 3
JA = "今日は公園を散歩しました。天気がとても良かったです。これはテストの文章です。\n" * 3
KO = "오늘은 공원에서 산책을 했습니다. 날씨가 아주 좋았습니다. 이것은 시험 문장입니다.\n" * 3
RU = "Привет, мир! Это простой тест кодировки для русского текста.\n" * 3
FR = "Le résumé de la réunion est prêt. Où est le café? Ça coûte trop cher, à mon avis.\n" * 3


@pytest.mark.parametrize("text,written,codec", [
    (ZH, "gbk", "gb18030"), (TW, "big5", "cp950"), (JA, "shift_jis", "cp932"), (KO, "euc_kr", "cp949"),
    (FR, "cp1252", "cp1252"), ("the film is dull.\n", "utf-16", "utf-16"),
    # Windows code pages with a vendor character plain Big5 / Shift JIS / EUC-KR lack
    (TW + "碁\n", "cp950", "cp950"), (JA + "①㈱\n", "cp932", "cp932"), (KO + "똠\n", "cp949", "cp949"),
    # short lines, whose GBK or Big5 trail bytes are often ASCII; UTF-16 without a byte-order mark
    ("這是一個測試。\n", "cp950", "cp950"), ("我们今天去公园。\n", "gbk", "gb18030"),
    (ZH, "utf-16-le", "utf-16-le"), (ZH, "utf-16-be", "utf-16-be"),
    # Japanese in EUC-JP (its kana tell it from GB 2312), Russian in cp1251 and KOI8-R, and Western
    # accents inside Latin words, which read as Cyrillic letters in cp1251 too
    (JA, "euc_jp", "euc_jp"), (RU, "cp1251", "cp1251"), (RU, "koi8_r", "koi8_r"),
    ("Grüße aus München, schöne Größe.\n", "cp1252", "cp1252"), ("¿Dónde está el niño? Mañana.\n", "cp1252", "cp1252"),
    # four GBK characters read as cp1251 are 8 Cyrillic letters ('ОТГЗЅсМм'), not a Russian word; capitals
    ("我们今天", "gbk", "gb18030"), ("ООН и НАТО", "cp1251", "cp1251"),
    # two characters, whose bytes read as common Big5 and Hangul too (斕疑, 콱봤): the frequent reading wins
    ("你好\n", "gbk", "gb18030"), ("안녕하세요\n", "euc_kr", "cp949"),
    ("こんにちは\n", "euc_jp", "euc_jp"), ("ありがとうございます\n", "euc_jp", "euc_jp"), ("謝謝\n", "big5", "cp950")],
    ids=["gbk", "big5", "shift-jis", "euc-kr", "cp1252", "utf-16", "cp950", "cp932", "cp949", "short-big5",
         "short-gbk", "utf-16-le-chinese", "utf-16-be-chinese", "euc-jp", "cp1251", "koi8-r", "german", "spanish",
         "four-gbk", "cp1251-capitals", "two-gbk", "short-korean", "short-euc-jp", "euc-jp-kana", "two-big5"])
def test_the_likely_encoding_comes_first_and_decodes_the_text(text, written, codec):
    data = text.encode(written)
    found, why = guess_encodings(data)
    assert found[0] == codec, (found, why)
    assert data.decode(found[0]) == text


def test_utf16_without_a_byte_order_mark_and_damaged_utf8():
    assert guess_encodings("plain words".encode("utf-16-le"))[0] == ["utf-16-le"]
    assert guess_encodings("plain words".encode("utf-16-be"))[0] == ["utf-16-be"]
    damaged = ("中文句子 " * 20).encode() + "café".encode("cp1252")
    found, why = guess_encodings(damaged)
    assert found == ["utf-8"] and "mostly valid UTF-8" in why
    assert "re-save the file as UTF-8" in not_utf8_advice(damaged, "x.txt", option=True)


def test_advice_names_the_option_only_where_there_is_one():
    data = ZH.encode("gbk")
    with_option = not_utf8_advice(data, "in.txt", option=True)
    without = not_utf8_advice(data, "in.txt", option=False)
    assert "--encoding gb18030" in with_option and "iconv -f GB18030 -t UTF-8 in.txt" in with_option
    assert "--encoding" not in without and "iconv -f GB18030 -t UTF-8 in.txt" in without
    # GNU iconv's names, which it accepts (it refuses euc_kr, utf-16-le and latin-1)
    assert "iconv -f CP949 " in not_utf8_advice(KO.encode("euc_kr"), "k.txt", option=True)
    assert "iconv -f UTF-16LE " in not_utf8_advice(ZH.encode("utf-16-le"), "u.txt", option=True)
    assert "cp1252" not in with_option + without

    data = "床前明月光，疑是地上霜。举头望明月，低头思故乡。".encode("gb18030")  # GB18030 or Big5: one more to try
    with_option = not_utf8_advice(data, "in.txt", option=True)
    without = not_utf8_advice(data, "in.txt", option=False)
    assert with_option.endswith("pass encoding='gb18030' (--encoding gb18030), or convert it: iconv -f GB18030 -t "
                                "UTF-8 in.txt > in.txt.utf8; if the text then looks wrong, try cp950"), with_option
    assert without.endswith("convert it (if the text then looks wrong, try cp950): iconv -f GB18030 -t UTF-8 in.txt "
                            "> in.txt.utf8"), without


def test_reader_error_names_gb18030_and_the_named_encoding_reads_it(tmp_path):
    path = tmp_path / "zh.txt"
    path.write_bytes(ZH.encode("gbk"))
    with pytest.raises(DataError, match=r"zh\.txt:1: byte 0x\w\w at offset 0 is not valid UTF-8; .*--encoding gb18030"):
        read_text_file(path)
    assert read_text_file(path, "gb18030") == ZH
    with pytest.raises(DataError, match=r"not valid big5; pass the file's real encoding \(--encoding; it may "
                                        r"be gb18030"):
        read_text_file(path, "big5")


def test_cli_messages_for_a_gbk_file(tmp_path, capsys):
    path = tmp_path / "zh.txt"
    path.write_bytes(ZH.encode("gbk"))
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(path), "--level", "char",
                                    "--run-dir", str(tmp_path / "lm")])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "simplified Chinese" in err and "--encoding gb18030" in err and "iconv -f GB18030 -t UTF-8" in err, err
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(path), "--format", "segmented",
                                    "--run-dir", str(tmp_path / "seg")])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--encoding gb18030" in err, err


def test_a_gbk_file_of_traditional_text_is_not_called_simplified(tmp_path, capsys):
    """GBK writes traditional characters too (the user walk's file): it was "simplified Chinese (GBK/GB18030)"
    all the same.  Traditional now when a tenth of its Han characters are outside GB 2312, the simplified set."""
    from rnnkit.data.encodings import describe

    path = tmp_path / "tw.txt"
    path.write_bytes(TW.encode("gbk"))
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(path), "--level", "char",
                                    "--run-dir", str(tmp_path / "lm")])
    assert code == 2 and "looks like traditional Chinese (GBK/GB18030)" in err and "simplified" not in err, err
    assert "--encoding gb18030" in err, err
    assert describe("gb18030", "我們在圖書館學習中文。".encode("gbk")) == "traditional Chinese (GBK/GB18030)"
    assert describe("gb18030", "我们在图书馆学习中文。".encode("gbk")) == "simplified Chinese (GBK/GB18030)"
    assert describe("gb18030", "中文".encode("gbk")) == "Chinese (GBK/GB18030)"  # too little to tell


def test_a_gbk_console_is_told_of_gb18030():
    """PYTHONIOENCODING=gbk and an emoji: the advice was UTF-8 alone, which a GBK console shows as mojibake."""
    from rnnkit.errors import describe_encode_error

    for codec in ("gbk", "cp936"):
        try:
            "好😀".encode(codec)
        except UnicodeEncodeError as exc:
            said = describe_encode_error(exc, file_option=False)
        assert "PYTHONIOENCODING=utf-8" in said and "PYTHONIOENCODING=gb18030" in said, said
    try:
        "好😀".encode("ascii")
    except UnicodeEncodeError as exc:
        assert "gb18030" not in describe_encode_error(exc)


@pytest.mark.parametrize("name", ["gbk", "cp936", "936", "ms936", "GBK", "gb2312", "euc-cn", "EUC_CN"])
def test_every_spelling_of_a_gbk_console_is_told_of_gb18030(name):
    """An error raised under the name a stream gave (PYTHONIOENCODING=ms936), not the codec's own: ms936 was not
    among the spellings tried by hand; codecs.lookup knows them all."""
    from rnnkit.errors import describe_encode_error

    said = describe_encode_error(UnicodeEncodeError(name, "好😀", 1, 2, "illegal multibyte sequence"))
    assert "PYTHONIOENCODING=gb18030" in said, said
    assert "gb18030" not in describe_encode_error(UnicodeEncodeError("latin-1", "好", 0, 1, "not in range"))


def test_language_model_commands_read_the_named_encoding(tmp_path, capsys):
    """train lm, train ngram, evaluate and score take --encoding: a GBK file reads as its UTF-8 twin does."""
    gbk, utf8 = tmp_path / "zh-gbk.txt", tmp_path / "zh.txt"
    gbk.write_bytes((ZH * 20).encode("gbk"))
    utf8.write_text(ZH * 20, encoding="utf-8")
    small = ["--level", "char", "--epochs", "1", "--embed", "4", "--hidden", "4", "--bptt", "8", "--batch-size", "4",
             "--progress", "none", "--checkpoint-minutes", "0"]
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(gbk), "--valid", str(gbk), "--encoding", "gb18030",
                                    "--run-dir", str(tmp_path / "lm"), *small])
    assert code == 0, err
    model = str(tmp_path / "lm" / "last.safetensors")
    outs = []
    for path, enc in ((gbk, ["--encoding", "gb18030"]), (utf8, [])):
        code, out, err = run_cli(capsys, ["evaluate", model, str(path), "--json", *enc])
        assert code == 0, err
        outs.append(out)
        code, out, err = run_cli(capsys, ["score", model, str(path), *enc])
        assert code == 0, err
        outs.append(out.split("\t")[0])
    assert outs[0] == outs[2] and outs[1] == outs[3], outs  # the same numbers either way
    code, out, err = run_cli(capsys, ["train", "ngram", "--train", str(gbk), "--level", "char", "--order", "2",
                                      "--encoding", "gb18030"])
    assert code == 0 and "vocabulary:" in out, err
    code, _, err = run_cli(capsys, ["evaluate", model, str(gbk), "--encoding", "big5"])
    assert code == 2 and "not valid big5" in err and "gb18030" in err, err


def test_evaluate_reads_a_classifiers_data_in_the_named_encoding(tmp_path, capsys):
    rows = "".join(f"{'pos' if i % 2 else 'neg'}\t{'好' if i % 2 else '差'} 的 电影\n" for i in range(40))
    (tmp_path / "train.tsv").write_text(rows, encoding="utf-8")
    (tmp_path / "test-gbk.tsv").write_bytes(rows.encode("gbk"))
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "train.tsv"), "--epochs", "1",
                                    "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0",
                                    "--run-dir", str(tmp_path / "clf")])
    assert code == 0, err
    model = str(tmp_path / "clf" / "best.safetensors")
    code, _, err = run_cli(capsys, ["evaluate", model, str(tmp_path / "test-gbk.tsv")])
    assert code == 2 and "--encoding gb18030" in err, err
    code, out, err = run_cli(capsys, ["evaluate", model, str(tmp_path / "test-gbk.tsv"), "--encoding", "gb18030"])
    assert code == 0 and "over 40 texts" in out, (out, err)


def test_any_bytes_get_advice_and_no_exception():
    """Whatever the bytes, the guess is a non-empty list of codec names Python knows, and the advice
    is one line; the East Asian and Western guesses decode the bytes they were made from."""
    import codecs

    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.binary(min_size=1, max_size=400))
    def check(data):
        found, why = guess_encodings(data)
        assert found and why
        for codec in found:
            codecs.lookup(codec)
        if found[0] not in ("utf-8", "utf-16", "utf-16-le", "utf-16-be"):
            codecs.getincrementaldecoder(found[0])().decode(data, final=False)
        advice = not_utf8_advice(data, "f.txt", option=True)
        assert "\n" not in advice

    check()


def test_utf16_ascii_text_without_a_byte_order_mark_is_refused_not_read_as_nul_tokens(tmp_path):
    """UTF-16 ASCII text decodes as valid UTF-8 with a NUL after every letter: refused, with the fix."""
    from rnnkit.data.text import read_text

    path = tmp_path / "u16.txt"
    path.write_bytes("hello world\nthe cat\n".encode("utf-16-le"))
    with pytest.raises(DataError, match=r"u16\.txt:1: holds a NUL character.*--encoding utf-16-le"):
        read_text(path)
    with pytest.raises(DataError, match=r"holds a NUL character"):
        read_text_file(path)
    assert read_text(path, "utf-16-le") == "hello world\nthe cat\n"


def test_a_file_in_another_encoding_than_its_siblings_is_told_to_convert(tmp_path):
    """--encoding covers every file of a command: a UTF-8 file beside GBK ones cannot be read by it."""
    path = tmp_path / "src.txt"
    path.write_text(ZH, encoding="utf-8")
    with pytest.raises(DataError, match=r"src.txt:1: read as gb18030, but its bytes are valid UTF-8 .*: give "
                                        r"encoding='utf-8' \(--encoding utf-8, the default\), or, when the command's "
                                        r"other files need "
                                        r"--encoding gb18030 .*convert this one: iconv -f UTF-8 -t GB18030 .*src.txt > "
                                        r".*src.txt.gb18030$"):
        read_text_file(path, "gb18030")


def test_evaluate_reads_utf8_unless_told_even_for_a_tagger_trained_on_gbk(tmp_path, capsys):
    """A segmenter trained from a GBK file evaluates a UTF-8 file as UTF-8 (as tag and segment read
    it); before, evaluate reused the training encoding and scored mojibake as F1 0 without an error."""
    seg = "我们 今天 去 公园 。\n天气 很 好 。\n" * 20
    (tmp_path / "train.txt").write_bytes(seg.encode("gbk"))
    (tmp_path / "dev.txt").write_text(seg, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(tmp_path / "train.txt"), "--format", "segmented",
                                    "--encoding", "gb18030", "--epochs", "3", "--embed", "8", "--hidden", "8",
                                    "--progress", "none", "--checkpoint-minutes", "0", "--run-dir", str(tmp_path / "s")])
    assert code == 0, err
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "s" / "last.safetensors"), str(tmp_path / "dev.txt")])
    assert code == 0 and "OOV rate 0.00%" in out, (out, err)


def test_a_compressed_file_without_its_suffix_is_named_not_taken_for_cp1252(tmp_path):
    """gzip data named .txt was 'probably cp1252', and with --encoding cp1252 'holds a NUL; pass
    --encoding cp1252' again: advice that looped."""
    import gzip

    path = tmp_path / "corpus.txt"
    path.write_bytes(gzip.compress("hello world\n".encode() * 20))
    for encoding in ("utf-8", "cp1252"):
        with pytest.raises(DataError, match="it is gzip-compressed data, not text: name it .gz"):
            read_text_file(path, encoding)
    (tmp_path / "corpus.txt.gz").write_bytes(path.read_bytes())
    assert read_text_file(tmp_path / "corpus.txt.gz").startswith("hello world")
    import bz2

    path.write_bytes(bz2.compress("hello world\n".encode() * 20))  # bzip2: named and read as .bz2 too
    with pytest.raises(DataError, match="it is bzip2-compressed data, not text: name it .bz2"):
        read_text_file(path)
    (tmp_path / "corpus.txt.bz2").write_bytes(path.read_bytes())
    assert read_text_file(tmp_path / "corpus.txt.bz2").startswith("hello world")


def test_a_file_that_mixes_utf8_and_gbk_is_named_as_mixed_not_latin1(tmp_path):
    """Text pasted together from two sources: --encoding latin-1, which the advice used to give, turns
    both halves into mojibake.  The message says where the UTF-8 ends and what follows."""
    utf8 = "我們今天去公園散步，天氣很好。\n" * 3
    path = tmp_path / "mixed.txt"
    path.write_bytes(utf8.encode("utf-8") + "他們明天去北京開會。\n".encode("gb18030"))
    with pytest.raises(DataError) as info:
        read_text_file(str(path))
    msg = str(info.value)
    assert "mixes encodings" in msg and "before line 4" in msg and "GB18030" in msg, msg
    assert "latin-1" not in msg and "no encoding (--encoding) reads both" in msg
    # a damaged byte inside UTF-8 text is still called damaged, not mixed
    damaged = tmp_path / "damaged.txt"
    damaged.write_bytes(utf8.encode("utf-8") + b"\xe5\xa4" + utf8.encode("utf-8"))
    with pytest.raises(DataError, match="mostly valid UTF-8"):
        read_text_file(str(damaged))


def test_an_encoding_that_is_not_a_text_encoding_is_one_line(tmp_path, capsys):
    """rot13, base64, zlib... are codecs Python knows, but not text encodings: decoding raised a LookupError
    traceback."""
    (tmp_path / "t.txt").write_text("a b c\n" * 20, encoding="utf-8")
    for codec in ("rot13", "base64", "zlib"):
        code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(tmp_path / "t.txt"), "--encoding", codec])
        assert code == 2 and "Traceback" not in err and f"got {codec!r}, which is not one" in err, err


def test_the_shared_block_table_gives_every_code_point_the_old_answer():
    """encoding_mistakes and legacy_chars spelled out nearly the same ranges (their kana differed); now one
    table (rnnkit.data.scripts) serves both: each test answers as its old spelled-out ranges did, for every
    code point of the BMP and a few beyond it."""
    from rnnkit.data.encoding_mistakes import _plausible_east_asian
    from rnnkit.data.legacy_chars import (EAST_ASIAN_BLOCKS, _common_gb, _common_japanese_euc, _common_korean,
                                          _plain_or_cjk)
    from rnnkit.data.scripts import in_ranges

    def korean(o):  # legacy_chars._common_korean as it was written
        return 0xAC00 <= o <= 0xD7A3 or 0x3000 <= o <= 0x303F

    def wide(o):  # encoding_mistakes._plausible_east_asian's ranges
        return 0xAC00 <= o <= 0xD7A3 or 0x3000 <= o <= 0x30FF or 0xFF00 <= o <= 0xFFEF

    def plain(o):  # legacy_chars._plain_or_cjk
        return (32 <= o < 127 or chr(o) in "\t\n\r" or 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x30FF
                or 0xFF00 <= o <= 0xFFEF)

    wrong = []
    for o in [*range(0x10000), 0x1F600, 0x20000, 0x10FFFF]:
        ch = chr(o)
        if (_common_korean(ch), in_ranges(ch, EAST_ASIAN_BLOCKS), _plain_or_cjk(ch)) != (korean(o), wide(o), plain(o)):
            wrong.append(hex(o))
        elif o >= 0x80 and _plausible_east_asian(ch) != (wide(o) or _common_gb(ch) or _common_japanese_euc(ch)):
            wrong.append(hex(o))
    assert wrong == [], f"code points answered otherwise than before: {wrong[:20]}"
