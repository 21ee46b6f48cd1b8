"""``--layer-norm`` on train lm, classifier and tagger: kept in the checkpoint with its ln_* gains and shifts and
rebuilt from it, a checkpoint from before it loads without it, with --peephole too,
export --torch refuses it (--onnx writes it: test_export_onnx_ln.py), resume refuses a change, and gradflow runs it."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import run_cli
from test_cli_peephole import CONFIG, KINDS, data  # noqa: F401 (data is a fixture)
from test_cli_residual import _command, _load

from rnnkit.checkpoint import load_checkpoint, save_checkpoint


@pytest.mark.parametrize("kind,cell", [("lm", "lstm"), ("lm", "rnn"), ("lm", "gru"), ("classifier", "lstm"),
                                       ("tagger", "rnn"), ("tagger", "gru")])
def test_layer_norm_is_saved_and_old_checkpoints_load_without_it(kind, cell, data, tmp_path, capsys):  # noqa: F811
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, _command(kind, data, run) + ["--layers", "2", "--cell", cell, "--layer-norm"])
    assert code == 0, err
    path = run / "last.safetensors"
    cfg, rnn = _load(kind, path)
    assert cfg.layer_norm is True and rnn.config.layer_norm is True
    arrays, meta = load_checkpoint(path)
    assert meta["task"][CONFIG[kind]]["layer_norm"] is True
    ln = [k for k in arrays if k.startswith("model/rnn.ln_")]
    assert len(ln) == {"lstm": 6, "rnn": 2, "gru": 4}[cell] * 2 * rnn.num_directions, ln
    name = {"lstm": "ln_cell_weight_l1", "rnn": "ln_weight_l1", "gru": "ln_hh_weight_l1"}[cell]
    np.testing.assert_array_equal(rnn.params[name], arrays["model/rnn." + name])  # loaded back
    assert np.abs(arrays["model/rnn." + name] - 1).max() > 0  # trained: the gains moved from 1
    plain = {k: v for k, v in arrays.items() if not k.startswith("model/rnn.ln_")}
    del meta["task"][CONFIG[kind]]["layer_norm"]  # as a checkpoint written before --layer-norm existed
    old = save_checkpoint(tmp_path / "old.safetensors", plain, meta)
    cfg, rnn = _load(kind, old)
    assert cfg.layer_norm is False and rnn.config.layer_norm is False


def test_a_layer_norm_language_model_scores_text(data, tmp_path, capsys):  # noqa: F811
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, _command("lm", data, run) + ["--layer-norm"])
    assert code == 0, err
    code, out, err = run_cli(capsys, ["score", str(run / "last.safetensors"), str(data / "text.txt")])
    assert code == 0 and "Traceback" not in err, err
    assert out.strip()


@pytest.mark.parametrize("kind", KINDS)
def test_layer_norm_with_peepholes_is_saved_and_loaded(kind, data, tmp_path, capsys):  # noqa: F811
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, _command(kind, data, run) + ["--cell", "lstm", "--peephole", "--layer-norm"])
    assert code == 0, err
    path = run / "last.safetensors"
    cfg, rnn = _load(kind, path)
    assert cfg.layer_norm and cfg.peephole and rnn.config.layer_norm and rnn.config.peephole
    assert rnn._kernel.__name__ == "rnnkit.cells.lstm_ln_peephole"
    arrays, _ = load_checkpoint(path)
    for name in ("weight_co_l0", "ln_cell_weight_l0"):
        np.testing.assert_array_equal(rnn.params[name], arrays["model/rnn." + name])  # loaded back


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_layer_norm_over_one_unit_is_refused_in_one_line(kind, cell, data, tmp_path, capsys):  # noqa: F811
    """LN over one unit gives its shift whatever it reads: an Elman h_t blind to x, an LSTM h_t blind to c_t."""
    run = tmp_path / "run"
    command = list(_command(kind, data, run))
    at = command.index("--hidden") if "--hidden" in command else None
    if at is not None:
        del command[at:at + 2]
    code, out, err = run_cli(capsys, command + ["--cell", cell, "--hidden", "1", "--layer-norm"])
    assert code != 0 and out == "" and err.strip().count("\n") == 0, err
    assert f"--layer-norm with --hidden 1 and --cell {cell}: " in err and "give --hidden 2 or more" in err, err
    assert not run.exists()


def test_layer_norm_over_one_unit_is_refused_by_the_library_but_the_gru_normalizes_3h():
    from rnnkit.recurrent import GRU, LSTM, RNN

    for cls in (RNN, LSTM):
        with pytest.raises(ValueError, match=r"Expected hidden_size >= 2 with layer_norm=True for (RNN|LSTM) \("):
            cls(3, 1, 1, layer_norm=True)
    out, _, _ = GRU(3, 1, 1, layer_norm=True).forward(np.ones((4, 2, 3), np.float32))  # over 3H = 3 gate units
    assert out.shape == (4, 2, 1) and np.isfinite(out).all()
    RNN(3, 2, 1, layer_norm=True)  # two units: fine


def test_export_torch_refuses_a_layer_norm_model(data, tmp_path, capsys):  # noqa: F811
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, _command("classifier", data, run) + ["--layer-norm"])
    assert code == 0, err
    out_path = tmp_path / "t.out"
    code, out, err = run_cli(capsys, ["export", str(run), "-o", str(out_path), "--torch"])
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "its recurrent layers are layer-normalized (--layer-norm), which torch's" in err, err
    assert "export it with --onnx instead" in err and "or without either" in err, err
    assert not out_path.exists()
    code, _, err = run_cli(capsys, ["export", str(run), "-o", str(tmp_path / "own.safetensors")])
    assert code == 0, err


def test_resume_refuses_a_change_of_layer_norm(data, tmp_path, capsys):  # noqa: F811
    run = tmp_path / "run"
    base = _command("lm", data, run)
    k = base.index("--epochs")
    command = base[:k] + base[k + 2 :] + ["--epochs", "2"]
    code, _, err = run_cli(capsys, command + ["--layer-norm", "--max-steps", "1"])
    assert code == 0, err
    code, _, err = run_cli(capsys, command + ["--resume"])
    assert code != 0 and "--layer-norm (lm_config.layer_norm): True then, False now" in err, err
    code, _, err = run_cli(capsys, command + ["--layer-norm", "--resume"])
    assert code == 0, err


def test_gradflow_runs_layer_norm_cells(capsys):
    code, out, err = run_cli(capsys, ["gradflow", "--cell", "lstm", "--layer-norm", "--steps", "12", "--hidden", "6"])
    assert code == 0 and "layer-normalized LSTM" in out, err
    ln = out
    code, plain, err = run_cli(capsys, ["gradflow", "--cell", "lstm", "--steps", "12", "--hidden", "6"])
    assert code == 0 and plain.splitlines()[1:] != out.splitlines()[1:]
    code, out, err = run_cli(capsys, ["gradflow", "--all-cells", "--layer-norm", "--steps", "12", "--hidden", "6"])
    assert code == 0 and "layer-normalized Elman RNN, LSTM, GRU" in out, err
    code, both, err = run_cli(capsys, ["gradflow", "--cell", "lstm", "--layer-norm", "--peephole", "--steps", "12",
                                       "--hidden", "6"])
    assert code == 0 and both.splitlines()[1:] != ln.splitlines()[1:], err  # the peepholes change the flow


def test_gradient_flow_and_rtrl_and_torch_module_refuse_or_run_layer_norm():
    from rnnkit.diagnostics import gradient_flow
    from rnnkit.recurrent import LSTM, RNN
    from rnnkit.rtrl import rtrl_gradients
    from rnnkit.rtrl_gated import lstm_rtrl_gradients

    ln = gradient_flow("rnn", steps=10, hidden=5, batch=2, seed=1, layer_norm=True)
    plain = gradient_flow("rnn", steps=10, hidden=5, batch=2, seed=1)
    assert np.isfinite(ln).all() and np.abs(ln - plain).max() > 1e-6
    assert np.isfinite(gradient_flow("gru", steps=10, hidden=5, batch=2, seed=1, layer_norm=True)).all()
    x = np.zeros((4, 1, 2))
    rnn = RNN(2, 3, dtype=np.float64, layer_norm=True)
    lstm = LSTM(2, 3, dtype=np.float64, layer_norm=True)
    with pytest.raises(ValueError, match="Expected the parameters of a cell without layer normalization"):
        rtrl_gradients(rnn.params, x, None, np.zeros((4, 1, 3)))
    with pytest.raises(ValueError, match="Expected the parameters of a cell without layer normalization"):
        lstm_rtrl_gradients(lstm.params, x, None, np.zeros((4, 1, 3)))
    pytest.importorskip("torch")
    from rnnkit.torch_io import to_torch_module

    with pytest.raises(ValueError, match="Expected a layer without layer normalization"):
        to_torch_module(lstm)
