"""The summary lines count the training text's own types and name the special tokens apart: train tagger said
'7 word types' of a file of 6 distinct words (its <unk> counted in), train lm and train seq2seq counted their
specials in too, while the classifier and the HMM counted the text's types alone."""
from __future__ import annotations

from clirun import run_cli

WORDS = "a b c d e f"  # 6 distinct words


def test_train_tagger_counts_the_words_of_the_file(tmp_path, capsys):
    data = tmp_path / "t.txt"
    data.write_text("".join(f"{w} {w.upper()}\n" + ("\n" if i % 3 == 2 else "") for i, w in enumerate(WORDS.split()
                                                                                                     * 4)))
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(data), "--format", "columns", "--epochs", "1",
                                    "--embed", "4", "--hidden", "4", "--progress", "none", "--run-dir",
                                    str(tmp_path / "run")])
    assert code == 0 and "train: 8 sentences, 24 words, 6 word types (+ <unk>), 6 tags\n" in err, err


def test_train_lm_and_ngram_count_the_types_and_name_the_specials(tmp_path, capsys):
    data = tmp_path / "lm.txt"
    data.write_text((WORDS + "\n") * 40)
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(data), "--level", "word", "--embed", "4",
                                    "--hidden", "4", "--batch-size", "2", "--bptt", "4", "--epochs", "1",
                                    "--progress", "none", "--run-dir", str(tmp_path / "w")])
    assert code == 0 and "vocabulary: 6 word types (+ <unk>, <eos>) from 280 training tokens\n" in err, err
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(data), "--level", "char", "--embed", "4",
                                    "--hidden", "4", "--batch-size", "2", "--bptt", "4", "--epochs", "1",
                                    "--progress", "none", "--run-dir", str(tmp_path / "c")])
    # a..f, the space and the newline: 8 characters
    assert code == 0 and "vocabulary: 8 char types (+ <unk>) from 480 training tokens\n" in err, err
    code, out, err = run_cli(capsys, ["train", "ngram", "--train", str(data), "--order", "2", "--save",
                                      str(tmp_path / "ng.safetensors")])
    assert code == 0 and "vocabulary: 6 word types (+ <unk>, <eos>) from 280 training tokens\n" in out, out + err


def test_train_seq2seq_counts_each_sides_types_and_names_the_specials(tmp_path, capsys):
    data = tmp_path / "pairs.tsv"
    data.write_text("".join(f"{WORDS}\tx y z\n" for _ in range(20)))
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", str(data), "--embed", "4", "--hidden", "4",
                                    "--batch-size", "4", "--epochs", "1", "--progress", "none", "--run-dir",
                                    str(tmp_path / "s")])
    assert code == 0, err
    assert "train: 20 pairs; vocabulary 6 source / 3 target word types (+ <pad>, <bos>, <eos>, <unk> each)" in err, err


def test_train_tree_counts_the_words_and_names_the_unk(tmp_path, capsys):
    data = tmp_path / "trees.txt"
    data.write_text("(1 (0 a) (1 b))\n(0 (1 c) (0 d))\n" * 4)
    code, _, err = run_cli(capsys, ["train", "tree", "--train", str(data), "--labels", "as-is", "--embed", "4",
                                    "--hidden", "4", "--epochs", "1", "--progress", "none", "--run-dir",
                                    str(tmp_path / "t")])
    assert code == 0 and "data: 8 training trees, vocabulary 4 word types (+ <unk>)" in err, err
