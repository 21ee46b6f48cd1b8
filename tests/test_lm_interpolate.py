"""Interpolating two language models (`rnnkit evaluate MODEL DATA --interpolate MODEL2`): the mixture's
formula, the fitted weight against a grid search, whole-stream scores against the evaluation, and the CLI."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.cli.main import main
from rnnkit.lm.evaluate import evaluate_stream
from rnnkit.lm.interpolate import fit_weight, mix, stream_log_probs
from rnnkit.lm.model import LanguageModel, LMConfig

WORDS = "the cat sat on a mat dog ran far away".split()


def test_mix_is_the_log_of_the_weighted_sum():
    rng = np.random.default_rng(0)
    a, b = np.log(rng.uniform(1e-6, 1, 50)), np.log(rng.uniform(1e-6, 1, 50))
    for w in (0.0, 0.2, 0.5, 0.93, 1.0):
        np.testing.assert_allclose(mix(a, b, w), np.log(w * np.exp(a) + (1 - w) * np.exp(b)), rtol=1e-12)
    with pytest.raises(ValueError, match="weight"):
        mix(a, b, 1.5)
    with pytest.raises(ValueError, match="same tokens"):
        mix(a, b[:3], 0.5)


def test_fit_weight_finds_the_maximum_likelihood_weight():
    rng = np.random.default_rng(1)
    V, N, true_w = 20, 20000, 0.3
    p_a, p_b = rng.dirichlet(np.ones(V) * 0.3), rng.dirichlet(np.ones(V) * 0.3)
    tokens = rng.choice(V, size=N, p=true_w * p_a + (1 - true_w) * p_b)
    a, b = np.log(p_a[tokens]), np.log(p_b[tokens])
    w, iterations = fit_weight(a, b)
    grid = np.linspace(1e-4, 1 - 1e-4, 9999)
    ll = [mix(a, b, g).mean() for g in grid]
    best = grid[int(np.argmax(ll))]
    assert abs(w - best) < 2e-4 and iterations > 1
    assert mix(a, b, w).mean() >= max(ll) - 1e-9
    assert abs(w - true_w) < 0.03  # and the data's own mixing weight, from 20,000 tokens
    w_a, _ = fit_weight(a + 0.0, a - 5.0)  # B is worse on every token: the weight goes to A
    assert w_a > 1 - 1e-6


def random_lm(V, seed):
    model = LanguageModel(LMConfig(vocab_size=V, embedding_dim=6, hidden_size=8, num_layers=2, dtype="float64"),
                          np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    for v in model.params.values():
        v[...] = rng.uniform(-0.5, 0.5, v.shape)
    return model


def test_stream_scores_carry_the_state_and_equal_the_evaluation():
    V = 9
    model = random_lm(V, 4)
    ids = np.random.default_rng(5).integers(0, V, size=57)
    full = stream_log_probs(model, ids, start_id=1, bptt=100)
    np.testing.assert_allclose(stream_log_probs(model, ids, start_id=1, bptt=4), full, rtol=1e-12)
    m = evaluate_stream(model, ids, batch_size=1, bptt=7, start_id=1)
    assert m["tokens"] == ids.size
    assert -full.mean() == pytest.approx(m["loss"], rel=1e-12)


def write(tmp_path, name, n_lines, seed):
    rng = np.random.default_rng(seed)
    path = tmp_path / name
    path.write_text("\n".join(" ".join(rng.choice(WORDS, size=rng.integers(3, 9))) for _ in range(n_lines)) + "\n",
                    encoding="utf-8")
    return str(path)


def test_cli_tuned_mixture_is_no_worse_than_either_model_on_its_tuning_file(tmp_path, capsys):
    train, valid = write(tmp_path, "train.txt", 200, 0), write(tmp_path, "valid.txt", 30, 1)
    rnn, kn = str(tmp_path / "run" / "last.safetensors"), str(tmp_path / "kn.safetensors")
    assert main(["train", "lm", "--train", train, "--hidden", "12", "--embed", "8", "--layers", "1", "--batch-size", "4",
                 "--bptt", "8", "--epochs", "1", "--progress", "none", "--run-dir", str(tmp_path / "run"),
                 "--optimizer", "adam", "--lr", "0.01"]) == 0
    assert main(["train", "ngram", "--train", train, "--order", "3", "--save", kn]) == 0
    capsys.readouterr()
    assert main(["evaluate", rnn, valid, "--interpolate", kn, "--tune-on", valid, "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert 0 < m["weight"] < 1 and m["tuned_on"] == valid
    assert m["ppl"] <= min(m["model"]["ppl"], m["interpolate"]["ppl"]) + 1e-9
    assert main(["evaluate", rnn, valid, "--json"]) == 0  # the RNN alone, as evaluate scores it
    assert json.loads(capsys.readouterr().out)["ppl"] == pytest.approx(m["model"]["ppl"], rel=1e-5)
    assert main(["evaluate", kn, valid, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ppl"] == pytest.approx(m["interpolate"]["ppl"], rel=1e-12)
    assert main(["evaluate", rnn, valid, "--interpolate", kn, "--weight", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ppl"] == pytest.approx(m["model"]["ppl"], rel=1e-12)
    assert main(["evaluate", rnn, valid, "--interpolate", kn, "--weight", "0.25"]) == 0
    assert "interpolated with weight 0.2500 on the first (given)" in capsys.readouterr().out
    assert main(["evaluate", rnn, valid, "--interpolate", kn]) == 0  # neither --weight nor --tune-on
    out, err = capsys.readouterr()
    assert "interpolated with weight 0.5000 on the first (the default)" in out and "vocabulary" not in err
    other = tmp_path / "other.txt"  # mostly words neither model knows: warned about, as plain evaluate warns
    other.write_text("zebra quokka narwhal okapi the\n" * 5, encoding="utf-8")
    assert main(["evaluate", rnn, str(other), "--interpolate", kn]) == 0
    assert "of its 30 tokens are not in" in capsys.readouterr().err


def test_cli_mixture_errors_are_one_line(tmp_path, capsys):
    train = write(tmp_path, "train.txt", 50, 0)
    kn, small = str(tmp_path / "kn.safetensors"), str(tmp_path / "small.safetensors")
    assert main(["train", "ngram", "--train", train, "--order", "2", "--save", kn]) == 0
    assert main(["train", "ngram", "--train", train, "--order", "2", "--max-vocab", "5", "--save", small]) == 0
    capsys.readouterr()
    cases = [
        (["evaluate", kn, train, "--interpolate", small], "different vocabularies"),
        (["evaluate", kn, train, "--weight", "0.5"], "need --interpolate"),
        (["evaluate", kn, train, "--interpolate", kn, "--weight", "0.5", "--tune-on", train], "not both"),
        (["evaluate", kn, train, "--interpolate", kn, "--weight", "2"], "[0, 1]"),
        # two n-gram models: nothing reads --bptt (it ran, ignoring it)
        (["evaluate", kn, train, "--interpolate", kn, "--bptt", "7"], "and neither is a recurrent one"),
    ]
    for argv, needle in cases:
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and needle in err, (argv, err)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.integers(0, 2**32 - 1), st.floats(0.01, 5.0))
def test_fitted_weight_is_never_worse_than_either_model_or_an_even_mix(n, seed, spread):
    rng = np.random.default_rng(seed)
    a = -rng.exponential(spread, n)  # log-probabilities of n tokens under two models
    b = -rng.exponential(spread, n)
    w, _ = fit_weight(a, b)
    best = mix(a, b, w).mean()
    for other in (a.mean(), b.mean(), mix(a, b, 0.5).mean(), mix(a, b, 0.1).mean(), mix(a, b, 0.9).mean()):
        assert best >= other - 1e-6


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_cli_mixture_reads_its_data_once_so_a_pipe_works_and_vocabulary_orders_may_differ(tmp_path, capsys):
    """DATA was read once per model (a pipe gave the second model nothing: 'the file is empty'); the ids of
    the first model's vocabulary are mapped to the second's, whose order differs (adaptive softmax: by count)."""
    import threading

    train, valid = write(tmp_path, "train.txt", 200, 0), write(tmp_path, "valid.txt", 30, 1)
    rnn, kn = str(tmp_path / "run" / "last.safetensors"), str(tmp_path / "kn.safetensors")
    assert main(["train", "lm", "--train", train, "--hidden", "12", "--embed", "8", "--layers", "1",
                 "--batch-size", "4", "--bptt", "8", "--epochs", "1", "--progress", "none",
                 "--run-dir", str(tmp_path / "run"), "--softmax", "adaptive", "--cutoffs", "5", "--optimizer", "adam",
                 "--lr", "0.01"]) == 0
    assert main(["train", "ngram", "--train", train, "--order", "3", "--save", kn]) == 0
    from rnnkit.lm.io import load_language_model

    assert load_language_model(rnn)[1].tokens != load_language_model(kn)[1].tokens  # same words, other order
    capsys.readouterr()
    assert main(["evaluate", kn, valid, "--interpolate", rnn, "--weight", "0.3", "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    feed = threading.Thread(target=lambda: pipe.write_text(Path(valid).read_text(encoding="utf-8"), encoding="utf-8"))
    feed.start()

    def release():  # a second read of the pipe would wait for a writer for ever: give it one, and EOF
        try:
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # no reader waiting
            pass

    watchdog = threading.Timer(20, release)
    watchdog.start()
    try:
        assert main(["evaluate", kn, str(pipe), "--interpolate", rnn, "--weight", "0.3", "--json"]) == 0
    finally:
        watchdog.cancel()
        feed.join(timeout=10)
    from_pipe = json.loads(capsys.readouterr().out)
    assert from_pipe["ppl"] == from_file["ppl"] and from_pipe["interpolate"] == from_file["interpolate"]
    assert main(["evaluate", rnn, valid, "--json"]) == 0  # the second model through the mapped ids: as alone
    assert json.loads(capsys.readouterr().out)["ppl"] == pytest.approx(from_file["interpolate"]["ppl"], rel=1e-5)
