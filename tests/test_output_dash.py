"""``-``, standard output's usual name, given to an output option: the options that write standard output do
(tag/segment/classify --output, step --save-weights), and ``step --weights -`` reads standard input; every
other output option refuses it in one line rather than write a file named ``-``."""
from __future__ import annotations

import io
import json
import os

import pytest
from clirun import refused, run_cli, write_conllu

from rnnkit.data.files import check_output_path

FAST = ["--epochs", "1", "--progress", "none", "--checkpoint-minutes", "0"]


def test_check_output_path_refuses_a_dash_saying_what_cannot_go_to_standard_output():
    for suffix, said in [(".safetensors", "a model"), (".onnx", "a model"), (".png", "a plot"),
                         (".jsonl", "the attention weights"), (".txt", "this output")]:
        with pytest.raises(ValueError, match=f"^-o -: {said} cannot go to standard output; give a file name"):
            check_output_path("-", "-o", make_folders=True, suffix=suffix)


def _train_lm(tmp_path, capsys, monkeypatch):
    """A tiny word language model in tmp_path/run, trained on t.txt there; tmp_path made the current folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.txt").write_text("a b c\nb c d\n" * 5, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", "t.txt", "--embed", "3", "--hidden", "3", "--bptt", "3",
                                    "--batch-size", "2", *FAST, "--run-dir", "run"])
    assert code == 0, err


def test_output_options_refuse_a_dash_and_write_no_file_named_dash(tmp_path, capsys, monkeypatch):
    _train_lm(tmp_path, capsys, monkeypatch)
    write_conllu(tmp_path / "t.conllu", [[("a", "X"), ("b", "Y")]] * 3)
    refused(run_cli(capsys, ["export", "run", "-o", "-"]),
            "-o -: a model cannot go to standard output; give a file name")
    refused(run_cli(capsys, ["export", "run", "-o", "-", "--torch"]), "-o -: a model cannot go to standard output")
    refused(run_cli(capsys, ["train", "hmm", "--train", "t.conllu", "--output", "-"]), "--output -: a model cannot go")
    refused(run_cli(capsys, ["train", "ngram", "--train", "t.txt", "--save", "-"]), "--save -: a model cannot go")
    refused(run_cli(capsys, ["train", "ngram", "--train", "t.txt", "--arpa", "-"]), "--arpa -: an ARPA model cannot go")
    code, _, err = run_cli(capsys, ["train", "hmm", "--train", "t.conllu", "--output", "hmm.safetensors"])
    assert code == 0, err
    refused(run_cli(capsys, ["evaluate", "hmm.safetensors", "t.conllu", "--errors", "-"]), "--errors -: ")
    refused(run_cli(capsys, ["train", "lm", "--train", "t.txt", *FAST, "--run-dir", "-"]),
            "--run-dir: -: a run folder cannot go to standard output; give a folder name", usage=True)
    pytest.importorskip("matplotlib")
    refused(run_cli(capsys, ["curves", "run", "-o", "-"]), "--output -: a plot cannot go to standard output")
    refused(run_cli(capsys, ["states", "run/last.safetensors", "a b", "-o", "-"]),
            "--output -: a plot cannot go to standard output")
    refused(run_cli(capsys, ["gradflow", "--steps", "5", "--plot", "-"]),
            "--plot -: a plot cannot go to standard output")
    assert sorted(os.listdir(tmp_path)) == ["hmm.safetensors", "run", "t.conllu", "t.txt"]


def test_an_onnx_export_refuses_a_dash_and_writes_no_dash_vocab_json(tmp_path, capsys, monkeypatch):
    pytest.importorskip("onnx")
    _train_lm(tmp_path, capsys, monkeypatch)
    refused(run_cli(capsys, ["export", "run", "-o", "-", "--onnx"]), "-o -: a model cannot go to standard output")
    assert sorted(os.listdir(tmp_path)) == ["run", "t.txt"]


def test_an_onnx_graph_named_as_a_vocabulary_file_is_refused(tmp_path, capsys, monkeypatch):
    """-o ex/m.vocab.json --onnx wrote the graph over an earlier export's vocabulary and its own vocabulary in
    m.vocab.vocab.json."""
    pytest.importorskip("onnx")
    _train_lm(tmp_path, capsys, monkeypatch)
    code, _, err = run_cli(capsys, ["export", "run", "-o", "ex/m.onnx", "--onnx"])
    assert code == 0, err
    vocab = (tmp_path / "ex" / "m.vocab.json").read_bytes()
    refused(run_cli(capsys, ["export", "run", "-o", "ex/m.vocab.json", "--onnx"]),
             "-o ex/m.vocab.json: is named as the vocabulary file written beside an export; give the export's own "
             "name, e.g. ex/m.onnx")
    refused(run_cli(capsys, ["export", "run", "-o", "ex/M.Vocab.JSON", "--onnx"]), "is named as the vocabulary file")
    assert (tmp_path / "ex" / "m.vocab.json").read_bytes() == vocab
    assert sorted(os.listdir(tmp_path / "ex")) == ["m.onnx", "m.vocab.json"]


def test_translate_refuses_a_dash_for_its_attention_files_and_plot_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mt.tsv").write_text("a b\tx y\nb a\ty x\n" * 4, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", "mt.tsv", "--attention", "dot", "--embed", "4",
                                    "--hidden", "4", "--batch-size", "2", *FAST, "--run-dir", "mt"])
    assert code == 0, err
    monkeypatch.setattr("sys.stdin", io.StringIO("a b\n"))
    refused(run_cli(capsys, ["translate", "mt/last.safetensors", "--attention-out", "-"]),
             "--attention-out -: the attention weights cannot go to standard output; give a file name")
    refused(run_cli(capsys, ["translate", "mt/last.safetensors", "--alignments", "-"]), "--alignments -: ")
    pytest.importorskip("matplotlib")
    refused(run_cli(capsys, ["translate", "mt/last.safetensors", "--plot-attention", "1", "--plot-dir", "-"]),
             "--plot-dir -: the plots cannot go to standard output; give a folder name")
    assert sorted(os.listdir(tmp_path)) == ["mt", "mt.tsv"]


def test_step_weights_dash_reads_what_save_weights_dash_wrote(capsys, monkeypatch):
    code, saved, _ = run_cli(capsys, ["step", "--cell", "gru", "--seed", "3", "--save-weights", "-"])
    assert code == 0
    code, first, _ = run_cli(capsys, ["step", "--cell", "gru", "--seed", "3", "--json"])
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(saved.encode("utf-8"))))
    code, second, err = run_cli(capsys, ["step", "--cell", "gru", "--seed", "3", "--json", "--weights", "-"])
    assert code == 0 and json.loads(second)["forward"] == json.loads(first)["forward"], err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"{\"weight_ih\": 3")))
    line = refused(run_cli(capsys, ["step", "--cell", "gru", "--weights", "-"]))
    assert line.startswith("rnnkit: error: --weights - (standard input): not valid JSON"), line
