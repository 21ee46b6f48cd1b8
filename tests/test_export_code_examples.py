"""The code ``rnnkit export --onnx`` and ``--torch`` print uses an example of the model's own vocabulary (a
character-level or Chinese classifier's example was "a good film", every token <unk>); a segmenter's code cuts
the text into words by the B/M/E/S tags; a peephole LSTM's code says so."""
from __future__ import annotations

import io

import numpy as np
import pytest
from clirun import run_cli

FAST = ["--progress", "none", "--checkpoint-minutes", "0"]
REVIEWS = ["好\t这节课讲得很清楚", "好\t老师讲得太好了", "差\t作业太多太难了", "差\t这节课很无聊"] * 4
SEGMENTED = ["我们 喜欢 北京 。", "他 去 学校 了 。", "北京 很 大 。", "我们 去 北京 了 。"] * 6


def _exec(capsys, out):
    namespace = {"__name__": "__main__"}
    exec(compile(out, "exported.py", "exec"), namespace)
    return namespace, capsys.readouterr().out


def _export(capsys, model, out_path, target):
    code, out, err = run_cli(capsys, ["export", str(model), "-o", str(out_path), target])
    assert code == 0, err
    return out


@pytest.mark.parametrize("target", ["--onnx", "--torch"])
def test_a_chinese_character_classifiers_code_classifies_its_own_characters(tmp_path, capsys, monkeypatch, target):
    pytest.importorskip("onnxruntime" if target == "--onnx" else "torch")
    pytest.importorskip("onnx" if target == "--onnx" else "torch")
    data = tmp_path / "reviews.tsv"
    data.write_text("\n".join(REVIEWS) + "\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(data), "--level", "char", "--embed", "6",
                                    "--hidden", "6", "--epochs", "2", *FAST, "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    model = tmp_path / "run" / "last.safetensors"
    out = _export(capsys, model, tmp_path / ("c.onnx" if target == "--onnx" else "c.pt"), target)
    assert "a good film" not in out
    ns, printed = _exec(capsys, out)
    tokens = ns["vocab"]["vocab"]["tokens"] if target == "--onnx" else ns["vocab"]["tokens"]
    assert ns["text"] and all(t in tokens[1:] for t in ns["text"]), ns["text"]  # none of them <unk>
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(ns["text"]) + "\n"))
    code, label, err = run_cli(capsys, ["classify", str(model)])
    assert code == 0 and printed.split() == label.split()[:1], (printed, label, err)


def test_an_english_word_classifiers_code_keeps_a_good_film(tmp_path, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    data = tmp_path / "reviews.tsv"
    data.write_text("pos\ta good film\nneg\ta bad film\n" * 4, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(data), "--embed", "4", "--hidden", "4",
                                    "--cell", "lstm", "--peephole", "--epochs", "1", *FAST,
                                    "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    out = _export(capsys, tmp_path / "run", tmp_path / "c.onnx", "--onnx")
    assert 'text = tokens("a good film")' in out
    assert out.startswith('"""A 1-layer bidirectional peephole LSTM text classifier') or \
        out.startswith('"""A 1-layer peephole LSTM text classifier'), out.splitlines()[0]


@pytest.mark.parametrize("target", ["--onnx", "--torch"])
def test_a_segmenters_code_cuts_the_text_into_words_by_its_tags(tmp_path, capsys, target):
    pytest.importorskip("onnxruntime" if target == "--onnx" else "torch")
    pytest.importorskip("onnx" if target == "--onnx" else "torch")
    data = tmp_path / "seg.txt"
    data.write_text("\n".join(SEGMENTED) + "\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--format", "segmented", "--train", str(data), "--embed", "8",
                                    "--hidden", "8", "--epochs", "1", *FAST,
                                    "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    model = tmp_path / "run" / "last.safetensors"
    out = _export(capsys, model, tmp_path / ("s.onnx" if target == "--onnx" else "s.pt"), target)
    assert "word segmenter (B/M/E/S tags)" in out.splitlines()[0]
    ns, printed = _exec(capsys, out)
    assert "".join(printed.split()) == "".join(ns["chars"])  # every character, in order, in some word
    assert ns["bmes_words"](list("我们喜欢北京"), list("BEBEBE")) == ["我们", "喜欢", "北京"]
    assert ns["bmes_words"](list("他去了"), list("SBE")) == ["他", "去了"]
    assert ns["bmes_words"](list("他去了好"), list("SMEM")) == ["他", "去了", "好"]  # M after S or E: a word starts
    from rnnkit.tagging.io import load_tagger
    from rnnkit.tagging.task import TaggerBatch

    tagger, encoder, _ = load_tagger(model)
    ids = np.array(encoder.words.encode(ns["chars"]))[:, None]  # (T, 1)
    scores, _ = tagger.scores(TaggerBatch(ids, np.array([len(ns["chars"])])))  # (T, 1, K)
    if target == "--torch":  # each character's likeliest tag, as rnnkit's own scores give it
        assert ns["best"] == [encoder.tags[k] for k in scores[:, 0].argmax(-1)]
        assert printed.split() == ns["bmes_words"](ns["chars"], ns["best"])
    else:  # the likeliest sequence the BMES rules allow, as rnnkit segment decodes
        from rnnkit.tagging import LoadedTagger

        assert printed.split() == ns["bmes_words"](ns["chars"], ns["tags"])
        assert printed.split() == LoadedTagger(model).segment("".join(ns["chars"]))
