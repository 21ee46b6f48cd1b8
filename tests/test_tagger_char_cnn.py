"""The tagger with character-CNN features (--char-encoder cnn): gradients, training, checkpoints, the CLI."""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from clirun import run_cli, write_conllu
from test_cli_tagging import _pos_sentences
from test_tagger_model import K, LENGTHS, V, _batch, _check_grads, _toy_corpus

from rnnkit.checkpoint import load_checkpoint
from rnnkit.tagging.io import DataSpec, load_tagger, tagger_meta
from rnnkit.tagging.model import Tagger, TaggerConfig
from rnnkit.tagging.task import TaggerEncoder, TaggerTask, predict_ids
from rnnkit.train import TrainConfig, Trainer

FAST = ["--embed", "8", "--hidden", "8", "--batch-size", "4", "--dropout", "0.1", "--progress", "none",
        "--checkpoint-minutes", "0"]


def _cnn_model(output, dtype="float64"):
    cfg = TaggerConfig(vocab_size=V, num_tags=K, embedding_dim=5, char_vocab_size=6, char_embedding_dim=3,
                       char_encoder="cnn", char_filters=4, char_window=3, bigram_vocab_size=7,
                       bigram_embedding_dim=3, feature_vocab_sizes=(5,), feature_embedding_dim=2, hidden_size=4,
                       num_layers=2, output=output, dropout=0.3, dtype=dtype)
    return Tagger(cfg, np.random.default_rng(1))


@pytest.mark.parametrize("output", ["softmax", "crf"])
def test_whole_tagger_with_char_cnn_matches_finite_differences(output):
    """Chars (CNN, dropout on its characters), bigrams, a feature column, 2 layers, a fixed mask stream."""
    rng = np.random.default_rng(6)
    model = _cnn_model(output)
    assert model.params["char_cnn.weight"].shape == (4, 3, 3) and model.char_rnn is None
    assert not any(k.startswith("char_rnn.") for k in model.params)
    assert model.params["rnn.weight_ih_l0"].shape[1] == 5 + 4 + 6 + 2  # word, char CNN (F), bigrams, feature
    batch = _batch(rng)
    assert batch.chars.lengths.min() == 1 and len(set(batch.chars.lengths.tolist())) > 2  # "c": one character

    def f():
        return 0.67 * model.loss(batch, training=True, rng=np.random.default_rng(8))[0]

    _, cache = model.loss(batch, training=True, rng=np.random.default_rng(8))
    _check_grads(model, f, model.backward(0.67, cache), rng)
    assert LENGTHS.min() < LENGTHS.max()  # padded tokens in the batch


def test_char_encoder_config_checks_and_old_checkpoints_are_bilstm():
    old = {k: v for k, v in Tagger(TaggerConfig(V, K, char_vocab_size=6), np.random.default_rng(0)).config.to_dict()
           .items() if k not in ("char_encoder", "char_filters", "char_window")}
    assert TaggerConfig(**old).char_encoder == "bilstm" and TaggerConfig(**old).input_size == 100 + 2 * 25
    assert TaggerConfig(V, K, char_vocab_size=6, char_encoder="cnn", char_filters=7).input_size == 100 + 7
    with pytest.raises(ValueError, match=r"Expected char_encoder one of \('bilstm', 'cnn'\), got 'lstm'"):
        TaggerConfig(V, K, char_vocab_size=6, char_encoder="lstm")
    for name in ("char_filters", "char_window"):
        with pytest.raises(ValueError, match=name):
            TaggerConfig(V, K, char_vocab_size=6, char_encoder="cnn", **{name: 0})
        TaggerConfig(V, K, char_vocab_size=6, **{name: 0})  # the BiLSTM never reads them
    with pytest.raises(ValueError, match="char_dropout"):
        TaggerConfig(V, K, char_vocab_size=6, char_encoder="cnn", char_dropout=1.0)


@pytest.mark.parametrize("dropout, char_dropout", [(0.3, None), (0.0, 0.5), (0.5, 0.0)])
def test_char_dropout_is_its_own_rate_or_dropouts(dropout, char_dropout, monkeypatch):
    """The CNN's characters are dropped at ``char_dropout``, or at ``dropout`` when it is None."""
    import rnnkit.tagging.model as tagger_model

    cfg = TaggerConfig(V, K, char_vocab_size=6, char_embedding_dim=3, char_encoder="cnn", char_filters=4,
                       dropout=dropout, char_dropout=char_dropout, dtype="float64")
    model = Tagger(cfg, np.random.default_rng(0))
    batch = _batch(np.random.default_rng(1), bigrams=False, features=False)
    rates = []
    forward = tagger_model.char_cnn_forward
    monkeypatch.setattr(tagger_model, "char_cnn_forward", lambda *a: rates.append(a[5]) or forward(*a))
    model.scores(batch, training=True, rng=np.random.default_rng(2))
    assert rates == [dropout if char_dropout is None else char_dropout]


def test_short_training_run_learns_and_checkpoint_round_trips(tmp_path):
    rng = np.random.default_rng(5)
    train, valid = _toy_corpus(rng, 120), _toy_corpus(rng, 30)
    enc = TaggerEncoder.build(train, char_features=True, lowercase=True)
    cfg = TaggerConfig(len(enc.words), len(enc.tags), embedding_dim=8, char_vocab_size=len(enc.chars),
                       char_embedding_dim=6, char_encoder="cnn", char_filters=6, hidden_size=8, output="crf",
                       dropout=0.1)
    model = Tagger(cfg, np.random.default_rng(0))
    task = TaggerTask(model, enc, enc.encode(train), enc.encode(valid), valid, "accuracy", batch_size=8,
                      meta=tagger_meta(model, enc, DataSpec("conllu", "upos"), "accuracy"))
    before = task.evaluate()
    state = Trainer(task, TrainConfig(epochs=3, optimizer="adam", lr=0.02, progress="none"), tmp_path).fit()
    losses = [h["train_loss"] for h in state.history]
    assert losses[-1] < 0.5 * losses[0], f"train loss per epoch {losses}"
    assert task.evaluate()["accuracy"] > 0.95 > before["accuracy"]
    loaded, enc2, _ = load_tagger(tmp_path / "best.safetensors")
    assert loaded.config.char_encoder == "cnn" and loaded.config.char_filters == 6
    assert set(loaded.params) == set(model.params)
    test = _toy_corpus(rng, 20)
    test.words[0][1] = "Unseen-Word"  # an unknown word: <unk> and its characters
    ids_loaded = predict_ids(loaded, enc2.encode(test))
    model.load_arrays({k: v.copy() for k, v in loaded.params.items()})
    assert predict_ids(model, enc.encode(test)) == ids_loaded


def test_cli_trains_tags_and_refuses_export_to_torch(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    train = write_conllu(tmp_path / "train.conllu", _pos_sentences(rng, 60))
    valid = write_conllu(tmp_path / "dev.conllu", _pos_sentences(rng, 15))
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, ["train", "tagger", "--train", str(train), "--valid", str(valid), "--test",
                                      str(valid), "--crf", "--char-features", "--char-encoder", "cnn",
                                      "--char-filters", "5", "--char-window", "2", "--char-dropout", "0.25",
                                      "--epochs", "3", "--lr", "0.03",
                                      "--run-dir", str(run), *FAST])
    assert code == 0, err
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    losses = [json.loads(line)["train_loss"] for line in lines if '"epoch"' in line]
    model = run / "best.safetensors"
    cfg = load_checkpoint(model)[1]["task"]["tagger_config"]
    assert (cfg["char_encoder"], cfg["char_filters"], cfg["char_window"], cfg["char_embedding_dim"],
            cfg["char_dropout"]) == ("cnn", 5, 2, 30, 0.25)  # --char-embed's default for the CNN: Ma & Hovy's 30
    acc = float(re.search(r"test: token accuracy ([\d.]+)%", out).group(1))
    assert acc > 90, out
    assert len(losses) == 3 and losses[-1] < 0.5 * losses[0], losses
    monkeypatch.setattr("sys.stdin", io.StringIO("the big dog sees a cat\n"))
    code, out, _ = run_cli(capsys, ["tag", str(model)])
    assert code == 0 and out.split()[2] == "dog/NOUN", out
    code, out, err = run_cli(capsys, ["export", str(run), "-o", str(tmp_path / "t.safetensors"), "--torch"])
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "is a tagger with a CRF output layer and character CNN features, which" in err


TAGGER = ["train", "tagger", "--train", "MISSING.conllu"]


@pytest.mark.parametrize("extra, option, fix", [
    (["--char-encoder", "cnn"], "--char-encoder", "without --char-features"),
    (["--char-filters", "10"], "--char-filters", "without --char-features"),
    (["--char-features", "--char-filters", "10"], "--char-filters", "add --char-encoder cnn"),
    (["--char-features", "--char-window", "5"], "--char-window", "add --char-encoder cnn"),
    (["--char-features", "--char-dropout", "0.2"], "--char-dropout", "add --char-encoder cnn"),
    (["--char-dropout", "0.2"], "--char-dropout", "without --char-features"),
    (["--char-features", "--char-encoder", "cnn", "--char-hidden", "10"], "--char-hidden",
     "with --char-encoder cnn"),
])
def test_options_of_the_other_encoder_are_refused(capsys, extra, option, fix):
    code, out, err = run_cli(capsys, TAGGER + extra)
    assert code != 0 and err.count("\n") == 1 and f"{option} has no effect" in err and fix in err, err
    assert "MISSING" not in err


@pytest.mark.parametrize("extra", [["--char-features", "--char-encoder", "cnn", "--char-filters", "10",
                                    "--char-window", "5", "--char-embed", "8", "--max-chars", "12",
                                    "--char-dropout", "0.2"],
                                   ["--char-features", "--char-encoder", "bilstm", "--char-hidden", "10"]])
def test_options_of_the_chosen_encoder_are_accepted(capsys, extra):
    code, _, err = run_cli(capsys, TAGGER + extra)
    assert code != 0 and "MISSING.conllu" in err and "no effect" not in err, err


def test_resuming_with_the_other_encoder_names_the_option():
    from rnnkit.train.digest import task_changes

    bilstm = TaggerConfig(V, K, char_vocab_size=6).to_dict()
    cnn = TaggerConfig(V, K, char_vocab_size=6, char_encoder="cnn").to_dict()
    old = {k: v for k, v in bilstm.items() if k not in ("char_encoder", "char_filters", "char_window")}
    assert task_changes({"tagger_config": old}, {"tagger_config": bilstm}) == []  # written before the option
    assert task_changes({"tagger_config": old}, {"tagger_config": cnn}) == [
        "--char-encoder (tagger_config.char_encoder): 'bilstm' then, 'cnn' now"]
