"""rnnkit step: the summed parameter gradients' labels for T > 1, and an overflow warning that says only what is
true."""
from __future__ import annotations

import pytest
from clirun import run_cli

from rnnkit.textbook import CELLS


def test_summed_gradients_read_sum_t_with_per_step_quantities(capsys):
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--x", "1,2", "0,1", "--backward"])
    assert code == 0, err
    assert "  dW_ih = sum_t da_t x_t^T" in out and "  dW_hh = sum_t da_t h_{t-1}^T" in out  # was "da x_t^T"
    assert "  db_ih = sum_t da_t" in out
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--x", "1,2", "--backward"])
    assert code == 0 and "  dW_ih = da x_t^T" in out and "sum_t" not in out  # one step: nothing summed


@pytest.mark.parametrize("equation, summed", [
    ("dW_ih = [da_r, da_z, da_n] x_t^T", "dW_ih = sum_t [da_r, da_z, da_n]_t x_t^T"),
    ("dp_i = da_i * c_{t-1}", "dp_i = sum_t da_{i,t} * c_{t-1}"),
    ("dgamma_c = dy_c * c_hat", "dgamma_c = sum_t dy_{c,t} * c_hat_t"),
])
def test_summed_equation(equation, summed):
    from rnnkit.cli.step_text import summed_equation

    assert summed_equation(equation) == summed


def test_every_cells_summed_gradients_name_no_bare_per_step_quantity():
    from rnnkit.cli.step_text import summed_equation

    for module in CELLS.values():
        for equation in module.PARAM_GRADIENTS.values():
            rhs = summed_equation(equation).split(" = sum_t ", 1)[1]
            if rhs.startswith("["):  # a gate block list, subscripted as a whole
                assert rhs.split()[-2 if "^T" in rhs else -1].endswith("]_t"), equation
                continue
            bare = [w for w in rhs.split() if w.startswith("d") and not w.endswith(("_t", ",t}"))]
            assert not bare, (equation, bare)


def test_overflow_in_a_t_alone_is_said_alone(capsys):
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--x", "1e308,1e308", "--backward"])
    assert code == 0
    assert "a_t at forward step t = 1 is beyond float64's range" in err
    assert "every other number is finite" in err and "so does what is computed from it" not in err
    h_t = next(line for line in out.splitlines() if line.startswith("  h_t = f(a_t)"))
    assert "inf" not in h_t and "nan" not in h_t


def test_overflow_that_spreads_is_counted(capsys, tmp_path):
    weights = tmp_path / "w.json"
    weights.write_text('{"weight_ih": [[1, 1], [1, 1]], "weight_hh": [[1, 1], [1, 1]]}', encoding="utf-8")
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--nonlinearity", "relu", "--weights", str(weights),
                                      "--x", "1e308,1e308", "--backward"])
    assert code == 0
    assert "a_t at forward step t = 1 is beyond float64's range" in err and "; so do " in err
    assert "h_t at forward step t = 1" in err and "every other number is finite" not in err
