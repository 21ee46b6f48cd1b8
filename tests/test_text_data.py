"""Text corpora and vocabularies: tokenisation, ids, OOV rates and the errors a user can meet."""
from __future__ import annotations

import lzma
from collections import Counter

import numpy as np
import pytest

from rnnkit.data import (
    EOS,
    UNK,
    Vocabulary,
    build_vocabulary,
    file_oov_rate,
    oov_rate,
    read_tokens,
    require_tokens,
    tokenize,
)
from rnnkit.errors import DataError, RnnkitError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_word_level_appends_eos_and_skips_blank_lines():
    lines = ["the cat sat", "", "  ", " a  dog\tran "]
    tokens = tokenize("\n".join(lines) + "\n", "word")
    expected = []
    for line in lines:
        if line.split():
            expected += line.split() + [EOS]
    assert tokens == expected
    assert tokens.count(EOS) == 2


def test_char_level_keeps_every_character_and_newlines(tmp_path):
    text = "天气很好\nnaïve 😀\n"
    path = write(tmp_path, "zh.txt", text)
    tokens = read_tokens(path, "char")
    assert tokens == list(text)
    assert "\n" in tokens
    vocab = Vocabulary.build(tokens, eos_token=None)
    assert vocab.eos_id is None
    assert "天" in vocab and "😀" in vocab
    ids = vocab.encode(tokens)
    assert ids.dtype == np.int64
    assert "".join(vocab.decode(ids)) == text


def test_crlf_and_bom_are_read_as_plain_text(tmp_path):
    path = tmp_path / "win.txt"
    path.write_bytes("\ufeffab\r\ncd\r\n".encode("utf-8"))
    assert read_tokens(path, "char") == list("ab\ncd\n")
    assert read_tokens(path, "word") == ["ab", EOS, "cd", EOS]


def test_vocabulary_order_max_size_and_min_count():
    counts = {"a": 5, "c": 3, "b": 3, "d": 1, "e": 2}
    tokens = [tok for tok, n in counts.items() for _ in range(n)]
    full = Vocabulary.build(tokens)
    # specials first, then by count descending, ties by the token
    by_rule = sorted(counts, key=lambda t: (-counts[t], t))
    assert full.tokens == [UNK, EOS] + by_rule
    capped = Vocabulary.build(tokens, max_size=4)
    assert len(capped) == 4
    assert capped.tokens == [UNK, EOS] + by_rule[:2]
    frequent = Vocabulary.build(tokens, min_count=2)
    assert "d" not in frequent and "e" in frequent
    assert len(frequent) == 2 + sum(n >= 2 for n in counts.values())


def test_unknown_tokens_map_to_unk_and_decode_checks_range():
    vocab = Vocabulary.build(["x", "y", "x"])
    ids = vocab.encode(["x", "never-seen", "y"])
    assert ids[1] == vocab.unk_id
    assert vocab.decode(ids) == ["x", UNK, "y"]
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        vocab.decode([len(vocab)])


def test_existing_unk_in_text_keeps_the_special_id():
    text = "the <unk> fell\n<unk> rose <unk>\n"
    tokens = tokenize(text, "word")
    vocab = Vocabulary.build(tokens)
    assert vocab.tokens.count(UNK) == 1
    assert vocab.token_id(UNK) == vocab.unk_id
    ids = vocab.encode(tokens)
    assert np.sum(ids == vocab.unk_id) == tokens.count(UNK)
    distinct = set(tokens)
    assert len(vocab) == len(distinct)  # <unk> and <eos> are in the text: nothing added twice


def test_oov_rate_of_a_file(tmp_path):
    train = write(tmp_path, "train.txt", "a b c\nb c <unk>\n")
    valid = write(tmp_path, "valid.txt", "a z c\nq <unk> b\n")
    vocab, _ = build_vocabulary(train)
    stats = file_oov_rate(valid, vocab)
    valid_tokens = read_tokens(valid)
    missing = [t for t in valid_tokens if t not in set(read_tokens(train))]
    assert stats.count == len(missing) == 2  # z and q; the literal <unk> is a vocabulary token
    assert stats.total == len(valid_tokens)
    assert stats.fraction == pytest.approx(len(missing) / len(valid_tokens))
    assert oov_rate([], vocab).fraction == 0.0


def test_json_round_trip_keeps_ids():
    tokens = list("语言模型 language model\n")
    vocab = Vocabulary.build(tokens, eos_token=None, max_size=8)
    again = Vocabulary.from_json(vocab.to_json())
    assert again == vocab
    assert again.unk_id == vocab.unk_id and again.eos_id is None
    np.testing.assert_array_equal(again.encode(tokens), vocab.encode(tokens))
    with pytest.raises(ValueError, match="JSON"):
        Vocabulary.from_json("{not json")


def test_bad_vocabulary_arguments():
    with pytest.raises(ValueError, match="max_size"):
        Vocabulary.build(["a"], max_size=1)
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build(["a"], min_count=0)
    with pytest.raises(ValueError, match="distinct"):
        Vocabulary([UNK, "a", "a"], eos_token=None)


def test_xz_and_gz_files_are_read_transparently(tmp_path):
    import gzip

    text = "one two\nthree\n"
    plain = write(tmp_path, "c.txt", text)
    for suffix, opener in ((".xz", lzma.open), (".gz", gzip.open)):
        packed = tmp_path / ("c.txt" + suffix)
        with opener(packed, "wb") as f:
            f.write(text.encode("utf-8"))
        assert read_tokens(packed) == read_tokens(plain)
        broken = tmp_path / ("broken.txt" + suffix)
        broken.write_bytes(b"plain text, not compressed\n")
        with pytest.raises(DataError, match=rf"broken\.txt\{suffix}: cannot be decompressed .*check the download"):
            read_tokens(broken)


def assert_one_line(exc: Exception, *parts: str) -> None:
    msg = str(exc)
    assert "\n" not in msg, f"message spans lines: {msg!r}"
    for part in parts:
        assert part in msg, f"{part!r} missing from {msg!r}"


def test_non_utf8_file_names_file_line_and_fix(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"fine line\nanother\ncaf\xe9 au lait\n")
    with pytest.raises(DataError) as info:
        read_tokens(path)
    offset = path.read_bytes().index(b"\xe9")
    assert_one_line(info.value, "latin1.txt", ":3:", str(offset), "0xe9", "iconv")
    assert isinstance(info.value, RnnkitError)


def test_empty_and_blank_files(tmp_path):
    empty = write(tmp_path, "empty.txt", "")
    with pytest.raises(DataError) as info:
        read_tokens(empty, "char")
    assert_one_line(info.value, "empty.txt", "empty")
    blank = write(tmp_path, "blank.txt", "\n  \n\n")
    with pytest.raises(DataError) as info:
        read_tokens(blank, "word")
    assert_one_line(info.value, "blank.txt", "empty")


def test_missing_file(tmp_path):
    with pytest.raises(DataError) as info:
        read_tokens(tmp_path / "nowhere.txt")
    assert_one_line(info.value, "nowhere.txt", "no such file")


def test_bad_level_is_a_value_error(tmp_path):
    path = write(tmp_path, "t.txt", "a\n")
    with pytest.raises(ValueError, match="level"):
        read_tokens(path, "sentence")


def test_require_tokens_message():
    require_tokens(120, 120, "ok.txt")
    B, T = 4, 35
    needed = B * (T + 1)
    with pytest.raises(DataError) as info:
        require_tokens(100, needed, "small.txt", batch_size=B, bptt=T)
    assert_one_line(info.value, "small.txt", "100 tokens", f"{B} x ({T}+1)", str(needed), "--batch-size/--bptt")


def test_build_vocabulary_counts_match_the_file(tmp_path):
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in rng.integers(0, 12, size=200)]
    lines = [" ".join(words[i : i + 7]) for i in range(0, 200, 7)]
    path = write(tmp_path, "t.txt", "\n".join(lines) + "\n")
    vocab, tokens = build_vocabulary(path, max_size=8)
    counts = Counter(t for t in tokens if t not in (UNK, EOS))
    kept = vocab.tokens[2:]
    assert kept == sorted(counts, key=lambda t: (-counts[t], t))[:6]
