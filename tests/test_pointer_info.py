"""A saved pointer network (``rnnkit demo pointer --save``) is a known kind: ``rnnkit info`` names and describes
it, and ``export`` and ``evaluate`` refuse it in one line that says which command takes it."""
from __future__ import annotations

import json

import numpy as np
from clirun import error_line, run_cli

from rnnkit.seq2seq.pointer import PointerNet
from rnnkit.seq2seq.pointer_io import save_pointer


def _saved(tmp_path):
    model = PointerNet(3, 6, 5, rng=np.random.default_rng(0))
    return str(save_pointer(tmp_path / "p.safetensors", model, {"demo": {"task": "hull"}}))


def test_info_names_and_describes_a_pointer_network(tmp_path, capsys):
    path = _saved(tmp_path)
    code, out, err = run_cli(capsys, ["info", path, "--json"])
    assert code == 0, err
    info = json.loads(out)
    assert (info["task"], info["what"]) == ("pointer", "a pointer network")
    assert info["architecture"]["hidden"] == 6 and info["sizes"] == {"input_size": 3}
    assert "hull" in info["architecture"]["summary"]
    code, out, _ = run_cli(capsys, ["info", path])
    assert code == 0 and "a pointer network (pointer)" in out and "no model rnnkit knows" not in out


def test_export_and_evaluate_say_which_command_takes_it(tmp_path, capsys):
    path = _saved(tmp_path)
    (tmp_path / "x.txt").write_text("a b\n", encoding="utf-8")
    for argv in (["export", path, "-o", str(tmp_path / "e.safetensors")], ["evaluate", path, str(tmp_path / "x.txt")]):
        code, _, err = run_cli(capsys, argv)
        assert "it is a pointer network: use it with rnnkit demo pointer --load FILE" in error_line(code, err)
