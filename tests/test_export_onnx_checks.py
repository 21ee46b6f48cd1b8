"""``rnnkit export --onnx`` (and ``--torch``) checks before it writes: both files of an ONNX export (the graph and
its vocabulary beside it) by the rules of every model written, and the model itself by rnnkit's own loader."""
from __future__ import annotations

import os

import numpy as np
import pytest
from clirun import refused, run_cli

from rnnkit import checkpoint as ckpt

pytest.importorskip("onnx")

FAST = ["--epochs", "1", "--progress", "none", "--checkpoint-minutes", "0"]


def _train_lm(tmp_path, capsys, *options):
    tmp_path.mkdir(exist_ok=True)
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on a mat\na dog ran on the log\n" * 4, encoding="utf-8")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(text), "--cell", "lstm", "--layers", "2", "--embed",
                                    "4", "--hidden", "4", "--bptt", "6", "--batch-size", "4", *options, *FAST,
                                    "--run-dir", str(run)])
    assert code == 0, err
    return run / "last.safetensors"


def test_both_files_of_an_onnx_export_are_checked_before_either_is_written(tmp_path, capsys):
    model = _train_lm(tmp_path, capsys)
    before = model.read_bytes()
    device = tmp_path / "dev.onnx"
    device.symlink_to(os.devnull)  # a device: the graph would be written into it and its vocabulary beside it
    refused(run_cli(capsys, ["export", str(model), "-o", str(device), "--onnx"]),
            "is not a regular file (a device or a pipe)")
    assert not (tmp_path / "dev.vocab.json").exists()
    (tmp_path / "v.vocab.json").symlink_to(os.devnull)  # the vocabulary's path a device
    refused(run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "v.onnx"), "--onnx"]),
             f"-o {tmp_path / 'v.onnx'}: its vocabulary file {tmp_path / 'v.vocab.json'} is not a regular file")
    assert not (tmp_path / "v.onnx").exists()
    refused(run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "m.onnx.gz"), "--onnx"]),
             "a model is saved uncompressed (ONNX), so a compressed file's name would mislead")
    assert not list(tmp_path.glob("m.*"))
    (tmp_path / "x.vocab.json").mkdir()  # the vocabulary's path a folder
    refused(run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "x.onnx"), "--onnx"]),
             "its vocabulary file " + str(tmp_path / "x.vocab.json") + " is a folder; choose another -o")
    assert not (tmp_path / "x.onnx").exists()
    source = tmp_path / "q.vocab.json"  # a checkpoint whose name is the vocabulary's of -o q.onnx
    source.write_bytes(before)
    refused(run_cli(capsys, ["export", str(source), "-o", str(tmp_path / "q.onnx"), "--onnx"]),
             "its vocabulary file " + str(source) + " is a file this command reads")
    assert source.read_bytes() == before and not (tmp_path / "q.onnx").exists()
    # a safetensors name for an ONNX graph is written, with a warning that the name misleads
    code, _, err = run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "g.safetensors"), "--onnx"])
    assert code == 0 and err.startswith("rnnkit: warning: --onnx writes an ONNX graph, but -o "), err
    assert (tmp_path / "g.vocab.json").is_file()


def _damaged(path, out, config=None, arrays=None, drop=()):
    """The checkpoint ``path`` saved to ``out`` with its lm_config updated by ``config``, ``arrays`` added (by
    name, without the ``model/`` prefix) and the arrays named in ``drop`` left out."""
    params, meta = ckpt.load_checkpoint(path)
    meta["task"]["lm_config"].update(config or {})
    params.update({"model/" + k: v for k, v in (arrays or {}).items()})
    ckpt.save_checkpoint(out, {k: v for k, v in params.items() if k[len("model/"):] not in drop}, meta)
    return out


def test_a_model_rnnkit_would_not_load_is_not_exported(tmp_path, capsys):
    plain = _train_lm(tmp_path / "plain", capsys)
    peep = _train_lm(tmp_path / "peep", capsys, "--peephole")
    names = [f"rnn.weight_c{g}_l{k}" for k in range(2) for g in "ifo"]
    extra = _damaged(plain, tmp_path / "extra.safetensors", arrays={n: np.full(4, 0.5, np.float32) for n in names})
    yes = _damaged(peep, tmp_path / "yes.safetensors", config={"peephole": "yes"})
    missing = _damaged(peep, tmp_path / "missing.safetensors", drop=names)
    # no language model rnnkit trains learns its initial state: its loader refuses one, and so does the export
    learned = _damaged(plain, tmp_path / "learned.safetensors", arrays={"rnn.h0_l0": np.full(4, 0.5, np.float32)})
    for source, needle, targets in [
            (extra, "unexpected ['rnn.weight_cf_l0', ", ("--onnx", "--torch")),  # the weights would be dropped
            (yes, "damaged language-model metadata (Expected peephole to be a bool, got str 'yes')", ("--onnx",)),
            (missing, "missing ['rnn.weight_cf_l0', ", ("--onnx",)),
            (learned, "Expected the language model's parameters, missing [], unexpected ['rnn.h0_l0']",
             ("--onnx", "--torch"))]:
        for target in targets:
            out = tmp_path / f"{source.stem}{target}.out"
            refused(run_cli(capsys, ["export", str(source), "-o", str(out), target]), needle)
            assert not out.exists()


def test_a_layer_normalized_peephole_lstm_is_refused_by_torch_for_its_layer_norm_and_written_by_onnx(tmp_path,
                                                                                                      capsys):
    # --torch names the layer norm (not the peepholes) and sends it to --onnx, which writes both (a Scan)
    model = _train_lm(tmp_path, capsys, "--peephole", "--layer-norm")
    out = tmp_path / "m.out"
    refused(run_cli(capsys, ["export", str(model), "-o", str(out), "--torch"]),
            "layer-normalized (--layer-norm), which torch")
    refused(run_cli(capsys, ["export", str(model), "-o", str(out), "--torch"]), "export it with --onnx instead")
    assert not out.exists()
    code, _, err = run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "m.onnx"), "--onnx"])
    assert code == 0 and (tmp_path / "m.onnx").exists(), err


@pytest.mark.parametrize("target", ["--onnx", "--torch"])
def test_the_checkpoint_is_read_once_for_the_export_and_its_loaders_check(tmp_path, capsys, monkeypatch, target):
    """rnnkit's own loader checks the arrays the export read (a float16 export's too, widened as it widens them),
    rather than reading the whole checkpoint a second time."""
    model = _train_lm(tmp_path, capsys)
    half = tmp_path / "half.safetensors"
    code, _, err = run_cli(capsys, ["export", str(model), "-o", str(half), "--dtype", "float16"])
    assert code == 0, err
    reads = []
    read = ckpt._read  # every whole read (load_checkpoint's, imported by name or not) goes through it
    monkeypatch.setattr(ckpt, "_read", lambda path, arrays: (arrays and reads.append(path)) or read(path, arrays))
    for source in (model, half):
        reads.clear()
        code, _, err = run_cli(capsys, ["export", str(source), "-o", str(tmp_path / f"m{target}.out"), target])
        assert code == 0 and reads == [source], (err, reads)
