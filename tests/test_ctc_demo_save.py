"""``rnnkit demo ctc --save DIR / --load DIR``: the trained transcriber in a checkpoint comes back exactly and
decodes the same without training; ``rnnkit info`` describes the file; wrong uses are one-line refusals."""
from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pytest
from clirun import _one_line, error_line, run_cli

from rnnkit.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.demos.ctc import CTCDemoConfig, Transcriber, load_transcriber, save_transcriber, trained_or_loaded
from rnnkit.demos.ctc_fusion import LMFusion, fit_string_lm, training_strings
from rnnkit.demos.ctc_speech import speech_batch
from rnnkit.errors import CheckpointError
from rnnkit.seq2seq.pointer import PointerNet
from rnnkit.seq2seq.pointer_io import save_pointer

CFG = CTCDemoConfig(symbols=4, hidden=3, steps=7, text="words", noise=0.5)


def _saved(tmp_path):
    model = Transcriber(CFG.symbols, CFG.hidden, np.random.default_rng(1))
    return model, save_transcriber(tmp_path / "model.safetensors", model, CFG)


def test_a_saved_transcriber_loads_with_every_parameter_and_its_settings(tmp_path):
    model, path = _saved(tmp_path)
    back, cfg = load_transcriber(path)
    assert cfg == CFG
    for k, a in model.params.items():
        assert back.params[k].dtype == a.dtype and np.array_equal(back.params[k], a), k
    x, lengths, _, _ = speech_batch(np.random.default_rng(2), np.array([3, 5]), 4, 0.5)
    assert np.array_equal(back.forward(x, lengths)[0], model.forward(x, lengths)[0])  # the layers read them


def test_another_kind_or_damaged_settings_are_refused_in_one_line(tmp_path):
    other = save_pointer(tmp_path / "p.safetensors", PointerNet(1, 4), {"demo": {"task": "sort"}})
    with pytest.raises(CheckpointError, match=r"p\.safetensors: not a CTC transcriber checkpoint; it is a pointer "
                                              r"network.*rnnkit demo ctc --save DIR"):
        load_transcriber(other)
    _, path = _saved(tmp_path)
    arrays, meta = load_checkpoint(path)
    meta["task"]["transcriber_config"]["hidden_size"] = 5
    save_checkpoint(path, arrays, meta)
    with pytest.raises(CheckpointError, match=r"damaged CTC transcriber metadata \(a network of 4 symbols and 5 "
                                              r"units trained with 4 and 3\)"):
        load_transcriber(path)
    meta["task"]["transcriber_config"]["hidden_size"] = 3
    del arrays["model/out.bias"]
    save_checkpoint(path, arrays, meta)
    with pytest.raises(CheckpointError, match=r"missing \['out.bias'\]"):
        load_transcriber(path)


def test_info_describes_it_and_export_and_evaluate_say_which_command_takes_it(tmp_path, capsys):
    _, path = _saved(tmp_path)
    code, out, err = run_cli(capsys, ["info", str(path), "--json"])
    assert code == 0, err
    info = json.loads(out)
    assert (info["task"], info["what"]) == ("ctc", "a CTC transcriber")
    assert info["architecture"]["hidden"] == 3 and info["architecture"]["directions"] == 2
    assert "words text" in info["architecture"]["summary"] and info["sizes"] == {"input_size": 2, "classes": 5}
    assert info["options"] == {"demo": asdict(CFG)}
    code, out, err = run_cli(capsys, ["info", str(path)])  # named as the demo's, as demo pointer --save's is
    assert "kind        a CTC transcriber (ctc): model of 'rnnkit demo ctc --save' (the model alone)" in out, out
    (tmp_path / "x.txt").write_text("a b\n", encoding="utf-8")
    for argv in (["export", str(path), "-o", str(tmp_path / "e.safetensors")],
                 ["evaluate", str(path), str(tmp_path / "x.txt")]):
        code, _, err = run_cli(capsys, argv)
        assert "it is a CTC transcriber: use it with rnnkit demo ctc --load FILE" in error_line(code, err)


def _table(out):
    return [line for line in out.splitlines() if line.startswith(("     3 ", "     7 "))]


def test_the_cli_saves_the_trained_network_and_load_decodes_it_again_without_training(capsys, tmp_path):
    small = ["--test-lengths", "3", "7", "--test-size", "20", "--beam", "3", "--lm-order", "2"]
    code, out, err = run_cli(capsys, ["demo", "ctc", "--steps", "30", "--hidden", "5", "--text", "words",
                                      "--seed", "4", *small, "--save", str(tmp_path / "run")])
    assert code == 0, err
    assert f"saved as {tmp_path / 'run' / 'model.safetensors'}" in out and len(_table(out)) == 2
    code, again, err = run_cli(capsys, ["demo", "ctc", "--load", str(tmp_path / "run"), *small])
    assert code == 0, err
    assert "CTC loss" not in again and "a loaded network, not trained here" in again
    assert f"loaded from {tmp_path / 'run'}; 30 Adam steps" in again and "word-like" in again
    assert "(seed 4)" in again and _table(again) == _table(out)  # the same network, LM, seed and tests
    lm_line = next(line for line in out.splitlines() if line.startswith("language model"))
    assert lm_line in again  # the training strings drawn again: the same n-gram model


def test_the_cli_refuses_load_with_training_options_or_another_file(capsys, tmp_path):
    _, path = _saved(tmp_path)
    for extra, message in ((["--steps", "5"], "Expected no --steps with --load (it tests a trained network"),
                           (["--text", "random"], "Expected no --text with --load"),
                           (["--save", str(tmp_path / "x")], "Expected no --save with --load")):
        code, _, err = run_cli(capsys, ["demo", "ctc", "--load", str(tmp_path), *extra])
        assert code == 2 and _one_line(err).startswith("rnnkit: error: " + message), (extra, err)
    code, _, err = run_cli(capsys, ["demo", "ctc", "--load", str(tmp_path / "nothing")])
    assert "no such folder or file; give the folder 'rnnkit demo ctc --save DIR' wrote" in _one_line(err)
    code, _, err = run_cli(capsys, ["demo", "ctc", "--save", str(path)])
    assert code == 2 and _one_line(err).startswith("rnnkit: error: Expected --save to be a folder"), err


def test_a_loaded_network_tested_on_another_seed_fuses_the_lm_of_the_strings_it_trained_on():
    cfg = CTCDemoConfig(steps=2, hidden=3, batch_size=3, text="words", seed=5)
    model = Transcriber(cfg.symbols, cfg.hidden, np.random.default_rng(0))
    lms = [trained_or_loaded(replace(cfg, seed=9), model, None, LMFusion(3), lambda line: None, seed)[1]
           for seed in (5, None)]
    trained = fit_string_lm(training_strings(cfg), cfg.symbols, 3)
    assert all(np.array_equal(a, b) for a, b in zip(lms[0].counts_, trained.counts_))
    assert not all(np.array_equal(a, b) for a, b in zip(lms[1].counts_, trained.counts_))  # seed 9's strings
