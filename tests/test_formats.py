"""Readers and writers of tagging / classification formats, and span / BMES tag conversions."""
from __future__ import annotations

import bz2
import gzip
import lzma
import re
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data.classification import read_polarity, read_tsv, write_tsv
from rnnkit.data.columns import format_columns, read_columns
from rnnkit.data.conll import format_conllu, parse_conllu, read_conllu, write_conllu
from rnnkit.data.segmentation import read_segmented, tags_to_words, words_to_tags, write_segmented
from rnnkit.data.spans import bioes_to_iob2, convert, iob1_to_iob2, iob2_to_bioes, spans, spans_to_tags
from rnnkit.errors import DataError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

CONLLU = (
    "# newdoc id = d1\n"
    "# sent_id = s1\n"
    "# text = I don't know.\n"
    "1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No\n"
    "4.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t4:conj\tCopyOf=4\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_\n"
    "\n"
    "# sent_id = s2\n"
    "1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_\n"
    "\n"
)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def expect_data_error(path: Path, line: int, *words: str):
    """Context manager: a DataError whose message names ``path:line`` and contains ``words``."""
    needles = (f"{path.name}:{line}:",) + words
    return pytest.raises(DataError, match="(?s)" + "".join(f"(?=.*{re.escape(w)})" for w in needles))


# ---------------------------------------------------------------- CoNLL-U


def test_conllu_skips_multiword_tokens_and_empty_nodes_and_keeps_comments(tmp_path):
    path = write(tmp_path, "a.conllu", CONLLU)
    sentences = read_conllu(path)
    assert [s.words for s in sentences] == [["I", "do", "n't", "know", "."], ["Yes"]]
    assert [s.tags for s in sentences] == [["PRON", "AUX", "PART", "VERB", "PUNCT"], ["INTJ"]]
    assert sentences[0].comments == ["# newdoc id = d1", "# sent_id = s1", "# text = I don't know."]
    assert sentences[1].comments == ["# sent_id = s2"]
    assert [s.line_number for s in sentences] == [1, 12]
    assert read_conllu(path, column="xpos")[0].tags == ["PRP", "VBP", "RB", "VB", "."]


@pytest.mark.parametrize("variant", ["plain", "crlf", "no_final_newline", "extra_blanks", "bom"])
def test_conllu_writer_round_trip_is_byte_identical(tmp_path, variant):
    text = CONLLU
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    elif variant == "no_final_newline":
        text = text.rstrip("\n")
    elif variant == "extra_blanks":
        text = "\n\n" + text.replace("\n\n", "\n\n\n") + "\n"
    elif variant == "bom":
        text = "\ufeff" + text
    for column in ("upos", "xpos"):
        sentences = read_conllu(write(tmp_path, "in.conllu", text), column=column)
        assert sentences[0].comments[1] == "# sent_id = s1", f"{variant}: comment read with its line end"
        assert sentences[0].words[-1] == "."
        out = tmp_path / "out.conllu"
        write_conllu(out, sentences, [s.tags for s in sentences], column=column)
        # a file whose last sentence lacks its blank line (and line end) is written as CoNLL-U requires
        expected = text + "\n\n" if variant == "no_final_newline" else text
        assert out.read_bytes() == expected.encode("utf-8"), f"{variant}/{column}: written file differs from input"
        if variant == "no_final_newline":
            again = read_conllu(out, column=column)
            assert [(a.words, a.tags) for a in again] == [(b.words, b.tags) for b in sentences]


def test_conllu_writer_replaces_only_the_chosen_column():
    sentences = parse_conllu(CONLLU)
    predictions = [[f"P{i}" for i in range(len(s.words))] for s in sentences]
    for column, index in (("upos", 3), ("xpos", 4)):
        out = format_conllu(sentences, predictions, column).split("\n")
        original = CONLLU.split("\n")
        assert len(out) == len(original)
        flat = iter(tag for pred in predictions for tag in pred)
        for before, after in zip(original, out):
            fields_before = before.split("\t")
            is_word = len(fields_before) == 10 and fields_before[0].isdigit()
            if not is_word:
                assert after == before, f"non-word line changed: {before!r} -> {after!r}"
                continue
            fields_after = after.split("\t")
            assert fields_after[index] == next(flat)
            fields_after[index] = fields_before[index]
            assert fields_after == fields_before, f"{column}: another column changed in {before!r}"
        assert parse_conllu("\n".join(out), column).__getitem__(0).tags == predictions[0]


@pytest.mark.parametrize("suffix, opener", [(".gz", gzip.open), (".xz", lzma.open), (".bz2", bz2.open)])
def test_conllu_reads_and_writes_compressed_files(tmp_path, suffix, opener):
    path = tmp_path / f"a.conllu{suffix}"
    with opener(path, "wb") as f:
        f.write(CONLLU.encode("utf-8"))
    sentences = read_conllu(path)
    assert sentences[1].words == ["Yes"]
    out = tmp_path / f"b.conllu{suffix}"
    write_conllu(out, sentences, [s.tags for s in sentences])
    with opener(out, "rb") as f:
        assert f.read() == CONLLU.encode("utf-8")


def test_conllu_real_ud_dev_file_round_trips():
    path = DATA / "ud_english_ewt" / "en_ewt-ud-dev.conllu"
    if not path.exists():
        pytest.skip(f"{path} not available")
    sentences = read_conllu(path)
    assert len(sentences) == 2001  # counts from the data README
    assert sum(len(s.words) for s in sentences) == 25147
    assert format_conllu(sentences, [s.tags for s in sentences]).encode("utf-8") == path.read_bytes()


@pytest.mark.parametrize("bad_line, words", [
    ("1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_", ["10 tab-separated", "got 9"]),
    ("1 Yes yes INTJ UH _ 0 root _ _", ["10 tab-separated", "got 1", "tabs"]),
    ("x\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_", ["ID", "'x'"]),
    ("2\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_", ["word ID 1", "got 2"]),
    ("1\tYes\tyes\t\tUH\t_\t0\troot\t_\t_", ["UPOS", "empty"]),
    ("1\t\tyes\tINTJ\tUH\t_\t0\troot\t_\t_", ["FORM", "empty"]),
])
def test_conllu_rejects_malformed_lines_naming_file_and_line(tmp_path, bad_line, words):
    # a good sentence (lines 1-3), then the bad line as line 4
    path = write(tmp_path, "bad.conllu", "# sent_id = 1\n1\tA\ta\tX\tX\t_\t0\troot\t_\t_\n\n" + bad_line + "\n\n")
    with expect_data_error(path, 4, *words):
        read_conllu(path)


def test_conllu_rejects_comment_inside_sentence_non_utf8_and_empty_file(tmp_path):
    path = write(tmp_path, "c.conllu", "1\tA\ta\tX\tX\t_\t0\troot\t_\t_\n# late\n")
    with expect_data_error(path, 2, "comment"):
        read_conllu(path)
    latin = b"1\tA\ta\tX\tX\t_\t0\troot\t_\t_\n2\tcaf\xe9\tx\tX\tX\t_\t0\tx\t_\t_\n"
    path = write(tmp_path, "latin.conllu", latin)
    with expect_data_error(path, 2, "0xe9", "encoding"):
        read_conllu(path)
    path = write(tmp_path, "empty.conllu", "\n\n")
    with pytest.raises(DataError, match="empty.conllu: .*got no sentences: only 2 blank lines"):
        read_conllu(path)
    with pytest.raises(DataError, match="missing.conllu: no such file"):
        read_conllu(tmp_path / "missing.conllu")
    with pytest.raises(ValueError, match="column.*'lemma'"):
        read_conllu(tmp_path / "x.conllu", column="lemma")


@pytest.mark.parametrize("ranges, words", [
    ("2-1", ["multiword range from word 1", "got 2-1"]),
    ("1-1", ["got 1-1"]),
    ("2-3", ["from word 1 (the next word's ID)", "such as 1-2, got 2-3"]),
    ("1-3", ["multiword range 1-3 goes beyond the sentence's last word, 2"]),
])
def test_conllu_rejects_a_multiword_range_that_does_not_cover_the_next_words(tmp_path, ranges, words):
    """French "du" = "de le" is 1-2 before words 1 and 2; a range backwards, not at the next word or
    past the sentence's end was read without a word."""
    text = (f"{ranges}\tdu\t_\t_\t_\t_\t_\t_\t_\t_\n" "1\tde\tde\tADP\tP\t_\t0\troot\t_\t_\n"
            "2\tle\tle\tDET\tD\t_\t1\tdet\t_\t_\n\n")
    with expect_data_error(write(tmp_path, "r.conllu", text), 1, *words):
        read_conllu(tmp_path / "r.conllu")
    assert read_conllu(write(tmp_path, "ok.conllu", text.replace(ranges, "1-2", 1)))[0].words == ["de", "le"]


# ---------------------------------------------------------------- column files

COLUMNS = "-DOCSTART- -X- O\n\nHe PRP B-NP\nreckons VBZ B-VP\n\nthe DT B-NP\ncurrent JJ I-NP\n"


def test_columns_reader_chooses_columns_and_writer_appends_or_replaces(tmp_path):
    path = write(tmp_path, "c.txt", COLUMNS)
    sentences = read_columns(path)
    assert [s.words for s in sentences] == [["He", "reckons"], ["the", "current"]]
    assert [s.tags for s in sentences] == [["B-NP", "B-VP"], ["B-NP", "I-NP"]]
    assert [s.line_number for s in sentences] == [3, 6]
    pos = read_columns(path, word_column=0, tag_column=1)
    assert [s.tags for s in pos] == [["PRP", "VBZ"], ["DT", "JJ"]]
    assert read_columns(path, tag_column=None)[0].tags is None
    assert len(read_columns(path, skip_docstart=False)) == 3
    crlf = read_columns(write(tmp_path, "crlf.txt", COLUMNS.replace("\n", "\r\n")))
    assert [(s.words, s.tags) for s in crlf] == [(s.words, s.tags) for s in sentences]
    pred = [["B-NP", "I-NP"], ["O", "I-NP"]]
    appended = format_columns(sentences, pred)
    # line for line: the -DOCSTART- line and its blank line are written back in their places
    assert appended.split("\n")[:5] == ["-DOCSTART- -X- O", "", "He PRP B-NP B-NP", "reckons VBZ B-VP I-NP", ""]
    assert len(appended.splitlines()) == len(COLUMNS.splitlines()) + 1  # a last blank line added
    spaced = read_columns(write(tmp_path, "s.txt", COLUMNS.replace("\n\nthe", "\n\n\n\nthe")))
    assert format_columns(spaced, pred).splitlines()[5:8] == ["", "", "the DT B-NP O"]
    replaced = write(tmp_path, "r.txt", format_columns(sentences, pred, column=2))
    assert [s.tags for s in read_columns(replaced)] == pred
    assert [s.words for s in read_columns(replaced)] == [s.words for s in sentences]


def test_columns_reader_rejects_malformed_lines(tmp_path):
    path = write(tmp_path, "c.txt", "He PRP B-NP\nreckons B-VP\n")
    with expect_data_error(path, 2, "3 whitespace-separated columns", "got 2"):
        read_columns(path)
    path = write(tmp_path, "d.txt", "\nHe PRP\n")
    with expect_data_error(path, 2, "tag column 5 asked for", "2 columns", "from 0 to 1"):
        read_columns(path, tag_column=5)
    with pytest.raises(TypeError, match="word_column"):
        read_columns(path, word_column="0")
    for odd, name in (("\u00a0", "U+00A0 (no-break space)"), ("\u2028", "U+2028 (line separator)")):
        path = write(tmp_path, "e.txt", f"He PRP B-NP\n10{odd}000 CD B-NP\n")  # a space inside a token
        with expect_data_error(path, 2, "got 4", f"the line holds {name}, which separates columns as a space does"):
            read_columns(path)


# ---------------------------------------------------------------- span tags


def random_spans(rng: np.random.Generator, length: int, types=("PER", "LOC", "ORG")) -> list[tuple[str, int, int]]:
    """Random non-overlapping spans, often touching (to exercise IOB1's B)."""
    found = []
    i = 0
    while i < length:
        if rng.random() < 0.3:
            i += 1
            continue
        end = min(length, i + int(rng.integers(1, 4)))
        found.append((str(rng.choice(types[:2] if rng.random() < 0.5 else types)), i, end))
        i = end
    return found


def test_spans_on_hand_made_sequences():
    assert spans(["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-ORG"]) == [
        ("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 5), ("ORG", 5, 6)]
    assert spans(["I-NP", "I-NP", "B-NP", "O", "I-VP"], "iob1") == [("NP", 0, 2), ("NP", 2, 3), ("VP", 4, 5)]
    assert spans(["S-A", "B-A", "I-A", "E-A", "E-A", "O", "B-A"], "bioes") == [
        ("A", 0, 1), ("A", 1, 4), ("A", 4, 5), ("A", 6, 7)]
    assert iob1_to_iob2(["I-NP", "I-NP", "B-NP", "O", "I-VP"]) == ["B-NP", "I-NP", "B-NP", "O", "B-VP"]
    assert iob2_to_bioes(["B-X", "I-X", "I-X", "B-X", "O", "B-Y", "I-Y"]) == [
        "B-X", "I-X", "E-X", "S-X", "O", "B-Y", "E-Y"]
    assert bioes_to_iob2(["S-X", "B-Y", "E-Y"]) == ["B-X", "B-Y", "I-Y"]
    assert convert(["B-X", "B-X", "O", "B-X"], "iob2", "iob1") == ["I-X", "B-X", "O", "I-X"]
    assert convert(["B-X", "B-Y", "I-Y"], "iob2", "iob1") == ["I-X", "I-Y", "I-Y"]


def test_span_conversions_round_trip_on_random_sequences():
    rng = np.random.default_rng(0)
    for trial in range(300):
        length = int(rng.integers(0, 12))
        found = random_spans(rng, length)
        iob2 = spans_to_tags(found, length, "iob2")
        iob1 = spans_to_tags(found, length, "iob1")
        bioes = spans_to_tags(found, length, "bioes")
        assert spans(iob2) == found, f"trial {trial}: {iob2}"
        assert spans(iob1, "iob1") == found, f"trial {trial}: {iob1}"
        assert spans(bioes, "bioes") == found, f"trial {trial}: {bioes}"
        assert iob1_to_iob2(iob1) == iob2, f"trial {trial}: {iob1}"
        assert spans(iob1_to_iob2(iob1)) == spans(iob1, "iob1")
        assert iob2_to_bioes(iob2) == bioes, f"trial {trial}: {iob2}"
        assert bioes_to_iob2(bioes) == iob2, f"trial {trial}: {bioes}"
        assert bioes_to_iob2(iob2_to_bioes(iob2)) == iob2


def test_ill_formed_sequences_convert_to_the_spans_they_are_read_as():
    rng = np.random.default_rng(1)
    tags = ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "I-Y", "E-Y", "S-Y"]
    for _ in range(200):
        seq = [str(t) for t in rng.choice(tags, size=int(rng.integers(1, 10)))]
        as_iob2 = bioes_to_iob2(seq)
        assert spans(as_iob2) == spans(seq, "bioes"), seq
        assert spans(iob2_to_bioes(as_iob2), "bioes") == spans(seq, "bioes"), seq


@pytest.mark.parametrize("tags, scheme", [
    (["B-X", "E-X"], "iob2"), (["X"], "iob1"), (["B-"], "bioes"), (["b-X"], "iob2"),
])
def test_spans_reject_tags_outside_the_scheme(tags, scheme):
    with pytest.raises(ValueError, match=f"{scheme.upper()} tag.*position"):
        spans(tags, scheme)


# ---------------------------------------------------------------- segmentation (BMES)


def test_words_to_tags_and_back_on_hand_made_sentence():
    chars, tags = words_to_tags(["我们", "爱", "北京大学"])
    assert "".join(chars) == "我们爱北京大学"
    assert tags == ["B", "E", "S", "B", "M", "M", "E"]
    assert tags_to_words(chars, tags) == ["我们", "爱", "北京大学"]


def test_tags_to_words_is_robust_to_illegal_sequences():
    chars = list("abcdef")
    assert tags_to_words(chars, ["M", "M", "S", "E", "B", "B"]) == ["ab", "c", "d", "e", "f"]
    assert tags_to_words(chars, ["E", "E", "E", "M", "M", "B"]) == ["a", "b", "c", "de", "f"]
    rng = np.random.default_rng(2)
    for _ in range(200):
        n = int(rng.integers(0, 10))
        chars = [chr(0x4E00 + int(c)) for c in rng.integers(0, 50, size=n)]
        words = tags_to_words(chars, [str(t) for t in rng.choice(list("BMES"), size=n)])
        assert "".join(words) == "".join(chars)
        assert all(words)
    with pytest.raises(ValueError, match="tag among.*'X' at position 1"):
        tags_to_words(["a", "b"], ["B", "X"])
    with pytest.raises(ValueError, match="as many tags"):
        tags_to_words(["a", "b"], ["S"])


def test_bmes_round_trip_on_random_segmentations():
    rng = np.random.default_rng(3)
    for _ in range(200):
        words = ["".join(chr(0x4E00 + int(c)) for c in rng.integers(0, 30, size=int(rng.integers(1, 5))))
                 for _ in range(int(rng.integers(0, 8)))]
        chars, tags = words_to_tags(words)
        assert tags_to_words(chars, tags) == words


def test_segmented_file_separators_include_full_width_space(tmp_path):
    path = write(tmp_path, "seg.txt", "我们 爱\u3000北京大学\n\n  他\t来  \r\n")
    assert read_segmented(path) == [["我们", "爱", "北京大学"], [], ["他", "来"]]
    out = tmp_path / "out.txt"
    write_segmented(out, read_segmented(path))
    assert read_segmented(out) == read_segmented(path)
    bad = write(tmp_path, "gbk.txt", "我们".encode("gb18030"))
    with expect_data_error(bad, 1, "at offset 0 is not valid UTF-8", "encoding"):
        read_segmented(bad)
    for name, text in (("empty.txt", ""), ("blank.txt", "\n \n\u3000\n")):
        got = "an empty file" if not text else "only 3 blank lines"
        with pytest.raises(DataError, match=f"^{re.escape(str(write(tmp_path, name, text)))}: expected segmented "
                                             f"sentences .*, got {got}$"):
            read_segmented(tmp_path / name)


# ---------------------------------------------------------------- classification


def test_tsv_reads_label_and_text_and_round_trips(tmp_path):
    path = write(tmp_path, "a.tsv", "pos\ta fine film\nneg\tdull\tand long\n")
    with pytest.warns(UserWarning, match=r"a\.tsv:2: 1 of 2 lines have more than two tab-separated columns"):
        examples = read_tsv(path)
    assert [(e.label, e.text) for e in examples] == [("pos", "a fine film"), ("neg", "dull\tand long")]
    out = tmp_path / "b.tsv"
    write_tsv(out, examples)
    with pytest.warns(UserWarning, match="more than two"):
        assert read_tsv(out) == examples
    assert read_tsv(write(tmp_path, "h.tsv", "label\ttext\npos\tok\n"), header=True) == [("pos", "ok")]
    assert read_tsv(write(tmp_path, "crlf.tsv", "pos\tok\r\nneg\tbad\r\n")) == [("pos", "ok"), ("neg", "bad")]


@pytest.mark.parametrize("text, line, words", [
    ("pos\tok\nno tab here\n", 2, ["label<TAB>text", "without a tab"]),
    ("pos\tok\n\t just text\n", 2, ["empty label"]),
    ("pos\tok\nneg\t  \n", 2, ["empty text"]),
    ("pos\tok\n\nneg\tbad\n", 2, ["empty line"]),
])
def test_tsv_rejects_malformed_lines(tmp_path, text, line, words):
    path = write(tmp_path, "bad.tsv", text)
    with expect_data_error(path, line, *words):
        read_tsv(path)


def test_polarity_files_need_cp1252_and_say_so(tmp_path):
    pos = write(tmp_path, "rt-polarity.pos", "a good film .\nthe r\xe9sum\xe9 is fine .\n".encode("cp1252"))
    neg = write(tmp_path, "rt-polarity.neg", b"dull .\n")
    with expect_data_error(pos, 2, "0xe9", "--encoding cp1252"):
        read_polarity(pos, neg)
    examples = read_polarity(pos, neg, encoding="cp1252")
    assert examples == [("pos", "a good film ."), ("pos", "the r\xe9sum\xe9 is fine ."), ("neg", "dull .")]
    blank = write(tmp_path, "blank.neg", b"dull .\n\nbad .\n")
    with expect_data_error(blank, 2, "empty line"):
        read_polarity(pos, blank, encoding="cp1252")
    with pytest.raises(ValueError, match="encoding"):
        read_polarity(pos, neg, encoding="no-such-codec")


def test_real_rt_polarity_files():
    pos = DATA / "rt_polarity" / "rt-polarity.pos"
    neg = DATA / "rt_polarity" / "rt-polarity.neg"
    if not pos.exists():
        pytest.skip(f"{pos} not available")
    with pytest.raises(DataError, match="rt-polarity.pos:44:.*--encoding cp1252"):
        read_polarity(pos, neg)
    examples = read_polarity(pos, neg, encoding="cp1252")
    assert [e.label for e in examples].count("pos") == 5331  # counts from the data README
    assert [e.label for e in examples].count("neg") == 5331

