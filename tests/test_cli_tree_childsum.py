"""``rnnkit train tree --cell childsum`` on trees of any arity, end to end: train, evaluate, classify (every
node's span), resume; the binary cells refusing such trees in one line naming the file, line and node."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

from test_cli_tree import COMMON, NEG, POS, sentiment_words, write_splits

from rnnkit.cli.main import main
from rnnkit.data.trees import parse_tree
from rnnkit.treenet.task import load_treenet


def nary_line(rng: np.random.Generator) -> str:
    """Neutral words and one sentiment word under nodes of 1 to 3 children: every node above the
    sentiment word carries its polarity (4 or 0), the others are neutral (2)."""
    words, pol = sentiment_words(rng, 4)

    def build(ws: list[str]) -> tuple[str, bool]:
        if len(ws) == 1:
            has = ws[0] in POS + NEG
            leaf = f"({pol if has else 2} {ws[0]})"
            return (f"({pol if has else 2} {leaf})", has) if rng.random() < 0.15 else (leaf, has)  # unary above
        parts = min(len(ws), int(rng.integers(2, 4)))
        cuts = sorted(rng.choice(np.arange(1, len(ws)), size=parts - 1, replace=False).tolist())
        kids = [build(ws[a:b]) for a, b in zip([0, *cuts], [*cuts, len(ws)])]
        has = any(h for _, h in kids)
        return f"({pol if has else 2} " + " ".join(k for k, _ in kids) + ")", has

    return build(words)[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_splits(tmp_path_factory.mktemp("nary"), nary_line)


def test_the_data_has_nodes_of_one_two_and_three_children(files):
    trees = [parse_tree(line, arity="any") for line in open(files["train"], encoding="utf-8")]
    seen = {len(t.kids(k)) for t in trees for k in range(len(t.labels)) if t.leaf[k] < 0}
    assert seen == {1, 2, 3}


def test_train_evaluate_classify_and_resume(files, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    args = ["train", "tree", "--train", files["train"], "--valid", files["dev"], "--test", files["test"],
            "--cell", "childsum", "--epochs", "6", "--run-dir", str(run), *COMMON]
    assert main(args) == 0
    out = capsys.readouterr().out
    test_acc = float(out.split("root accuracy ")[1].split("%")[0])
    assert test_acc >= 90.0, out
    model, enc = load_treenet(run / "best.safetensors")
    assert model.config.cell == "childsum" and model.params["compose.weight"].shape == (48, 12)
    assert main(["evaluate", str(run / "best.safetensors"), files["test"], "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["trees"] == 40 and m["root_accuracy"] == pytest.approx(test_acc / 100, abs=5e-5)
    # classify reads trees of any arity (labels optional) and writes every node's span and class
    monkeypatch.setattr("sys.stdin", io.StringIO("(the film ((is)) good)\n\n((a) dull film)\n"))
    assert main(["classify", str(run / "best.safetensors"), "--format", "json"]) == 0
    rows = capsys.readouterr().out.split("\n")
    first, third = json.loads(rows[0]), json.loads(rows[2])
    assert rows[1] == "" and first["label"] == 4 and third["label"] == 0, rows
    assert [(n["start"], n["end"]) for n in first["nodes"]] == [(0, 1), (1, 2), (2, 3), (2, 3), (3, 4), (0, 4)]
    assert first["tree"].startswith("(4 (") and first["tree"].count("(") == 6
    # the model alone (rnnkit export) classifies the same; a standard torch module it has not
    assert main(["export", str(run / "best.safetensors"), "-o", str(tmp_path / "small.safetensors")]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("(the film ((is)) good)\n\n((a) dull film)\n"))
    assert main(["classify", str(tmp_path / "small.safetensors"), "--format", "json"]) == 0
    assert capsys.readouterr().out.split("\n") == rows
    assert main(["export", str(run / "best.safetensors"), "--torch", "-o", str(tmp_path / "t.safetensors")]) == 2
    assert "is a tree model, which has no standard torch module" in capsys.readouterr().err
    # a run stopped after 7 steps and resumed ends where the uninterrupted one did
    cut = args[:-len(COMMON) - 2] + ["--run-dir", str(tmp_path / "cut"), *COMMON]
    assert main(cut + ["--max-steps", "7"]) == 0
    assert main(cut + ["--resume"]) == 0
    capsys.readouterr()
    full, _ = load_treenet(run / "last.safetensors")
    resumed, _ = load_treenet(tmp_path / "cut" / "last.safetensors")
    for k, v in full.params.items():
        np.testing.assert_array_equal(resumed.params[k], v, err_msg=k)


def test_binary_cells_refuse_nary_trees_in_one_line(files, tmp_path, capsys, monkeypatch):
    nary = tmp_path / "nary.txt"
    nary.write_text("(3 (2 a) (4 b))\n(3 (2 the) (2 film) (4 good))\n", encoding="utf-8")
    code = main(["train", "tree", "--train", str(nary), "--cell", "lstm", "--run-dir", str(tmp_path / "r"), *COMMON])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err, err
    assert f"{nary}:2: Expected exactly 2 children at an internal node (binarised trees), got 3 at the node over " \
           "'the film good'" in err and "--cell childsum" in err, err
    assert not (tmp_path / "r").exists()
    # a binary model's classify and evaluate refuse them too
    run = tmp_path / "bin"
    binary = tmp_path / "binary.txt"
    binary.write_text("(3 (2 a) (4 good))\n(1 (2 a) (0 bad))\n", encoding="utf-8")
    assert main(["train", "tree", "--train", str(binary), "--epochs", "1", "--run-dir", str(run), *COMMON]) == 0
    capsys.readouterr()
    code = main(["evaluate", str(run / "last.safetensors"), str(nary)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"{nary}:2: Expected exactly 2 children" in err and "\n" not in err, err
    # the way out: a Child-Sum model (not "one bracketed binary tree a line" beside "any number")
    assert "train one with --cell childsum" in err and "a line" not in err, err
    monkeypatch.setattr("sys.stdin", io.StringIO("(a very good)\n"))
    assert main(["classify", str(run / "last.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert "<stdin>:1: Expected exactly 2 children" in err and "'a very good'" in err and "\n" not in err, err
