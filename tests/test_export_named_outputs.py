"""``export -o x.onnx`` without --onnx wrote an rnnkit checkpoint under an ONNX name without a word, and
the warning for ``--onnx -o m.safetensors`` lacked the "rnnkit: " every other warning starts with."""
from __future__ import annotations

import pytest
from clirun import run_cli

from rnnkit.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("named")
    rows = "".join(f"{'pos' if i % 2 else 'neg'}\t{'great' if i % 2 else 'dull'} film {i % 5}\n" for i in range(20))
    (d / "t.tsv").write_text(rows, encoding="utf-8")
    from rnnkit.cli.main import main

    assert main(["train", "classifier", "--train", str(d / "t.tsv"), "--epochs", "1", "--embed", "4", "--hidden",
                 "4", "--valid-fraction", "0", "--progress", "none", "--run-dir", str(d / "run")]) == 0
    return d


@pytest.mark.parametrize("name,flag", [("x.onnx", "--onnx"), ("x.pt", "--torch"), ("x.PTH", "--torch")])
def test_an_rnnkit_checkpoint_named_as_another_format_is_warned(run, capsys, name, flag):
    out = run / name
    code, _, err = run_cli(capsys, ["export", str(run / "run"), "-o", str(out)])
    assert code == 0, err
    warned = [line for line in err.splitlines() if line.startswith("rnnkit: warning: ")]
    assert len(warned) == 1 and f"{out}: without {flag} this is an rnnkit checkpoint" in warned[0], err
    assert f"add {flag}" in warned[0]
    load_checkpoint(out)  # written all the same: an rnnkit checkpoint


def test_a_torch_state_dict_named_onnx_is_not_called_an_rnnkit_checkpoint(run, capsys):
    code, _, err = run_cli(capsys, ["export", str(run / "run"), "--torch", "-o", str(run / "s.onnx")])
    warned = [line for line in err.splitlines() if line.startswith("rnnkit: warning: ")]
    assert code == 0 and len(warned) == 1 and "--torch writes a PyTorch state dict" in warned[0], err
    assert "rnnkit checkpoint" not in warned[0] and "instead of --torch" in warned[0], err


def test_named_as_it_is_no_warning(run, capsys):
    code, _, err = run_cli(capsys, ["export", str(run / "run"), "-o", str(run / "m.safetensors")])
    assert code == 0 and "warning" not in err, err
    code, _, err = run_cli(capsys, ["export", str(run / "run"), "--torch", "-o", str(run / "m.pt")])
    assert code == 0 and "warning" not in err, err


def test_onnx_named_safetensors_warning_has_the_prefix(run, capsys):
    pytest.importorskip("onnx")
    code, _, err = run_cli(capsys, ["export", str(run / "run"), "--onnx", "-o", str(run / "g.safetensors")])
    assert code == 0 and "rnnkit: warning: --onnx writes an ONNX graph" in err, err
    code, _, err = run_cli(capsys, ["export", str(run / "run"), "--onnx", "-o", str(run / "g.pt")])
    assert code == 0 and f"an ONNX graph, but -o {run / 'g.pt'} is named as a PyTorch file" in err, err
