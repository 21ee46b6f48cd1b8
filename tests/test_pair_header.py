"""A first line of column names in a source<TAB>target file: refused only when no sentence pair reads so, a guess
warned about and trained on, and --header on a file whose first line is a pair warned about."""
from __future__ import annotations

import warnings

import pytest

from rnnkit.data.pair_header import header_kind
from rnnkit.data.parallel import read_tsv_pairs
from rnnkit.errors import DataError

ROWS = ["Ein Hund läuft.\tA dog runs.", "Zwei Männer.\tTwo men."]


def write(path, first):
    path.write_text("\n".join([first, *ROWS]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("first", ["It\tEs", "English\tEnglisch", "Deutsch\tGerman", "Japanese\t日本語",
                                   "French\tfrançais", "Text\tText", "text\t文本", "源\tsource", "de\tof"])
def test_a_real_pair_of_names_is_read_as_a_pair_without_a_word(tmp_path, first):
    """Short pairs whose sides are one word, a word and its translation, or names of one language were refused
    as headers; a code counts only as codes are written (``It`` starts a sentence)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pairs = read_tsv_pairs(write(tmp_path / "p.tsv", first))
    assert len(pairs) == 3 and pairs[0].source_text == first.split("\t")[0]


@pytest.mark.parametrize("first", ["source\ttarget", "src\ttgt", "de\tfr", "DE\tEN", "zh\ten", "中文\t英文", "EN\tDE",
                                   "原文\t译文", "German sentence\tEnglish_text", "zh-CN\t英文"])
def test_two_languages_or_the_two_roles_are_refused(tmp_path, first):
    assert header_kind(first.split("\t")) == "header"
    with pytest.raises(DataError, match=r"p.tsv:1: the first line \(.*\) looks like a header"):
        read_tsv_pairs(write(tmp_path / "p.tsv", first))


@pytest.mark.parametrize("first", ["input\toutput", "es\tit", "it\tes", "id\tde", "de\ten", "ja\tda"])
def test_other_column_names_are_a_guess_warned_about_and_read(tmp_path, first):
    """Two lower-case codes that are words (German "es" is English "it") were refused as a header: a real
    lower-cased pair may be them, so they are a guess."""
    shown = "<TAB>".join(repr(f) for f in first.split("\t"))
    with pytest.warns(UserWarning) as caught:
        pairs = read_tsv_pairs(write(tmp_path / "p.tsv", first))
    assert len(pairs) == 3 and [str(w.message) for w in caught] == [
        f"{tmp_path / 'p.tsv'}:1: the first line ({shown}) may be a header, read as a sentence pair: if it is, give "
        "header=True (--header) to skip it"]


def test_header_on_a_first_line_that_reads_as_a_pair_is_warned_about(tmp_path):
    """--header dropped a real first pair without a word when the file had no header."""
    with pytest.warns(UserWarning, match=r"p.tsv:1: header=True \(--header\) skips the first line as a header, but "
                                         r"it reads as a sentence pair \('Ein Hund'<TAB>'A dog'\)"):
        assert len(read_tsv_pairs(write(tmp_path / "p.tsv", "Ein Hund\tA dog"), header=True)) == 2
    for first in ("source\ttarget", "zh\ten", "ES\tIT"):  # a header: no warning
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(read_tsv_pairs(write(tmp_path / "h.tsv", first), header=True)) == 2


@pytest.mark.parametrize("first", ["input\toutput", "es\tit"])
def test_header_on_a_first_line_that_is_only_a_guess_is_warned_about(tmp_path, first):
    """--header dropped a first line that was only a guess at a header without a word: it may be a real pair."""
    shown = "<TAB>".join(repr(f) for f in first.split("\t"))
    with pytest.warns(UserWarning) as caught:
        assert len(read_tsv_pairs(write(tmp_path / "g.tsv", first), header=True)) == 2
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 'g.tsv'}:1: header=True (--header) skips the first line as a header, but it may as well be a "
        f"sentence pair ({shown}), which is dropped; leave out --header if the file has no header line"]
