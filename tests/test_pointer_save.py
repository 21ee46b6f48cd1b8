"""A pointer network in a checkpoint (rnnkit.seq2seq.pointer_io) and ``rnnkit demo pointer --save DIR / --load DIR``:
the network comes back exactly, tests the same without training, and wrong uses are one-line refusals."""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
from clirun import _one_line, run_cli
from safetensors import safe_open

from rnnkit.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.demos.pointer_sort import PointerDemoConfig
from rnnkit.errors import CheckpointError
from rnnkit.seq2seq.pointer import PointerNet
from rnnkit.seq2seq.pointer_io import load_pointer, save_pointer


def test_a_saved_network_loads_with_every_parameter_and_decodes_the_same(tmp_path):
    rng = np.random.default_rng(4)
    model = PointerNet(3, 6, 5, dtype=np.float64, rng=rng)
    path = save_pointer(tmp_path / "p.safetensors", model, {"demo": {"task": "hull"}})
    with safe_open(str(path), "numpy") as f:  # plain safetensors and JSON: no pickle anywhere
        assert sorted(f.keys()) == sorted("model/" + k for k in model.params)
        assert json.loads(f.metadata()["rnnkit"])["meta"]["task"]["pointer_config"]["attention_size"] == 5
    back, task = load_pointer(path)
    assert task["demo"] == {"task": "hull"} and back.dtype == np.float64 and back.attention_size == 5
    for k, a in model.params.items():
        assert back.params[k].dtype == a.dtype and np.array_equal(back.params[k], a), k
    x = rng.normal(size=(6, 4, 3))
    lengths = np.array([6, 4, 5, 2])
    for got, want in zip(back.beam_search(x, lengths, 3, end=0), model.beam_search(x, lengths, 3, end=0)):
        assert np.array_equal(got, want)  # the layers read the loaded arrays, not a copy left behind


def test_another_file_or_damaged_weights_are_refused_in_one_line(tmp_path):
    other = save_checkpoint(tmp_path / "lm.safetensors", {"model/w": np.zeros(2, np.float32)},
                            {"kind": "model", "task": {"model": "lm"}})
    with pytest.raises(CheckpointError, match=r"lm\.safetensors: not a pointer network checkpoint; it is a language "
                                              r"model.*rnnkit demo pointer --save DIR"):
        load_pointer(other)
    path = save_pointer(tmp_path / "p.safetensors", PointerNet(1, 4))
    arrays, meta = load_checkpoint(path)
    arrays["model/start"] = np.full(1, np.nan, np.float32)
    save_checkpoint(path, arrays, meta)
    with pytest.raises(CheckpointError, match="the weights start hold NaN or inf values"):
        load_pointer(path)
    del arrays["model/start"]
    save_checkpoint(path, arrays, meta)
    with pytest.raises(CheckpointError, match=r"missing \['start'\]"):
        load_pointer(path)


def _table(out):
    return [line for line in out.splitlines() if line.startswith(("     4 ", "     6 "))]


@pytest.mark.parametrize("task", ["sort", "hull"])
def test_the_cli_saves_the_trained_network_and_load_tests_it_without_training(capsys, tmp_path, task):
    small = ["--test-lengths", "4", "6", "--test-size", "40", "--beam", "2"]
    code, out, err = run_cli(capsys, ["demo", "pointer", "--task", task, "--steps", "40", "--hidden", "6",
                                      "--min-len", "3", "--max-len", "5", "--seed", "3", *small,
                                      "--save", str(tmp_path / "run")])
    assert code == 0, err
    assert f"saved as {tmp_path / 'run' / 'model.safetensors'}" in out and len(_table(out)) == 2
    code, again, err = run_cli(capsys, ["demo", "pointer", "--load", str(tmp_path / "run"), *small])
    assert code == 0, err
    assert "loss" not in again and f"a loaded {task} model, not trained here" in again
    assert f"loaded from {tmp_path / 'run'}: LSTM encoder and decoder of 6 units" in again
    assert "3-5" in again and "(seed 3)" in again and _table(again) == _table(out)  # the same network, seed and tests


def test_the_cli_refuses_load_with_training_options_or_another_task(capsys, tmp_path):
    demo = {"task": "sort", **asdict(PointerDemoConfig(hidden=4))}
    save_pointer(tmp_path / "model.safetensors", PointerNet(1, 4), {"demo": demo})
    for extra, message in ((["--steps", "5"], "Expected no --steps with --load (it tests a trained network"),
                           (["--save", str(tmp_path / "x")], "Expected no --save with --load"),
                           (["--task", "hull"], f"Expected --task sort (or none) with --load {tmp_path}, a sort")):
        code, _, err = run_cli(capsys, ["demo", "pointer", "--load", str(tmp_path), *extra])
        assert code == 2 and _one_line(err).startswith("rnnkit: error: " + message), (extra, err)
    path = save_pointer(tmp_path / "bare.safetensors", PointerNet(1, 4), {"demo": {"task": "sort"}})
    code, _, err = run_cli(capsys, ["demo", "pointer", "--load", str(path)])  # no training settings in it
    assert code == 2 and "damaged pointer demo metadata" in _one_line(err), err
    code, _, err = run_cli(capsys, ["demo", "pointer", "--save", str(path)])
    assert code == 2 and _one_line(err).startswith("rnnkit: error: Expected --save to be a folder"), err


def test_the_cli_load_messages_speak_of_the_demo_checkpoint(capsys, tmp_path):
    """--load of what the demo did not write: each message names the demo's folder and file, not a training run's
    best.safetensors or 'rnnkit evaluate MODEL FILE'."""
    hint = "give the folder 'rnnkit demo pointer --save DIR' wrote, or its model.safetensors"
    plain = save_pointer(tmp_path / "plain.safetensors", PointerNet(1, 4))  # save_pointer's, no demo settings
    (tmp_path / "pairs.json").write_text('{"x": [0.5, 0.25]}\n')
    (tmp_path / "empty").mkdir()
    for load, message in ((plain, f"{plain}: a pointer network without the demo's settings (save_pointer wrote "
                                  "it), not a demo checkpoint; --load takes what 'rnnkit demo pointer --save DIR' "
                                  "wrote"),
                          (tmp_path / "gone", f"{tmp_path / 'gone'}: no such folder or file; {hint}"),
                          (tmp_path / "empty", f"{tmp_path / 'empty'}: a folder without model.safetensors; {hint}"),
                          (tmp_path / "pairs.json", f"{tmp_path / 'pairs.json'}: not a checkpoint (not a safetensors "
                                                    f"file); {hint}")):
        code, _, err = run_cli(capsys, ["demo", "pointer", "--load", str(load)])
        assert code == 2 and _one_line(err) == "rnnkit: error: " + message, (load, err)
