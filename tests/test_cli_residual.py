"""``--residual`` on the four train commands whose models share rnnkit's recurrent stack (lm, tagger, classifier, and
seq2seq's encoder): kept in the checkpoint and rebuilt from it, a checkpoint from before it loads without it, one
clear line with --layers 1, and export --torch refuses it."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.checkpoint import load_checkpoint, save_checkpoint

FAST = ["--epochs", "1", "--progress", "none", "--checkpoint-minutes", "0", "--embed", "6", "--hidden", "6"]
WORDS = "the cat dog sat ran on a mat red big saw log".split()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("residual")
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, int(rng.integers(2, 8)))) for _ in range(40)]
    (d / "text.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "cls.tsv").write_text("".join(f"{'pos' if 'cat' in x else 'neg'}\t{x}\n" for x in lines), encoding="utf-8")
    (d / "tags.txt").write_text("".join(" ".join(f"{w}/{'D' if w in ('the', 'a') else 'N'}" for w in x.split()) + "\n"
                                        for x in lines), encoding="utf-8")
    (d / "pairs.tsv").write_text("".join(f"{x}\t{' '.join(reversed(x.split()))}\n" for x in lines), encoding="utf-8")
    return d


def _command(kind, d, run):
    return {"lm": ["train", "lm", "--train", str(d / "text.txt"), "--bptt", "5", "--batch-size", "4"],
            "classifier": ["train", "classifier", "--train", str(d / "cls.tsv"), "--valid-fraction", "0"],
            "tagger": ["train", "tagger", "--train", str(d / "tags.txt"), "--format", "slash"],
            "seq2seq": ["train", "seq2seq", "--train", str(d / "pairs.tsv")],
            }[kind] + [*FAST, "--run-dir", str(run)]


def _load(kind, path):
    """(the model's config, its recurrent stack: the encoder's for seq2seq)."""
    if kind == "lm":
        from rnnkit.lm.io import load_lm

        model = load_lm(path)[0]
    elif kind == "classifier":
        from rnnkit.classify.task import load_classifier

        model = load_classifier(path)[0]
    elif kind == "tagger":
        from rnnkit.tagging.io import load_tagger

        model = load_tagger(path)[0]
    else:
        from rnnkit.seq2seq.io import load_translator

        model = load_translator(path).model
        return model.config, model.encoder
    return model.config, model.rnn


KINDS = ["lm", "classifier", "tagger", "seq2seq"]
CONFIG = {"lm": "lm_config", "classifier": "classifier_config", "tagger": "tagger_config", "seq2seq": "seq2seq_config"}


@pytest.mark.parametrize("kind", KINDS)
def test_residual_is_saved_and_old_checkpoints_load_without_it(kind, data, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, _command(kind, data, run) + ["--layers", "3", "--residual"])
    assert code == 0, err
    path = run / "last.safetensors"
    cfg, rnn = _load(kind, path)
    assert cfg.residual is True and rnn.config.residual is True and rnn.config.num_layers == 3
    arrays, meta = load_checkpoint(path)
    assert meta["task"][CONFIG[kind]]["residual"] is True
    del meta["task"][CONFIG[kind]]["residual"]  # as a checkpoint written before --residual existed
    old = save_checkpoint(tmp_path / "old.safetensors", arrays, meta)
    cfg, rnn = _load(kind, old)
    assert cfg.residual is False and rnn.config.residual is False


@pytest.mark.parametrize("kind", KINDS)
def test_residual_with_one_layer_is_one_clear_line(kind, data, tmp_path, capsys):
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, _command(kind, data, run) + ["--layers", "1", "--residual"])
    assert code != 0 and out == "" and "Traceback" not in err
    assert err.strip().splitlines() == [
        "rnnkit: error: --residual has no effect with --layers 1 (it adds each stacked layer's input to its output "
        "from the second layer on): give --layers 2 or more, or leave --residual out"], err
    assert not run.exists()


def test_export_torch_refuses_a_residual_model(data, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, _command("lm", data, run) + ["--layers", "2", "--residual"])
    assert code == 0, err
    out_path = tmp_path / "t.safetensors"
    code, out, err = run_cli(capsys, ["export", str(run), "-o", str(out_path), "--torch"])
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "its recurrent layers have residual connections (--residual), which torch's RNN, LSTM and GRU modules " \
           "do not have; export it with --onnx instead, or without either" in err  # --onnx builds it
    assert not out_path.exists()


def test_a_run_from_before_residual_and_attention_pooling_resumes(data, tmp_path, capsys):
    """Its classifier_config lacks residual and attention_size: read at their defaults, a max-pooling run with
    --hidden 6 resumes (attention_size is not set from --hidden unless attention pools)."""
    run = tmp_path / "run"
    command = _command("classifier", data, run) + ["--layers", "2", "--epochs", "2"]
    code, _, err = run_cli(capsys, command + ["--max-steps", "1"])
    assert code == 0, err
    arrays, meta = load_checkpoint(run / "last.safetensors")
    assert meta["task"]["classifier_config"]["attention_size"] == 100  # the default: not --hidden's 6
    for field in ("residual", "attention_size"):
        del meta["task"]["classifier_config"][field]
    save_checkpoint(run / "last.safetensors", arrays, meta)
    code, _, err = run_cli(capsys, command + ["--resume"])
    assert code == 0, err
    code, _, err = run_cli(capsys, command[:-2] + ["--epochs", "3", "--resume", "--residual"])
    assert code != 0 and "--residual (classifier_config.residual): False then, True now" in err, err
