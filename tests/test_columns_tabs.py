"""Tab-separated column files: a line holding a tab between its columns is split at tabs, so a token may hold a
space (``New York``), and ``tag --format columns`` writes the columns back with the file's own separator.  Before,
every line was split at whitespace: such a line failed with "expected 4 ... columns ..., got 5" and no hint, and the output
of a tab-separated file came back separated by spaces."""
from __future__ import annotations

import pytest
from clirun import run_cli
from test_formats import expect_data_error, write

from rnnkit.data.columns import column_fields, format_columns, read_columns

TABBED = "-DOCSTART-\t-X-\tO\n\nThe\tDT\tO\nNew York\tNNP\tB-LOC\n\nIt\tPRP\tO\nrains\tVBZ\tO\n\n"
FAST = ["--epochs", "1", "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]


def test_a_line_with_a_tab_is_split_at_tabs_only_and_one_without_at_whitespace():
    assert column_fields("New York\tNNP\tB-LOC") == ["New York", "NNP", "B-LOC"]
    assert column_fields("  word \t\t POS\t chunk \r") == ["word", "POS", "chunk"]  # aligned: runs of tabs
    assert column_fields("word  POS chunk") == ["word", "POS", "chunk"]
    assert column_fields(" \t ") == [] and column_fields("") == []


def test_a_tab_separated_file_reads_tokens_with_spaces_and_is_written_back_as_read(tmp_path):
    path = write(tmp_path, "t.txt", TABBED)
    sentences = read_columns(path)
    assert [s.words for s in sentences] == [["The", "New York"], ["It", "rains"]]
    assert [s.tags for s in sentences] == [["O", "B-LOC"], ["O", "O"]]
    assert {s.sep for s in sentences} == {"\t"}
    replaced = format_columns(sentences, [s.tags for s in sentences], column=-1)
    assert replaced == TABBED  # line for line, tabs and all
    assert format_columns(sentences, [["A", "B"], ["C", "D"]]).splitlines()[3] == "New York\tNNP\tB-LOC\tB"
    spaced = read_columns(write(tmp_path, "s.txt", "The DT O\nrains VBZ O\n"))
    assert spaced[0].sep == " " and format_columns(spaced, [["X", "Y"]]) == "The DT O X\nrains VBZ O Y\n\n"


def test_a_line_split_otherwise_than_the_first_is_said_so(tmp_path):
    path = write(tmp_path, "a.txt", "The\tDT\tO\nNew York NNP B-LOC\n")
    with expect_data_error(path, 2, "expected 3 tab-separated columns like the first token line, got 4 (the "
                           "first token line's columns are separated by tabs, this line's by spaces)"):
        read_columns(path)
    path = write(tmp_path, "b.txt", "The DT O\nNew York\tNNP B-LOC\n")
    with expect_data_error(path, 2, "got 2 split at its tabs (a line holding a tab between its columns is split at "
                           "tabs; the first token line's columns are separated by spaces)"):
        read_columns(path)


@pytest.mark.parametrize("probs", [[], ["--probs"]])
def test_tag_keeps_a_tab_separated_files_tabs_and_its_tokens_with_spaces(tmp_path, capsys, probs):
    train = str(write(tmp_path, "train.txt", TABBED * 3))
    code, _, err = run_cli(capsys, ["train", "tagger", "--format", "columns", "--train", train, *FAST, "--run-dir",
                                    str(tmp_path / "run")])
    assert code == 0, err
    code, out, err = run_cli(capsys, ["tag", str(tmp_path / "run"), "--format", "columns", train, *probs])
    assert code == 0, err
    lines = out.splitlines()
    tagged = [line.split("\t") for line in lines if line and not line.startswith("-DOCSTART-")]
    assert {len(row) for row in tagged} == {4 + len(probs)}, out  # the prediction (and its probability) appended
    assert [row[0] for row in tagged[:4]] == ["The", "New York", "It", "rains"], out
    # the input line for line, its tabs kept: each token line with its new columns after a tab
    want = (TABBED * 3).splitlines()
    assert len(lines) == len(want), out
    for line, source in zip(lines, want):
        kept = source == "" or source.startswith("-DOCSTART-")  # written back as read
        assert line == source if kept else line.startswith(source + "\t"), (line, source)


def test_trailing_tabs_and_lines_mixing_spaces_and_tabs_read_as_before(tmp_path):
    """Trailing spaces and tabs (hand-edited files) are no separator, and a line mixing spaces and a tab between
    its columns is split at whitespace when only that gives the file's column count: both read before the tab
    rule, and the tab rule broke them."""
    from rnnkit.data.columns import read_columns

    path = tmp_path / "mixed.txt"
    path.write_text("The DT B-NP  \t\nmeeting NN\tI-NP\t\n\nNew York\tNNP\tB-NP\n", encoding="utf-8")
    first, second = read_columns(path)
    assert first.words == ["The", "meeting"] and first.tags == ["B-NP", "I-NP"]
    assert second.words == ["New York"] and second.tags == ["B-NP"]


@pytest.mark.parametrize("sep", [None, " "])
def test_a_tab_separated_line_after_lines_of_spaces_is_written_so_that_it_reads_back(tmp_path, sep):
    """The separator was the first token line's: ``New York<TAB>NNP<TAB>B-NP`` after lines separated by spaces came
    back as ``New York NNP B-NP B-NP``, five columns, which did not read back."""
    path = write(tmp_path, "m.txt", "The DT B-NP\nmeeting NN I-NP\n\nNew York\tNNP\tB-NP\nis VBZ B-VP\n\n")
    sentences = read_columns(path)
    text = format_columns(sentences, [s.tags for s in sentences], sep=sep)
    assert text.splitlines()[3] == "New York\tNNP\tB-NP\tB-NP" and text.splitlines()[4] == "is VBZ B-VP B-VP"
    again = read_columns(write(tmp_path, "out.txt", text))
    assert [s.rows for s in again] == [[r + [r[-1]] for r in s.rows] for s in sentences]


def test_a_first_token_line_mixing_spaces_and_a_tab_is_named_when_a_later_line_fails(tmp_path):
    """``EU NNP<TAB>B-NP`` first fixed two columns; ``rejects<TAB>VBZ<TAB>B-VP`` then failed with no hint that the
    first line, split at whitespace, has the three this one has."""
    path = write(tmp_path, "f.txt", "EU NNP\tB-NP\nrejects\tVBZ\tB-VP\n\n")
    with expect_data_error(path, 2, "expected 2 tab-separated columns like the first token line, got 3 (the first "
                           "token line, line 1, mixes spaces and tabs between its columns: split at its tabs it has "
                           "2, at whitespace 3, as this line has; separate its columns by tabs alone)"):
        read_columns(path)
    path = write(tmp_path, "s.txt", "EU NNP B-NP\nrejects VBZ\n\n")
    with expect_data_error(path, 2, "expected 3 whitespace-separated columns like the first token line, got 2"):
        read_columns(path)


def test_a_tab_separated_file_with_spaces_in_tokens_looks_like_columns_not_plain_text(tmp_path, capsys):
    """The file looks judged lines split at whitespace: ``New York<TAB>NNP<TAB>B-LOC`` and ``is<TAB>VBZ<TAB>O`` had 4
    and 3 fields, so a valid tab file was called plain text and ``tag`` of it (without --format columns) was not
    pointed to --format columns."""
    from rnnkit.cli.file_looks import column_reason, plain_text_reason

    ny = ["New York\tNNP\tB-LOC", "Los Angeles\tNNP\tB-LOC", "is\tVBZ\tO", "big\tJJ\tO", ""] * 3
    assert column_reason(ny) == "3 columns, one token a line" and plain_text_reason(ny) is None
    assert column_reason(ny[:4]) == "3 columns, one token a line, tags after the first"  # one sentence
    train = str(write(tmp_path, "train.txt", TABBED * 3))
    code, _, err = run_cli(capsys, ["train", "tagger", "--format", "columns", "--train", train, *FAST, "--run-dir",
                                    str(tmp_path / "run")])
    assert code == 0, err
    code, _, err = run_cli(capsys, ["tag", str(tmp_path / "run"), str(write(tmp_path, "ny.tsv", "\n".join(ny)))])
    assert code == 0 and "looks like a column file (3 columns, one token a line)" in err, err
    assert "give --format columns" in err, err
