"""A sentence classifier on labelled trees (``train classifier --format tree``): each tree's words and root label
one example, SST-2's neutral roots left out and its classes written as SST's 1 and 3, the phrases of
``--all-phrases``, ``classify --format tree | cut -f2 | evaluate`` round-tripping, and one-line errors naming the
file and line.  Tiny hand-written trees only."""
from __future__ import annotations

import argparse

import pytest
from clirun import run_cli, write

from rnnkit.classify.trees import TreeSentence, phrase_examples, root_label, tree_examples
from rnnkit.cli.classify_trees import train_phrases
from rnnkit.cli.main import main
from rnnkit.data.classification import LabeledText
from rnnkit.data.trees import parse_tree

TREES = ["(3 (2 the) (4 (4 fine) (2 film)))",
         "(1 (2 a) (0 (0 dull) (2 film)))",
         "(2 (2 a) (2 film))",
         "(4 (2 the) (4 (4 great) (2 show)))",
         "(0 (2 a) (0 (0 awful) (2 show)))"]
FAST = ["--embed", "8", "--hidden", "8", "--epochs", "4", "--lr", "0.05", "--dropout", "0", "--progress", "none",
        "--checkpoint-minutes", "0", "--batch-size", "8"]


def test_each_tree_is_its_words_and_root_label():
    trees = [parse_tree(line) for line in TREES]
    got = tree_examples(trees, "sst5")
    assert [(e.label, e.text) for e in got] == [("3", "the fine film"), ("1", "a dull film"), ("2", "a film"),
                                                ("4", "the great show"), ("0", "a awful show")]
    assert all(isinstance(e, LabeledText) and len(e) == 2 for e in got)  # still a (label, text) pair


def test_binary_drops_neutral_roots_and_writes_sst_1_and_3():
    got = tree_examples([parse_tree(line) for line in TREES], "sst2")
    assert [(e.label, e.text) for e in got] == [("3", "the fine film"), ("1", "a dull film"),
                                                ("3", "the great show"), ("1", "a awful show")]


def test_phrases_are_every_labelled_node_with_its_span():
    tree = parse_tree("(1 (2 a) (0 (0 dull) (2 film)))")
    assert tree.spans().tolist() == [[0, 1], [1, 2], [2, 3], [1, 3], [0, 3]]
    five = tree_examples([tree], "sst5")[0]
    assert [(p.label, p.text) for p in five.phrases] == [("2", "a"), ("0", "dull"), ("2", "film"),
                                                         ("0", "dull film"), ("1", "a dull film")]
    two = tree_examples([tree], "sst2")[0]  # neutral phrases are no example of the binary task
    assert [(p.label, p.text) for p in two.phrases] == [("1", "dull"), ("1", "dull film"), ("1", "a dull film")]


def test_phrase_examples_keep_each_distinct_phrase_once():
    sentences = tree_examples([parse_tree(line) for line in TREES], "sst5")
    got = phrase_examples(sentences)
    assert len(got) == len(set(got)) and ("2", "film") in got and ("0", "awful") in got
    assert sum(p == ("2", "film") for s in sentences for p in s.phrases) == 3  # before: once a tree
    assert phrase_examples([LabeledText("x", "plain")]) == [("x", "plain")]  # not a tree: itself


def test_all_phrases_expands_only_when_asked():
    sentences = [TreeSentence("1", "a b", [LabeledText("1", "a"), LabeledText("1", "a b")])]
    args = argparse.Namespace(all_phrases=False, folds=0)
    assert train_phrases(args, sentences) is sentences
    args.all_phrases = True
    assert train_phrases(args, sentences) == [("1", "a"), ("1", "a b")]


def test_root_label_reads_a_partly_labelled_tree():
    assert root_label(parse_tree("(4 (the) (good))", "optional"), "sst5") == "4"
    assert root_label(parse_tree("(4 (the) (good))", "optional"), "sst2") == "3"
    assert root_label(parse_tree("(0 (the) (bad))", "optional"), "sst2") == "1"
    assert root_label(parse_tree("(2 (the) (film))", "optional"), "sst2") is None
    assert root_label(parse_tree("(7 (the) (film))", "optional"), "as-is") == "7"
    with pytest.raises(ValueError, match="unlabelled root"):
        root_label(parse_tree("((the) (film))", "optional"), "sst5")
    with pytest.raises(ValueError, match="SST labels 0-4"):
        root_label(parse_tree("(7 (the) (film))", "optional"), "sst5")


@pytest.fixture(scope="module")
def sst2(tmp_path_factory):
    d = tmp_path_factory.mktemp("flat")
    data = {"train": write(d / "train.txt", TREES * 12), "dev": write(d / "dev.txt", TREES), "dir": d}
    assert main(["train", "classifier", "--format", "tree", "--train", data["train"], "--valid", data["dev"],
                 "--labels", "sst2", "--run-dir", str(d / "run"), *FAST]) == 0
    data["model"] = str(d / "run" / "best.safetensors")
    return data


def test_classify_format_tree_round_trips_through_evaluate(sst2, capsys):
    capsys.readouterr()
    code, out, _ = run_cli(capsys, ["classify", sst2["model"], sst2["dev"], "--format", "tree"])
    rows = [line.split("\t") for line in out.splitlines()]
    assert code == 0 and len(rows) == len(TREES) and {label for label, _ in rows} <= {"1", "3"}, out
    assert all(tree.startswith(f"({label} (") for label, tree in rows)  # the class at the root, written as SST's
    back = write(sst2["dir"] / "back.txt", [tree for _, tree in rows])  # cut -f2
    code, out, _ = run_cli(capsys, ["evaluate", sst2["model"], back, "--json"])
    assert code == 0 and '"accuracy": 1.0' in out and '"examples": 5' in out, out  # no root is neutral any more
    code, out, _ = run_cli(capsys, ["classify", sst2["model"], sst2["dev"]])  # label<TAB>words: evaluate reads it too
    tsv = write(sst2["dir"] / "back.tsv", out.splitlines())
    code, out, _ = run_cli(capsys, ["evaluate", sst2["model"], tsv, "--json"])
    assert code == 0 and '"accuracy": 1.0' in out, out


def test_evaluate_scores_roots_and_leaves_neutral_ones_out(sst2, capsys):
    code, out, _ = run_cli(capsys, ["evaluate", sst2["model"], sst2["dev"], "--json"])
    assert code == 0 and '"examples": 4' in out and '"labels": ["1", "3"]' in out, out
    code, out, _ = run_cli(capsys, ["evaluate", sst2["model"], sst2["dev"]])  # the tables: SST's 1 and 3 too
    rows = out.splitlines()[out.splitlines().index("confusion matrix (rows gold, columns predicted):") + 1:]
    assert code == 0 and rows[0].split() == ["1", "3"] and [r.split()[0] for r in rows[1:3]] == ["1", "3"], out


def test_tree_errors_are_one_line_naming_file_and_line(sst2, tmp_path, capsys):
    broken = write(tmp_path / "broken.txt", [TREES[0], "(3 (2 a) (4 good)"])
    code, _, err = run_cli(capsys, ["train", "classifier", "--format", "tree", "--train", broken,
                                    "--run-dir", str(tmp_path / "r"), *FAST])
    assert code == 2 and err.count("\n") == 1 and f"{broken}:2: Expected 1 more ')'" in err, err
    unlabelled = write(tmp_path / "unlabelled.txt", [TREES[0], "((a) (film))"])
    code, _, err = run_cli(capsys, ["evaluate", sst2["model"], unlabelled])
    assert code == 2 and err.count("\n") == 1 and f"{unlabelled}:2: Expected a label at the root" in err, err
    mixed = write(tmp_path / "mixed.txt", [TREES[0], "plain words"])
    code, _, err = run_cli(capsys, ["classify", sst2["model"], mixed, "--format", "tree"])
    assert code == 2 and err.count("\n") == 1 and f"{mixed}:2: --format tree writes" in err, err
    code, out, _ = run_cli(capsys, ["classify", sst2["model"], mixed])  # plain text is text to a flat classifier
    assert code == 0 and out.splitlines()[1].endswith("\tplain words"), out


def test_tree_options_need_format_tree(tmp_path, capsys):
    data = write(tmp_path / "c.tsv", ["1\tgood film", "3\tbad film"] * 6)
    for option in (["--labels", "sst2"], ["--classes", "2"], ["--all-phrases"]):
        code, _, err = run_cli(capsys, ["train", "classifier", "--train", data, "--run-dir", str(tmp_path / "r"),
                                        *option, *FAST])
        assert code == 2 and err.count("\n") == 1 and f"{option[0]} has no effect with --format tsv" in err, err


def test_a_resume_with_another_all_phrases_names_it(sst2, tmp_path, capsys):
    """--all-phrases changes what training reads from the same files: a resume that adds or drops it is refused
    naming it (before, only as the vocabulary's change, when the phrases brought new words)."""
    run = str(tmp_path / "r")
    argv = ["train", "classifier", "--format", "tree", "--train", sst2["train"], "--labels", "sst2", "--run-dir", run,
            *FAST]
    code, _, err = run_cli(capsys, [*argv, "--max-steps", "1"])
    assert code == 0, err
    code, _, err = run_cli(capsys, [*argv, "--resume", "--all-phrases"])
    line = next(x for x in err.splitlines() if x.startswith("rnnkit: error:"))
    assert code == 2 and "--all-phrases" in line.split("; resume with")[0], err


def test_tree_labels_sst_cannot_read_are_refused_as_train_tree_refuses_them(sst2, tmp_path, capsys):
    """evaluate reads a tree file's labels as train --valid does: a root above SST's 0-4 is named as a label of
    the model's scheme (not as a missing root label), a node's too (it was scored silently), in a classifier's
    words (not a tree model's)."""
    root7 = write(tmp_path / "root7.txt", [TREES[0], "(7 (2 the) (4 (4 fine) (2 film)))"])
    code, _, err = run_cli(capsys, ["evaluate", sst2["model"], root7])
    assert code == 2 and err.count("\n") == 1, err
    assert f"{root7}:2: a node has the label 7; {sst2['model']} reads SST's labels 0" in err, err
    assert "label every root" not in err and "'rnnkit train classifier --format tree --labels as-is'" in err, err
    node9 = write(tmp_path / "node9.txt", [TREES[0], "", "(3 (9 the) (4 (4 fine) (2 film)))"])
    code, _, err = run_cli(capsys, ["evaluate", sst2["model"], node9])
    assert code == 2 and err.count("\n") == 1 and f"{node9}:3: a node has the label 9" in err, err
    code, _, err = run_cli(capsys, ["train", "classifier", "--format", "tree", "--train", sst2["train"],
                                    "--valid", node9, "--labels", "sst2", "--run-dir", str(tmp_path / "r"), *FAST])
    assert code == 2 and err.count("\n") == 1 and f"{node9}:3: a node has the label 9" in err, err
    assert "a classifier of trees reads SST's labels" in err and "a tree model" not in err, err


def test_unknown_gold_labels_are_warned_at_their_tree_s_line(tmp_path, capsys):
    """The warning of a gold label the model lacks names the tree's line, which blank lines (and SST-2's neutral
    roots) make no count of the examples: the label 5 is on line 4, the third tree."""
    train = write(tmp_path / "own.txt", ["(1 (0 the) (1 fine))", "(0 (0 a) (0 dull))"] * 6)
    own = write(tmp_path / "own_eval.txt", ["(1 (0 the) (1 fine))", "", "(0 (0 a) (0 dull))", "(5 (0 a) (0 odd))"])
    run = tmp_path / "r"
    code, _, err = run_cli(capsys, ["train", "classifier", "--format", "tree", "--labels", "as-is", "--train", train,
                                    "--test", own, "--run-dir", str(run), *FAST, "--epochs", "1"])
    assert code == 0 and f"{own}:4: 1 of 3 texts have a label the training data lack ('5'" in err, err
    code, _, err = run_cli(capsys, ["evaluate", str(run / "best.safetensors"), own])
    assert code == 0 and f"{own}:4: 1 of 3 texts have a label the model was not trained on ('5'" in err, err
