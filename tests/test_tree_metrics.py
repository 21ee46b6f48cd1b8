"""A tree model's macro-F1 and confusion matrices, of the roots and of all labelled nodes (every phrase:
Socher et al. 2013's "all"), counted by hand on tiny made-up treebanks; validation macro-F1 in the
metrics log and ``train tree --select-by macro_f1`` keeping another epoch than accuracy does; --resume
of a checkpoint written before ``--select-by`` was kept (then: accuracy)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from clirun import run_cli
from test_cli_tree_labels import FAST, tree_line, write

from rnnkit.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.data.trees import parse_tree
from rnnkit.train.curves import read_run, selecting_metric
from rnnkit.treenet.task import TreeEncoder, TreeTask, tree_scores


class ByWord:
    """A stand-in for a TreeNet whose predictions a test can count by hand: a leaf's class is its word's
    (``classes``), every internal node's is 1."""

    params: dict = {}

    def __init__(self, encoder: TreeEncoder, classes: dict[str, int]) -> None:
        self.K = encoder.classes
        self.leaf_class = np.array([classes.get(w, 0) for w in encoder.vocab.tokens])  # (V,)

    def predict_proba(self, b) -> np.ndarray:
        probs = np.zeros((b.num_nodes, self.K))  # (N, K)
        probs[:, 1] = 1.0
        probs[b.leaves] = 0.0
        probs[b.leaves, self.leaf_class[b.words]] = 1.0
        return probs


OWN = ["(2 (0 bad) (1 film))", "(1 (2 good) (0 (1 the) (0 bad)))", "(0 bad)"]  # labels 0-2 as they are
OWN_CLASSES = {"bad": 0, "film": 1, "good": 2, "the": 2}


def test_all_node_and_root_confusion_and_macro_f1_are_the_hand_counts():
    trees = [parse_tree(line) for line in OWN]
    enc = TreeEncoder.build(trees, 3, scheme="as-is")
    model = ByWord(enc, OWN_CLASSES)
    # every node (gold -> predicted): bad 0->0, film 1->1, root 2->1 | good 2->2, the 1->2, bad 0->0,
    # (the bad) 0->1, root 1->1 | bad (leaf and root) 0->0
    node_confusion = [[3, 1, 0],
                      [0, 2, 1],
                      [0, 1, 1]]
    root_confusion = [[1, 0, 0],
                      [0, 1, 0],
                      [0, 1, 0]]
    # F1_k = 2 tp / (2 tp + fp + fn): nodes 6/7, 4/7, 2/4; roots 2/2, 2/3, 0/1
    node_f1, root_f1 = (6 / 7 + 4 / 7 + 1 / 2) / 3, (1 + 2 / 3 + 0) / 3
    for batch_size in (1, 2, 256):  # the matrices summed over batches
        s = tree_scores(model, enc, trees, batch_size)
        assert s["node_confusion"] == node_confusion and s["root_confusion"] == root_confusion, batch_size
        assert s["node_macro_f1"] == pytest.approx(node_f1) and s["root_macro_f1"] == pytest.approx(root_f1)
    assert s["node_accuracy"] == pytest.approx(6 / 9) and s["root_accuracy"] == pytest.approx(2 / 3)
    assert s["labels"] == [0, 1, 2] and s["predictions"] == [1, 1, 0]
    assert s["node_per_class"][1] == pytest.approx({"precision": 2 / 4, "recall": 2 / 3, "f1": 4 / 7, "support": 3})
    assert s["root_per_class"][2] == {"precision": None, "recall": 0.0, "f1": 0.0, "support": 1}
    for select_by, chosen in (("accuracy", 2 / 3), ("macro_f1", root_f1)):  # validation: the same figures
        task = TreeTask(model, enc, trees, trees, batch_size=2, select_by=select_by)
        m = task.evaluate()
        assert m["root_macro_f1"] == pytest.approx(root_f1) and m["node_macro_f1"] == pytest.approx(node_f1)
        assert task.criterion(m) == pytest.approx(1 - chosen) and task.resume_options()["--select-by"] == select_by
    with pytest.raises(ValueError, match="select_by"):
        TreeTask(model, enc, trees, select_by="f1")


def test_sst2_leaves_unlabelled_nodes_and_neutral_roots_out_of_the_matrices():
    """SST-2 learns no neutral node: such a node is in no matrix; a neutral root counts against the root
    accuracy (tree_scores of trees select_trees would have dropped) but is in no root class."""
    trees = [parse_tree(line) for line in ["(3 (2 the) (4 good))", "(1 (0 bad) (2 film))", "(2 (2 a) (2 film))"]]
    enc = TreeEncoder.build(trees, 2)
    s = tree_scores(ByWord(enc, {"good": 1, "film": 1}), enc, trees)
    # labelled nodes: good 1->1, root 1->1 | bad 0->0, root 0->1
    assert s["node_confusion"] == [[1, 1], [0, 2]] and s["root_confusion"] == [[0, 1], [0, 1]]
    assert s["node_macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2) and s["root_macro_f1"] == pytest.approx(1 / 3)
    assert (s["nodes"], s["node_accuracy"], s["trees"], s["root_accuracy"]) == (4, 0.75, 3, pytest.approx(1 / 3))


def test_resume_takes_a_checkpoint_without_select_by_as_selected_by_accuracy():
    """Runs of the classifier or the tree model written before --select-by was kept chose by accuracy."""
    from rnnkit.train.digest import resume_problem

    old = {"run_options": {"--batch-size": 25, "validation data": None}}
    said = resume_problem(old, {}, {}, None, {"--batch-size": 25, "--select-by": "macro_f1", "validation data": None})
    assert "--select-by accuracy then, macro_f1 now" in said, said
    assert resume_problem(old, {}, {}, None, {"--batch-size": 25, "--select-by": "accuracy",
                                              "validation data": None}) is None


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    """Training trees labelled 0/1 of their own, 15% positive; validation trees where predicting 0 at
    every root has the highest root accuracy any model reaches: 95 negative trees, 2 positive ones
    ('great movie', 'fun film') and 3 negative ones of the same words, so a model that learnt the
    positive words wins 2 roots and loses 3 (97% against 98%), while its root macro-F1 (0.78) is far
    above the majority's (0.49)."""
    d = tmp_path_factory.mktemp("skewed")
    rng = np.random.default_rng(0)
    train, valid = [], []
    while len(train) < 200:
        line = tree_line(rng, "1", "0", "0")
        if line.startswith("(1 ") == (rng.random() < 0.15):
            train.append(line)
    while len(valid) < 95:
        line = tree_line(rng, "1", "0", "0")
        if line.startswith("(0 "):
            valid.append(line)
    valid += ["(0 (0 great) (0 movie))", "(0 (0 fun) (0 film))", "(0 (0 great) (0 movie))",
              "(1 (1 great) (0 movie))", "(1 (1 fun) (0 film))"]
    return {"train": write(d / "train.txt", train), "valid": write(d / "valid.txt", valid), "dir": d}


def _epochs(run):
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r["type"] == "epoch"]


def test_select_by_macro_f1_keeps_another_epoch_and_resume_refuses_a_change(skewed, capsys):
    d = skewed["dir"]
    base = ["train", "tree", "--train", skewed["train"], "--valid", skewed["valid"], "--labels", "as-is",
            "--epochs", "4", *FAST]
    chosen = {}
    for metric in ("accuracy", "macro_f1"):
        run = d / metric
        code, _, err = run_cli(capsys, base + ["--select-by", metric, "--run-dir", str(run), "--progress", "lines",
                                               "--log-every", "1000"])
        assert code == 0, err
        epochs = _epochs(run)
        line = next(x for x in err.splitlines() if x.startswith("epoch 1 done"))
        assert f"valid root_macro_f1 {100 * epochs[0]['valid_root_macro_f1']:.2f} |" in line, line  # as F1, no %
        assert "valid node_macro_f1" in line and "valid root_accuracy" in line, line
        best = None
        for e in epochs:  # "best" marks each strict improvement of the chosen metric, and only those
            value = e[f"valid_root_{metric}"]
            assert e["best"] == (best is None or value > best), (metric, e)
            best = value if e["best"] else best
        chosen[metric] = [e for e in epochs if e["best"]][-1]
        assert {e["selected_by"] for e in epochs} == {f"root_{metric}"}  # what rnnkit curves reads
        assert selecting_metric(read_run(run)) == f"root_{metric}"
        assert chosen[metric][f"valid_root_{metric}"] == max(e[f"valid_root_{metric}"] for e in epochs)
    # the same training (same seed; --select-by changes no step), another checkpoint kept
    assert _epochs(d / "accuracy")[-1]["train_loss"] == _epochs(d / "macro_f1")[-1]["train_loss"]
    acc, f1 = chosen["accuracy"], chosen["macro_f1"]
    assert acc["epoch"] == 1 and acc["valid_root_accuracy"] == 0.98 and acc["valid_root_macro_f1"] < 0.5, chosen
    assert f1["epoch"] > 1 and f1["valid_root_macro_f1"] > 0.7 and f1["valid_root_accuracy"] < 0.98, chosen
    code, _, err = run_cli(capsys, base + ["--epochs", "5", "--run-dir", str(d / "macro_f1"), "--resume"])
    assert code == 2 and "--select-by macro_f1 then, accuracy now" in err, err
    # a run written before --select-by was kept chose by accuracy: resumed as such, refused with macro_f1
    last = d / "accuracy" / "last.safetensors"
    arrays, meta = load_checkpoint(last)
    del meta["run_options"]["--select-by"]
    save_checkpoint(last, arrays, meta)
    code, _, err = run_cli(capsys, base + ["--epochs", "5", "--select-by", "macro_f1", "--run-dir", str(d / "accuracy"),
                                           "--resume"])
    error = err.strip().splitlines()[-1]  # after the data line, one line
    assert code == 2 and error.startswith("rnnkit: error:") and "--select-by accuracy then, macro_f1 now" in error, err
    code, _, err = run_cli(capsys, base + ["--epochs", "5", "--run-dir", str(d / "accuracy"), "--resume"])
    assert code == 0 and len(_epochs(d / "accuracy")) == 5, err


def test_select_by_without_validation_is_refused(skewed, tmp_path, capsys):
    code, _, err = run_cli(capsys, ["train", "tree", "--train", skewed["train"], "--labels", "as-is", "--select-by",
                                    "macro_f1", "--run-dir", str(tmp_path / "r"), *FAST])
    assert code == 2 and err.count("\n") == 1, err
    assert "--select-by has no effect without --valid" in err and "or leave --select-by out" in err, err
    assert not (tmp_path / "r").exists()
