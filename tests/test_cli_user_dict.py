"""``rnnkit segment --dict``: a tiny trained segmenter (BiLSTM-CRF, softmax, HMM) splits names it never saw,
and keeps them whole with a user dictionary; the library's ``segment(..., user_words=)`` gives the same."""
from __future__ import annotations

import io
import itertools
import json

import numpy as np
import pytest

from clirun import run_cli
from rnnkit.cli.main import main
from rnnkit.data.segment_rules import fix_words
from rnnkit.data.segmentation import tags_to_words
from rnnkit.data.user_dict import UserDict, keep_spans
from rnnkit.tagging import LoadedTagger
from rnnkit.tagging.io import TaggingData
from rnnkit.tagging.segmenter import dictionary_spans, segment
from rnnkit.tagging.task import make_batch

WORDS = ["我们", "喜欢", "北京", "大学", "学生", "的", "是", "老师", "在", "工作", "图书馆", "大学生"]
TEXT = ["欧阳丽喜欢循环神经网络", "老师在北京大学工作", "", "我们 喜欢欧阳丽的图书馆"]
COMMON = ["--embed", "8", "--hidden", "8", "--batch-size", "4", "--lr", "0.03", "--progress", "none",
          "--checkpoint-minutes", "0"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seg")
    rng = np.random.default_rng(3)
    lines = ["  ".join(str(w) for w in rng.choice(WORDS, int(rng.integers(3, 8)))) for _ in range(120)]
    (tmp / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    short = [line for line in lines if all(len(w) <= 2 for w in line.split())]  # no word of 3: no M tag
    (tmp / "short.txt").write_text("\n".join(short) + "\n", encoding="utf-8")
    train = str(tmp / "train.txt")
    for args in (["train", "tagger", "--train", train, "--format", "segmented", "--bigrams", "--bigram-embed", "8",
                  "--crf", "--epochs", "4", *COMMON, "--run-dir", str(tmp / "crf")],
                 ["train", "tagger", "--train", train, "--format", "segmented", "--epochs", "2", *COMMON,
                  "--run-dir", str(tmp / "softmax")],
                 ["train", "hmm", "--train", train, "--format", "segmented", "--output", str(tmp / "hmm.st")],
                 ["train", "hmm", "--train", str(tmp / "short.txt"), "--format", "segmented", "--order", "2",
                  "--output", str(tmp / "short.st")]):
        assert main(args) == 0, args
    (tmp / "names.txt").write_text("# names\n欧阳丽 3 nr\n", encoding="utf-8")
    (tmp / "terms.txt").write_text("循环神经网络 10 n  # a term\n", encoding="utf-8")
    return {"crf": tmp / "crf" / "last.safetensors", "softmax": tmp / "softmax" / "last.safetensors",
            "hmm": tmp / "hmm.st", "short": tmp / "short.st", "dir": tmp}


def _segment(capsys, monkeypatch, args, text):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(text) + "\n"))
    code, out, err = run_cli(capsys, ["segment", *map(str, args)])
    assert code == 0, err
    return [line.split() for line in out.split("\n")[:-1]], err


@pytest.mark.parametrize("kind", ["crf", "softmax", "hmm", "short"])
def test_dictionary_words_are_kept_whole(models, kind, capsys, monkeypatch):
    names, terms = models["dir"] / "names.txt", models["dir"] / "terms.txt"
    plain, _ = _segment(capsys, monkeypatch, [models[kind]], TEXT)
    assert "欧阳丽" not in plain[0] and "循环神经网络" not in plain[0], plain  # never seen: split
    got, err = _segment(capsys, monkeypatch, [models[kind], "--dict", names, "--dict", terms], TEXT)
    assert got[0] == ["欧阳丽", "喜欢", "循环神经网络"], got
    assert got[2] == [] and got[3][:2] == ["我们", "喜欢"] and "欧阳丽" in got[3], got  # a space stays a boundary
    assert got[1] == plain[1]  # no dictionary word in it: as without
    assert [" ".join(w).replace(" ", "") for w in got] == [t.replace(" ", "") for t in TEXT]
    # the library gives what the command prints
    seg = LoadedTagger(models[kind])
    assert seg.segment(TEXT, user_words=["欧阳丽", "循环神经网络"]) == got
    assert segment(seg, TEXT[0], ["欧阳丽", "循环神经网络"]) == got[0]
    assert "unknown to the model" not in err, err  # the unknown characters are the dictionary's words'
    with pytest.raises(ValueError, match=r"tag_masks\[0\] as None or a bool array of shape \(2, \d\)"):
        seg.predict(TaggingData([["欧", "阳"]], None, None, None), [np.ones((3, len(seg.trained_tags)), bool)])


@pytest.mark.parametrize("kind", ["crf", "softmax"])
def test_the_rest_of_the_line_is_decoded_anew(models, kind):
    """segment(..., user_words=) is the model's best tag path among all legal BMES paths that keep the
    dictionary word whole (enumerated and scored with the model's own emissions and transitions), which is
    not the unconstrained words with the dictionary word joined afterwards."""
    seg = LoadedTagger(models[kind])
    K = len(seg.trained_tags)
    prefix = np.array([t[0] for t in seg.trained_tags])
    edited = 0
    rng = np.random.default_rng(0)
    for _ in range(24):
        chars, T = [str(c) for c in rng.choice(list("".join(WORDS)), 7)], 7
        text, a = "".join(chars), int(rng.integers(0, 5))
        word = text[a:a + int(rng.integers(2, 4))]
        paths = np.array(list(itertools.product(range(K), repeat=T)))  # (K^T, T) every tag path
        batch = make_batch(seg.encoder.encode(TaggingData([chars], None, None, None)), np.array([0]))
        E, params = seg.model.chain(seg.model.scores(batch)[0].astype(np.float64))  # (T, 1, K)
        A, ok = params["transitions"], seg.allowed
        score = (params["start_transitions"][paths[:, 0]] + params["end_transitions"][paths[:, -1]]
                 + E[:, 0][np.arange(T)[None, :], paths].sum(axis=1)
                 + A[paths[:, :-1], paths[:, 1:]].sum(axis=1))  # (K^T,)
        legal = ok[1][paths[:, 0]] & ok[2][paths[:, -1]] & ok[0][paths[:, :-1], paths[:, 1:]].all(axis=1)
        spans = dictionary_spans(UserDict([word]), [text])  # (the word may occur twice)
        keeps = np.ones(len(paths), dtype=bool)
        for a, b in spans:
            whole = ["B"] + ["M"] * (b - a - 2) + ["E"]
            keeps &= (prefix[paths[:, a:b]] == np.array(whole)).all(axis=1)
        best = paths[np.argmax(np.where(legal & keeps, score, -np.inf))]
        expected = keep_spans(fix_words(tags_to_words(chars, [seg.trained_tags[k] for k in best])), spans)
        got = seg.segment(text, user_words=[word])
        assert got == expected, (text, got, expected)
        edited += keep_spans(seg.segment(text), spans) != got  # not the words joined afterwards
    assert edited >= 2, edited


def test_dictionary_words_and_the_rules(models, capsys, monkeypatch):
    """A dictionary word keeps Chinese punctuation inside it and joins Latin to Chinese (the rules would
    cut both), is not found inside a Latin word or an address, and a long line is not cut inside one."""
    words = models["dir"] / "rules.txt"
    words.write_text("《红楼梦》\n卡拉OK\nBook\n图书馆学\n", encoding="utf-8")
    text = ["我们喜欢《红楼梦》和卡拉OK", "MacBook和www.Book.com", "我们喜欢北京大学图书馆学"]
    got, _ = _segment(capsys, monkeypatch, [models["crf"], "--dict", words], text)
    assert got[0][-3:] == ["《红楼梦》", "和", "卡拉OK"] and got[1] == ["MacBook", "和", "www.Book.com"], got
    monkeypatch.setattr("rnnkit.tagging.segmenter.LONG_LINE", 11)  # would cut after 图书 without the dictionary
    long, _ = _segment(capsys, monkeypatch, [models["crf"], "--dict", words], text[2:])
    assert long[0][-1] == "图书馆学" and "".join(long[0]) == text[2], long


@pytest.mark.parametrize("content, message", [
    (b"\xc5\xb7\xd1\xf4\xc0\xf6\n", "bad.txt:1: byte 0xd1 at offset 2 is not valid UTF-8"),  # GBK 欧阳丽
    ("欧阳丽\n欧阳 丽\n".encode(), "bad.txt:2: '欧阳 丽' is not one word a line"),
    ("欧阳丽\n\ue000\n".encode(), "bad.txt:2: an empty word"),  # a private-use character alone (U+200B: skipped)
    (("欧阳丽\n" + "长" * 200 + "\n").encode(), "bad.txt:2: a word of 200 characters"),
], ids=["gbk", "space", "empty", "huge"])
def test_a_bad_dictionary_is_one_line(models, capsys, monkeypatch, content, message):
    bad = models["dir"] / "bad.txt"
    bad.write_bytes(content)
    monkeypatch.setattr("sys.stdin", io.StringIO("欧阳丽喜欢\n"))
    code, out, err = run_cli(capsys, ["segment", str(models["hmm"]), "--dict", str(bad)])
    assert code == 2 and out == "" and message in err and err.count("\n") == 1, err
    code, _, err = run_cli(capsys, ["segment", str(models["hmm"]), "--dict", str(models["dir"] / "none.txt")])
    assert code == 2 and "none.txt: no such file" in err and err.count("\n") == 1, err


def test_the_output_may_not_be_a_dictionary_file(models, capsys, monkeypatch):
    """--output written over --dict would replace the user's dictionary with the segmented text."""
    words = models["dir"] / "mine.txt"
    words.write_text("欧阳丽\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("欧阳丽喜欢\n"))
    code, out, err = run_cli(capsys, ["segment", str(models["hmm"]), "--dict", str(words), "--output", str(words)])
    assert code == 2 and "is a file this command reads" in err and err.count("\n") == 1, err
    assert words.read_text(encoding="utf-8") == "欧阳丽\n"


def test_a_full_lexicon_as_dictionary_is_warned_about_once(models, capsys, monkeypatch):
    """--dict jieba/dict.txt (350,000 words, 11,580 of one character) forced every character: the output was
    the lexicon's forward maximum matching (研究生 命 的 起源), not the model's segmentation, and nothing said so."""
    lexicon = models["dir"] / "lexicon.txt"
    lexicon.write_text("".join(f"{w} 100 n\n" for w in WORDS), encoding="utf-8")  # 的, 是, 在: one character
    text = ["我们喜欢北京大学的图书馆老师在工作"] * 8  # 136 characters, 120 inside the lexicon's words
    got, err = _segment(capsys, monkeypatch, [models["hmm"], "--dict", lexicon], text)
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(f"rnnkit: warning: {lexicon}: 3 one-character entries (的是在) skipped"), err
    assert lines[1].startswith("rnnkit: warning: the --dict words (9) cover 88% of the input's characters"), err
    assert "forward maximum matching" in lines[1] and "的" in got[0] and "在" in got[0], got
    # a dictionary of names, on the same text, says nothing: it leaves the text to the model
    _, err = _segment(capsys, monkeypatch, [models["hmm"], "--dict", models["dir"] / "names.txt"], text)
    assert "warning" not in err, err
    seg = LoadedTagger(models["hmm"])  # the library warns too
    with pytest.warns(UserWarning, match=r"the user words \(9\) cover 88% of the input's characters"):
        seg.segment(text, user_words=[w for w in WORDS if len(w) > 1])


def test_output_dash_is_standard_output_not_a_file(models, capsys, monkeypatch):
    """'--output -' wrote a file named '-'; '-' is standard output's usual name, as an input '-' is stdin's."""
    monkeypatch.chdir(models["dir"])
    monkeypatch.setattr("sys.stdin", io.StringIO("欧阳丽喜欢\n"))
    code, out, err = run_cli(capsys, ["segment", str(models["hmm"]), "-", "--output", "-"])
    assert code == 0 and out.replace(" ", "") == "欧阳丽喜欢\n", (out, err)
    assert not (models["dir"] / "-").exists()


def test_evaluate_scores_with_and_without_the_dictionary_side_by_side(models, capsys, monkeypatch):
    """evaluate --dict: the usual scores, and those of what `segment --dict` prints for the test sentences."""
    from rnnkit.metrics.segmentation import segmentation_prf
    from rnnkit.tagging.segmenter import segment_lines, written_lines

    gold_text = ["欧阳丽 喜欢 图书馆", "老师 在 北京 大学 工作", "我们 喜欢 欧阳丽 的 图书馆", "欧阳丽 是 老师"]
    test, names, hmm = models["dir"] / "test.txt", models["dir"] / "names.txt", str(models["hmm"])
    test.write_text("\n".join(gold_text) + "\n", encoding="utf-8")
    code, plain, _ = run_cli(capsys, ["evaluate", hmm, str(test), "--json"])
    without = json.loads(plain)
    code, out, err = run_cli(capsys, ["evaluate", hmm, str(test), "--dict", str(names), "--json"])
    assert code == 0, err
    both = json.loads(out)
    assert {k: v for k, v in both.items() if k != "with_dict"} == without  # the usual scores, unchanged
    with_dict = both["with_dict"]
    assert with_dict["dictionary_words"] == 1 and with_dict["f1"] > without["f1"], (with_dict, without)
    gold = [line.split() for line in gold_text]
    assert written_lines([["我", "用", "iPhone", "7"]]) == ["我用iPhone 7"]  # a space only where text has one
    printed, _ = _segment(capsys, monkeypatch, [hmm, "--dict", names], written_lines(gold))
    assert with_dict["f1"] == segmentation_prf(gold, printed)["f1"]
    loaded = LoadedTagger(models["hmm"])  # and without the dictionary, segment_lines scores as evaluate does
    assert segmentation_prf(gold, segment_lines(loaded, written_lines(gold)))["f1"] == without["f1"]
    code, out, _ = run_cli(capsys, ["evaluate", hmm, str(test), "--dict", str(names)])
    lines = out.splitlines()
    assert code == 0 and lines[1].startswith(f"user dictionary {names} (1 word): word F1 +"), out
    assert lines[2].startswith("  without --dict ") and f"F1 {100 * without['f1']:6.2f}" in lines[2]
    assert lines[3].startswith("  with --dict ") and f"F1 {100 * with_dict['f1']:6.2f}" in lines[3]


def test_evaluate_dict_is_refused_where_it_cannot_apply(models, tmp_path, capsys):
    (tmp_path / "pos.txt").write_text("我们/r 喜欢/v 北京/ns\n老师/n 在/p 工作/v\n" * 5, encoding="utf-8")
    assert main(["train", "hmm", "--train", str(tmp_path / "pos.txt"), "--format", "slash", "--output",
                 str(tmp_path / "pos.st")]) == 0
    capsys.readouterr()  # training's lines
    names = str(models["dir"] / "names.txt")
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "pos.st"), str(tmp_path / "pos.txt"), "--dict", names])
    assert code == 2 and out == "" and "is no segmentation model" in err and err.count("\n") == 1, err
    code, out, err = run_cli(capsys, ["evaluate", str(models["hmm"]), str(models["dir"] / "train.txt"), "--dict",
                                      names, "--errors", str(tmp_path / "e.txt")])
    assert code == 2 and "--errors writes the model's own wrong sentences" in err and not (tmp_path / "e.txt").exists()


@pytest.mark.parametrize("alone, said", [
    ("\u0304", "combining marks only ('\\u0304': U+0304"),  # a corpus's tokens: GSD holds a lone U+0304
    ("\u200b", "invisible characters only ('\\u200b': U+200B"),  # a zero-width space copied alone
], ids=["combining-mark", "zero-width-space"])
def test_a_word_list_with_a_lone_combining_mark_or_invisible_character_loads_with_one_warning(models, capsys,
                                                                                            monkeypatch, alone, said):
    words = models["dir"] / "tokens.txt"
    words.write_text(f"欧阳丽\n{alone}\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("欧阳丽喜欢\n"))
    code, out, err = run_cli(capsys, ["segment", str(models["hmm"]), "--dict", str(words)])
    assert code == 0, err
    assert out.split()[0] == "欧阳丽"
    assert f"tokens.txt: 1 entry skipped (line 2) for a word of {said}" in err, err
