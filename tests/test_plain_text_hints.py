"""Plain text, one sentence a line, given where a column or CoNLL-U file is read: the reader's line ("expected 7
whitespace-separated columns like the first token line, got 12") now adds that the file looks like plain text and
what to do: tag it without --format; training and evaluating need tagged data.  ``tag --format conllu`` said
"The model reads CoNLL-U, as it was trained: give the file in that format", wrong for text to be tagged."""
from __future__ import annotations

import pytest
from clirun import run_cli, write_conllu

FAST = ["--epochs", "1", "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]
RAW = ["the cat sees a dog", "a big red dog likes the small cat today", "the bird has a house", "a dog sees it",
       "the old cat likes a red car and the big house"]
SENTS = [[("the", "D"), ("cat", "N"), ("sees", "V")], [("a", "D"), ("dog", "N")]] * 4


def test_plain_text_is_told_from_columns_and_conllu():
    from rnnkit.cli.tagging_data import plain_text_reason

    assert plain_text_reason(RAW) == "its lines hold 4 to 11 words"
    columns = ["the D B-NP", "cat N I-NP", "", "a D B-NP", "dog N I-NP", "sees V O", ""]
    assert plain_text_reason(columns) is None
    assert plain_text_reason(["the D", "cat N", "sees V", "a D x"]) is None  # a column file with one bad line
    assert plain_text_reason(["1\tthe\t_\tDET\t_\t_\t_\t_\t_\t_", "2\tcat\t_\tNOUN\t_\t_\t_\t_\t_\t_"]) is None
    assert plain_text_reason(["a b", "c d e"]) is None  # too few words a line to tell
    slash = [" ".join(f"{w}/{t}" for w, t in s) + " the/D cat/N" for s in SENTS]  # tagged: not plain text
    assert plain_text_reason([line + " a/D" * k for k, line in enumerate(slash)]) is None


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("plain")
    (d / "raw.txt").write_text("\n".join(RAW) + "\n", encoding="utf-8")
    (d / "cols.txt").write_text("".join("".join(f"{w} {t}\n" for w, t in s) + "\n" for s in SENTS), encoding="utf-8")
    write_conllu(d / "t.conllu", SENTS)
    from rnnkit.cli.main import main

    for name, data in (("cols", ["--train", str(d / "cols.txt"), "--format", "columns"]),
                       ("cu", ["--train", str(d / "t.conllu")])):
        assert main(["train", "tagger", *data, *FAST, "--run-dir", str(d / name)]) == 0
    return d


def test_tag_with_a_format_says_to_drop_it(runs, capsys):
    for model, fmt in (("cols", "columns"), ("cu", "conllu")):
        code, _, err = run_cli(capsys, ["tag", str(runs / model / "last.safetensors"), str(runs / "raw.txt"),
                                        "--format", fmt])
        assert code == 2 and "raw.txt looks like plain text, one sentence a line (its lines hold 4 to 11 words): " \
            "drop --format to tag plain text (rnnkit tag MODEL FILE)" in err, err
        assert "The model reads" not in err and len(err.strip().splitlines()) == 1, err


def test_evaluate_and_train_say_they_need_tagged_data(runs, capsys):
    for model, name in (("cols", "column files"), ("cu", "CoNLL-U")):  # the one format the model reads
        code, _, err = run_cli(capsys, ["evaluate", str(runs / model / "last.safetensors"), str(runs / "raw.txt")])
        assert code == 2 and "looks like plain text" in err and "evaluating needs tagged data, in " \
            f"{name} (the model's format)" in err, err
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(runs / "raw.txt"), "--format", "columns", *FAST,
                                    "--run-dir", str(runs / "x")])
    assert code == 2 and "looks like plain text" in err and "training needs tagged data" in err, err
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(runs / "cols.txt"), "--format", "columns",
                                    "--valid", str(runs / "raw.txt"), *FAST, "--run-dir", str(runs / "x")])
    assert code == 2 and "looks like plain text" in err and "--valid and --test need tagged data, in column " \
        "files (the training data's format)" in err, err


@pytest.mark.parametrize("fmt", ["columns", "conllu"])
def test_train_hmm_and_tagger_name_slash_text_among_the_tagged_data_they_read(runs, capsys, fmt):
    """Plain text is one sentence a line, as word/TAG text is: the hint names it (--format slash) with the rest."""
    for command in (["hmm", "--output", str(runs / "h.safetensors")], ["tagger", *FAST, "--run-dir", str(runs / "z")]):
        code, _, err = run_cli(capsys, ["train", command[0], "--train", str(runs / "raw.txt"), "--format", fmt,
                                        *command[1:]])
        assert code == 2 and "raw.txt looks like plain text, one sentence a line (its lines hold 4 to 11 words): " \
            "training needs tagged data, in columns, CoNLL-U or word/TAG text (--format slash)" in err, err


def test_a_conllu_valid_beside_column_training_data_is_not_told_to_use_format_conllu(runs, capsys):
    """--format conllu would read --train as CoNLL-U too: the fix is the --valid file's."""
    rest = "\t_" * 6
    lines = "".join(f"# sent_id = {k}\n1\tthe\t_\tD{rest}\n2\tcat\t_\tN{rest}\n\n" for k in range(3))
    (runs / "dev.conllu").write_text(lines, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(runs / "cols.txt"), "--format", "columns",
                                    "--valid", str(runs / "dev.conllu"), *FAST, "--run-dir", str(runs / "y")])
    assert code == 2 and "looks like CoNLL-U" in err and "use --format conllu" not in err, err
    assert "--valid and --test are read as the training data is (--format columns): convert it, or give a file " \
           "in columns" in err, err


def test_a_column_file_read_as_conllu_names_the_formats_that_read_it(tmp_path):
    """read_conllu's hint named only the options (--format columns) to a Python caller."""
    from rnnkit.data.conll import read_conllu
    from rnnkit.errors import DataError

    path = tmp_path / "chunks.txt"
    path.write_text("He PRP B-NP\nruns VBZ B-VP\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"chunks\.txt:1: expected 10 tab-separated columns .* is the file not "
                                        r"CoNLL-U\? A column file \(word POS chunk\) reads with format "
                                        r"'columns' \(--format columns\), segmented text with format 'segmented'"):
        read_conllu(path)


def test_an_induced_tagger_evaluated_on_plain_text_names_the_format_given(runs, capsys):
    """An unsupervised HMM's evaluate reads the --format given: the fix names that, not 'the model's format'."""
    code, _, err = run_cli(capsys, ["train", "hmm", "--unsupervised", "--states", "2", "--train", str(runs / "raw.txt"),
                                    "--format", "raw", "--output", str(runs / "u.safetensors")])
    assert code == 0, err
    code, _, err = run_cli(capsys, ["evaluate", str(runs / "u.safetensors"), str(runs / "raw.txt"), "--format",
                                    "conllu"])
    assert code == 2 and "evaluating needs tagged data, in CoNLL-U (the --format given)" in err, err


def test_a_refused_files_head_is_read_once_to_tell_its_kind(runs, capsys, monkeypatch):
    """The refusal's look at the file (CoNLL-U? label<TAB>text? plain text?) read its first 64 KiB twice."""
    from rnnkit.cli import file_looks, tagging_data

    reads = []
    real = file_looks.head_lines

    def counted(path, encoding):
        reads.append(path)
        return real(path, encoding)

    monkeypatch.setattr(file_looks, "head_lines", counted)  # looks_like_conllu's
    monkeypatch.setattr(tagging_data, "head_lines", counted)
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(runs / "raw.txt"), "--format", "columns", *FAST,
                                    "--run-dir", str(runs / "y")])
    assert code == 2 and "looks like plain text" in err, err
    assert reads == [str(runs / "raw.txt")]
