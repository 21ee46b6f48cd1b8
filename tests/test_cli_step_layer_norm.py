"""``rnnkit step --cell rnn|lstm|gru --layer-norm`` (and ``--cell lstm --layer-norm --peephole``): the numbers printed
are the fast kernels' (rnnkit.cells.elman_ln, lstm_ln, gru_ln, lstm_ln_peephole), the text shows each LN's mean,
sigma and normalized vector and its backward, a --weights file holds the LN gains and shifts (a gain left out is 1,
a shift 0), and the options that do not fit are one line."""
from __future__ import annotations

import json

import numpy as np
import pytest
from clirun import refused, run_cli

from rnnkit.cells import elman_ln, gru_ln, lstm_ln, lstm_ln_peephole
from rnnkit.textbook import CELLS

KERNELS = {"rnn": elman_ln, "lstm": lstm_ln, "gru": gru_ln}
X = ["1,0,-1", "0.5,2,1", "-1,1,0", "0.3,-0.4,2", "1,1,-0.5"]  # T = 5 steps


@pytest.mark.parametrize("cell, peephole", [("rnn", False), ("lstm", False), ("gru", False), ("lstm", True)])
def test_json_numbers_are_the_kernels(capsys, cell, peephole):
    argv = ["step", "--cell", cell, "--layer-norm", "--backward", "--x", *X, "--hidden-size", "4", "--seed", "3",
            "--json"] + (["--peephole"] if peephole else [])
    if cell == "lstm":
        argv += ["--dc", "0.3,-0.2,0.5,1"]
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    got = json.loads(out)
    assert got["cell"] == cell and got["layer_norm"] is True and got["steps"] == 5
    assert got.get("peephole", False) is peephole
    names = CELLS["lstm_ln_peephole" if peephole else f"{cell}_ln"].PARAM_NAMES
    kernel = lstm_ln_peephole if peephole else KERNELS[cell]
    p = [np.array(got["parameters"][k]) for k in names]
    assert all(np.any(a != 0) for a in p)  # drawn: gains and shifts too
    xs = np.array([s["x"] for s in got["forward"]])[:, None]  # (T, 1, D)
    h0 = np.array(got["forward"][0]["h_prev"])[None]
    dout = np.array(got["dout"])[:, None]
    if cell == "lstm":
        c0 = np.array(got["forward"][0]["c_prev"])[None]
        out_k, _, cache = kernel.forward(xs, (h0, c0), *p)
        dx, (dh0, dc0), wg = kernel.backward(dout, (None, np.array(got["dc"])[None]), cache)
        np.testing.assert_allclose(dc0[0], got["gradients"]["c0"], rtol=1e-12, atol=1e-12)
    else:
        out_k, _, cache = kernel.forward(xs, h0, *p)
        dx, dh0, wg = kernel.backward(dout, None, cache)
    np.testing.assert_allclose(out_k[:, 0], [s["h"] for s in got["forward"]], rtol=1e-12, atol=1e-12)
    g = got["gradients"]
    for name, a in zip(names, wg):
        np.testing.assert_allclose(a, g[name], rtol=1e-11, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(dx[:, 0], g["x"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dh0[0], g["h0"], rtol=1e-12, atol=1e-12)


def test_text_shows_each_ln_and_its_backward(capsys):
    code, out, err = run_cli(capsys, ["step", "--cell", "lstm", "--layer-norm", "--backward"])
    assert code == 0, err
    assert out.startswith("layer-normalized LSTM (Ba, Kiros & Hinton 2016")
    assert "H = 3 hidden units" in out  # --layer-norm's default: LN over 2 numbers gives +-1
    for label in ("mu_x = mean(ax)", "sigma_c = sqrt(mean((c_t - mu_c)^2) + eps)", "c_hat = (c_t - mu_c) / sigma_c",
                  "dah = (dah_hat - mean(dah_hat) - ah_hat * mean(dah_hat * ah_hat)) / sigma_h",
                  "dgamma_c = dy_c * c_hat", "gamma_ih = "):
        assert f"  {label}" in out, label
    lines = out.splitlines()
    at = next(k for k, line in enumerate(lines) if line.lstrip().startswith("ax = W_ih x_t"))
    assert all(line.rstrip().endswith("]") and line.count("[") == 1 for line in lines[at : at + 4])  # i, f, g, o
    assert lines[at + 4].lstrip().startswith("mu_x = mean(ax)")


def test_two_hidden_units_are_noted(capsys):
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--layer-norm", "--hidden-size", "2"])
    assert code == 0, err
    assert "note: LN over H = 2 numbers gives a_hat = +-1" in out


def test_saved_weights_read_back_and_left_out_gains_are_one(capsys, tmp_path):
    saved = tmp_path / "w.json"
    argv = ["step", "--cell", "lstm", "--layer-norm", "--hidden-size", "3", "--json"]
    code, first, err = run_cli(capsys, argv + ["--save-weights", str(saved)])
    assert code == 0, err
    obj = json.loads(saved.read_text(encoding="utf-8"))
    assert set(obj["ln_ih_weight"]) == {"i", "f", "g", "o"} and len(obj["ln_cell_bias"]) == 3
    code, again, err = run_cli(capsys, argv + ["--weights", str(saved)])
    assert code == 0, err
    assert json.loads(again)["forward"] == json.loads(first)["forward"]
    for name in ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias", "ln_cell_weight", "ln_cell_bias"):
        del obj[name]
    saved.write_text(json.dumps(obj), encoding="utf-8")
    code, text, err = run_cli(capsys, argv[:-1] + ["--weights", str(saved)])
    assert code == 0, err
    assert "(ln_ih_bias and ln_hh_bias and ln_cell_bias left out: 0; ln_ih_weight and ln_hh_weight and " \
           "ln_cell_weight left out: 1)" in text, text
    code, out, err = run_cli(capsys, argv + ["--weights", str(saved)])
    assert code == 0, err
    got = json.loads(out)
    assert got["unit_gains"] == ["ln_ih_weight", "ln_hh_weight", "ln_cell_weight"]
    assert got["zero_biases"] == ["ln_ih_bias", "ln_hh_bias", "ln_cell_bias"]
    p = got["parameters"]
    assert p["ln_ih_weight"] == [1.0] * 12 and p["ln_cell_weight"] == [1.0] * 3 and p["ln_hh_bias"] == [0.0] * 12


def test_layer_norm_with_peephole_prints_both_and_reads_a_sheet_of_both(capsys, tmp_path):
    saved = tmp_path / "w.json"
    argv = ["step", "--cell", "lstm", "--layer-norm", "--peephole", "--backward"]
    code, out, err = run_cli(capsys, argv + ["--save-weights", str(saved)])
    assert code == 0, err
    assert out.startswith("layer-normalized peephole LSTM") and "  a_o = z_o + p_o * c_t " in out
    assert "  dc_{t-1} = dc * f_t + da_i * p_i + da_f * p_f " in out and "  dp_o = da_o * c_t" in out
    obj = json.loads(saved.read_text(encoding="utf-8"))
    assert len(obj["weight_co"]) == 3 and set(obj["ln_hh_bias"]) == {"i", "f", "g", "o"}
    code, again, err = run_cli(capsys, argv + ["--weights", str(saved)])
    assert code == 0 and again.split("\n\nparameters\n")[1] == out.split("\n\nparameters\n")[1], err
    err = refused(run_cli(capsys, ["step", "--cell", "lstm", "--layer-norm", "--weights", str(saved)]))
    assert "unknown parameter 'weight_ci' (a peephole weight: give cell 'lstm_ln_peephole', --peephole)" in err


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_one_hidden_unit_is_refused_where_ln_is_over_h(capsys, cell):
    err = refused(run_cli(capsys, ["step", "--cell", cell, "--layer-norm", "--hidden-size", "1"]))
    assert "Expected H >= 2 hidden units for a layer-normalized" in err
    assert "got H = 1 from --hidden; give 2 or more there" in err
    err = refused(run_cli(capsys, ["step", "--cell", cell, "--layer-norm", "--h0", "0.5"]))  # H set by --h0
    assert "got H = 1 from --h0; give 2 or more there" in err and "--hidden" not in err, err


def test_a_layer_norm_sheet_without_layer_norm_says_to_give_it(capsys, tmp_path):
    saved = tmp_path / "w.json"
    code, _, err = run_cli(capsys, ["step", "--cell", "rnn", "--layer-norm", "--save-weights", str(saved)])
    assert code == 0, err
    err = refused(run_cli(capsys, ["step", "--cell", "rnn", "--weights", str(saved)]))
    assert "unknown parameter 'ln_weight' (a layer-norm gain or shift: give cell 'rnn_ln', --layer-norm); " in err


def test_the_cell_states_gain_as_gate_blocks_is_one_clear_line(capsys, tmp_path):
    w = tmp_path / "w.json"
    w.write_text(json.dumps({"weight_ih": [[0.1]] * 8, "weight_hh": [[0.2, 0.1]] * 8,
                             "ln_cell_weight": {"i": [0.1, 0.2]}}), encoding="utf-8")
    err = refused(run_cli(capsys, ["step", "--cell", "lstm", "--layer-norm", "--weights", str(w)]))
    assert "ln_cell_weight: the LN gain or shift of the cell state is one number per hidden unit" in err


@pytest.mark.parametrize("argv", [["--cell", "lstm"], ["--cell", "gru", "--layer-norm"],
                                  ["--cell", "lstm", "--layer-norm"]])
def test_an_input_of_g_times_h_numbers_is_not_printed_as_gate_blocks(capsys, argv):
    """D = G*H (8 = 4 x 2, 6 = 3 x 2): x_t and dx_t are D numbers on one line, not G rows as a gate vector's."""
    G = 3 if "gru" in argv else 4
    code, out, err = run_cli(capsys, ["step", *argv, "--input-size", str(2 * G), "--hidden-size", "2", "--backward"])
    assert code == 0, err
    lines = out.splitlines()
    for label in ("  x_t ", "  dx_t = W_ih^T "):
        k = next(k for k, line in enumerate(lines) if line.startswith(label))
        assert len(lines[k].split("[", 1)[1].split()) == 2 * G, lines[k]  # all D numbers on the label's line
        assert not lines[k + 1].lstrip().startswith("["), lines[k : k + 2]  # and no gate rows under it
