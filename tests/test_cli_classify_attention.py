"""``train classifier --pooling attention`` and ``classify --attention``: each token's weight under its text, columns
lined up by display width for Chinese, and one clear line where the option cannot apply."""
from __future__ import annotations

import json

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.cli.classify_attention import bar
from rnnkit.textwidth import display_width

TINY = ["--embed", "8", "--hidden", "8", "--batch-size", "8", "--epochs", "2", "--lr", "0.02", "--progress", "none",
        "--checkpoint-minutes", "0", "--valid-fraction", "0"]


def _rows(rng, n, cues, filler, sep):
    rows = []
    for _ in range(n):
        label = ["pos", "neg"][int(rng.integers(2))]
        words = [str(w) for w in rng.choice(filler, int(rng.integers(2, 6)))]
        words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(cues[label])))
        rows.append(f"{label}\t{sep.join(words)}\n")
    return rows


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Data and run folders of an English word-level and a Chinese character-level classifier with attention pooling,
    and of one pooling by max."""
    d = tmp_path_factory.mktemp("attn")
    rng = np.random.default_rng(0)
    en = d / "en.tsv"
    en.write_text("".join(_rows(rng, 40, {"pos": ["great", "fun"], "neg": ["dull", "awful"]},
                                "the a movie film plot it was".split(), " ")), encoding="utf-8")
    zh = d / "zh.tsv"
    zh.write_text("".join(_rows(rng, 40, {"pos": list("好棒"), "neg": list("差爛")}, list("這家餐廳的菜服務"), "")),
                  encoding="utf-8")
    return {"en": (en, d / "en"), "zh": (zh, d / "zh"), "max": (en, d / "max"),  # trained when first used
            "cut": (en, d / "cut")}


OPTIONS = {"en": ["--pooling", "attention", "--attention-size", "6"],
           "zh": ["--pooling", "attention", "--level", "char"], "max": [],
           "cut": ["--pooling", "attention", "--max-length", "3"]}


def _train(capsys, models, name):
    data, run = models[name]
    if not (run / "last.safetensors").exists():
        more = OPTIONS[name]
        code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(data), "--run-dir", str(run), *TINY,
                                        *more])
        assert code == 0, err
    return str(run / "last.safetensors")


def _blocks(out):
    """(classification line, [(token, weight, bar)]) per text of classify --attention's output."""
    blocks = []
    for line in out.splitlines():
        if line.startswith("  "):
            blocks[-1][1].append(line[2:])
        elif line:
            blocks.append((line, []))
    return blocks


def test_classify_attention_shows_every_token_with_its_weight(capsys, models, tmp_path):
    model = _train(capsys, models, "en")
    (tmp_path / "in.txt").write_text("the movie was great\n\na dull plot zzz\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["classify", model, str(tmp_path / "in.txt"), "--attention"])
    assert code == 0, err
    assert out.split("\n")[5] == "", "a blank input line stays a blank output line"
    blocks = _blocks(out)
    assert [b[0].split("\t")[1] for b in blocks] == ["the movie was great", "a dull plot zzz"]
    for head, lines in blocks:
        tokens = head.split("\t")[1].split()
        assert len(lines) == len(tokens)
        weights = []
        for token, line in zip(tokens, lines):
            shown = token if token != "zzz" else "zzz (<unk>)"  # never seen in training: read as <unk>
            assert line.startswith(shown + " "), (line, shown)
            w = float(line[len(shown):].split()[0])
            assert line.rstrip().endswith(bar(w).rstrip())
            weights.append(w)
        assert abs(sum(weights) - 1) < 0.002, weights
        starts = {line.index(f"{w:.3f}") for line, w in zip(lines, weights)}
        assert len(starts) == 1, f"the weights are not in one column: {lines}"
    # the same labels as without --attention
    code, plain, _ = run_cli(capsys, ["classify", model, str(tmp_path / "in.txt")])
    assert [b[0] for b in blocks] == [line for line in plain.splitlines() if line]


def test_classify_attention_lines_up_chinese_characters(capsys, models, tmp_path):
    model = _train(capsys, models, "zh")
    (tmp_path / "in.txt").write_text("這家餐廳的菜好\n服務x差\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["classify", model, str(tmp_path / "in.txt"), "--attention", "--probs"])
    assert code == 0, err
    blocks = _blocks(out)
    assert [len(lines) for _, lines in blocks] == [7, 4]
    assert blocks[1][1][2].startswith("x (<unk>)")
    for _, lines in blocks:
        columns = set()
        for line in lines:
            number = next(part for part in line.split() if part.count(".") == 1 and part[0].isdigit())
            columns.add(display_width(line[: line.index(number)]))
        assert len(columns) == 1, f"weights not in one display column: {lines}"


def test_classify_attention_refused_without_attention_pooling(capsys, models):
    model = _train(capsys, models, "max")
    code, out, err = run_cli(capsys, ["classify", model, "--attention"])
    assert code != 0 and out == ""
    assert err.strip().splitlines()[-1].endswith(f"--attention shows the weights of attention pooling, and {model} "
                                                 "pools by max: train a classifier with --pooling attention, or leave "
                                                 "--attention out")
    assert "Traceback" not in err


def test_attention_size_without_attention_pooling_is_refused(capsys, models, tmp_path):
    data, _ = models["en"]
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(data), "--attention-size", "5",
                                    "--run-dir", str(tmp_path / "r"), *TINY])
    assert code != 0 and "Traceback" not in err
    assert "--attention-size has no effect with --pooling max (it sizes attention pooling): add --pooling attention, " \
           "or leave --attention-size out" in err
    assert not (tmp_path / "r").exists()


def test_resuming_a_max_pooling_run_with_attention_names_pooling_alone(capsys, models, tmp_path):
    """A max-pooling run records ClassifierConfig's attention_size (100), which it has no part for: resumed with
    --pooling attention, the message named an --attention-size never given; --pooling is the change."""
    data, _ = models["max"]
    run = tmp_path / "r"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(data), "--run-dir", str(run), *TINY,
                                    "--max-steps", "2"])
    assert code == 0, err
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(data), "--run-dir", str(run), *TINY,
                                    "--pooling", "attention", "--resume"])
    assert code == 2 and "Traceback" not in err
    assert "(--pooling (classifier_config.pooling): 'max' then, 'attention' now); resume with" in err, err
    assert "attention-size" not in err and "attention_size" not in err, err


def test_attention_is_refused_for_a_tree_model(capsys, tmp_path):
    from test_cli_tree import tree_line

    rng = np.random.default_rng(0)
    trees = tmp_path / "trees.txt"
    trees.write_text("".join(tree_line(rng) + "\n" for _ in range(20)), encoding="utf-8")
    run = tmp_path / "tree"
    code, _, err = run_cli(capsys, ["train", "tree", "--train", str(trees), "--epochs", "1", "--embed", "4", "--hidden",
                                    "4", "--progress", "none", "--checkpoint-minutes", "0", "--run-dir", str(run)])
    assert code == 0, err
    code, out, err = run_cli(capsys, ["classify", str(run / "last.safetensors"), str(trees), "--attention"])
    assert code != 0 and out == "" and err.strip().splitlines() == [
        f"rnnkit: error: --attention shows a sentence classifier's attention pooling, and {run / 'last.safetensors'} "
        "is a tree model: leave --attention out"], err


def test_the_bar_is_forty_columns_for_a_weight_of_one_to_the_eighth():
    assert bar(0.0) == "" and bar(1.0) == "█" * 40 and bar(0.5) == "█" * 20
    assert bar(1 / 320) == "▏" and bar(3 / 40 + 7 / 320) == "█" * 3 + "▉"


def test_attention_marks_the_tokens_max_length_cut(models, capsys, tmp_path):
    model = _train(capsys, models, "cut")
    (tmp_path / "in.txt").write_text("the movie was great fun\nit was great\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["classify", model, str(tmp_path / "in.txt"), "--attention"])
    assert code == 0, err
    blocks = _blocks(out)
    assert len(blocks[0][1]) == 4 and blocks[0][1][-1] == "... 2 more tokens not read (the model's --max-length 3 " \
                                                          "cut them)", out
    assert len(blocks[1][1]) == 3 and "more tokens" not in out.split("it was great")[1], out  # not cut: no mark
    code, out, err = run_cli(capsys, ["classify", model, str(tmp_path / "in.txt"), "--attention", "--format", "json"])
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rows[0]["cut"] == 2 and "cut" not in rows[1], out
    assert [a["token"] for a in rows[0]["attention"]] == ["the", "movie", "was"], out
    assert abs(sum(a["weight"] for a in rows[0]["attention"]) - 1) < 1e-5


def test_json_format_of_a_sentence_classifier(models, capsys, tmp_path):
    model = _train(capsys, models, "max")
    (tmp_path / "in.txt").write_text("the film was great\n\nawful plot\n", encoding="utf-8")
    code, text, _ = run_cli(capsys, ["classify", model, str(tmp_path / "in.txt"), "--probs"])
    code, out, err = run_cli(capsys, ["classify", model, str(tmp_path / "in.txt"), "--format", "json"])
    assert code == 0, err
    lines = out.split("\n")
    assert lines[1] == "" and len(lines) == 4, out  # a blank line answers a blank line
    for shown, line in zip(text.split("\n")[::2], lines[::2]):
        row = json.loads(line)
        label, probs, sentence = shown.split("\t")
        assert row["label"] == label and row["text"] == sentence and set(row["probs"]) == {"neg", "pos"}
        assert all(abs(row["probs"][k] - float(v)) < 1e-4 for k, v in (p.split(":") for p in probs.split()))
