"""``--peephole`` on train lm, classifier and tagger: kept in the checkpoint with its weight_ci/cf/co parameters and
rebuilt from it, a checkpoint from before it loads without it, one clear line with another cell, and export --torch
refuses it."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import run_cli
from test_cli_residual import _command, _load

from rnnkit.checkpoint import load_checkpoint, save_checkpoint

KINDS = ["lm", "classifier", "tagger"]
CONFIG = {"lm": "lm_config", "classifier": "classifier_config", "tagger": "tagger_config"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("peephole")
    rng = np.random.default_rng(0)
    words = "the cat dog sat ran on a mat red big saw log 猫 狗".split()
    lines = [" ".join(rng.choice(words, int(rng.integers(2, 8)))) for _ in range(40)]
    (d / "text.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "cls.tsv").write_text("".join(f"{'pos' if 'cat' in x else 'neg'}\t{x}\n" for x in lines), encoding="utf-8")
    (d / "tags.txt").write_text("".join(" ".join(f"{w}/{'D' if w in ('the', 'a') else 'N'}" for w in x.split()) + "\n"
                                        for x in lines), encoding="utf-8")
    (d / "pairs.tsv").write_text("".join(f"{x}\t{' '.join(reversed(x.split()))}\n" for x in lines), encoding="utf-8")
    return d


@pytest.mark.parametrize("kind", KINDS)
def test_peephole_is_saved_and_old_checkpoints_load_without_it(kind, data, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, _command(kind, data, run) + ["--layers", "2", "--peephole"])
    assert code == 0, err
    path = run / "last.safetensors"
    cfg, rnn = _load(kind, path)
    assert cfg.peephole is True and rnn.config.peephole is True
    arrays, meta = load_checkpoint(path)
    assert meta["task"][CONFIG[kind]]["peephole"] is True
    peep = [k for k in arrays if k.startswith("model/rnn.weight_c")]
    assert len(peep) == 3 * 2 * rnn.num_directions, peep  # weight_ci, weight_cf, weight_co per layer and direction
    np.testing.assert_array_equal(rnn.params["weight_co_l1"], arrays["model/rnn.weight_co_l1"])  # loaded back
    plain = {k: v for k, v in arrays.items() if not k.startswith("model/rnn.weight_c")}
    del meta["task"][CONFIG[kind]]["peephole"]  # as a checkpoint written before --peephole existed
    old = save_checkpoint(tmp_path / "old.safetensors", plain, meta)
    cfg, rnn = _load(kind, old)
    assert cfg.peephole is False and rnn.config.peephole is False


def test_a_peephole_language_model_scores_text(data, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, _command("lm", data, run) + ["--peephole"])
    assert code == 0, err
    code, out, err = run_cli(capsys, ["score", str(run / "last.safetensors"), str(data / "text.txt")])
    assert code == 0 and "Traceback" not in err, err
    assert out.strip()


@pytest.mark.parametrize("kind", [*KINDS, "seq2seq"])
def test_peephole_with_another_cell_is_one_clear_line(kind, data, tmp_path, capsys):
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, _command(kind, data, run) + ["--cell", "gru", "--peephole"])
    assert code != 0 and out == "" and "Traceback" not in err
    assert err.strip().splitlines() == [
        "rnnkit: error: --peephole has no effect with --cell gru (peepholes read an LSTM's cell c): give --cell lstm, "
        "or leave --peephole out"], err
    assert not run.exists()


def test_export_torch_refuses_a_peephole_model(data, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, _command("classifier", data, run) + ["--peephole"])
    assert code == 0, err
    out_path = tmp_path / "t.safetensors"
    code, out, err = run_cli(capsys, ["export", str(run), "-o", str(out_path), "--torch"])
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "it is a peephole LSTM (--peephole), and torch has no peephole LSTM module; export it with --onnx instead " \
           "(ONNX's LSTM operator has peepholes), or without either" in err, err
    assert not out_path.exists()
    code, _, err = run_cli(capsys, ["export", str(run), "-o", str(tmp_path / "own.safetensors")])
    assert code == 0, err


def test_resume_refuses_a_change_of_peephole(data, tmp_path, capsys):
    run = tmp_path / "run"
    base = _command("lm", data, run)
    k = base.index("--epochs")
    command = base[:k] + base[k + 2 :] + ["--epochs", "2"]
    code, _, err = run_cli(capsys, command + ["--peephole", "--max-steps", "1"])
    assert code == 0, err
    code, _, err = run_cli(capsys, command + ["--resume"])
    assert code != 0 and "--peephole (lm_config.peephole): True then, False now" in err, err
    code, _, err = run_cli(capsys, command + ["--peephole", "--resume"])
    assert code == 0, err


def test_gradflow_runs_a_peephole_lstm_and_refuses_another_cell(capsys):
    code, out, err = run_cli(capsys, ["gradflow", "--cell", "lstm", "--peephole", "--steps", "12", "--hidden", "6"])
    assert code == 0 and "LSTM with peepholes" in out, err
    code, out, err = run_cli(capsys, ["gradflow", "--cell", "rnn", "--peephole"])
    assert code != 0 and out == "" and err.strip().count("\n") == 0
    assert "--peephole has no effect with --cell rnn" in err, err


def test_a_peephole_seq2seq_model_has_them_in_encoder_and_decoder_and_translates(data, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, _command("seq2seq", data, run) + ["--cell", "lstm", "--layers", "2", "--peephole"])
    assert code == 0, err
    path = run / "last.safetensors"
    cfg, encoder = _load("seq2seq", path)
    assert cfg.peephole is True and encoder.config.peephole is True
    arrays, meta = load_checkpoint(path)
    assert meta["task"]["seq2seq_config"]["peephole"] is True
    peep = sorted(k for k in arrays if ".weight_c" in k)
    assert len([k for k in peep if k.startswith("model/encoder.")]) == 3 * 2 * 2, peep  # 2 layers, 2 directions
    assert [k for k in peep if k.startswith("model/decoder.")] == [
        f"model/decoder.weight_c{g}_l{k}" for g in "fio" for k in (0, 1)], peep
    code, out, err = run_cli(capsys, ["translate", str(path), str(data / "text.txt")])
    assert code == 0 and out.strip(), err
    plain = {k: v for k, v in arrays.items() if ".weight_c" not in k}
    del meta["task"]["seq2seq_config"]["peephole"]  # as a checkpoint written before --peephole existed
    old = save_checkpoint(tmp_path / "old.safetensors", plain, meta)
    cfg, encoder = _load("seq2seq", old)
    assert cfg.peephole is False and encoder.config.peephole is False
