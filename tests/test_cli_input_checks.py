"""Input that looked right but was read wrong, now refused or named: a text<TAB>label file, a header
line at evaluation, tree labels that are digits only to str.isdigit, span tags trained without
--scheme, --top-k that keeps every token."""
from __future__ import annotations

import pytest
from clirun import run_cli

from rnnkit.data.classification import read_tsv
from rnnkit.data.trees import parse_tree
from rnnkit.errors import DataError

TEXTS = ["a fine warm film", "dull and far too long", "a joy to watch", "nothing works here"] * 5


def test_a_text_tab_label_file_is_refused_with_the_swap(tmp_path):
    swapped = tmp_path / "swapped.tsv"
    swapped.write_text("".join(f"{t}\t{'pos' if k % 2 == 0 else 'neg'}\n" for k, t in enumerate(TEXTS)))
    with pytest.raises(DataError, match=r"looks like text<TAB>label; write it as label<TAB>text"):
        read_tsv(swapped)
    right = tmp_path / "right.tsv"
    right.write_text("".join(f"{'pos' if k % 2 == 0 else 'neg'}\t{t}\n" for k, t in enumerate(TEXTS)))
    assert len(read_tsv(right)) == 20


def test_a_swapped_chinese_file_and_a_header_are_refused_and_a_lone_first_label_is_warned(tmp_path):
    """Chinese sentences have no spaces: the swap was told by spaces in the labels, so a swapped Chinese
    file trained a classifier of one class per sentence; a header line trained a class of its own."""
    zh = ["这家餐厅的菜非常好吃", "服务太差了再也不来", "电影很感人值得一看", "剧情拖沓浪费时间"] * 3
    swapped = tmp_path / "swapped.tsv"
    swapped.write_text("".join(f"{t}{k}\t{'pos' if k % 2 == 0 else 'neg'}\n" for k, t in enumerate(zh)),
                       encoding="utf-8")
    with pytest.raises(DataError, match=r"the first column has 12 different values in 12 lines .* and the second "
                                        r"only 2 \(neg, pos\): the file looks like text<TAB>label"):
        read_tsv(swapped)
    rows = "".join(f"{'pos' if k % 2 == 0 else 'neg'}\t{t}\n" for k, t in enumerate(zh))
    for head in ("label\ttext\n", "标签\t文本\n", "y\treview\n"):
        (tmp_path / "h.tsv").write_text(head + rows, encoding="utf-8")
        with pytest.raises(DataError, match=r"h.tsv:1: the first line .* looks like a header"):
            read_tsv(tmp_path / "h.tsv")
        assert len(read_tsv(tmp_path / "h.tsv", header=True)) == 12
    (tmp_path / "yn.tsv").write_text("y\tthe door opens\n" + rows, encoding="utf-8")  # one column header-like
    with pytest.warns(UserWarning, match=r"yn.tsv:1: the label 'y' occurs only on the first line"):
        assert len(read_tsv(tmp_path / "yn.tsv")) == 13
    (tmp_path / "odd.tsv").write_text("polarité\tune critique\n" + rows, encoding="utf-8")
    with pytest.warns(UserWarning, match=r"odd.tsv:1: the label 'polarité' occurs only on the first line"):
        assert len(read_tsv(tmp_path / "odd.tsv")) == 13


def test_evaluate_skips_a_header_line_when_asked(tmp_path, capsys):
    rows = "".join(f"{'pos' if k % 2 == 0 else 'neg'}\t{t}\n" for k, t in enumerate(TEXTS))
    (tmp_path / "train.tsv").write_text(rows)
    (tmp_path / "test.tsv").write_text("label\ttext\n" + rows)
    run = tmp_path / "run"
    assert run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "train.tsv"), "--valid-fraction", "0",
                            "--epochs", "1", "--embed", "4", "--hidden", "4", "--progress", "none",
                            "--run-dir", str(run)])[0] == 0
    model = str(run / "last.safetensors")
    code, _, err = run_cli(capsys, ["evaluate", model, str(tmp_path / "test.tsv")])  # once a class of its own
    assert code == 2 and "test.tsv:1: the first line ('label'<TAB>'text') looks like a header" in err, err
    assert "give header=True (--header) to skip it" in err
    code, out, err = run_cli(capsys, ["evaluate", model, str(tmp_path / "test.tsv"), "--header", "--json"])
    assert code == 0 and "not trained on" not in err and '"examples": 20' in out, out
    code, _, err = run_cli(capsys, ["evaluate", model, str(tmp_path / "test.tsv"), "--header", "--ref", "x"])
    assert code == 2 and "--ref" in err


@pytest.mark.parametrize("label", ["²", "٣"])
def test_tree_labels_are_ascii_digits(label):
    with pytest.raises(ValueError, match="Expected a label"):
        parse_tree(f"({label} (2 a) (4 b))")
    assert parse_tree("(3 (2 a) (4 b))") is not None


def test_span_tags_without_scheme_get_a_hint(tmp_path, capsys):
    rows = "the DT B-NP\ncat NN I-NP\nsees VBZ B-VP\nit PRP B-NP\n. . O\n\n" * 4
    (tmp_path / "chunks.txt").write_text(rows)
    train = ["train", "hmm", "--train", str(tmp_path / "chunks.txt"), "--format", "columns", "--output",
             str(tmp_path / "h.safetensors")]
    code, _, err = run_cli(capsys, train)
    assert code == 0 and "look like BIO spans" in err and "give scheme='bio' (--scheme bio) for span F1" in err
    code, _, err = run_cli(capsys, train + ["--scheme", "bio"])
    assert code == 0 and "look like" not in err


def test_counts_in_lm_messages_have_thousands_separators(tmp_path, capsys):
    """'(1366 -> <unk>)' and 'every one of the 8268 tokens', where every other count reads 1,366."""
    (tmp_path / "t.txt").write_text(" ".join(f"w{k}" for k in range(1200)) + "\n", encoding="utf-8")
    (tmp_path / "v.txt").write_text(" ".join(f"u{k}" for k in range(1500)) + "\n", encoding="utf-8")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(tmp_path / "t.txt"), "--valid",
                                    str(tmp_path / "v.txt"), "--embed", "4", "--hidden", "4", "--batch-size", "2",
                                    "--bptt", "4", "--max-steps", "1", "--progress", "none", "--run-dir", str(run)])
    assert code == 0 and "valid: 1,501 tokens, OOV rate 99.93% (1,500 -> <unk>)" in err, err
    code, _, err = run_cli(capsys, ["generate", str(run / "last.safetensors"), "--top-k", "5000"])
    assert code == 2 and ("--top-k 5000 keeps every one of the 1,201 tokens the model samples from (its 1,202 but "
                          "<unk>), so it would have no effect; give fewer than 1201") in err, err


def test_top_k_that_keeps_every_token_is_refused(tmp_path, capsys):
    (tmp_path / "t.txt").write_text("abcabcabd\n" * 20)
    run = tmp_path / "run"
    assert run_cli(capsys, ["train", "lm", "--train", str(tmp_path / "t.txt"), "--level", "char", "--hidden", "4",
                            "--layers", "1", "--batch-size", "2", "--bptt", "4", "--epochs", "1", "--progress",
                            "none", "--run-dir", str(run)])[0] == 0
    model = str(run / "last.safetensors")
    code, _, err = run_cli(capsys, ["generate", model, "--top-k", "6", "--length", "5"])  # <unk> a b c d \n
    assert code == 2 and "--top-k 6 keeps every one of the 5 tokens the model samples from" in err, err
    code, _, err = run_cli(capsys, ["generate", model, "--top-k", "5", "--length", "5"])  # <unk> is never drawn:
    assert code == 2 and "give fewer than 5" in err, err  # 5 kept every token, and changed nothing
    assert run_cli(capsys, ["generate", model, "--top-k", "2", "--length", "5"])[0] == 0
    code, _, err = run_cli(capsys, ["generate", model, "--temperature", "0"])  # the greedy limit, named
    assert code == 2 and "(temperature 0 is greedy decoding: give --greedy)" in err, err
    code, _, err = run_cli(capsys, ["generate", model, "--temperature", "-1"])
    assert code == 2 and "greedy" not in err, err


def test_header_on_a_file_without_one_is_refused_not_a_dropped_example(tmp_path, capsys):
    """--header on a file whose first line is data dropped that example without a word: the scores
    counted one text fewer.  A first line whose label is a class (the model's, or another line's) is data."""
    rows = "".join(f"{'pos' if k % 2 == 0 else 'neg'}\t{t}\n" for k, t in enumerate(TEXTS))
    (tmp_path / "plain.tsv").write_text(rows)
    with pytest.raises(DataError, match=r"plain.tsv:1: header=True \(--header\) skips the first line as a header, but "
                                        r"it reads as an example \(the label 'pos', which 9 other lines have too"):
        read_tsv(tmp_path / "plain.tsv", header=True)
    (tmp_path / "one.tsv").write_text("pos\ta lone first\n" + "neg\tdull\n" * 3)  # its label only the model's
    assert len(read_tsv(tmp_path / "one.tsv", header=True)) == 3
    with pytest.raises(DataError, match=r"the model's label 'pos'"):
        read_tsv(tmp_path / "one.tsv", header=True, labels=["neg", "pos"])
    (tmp_path / "h.tsv").write_text("label\ttext\n" + rows)  # a real header whose columns are named
    assert len(read_tsv(tmp_path / "h.tsv", header=True, labels=["label", "pos"])) == 20
    run = tmp_path / "run"
    assert run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "h.tsv"), "--header", "--epochs", "1",
                            "--valid-fraction", "0", "--embed", "4", "--hidden", "4", "--progress", "none",
                            "--run-dir", str(run)])[0] == 0
    code, out, err = run_cli(capsys, ["evaluate", str(run / "last.safetensors"), str(tmp_path / "plain.tsv"),
                                      "--header"])
    assert code == 2 and out == "" and "plain.tsv:1: header=True (--header) skips the first line" in err, (out, err)
    assert "give header=False (leave out --header)" in err and len(err.strip().splitlines()) == 1, err
    code, out, _ = run_cli(capsys, ["evaluate", str(run / "last.safetensors"), str(tmp_path / "plain.tsv")])
    assert code == 0 and "over 20 texts" in out, out
