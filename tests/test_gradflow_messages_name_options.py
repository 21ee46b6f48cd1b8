"""gradflow's refusals name the options the user gave: --all-cells with --layer-norm over one unit said
'--cell rnn', an option nobody typed; a cell left at its default is said to be the default."""
from __future__ import annotations

import pytest
from clirun import run_cli


@pytest.mark.parametrize("argv, needle", [
    (["--all-cells", "--layer-norm", "--hidden", "1"],
     "--layer-norm with --hidden 1 and --all-cells (its rnn column): its one unit would be normalized"),
    (["--layer-norm", "--hidden", "1"], "--layer-norm with --hidden 1 and the default --cell rnn: its one unit"),
    (["--cell", "lstm", "--layer-norm", "--hidden", "1"], "--layer-norm with --hidden 1 and --cell lstm: its one-unit"),
    (["--forget-bias", "2"], "with the default --cell rnn it would be ignored: add --cell lstm"),
    (["--peephole"], "--peephole has no effect with the default --cell rnn (peepholes read"),
    (["--cell", "gru", "--peephole"], "--peephole has no effect with --cell gru (peepholes read"),
])
def test_gradflow_refusals_name_what_was_given(capsys, argv, needle):
    code, out, err = run_cli(capsys, ["gradflow", "--steps", "2", *argv])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert needle in err, err
    if "--all-cells" in argv:
        assert "--cell" not in err, err
