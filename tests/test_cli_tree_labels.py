"""Tree models on a user's own trees through the CLI: ``train tree --labels as-is`` (and SST's schemes, the
default), classify of unlabelled trees and plain text, every node's class (``--format tree|json``), and the
confusion matrix and macro-F1 of the roots and of all nodes of ``evaluate``; older checkpoints (no label
scheme kept) as before."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from clirun import run_cli, write

from rnnkit.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.cli.main import main
from rnnkit.data.trees import parse_tree
from rnnkit.metrics.classification import macro_f1
from rnnkit.treenet.task import load_treenet

POS, NEG, NEUTRAL = ["good", "great", "fine"], ["bad", "awful", "dull"], ["the", "film", "is", "a"]
FAST = ["--embed", "8", "--hidden", "12", "--dropout", "0", "--progress", "none", "--checkpoint-minutes", "0",
        "--lr", "0.02", "--batch-size", "10"]


def tree_line(rng: np.random.Generator, pos: str, neg: str, neutral: str) -> str:
    """A right-branching tree of neutral words and one sentiment word; the nodes above it carry its label."""
    words = [str(w) for w in rng.choice(NEUTRAL, size=int(rng.integers(1, 4)))]
    positive = bool(rng.integers(0, 2))
    words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(POS if positive else NEG)))
    pol = pos if positive else neg

    def build(ws: list[str]) -> tuple[str, bool]:
        if len(ws) == 1:
            has = ws[0] in POS + NEG
            return f"({pol if has else neutral} {ws[0]})", has
        left, lh = build(ws[:1])
        right, rh = build(ws[1:])
        return f"({pol if lh or rh else neutral} {left} {right})", lh or rh

    return build(words)[0]


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    """Trees labelled 0/1 of their own (1 positive, 0 otherwise), and a model trained on them as they are."""
    d = tmp_path_factory.mktemp("own")
    rng = np.random.default_rng(1)
    out = {split: write(d / f"{split}.txt", [tree_line(rng, "1", "0", "0") for _ in range(n)])
           for split, n in (("train", 160), ("dev", 40))}
    out["run"] = d / "run"
    assert main(["train", "tree", "--train", out["train"], "--valid", out["dev"], "--labels", "as-is", "--epochs", "5",
                 "--run-dir", str(out["run"]), *FAST]) == 0
    out["model"] = str(out["run"] / "best.safetensors")
    return out


def test_own_binary_labels_train_as_is_and_sst_readings_say_so(binary, tmp_path, capsys):
    model, enc = load_treenet(binary["model"])
    assert (enc.scheme, enc.classes, model.config.num_classes) == ("as-is", 2, 2)
    assert load_checkpoint(binary["model"])[1]["task"]["label_scheme"] == "as-is"
    # --classes 2 reads 0 and 1 as SST-2's negative: refused, pointing at --labels as-is
    code, _, err = run_cli(capsys, ["train", "tree", "--train", binary["train"], "--classes", "2",
                                    "--run-dir", str(tmp_path / "r"), *FAST])
    assert code == 2 and err.count("\n") == 1 and "every node the task learns from is negative" in err, err
    assert "give --labels as-is" in err, err
    # the default (SST's five classes) trains, warning that three of them are never seen
    code, _, err = run_cli(capsys, ["train", "tree", "--train", binary["train"], "--epochs", "1",
                                    "--run-dir", str(tmp_path / "r5"), *FAST])
    assert code == 0 and "labels are 0, 1 only, read as SST's 0-4" in err and "--labels as-is" in err, err
    assert load_treenet(tmp_path / "r5" / "last.safetensors")[0].config.num_classes == 5


def test_as_is_refuses_gaps_unknown_labels_and_disagreeing_options(binary, tmp_path, capsys):
    gap = write(tmp_path / "gap.txt", ["(0 (0 a) (2 b))", "(2 (2 c) (0 d))"])
    code, _, err = run_cli(capsys, ["train", "tree", "--train", gap, "--labels", "as-is", "--run-dir",
                                    str(tmp_path / "r"), *FAST])
    assert code == 2 and err.count("\n") == 1 and f"{gap}: labels read as they are" in err, err
    assert "no node has the label 1;" in err, err
    three = write(tmp_path / "three.txt", ["(1 (0 a) (1 good))", "", "(1 (0 a) (2 good))"])
    for argv in (["evaluate", binary["model"], three],
                 ["train", "tree", "--train", binary["train"], "--valid", three, "--labels", "as-is",
                  "--run-dir", str(tmp_path / "r"), *FAST]):
        code, _, err = run_cli(capsys, argv)
        assert code == 2 and err.count("\n") == 1 and f"{three}:3: a node has the label 2" in err, err
        assert "labels 0-1 of its training trees" in err, err
    code, _, err = run_cli(capsys, ["train", "tree", "--train", binary["train"], "--classes", "5", "--labels", "as-is",
                                    "--run-dir", str(tmp_path / "r")])
    assert code == 2 and "--classes 5 and --labels as-is disagree" in err, err
    assert not (tmp_path / "r").exists()


def test_resume_refuses_another_label_scheme(binary, tmp_path, capsys):
    run = tmp_path / "run"
    base = ["train", "tree", "--train", binary["train"], "--run-dir", str(run), *FAST]
    assert main(base + ["--labels", "as-is", "--max-steps", "3"]) == 0
    for other, said in ((["--labels", "sst5"], "--labels sst5"), ([], "--labels sst5 (the default)")):
        code, _, err = run_cli(capsys, base + other + ["--resume"])
        assert code == 2 and err.strip().endswith("start a new run without --resume"), err
        assert f"started with --labels as-is, this one has {said}" in err, err
    assert main(base + ["--labels", "as-is", "--resume", "--max-steps", "5"]) == 0


def test_a_checkpoint_without_a_label_scheme_is_sst_as_before(tmp_path, capsys):
    rng = np.random.default_rng(2)
    lines = [tree_line(rng, p, n, "2") for p, n in [("4", "0"), ("3", "1")] * 30]
    train = write(tmp_path / "sst.txt", lines)
    run = tmp_path / "run"
    base = ["train", "tree", "--train", train, "--valid", train, "--run-dir", str(run), *FAST]
    assert main(base + ["--classes", "2", "--epochs", "2"]) == 0
    best = run / "best.safetensors"
    assert main(["evaluate", str(best), train, "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    for path in (best, run / "last.safetensors"):  # as written before the scheme was kept
        arrays, meta = load_checkpoint(path)
        del meta["task"]["label_scheme"]
        save_checkpoint(path, arrays, meta)
    assert (load_treenet(best)[1].scheme, load_treenet(best)[1].classes) == ("sst2", 2)
    assert main(["evaluate", str(best), train, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == before
    assert before["trees"] == 60 and before["labels"] == [1, 3]  # SST-2: neutral roots none here, 2 classes
    code, _, err = run_cli(capsys, base + ["--labels", "as-is", "--resume", "--epochs", "3"])
    assert code == 2 and "started with --labels sst2, this one has --labels as-is" in err, err


def test_evaluate_of_sst2_names_its_classes_as_classify_writes_them(tmp_path, capsys):
    """SST-2's classes 0, 1 are SST's 1 and 3 in evaluate's tables, as in classify's output (and as a tree file
    has them), not the class numbers."""
    rng = np.random.default_rng(3)
    train = write(tmp_path / "sst.txt", [tree_line(rng, p, n, "2") for p, n in [("4", "0"), ("3", "1")] * 20])
    run = tmp_path / "run"
    assert main(["train", "tree", "--train", train, "--valid", train, "--labels", "sst2", "--epochs", "1",
                 "--run-dir", str(run), *FAST]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run / "best.safetensors"), train, "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["labels"] == [1, 3] and set(m["node_per_class"]) == {"1", "3"}, m
    assert main(["evaluate", str(run / "best.safetensors"), train]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("all-node confusion matrix (rows gold, columns predicted):")
    assert [line.split()[0] for line in out[at + 2:at + 4]] == ["1", "3"], out  # the rows, under a header line
    assert [line.split()[0] for line in out[at + 5:at + 7]] == ["1:", "3:"], out  # the per-class table
    code, classified, _ = run_cli(capsys, ["classify", str(run / "best.safetensors"), train])
    assert code == 0 and {line.split("\t")[0] for line in classified.splitlines()} <= {"1", "3"}, classified


def test_evaluate_reports_the_confusion_matrix_and_macro_f1_of_roots_and_all_nodes(binary, tmp_path, capsys):
    dev = open(binary["dev"], encoding="utf-8").read().splitlines()
    # positive trees relabelled 0 throughout: errors one way only, so rows and columns cannot be swapped unseen
    flipped = [re.sub(r"\((\d) ", "(0 ", line) for line in dev if line.startswith("(1 ")][:6]
    data = write(tmp_path / "eval.txt", dev + flipped)
    assert main(["evaluate", binary["model"], data, "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    model, enc = load_treenet(binary["model"])
    trees = [parse_tree(line) for line in dev + flipped]
    every = [model.predict_proba(enc.batch([t], labelled=False)).argmax(axis=1) for t in trees]  # (N_b,) each
    pred = [int(p[-1]) for p in every]
    gold = [t.root_label for t in trees]
    node_gold = [int(g) for t in trees for g in t.labels]
    node_pred = [int(p) for ps in every for p in ps]
    nodes = np.zeros((2, 2), dtype=int)
    for g, p in zip(node_gold, node_pred):
        nodes[g, p] += 1
    confusion = np.zeros((2, 2), dtype=int)
    for g, p in zip(gold, pred):
        confusion[g, p] += 1
    assert confusion[0, 1] > confusion[1, 0], confusion  # the test data holds the errors it means to
    assert m["labels"] == [0, 1] and m["root_confusion"] == confusion.tolist()
    assert m["root_macro_f1"] == pytest.approx(macro_f1(gold, pred)) and m["root_macro_f1"] < 1
    assert m["root_accuracy"] == pytest.approx(np.trace(confusion) / len(trees))
    assert m["root_per_class"]["0"]["support"] == int(confusion[0].sum()) and "node_accuracy" in m
    # every labelled node (the flipped trees' phrases too), Socher et al.'s "all"
    assert nodes[0, 1] > nodes[1, 0] and m["node_confusion"] == nodes.tolist() and m["nodes"] == nodes.sum(), nodes
    assert m["node_macro_f1"] == pytest.approx(macro_f1(node_gold, node_pred)) and m["node_macro_f1"] < 1
    assert m["node_accuracy"] == pytest.approx(np.trace(nodes) / nodes.sum())
    assert m["node_per_class"]["1"]["support"] == int(nodes[1].sum())
    assert main(["evaluate", binary["model"], data]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"root macro-F1 {100 * m['root_macro_f1']:.2f}" in out[0] and "all-node accuracy" in out[0]
    assert out[0].endswith(f", all-node macro-F1 {100 * m['node_macro_f1']:.2f}"), out[0]
    assert out[1] == "root confusion matrix (rows gold, columns predicted):"
    assert out[3].split() == ["0", *map(str, confusion[0])] and out[4].split() == ["1", *map(str, confusion[1])]
    at = out.index("all-node confusion matrix (rows gold, columns predicted):")
    assert at == 8 and out[at + 2].split() == ["0", *map(str, nodes[0])] and out[at + 3].split()[1:] == \
        [*map(str, nodes[1])] and out[at + 4] == "per class:", out
    assert out[at + 6].split()[-2:] == [f"({nodes[1].sum():,}", "gold)"], out


def test_classify_refuses_a_gold_label_the_model_lacks_naming_the_line(binary, files_sst, tmp_path, capsys):
    bad = write(tmp_path / "bad.txt", ["(1 (0 the) (1 fine))", "(3 (0 the) (1 fine))"])
    code, out, err = run_cli(capsys, ["classify", binary["model"], bad])
    assert code == 2 and out == "" and f"{bad}:2: a node has the label 3" in err and "labels 0-1" in err, err
    assert "without labels" in err and "\n" not in err.strip(), err
    bad = write(tmp_path / "bad5.txt", ["(7 (2 the) (4 fine))"])
    code, out, err = run_cli(capsys, ["classify", files_sst, bad])
    assert code == 2 and f"{bad}:1: a node has the label 7" in err and "SST's labels 0" in err, err


@pytest.fixture(scope="module")
def files_sst(tmp_path_factory):
    """An SST-5 model (one step of training on SST-labelled trees)."""
    d = tmp_path_factory.mktemp("sst")
    rng = np.random.default_rng(2)
    train = write(d / "train.txt", [tree_line(rng, "4", "0", "2") for _ in range(20)])
    assert main(["train", "tree", "--train", train, "--max-steps", "1", "--run-dir", str(d / "run"), *FAST]) == 0
    return str(d / "run" / "last.safetensors")


def test_classify_reads_unlabelled_trees_and_writes_every_node(binary, tmp_path, capsys):
    labelled = "(1 (0 the) (1 (1 good) (0 film)))"
    variants = [labelled, "((the) ((good) (film)))", "(the (good film))", "(0 (the) (1 (good) (film)))"]
    inp = write(tmp_path / "in.txt", variants + ["", "(bad film)"])
    assert main(["classify", binary["model"], inp, "--probs"]) == 0
    rows = capsys.readouterr().out.split("\n")
    assert len(set(rows[:4])) == 1 and rows[4] == "" and rows[0].endswith("\tthe good film"), rows
    assert main(["classify", binary["model"], inp, "--format", "tree"]) == 0
    rows = capsys.readouterr().out.split("\n")
    model, enc = load_treenet(binary["model"])
    probs = model.predict_proba(enc.batch([parse_tree(labelled)], labelled=False))  # (5, 2)
    root, tree = rows[0].split("\t")
    back = parse_tree(tree)  # written with a label on every node: the strict reader takes it
    assert back.labels.tolist() == probs.argmax(axis=1).tolist() and back.tokens == ["the", "good", "film"]
    assert root == str(back.root_label) and rows[4] == ""
    assert main(["classify", binary["model"], inp, "--format", "json", "--probs"]) == 0
    rows = capsys.readouterr().out.split("\n")
    row = json.loads(rows[0])
    last = json.loads(rows[5])  # the last tree of the batch: its nodes are its own
    assert rows[4] == "" and last["words"] == ["bad", "film"]
    np.testing.assert_allclose([list(n["probs"].values()) for n in last["nodes"]],
                               model.predict_proba(enc.batch([parse_tree("(bad film)", "optional")], labelled=False)),
                               atol=1e-6)
    assert [(n["start"], n["end"]) for n in row["nodes"]] == [(0, 1), (1, 2), (2, 3), (1, 3), (0, 3)]
    assert all(list(n["probs"]) == ["0", "1"] for n in row["nodes"])  # keyed by label, in class order
    np.testing.assert_allclose([list(n["probs"].values()) for n in row["nodes"]], probs, atol=1e-6)
    assert row["tree"] == tree and row["label"] == int(root) and row["probs"] == row["nodes"][-1]["probs"]
    assert main(["classify", binary["model"], inp, "--format", "json"]) == 0
    plain = capsys.readouterr().out.split("\n")  # probabilities with or without --probs, as a sentence classifier's
    assert [json.loads(r) for r in plain if r] == [json.loads(r) for r in rows if r]


def test_plain_text_is_refused_or_binarized_on_request(binary, tmp_path, capsys):
    inp = write(tmp_path / "plain.txt", ["((the) (good))", "the film is good"])
    code, _, err = run_cli(capsys, ["classify", binary["model"], inp])
    assert code == 2 and err.count("\n") == 1 and f"{inp}:2: expected a bracketed binary tree" in err, err
    assert "--binarize right" in err, err
    code, out, err = run_cli(capsys, ["classify", binary["model"], inp, "--binarize", "right", "--format", "tree"])
    assert code == 0 and "1 line of plain words classified over right-branching trees" in err, err
    explicit = write(tmp_path / "explicit.txt", ["((the) (good))", "(the (film (is good)))"])
    assert main(["classify", binary["model"], explicit, "--format", "tree"]) == 0
    assert capsys.readouterr().out == out
    code, out, _ = run_cli(capsys, ["classify", binary["model"], inp, "--binarize", "left", "--format", "tree"])
    assert code == 0 and parse_tree(out.split("\n")[1].split("\t")[1]).children[-1].tolist() == [4, 5]
    bad = write(tmp_path / "bad.txt", ["the (good) film"])
    code, _, err = run_cli(capsys, ["classify", binary["model"], bad, "--binarize", "right"])
    assert code == 2 and f"{bad}:1: a line of plain words (--binarize) holds '('" in err, err
    broken = write(tmp_path / "broken.txt", ["(good film", "((a) (b))"])
    code, _, err = run_cli(capsys, ["classify", binary["model"], broken])
    assert code == 2 and err.count("\n") == 1 and f"{broken}:1: Expected 1 more ')'" in err, err


def test_tree_options_are_refused_for_a_classifier(tmp_path, capsys):
    data = write(tmp_path / "c.tsv", ["pos\tgood film", "neg\tbad film"] * 6)
    assert main(["train", "classifier", "--train", data, "--epochs", "1", "--run-dir", str(tmp_path / "c"),
                 "--progress", "none", "--embed", "4", "--hidden", "4"]) == 0
    capsys.readouterr()
    for option in (["--format", "tree"], ["--binarize", "right"]):
        code, _, err = run_cli(capsys, ["classify", str(tmp_path / "c" / "last.safetensors"), data, *option])
        said = "--format tree" if option[0] == "--format" else option[0]  # --format text and json it writes
        assert code == 2 and f"{said} has no effect for a sentence classifier" in err, err
        assert "rnnkit train tree" in err and (option[0] != "--format" or "text or json" in err), err
