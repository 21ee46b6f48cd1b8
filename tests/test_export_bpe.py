"""``export --torch`` and ``--onnx`` of a BPE-level language model: the SentencePiece model is written beside the
export (its path checked before anything is written), and the printed code splits lines into pieces and joins
pieces into text exactly as rnnkit does, so its numbers are ``rnnkit score``'s and its greedy line rnnkit's."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from clirun import run_cli

pytest.importorskip("sentencepiece")

from rnnkit.lm.bpe_text import decode_pieces, line_pieces  # noqa: E402
from rnnkit.lm.io import checkpoint_bpe_model, load_lm  # noqa: E402

WORDS = "the cat cats sat on a mat dog dogs ran far away big small 我们 喜欢 学习".split()
SMALL = ["--embed", "6", "--hidden", "8", "--layers", "2", "--batch-size", "4", "--bptt", "6",
         "--progress", "none", "--checkpoint-minutes", "0", "--epochs", "1"]
TARGETS = {"--torch": ("torch", ".safetensors"), "--onnx": ("onnxruntime", ".onnx")}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from rnnkit.cli.main import main

    d = tmp_path_factory.mktemp("exportbpe")
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS + ["<unk>"], int(rng.integers(3, 8)))) for _ in range(100)]
    (d / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["train", "lm", "--train", str(d / "train.txt"), "--level", "bpe", "--bpe-vocab", "40",
                 "--cell", "gru", "--run-dir", str(d / "run"), *SMALL]) == 0
    return d / "run" / "last.safetensors"


def _export(capsys, model, out, target):
    pytest.importorskip(TARGETS[target][0])
    if target == "--onnx":
        pytest.importorskip("onnx")
    code, printed, err = run_cli(capsys, ["export", str(model), "-o", str(out), target])
    assert code == 0, err
    assert f"its SentencePiece model in {out.with_name('lm.bpe.model')}" in err, err
    return printed


@pytest.mark.parametrize("target", TARGETS)
def test_the_printed_code_reads_and_writes_text_as_rnnkit_does(model, tmp_path, capsys, target):
    out = tmp_path / f"lm{TARGETS[target][1]}"
    printed = _export(capsys, model, out, target)
    assert (tmp_path / "lm.bpe.model").read_bytes() == checkpoint_bpe_model(model)
    namespace = {"__name__": "__main__"}
    exec(compile(printed, "exported.py", "exec"), namespace)
    shown = capsys.readouterr().out
    bpe = checkpoint_bpe_model(model)
    for line in ["the cat sat", "  the  <unk> cats<unk> 我们喜欢 ", "<unk>", "<eos> dog", "", "a mat <unk> <unk>"]:
        assert namespace["line_pieces"](line) == line_pieces(bpe, line), line
    pieces = line_pieces(bpe, "the cats ran <unk> far") + ["▁", "▁we", "<unk>", "s", "<eos>", "<eos>", "▁dog"]
    assert namespace["decode_pieces"](pieces) == decode_pieces(pieces)
    # its number is 'rnnkit score''s first column for the example line
    line = decode_pieces(namespace["text"][1:]).strip()
    assert namespace["text"] == ["<eos>", *line_pieces(bpe, line)]
    (tmp_path / "line.txt").write_text(line + "\n", encoding="utf-8")
    code, scored, err = run_cli(capsys, ["score", str(model), str(tmp_path / "line.txt")])
    assert code == 0, err
    first, greedy_text = shown.split("\n", 1)
    assert first.endswith(" nats") and float(first.split()[0]) == pytest.approx(float(scored.split("\t")[0]),
                                                                                  abs=1e-4)
    # and its greedy line is rnnkit's, written as 'rnnkit generate' writes pieces
    lm, vocab, _, _ = load_lm(model)
    logp, state = lm.step_log_probs(np.array([vocab.encode(namespace["text"])]).T, None)
    greedy = []
    for _ in range(8):
        greedy.append(int(logp[0].argmax()))
        logp, state = lm.step_log_probs(np.array([[greedy[-1]]]), state)
    assert greedy_text == decode_pieces(vocab.decode(greedy)) + "\n"


@pytest.mark.parametrize("target", TARGETS)
def test_moved_with_its_files_the_code_still_runs(model, tmp_path, capsys, target):
    made = tmp_path / "made"
    out = made / f"lm{TARGETS[target][1]}"
    printed = _export(capsys, model, out, target)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for path in made.iterdir():
        path.rename(moved / path.name)
    (moved / "run.py").write_text(printed, encoding="utf-8")
    ran = subprocess.run([sys.executable, str(moved / "run.py")], cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout.split("\n")[0].endswith(" nats"), ran.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_an_unwritable_sentencepiece_path_is_refused_before_anything_is_written(model, tmp_path, capsys, target):
    pytest.importorskip(TARGETS[target][0])
    (tmp_path / "lm.bpe.model").mkdir()  # a folder where the SentencePiece model would go
    code, _, err = run_cli(capsys, ["export", str(model), "-o", str(tmp_path / f"lm{TARGETS[target][1]}"), target])
    assert code == 2 and err.count("\n") == 1 and "its SentencePiece model file" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lm.bpe.model"]


@pytest.mark.parametrize("target", TARGETS)
def test_an_export_named_as_a_sentencepiece_file_is_refused(model, tmp_path, capsys, target):
    """-o m.bpe.model would replace the SentencePiece model of another export named m."""
    pytest.importorskip(TARGETS[target][0])
    code, _, err = run_cli(capsys, ["export", str(model), "-o", str(tmp_path / "m.bpe.model"), target])
    assert code == 2 and err.count("\n") == 1, err
    assert "is named as the SentencePiece model file written beside an export" in err, err
    assert f"e.g. {tmp_path / ('m' + TARGETS[target][1])}" in err and not list(tmp_path.iterdir())


@pytest.mark.parametrize("target", TARGETS)
def test_the_report_names_the_files_written_beside_the_export(model, tmp_path, target):
    """The report lists the files written beside the export (the vocabulary of a graph, the SentencePiece model),
    which is what the command's summary says from, rather than reading the checkpoint again."""
    from rnnkit.export_torch import export_torch

    out = tmp_path / f"lm{TARGETS[target][1]}"
    if target == "--onnx":
        pytest.importorskip("onnx")
        from rnnkit.export_onnx import export_onnx

        report, _ = export_onnx(model, out)
    else:
        report, _ = export_torch(model, out)
    expected = [tmp_path / "lm.vocab.json"] * (target == "--onnx") + [tmp_path / "lm.bpe.model"]
    assert report.beside == tuple(expected) and all(p.is_file() for p in expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in [out, *expected])
