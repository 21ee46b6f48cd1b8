"""A tagging file of ``-DOCSTART-`` lines or blank lines alone was called "an empty file": it is said to hold no
sentences, and what it holds.  And ``rnnkit tag --format columns`` of such a file (or an empty one) exited 2 where
raw text's exits 0, as ``translate`` and ``classify`` do: nothing to tag gives its lines back, exit 0."""
from __future__ import annotations

import pytest
from clirun import error_line, run_cli

from rnnkit.cli.main import main
from rnnkit.data.columns import read_columns
from rnnkit.data.conll import parse_conllu
from rnnkit.data.slash import parse_slash
from rnnkit.errors import DataError

DOCSTART = "-DOCSTART- -X- O O\n\n"


@pytest.mark.parametrize("text, got", [
    ("", "an empty file"),
    ("\n\n\n", "no sentences: only 3 blank lines"),
    (DOCSTART, "no sentences: only 1 -DOCSTART- line and 1 blank line"),
    (DOCSTART * 2 + "\n", "no sentences: only 2 -DOCSTART- lines and 3 blank lines"),
])
def test_a_column_file_without_sentences_is_said_to_hold_what_it_holds(tmp_path, text, got):
    path = tmp_path / "f.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:  # what the commands catch: one line, exit 2
        read_columns(path)
    assert str(caught.value) == f"{path}: expected sentences of whitespace-separated columns, got {got}"
    assert type(caught.value).__name__ == "NoSentencesError"  # which tag catches: nothing to tag
    assert "".join(line + "\n" for line in caught.value.lines) == text


def test_conllu_and_slash_say_no_sentences_too():
    with pytest.raises(DataError, match=r"^x: expected CoNLL-U sentences, got no sentences: only 2 blank "
                                               r"lines$"):
        parse_conllu("\n\n", name="x")
    # comments alone, which start a sentence: no sentence either (was "expected word lines after the comments")
    with pytest.raises(DataError, match=r"^x: expected CoNLL-U sentences, got no sentences: only 2 comment lines "
                                        r"and 1 blank line$") as caught:
        parse_conllu("# newdoc\n# sent_id = 1\n\n", name="x")
    assert type(caught.value).__name__ == "NoSentencesError" and caught.value.lines == ["# newdoc", "# sent_id = 1", ""]
    with pytest.raises(DataError, match=r"^x:3: expected word lines after the comments"):  # beside a sentence: still
        parse_conllu("1\tHi\t_\tINTJ\t_\t_\t0\troot\t_\t_\n\n# sent_id = 2\n", name="x")

@pytest.mark.parametrize("text, got", [
    ("\n", "1 blank line"),  # was "1 blank lines": slash counted its own way, without the singular
    ("19980101-01-001-001/m\n\n", "1 blank line and 1 line ID alone"),
    ("19980101-01-001-001/m\n" * 2 + "\n" * 3, "3 blank lines and 2 line IDs alone"),
])
def test_slash_says_what_it_holds_in_the_singular_too(text, got):
    with pytest.raises(DataError, match=rf"^x: expected word/TAG sentences .*, got no sentences: only {got}$"):
        parse_slash(text, name="x")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("nosent")
    (d / "train.txt").write_text(DOCSTART + "John B-PER\nlives O\nin O\nParis B-LOC\n\n" * 20, encoding="utf-8")
    code = main(["train", "tagger", "--train", str(d / "train.txt"), "--format", "columns",
                 "--scheme", "bio", "--embed", "4", "--hidden", "4", "--epochs", "1", "--progress", "none",
                 "--run-dir", str(d / "run")])
    assert code == 0
    return d / "run" / "last.safetensors"


@pytest.mark.parametrize("text", ["", "\n\n", DOCSTART, DOCSTART * 2 + "\n"])
def test_tag_of_columns_without_sentences_gives_its_lines_back_and_exit_0_as_raw_text(model, tmp_path, capsys, text):
    path = tmp_path / "in.txt"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, ["tag", str(model), str(path), "--format", "columns"])
    assert (code, out, err) == (0, text, ""), err
    code, out, err = run_cli(capsys, ["tag", str(model), str(path), "--format", "columns", "--spans"])
    assert (code, out, err) == (0, "", ""), err  # a JSON line a sentence: none
    code, out, err = run_cli(capsys, ["tag", str(model), str(path), "--format", "columns", "--output",
                                      str(tmp_path / "out.txt")])
    assert code == 0 and (tmp_path / "out.txt").read_text(encoding="utf-8") == text, err
    if not text.strip():  # the control: raw text of blank lines, which tag always gave back, exit 0
        code, out, err = run_cli(capsys, ["tag", str(model), str(path)])
        assert (code, out) == (0, text), err
    code, _, err = run_cli(capsys, ["evaluate", str(model), str(path)])  # nothing to score: still an error
    error_line(code, err, "expected sentences of whitespace-separated columns, got ")


def test_docstart_lines_come_back_in_their_places_the_last_too(model, tmp_path, capsys):
    """-DOCSTART- is skipped as a sentence and written back by tag --format columns; one after the file's last
    sentence (and blank lines there) was dropped, so the output no longer lined up with the input."""
    text = DOCSTART + "John B-PER\nlives O\n\n" + DOCSTART + "\nMary B-PER\n\n" + DOCSTART + "\n"
    path = tmp_path / "docs.txt"
    path.write_text(text, encoding="utf-8")
    sentences = read_columns(path)
    assert [s.words for s in sentences] == [["John", "lives"], ["Mary"]]
    for options in ([], ["--probs"]):
        code, out, err = run_cli(capsys, ["tag", str(model), str(path), "--format", "columns", *options])
        assert code == 0, err
        lines = out.split("\n")
        assert len(lines) == len(text.split("\n")), out
        assert [line.split()[:2] for line in lines] == [line.split()[:2] for line in text.split("\n")], out
