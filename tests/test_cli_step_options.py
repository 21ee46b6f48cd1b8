"""rnnkit step's repeated options, its size options' names, and the messages naming them."""
from __future__ import annotations

import json

import pytest
from clirun import run_cli


def _json(capsys, argv):
    code, out, err = run_cli(capsys, ["step", "--json", *argv])
    assert code == 0, err
    return json.loads(out)


def test_a_repeated_x_adds_steps_as_one_x_with_groups_does(capsys):
    together = _json(capsys, ["--cell", "rnn", "--x", "1,2", "3,4", "--backward", "--dh", "1,0", "0,1"])
    repeated = _json(capsys, ["--cell", "rnn", "--x", "1,2", "--x", "3,4", "--backward", "--dh", "1,0", "--dh", "0,1"])
    assert len(repeated["forward"]) == 2  # was 1: the last --x alone
    assert repeated == together


def test_fewer_dh_groups_than_steps_get_the_zeros_to_add(capsys):
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--x", "1,2", "0,1", "--dh", "1,1", "--backward"])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "The number of steps: --x (one group a step) gives 2, --dh (one group a step) gives 1" in err
    assert err.rstrip().endswith("--dh 0,0 1,1")


@pytest.mark.parametrize("option", ["--hidden", "--hidden-size"])
def test_hidden_and_hidden_size_set_h_alike(capsys, option):
    got = _json(capsys, ["--cell", "gru", option, "4"])
    assert got["hidden_size"] == 4 and len(got["forward"][0]["h"]) == 4


@pytest.mark.parametrize("argv, needle", [
    (["step", "--x", "1,2,3,4", "--input-size", "3"], "error: The input size D: --x gives 4, --input-size gives 3;"),
    (["step", "--hidden", "4", "--h0", "1,2"], "error: The hidden size H: --h0 gives 2, --hidden gives 4;"),
    (["step", "--cell", "rnn", "--layer-norm", "--hidden", "1"], "got H = 1 from --hidden; give 2 or more there"),
    (["gradcheck", "--hidden-size", "4"], "not of rnnkit gradcheck: did you mean --hidden?"),
    (["gradflow", "--cell", "rnn", "--layer-norm", "--hidden", "1", "--steps", "2"],
     "--layer-norm with --hidden 1 and --cell rnn: its one unit would be normalized to its shift whatever the input, "
     "so h_t would not depend on x; give --hidden 2 or more"),
])
def test_the_messages_name_the_options(capsys, argv, needle):
    code, out, err = run_cli(capsys, argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert "input_size" not in err and "xs (" not in err and "hidden_size" not in err
