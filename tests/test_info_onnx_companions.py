"""``rnnkit info`` on an ONNX graph of ``rnnkit export --onnx`` reports the files the export wrote beside it (the
vocabulary file, a BPE model's SentencePiece model, a translator's other graph): which are there, what they hold
(counted here from the files themselves) and, said plainly, one that is missing or is not the graph's; and
``rnnkit info m.vocab.json`` (and ``m.bpe.model``) describes the file itself."""
from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.cli.main import main

pytest.importorskip("onnx")
WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "red", "big"]
SMALL = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--epochs", "1", "--progress", "none",
         "--checkpoint-minutes", "0"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny trained runs: a word-level and a character-level language model (two vocabulary sizes), a translator."""
    d = tmp_path_factory.mktemp("companions")
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, 6)) for _ in range(30)]
    (d / "lm.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "s2s.tsv").write_text("".join(f"{x}\t{' '.join(x.split()[::-1])}\n" for x in lines), encoding="utf-8")
    for argv in (["lm", "--train", str(d / "lm.txt"), "--level", "word", *SMALL, "--run-dir", str(d / "word")],
                 ["lm", "--train", str(d / "lm.txt"), "--level", "char", *SMALL, "--run-dir", str(d / "char")],
                 ["seq2seq", "--train", str(d / "s2s.tsv"), *SMALL, "--run-dir", str(d / "s2s")]):
        assert main(["train", *argv]) == 0, argv
    return d


def _export(capsys, run, out):
    code, _, err = run_cli(capsys, ["export", str(run), "-o", str(out), "--onnx"])
    assert code == 0, err
    return out


def _info(capsys, path, *argv):
    code, out, err = run_cli(capsys, ["info", str(path), *argv])
    assert code == 0, err
    return json.loads(out) if "--json" in argv else out


def _graph_vocabulary(path):
    """The graph's own vocabulary size: its log_probs output's last dimension, read with onnx."""
    import onnx

    out = next(o for o in onnx.load(str(path)).graph.output if o.name == "log_probs")
    return out.type.tensor_type.shape.dim[-1].dim_value


def test_a_graph_reports_its_vocabulary_file(runs, capsys, tmp_path):
    graph = _export(capsys, runs / "word", tmp_path / "m.onnx")
    tokens = json.loads((tmp_path / "m.vocab.json").read_text(encoding="utf-8"))["vocab"]["tokens"]
    found = _info(capsys, graph, "--json")["companions"]
    assert found["vocabulary"] == {"file": str(tmp_path / "m.vocab.json"), "exists": True, "model": "lm",
                                   "tokenizer": "word", "sizes": {"vocabulary": len(tokens)}}
    assert len(tokens) == _graph_vocabulary(graph) and found["problems"] == [] and "sentencepiece" not in found
    out = _info(capsys, graph)
    assert re.search(rf"^beside +{re.escape(str(tmp_path / 'm.vocab.json'))}: vocabulary of a language model; "
                     rf"vocabulary {len(tokens)}; tokenizer: word$", out, re.M), out
    assert not re.search("^problem", out, re.M)


def test_a_missing_or_mismatched_vocabulary_is_said(runs, capsys, tmp_path):
    graph = _export(capsys, runs / "word", tmp_path / "m.onnx")
    _export(capsys, runs / "char", tmp_path / "c.onnx")
    chars = len(json.loads((tmp_path / "c.vocab.json").read_text(encoding="utf-8"))["vocab"]["tokens"])
    words = _graph_vocabulary(graph)
    assert chars != words
    shutil.copy(tmp_path / "c.vocab.json", tmp_path / "m.vocab.json")  # another export's vocabulary beside it
    found = _info(capsys, graph, "--json")["companions"]
    assert found["vocabulary"]["sizes"] == {"vocabulary": chars} and found["vocabulary"]["tokenizer"] == "char"
    assert found["problems"] == [f"{tmp_path / 'm.vocab.json'} holds {chars} vocabulary tokens, {graph} has {words}: "
                                 "not its vocabulary; export the model again to write both"]
    assert re.search(r"^problem +.*m\.vocab\.json holds", _info(capsys, graph), re.M)
    (tmp_path / "m.vocab.json").write_text('{"model": "classifier", "vocab": {"tokens": []}}', encoding="utf-8")
    assert "is the vocabulary of a classifier model" in _info(capsys, graph, "--json")["companions"]["problems"][0]
    (tmp_path / "m.vocab.json").unlink()
    found = _info(capsys, graph, "--json")["companions"]
    assert found["vocabulary"]["exists"] is False and found["vocabulary"]["sizes"] is None
    assert found["problems"][0].startswith(f"{tmp_path / 'm.vocab.json'} is missing")
    out = _info(capsys, graph)
    assert not re.search("^beside", out, re.M) and re.search(r"^problem +.*m\.vocab\.json is missing", out, re.M)


def test_a_translators_graphs_name_each_other_and_their_vocabulary(runs, capsys, tmp_path):
    encoder = _export(capsys, runs / "s2s", tmp_path / "t.onnx")
    vocab = json.loads((tmp_path / "t.vocab.json").read_text(encoding="utf-8"))
    sizes = {"source_vocabulary": len(vocab["source_vocab"]["tokens"]),
             "target_vocabulary": len(vocab["target_vocab"]["tokens"])}
    found = _info(capsys, encoder, "--json")["companions"]
    assert found["decoder_step"] == {"file": str(tmp_path / "t.step.onnx"), "exists": True}
    assert found["vocabulary"]["sizes"] == sizes and found["problems"] == []
    found = _info(capsys, tmp_path / "t.step.onnx", "--json")["companions"]  # the step's vocabulary: t.vocab.json
    assert found["encoder"] == {"file": str(encoder), "exists": True}
    assert found["vocabulary"]["file"] == str(tmp_path / "t.vocab.json") and found["problems"] == []
    (tmp_path / "t.step.onnx").unlink()
    assert "the translator's decoder step graph" in _info(capsys, encoder, "--json")["companions"]["problems"][0]


def test_a_bpe_models_sentencepiece_file(runs, capsys, tmp_path):
    pytest.importorskip("sentencepiece")
    pieces = 30
    assert main(["train", "lm", "--train", str(runs / "lm.txt"), "--level", "bpe", "--bpe-vocab", str(pieces), *SMALL,
                 "--run-dir", str(tmp_path / "bpe")]) == 0
    graph = _export(capsys, tmp_path / "bpe", tmp_path / "b.onnx")
    found = _info(capsys, graph, "--json")["companions"]
    assert found["sentencepiece"] == {"file": str(tmp_path / "b.bpe.model"), "exists": True, "pieces": pieces}
    assert found["vocabulary"]["tokenizer"] == "bpe" and found["problems"] == []
    assert f"b.bpe.model: SentencePiece model, {pieces} pieces" in _info(capsys, graph)
    info = _info(capsys, tmp_path / "b.bpe.model", "--json")  # the file itself: what it is, and its export's files
    assert (info["format"], info["kind"], info["sizes"]) == ("sentencepiece", "sentencepiece-model", {"pieces": pieces})
    assert info["companions"] == {**found, "graph": {"file": str(graph), "exists": True}}
    assert re.search(r"^kind +a language model \(lm\): SentencePiece model of 'rnnkit export'",
                     _info(capsys, tmp_path / "b.bpe.model"), re.M)
    (tmp_path / "b.bpe.model").unlink()
    assert "b.bpe.model is missing" in _info(capsys, graph, "--json")["companions"]["problems"][0]


def test_info_of_a_vocabulary_file(runs, capsys, tmp_path):
    graph = _export(capsys, runs / "word", tmp_path / "m.onnx")
    tokens = json.loads((tmp_path / "m.vocab.json").read_text(encoding="utf-8"))["vocab"]["tokens"]
    info = _info(capsys, tmp_path / "m.vocab.json", "--json")
    assert (info["format"], info["kind"], info["task"]) == ("json", "onnx-vocabulary", "lm")
    assert info["sizes"] == {"vocabulary": len(tokens)}
    assert info["companions"]["graph"] == {"file": str(graph), "exists": True} and info["companions"]["problems"] == []
    out = _info(capsys, tmp_path / "m.vocab.json")
    assert re.search(r"^kind +a language model \(lm\): vocabulary file of 'rnnkit export --onnx'", out, re.M), out
    graph.unlink()
    assert _info(capsys, tmp_path / "m.vocab.json", "--json")["companions"]["problems"] == [
        f"{graph} is missing: the export this file was written beside"]
    _, help_out, _ = run_cli(capsys, ["info", "--help"])
    help_text = " ".join(help_out.split())
    for key in ("onnx-vocabulary", "sentencepiece-model", "companions", "sentencepiece", "decoder_step", "tokenizer",
                "problems", "graph", "pieces"):
        assert re.search(rf"(?<![\w-]){key}\b", help_text), key
    (tmp_path / "x.vocab.json").write_text("[1, 2]", encoding="utf-8")  # JSON, not rnnkit's: one line, exit 2
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "x.vocab.json")])
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "not a vocabulary file of 'rnnkit export --onnx'" in err and "Traceback" not in err


def test_without_the_onnx_package_the_files_are_found_by_their_names(runs, capsys, tmp_path, monkeypatch):
    import sys

    encoder = _export(capsys, runs / "s2s", tmp_path / "t.onnx")
    _export(capsys, runs / "word", tmp_path / "m.onnx")
    (tmp_path / "other.onnx").write_bytes(encoder.read_bytes())  # no vocabulary beside it: not said to lack one
    read = {p: _info(capsys, tmp_path / p, "--json")["companions"] for p in ("t.step.onnx", "m.onnx")}
    monkeypatch.setitem(sys.modules, "onnx", None)  # not installed: the graph is not read
    step = _info(capsys, tmp_path / "t.step.onnx", "--json")
    assert "pip install onnx" in step["onnx"]["note"] and step["companions"] == read["t.step.onnx"]
    assert _info(capsys, tmp_path / "m.onnx", "--json")["companions"] == read["m.onnx"]
    assert _info(capsys, tmp_path / "other.onnx", "--json")["companions"] is None
