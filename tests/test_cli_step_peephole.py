"""``rnnkit step --cell lstm --peephole``: the textbook peephole LSTM's numbers are the kernel's, a --weights file
gives the peepholes as H numbers each (one left out is 0), --save-weights writes them, and another cell refuses it."""
from __future__ import annotations

import json

import numpy as np
from clirun import run_cli

from rnnkit.cells import lstm_peephole

NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ci", "weight_cf", "weight_co")


def test_json_numbers_are_the_kernels(capsys):
    argv = ["step", "--cell", "lstm", "--peephole", "--backward", "--x", "1,0,-1", "0.5,2,1", "-1,1,0", "--dc",
            "0.3,-0.2", "--seed", "4", "--json"]
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    got = json.loads(out)
    assert got["cell"] == "lstm" and got["peephole"] is True
    p = {k: np.array(got["parameters"][k]) for k in NAMES}
    xs = np.array([s["x"] for s in got["forward"]])
    h0, c0 = np.array(got["forward"][0]["h_prev"]), np.array(got["forward"][0]["c_prev"])
    out_k, (hT, cT), cache = lstm_peephole.forward(xs[:, None], (h0[None], c0[None]), *(p[k] for k in NAMES))
    np.testing.assert_allclose(out_k[:, 0], [s["h"] for s in got["forward"]], atol=1e-12)
    dout = np.array(got["dout"])
    dx, (dh0, dc0), wg = lstm_peephole.backward(dout[:, None], (None, np.array(got["dc"])[None]), cache)
    g = got["gradients"]
    for name, a in zip(NAMES, wg):
        np.testing.assert_allclose(a, g[name], atol=1e-12, err_msg=name)
    np.testing.assert_allclose(dx[:, 0], g["x"], atol=1e-12)
    np.testing.assert_allclose(dc0[0], g["c0"], atol=1e-12)


def test_weights_file_peepholes_and_zero_ones(capsys, tmp_path):
    saved = tmp_path / "w.json"
    code, _, err = run_cli(capsys, ["step", "--cell", "lstm", "--peephole", "--save-weights", str(saved)])
    assert code == 0, err
    obj = json.loads(saved.read_text(encoding="utf-8"))
    assert len(obj["weight_co"]) == 2 and set(obj["weight_ih"]) == {"i", "f", "g", "o"}
    for k in ("weight_ci", "weight_cf", "weight_co"):
        del obj[k]
    saved.write_text(json.dumps(obj), encoding="utf-8")
    argv = ["step", "--cell", "lstm", "--weights", str(saved), "--x", "1,2,3", "--h0", "0.5,-1", "--c0", "1,2",
            "--json"]
    code, plain, err = run_cli(capsys, argv)
    assert code == 0, err
    code, peep, err = run_cli(capsys, argv[:3] + ["--peephole"] + argv[3:])
    assert code == 0, err
    h = [s["h"] for s in json.loads(plain)["forward"]]
    assert [s["h"] for s in json.loads(peep)["forward"]] == h  # p = 0: the plain LSTM
    code, text, err = run_cli(capsys, argv[:3] + ["--peephole"] + argv[3:-1])
    assert f"parameters from {saved} (weight_ci and weight_cf and weight_co left out: 0)" in text, text


def test_peephole_with_another_cell_is_one_clear_line(capsys):
    code, out, err = run_cli(capsys, ["step", "--cell", "gru", "--peephole"])
    assert code != 0 and out == "" and err.strip().count("\n") == 0, err
    assert "--peephole has no effect with --cell gru" in err


def test_a_peephole_given_as_gate_blocks_is_one_clear_line(capsys, tmp_path):
    w = tmp_path / "w.json"
    w.write_text(json.dumps({"weight_ih": [[0.1]] * 4, "weight_hh": [[0.2]] * 4, "weight_ci": {"i": [0.1]}}),
                 encoding="utf-8")
    code, out, err = run_cli(capsys, ["step", "--cell", "lstm", "--peephole", "--weights", str(w)])
    assert code != 0 and out == "" and err.strip().count("\n") == 0, err
    assert "weight_ci: a peephole weight is one number per hidden unit" in err


def test_a_peephole_sheet_read_as_another_cell_says_to_give_peephole(capsys, tmp_path):
    saved = tmp_path / "w.json"
    code, _, err = run_cli(capsys, ["step", "--cell", "lstm", "--peephole", "--save-weights", str(saved)])
    assert code == 0, err
    for cell, hint in [("lstm", "(a peephole weight: give cell 'lstm_peephole', --peephole)"),
                       ("gru", "(a peephole weight, of cell 'lstm_peephole', an LSTM with --peephole)")]:
        code, out, err = run_cli(capsys, ["step", "--cell", cell, "--weights", str(saved)])
        assert code != 0 and out == "" and err.strip().count("\n") == 0, err
        assert f"unknown parameter 'weight_ci' {hint}; " in err, err
