"""``--header`` skips the first line of every TSV file given (--train, --valid, --test): when the files disagree the
message says so, and names the file to change; a file of a header line alone is said to be that, not empty."""
from __future__ import annotations

import pytest
from clirun import run_cli

from rnnkit.data.classification import read_tsv
from rnnkit.errors import DataError

FAST = ["--embed", "4", "--hidden", "4", "--epochs", "1", "--progress", "none", "--checkpoint-minutes", "0"]
ROWS = "pos\tgreat movie\nneg\tawful\npos\tloved it\nneg\tboring plot\n"


def _files(tmp_path):
    (tmp_path / "h.tsv").write_text("label\ttext\n" + ROWS, encoding="utf-8")
    (tmp_path / "n.tsv").write_text(ROWS, encoding="utf-8")
    return str(tmp_path / "h.tsv"), str(tmp_path / "n.tsv")


def _error(capsys, argv):
    code, _, err = run_cli(capsys, argv)
    lines = [line for line in err.splitlines() if line.startswith("rnnkit: error")]
    assert code == 2 and len(lines) == 1, err
    return lines[0]


def test_a_train_file_with_a_header_and_a_valid_file_without_one_are_told_to_agree(tmp_path, capsys):
    with_header, without = _files(tmp_path)
    run = ["--run-dir", str(tmp_path / "run"), *FAST]
    # without --header: the training file's header line is refused, and the message says --header's reach
    said = _error(capsys, ["train", "classifier", "--train", with_header, "--valid", without, *run])
    assert said.endswith("give header=True (--header) to skip it, or remove the line; --header skips the first line "
                         "of every TSV file given (--train, --valid, --test), so they must agree: with --header, each "
                         "of them needs a header line"), said
    # with --header: the valid file's first example was dropped unseen; now refused, naming that file
    said = _error(capsys, ["train", "classifier", "--train", with_header, "--valid", without, "--header", *run])
    assert f"{without}:1: header=True (--header) skips the first line as a header, but it reads as an example" in \
        said, said
    assert said.endswith(f"so they must agree: add a header line to {without}, or leave out --header and remove "
                         "the header lines of the others"), said
    said = _error(capsys, ["train", "classifier", "--train", with_header, "--test", without, "--header", *run])
    assert f"{without}:1: header=True (--header) skips" in said, said


def test_a_train_file_left_with_one_text_by_header_says_what_header_did(tmp_path, capsys):
    (tmp_path / "two.tsv").write_text("pos\tgreat movie\nneg\tawful\n", encoding="utf-8")
    said = _error(capsys, ["train", "classifier", "--train", str(tmp_path / "two.tsv"), "--header",
                           "--run-dir", str(tmp_path / "run"), *FAST])
    assert "only 1 text in" in said and "(--header skipped its first line: if it has no header line, leave out " \
                                      "--header, which applies to every TSV file given" in said, said


def test_a_file_of_a_header_line_alone_is_not_called_empty(tmp_path, capsys):
    path = tmp_path / "only_header.tsv"
    path.write_text("label\ttext\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"only_header\.tsv: has a header line and no example after it \(header=True, "
                                        r"--header, skips the first line\); add label<TAB>text lines below it, or "
                                        r"give header=False \(leave out --header\)"):
        read_tsv(path, header=True)
    with_header, _ = _files(tmp_path)
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", with_header, "--header",
                                    "--run-dir", str(tmp_path / "run"), *FAST])
    assert code == 0, err
    said = _error(capsys, ["evaluate", str(tmp_path / "run" / "last.safetensors"), str(path), "--header"])
    assert "has a header line and no example after it" in said and "empty file" not in said, said
    (tmp_path / "empty.tsv").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="got an empty file"):
        read_tsv(tmp_path / "empty.tsv", header=True)


def test_evaluate_reads_one_file_so_its_header_messages_name_no_other(tmp_path, capsys):
    with_header, without = _files(tmp_path)
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", with_header, "--header", "--valid-fraction", "0",
                                    "--run-dir", str(run), *FAST])
    assert code == 0, err
    model = str(run / "last.safetensors")
    said = _error(capsys, ["evaluate", model, without, "--header"])
    assert said.endswith("which would be dropped; give header=False (leave out --header) if the file has no header "
                         "line"), said
    said = _error(capsys, ["evaluate", model, with_header])
    assert said.endswith("give header=True (--header) to skip it, or remove the line"), said
    assert "--valid" not in said and "--train" not in said, said


def test_classify_warns_of_a_header_line(tmp_path, capsys):
    with_header, without = _files(tmp_path)
    assert run_cli(capsys, ["train", "classifier", "--train", without, "--run-dir", str(tmp_path / "r"), *FAST,
                            "--valid-fraction", "0"])[0] == 0
    model = str(tmp_path / "r" / "last.safetensors")
    # labelled texts under a header: both said, with evaluate's --header
    code, out, err = run_cli(capsys, ["classify", model, with_header])
    assert code == 0 and len(out.splitlines()) == 5, err
    assert "under a header line" in err and "'rnnkit evaluate MODEL FILE --header'" in err, err
    # texts alone under a header: the header line is named
    texts = tmp_path / "texts.txt"
    texts.write_text("\nsentiment\tReview\ngreat movie\nawful\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["classify", model, str(texts)])
    warned = [line for line in err.splitlines() if "looks like a header" in line]
    assert code == 0 and len(warned) == 1 and warned[0].startswith(f"rnnkit: warning: {texts}:2: the first line"), err
    code, _, err = run_cli(capsys, ["classify", model, without])  # no header: no header warning
    assert "header" not in err, err


def test_an_empty_text_says_how_to_fix_it(tmp_path):
    (tmp_path / "e.tsv").write_text(ROWS + "pos\t \n", encoding="utf-8")
    with pytest.raises(DataError, match=r"e\.tsv:5: expected a text after the tab, got an empty text \(label 'pos'\); "
                                        "write the text after the tab, or remove the line$"):
        read_tsv(tmp_path / "e.tsv")
