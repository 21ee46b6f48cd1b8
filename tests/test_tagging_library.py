"""The library's LoadedTagger.segment and .tag give what ``rnnkit segment`` and ``rnnkit tag`` print:
the same spaces kept as boundaries, long lines read in pieces, and the rules that keep MacBook and web
addresses whole (a bare tags_to_words on the model's tags split them)."""
from __future__ import annotations

import io

import pytest

from clirun import run_cli
from rnnkit.cli.main import main
from rnnkit.tagging import LoadedTagger

LINES = ["我們 在 Hong Kong Secondary School 讀書 。", "他 買 了 iPhone 7 ， 很 好 。", "價格 是 3.5 元 。",
         "天氣 很 好 ， 我們 去 公園 。"]
RAW = ["我們喜歡MacBook和www.example.com今天", "", "  ", "他買了iPhone 7，很好。", "天氣很好。我們去公園！價格是3.5元。"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    train = tmp / "train.txt"
    train.write_text("\n".join(LINES * 8) + "\n", encoding="utf-8")
    pos = tmp / "pos.txt"
    pos.write_text("the DET\ncat NOUN\nsat VERB\n\na DET\ndog NOUN\nran VERB\n\n" * 6, encoding="utf-8")
    common = ["--epochs", "1", "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]
    for args in (["train", "tagger", "--train", str(train), "--format", "segmented", *common,
                  "--run-dir", str(tmp / "seg")],
                 ["train", "hmm", "--train", str(train), "--format", "segmented", "--output", str(tmp / "hmm.st")],
                 ["train", "tagger", "--train", str(pos), "--format", "columns", *common,
                  "--run-dir", str(tmp / "pos")]):
        assert main(args) == 0, args  # (a module fixture has no capsys for run_cli)
    return {"seg": tmp / "seg" / "last.safetensors", "hmm": tmp / "hmm.st", "pos": tmp / "pos" / "last.safetensors"}


def _cli(capsys, monkeypatch, args, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code, out, err = run_cli(capsys, args)
    assert code == 0, err
    return out


@pytest.mark.parametrize("kind", ["seg", "hmm"])
def test_segment_gives_the_words_rnnkit_segment_prints(models, kind, capsys, monkeypatch):
    seg = LoadedTagger(models[kind])
    out = _cli(capsys, monkeypatch, ["segment", str(models[kind])], "\n".join(RAW) + "\n")
    assert [" ".join(words) for words in seg.segment(RAW)] == out.split("\n")[:-1]
    words = seg.segment(RAW[0])  # one str: its words
    assert words == out.split("\n")[0].split() and "MacBook" in words and "www.example.com" in words
    assert seg.segment([]) == [] and seg.segment("") == []
    # a line over LONG_LINE characters is read in pieces, as the command line reads it
    monkeypatch.setattr("rnnkit.tagging.segmenter.LONG_LINE", 6)
    long = _cli(capsys, monkeypatch, ["segment", str(models[kind])], RAW[4] + "\n")
    assert seg.segment(RAW[4]) == long.split() and "".join(long.split()) == RAW[4]


def test_tag_gives_the_tags_rnnkit_tag_prints(models, capsys, monkeypatch):
    tagger = LoadedTagger(models["pos"])
    sentences = ["the dog sat", "", "a cat ran the dog"]
    out = _cli(capsys, monkeypatch, ["tag", str(models["pos"])], "\n".join(sentences) + "\n")
    printed = [[tok.rsplit("/", 1)[1] for tok in line.split()] for line in out.split("\n")[:-1]]
    assert tagger.tag(sentences) == printed
    assert tagger.tag([s.split() for s in sentences]) == printed  # lists of words, the same
    assert tagger.tag("a cat ran the dog") == printed[2]  # one str: its tags
    assert set(t for p in printed for t in p) <= {"DET", "NOUN", "VERB"}


def test_the_wrong_call_or_input_is_one_clear_error(models):
    seg, tagger = LoadedTagger(models["seg"]), LoadedTagger(models["pos"])
    with pytest.raises(ValueError, match=r"not a segmentation model.*\.tag\(\)"):
        tagger.segment("the cat")
    with pytest.raises(ValueError, match=r"segmentation model tags characters.*\.segment\(\)"):
        seg.tag("我們")
    with pytest.raises(TypeError, match="list of str, got int"):
        seg.segment(3)
    with pytest.raises(TypeError, match="holding bytes"):
        seg.segment(["好", b"x"])
    with pytest.raises(TypeError, match="sentence 1 as a str or a list of str words, got int"):
        tagger.tag(["the cat", 3])
    with pytest.raises(ValueError, match=r"features\[0\]|features"):
        tagger.tag(["the cat"], features=[[["DET"]]])  # one feature row for two words
