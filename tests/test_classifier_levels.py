"""Classifier token levels: ``--level char`` for Chinese written without spaces, the warning for such
text at word level, and a confusion matrix that lines up with Chinese labels.

Before: text was split on whitespace only, so an unspaced Chinese sentence was one token; every new
sentence became ``<unk>`` and got the same class (evaluate of unspaced text: chance), training said
only ``data: N texts`` and nothing warned; the confusion matrix padded labels by ``len``, so a
column headed by Chinese (two terminal columns a character) stood two columns too far right.
"""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.classify.model import Classifier, ClassifierConfig
from rnnkit.classify.task import ClassifierEncoder, ClassifierTask, classifier_meta, load_classifier
from rnnkit.cli.classify import describe
from rnnkit.data.classification import char_tokens
from rnnkit.data.segmentation import unsegmented_cjk
from rnnkit.textwidth import display_width
from rnnkit.train import TrainConfig, Trainer

SMALL = ["--embed", "8", "--hidden", "8", "--batch-size", "4", "--dropout", "0.1", "--progress", "none",
         "--checkpoint-minutes", "0", "--lr", "0.03"]
FILLER = list("這家餐廳的菜服務環境價格今天我們朋友覺得")
CUES = {"正面": list("好棒讚"), "負面": list("差爛糟")}
# new sentences, as in the user's report: their other characters never occur in training
NEW = ["這家餐廳真好", "服務太差了,很失望"]


def _zh_rows(rng, n, sep=""):
    """``label<TAB>text`` rows of unspaced Chinese whose class is decided by one cue character."""
    rows = []
    for _ in range(n):
        label = ["正面", "負面"][int(rng.integers(2))]
        chars = list(rng.choice(FILLER, int(rng.integers(3, 8))))
        chars.insert(int(rng.integers(len(chars) + 1)), str(rng.choice(CUES[label])))
        rows.append(f"{label}\t{sep.join(chars)}\n")
    return rows


@pytest.fixture()
def zh_files(tmp_path):
    rng = np.random.default_rng(0)
    train, dev = tmp_path / "train.tsv", tmp_path / "dev.tsv"
    train.write_text("".join(_zh_rows(rng, 120)), encoding="utf-8")
    dev.write_text("".join(_zh_rows(rng, 40)), encoding="utf-8")
    return train, dev


def _warnings(err):
    """The warnings of ``err`` other than that of a small held-out part (these tests' data are small)."""
    return [line for line in err.splitlines() if line.startswith("rnnkit: warning:")
            and "held out to pick the best epoch" not in line]


def _accuracy(out):
    return float(re.search(r"accuracy ([\d.]+)%", out).group(1))


def test_char_tokens_drop_whitespace_and_keep_combining_marks():
    assert char_tokens("這家 餐廳\t真好, ok!") == ["這", "家", "餐", "廳", "真", "好", ",", "o", "k", "!"]
    assert char_tokens("cafe\u0301 x") == ["c", "a", "f", "e\u0301", "x"]  # e + combining acute: one token
    assert char_tokens("  ") == []
    enc = ClassifierEncoder.build(["這家 餐廳 很好", "OK 差"], ["a", "b"], lowercase=True, level="char")
    # spaced and unspaced text read the same at char level
    assert enc.tokenize("這家餐廳很好") == enc.tokenize("這家 餐廳 很好") == list("這家餐廳很好")
    assert enc.tokenize("OK") == ["o", "k"]
    capped = ClassifierEncoder(enc.vocab, enc.labels, max_length=3, level="char", lowercase=True)
    assert capped.tokenize("這家餐廳") == list("這家餐") and capped.tokenize("這家餐廳", cap=False) == list("這家餐廳")
    assert capped.tokenize("AbCdE", cap=False) == list("abcde") and capped.tokenize(" ", cap=False) == ["<unk>"]
    assert ClassifierEncoder.build(["這家餐廳 很好"], ["a"]).tokenize("這家餐廳 很好") == ["這家餐廳", "很好"]
    with pytest.raises(ValueError, match=r"level to be one of \('word', 'char'\), got 'byte'"):
        ClassifierEncoder(enc.vocab, enc.labels, level="byte")


def test_unsegmented_cjk_tells_raw_chinese_from_segmented_chinese_and_other_text():
    assert unsegmented_cjk(["這家餐廳真好", "服務太差了，很失望"]) == pytest.approx(7.5)
    assert unsegmented_cjk(["我今天買了 iPhone 非常滿意"]) is not None  # mixed, but the Chinese is unspaced
    assert unsegmented_cjk(["這家 餐廳 真 好", "服務 太 差 了 ， 很 失望"]) is None  # segmented: words of 1-2
    assert unsegmented_cjk(["the movie was great", "a dull film"]) is None
    assert unsegmented_cjk(["we ate at 北京烤鸭店 with the whole team last night"]) is None  # mostly English
    assert unsegmented_cjk(["이 식당 정말 좋아요"]) is None  # Korean is written with spaces
    assert unsegmented_cjk(["今日はとても楽しかった"]) is not None  # Japanese


def _train_small(tmp_path, texts, labels, level):
    enc = ClassifierEncoder.build(texts, labels, level=level)
    model = Classifier(ClassifierConfig(len(enc.vocab), len(enc.labels), embedding_dim=4, hidden_size=4),
                       np.random.default_rng(0))
    task = ClassifierTask(model, enc.encode(texts), enc.encode_labels(labels), batch_size=4,
                          meta=classifier_meta(model, enc))
    Trainer(task, TrainConfig(epochs=1, progress="none"), tmp_path).fit()
    return tmp_path / "last.safetensors"


def test_checkpoint_keeps_the_level_and_old_checkpoints_load_as_word_level(tmp_path):
    texts, labels = ["這家餐廳真好", "服務太差了", "很好吃", "太慢了"], ["正面", "負面", "正面", "負面"]
    path = _train_small(tmp_path / "char", texts, labels, "char")
    model, enc, task = load_classifier(path)
    assert enc.level == "char" and task["encoder"]["level"] == "char"
    assert enc.tokenize("真 好吃") == ["真", "好", "吃"]
    # a checkpoint written before the level existed: its encoder has no "level"
    arrays, meta = load_checkpoint(path)
    del meta["task"]["encoder"]["level"]
    old = save_checkpoint(tmp_path / "old.safetensors", arrays, meta)
    _, enc, _ = load_classifier(old)
    assert enc.level == "word" and enc.tokenize("真 好吃") == ["真", "好吃"]
    meta["task"]["encoder"]["level"] = "byte"
    bad = save_checkpoint(tmp_path / "bad.safetensors", arrays, meta)
    with pytest.raises(Exception, match=r"damaged classifier metadata .*level"):
        load_classifier(bad)


def test_char_level_learns_unspaced_chinese_and_tells_new_sentences_apart(tmp_path, capsys, monkeypatch, zh_files):
    train, dev = zh_files
    run = tmp_path / "char"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--valid", str(dev), "--level", "char",
                                    "--epochs", "4", "--run-dir", str(run), *SMALL])
    assert code == 0, err
    assert "data: 120 texts, 729 characters, 26 character types" in err and not _warnings(err), err
    model = str(run / "best.safetensors")
    code, out, err = run_cli(capsys, ["evaluate", model, str(dev)])
    assert code == 0 and _accuracy(out) > 95 and not _warnings(err), out + err
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(NEW) + "\n"))
    code, out, err = run_cli(capsys, ["classify", model, "--probs"])
    lines = out.splitlines()
    assert code == 0 and not _warnings(err), err
    assert [line.split("\t")[0] for line in lines] == ["正面", "負面"], out
    assert lines[0].split("\t")[1] != lines[1].split("\t")[1], out  # not the same probabilities for both


def test_word_level_on_unspaced_chinese_is_warned_about(tmp_path, capsys, monkeypatch, zh_files):
    train, dev = zh_files
    run = tmp_path / "word"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--valid", str(dev),
                                    "--epochs", "1", "--run-dir", str(run), *SMALL])
    assert code == 0, err
    assert "data: 120 texts, 120 words, 120 word types" in err, err  # one "word" a text: nothing to learn
    (warning,) = _warnings(err)
    assert warning.startswith(f"rnnkit: warning: {train}: its Chinese/Japanese words average 6.1 characters"), err
    assert "--level char" in warning and "rnnkit segment" in warning, warning
    # the model is word level: evaluate and classify of unspaced text say why nearly everything is one class
    model = str(run / "best.safetensors")
    code, out, err = run_cli(capsys, ["evaluate", model, str(dev)])
    (warning,) = _warnings(err)
    assert code == 0 and "100% of the tokens are unknown to it (<unk>)" in warning and str(dev) in warning, err
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(NEW) + "\n"))
    code, out, err = run_cli(capsys, ["classify", model, "--probs"])
    (warning,) = _warnings(err)
    assert code == 0 and warning.startswith("rnnkit: warning: standard input: "), err
    first, second = (line.split("\t")[:2] for line in out.splitlines())
    assert first == second, out  # the reported symptom, now explained: both sentences are one <unk>
    # segmented Chinese at word level is what word level is for: no warning
    seg = tmp_path / "seg.tsv"
    seg.write_text("".join(_zh_rows(np.random.default_rng(1), 40, sep=" ")), encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(seg), "--epochs", "1",
                                    "--run-dir", str(tmp_path / "seg"), *SMALL])
    assert code == 0 and not _warnings(err) and "data: 40 texts, " in err, err


def test_cross_validation_folds_use_the_level(tmp_path, capsys, zh_files):
    train, _ = zh_files
    run = tmp_path / "cv"
    code, out, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--folds", "2", "--level", "char",
                                      "--epochs", "6", "--run-dir", str(run), *SMALL])
    assert code == 0 and not _warnings(err), err
    assert _accuracy(out.splitlines()[-1]) > 85, out  # word level: 58%
    for fold in ("fold1", "fold2"):
        assert load_checkpoint(run / fold / "best.safetensors")[1]["task"]["encoder"]["level"] == "char"


def _cell_ends(line):
    """The display column where each space-separated cell of a table line ends."""
    return [display_width(line[: m.end()]) for m in re.finditer(r"\S+", line)]


@pytest.mark.parametrize("labels", [["正面", "負面"], ["neg", "非常正面的評價", "中立"]], ids=["short", "wide"])
def test_confusion_matrix_columns_line_up_with_chinese_labels(labels):
    k = len(labels)
    m = {"accuracy": 0.5, "macro_f1": 0.5, "examples": 10 * k, "labels": labels,
         "confusion": [[100 * i + j for j in range(k)] for i in range(k)]}
    header, *rows = describe(m).splitlines()[2:]
    assert len({display_width(line) for line in [header, *rows]}) == 1, describe(m)
    for row in rows:
        assert _cell_ends(row)[1:] == _cell_ends(header), describe(m)  # each count under its label
    assert len({_cell_ends(row)[0] for row in rows}) == 1, describe(m)  # row labels right-aligned together


def test_evaluate_prints_an_aligned_matrix_for_chinese_labels(tmp_path, capsys, zh_files):
    train, dev = zh_files
    run = tmp_path / "char"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(train), "--valid-fraction", "0",
                                    "--level", "char", "--epochs", "1", "--run-dir", str(run), *SMALL])
    assert code == 0, err
    code, out, _ = run_cli(capsys, ["evaluate", str(run / "last.safetensors"), str(dev)])
    header, *rows = out.splitlines()[2:5]
    assert code == 0 and all(_cell_ends(r)[1:] == _cell_ends(header) for r in rows), out
    per_class = out.splitlines()[5:]  # 'per class:', then each label's line, the labels right-aligned as the rows'
    assert per_class[0] == "per class:" and len(per_class) == 3, out
    assert {display_width(line.split(":")[0]) for line in per_class[1:]} == {_cell_ends(rows[0])[0]}, out
    # a gold label the model never saw is scored (as wrong) with a warning naming it and its first line
    other = tmp_path / "other.tsv"
    other.write_text(dev.read_text(encoding="utf-8") + "中立\t還可以吧\n", encoding="utf-8")
    n = len(dev.read_text(encoding="utf-8").splitlines()) + 1
    code, out, err = run_cli(capsys, ["evaluate", str(run / "last.safetensors"), str(other)])
    assert code == 0 and f"over {n} texts" in out, out
    assert err.startswith(f"rnnkit: warning: {other}:{n}: 1 of {n} texts have a label the model was not trained on "
                          "('中立'; it knows "), err
    assert err.endswith("they are counted as wrong\n"), err
