"""rnnkit gradcheck says when RTRL is not compared, and that its rows leave out dx."""
from __future__ import annotations

import pytest
from clirun import run_cli


@pytest.mark.parametrize("extra, said", [
    (["--layers", "2"], "--layers 2 asks for more"),
    (["--bidirectional"], "--bidirectional asks for more"),
    (["--layers", "2", "--bidirectional"], "--layers 2 and --bidirectional ask for more"),
])
def test_rtrl_not_compared_is_said_for_stacks_and_both_directions(capsys, extra, said):
    code, out, err = run_cli(capsys, ["gradcheck", "--cell", "rnn", "--steps", "2", "--batch", "2", *extra])
    assert code == 0, err
    assert "RTRL not compared: rnnkit's RTRL (rnnkit.rtrl, rnnkit.rtrl_gated) runs one layer in one direction" in out
    assert said in out and " RTRL " not in out.split("max error\n", 1)[1]


def test_rtrl_rows_say_they_leave_out_dx(capsys):
    code, out, err = run_cli(capsys, ["gradcheck", "--cell", "gru", "--steps", "2", "--batch", "2"])
    assert code == 0, err
    assert "RTRL compares the parameters' and the initial state's gradients, not dx (input x)" in out
    rows = out.split("max error\n", 1)[1].splitlines()
    assert any(" RTRL " in r for r in rows) and not any(r.startswith("input x") and " RTRL " in r for r in rows)
