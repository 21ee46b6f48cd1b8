"""``rnnkit evaluate SEGMENTER DATA --dict FILE``: word F1 without and with a user dictionary, side by side; the
second is the F1 of what ``rnnkit segment --dict FILE`` prints for DATA's sentences."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.cli.main import main
from rnnkit.metrics.segmentation import segmentation_prf
from rnnkit.tagging import LoadedTagger
from rnnkit.tagging.segmenter import segment_lines, written_lines

WORDS = ["我们", "喜欢", "北京", "大学", "学生", "的", "是", "老师", "在", "工作", "图书馆", "iPhone", "7"]
# 欧阳丽 and 循环神经网络 are never seen in training: the model splits them, the dictionary keeps them
TEST = ["欧阳丽 喜欢 循环神经网络", "老师 在 北京 大学 工作", "我们 喜欢 欧阳丽 的 iPhone 7", "欧阳丽 是 老师"]


@pytest.fixture(scope="module")
def seg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaldict")
    rng = np.random.default_rng(5)
    lines = [" ".join(str(w) for w in rng.choice(WORDS, int(rng.integers(3, 8)))) for _ in range(120)]
    (tmp / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp / "test.txt").write_text("\n".join(TEST) + "\n", encoding="utf-8")
    assert main(["train", "hmm", "--train", str(tmp / "train.txt"), "--format", "segmented", "--output",
                 str(tmp / "hmm.st")]) == 0
    (tmp / "names.txt").write_text("欧阳丽 3 nr\n循环神经网络\n", encoding="utf-8")
    return tmp


def test_scores_with_and_without_the_dictionary_side_by_side(seg, capsys, monkeypatch):
    test, names = seg / "test.txt", seg / "names.txt"
    code, plain, _ = run_cli(capsys, ["evaluate", str(seg / "hmm.st"), str(test), "--json"])
    assert code == 0
    without = json.loads(plain)
    code, out, err = run_cli(capsys, ["evaluate", str(seg / "hmm.st"), str(test), "--dict", str(names), "--json"])
    assert code == 0, err
    both = json.loads(out)
    assert {k: v for k, v in both.items() if k != "with_dict"} == without  # the usual scores, unchanged
    with_dict = both["with_dict"]
    assert with_dict["dictionary_words"] == 2 and with_dict["f1"] > without["f1"], (with_dict, without)
    # the F1 of what `segment --dict` prints for the test sentences written as raw text
    gold = [line.split() for line in TEST]
    assert written_lines(gold)[2] == "我们喜欢欧阳丽的iPhone 7"  # a space only where written text has one
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(written_lines(gold)) + "\n"))
    code, printed, _ = run_cli(capsys, ["segment", str(seg / "hmm.st"), "--dict", str(names)])
    assert code == 0
    assert with_dict["f1"] == segmentation_prf(gold, [line.split() for line in printed.splitlines()])["f1"]
    loaded = LoadedTagger(seg / "hmm.st")  # and without the dictionary, segment_lines scores as evaluate does
    assert segmentation_prf(gold, segment_lines(loaded, written_lines(gold)))["f1"] == without["f1"]
    code, out, _ = run_cli(capsys, ["evaluate", str(seg / "hmm.st"), str(test), "--dict", str(names)])
    lines = out.splitlines()
    assert code == 0 and lines[1].startswith(f"user dictionary {names} (2 words): word F1 +"), out
    assert lines[2].startswith("  without --dict ") and f"F1 {100 * without['f1']:6.2f}" in lines[2]
    assert lines[3].startswith("  with --dict ") and f"F1 {100 * with_dict['f1']:6.2f}" in lines[3]


def test_dict_is_refused_where_it_cannot_apply(seg, tmp_path, capsys):
    (tmp_path / "pos.txt").write_text("我们/r 喜欢/v 北京/ns\n老师/n 在/p 工作/v\n" * 5, encoding="utf-8")
    assert main(["train", "hmm", "--train", str(tmp_path / "pos.txt"), "--format", "slash", "--output",
                 str(tmp_path / "pos.st")]) == 0
    capsys.readouterr()  # training's lines
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "pos.st"), str(tmp_path / "pos.txt"), "--dict",
                                      str(seg / "names.txt")])
    assert code == 2 and out == "" and "is no segmentation model" in err and err.count("\n") == 1, err
    code, out, err = run_cli(capsys, ["evaluate", str(seg / "hmm.st"), str(seg / "test.txt"), "--dict",
                                      str(seg / "names.txt"), "--errors", str(tmp_path / "e.txt")])
    assert code == 2 and "--errors writes the model's own wrong sentences" in err and not (tmp_path / "e.txt").exists()
