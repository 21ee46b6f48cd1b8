"""``rnnkit info`` on the files ``rnnkit export`` writes beside an ONNX graph: a file named ``.bpe.model`` that
sentencepiece cannot read is refused (not called a SentencePiece model), a stray vocabulary file is blamed alone
(not the graph's own SentencePiece model beside it), and each file is read once."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from clirun import error_line, run_cli

from rnnkit.cli.main import main

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "red", "big"]
SMALL = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--epochs", "1", "--progress", "none",
         "--checkpoint-minutes", "0"]


def _info(capsys, path, *argv):
    code, out, err = run_cli(capsys, ["info", str(path), *argv])
    assert code == 0, err
    return json.loads(out) if "--json" in argv else out


def _unread_graph(tmp_path, monkeypatch, level="word"):
    """m.onnx (bytes no onnx package reads: it is not installed here) and its vocabulary file m.vocab.json."""
    monkeypatch.setitem(sys.modules, "onnx", None)
    (tmp_path / "m.onnx").write_bytes(b"\x08\x08not read")
    doc = {"model": "lm", "level": level, "vocab": {"tokens": WORDS}}
    (tmp_path / "m.vocab.json").write_text(json.dumps(doc), encoding="utf-8")
    return tmp_path / "m.onnx"


@pytest.fixture(scope="module")
def bpe_graph(tmp_path_factory):
    """b.onnx of a tiny BPE-level language model, with the b.vocab.json and b.bpe.model export writes beside it."""
    pytest.importorskip("onnx")
    pytest.importorskip("sentencepiece")
    d = tmp_path_factory.mktemp("bpe")
    rng = np.random.default_rng(0)
    (d / "lm.txt").write_text("".join(" ".join(rng.choice(WORDS, 6)) + "\n" for _ in range(30)), encoding="utf-8")
    assert main(["train", "lm", "--train", str(d / "lm.txt"), "--level", "bpe", "--bpe-vocab", "30", *SMALL,
                 "--run-dir", str(d / "run")]) == 0
    assert main(["export", str(d / "run"), "-o", str(d / "b.onnx"), "--onnx"]) == 0
    return d / "b.onnx"


def test_a_file_sentencepiece_cannot_read_is_no_sentencepiece_model(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sentencepiece")
    for name, data in (("g.bpe.model", b"garbage\n"), ("e.bpe.model", b"")):
        (tmp_path / name).write_bytes(data)
        code, out, err = run_cli(capsys, ["info", str(tmp_path / name)])
        line = error_line(code, err, f"{tmp_path / name}: not a SentencePiece model")
        assert out == "" and "m.bpe.model" in line
    graph = _unread_graph(tmp_path, monkeypatch, level="bpe")  # beside a graph: a problem of the graph's
    (tmp_path / "m.bpe.model").write_bytes(b"garbage\n")
    problems = _info(capsys, graph, "--json")["companions"]["problems"]
    assert problems == [f"{tmp_path / 'm.bpe.model'}: not a SentencePiece model (sentencepiece cannot read it as a "
                        "model); export the model again to write it"]
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # not installed: it cannot tell, and says what it can
    info = _info(capsys, tmp_path / "g.bpe.model", "--json")
    assert info["kind"] == "sentencepiece-model" and info["sizes"] is None


def test_a_stray_vocabulary_is_blamed_not_the_sentencepiece_model(bpe_graph, capsys, tmp_path):
    for name in ("b.onnx", "b.bpe.model"):
        (tmp_path / name).write_bytes((bpe_graph.parent / name).read_bytes())
    graph = tmp_path / "b.onnx"
    (tmp_path / "b.vocab.json").write_text(json.dumps({"model": "lm", "level": "word", "vocab": {"tokens": WORDS}}),
                                           encoding="utf-8")  # an earlier word model's, of another size
    for path in (graph, tmp_path / "b.vocab.json"):
        problems = _info(capsys, path, "--json")["companions"]["problems"]
        assert len(problems) == 1 and problems[0].startswith(f"{tmp_path / 'b.vocab.json'} holds {len(WORDS)} "), \
            problems
    own = json.loads((bpe_graph.parent / "b.vocab.json").read_text(encoding="utf-8"))
    words = own["vocab"]["tokens"]  # a word model's file of the graph's size: then the SentencePiece model is stray
    (tmp_path / "b.vocab.json").write_text(json.dumps({"model": "lm", "level": "word", "vocab": {"tokens": words}}),
                                           encoding="utf-8")
    assert _info(capsys, graph, "--json")["companions"]["problems"] == [
        f"{tmp_path / 'b.bpe.model'} is not this graph's: its vocabulary file is not a BPE-level language model's "
        "(an earlier export's file, left beside it)"]


def test_info_of_a_bpe_model_loads_it_once(bpe_graph, capsys, monkeypatch):
    import sentencepiece

    loads = []
    real = sentencepiece.SentencePieceProcessor

    def counted(*args, **kwargs):
        loads.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(sentencepiece, "SentencePieceProcessor", counted)
    info = _info(capsys, bpe_graph.with_name("b.bpe.model"), "--json")
    assert info["sizes"] == {"pieces": 30} and info["companions"]["sentencepiece"]["pieces"] == 30
    assert len(loads) == 1 and info["companions"]["problems"] == []


@pytest.mark.parametrize("onnx", [True, False])
def test_info_of_a_vocabulary_file_reads_it_once(bpe_graph, tmp_path, capsys, monkeypatch, onnx):
    graph = bpe_graph if onnx else _unread_graph(tmp_path, monkeypatch)
    vocab = graph.with_name(graph.stem + ".vocab.json")
    reads = []
    real = Path.read_text

    def counted(self, *args, **kwargs):
        reads.append(self) if self == vocab else None
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    info = _info(capsys, vocab, "--json")
    assert info["companions"]["vocabulary"]["exists"] and info["companions"]["graph"]["exists"]
    assert reads == [vocab]
