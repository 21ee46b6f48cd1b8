"""``rnnkit gradcheck`` and :func:`rnnkit.gradcheck.check_recurrent`: they pass on the real backward
passes and catch a wrong one."""
from __future__ import annotations

import re

import numpy as np
import pytest
from clirun import run_cli

import rnnkit.cells.gru as gru_kernel
from rnnkit.gradcheck import check_recurrent


@pytest.mark.parametrize("argv,rows", [
    (["--cell", "lstm"], 7 + 6),  # 4 parameters, x, h0, c0; then RTRL: 4 parameters, h0, c0
    (["--cell", "gru", "--layers", "2", "--bidirectional"], 16 + 2),
    (["--cell", "rnn", "--nonlinearity", "relu", "--steps", "7", "--seed", "3"], 6 + 5),
])
def test_every_gradient_agrees(capsys, argv, rows):
    code, out, err = run_cli(capsys, ["gradcheck", *argv])
    assert code == 0, out + err
    assert re.search(rf"OK: all {rows} gradients \([\d,]+ entries\) agree within 1e-06", out), out
    assert "MISMATCH" not in out
    # the legend: the lengths drawn (unequal, the first full), the finite differences and the error measured
    lengths = re.search(r"^lengths \[([\d, ]+)\]; parameters, inputs", out, re.M)
    steps = int(argv[argv.index("--steps") + 1]) if "--steps" in argv else 6
    assert lengths and int(lengths.group(1).split(",")[0]) == steps, out
    assert "finite differences central, eps = 1e-06; error = |analytic - reference| / max(1, |reference|)" in out


def test_a_wrong_backward_pass_is_caught(capsys, monkeypatch):
    real = gru_kernel.backward

    def off_by_one_percent(*args, **kwargs):
        dx, dh0, (dw_ih, dw_hh, db_ih, db_hh) = real(*args, **kwargs)
        return dx, dh0, (dw_ih, dw_hh * 1.01, db_ih, db_hh)

    monkeypatch.setattr(gru_kernel, "backward", off_by_one_percent)
    code, out, _ = run_cli(capsys, ["gradcheck", "--cell", "gru"])
    assert code == 1
    flagged = [line.split()[:2] for line in out.splitlines() if line.endswith("<-- MISMATCH")]
    assert flagged == [["weight_hh_l0", "finite"], ["weight_hh_l0", "RTRL"]], out
    assert "MISMATCH: 2 of 11 gradients exceed 1e-06 (worst: weight_hh_l0" in out


def test_check_recurrent_rows():
    checks = check_recurrent("lstm", num_layers=2, hidden=3, steps=5, seed=1)
    names = [c.name for c in checks]
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]
    assert names[8:] == ["input x", "initial h", "initial c"]  # two layers: no RTRL rows
    assert all(c.reference == "finite differences" and c.max_error < 1e-7 and c.max_grad > 0 for c in checks)
    assert checks[0].entries == 4 * 3 * 3 and checks[8].entries == 5 * 3 * 3
    with pytest.raises(ValueError, match="steps"):
        check_recurrent("gru", steps=0)
    assert np.isfinite([c.max_error for c in checks]).all()


@pytest.mark.parametrize("cell, said", [("gru", "a GRU has fixed gates"), ("lstm", "an LSTM has fixed gates")])
def test_nonlinearity_for_a_gated_cell_is_refused_in_good_english(cell, said, capsys):
    from rnnkit.cli.main import main

    assert main(["gradcheck", "--cell", cell, "--nonlinearity", "relu"]) == 2
    assert said in capsys.readouterr().err  # "an GRU" before


def test_peephole_lstm_is_checked_and_a_wrong_peephole_gradient_caught(capsys, monkeypatch):
    import rnnkit.cells.lstm_peephole as peephole_kernel

    code, out, err = run_cli(capsys, ["gradcheck", "--cell", "lstm", "--peephole", "--steps", "5"])
    assert code == 0, out + err
    assert out.startswith("lstm with peepholes, 1 layer(s)"), out
    rows = [line.split()[0] for line in out.splitlines() if "finite differences  " in line]
    assert rows[4:7] == ["weight_ci_l0", "weight_cf_l0", "weight_co_l0"], out
    assert "RTRL not compared: rnnkit's RTRL (rnnkit.rtrl_gated) derives the LSTM without peepholes" in out
    assert re.search(r"OK: all 10 gradients \([\d,]+ entries\) agree", out), out

    flagged = _flagged_one_off(capsys, monkeypatch, peephole_kernel, -2, ["--peephole", "--layers", "2"])
    assert flagged == ["weight_cf_l0", "weight_cf_l1"]  # (..., dw_ci, dw_cf, dw_co): dw_cf 1% off


def _flagged_one_off(capsys, monkeypatch, kernel, which, argv):
    """The gradients ``rnnkit gradcheck --cell lstm ARGV`` flags (it must exit 1) when the parameter gradient at
    index ``which`` of ``kernel.backward``'s is 1% off."""
    real = kernel.backward

    def one_off(*args, **kwargs):
        dx, dstate, grads = real(*args, **kwargs)
        grads = list(grads)
        grads[which] = grads[which] * 1.01
        return dx, dstate, tuple(grads)

    monkeypatch.setattr(kernel, "backward", one_off)
    code, out, _ = run_cli(capsys, ["gradcheck", "--cell", "lstm", *argv])
    assert code == 1, out
    return [line.split()[0] for line in out.splitlines() if line.endswith("<-- MISMATCH")]


def test_peephole_needs_the_lstm(capsys):
    code, out, err = run_cli(capsys, ["gradcheck", "--cell", "gru", "--peephole"])
    assert code == 2
    assert "--peephole has no effect with --cell gru" in err and "give --cell lstm" in err


def test_layer_norm_cell_is_checked_and_a_wrong_layer_norm_gradient_caught(capsys, monkeypatch):
    import rnnkit.cells.lstm_ln as ln_kernel

    code, out, err = run_cli(capsys, ["gradcheck", "--cell", "lstm", "--layer-norm", "--steps", "5"])
    assert code == 0, out + err
    assert out.startswith("lstm with layer normalization, 1 layer(s)"), out
    rows = [line.split()[0] for line in out.splitlines() if "finite differences  " in line]
    assert rows[4:10] == [f"{n}_l0" for n in ln_kernel.LN_PARAMS], out
    assert "RTRL not compared: rnnkit's RTRL" in out and "without layer normalization" in out
    assert re.search(r"OK: all 13 gradients \([\d,]+ entries\) agree", out), out

    flagged = _flagged_one_off(capsys, monkeypatch, ln_kernel, -2, ["--layer-norm", "--layers", "2"])
    assert flagged == ["ln_cell_weight_l0", "ln_cell_weight_l1"]  # (..., dg_c, db_c): the cell LN's gain 1% off


def test_layer_norm_with_peephole_is_checked_and_a_wrong_peephole_gradient_caught(capsys, monkeypatch):
    import rnnkit.cells.lstm_ln_peephole as both_kernel

    code, out, err = run_cli(capsys, ["gradcheck", "--cell", "lstm", "--layer-norm", "--peephole", "--steps", "5"])
    assert code == 0, out + err
    assert out.startswith("lstm with peepholes and layer normalization, 1 layer(s)"), out
    rows = [line.split()[0] for line in out.splitlines() if "finite differences  " in line]
    assert rows[4:13] == [f"{n}_l0" for n in both_kernel.PEEPHOLES + both_kernel.LN_PARAMS], out
    assert re.search(r"OK: all 16 gradients \([\d,]+ entries\) agree", out), out
    flagged = _flagged_one_off(capsys, monkeypatch, both_kernel, 6, ["--layer-norm", "--peephole", "--layers", "2"])
    assert flagged == ["weight_co_l0", "weight_co_l1"]  # (..., dw_ci, dw_cf, dw_co, LN's): dw_co 1% off


def _layer_norm_help(capsys, argv):
    """The --layer-norm option's help in ``argv --help``, on one line."""
    code, out, _ = run_cli(capsys, [*argv, "--help"])
    assert code == 0
    lines = out.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("  --layer-norm"))
    end = next(k for k in range(start + 1, len(lines) + 1) if k == len(lines) or lines[k].startswith("  -"))
    return " ".join(" ".join(lines[start:end]).split())


def test_the_layer_norm_help_speaks_of_a_saved_model_only_where_one_is_saved(capsys):
    """gradcheck trains and saves nothing: its --layer-norm help ends with the equations, while train's says what
    becomes of the option in the saved model and its export."""
    check = _layer_norm_help(capsys, ["gradcheck"])
    assert check.endswith("add their terms after the normalizations"), check
    for argv in (["train", "lm"], ["train", "seq2seq"]):
        train = _layer_norm_help(capsys, argv)
        assert train.endswith("saved with the model; export --onnx writes it (a Scan over the cell's steps), --torch "
                              "refuses it"), train
