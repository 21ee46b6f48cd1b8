"""The language-model commands end to end on tiny files: train lm, evaluate, generate (their one-line errors,
refusals and warnings: test_cli_lm_errors.py)."""
from __future__ import annotations

import json
import re
import math

import numpy as np
import pytest
from lmrun import EN, ZH, _train, _write

from rnnkit.cli.main import main


def test_chinese_characters_train_evaluate_generate(tmp_path, capsys):
    code, train, valid = _train(tmp_path, ZH, "char")
    assert code == 0
    out = capsys.readouterr()
    assert re.search(r"^test: [0-9.]+ bits/char \(perplexity [0-9.]+\), loss [0-9.]+ nats/char over [0-9,]+ characters",
                     out.out, re.M), out.out
    model = str(tmp_path / "run" / "best.safetensors")
    assert main(["evaluate", model, valid, "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["tokens"] > 0 and m["bits"] > 0
    assert main(["generate", model, "--prime", "床前", "--length", "30", "--seed", "3"]) == 0
    a = capsys.readouterr().out
    assert main(["generate", model, "--prime", "床前", "--length", "30", "--seed", "3"]) == 0
    b = capsys.readouterr().out
    assert a == b and a.startswith("床前") and len(a.strip()) >= 30
    assert set(a.strip()) <= set(ZH)


def test_word_level_with_class_softmax_and_top_k(tmp_path, capsys):
    code, train, valid = _train(tmp_path, EN, "word", extra=["--softmax", "class", "--classes", "3"])
    assert code == 0
    assert "test: perplexity" in capsys.readouterr().out
    model = str(tmp_path / "run" / "best.safetensors")
    assert main(["evaluate", model, valid]) == 0
    assert "perplexity" in capsys.readouterr().out
    assert main(["generate", model, "--prime", "the", "--length", "20", "--top-k", "2", "--seed", "1"]) == 0
    captured = capsys.readouterr()
    words = captured.out.split()
    assert words[0] == "the" and len(words) >= 10 and "note:" not in captured.err
    assert main(["generate", model, "--prime", "the zebra quux zebra", "--length", "5", "--seed", "1"]) == 0
    err = capsys.readouterr().err  # an unknown prime word is said, not silently read as <unk>
    assert "2 --prime token type(s) not in the model's vocabulary, read as <unk>: 'zebra', 'quux'" in err, err


def test_word_level_with_adaptive_softmax(tmp_path, capsys):
    from rnnkit.lm.adaptive_softmax import AdaptiveSoftmax
    from rnnkit.lm.io import load_lm

    code, train, valid = _train(tmp_path, EN, "word", extra=["--softmax", "adaptive", "--cutoffs", "3,6",
                                                              "--div-value", "2"])
    assert code == 0
    test_line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("test: perplexity"))
    model = str(tmp_path / "run" / "best.safetensors")
    m, vocab, _, _ = load_lm(model)
    assert m.config.cutoffs == (3, 6) and isinstance(m.factored, AdaptiveSoftmax)
    # a tail projection of less than one unit is said in the options' names, before training
    code, _, _ = _train(tmp_path, EN, "word", run="tiny", extra=["--softmax", "adaptive", "--cutoffs", "3,6",
                                                               "--div-value", "5"])
    err = capsys.readouterr().err
    assert code == 2 and ("rnnkit: error: --softmax adaptive: tail cluster 2 projects to --hidden / --div-value^2 = "
                          "16 / 5^2, less than 1 unit; lower --div-value (to 4 or less)") in err, err
    assert "div_value" not in err and not (tmp_path / "tiny" / "metrics.jsonl").exists()
    assert m.params["decoder.tail.0.0.weight"].shape == (8, 16)  # 16 / 2
    # ids sorted by falling training frequency: the shortlist is the three most frequent tokens
    counts = [(EN.split() + ["<eos>"] * EN.count("\n")).count(vocab.tokens[i]) for i in range(len(vocab))]
    assert vocab.tokens[0] == "the" and counts == sorted(counts, reverse=True), counts
    assert main(["evaluate", model, valid, "--json", "--bptt", "8"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert f"perplexity {m['ppl']:.2f}, loss {m['loss']:.4f} " in test_line, (m, test_line)
    assert main(["generate", model, "--prime", "the", "--length", "20", "--seed", "1"]) == 0
    words = capsys.readouterr().out.split()
    assert words[0] == "the" and len(words) >= 10 and set(words) <= set(EN.split())
    for bad, what in [("5,3", "increasing"), ("0", "increasing"), ("2,x", "increasing")]:
        with pytest.raises(SystemExit) as exit_:
            main(["train", "lm", "--train", train, "--softmax", "adaptive", "--cutoffs", bad,
                  "--run-dir", str(tmp_path / "bad")])
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_.value.code == 2 and len(err) == 1 and "--cutoffs" in err[0] and what in err[0], err
    code = main(["train", "lm", "--train", train, "--softmax", "adaptive", "--cutoffs", "3,50", "--bptt", "8",
                 "--run-dir", str(tmp_path / "bad")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and "cutoffs" in err[-1], err
    assert "below the vocabulary's 10 tokens (8 word types + <unk>, <eos>)" in err[-1], err


def test_dropout_per_location_overrides_dropout(tmp_path, capsys):
    from rnnkit.checkpoint import load_checkpoint

    code, _, _ = _train(tmp_path, EN, "word", extra=["--layers", "2", "--dropout", "0.3", "--dropout-input", "0",
                                                      "--dropout-output", "0.1"])
    assert code == 0
    capsys.readouterr()
    _, meta = load_checkpoint(tmp_path / "run" / "best.safetensors")
    cfg = meta["task"]["lm_config"]
    assert (cfg["dropout_input"], cfg["dropout_hidden"], cfg["dropout_output"]) == (0.0, 0.3, 0.1)
    with pytest.raises(SystemExit) as exit_:
        main(["train", "lm", "--train", str(tmp_path / "train.txt"), "--dropout-hidden", "1.5",
              "--run-dir", str(tmp_path / "bad")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and "--dropout-hidden" in err[0] and "1.5" in err[0], err


def test_weight_drop_is_recorded_and_training_differs(tmp_path, capsys):
    from rnnkit.checkpoint import load_checkpoint

    runs = {}
    for wd in ("0", "0.4"):
        code, _, _ = _train(tmp_path, EN, "word", run=f"wd{wd}", extra=["--weight-drop", wd, "--layers", "2"])
        assert code == 0
        arrays, meta = load_checkpoint(tmp_path / f"wd{wd}" / "last.safetensors")
        assert meta["task"]["lm_config"]["weight_drop"] == float(wd)
        runs[wd] = arrays["model/rnn.weight_hh_l1"]
    assert not np.allclose(runs["0"], runs["0.4"])  # the masks changed the updates
    capsys.readouterr()


def test_train_lm_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "lm", "--help"])
    text = capsys.readouterr().out
    for opt in ("--bptt", "--softmax", "--tie", "--schedule", "--resume", "--jitter", "--init-scale"):
        assert opt in text
    assert "(default: 35)" in text


def test_a_new_run_in_a_used_folder_never_reports_the_old_model(tmp_path, capsys):
    """Retraining into a run folder without --valid used to keep the earlier run's best.safetensors,
    announce it as the saved model and score --test with it; a new run removes it (and the old last)."""
    code, train, valid = _train(tmp_path, EN, "word")
    assert code == 0 and (tmp_path / "run" / "best.safetensors").exists()
    capsys.readouterr()
    args = ["train", "lm", "--train", train, "--test", valid, "--hidden", "12", "--layers", "1", "--batch-size", "2",
            "--bptt", "8", "--epochs", "1", "--progress", "none", "--run-dir", str(tmp_path / "run")]
    assert main(args) == 0
    out, err = capsys.readouterr()
    run = tmp_path / "run"
    assert not (run / "best.safetensors").exists()
    # said even with --progress none: files were deleted (once this run had saved a checkpoint)
    assert "the earlier run's best.safetensors and last.safetensors go when this run saves its first" in err, err
    assert not list(run.glob(".*.earlier")), list(run.iterdir())
    # the metrics log is strict JSON even without validation data (valid_loss null, not NaN)
    for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in {line}"))
        assert record.get("valid_loss", None) is None, line
    from rnnkit.train.curves import read_run

    assert math.isnan(read_run(run).epochs[0]["valid_loss"])  # read back as NaN, as before
    assert f"model saved: {run / 'last.safetensors'}" in err, err
    assert main(["evaluate", str(run / "last.safetensors"), valid, "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    said = f"test: perplexity {m['ppl']:.2f}, loss {m['loss']:.4f} nats/token"
    assert said in out, (out, m)  # --test was scored with this run's model, and said as evaluate says it


def test_train_test_scores_every_token_like_evaluate(tmp_path, capsys):
    """--test used the validation streams (--eval-batch-size), which leave each stream's first token and the
    tail unpredicted; it now scores one stream from <eos>, every token, the figure 'rnnkit evaluate' gives."""
    code, train, valid = _train(tmp_path, EN, "word", extra=("--eval-batch-size", "3"))
    assert code == 0
    out = capsys.readouterr().out
    n_tokens = len(EN[: len(EN) // 4].split()) + EN[: len(EN) // 4].count("\n")  # words and <eos>
    assert f"over {n_tokens:,} tokens" in out, (out, n_tokens)
    assert main(["evaluate", str(tmp_path / "run" / "best.safetensors"), valid, "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["tokens"] == n_tokens and f"test: perplexity {m['ppl']:.2f}, loss {m['loss']:.4f} " in out, (out, m)
    assert main(["evaluate", str(tmp_path / "run" / "best.safetensors"), valid]) == 0
    assert capsys.readouterr().out.split(": ", 1)[1] in out  # the same words and figures as evaluate's


@pytest.mark.parametrize("optimizer, lr", [("adam", 0.001), ("adagrad", 0.01), ("sgd", 1.0)])
def test_another_optimizer_without_lr_gets_its_usual_rate(tmp_path, capsys, optimizer, lr):
    """train lm's default --lr 1.0 is SGD's: --optimizer adam kept it and diverged at once."""
    from rnnkit.checkpoint import load_meta

    train = _write(tmp_path, "t.txt", EN)
    args = ["train", "lm", "--train", train, "--hidden", "8", "--batch-size", "2", "--bptt", "8", "--epochs", "1",
            "--optimizer", optimizer, "--progress", "none", "--run-dir", str(tmp_path / "r")]
    assert main(args) == 0, capsys.readouterr().err
    assert load_meta(tmp_path / "r" / "last.safetensors")["train_config"]["lr"] == lr
    assert main([*args, "--lr", "0.02"]) == 0  # given, it is kept
    assert load_meta(tmp_path / "r" / "last.safetensors")["train_config"]["lr"] == 0.02


def test_epoch_lines_without_validation_show_no_nan(tmp_path, capsys):
    train = _write(tmp_path, "t.txt", EN)
    code = main(["train", "lm", "--train", train, "--hidden", "8", "--batch-size", "2", "--bptt", "8", "--epochs", "2",
                 "--progress", "lines", "--run-dir", str(tmp_path / "r")])
    out, err = capsys.readouterr()
    lines = [line for line in (out + err).splitlines() if "epoch 2 done" in line]
    assert code == 0 and lines and "nan" not in out + err and "valid" not in lines[0], out + err
