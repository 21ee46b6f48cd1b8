"""``rnnkit train tree`` and ``rnnkit evaluate`` on a tree model, end to end through the CLI."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.data.trees import parse_tree
from rnnkit.treenet.task import load_treenet

POS, NEG, NEUTRAL = ["good", "great", "fine"], ["bad", "awful", "dull"], ["the", "film", "is", "a"]


def sentiment_words(rng: np.random.Generator, most: int = 3) -> tuple[list[str], str]:
    """1 to ``most`` neutral words with one sentiment word among them, and its polarity "4" or "0"."""
    words = [str(w) for w in rng.choice(NEUTRAL, size=int(rng.integers(1, most + 1)))]
    positive = bool(rng.integers(0, 2))
    words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(POS if positive else NEG)))
    return words, "4" if positive else "0"


def tree_line(rng: np.random.Generator) -> str:
    """A right-branching tree of neutral words and one sentiment word: every node above the sentiment
    word carries its polarity (4 or 0), the others are neutral (2)."""
    words, pol = sentiment_words(rng)

    def build(ws: list[str]) -> tuple[str, bool]:
        if len(ws) == 1:
            has = ws[0] in POS + NEG
            return f"({pol if has else 2} {ws[0]})", has
        left, lh = build(ws[:1])
        right, rh = build(ws[1:])
        return f"({pol if lh or rh else 2} {left} {right})", lh or rh

    return build(words)[0]


def write_splits(d, line) -> dict:
    """train.txt, dev.txt and test.txt in directory d, of 200, 40 and 40 trees ``line(rng)``; their paths,
    and the directory as "dir"."""
    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", 200), ("dev", 40), ("test", 40)):
        path = d / f"{split}.txt"
        path.write_text("".join(line(rng) + "\n" for _ in range(n)), encoding="utf-8")
        out[split] = str(path)
    out["dir"] = d
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_splits(tmp_path_factory.mktemp("trees"), tree_line)


COMMON = ["--embed", "8", "--hidden", "12", "--dropout", "0", "--progress", "none", "--checkpoint-minutes", "0",
          "--lr", "0.02", "--batch-size", "10"]


@pytest.mark.parametrize("cell,classes", [("lstm", "5"), ("rnn", "2"), ("rntn", "5")])
def test_train_evaluate_and_resume(files, tmp_path, capsys, monkeypatch, cell, classes):
    run = tmp_path / "run"
    args = ["train", "tree", "--train", files["train"], "--valid", files["dev"], "--test", files["test"],
            "--cell", cell, "--classes", classes, "--epochs", "6", "--run-dir", str(run), *COMMON]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "test: root accuracy" in out
    test_acc = float(out.split("root accuracy ")[1].split("%")[0])
    assert test_acc >= 90.0, out  # one sentiment word decides the root: the model must find it
    model, enc = load_treenet(run / "best.safetensors")
    assert model.config.cell == cell and enc.classes == int(classes)
    assert main(["evaluate", str(run / "best.safetensors"), files["test"], "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["trees"] == 40 and m["root_accuracy"] == pytest.approx(test_acc / 100, abs=5e-5)
    assert main(["classify", str(run / "best.safetensors"), files["test"], "--probs"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 40
    label, probs, text = rows[0].split("\t")
    written = ["1", "3"] if classes == "2" else [str(k) for k in range(int(classes))]  # SST-2: SST's labels
    assert label in written and [p.split(":")[0] for p in probs.split()] == written
    assert text == " ".join(parse_tree(open(files["test"]).readline()).tokens)
    # a blank input line gives an empty output line: output line k answers input line k
    monkeypatch.setattr("sys.stdin", io.StringIO("(3 (2 a) (4 good))\n\n  \n(1 (2 a) (0 bad))\n"))
    assert main(["classify", str(run / "best.safetensors")]) == 0
    rows = capsys.readouterr().out.split("\n")
    assert len(rows) == 5 and rows[1:3] == ["", ""] and rows[4] == "", rows
    assert rows[0].endswith("\ta good") and rows[3].endswith("\ta bad"), rows
    monkeypatch.setattr("sys.stdin", io.StringIO("\n \n"))  # blank lines only: blank answers, as a text classifier
    assert main(["classify", str(run / "best.safetensors")]) == 0
    assert capsys.readouterr().out == "\n\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("(3 (2 a) (4 good))\n(3 (2 a) (4 good)\n"))
    assert main(["classify", str(run / "best.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert "<stdin>:2: Expected 1 more ')'" in err and "\n" not in err, err
    # a run stopped after 7 steps and resumed ends where the uninterrupted one did
    assert main(args[:-len(COMMON) - 2] + ["--run-dir", str(tmp_path / "cut"), *COMMON, "--max-steps", "7"]) == 0
    assert main(args[:-len(COMMON) - 2] + ["--run-dir", str(tmp_path / "cut"), *COMMON, "--resume"]) == 0
    capsys.readouterr()
    full, _ = load_treenet(run / "last.safetensors")
    resumed, _ = load_treenet(tmp_path / "cut" / "last.safetensors")
    for k, v in full.params.items():
        np.testing.assert_array_equal(resumed.params[k], v, err_msg=k)


def test_binary_task_drops_neutral_roots_and_ignores_neutral_nodes(tmp_path):
    from rnnkit.data.trees import parse_tree
    from rnnkit.treenet.task import TreeEncoder, select_trees, task_labels

    trees = [parse_tree("(3 (2 a) (4 good))"), parse_tree("(2 (2 a) (1 meh))"), parse_tree("(0 bad)")]
    kept = select_trees(trees, 2)
    assert [t.root_label for t in kept] == [3, 0]
    assert task_labels(trees[0], 2).tolist() == [-1, 1, 1]
    enc = TreeEncoder.build(kept, 2)
    b = enc.batch(kept)
    assert b.labels.tolist() == [-1, 1, 1, 0]
    with pytest.raises(ValueError, match="classes 5"):
        task_labels(trees[0], 3)


def test_bad_inputs_give_one_line_and_exit_2(files, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("(3 (2 a) (2 b)\n", encoding="utf-8")
    code = main(["train", "tree", "--train", str(bad), "--run-dir", str(tmp_path / "r"), *COMMON])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("rnnkit: error:") and "\n" not in err and f"{bad}:1:" in err, err
    with pytest.raises(SystemExit) as exit_:
        main(["train", "tree", "--train", files["train"], "--classes", "3", "--run-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and "--classes" in err and "\n" not in err, err
    seven = tmp_path / "seven.txt"
    seven.write_text("(3 (2 a) (4 b))\n\n(3 (2 a) (7 b))\n", encoding="utf-8")
    code = main(["train", "tree", "--train", str(seven), "--run-dir", str(tmp_path / "r"), *COMMON])
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"{seven}:3: a node has the label 7; a tree model reads SST's labels" in err, err
    assert "\n" not in err and "--classes" not in err, err
    neutral = tmp_path / "neutral.txt"
    neutral.write_text("(2 (2 a) (4 b))\n", encoding="utf-8")
    code = main(["train", "tree", "--train", str(neutral), "--classes", "2", "--run-dir", str(tmp_path / "r"), *COMMON])
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"{neutral}: the one tree has a neutral root" in err and "train on" in err, err
    neutral.write_text("(2 (2 a) (4 b))\n(2 (1 c) (3 d))\n", encoding="utf-8")
    code = main(["train", "tree", "--train", str(neutral), "--classes", "2", "--run-dir", str(tmp_path / "r"), *COMMON])
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"{neutral}: all 2 trees have a neutral root" in err, err
    neutral.write_text("(2 (2 a) (4 b))\n", encoding="utf-8")
    # a neutral --valid or --test was dropped without a word: no validation, no test line, exit 0
    for option, use in (("--valid", "validate on"), ("--test", "test on")):
        code = main(["train", "tree", "--train", files["train"], option, str(neutral), "--classes", "2",
                     "--run-dir", str(tmp_path / "r2"), *COMMON])
        err = capsys.readouterr().err.strip()
        assert code == 2 and f"{neutral}: the one tree has a neutral root" in err and use in err, err
    assert not (tmp_path / "r2").exists()
    lm_like = tmp_path / "x.safetensors"
    from rnnkit.checkpoint import save_checkpoint
    save_checkpoint(lm_like, {"model/w": np.zeros(2, np.float32)}, {"task": {"model": "classifier"}})
    with pytest.raises(Exception, match="not a tree model checkpoint"):
        load_treenet(lm_like)


def test_word_dropout_option_is_recorded(files, tmp_path):
    from rnnkit.checkpoint import load_checkpoint

    run = tmp_path / "run"
    assert main(["train", "tree", "--train", files["train"], "--epochs", "1", "--word-dropout", "0.2",
                 "--run-dir", str(run), *COMMON]) == 0
    assert load_checkpoint(run / "last.safetensors")[1]["task"]["word_dropout"] == 0.2


def test_an_sst2_models_tree_output_reads_back_as_its_own_predictions(files, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "tree", "--train", files["train"], "--classes", "2", "--epochs", "1", "--run-dir", str(run),
                 *COMMON]) == 0
    model = str(run / "last.safetensors")
    capsys.readouterr()
    assert main(["classify", model, files["test"], "--format", "tree"]) == 0
    rows = capsys.readouterr().out.splitlines()
    own = tmp_path / "own.txt"
    own.write_text("".join(r.split("\t")[1] + "\n" for r in rows), encoding="utf-8")
    roots = {r.split("\t")[0] for r in rows}
    assert roots <= {"1", "3"}, roots  # SST's negative and positive, not the class numbers 0 and 1
    assert main(["evaluate", model, str(own), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["trees"] == 40 and m["root_accuracy"] == 1.0 and m["node_accuracy"] == 1.0, m
    assert main(["classify", model, files["test"], "--format", "json", "--probs"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])  # probabilities keyed by the labels written
    assert row["label"] in (1, 3) and list(row["probs"]) == ["1", "3"] and row["probs"] == row["nodes"][-1]["probs"]
    assert max(row["probs"], key=row["probs"].get) == str(row["label"]), row
