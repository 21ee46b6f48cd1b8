"""Parallel corpora: readers (plain, .gz, TSV, CRLF, BOM), errors with lines, vocabularies, batches."""
from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data.parallel import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    SPECIALS,
    UNK_ID,
    SentencePair,
    build_vocab,
    decode_ids,
    encode_pairs,
    filter_by_length,
    make_batch,
    make_batches,
    multi30k_files,
    read_multi30k,
    read_parallel,
    read_tsv_pairs,
)
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.data.vocab import Vocabulary
from rnnkit.errors import DataError, RnnkitError

DE = ["Zwei junge weiße Männer sind im Freien.", "Ein Mädchen klettert in ein Spielhaus aus Holz.",
      "Ein Mann in einem „Mongolian BBQ“ sitzt auf (einem) Stuhl!"]
EN = ["Two young, White males are outside.", "A little girl climbing into a wooden playhouse.",
      'A man\'s "big" dog, 3 years old, runs; it is fast?']
MULTI30K = Path(__file__).resolve().parents[2] / "shared" / "data" / "multi30k"


def write(path: Path, lines: list[str], newline: str = "\n", bom: bool = False) -> Path:
    data = ("\ufeff" if bom else "") + newline.join(lines) + newline
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(data.encode("utf-8"))
    return path


def random_pairs(rng: np.random.Generator, n: int, vocab_size: int = 20, max_len: int = 9):
    """n id pairs with random lengths in [1, max_len] and ids that are never specials."""
    pairs = []
    for _ in range(n):
        src = rng.integers(len(SPECIALS), vocab_size, size=rng.integers(1, max_len + 1))
        tgt = rng.integers(len(SPECIALS), vocab_size, size=rng.integers(1, max_len + 1))
        pairs.append((src, tgt))
    return pairs


# ---------------------------------------------------------------- tokenisers


def test_word_and_char_tokenisers_collapse_whitespace_and_round_trip():
    text = "  Ein  Mädchen\tklettert  "
    word = Tokenizer("word")
    char = Tokenizer("char")
    assert word.tokenize(text) == text.split()
    assert word.detokenize(word.tokenize(text)) == " ".join(text.split())
    assert char.tokenize(text) == list(" ".join(text.split()))
    assert char.detokenize(char.tokenize(text)) == " ".join(text.split())
    assert Tokenizer("word", lowercase=True).tokenize(text) == text.lower().split()


@pytest.mark.parametrize("sentence", DE + EN)
def test_punct_tokeniser_splits_punctuation_and_detokenises_back(sentence):
    tok = Tokenizer("punct")
    tokens = tok.tokenize(sentence)
    for mark in ".,!?;()„“\"":
        assert all(t == mark or mark not in t for t in tokens), f"{mark!r} not split off in {tokens}"
    assert tok.detokenize(tokens) == sentence


def test_punct_tokeniser_keeps_words_with_inner_marks_together():
    tokens = Tokenizer("punct").tokenize("A man's t-shirt costs 1,000 or 3.5 and Zwei- und vierbeinige.")
    for word in ("man's", "t-shirt", "1,000", "3.5", "Zwei-"):
        assert word in tokens, f"{word!r} missing from {tokens}"


def test_tokenizer_rejects_an_unknown_level():
    with pytest.raises(ValueError, match="level"):
        Tokenizer("subword")


# ---------------------------------------------------------------- readers


def test_parallel_files_with_crlf_and_bom_give_tokens_raw_text_and_lines(tmp_path):
    src = write(tmp_path / "train.de", DE, newline="\r\n", bom=True)
    tgt = write(tmp_path / "train.en", EN)
    pairs = read_parallel(src, tgt, Tokenizer("punct"), Tokenizer("word", lowercase=True))
    assert len(pairs) == len(DE)
    for k, pair in enumerate(pairs):
        assert isinstance(pair, SentencePair)
        assert pair.line == k + 1
        assert pair.source_text == DE[k]  # no BOM, no \r
        assert pair.target_text == EN[k]  # the raw reference keeps its case
        assert pair.source == Tokenizer("punct").tokenize(DE[k])
        assert pair.target == EN[k].lower().split()


def test_gz_pair_reads_like_the_plain_files(tmp_path):
    plain = read_parallel(write(tmp_path / "a.de", DE), write(tmp_path / "a.en", EN))
    packed = read_parallel(write(tmp_path / "a.de.gz", DE), write(tmp_path / "a.en.gz", EN))
    assert packed == plain


def test_tsv_pairs_with_crlf_bom_and_column_choice(tmp_path):
    path = write(tmp_path / "pairs.tsv", [f"{d}\t{e}" for d, e in zip(DE, EN)], newline="\r\n", bom=True)
    pairs = read_tsv_pairs(path)
    assert [p.source_text for p in pairs] == DE
    assert [p.target_text for p in pairs] == EN
    assert [p.target for p in pairs] == [e.split() for e in EN]
    three = write(tmp_path / "anki.tsv", [f"{e}\t{d}\tCC-BY #{k}" for k, (d, e) in enumerate(zip(DE, EN))])
    swapped = read_tsv_pairs(three, columns=(1, 0))
    assert [p.source_text for p in swapped] == DE
    assert [p.target_text for p in swapped] == EN
    with pytest.raises(DataError, match=r"anki.tsv:1: 3 tab-separated fields, and a pair is two"):
        read_tsv_pairs(three)  # which two of three is not guessed
    with pytest.raises(DataError, match=r"pairs.tsv:1: columns=\(1, 2\) but the line has 2 fields; choose indices "
                                        r"from 0 to 1 \(rnnkit's --columns applies to every TSV file given"):
        read_tsv_pairs(path, columns=(1, 2))  # a two-column --valid beside a three-column --train


def test_tsv_header_line_is_refused_unless_skipped(tmp_path):
    """A first line of column names is not read as a pair: refused without header=True, skipped with it (the
    pairs keep their line numbers); a pair of short real words stays a pair."""
    lines = [f"{d}\t{e}" for d, e in zip(DE, EN)]
    for names in ("source\ttarget", "de\tfr", "German sentence\tEnglish_text", "zh-CN\t英文"):
        path = write(tmp_path / "h.tsv", [names, *lines])
        with pytest.raises(DataError, match=r"h.tsv:1: the first line \(.*\) looks like a header"):
            read_tsv_pairs(path)
        pairs = read_tsv_pairs(path, header=True)
        assert [p.source_text for p in pairs] == DE and [p.line for p in pairs] == list(range(2, len(DE) + 2))
    assert read_tsv_pairs(write(tmp_path / "w.tsv", ["de\tof", *lines]))[0].source_text == "de"  # a pair
    three = write(tmp_path / "three.tsv", ["id\tsrc\ttgt", *(f"{k}\t{line}" for k, line in enumerate(lines))])
    with pytest.raises(DataError, match="looks like a header"):
        read_tsv_pairs(three, columns=(1, 2))
    with pytest.raises(DataError, match=r"only.tsv: has a header line and no pair after it"):
        read_tsv_pairs(write(tmp_path / "only.tsv", ["source\ttarget"]), header=True)


def test_mismatched_line_counts_name_both_files_and_counts(tmp_path):
    src = write(tmp_path / "train.de", DE)
    tgt = write(tmp_path / "train.en", EN[:2])
    with pytest.raises(DataError) as info:
        read_parallel(src, tgt)
    message = str(info.value)
    for part in (str(src), str(tgt), f"has {len(DE)} lines", f"has {len(EN) - 1}", "line 3"):
        assert part in message, f"{part!r} missing from: {message}"
    assert isinstance(info.value, RnnkitError)
    src.write_text("ein Satz\n" * 3000, encoding="utf-8")  # counts as rnnkit writes them: 3,000
    tgt.write_text("a sentence\n" * 200, encoding="utf-8")
    with pytest.raises(DataError, match=r"has 3,000 lines but .* has 200; .*\(line 201 has no partner\)"):
        read_parallel(src, tgt)


@pytest.mark.parametrize("side", ["source", "target"])
def test_empty_line_names_its_file_and_line(tmp_path, side):
    de = list(DE)
    en = list(EN)
    (de if side == "source" else en)[1] = "   "
    src = write(tmp_path / "x.de", de)
    tgt = write(tmp_path / "x.en", en)
    bad = src if side == "source" else tgt
    with pytest.raises(DataError, match="empty line") as info:
        read_parallel(src, tgt)
    assert f"{bad}:2:" in str(info.value), str(info.value)
    assert "delete line 2 from both" in str(info.value)


@pytest.mark.parametrize(
    "lines, expected",
    [
        (["a\tb", "c d e f"], ":2: expected source<TAB>target, got a line without a tab"),
        (["a\tb", "c\td\te"], ":2: expected 2 tab-separated fields like line 1, got 3"),
        (["a\tb", "c\t "], ":2: the target (field 2) is empty"),
        (["a\tb", "", "c\td"], ":2: empty line"),
    ],
)
def test_tsv_errors_give_file_and_line(tmp_path, lines, expected):
    path = write(tmp_path / "bad.tsv", lines)
    with pytest.raises(DataError) as info:
        read_tsv_pairs(path)
    assert f"{path}{expected}" in str(info.value), str(info.value)


def test_missing_file_and_bad_multi30k_arguments(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_parallel(tmp_path / "nope.de", tmp_path / "nope.en")
    with pytest.raises(DataError, match=r"train\.de\.gz: no such file"):
        multi30k_files(tmp_path, "train", "de", "en")
    with pytest.raises(ValueError, match="split"):
        multi30k_files(tmp_path, "test", "de", "en")
    with pytest.raises(ValueError, match="two different languages"):
        multi30k_files(tmp_path, "val", "en", "en")


def test_multi30k_gz_files_in_a_tmp_folder(tmp_path):
    folder = tmp_path / "task1_raw"
    folder.mkdir()
    write(folder / "val.de.gz", DE)
    write(folder / "val.en.gz", EN)
    pairs = read_multi30k(tmp_path, "val", "de", "en")
    assert [p.target_text for p in pairs] == EN
    assert pairs[0].source == Tokenizer("punct").tokenize(DE[0])  # raw text: punct by default


@pytest.mark.skipif(not MULTI30K.is_dir(), reason="Multi30k not in ../shared/data")
def test_real_multi30k_val_split():
    pairs = read_multi30k(MULTI30K, "val", "de", "en")
    assert len(pairs) == 1014
    tok = Tokenizer("punct")
    same = sum(tok.detokenize(p.target) == " ".join(p.target_text.split()) for p in pairs)
    assert same / len(pairs) > 0.99, f"only {same} of {len(pairs)} references detokenise back"


# ---------------------------------------------------------------- vocabularies and ids


def test_vocab_has_specials_first_then_tokens_by_count():
    sentences = [["b", "a", "b"], ["c", "b", "a", "<pad>", "<bos>"], ["d"]]
    vocab = build_vocab(sentences)
    assert vocab.tokens[: len(SPECIALS)] == list(SPECIALS)
    assert (vocab.token_id("<pad>"), vocab.token_id("<bos>"), vocab.eos_id, vocab.unk_id) == (
        PAD_ID, BOS_ID, EOS_ID, UNK_ID)
    counts = Counter(t for s in sentences for t in s if t not in SPECIALS)
    rest = vocab.tokens[len(SPECIALS):]
    assert rest == sorted(counts, key=lambda t: (-counts[t], t))
    assert build_vocab(sentences, max_size=5).tokens == list(SPECIALS) + rest[:1]
    assert build_vocab(sentences, min_count=2).tokens == list(SPECIALS) + [t for t in rest if counts[t] >= 2]
    assert Vocabulary.from_json(vocab.to_json()) == vocab
    with pytest.raises(ValueError, match="max_size >= 4"):
        build_vocab(sentences, max_size=3)


def test_encode_and_decode_ids_round_trip_through_detokenisation(tmp_path):
    pairs = read_parallel(write(tmp_path / "a.de", DE), write(tmp_path / "a.en", EN),
                          Tokenizer("punct"), Tokenizer("punct"))
    src_vocab = build_vocab(p.source for p in pairs)
    tgt_vocab = build_vocab(p.target for p in pairs[:2])  # the third sentence has unknown words
    encoded = encode_pairs(pairs, src_vocab, tgt_vocab)
    for pair, (s, t) in zip(pairs, encoded):
        assert s.dtype == np.int64 and len(s) == len(pair.source) and len(t) == len(pair.target)
    tok = Tokenizer("punct")
    for k in range(2):
        ids = np.concatenate([[BOS_ID], encoded[k][1], [EOS_ID, PAD_ID, 5, 6]])
        assert decode_ids(ids, tgt_vocab, tok) == EN[k]
    assert UNK_ID in encoded[2][1]
    with pytest.raises(ValueError, match="Expected source_vocab to start with"):
        encode_pairs(pairs, Vocabulary.build(["a"]), tgt_vocab)


# ---------------------------------------------------------------- batches


def check_batch(batch, encoded):
    """Every array of ``batch`` against the pairs it says it holds (batch.index)."""
    B = len(batch.index)
    S, T = batch.src.shape[0], batch.tgt_in.shape[0]
    assert batch.src.shape == (S, B) and batch.src_lengths.shape == (B,)
    assert batch.tgt_in.shape == batch.tgt_out.shape == batch.tgt_mask.shape == (T, B)
    assert batch.tgt_mask.dtype == bool and batch.src.dtype == np.int64
    assert S == max(len(encoded[i][0]) for i in batch.index)
    assert T == max(len(encoded[i][1]) for i in batch.index) + 1
    for b, i in enumerate(batch.index):
        s, t = encoded[i]
        n, m = len(s), len(t)
        assert batch.src_lengths[b] == n
        np.testing.assert_array_equal(batch.src[:n, b], s, err_msg=f"src column {b}")
        assert np.all(batch.src[n:, b] == PAD_ID), f"src padding of column {b}"
        np.testing.assert_array_equal(batch.tgt_in[: m + 1, b], np.r_[BOS_ID, t], err_msg=f"tgt_in column {b}")
        np.testing.assert_array_equal(batch.tgt_out[: m + 1, b], np.r_[t, EOS_ID], err_msg=f"tgt_out column {b}")
        assert np.all(batch.tgt_in[m + 1 :, b] == PAD_ID) and np.all(batch.tgt_out[m + 1 :, b] == PAD_ID)
        np.testing.assert_array_equal(batch.tgt_mask[:, b], np.arange(T) <= m, err_msg=f"tgt_mask column {b}")


def test_make_batch_pads_time_major_arrays():
    rng = np.random.default_rng(0)
    encoded = random_pairs(rng, 7)
    check_batch(make_batch(encoded), encoded)
    with pytest.raises(ValueError, match="at least one token"):
        make_batch([(np.array([], dtype=np.int64), np.array([5]))])


def source_padding(batches) -> int:
    return sum(int((b.src == PAD_ID).sum()) for b in batches)


@pytest.mark.parametrize("seeded", [False, True])
def test_make_batches_covers_every_pair_once_and_buckets_by_length(seeded):
    encoded = random_pairs(np.random.default_rng(1), 203, max_len=15)
    rng = np.random.default_rng(2) if seeded else None
    batches = make_batches(encoded, batch_size=16, rng=rng, pool_size=4)
    order = np.concatenate([b.index for b in batches])
    assert sorted(order.tolist()) == list(range(len(encoded)))
    assert all(len(b.index) <= 16 for b in batches)
    for batch in batches:
        check_batch(batch, encoded)
    if not seeded:  # fully sorted by (source, target) length, ties in file order
        keys = [(len(encoded[i][0]), len(encoded[i][1]), i) for i in order]
        assert keys == sorted(keys)
    unsorted = make_batches(encoded, batch_size=16, rng=np.random.default_rng(2), sort=False)
    # buckets sort by source length first: that side's padding must shrink a lot
    assert source_padding(batches) < 0.5 * source_padding(unsorted), (source_padding(batches),
                                                                       source_padding(unsorted))


def test_make_batches_is_deterministic_for_a_seed_and_varies_across_seeds():
    encoded = random_pairs(np.random.default_rng(3), 120)

    def run(seed):
        return make_batches(encoded, 8, rng=np.random.default_rng(seed), pool_size=3)

    first, again, other = run(7), run(7), run(8)
    for a, b in zip(first, again):
        for name, x, y in zip(a._fields, a, b):
            np.testing.assert_array_equal(x, y, err_msg=name)
    assert not np.array_equal(np.concatenate([b.index for b in first]), np.concatenate([b.index for b in other]))


def test_filter_by_length_and_argument_errors(tmp_path):
    encoded = random_pairs(np.random.default_rng(4), 50)
    kept = filter_by_length(encoded, max_source_length=5, max_target_length=4)
    assert kept == [p for p in encoded if len(p[0]) <= 5 and len(p[1]) <= 4]
    assert 0 < len(kept) < len(encoded)
    pairs = read_parallel(write(tmp_path / "a.de", DE), write(tmp_path / "a.en", EN))
    assert filter_by_length(pairs, max_target_length=7) == [p for p in pairs if len(p.target) <= 7]
    with pytest.raises(ValueError, match=r"max_source_length to be an integer >= 1 or None, got 0"):
        filter_by_length(encoded, max_source_length=0)
    with pytest.raises(ValueError, match=r"batch_size to be an integer >= 1, got 0$"):
        make_batches(encoded, 0)
    with pytest.raises(ValueError, match=r"pool_size to be an integer >= 1 or None, got True"):
        make_batches(encoded, 4, pool_size=True)
    assert len(make_batches(encoded, 4, pool_size=np.int64(2))) == len(make_batches(encoded, 4, pool_size=None))
    with pytest.raises(TypeError, match="Generator"):
        make_batches(encoded, 4, rng=3)
