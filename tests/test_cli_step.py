"""``rnnkit step``: the numbers it prints are the fast kernels' (rnnkit.cells) for the numbers given, its
weight files read (whole matrices or gate blocks) and written, and every bad input is one line and exit 2."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from clirun import run_cli
from test_textbook import kernel_run, random_params

from rnnkit.cli.step_text import numbers
from rnnkit.textbook import CELLS

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", None), ("gru", None)]


def entries(out: str) -> list[tuple[str, np.ndarray]]:
    """Every ``label = [numbers]`` of the printout (a matrix's further rows under its first), in order."""
    found: list[tuple[str, list[list[float]]]] = []
    for line in out.splitlines():
        entry = re.fullmatch(r"\s*(.*\S)\s+= \[([-\d. ]+)\]", line)
        if entry:
            found.append((entry.group(1), [[float(v) for v in entry.group(2).split()]]))
        elif re.fullmatch(r"\s+\[[-\d. ]+\]", line) and found:
            found[-1][1].append([float(v) for v in line.strip(" []").split()])
    return [(label, np.array(rows) if len(rows) > 1 else np.array(rows[0])) for label, rows in found]


def values(out: str, name: str) -> list[np.ndarray]:
    """The numbers of every entry named ``name`` (``h_t`` for ``h_t = o_t * tanh(c_t)``), one a step, in order."""
    return [a for label, a in entries(out) if label == name or label.startswith(name + " =")]


def text(v: np.ndarray) -> str:
    return ",".join(repr(float(x)) for x in v)


def problem(cell: str, tmp_path, seed: int = 0):
    """Random non-zero numbers for a 2-step problem, its weights written as --weights takes them."""
    rng = np.random.default_rng(seed)
    T, D, H = 2, 3, 2
    p = random_params(cell, D, H, rng)
    xs, h0, c0 = rng.normal(size=(T, D)), rng.normal(size=H), rng.normal(size=H)
    dout, dcT = rng.normal(size=(T, H)), rng.normal(size=H)
    path = tmp_path / "w.json"
    path.write_text(json.dumps({k: v.tolist() for k, v in p.items()}), encoding="utf-8")
    argv = ["step", "--cell", cell, "--weights", str(path), "--x", *map(text, xs), "--h0", text(h0), "--backward",
            "--dh", *map(text, dout)]
    if cell == "lstm":
        argv += ["--c0", text(c0), "--dc", text(dcT)]
    return argv, (p, xs, h0, c0, dout, np.zeros(H), dcT)


@pytest.mark.parametrize("cell, nonlinearity", CASES)
def test_printed_numbers_are_the_kernels(capsys, tmp_path, cell, nonlinearity):
    argv, (p, *numbers_given) = problem(cell, tmp_path)
    if nonlinearity == "relu":
        argv += ["--nonlinearity", "relu"]
    code, out, err = run_cli(capsys, argv + ["--precision", "6"])
    assert code == 0 and err == "", err
    out_k, state_k, dw_k, dx_k, dstate0_k = kernel_run(cell, nonlinearity or "tanh", p, *numbers_given)
    close = {"rtol": 0, "atol": 6e-7}  # printed to 6 decimals
    np.testing.assert_allclose(values(out, "h_t"), out_k, **close)
    if cell == "lstm":
        np.testing.assert_allclose(values(out, "c_t")[-1], state_k[1], **close)
        np.testing.assert_allclose(values(out, "dc_{t-1}")[-1], dstate0_k[1], **close)
    # the backward steps are printed t = T..1
    np.testing.assert_allclose(values(out, "dx_t")[::-1], dx_k, **close)
    np.testing.assert_allclose(values(out, "dh_{t-1}")[-1], dstate0_k[0], **close)
    gates = CELLS[cell].GATES
    for name, grad in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), dw_k):
        letter, side = ("dW" if name.startswith("weight") else "db"), name[-2:]
        if len(gates) == 1:
            printed = values(out, f"{letter}_{side}")
        else:
            printed = [values(out, f"{letter}_{side[0]}{g}")[0] for g in gates]
        np.testing.assert_allclose(np.concatenate([np.atleast_2d(a) for a in printed]).reshape(grad.shape), grad,
                                   **close, err_msg=name)
    # the parameters are printed as given, block by block (the first block of weight_ih)
    first = values(out, "W_ih" if len(gates) == 1 else f"W_i{gates[0]}")[0]
    np.testing.assert_allclose(first, np.split(p["weight_ih"], len(gates))[0], **close)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_json_holds_every_number_in_full(capsys, tmp_path, cell):
    argv, (p, *numbers_given) = problem(cell, tmp_path, seed=4)
    code, out, err = run_cli(capsys, argv + ["--json"])
    assert code == 0, err
    got = json.loads(out)
    out_k, _, dw_k, dx_k, dstate0_k = kernel_run(cell, "tanh", p, *numbers_given)
    assert got["cell"] == cell and got["steps"] == 2 and got["drawn"] == []
    np.testing.assert_allclose([s["h"] for s in got["forward"]], out_k, rtol=1e-12, atol=1e-12)
    for name, grad in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), dw_k):
        np.testing.assert_allclose(got["gradients"][name], grad, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["gradients"]["x"], dx_k, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["gradients"]["h0"], dstate0_k[0], rtol=1e-12, atol=1e-12)
    assert set(got["backward"][0]) >= {"t", "dh", "dx", "dh_prev", "weight_ih"}


def test_gate_blocks_read_as_the_whole_matrices(capsys, tmp_path):
    argv, (p, *_) = problem("gru", tmp_path)
    _, whole, _ = run_cli(capsys, argv + ["--json"])
    blocks = {name: dict(zip("rzn", np.split(v, 3))) for name, v in p.items()}
    (tmp_path / "w.json").write_text(json.dumps({n: {g: b.tolist() for g, b in v.items()} for n, v in blocks.items()}))
    code, by_block, err = run_cli(capsys, argv + ["--json"])
    assert code == 0 and by_block == whole, err


def test_saved_weights_read_back(capsys, tmp_path):
    saved = tmp_path / "权重.json"  # a Chinese file name
    code, first, err = run_cli(capsys, ["step", "--seed", "5", "--save-weights", str(saved), "--json"])
    assert code == 0 and str(saved) in err
    assert '"i": [[' in saved.read_text(encoding="utf-8")  # gate by gate, a sheet to edit
    given = json.loads(first)["forward"][0]
    argv = ["step", "--weights", str(saved), "--seed", "99", "--json", "--x", text(np.array(given["x"])),
            "--h0", text(np.array(given["h_prev"])), "--c0", text(np.array(given["c_prev"]))]
    code, second, err = run_cli(capsys, argv)
    assert code == 0, err
    assert json.loads(second)["forward"] == json.loads(first)["forward"]


def test_save_weights_dash_prints_the_weights_alone_to_standard_output(capsys, tmp_path, monkeypatch):
    """--save-weights - wrote a file named '-': stdout now holds the JSON alone, the step goes to stderr."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, ["step", "--seed", "5", "--save-weights", "-"])
    assert code == 0 and not (tmp_path / "-").exists()
    assert set(json.loads(out)) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}, out
    assert "the parameters are on standard output" in err and "LSTM (torch.nn.LSTMCell)" in err, err
    (tmp_path / "w.json").write_text(out, encoding="utf-8")
    code, saved, _ = run_cli(capsys, ["step", "--seed", "5", "--save-weights", "-", "--json"])
    assert code == 0 and saved == out
    code, first, _ = run_cli(capsys, ["step", "--seed", "5", "--json"])
    code, second, err = run_cli(capsys, ["step", "--seed", "5", "--json", "--weights", "w.json"])
    assert code == 0 and json.loads(second)["forward"] == json.loads(first)["forward"], err


def test_drawn_numbers_are_tenths_and_repeat_with_the_seed(capsys):
    runs = [run_cli(capsys, ["step", "--cell", "gru", "--backward", "--seed", s, "--json"])[1] for s in "110"]
    assert runs[0] == runs[1] != runs[2]
    got = json.loads(runs[0])
    assert got["drawn"] == ["parameters", "h0", "x", "dh"]
    drawn = np.concatenate([np.ravel(v) for v in got["parameters"].values()] + [np.ravel(got["dout"])])
    assert np.all(np.abs(drawn) <= 1) and np.allclose(drawn * 10, np.round(drawn * 10), atol=1e-9)
    assert len(np.unique(drawn)) > 5


def test_sizes_steps_and_missing_biases(capsys, tmp_path):
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--input-size", "4", "--hidden-size", "3",
                                      "--steps", "3", "--backward"])
    assert code == 0, err
    assert [line for line in out.splitlines() if line.startswith(("forward", "backward"))] == [
        "forward, t = 1", "forward, t = 2", "forward, t = 3", "backward, t = 3", "backward, t = 2", "backward, t = 1"]
    assert values(out, "x_t")[0].shape == (4,) and values(out, "h_t")[0].shape == (3,)
    assert "(sums over t = 1..3)" in out
    (tmp_path / "w.json").write_text('{"weight_ih": [[0.5, -1]], "weight_hh": [[0.25]], "bias_ih": [0.1]}')
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--weights", str(tmp_path / "w.json"),
                                      "--x", "-1,2", "--h0", "0.5"])
    assert code == 0, err
    assert "(bias_hh left out: 0)" in out and values(out, "W_ih")[0].tolist() == [0.5, -1.0]
    assert "  W_ih = [ 0.50 -1.00]" in out and "  W_hh = [ 0.25]" in out  # as typed, not 0.5000; all alike
    # a = 0.5 * -1 + -1 * 2 + 0.1 + 0.25 * 0.5 + 0 = -2.275, h = tanh(a)
    assert values(out, "a_t")[0][0] == pytest.approx(-2.275, abs=1e-4)
    assert values(out, "h_t")[0][0] == pytest.approx(np.tanh(-2.275), abs=1e-4)


def test_negative_first_numbers_and_chinese_commas(capsys):
    argv = ["step", "--cell", "gru", "--x", "-0.5，1，2", "--h0", "-.5,1", "--precision", "2"]
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    assert values(out, "x_t")[0].tolist() == [-0.5, 1.0, 2.0] and "[-0.50  1.00]" in out
    # the enumeration comma 、 as well (the user walk's --x 1、0 was refused while 1，0 was read)
    code, out, err = run_cli(capsys, ["step", "--cell", "gru", "--x", "1、0", "0、-1", "--h0", "0.5、1"])
    assert code == 0, err
    assert values(out, "x_t")[0].tolist() == [1.0, 0.0] and values(out, "x_t")[1].tolist() == [0.0, -1.0]


def test_a_rounded_zero_has_no_sign():
    assert numbers(np.array([-1e-9, 0.25]), 4) == ["[ 0.0000  0.2500]"]
    assert numbers(np.array([[1.0, -2.0], [3.5, 0.0]]), 1) == ["[ 1.0 -2.0]", "[ 3.5  0.0]"]


def test_minus_signs_copied_from_a_pdf_read_as_minus(capsys, tmp_path):
    """--x −1 (U+2212, as a PDF's text copies it) was 'not a number', and the error did not say why."""
    argv = ["step", "--cell", "rnn", "--x", "\u22120.5,\u20121,\uff0d2", "--h0", "\u2013.5,1", "--precision", "2"]
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    assert values(out, "x_t")[0].tolist() == [-0.5, -1.0, -2.0] and "[-0.50  1.00]" in out
    plain, minus = tmp_path / "plain.json", tmp_path / "minus.json"
    plain.write_text('{"weight_ih": [[0.1, -0.2]], "weight_hh": [[-1e-1]]}', encoding="utf-8")
    minus.write_text('{"weight_ih": [[0.1, \u22120.2]], "weight_hh": [[\u22121e-1]]}', encoding="utf-8")
    assert run_cli(capsys, ["step", "--cell", "rnn", "--weights", str(minus), "--json"])[1] == \
        run_cli(capsys, ["step", "--cell", "rnn", "--weights", str(plain), "--json"])[1]


def test_a_relu_pre_activation_printed_as_zero_but_above_it_is_noted(capsys, tmp_path):
    """0.1 + 0.2 - 0.3 is 5.55e-17 in float64: a_t printed 0.0000, and da = dh where a student writes f'(0) = 0."""
    weights = tmp_path / "w.json"
    weights.write_text('{"weight_ih": [[0.1, 0.2, -0.3], [0.3, -0.2, -0.1], [0.5, 0.5, -1]], '
                       '"weight_hh": [[0, 0, 0], [0, 0, 0], [0, 0, 0]]}', encoding="utf-8")
    argv = ["step", "--cell", "rnn", "--weights", str(weights), "--x", "1,1,1", "--h0", "0,0,0", "--backward",
            "--dh", "1,1,1"]
    code, out, err = run_cli(capsys, [*argv, "--nonlinearity", "relu"])
    assert code == 0, err
    notes = [line for line in out.splitlines() if "note:" in line]
    # unit 1 is above 0; unit 2 (-2.78e-17) and unit 3 (exactly 0) both have f' = 0, as the printout suggests
    assert notes == ["  note: a_t unit 1 prints as 0 but is 5.55e-17 (float64 rounding): above 0, so f' = 1 there "
                     "(f'(0) = 0)"], out
    assert values(out, "da")[0].tolist() == [1.0, 0.0, 0.0]
    code, out, err = run_cli(capsys, [*argv, "--nonlinearity", "relu", "--precision", "17"])
    assert "note:" not in out  # 0.00000000000000006 is printed: nothing hidden
    code, out, err = run_cli(capsys, argv)  # tanh has no kink
    assert code == 0 and "note:" not in out, out


def test_huge_numbers_print_in_scientific_notation_and_an_overflow_is_said_in_step_terms(capsys, tmp_path):
    assert numbers(np.array([1e200, -0.5, 999999.0]), 4) == ["[ 1.0000e+200      -0.5000  999999.0000]"]
    weights = tmp_path / "w.json"
    weights.write_text('{"weight_ih": [[1e300, 1e300, 1e300], [0.3, -0.2, -0.1]], "weight_hh": [[0, 0], [0, 0]]}',
                       encoding="utf-8")
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--nonlinearity", "relu", "--weights", str(weights),
                                      "--x", "1e10,1e10,1", "--h0", "0,0"])
    assert code == 0 and "x_t" in out and not re.search(r"\d{20}", out), out  # not 1e300's 301 digits
    assert "[ 1.0000e+10  1.0000e+10      1.0000]" in out, out
    assert err.startswith("rnnkit: warning: a_t at forward step t = 1 is beyond float64's range") and \
        err.count("\n") == 1 and "--init-scale" not in err, err
    # backward through the inf: its gradients print as inf/nan, with no numpy warning beside step's own line
    weights.write_text('{"weight_ih": [[1e300, 1e300, 1e300], [1, 1, 1]], "weight_hh": [[1e10, 0], [0, 1]], '
                       '"bias_ih": [0, 0], "bias_hh": [0, 0]}', encoding="utf-8")
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--nonlinearity", "relu", "--weights", str(weights),
                                      "--x", "1e10,1e10,1e10", "1,1,1", "--backward"])
    assert code == 0 and err.count("\n") == 1 and "encountered" not in err, err
    assert "(--x, --h0, --dh, --weights)" in err, err  # an Elman cell has no c0 nor dc to give


def test_help_lists_the_command(capsys):
    code, out, _ = run_cli(capsys, ["--help"])
    assert code == 0 and "    step " in out
    code, out, _ = run_cli(capsys, ["step", "--help"])
    assert code == 0 and "--weights" in out and "U(-1, 1)" in out


BAD_FILES = {
    "unknown.json": '{"weight_ih": [[1, 2]], "weight_hh": [[1]], "W_xh": [[1]]}',
    "layer.json": '{"weight_ih_l0": [[1, 2]], "weight_hh": [[1]]}',
    "nan.json": '{"weight_ih": [[1, 2]], "weight_hh": [[NaN]]}',
    "shape.json": '{"weight_ih": [[1, 2]], "weight_hh": [[1, 2]]}',
    "ragged.json": '{"weight_ih": [[1, 2], [3]], "weight_hh": [[1]]}',
    "word.json": '{"weight_ih": [[1, 2]], "weight_hh": [[1]], "bias_ih": ["a"]}',
    "broken.json": '{"weight_ih": [[1, 2]]',
    "dash.json": '{"weight_ih": [[\u20141, 2]], "weight_hh": [[1]]}',
    "nohh.json": '{"weight_ih": [[1, 2]]}',
    "blocks.json": '{"weight_ih": {"i": [[1, 2]]}, "weight_hh": [[1]]}',
    "gates.json": '{"weight_ih": {"i": [[1, 2]], "f": [[1, 2]]}, "weight_hh": [[1]]}',
}


@pytest.mark.parametrize("argv, needle", [
    (["--x", "1,2,x"], "--x '1,2,x': number 3 is 'x', not a number"),
    (["--x", "1,,2"], "number 2 is nothing"),
    (["--h0", "1,nan"], "--h0 '1,nan': number 2 is nan; give finite numbers"),
    (["--x", "1,2\u200b,3"], "number 2 is '2\\u200b' (it holds U+200B ZERO WIDTH SPACE), not a number"),
    (["--x", "\u20141,2,3"], "number 1 is '\u20141' (it holds U+2014 EM DASH), not a number"),
    (["--cell", "rnn", "--weights", "dash.json"], "dash.json: not valid JSON at line 1, column 17 (U+2014 EM DASH)"),
    (["--x", "1,2", "1,2,3"], "--x: group 2 has 3 numbers, the first 2 numbers"),
    (["--x", "1,2", "--input-size", "3"], "The input size D: --x gives 2, --input-size gives 3"),
    (["--h0", "1,2", "--c0", "1,2,3"], "The hidden size H: --h0 gives 2, --c0 gives 3"),
    (["--backward", "--x", "1,2,3", "--dh", "1,2", "1,2"], "The number of steps: --x (one group a step) gives 1, --dh "
                                                           "(one group a step) gives 2"),
    (["--cell", "gru", "--c0", "1,2"], "--c0 has no effect with --cell gru: a GRU has no cell state"),
    (["--cell", "lstm", "--nonlinearity", "relu"], "--nonlinearity has no effect with --cell lstm"),
    (["--dh", "1,2"], "--dh has no effect without --backward"),
    (["--json", "--precision", "3"], "--precision has no effect with --json"),
    (["--precision", "40"], "argument --precision: Expected decimals 0..17, got '40'"),
    (["--weights", "missing.json"], "--weights missing.json: cannot read it (missing.json does not exist)"),
    (["--cell", "rnn", "--weights", "unknown.json"], "unknown parameter 'W_xh'; an Elman RNN's are weight_ih"),
    (["--cell", "rnn", "--weights", "layer.json"], "'weight_ih_l0' (a torch.nn.RNN/LSTM/GRU layer's name: the "
                                                   "cell's is weight_ih)"),
    (["--cell", "rnn", "--weights", "nan.json"], "nan.json: NaN is not a finite number"),
    (["--cell", "rnn", "--weights", "shape.json"], "weight_hh is 1x2, expected 2x2"),
    (["--cell", "rnn", "--weights", "ragged.json"], "weight_ih row 2 has 1 number, row 1 has 2"),
    (["--cell", "rnn", "--weights", "word.json"], "bias_ih: expected numbers, got \"a\""),
    (["--cell", "rnn", "--weights", "broken.json"], "broken.json: not valid JSON at line 1"),
    (["--cell", "rnn", "--weights", "nohh.json"], "weight_hh missing"),
    (["--cell", "lstm", "--weights", "gates.json"], "expected the gate blocks i, f, g, o"),
    (["--cell", "rnn", "--weights", "shape.json", "--x", "1,2,3"], "weight_hh is 1x2"),
    (["--cell", "rnn", "--weights", "layer.json", "--save-weights", "out.json"], "weight_ih_l0"),
    (["--cell", "rnn", "--weights", "shape.json", "--save-weights", "./shape.json"], "is the --weights file"),
    (["--cell", "rnn", "--weights", "blocks.json"], "weight_ih: an Elman RNN has no gates; give weight_ih as a matrix"),
])
def test_bad_input_is_one_line(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    for name, content in BAD_FILES.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    code, out, err = run_cli(capsys, ["step", *argv])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert err.startswith(("rnnkit: error: ", "rnnkit step: error: ")), err
    assert not (tmp_path / "out.json").exists()  # nothing written when the input is bad


def test_the_readme_example_is_what_the_command_prints(capsys, tmp_path, monkeypatch):
    from docs_text import reference_text

    readme = reference_text()  # the section is in docs/checking.md
    section = readme[readme.index("## Checking a hand calculation: `rnnkit step`"):]
    weights = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    command, shown = re.search(r"```\n\$ rnnkit (.*?)\n(.*?)```", section, re.S).groups()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ex.json").write_text(weights, encoding="utf-8")
    code, out, err = run_cli(capsys, command.split())
    assert code == 0 and err == "", err
    assert out == shown
