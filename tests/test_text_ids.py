"""rnnkit.data.text_ids.read_ids against the token-list path it replaces: read_tokens, Vocabulary.build,
Vocabulary.encode and oov_rate give the same vocabulary, ids, OOV figures and first tokens."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data import text_ids
from rnnkit.data.text import read_tokens
from rnnkit.data.text_ids import read_ids
from rnnkit.data.vocab import Vocabulary, oov_rate
from rnnkit.errors import DataError

TEXT = ("\ufeffthe cat sat\r\non the mat <unk> and <eos>\n\n  \t\nthe dog\u2028ran\x85far\x0cthe end\n"
        "中文 字符 中 文\n😀 emoji 😀 the\n" * 3 + "last line without an end")


@pytest.mark.parametrize("level", ["word", "char"])
@pytest.mark.parametrize("max_size, min_count", [(None, 1), (12, 1), (None, 2), (6, 3)])
def test_read_ids_gives_what_the_token_lists_give(tmp_path, monkeypatch, level, max_size, min_count):
    monkeypatch.setattr(text_ids, "SLICE", 7)  # many slices, each cut at a line end
    path = tmp_path / "train.txt"
    path.write_bytes(TEXT.encode("utf-8"))
    tokens = read_tokens(path, level)
    eos = "<eos>" if level == "word" else None
    vocab = Vocabulary.build(tokens, max_size=max_size, min_count=min_count, eos_token=eos)
    got = read_ids(path, level, max_size=max_size, min_count=min_count, head=5)
    assert got.vocab == vocab and got.head == tokens[:5]
    assert got.ids.dtype == np.int64 and np.array_equal(got.ids, vocab.encode(tokens))
    assert got.oov == oov_rate(tokens, vocab)
    other = tmp_path / "other.txt"  # a file encoded with a given vocabulary: its OOV tokens become <unk>
    other.write_text("the zebra 中 sat\nunknown words here 😀\n", encoding="utf-8")
    more = read_tokens(other, level)
    got = read_ids(other, level, vocab=vocab)
    assert got.vocab is vocab and np.array_equal(got.ids, vocab.encode(more)) and got.oov == oov_rate(more, vocab)
    assert got.oov.count > 0


@pytest.mark.parametrize("level, said", [("word", "holds only whitespace, no word token"),
                                         ("char", "holds nothing, no char token")])
def test_an_empty_file_is_the_same_error(tmp_path, level, said):
    path = tmp_path / "empty.txt"
    path.write_text(" \n\t\n" if level == "word" else "", encoding="utf-8")
    for read in (read_tokens, read_ids):
        with pytest.raises(DataError, match=said):
            read(path, level)


def test_a_lone_surrogate_is_a_character_like_any_other(tmp_path):
    """utf-7 (or unicode_escape) text may decode to a lone surrogate; encoding the text as UTF-32 to count
    its code points raised UnicodeEncodeError (said as an output problem) where list(text) kept it."""
    path = tmp_path / "u7.txt"
    path.write_bytes(b"ab+2AA-cd\nabc\n")  # +2AA- is U+D800 in UTF-7
    tokens = read_tokens(path, "char", "utf-7")
    assert "\ud800" in tokens
    vocab = Vocabulary.build(tokens, eos_token=None)
    got = read_ids(path, "char", "utf-7")
    assert got.vocab == vocab and np.array_equal(got.ids, vocab.encode(tokens)) and got.head == tokens
