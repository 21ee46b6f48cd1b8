"""``rnnkit info FILE``: what a saved file is, checked against facts computed here independently (the
arrays' sizes summed from the file, the epochs from the run's metrics log, the vocabulary from the data),
for each kind of file `rnnkit train` and `rnnkit export` write, and the one-line errors for bad input."""
from __future__ import annotations

import importlib.util
import json
import re
import sys

import numpy as np
import pytest
from clirun import info_row, run_cli, toy_task_files
from safetensors.numpy import load_file, save_file

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_info import checkpoint_info
from rnnkit.cli.main import main
from rnnkit.errors import CheckpointError

SMALL = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--epochs", "2", "--progress", "none",
         "--checkpoint-minutes", "0"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny trained models of several kinds, and exports of the language model."""
    d = tmp_path_factory.mktemp("info")
    lines = toy_task_files(d)
    (d / "valid.txt").write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")
    commands = [
        ["train", "lm", "--train", str(d / "lm.txt"), "--valid", str(d / "valid.txt"), "--level", "word",
         "--layers", "2", "--bptt", "5", "--layer-norm", *SMALL, "--run-dir", str(d / "lm")],
        ["train", "tagger", "--train", str(d / "tag.conllu"), "--crf", *SMALL, "--run-dir", str(d / "tagger")],
        ["train", "hmm", "--train", str(d / "tag.conllu"), "--output", str(d / "hmm.safetensors")],
        ["train", "ngram", "--train", str(d / "lm.txt"), "--order", "3", "--save", str(d / "kn.safetensors"),
         "--arpa", str(d / "kn.arpa")],
        ["train", "classifier", "--train", str(d / "cls.tsv"), *SMALL, "--run-dir", str(d / "cls")],
        ["train", "seq2seq", "--train", str(d / "s2s.tsv"), *SMALL, "--run-dir", str(d / "s2s")],
        ["export", str(d / "lm"), "-o", str(d / "lm16.safetensors"), "--dtype", "float16"],
        ["export", str(d / "cls"), "-o", str(d / "cls-pt.safetensors"), "--torch"],
    ]
    for argv in commands:
        assert main(argv) == 0, argv
    return d


def _info(capsys, *argv):
    code, out, err = run_cli(capsys, ["info", *argv])
    assert code == 0, err
    return out


def _model_sizes(path):
    """{name: size} of the model's arrays, from the file itself: safetensors' own reader."""
    arrays = load_file(str(path))
    model = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    return model or arrays, arrays


def test_training_checkpoint_facts(files, capsys):
    out = _info(capsys, str(files / "lm" / "best.safetensors"))
    model, arrays = _model_sizes(files / "lm" / "best.safetensors")
    total = sum(a.size for a in model.values())
    assert info_row(out, "parameters") == f"{total:,} float32"
    for part in ("embedding", "rnn", "decoder"):  # each part's count, summed here from the arrays
        count = sum(a.size for k, a in model.items() if k.split(".")[0] == part)
        assert re.search(rf"^ +{part} +{count:,}  \(", out, re.M), (part, out)
    epochs = [json.loads(line) for line in (files / "lm" / "metrics.jsonl").read_text().splitlines()]
    epochs = [e for e in epochs if e.get("type") == "epoch"]
    best = [e for e in epochs if e.get("best")][-1]
    assert info_row(out, "training").startswith(f"step {best['step']}, at the end of epoch {best['epoch']} of 2; SGD, lr 1")
    assert info_row(out, "best") == f"validation loss {best['valid_loss']:.4f} at epoch {best['epoch']}"  # as training
    assert "2 layers x 4 units" in out and "layer norm" in info_row(out, "extras")
    vocab = len(set(" ".join((files / "lm.txt").read_text().split()).split())) + 2  # and <unk>, <eos>
    assert info_row(out, "sizes") == f"vocabulary {vocab}"
    assert info_row(out, "kind") == "a language model (lm): training checkpoint (resumable)"
    assert info_row(out, "checksums").startswith("ok")
    assert f"({(files / 'lm' / 'best.safetensors').stat().st_size:,} bytes)" in info_row(out, "file")
    # the options a --resume repeats, as the run used them: given (--bptt 5) or not (--min-count 1, the default)
    assert "--bptt 5" in info_row(out, "settings") and "--min-count 1" in info_row(out, "settings")
    assert "epochs 2" in info_row(out, "train config") and not re.search("^options", out, re.M)


def test_training_figures_match_the_run_log_and_the_file(files, capsys):
    """The last epoch's training loss, the training and validation seconds summed over the epochs (as
    metrics.jsonl has them) and the bytes of every array stored (as safetensors reads them)."""
    path = files / "lm" / "last.safetensors"
    info = json.loads(_info(capsys, str(path), "--json"))
    epochs = [json.loads(line) for line in (files / "lm" / "metrics.jsonl").read_text().splitlines()]
    epochs = [e for e in epochs if e.get("type") == "epoch"]
    assert len(epochs) == 2 and info["training"]["train_loss"] == epochs[-1]["train_loss"]
    seconds = sum(e["train_seconds"] + e["valid_seconds"] for e in epochs)
    assert info["training"]["seconds"] == pytest.approx(seconds, abs=1e-9)
    arrays = load_file(str(path))
    assert info["stored"]["bytes"] == sum(a.nbytes for a in arrays.values())
    assert info["stored"]["groups"]["model"]["bytes"] == sum(a.nbytes for k, a in arrays.items()
                                                             if k.startswith("model/"))
    out = _info(capsys, str(path))
    assert f"training loss {epochs[-1]['train_loss']:.4f}" in info_row(out, "training")
    assert info_row(out, "time").startswith(f"{info['training']['seconds']:.3g} s training and validation")


def test_tasks_of_each_kind(files, capsys):
    out = _info(capsys, str(files / "tagger" / "last.safetensors"))
    model, arrays = _model_sizes(files / "tagger" / "last.safetensors")
    assert info_row(out, "parameters") == f"{sum(a.size for a in model.values()):,} float32"
    assert info_row(out, "stored").startswith(f"{sum(a.size for a in arrays.values()):,} values in {len(arrays)} arrays")
    assert "CRF" in info_row(out, "extras") and info_row(out, "sizes") == "vocabulary 11, tags 2"
    assert "bidirectional" in out and info_row(out, "best").startswith("no validation figure")
    out = _info(capsys, str(files / "hmm.safetensors"))
    assert "HMM tagger (hmm)" in out and "tags 2" in info_row(out, "sizes") and info_row(out, "parameters").startswith("0 ")
    out = _info(capsys, str(files / "kn.safetensors"))
    model, _ = _model_sizes(files / "kn.safetensors")
    assert info_row(out, "model").startswith("3-gram word-level language model")
    assert info_row(out, "parameters").startswith(f"{sum(a.size for a in model.values()):,} ")
    out = _info(capsys, str(files / "cls" / "best.safetensors"))
    assert info_row(out, "sizes") == "vocabulary 11, classes 2" and "max pooling" in info_row(out, "model")
    out = _info(capsys, str(files / "s2s" / "last.safetensors"))
    assert "encoder-decoder" in info_row(out, "model") and "attention" in info_row(out, "extras")
    assert info_row(out, "sizes") == "source vocabulary 14, target vocabulary 14"


def test_exports(files, capsys):
    out = _info(capsys, str(files / "lm16.safetensors"))
    model, _ = _model_sizes(files / "lm16.safetensors")
    assert info_row(out, "parameters") == f"{sum(a.size for a in model.values()):,} float16"
    assert info_row(out, "kind") == "a language model (lm): exported model (the model alone)"
    source_step = ckpt.load_meta(files / "lm" / "best.safetensors")["loop"]["step"]
    assert f"at step {source_step}, at the end of epoch 2; weights float16" in info_row(out, "exported")
    out = _info(capsys, str(files / "cls-pt.safetensors"))  # a torch state dict, which loaders refuse
    state = load_file(str(files / "cls-pt.safetensors"))
    assert info_row(out, "parameters") == f"{sum(a.size for a in state.values()):,} float32"
    assert "PyTorch state dict" in info_row(out, "kind") and "classes 2" in info_row(out, "sizes")


def test_onnx(files, capsys, monkeypatch, tmp_path):
    pytest.importorskip("onnx")
    assert run_cli(capsys, ["export", str(files / "lm"), "-o", str(tmp_path / "lm.onnx"), "--onnx"])[0] == 0
    out = _info(capsys, str(tmp_path / "lm.onnx"))
    model, _ = _model_sizes(files / "lm16.safetensors")  # the ONNX graph joins the two biases: same count
    assert info_row(out, "parameters") == f"{sum(a.size for a in model.values()):,} float32"
    assert info_row(out, "onnx").startswith("graph rnnkit_lm by rnnkit") and "ids int64 (T, B)" in info_row(out, "inputs")
    monkeypatch.setitem(sys.modules, "onnx", None)  # not installed: one line says how to read it
    out = _info(capsys, str(tmp_path / "lm.onnx"))
    assert "pip install onnx" in info_row(out, "onnx") and "parameters" not in out


def _keys(value, names=False):
    """Every key of the JSON ``value``, nested ones too, but for names a file chooses: the groups' (rnn, model),
    the opsets' domains, and the options a run stored (train_config and run_options hold them)."""
    if isinstance(value, list):
        return {k for item in value for k in _keys(item)}
    if not isinstance(value, dict):
        return set()
    found = set() if names else set(value)
    for key, item in value.items():
        if key not in ("train_config", "run_options") and not names:
            found |= _keys(item, names=key in ("groups", "opsets"))
        elif names:
            found |= _keys(item)
    return found


def test_json_keys_are_documented(files, capsys, tmp_path):
    info = json.loads(_info(capsys, str(files / "lm" / "best.safetensors"), "--json"))
    library = json.loads(json.dumps(checkpoint_info(files / "lm" / "best.safetensors")))
    library["options"].update(command="rnnkit train lm", chosen=info["options"]["chosen"])  # rnnkit info adds these
    assert info == library and "--bptt" in info["options"]["chosen"]
    _, out, _ = run_cli(capsys, ["info", "--help"])
    help_text = " ".join(out.split())
    paths = [files / "lm" / "best.safetensors", files / "lm16.safetensors", files / "cls-pt.safetensors",
             files / "kn.arpa"]
    if importlib.util.find_spec("onnx"):
        assert run_cli(capsys, ["export", str(files / "cls"), "-o", str(tmp_path / "cls.onnx"), "--onnx"])[0] == 0
        paths.append(tmp_path / "cls.onnx")
    for path in paths:  # each kind of file: a training checkpoint, an export, a --torch state dict, an ONNX graph
        for key in _keys(json.loads(_info(capsys, str(path), "--json"))):
            assert re.search(rf"\b{key}\b", help_text), (path.name, key)
    assert info["parameters"]["total"] == sum(g["count"] for g in info["parameters"]["groups"].values())
    assert info["training"]["epoch"] == 2 and info["training"]["best"]["metric"] == "loss"
    _, top, _ = run_cli(capsys, ["--help"])
    assert re.search(r"^ +info +", top, re.M)  # rnnkit --help lists the command


def _copy_with(tmp_path, files, edit):
    data = bytearray((files / "lm" / "best.safetensors").read_bytes())
    path = tmp_path / "edited.safetensors"
    path.write_bytes(edit(data))
    return path


def test_bad_input_one_line(files, capsys, tmp_path):
    (tmp_path / "text.txt").write_text("hello\n")
    save_file({"w": np.zeros(3, np.float32)}, str(tmp_path / "plain.safetensors"))
    flipped = _copy_with(tmp_path, files, lambda b: b[:-5] + bytes([b[-5] ^ 1]) + b[-4:])
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes((files / "lm" / "best.safetensors").read_bytes()[:600])
    # (a run folder is described by its checkpoint: tests/test_unvalidated_runs.py)
    for path in [tmp_path / "missing.safetensors", tmp_path / "text.txt", tmp_path / "plain.safetensors", flipped, cut]:
        with pytest.raises(CheckpointError) as loading:
            ckpt.load_checkpoint(path)
        code, out, err = run_cli(capsys, ["info", str(path)])
        said = str(loading.value).replace("no such checkpoint", "no such file")  # info reads more than checkpoints
        assert code == 2 and out == "" and err == f"rnnkit: error: {said}\n", (path, err)
    out = _info(capsys, str(flipped), "--no-verify")  # the header alone: the arrays are not read
    assert info_row(out, "checksums") == "metadata ok; arrays not checked (--no-verify)"


def test_damaged_onnx_one_line(capsys, tmp_path):
    pytest.importorskip("onnx")
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x08\x12\x06rnnkit" + b"\xff" * 40)
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "bad.onnx")])
    assert code == 2 and out == "" and err.count("\n") == 1 and "not a readable ONNX graph" in err


@pytest.mark.parametrize("edit", [
    lambda meta: meta.update(kind=["training-run"]),  # each was a traceback (unhashable type) before
    lambda meta: meta["task"].update(model={"a": 1}),
    lambda meta: meta["loop"]["history"][-1].update(selected_by=3),
    lambda meta: meta["task"].update(lm_config="not json"),
    lambda meta: meta["loop"].update(history=None),
])
def test_damaged_metadata_under_a_valid_checksum(files, capsys, tmp_path, edit):
    """A header edited and saved again with fresh digests: described as far as it goes, never a traceback."""
    arrays, meta = ckpt.load_checkpoint(files / "lm" / "best.safetensors")
    edit(meta)
    ckpt.save_checkpoint(tmp_path / "edited.safetensors", arrays, meta)
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "edited.safetensors")])
    assert code == 0 and err == "" and info_row(out, "checksums").startswith("ok"), err
    assert json.loads(_info(capsys, str(tmp_path / "edited.safetensors"), "--json"))["stored"]["total"] == sum(
        a.size for a in arrays.values())


def test_onnx_graph_of_another_tool_and_one_without_a_graph(capsys, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x, y = (helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in "xy")
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph, producer_name="othertool", producer_version="4.2"), str(tmp_path / "o.onnx"))
    out = _info(capsys, str(tmp_path / "o.onnx"))
    assert info_row(out, "kind") == "an ONNX graph written by othertool 4.2, not by rnnkit"
    assert info_row(out, "inputs") == "x float32 (2)" and info_row(out, "outputs") == "y float32 (2)"
    (tmp_path / "zero.onnx").write_bytes(b"")  # protobuf reads it as a model without a graph
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "zero.onnx")])
    assert code == 2 and out == "" and err.count("\n") == 1 and "not a readable ONNX graph" in err, err


def test_arpa_file_counts(files, capsys):
    """train ngram --arpa's file: its order and the n-grams of each order, counted here from its sections."""
    sections = re.split(r"^\\\d+-grams:$", (files / "kn.arpa").read_text(encoding="utf-8"), flags=re.M)[1:]
    counts = [sum(1 for line in s.splitlines() if line.strip() and line.strip() != "\\end\\") for s in sections]
    assert len(counts) == 3
    out = _info(capsys, str(files / "kn.arpa"))
    assert info_row(out, "kind") == ("an n-gram language model (ngram): ARPA back-off model ('rnnkit train ngram --arpa', "
                                 "KenLM, SRILM)")
    assert info_row(out, "model") == "3-gram back-off language model"
    assert info_row(out, "n-grams").startswith(", ".join(f"{k}-grams {n:,}" for k, n in enumerate(counts, 1)))
    assert json.loads(_info(capsys, str(files / "kn.arpa"), "--json"))["arpa"]["ngrams"] == counts


def test_a_checkpoint_is_known_by_its_bytes_whatever_its_name(files, capsys, tmp_path):
    for renamed in (tmp_path / "kn.onnx", tmp_path / "kn.arpa"):
        renamed.write_bytes((files / "kn.safetensors").read_bytes())
        out = _info(capsys, str(renamed))
        assert info_row(out, "kind") == "an n-gram language model (ngram): model file of 'rnnkit train ngram'"
        assert info_row(out, "checksums").startswith("ok")


def test_the_file_is_opened_once(files, monkeypatch):
    """Its header, array specs and (verified) arrays are read through one safe_open, a --torch file's too."""
    import safetensors

    opened = []
    for module in (safetensors, ckpt):
        real = module.safe_open
        monkeypatch.setattr(module, "safe_open", lambda *a, real=real, **k: opened.append(a[0]) or real(*a, **k))
    for path in (files / "lm" / "best.safetensors", files / "cls-pt.safetensors"):
        opened.clear()
        assert checkpoint_info(path)["parameters"]["total"] > 0 and opened == [str(path)], opened


def test_a_fact_the_file_does_not_hold_is_null(files, capsys, tmp_path):
    """As info --help says: null, never an empty object, in every kind of file (an ARPA file's sizes were {})."""
    arrays, meta = ckpt.load_checkpoint(files / "lm" / "best.safetensors")
    meta["task"].update(model="future-kind")  # a kind this version does not know: neither architecture nor sizes
    ckpt.save_checkpoint(tmp_path / "future.safetensors", arrays, meta)
    for path in (files / "kn.arpa", tmp_path / "future.safetensors", files / "lm" / "best.safetensors",
                 files / "cls-pt.safetensors"):
        info = json.loads(_info(capsys, str(path), "--json"))
        assert not [key for key, value in info.items() if value in ({}, [])], (path.name, info)
    assert json.loads(_info(capsys, str(files / "kn.arpa"), "--json"))["sizes"] is None
    future = json.loads(_info(capsys, str(tmp_path / "future.safetensors"), "--json"))
    assert future["sizes"] is None and future["architecture"] is None
