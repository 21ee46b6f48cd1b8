"""An option that would have no effect where it is given is refused, naming it, before any data is
read; the same option where it acts is accepted.  ``given_options`` tells a written option from a
default one, even when the value written is the default."""
from __future__ import annotations

import pytest
from clirun import run_cli

from rnnkit.cli.given import given_options
from rnnkit.cli.main import build_parser


def test_given_options_tells_written_options_from_defaults():
    parser = build_parser()
    # 4.0 is --div-value's default: written, it still counts as given
    given = given_options(parser, ["train", "lm", "--train", "x", "--div-value", "4", "--variational"])
    assert {"div_value", "variational"} <= given
    assert not given & {"class_power", "eval_batch_size", "dropout", "layers"}
    assert given_options(parser, ["--threads", "1", "translate", "m", "--plot-dir", "d"]) >= {"threads", "plot_dir"}
    # the parser's defaults are restored
    assert parser.parse_args(["train", "lm", "--train", "x"]).div_value == 4.0


LM = ["train", "lm", "--train", "MISSING.txt", "--layers", "1"]
TAGGER = ["train", "tagger", "--train", "MISSING.conllu"]
CLASSIFIER = ["train", "classifier", "--train", "MISSING.tsv"]
SEQ2SEQ = ["train", "seq2seq", "--train", "MISSING.tsv"]

REFUSED = [
    (LM + ["--div-value", "2"], "--div-value", "--softmax adaptive"),
    (LM + ["--class-power", "0.5"], "--class-power", "--softmax class"),
    (LM + ["--decay-start", "3"], "--decay-start", "--schedule decay_after"),
    (LM + ["--schedule", "exp", "--step-size", "2"], "--step-size", "--schedule step"),
    (LM + ["--dropout-hidden", "0.3"], "--dropout-hidden", "--layers 1"),
    (LM + ["--variational"], "--variational", "--dropout"),
    (LM + ["--variational", "--dropout-hidden", "0.2"], "--dropout-hidden", "--layers 1"),
    (LM + ["--dropout", "0.3", "--dropout-input", "0.1", "--dropout-output", "0.1"], "--dropout",
     "its own rate (--dropout-input, --dropout-output): leave one of those out"),  # one layer: no hidden dropout
    (["train", "lm", "--train", "MISSING.txt", "--layers", "2", "--dropout", "0.3", "--dropout-input", "0.1",
      "--dropout-output", "0.1", "--dropout-hidden", "0.2"], "--dropout", "(--dropout-input, --dropout-output, "
     "--dropout-hidden): leave one"),
    (LM + ["--eval-batch-size", "10"], "--eval-batch-size", "--valid"),  # the default value, written
    (LM + ["--test-batch-size", "4"], "--test-batch-size", "--test"),
    (TAGGER + ["--word-column", "1"], "--word-column", "--format columns"),
    (TAGGER + ["--char-embed", "10"], "--char-embed", "--char-features"),
    (TAGGER + ["--char-hidden", "10"], "--char-hidden", "--char-features"),
    (TAGGER + ["--max-chars", "5"], "--max-chars", "--char-features"),
    (TAGGER + ["--bigram-embed", "10"], "--bigram-embed", "--bigrams"),
    (TAGGER + ["--feature-embed", "10"], "--feature-embed", "--feature-columns"),
    (TAGGER + ["--min-count", "2", "--singleton-unk", "0.5"], "--singleton-unk", "--min-count 1"),
    (CLASSIFIER + ["--fold-seed", "3"], "--fold-seed", "--folds"),
    (CLASSIFIER + ["--valid", "v.tsv", "--valid-fraction", "0.2"], "--valid-fraction", "--valid"),
    (CLASSIFIER + ["--valid-pos", "p", "--valid-neg", "n", "--valid-fraction", "0.2"], "--valid-fraction", "--valid"),
    (CLASSIFIER + ["--valid-fraction", "0", "--select-by", "macro_f1"], "--select-by", "without validation data"),
    (["train", "classifier", "--format", "polarity", "--pos", "p", "--neg", "n", "--header"], "--header",
     "--format polarity"),
    (SEQ2SEQ + ["--beam", "5"], "--beam", "--test"),
    (SEQ2SEQ + ["--replace-unk"], "--replace-unk", "--test"),
    (SEQ2SEQ + ["--length-norm", "0.6"], "--length-norm", "--test"),
    (SEQ2SEQ + ["--test", "t.tsv", "--length-norm", "0.6"], "--length-norm", "--beam 1"),
    (SEQ2SEQ + ["--max-decode-len", "20"], "--max-decode-len", "--valid or --test"),
    (SEQ2SEQ + ["--valid", "v.tsv", "--bleu-sentences", "0", "--max-decode-len", "20"], "--max-decode-len",
     "--valid or --test"),
    (SEQ2SEQ + ["--bleu-sentences", "10"], "--bleu-sentences", "--valid"),
    (SEQ2SEQ + ["--eval-batch-size", "4"], "--eval-batch-size", "--valid or --test"),
    (["train", "seq2seq", "--train", "a.de", "a.en", "--columns", "1,2"], "--columns", "TSV"),
]


def test_given_options_handles_options_that_add_to_their_default():
    """append, extend and count start from their default: a marker object there made argparse fail."""
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--tag", action="append", default=["a"])
    parser.add_argument("--more", action="extend", nargs="+", default=[])
    parser.add_argument("-v", action="count", default=0)
    parser.add_argument("--n", type=int, default=3)
    assert given_options(parser, []) == set()
    assert given_options(parser, ["--tag", "b", "-vv"]) == {"tag", "v"}
    assert given_options(parser, ["--more", "x", "y", "--n", "3"]) == {"more", "n"}
    assert parser.get_default("tag") == ["a"] and parser.get_default("v") == 0  # defaults restored


def test_tie_with_another_embedding_size_is_refused_before_the_data_is_read(tmp_path, capsys):
    code, _, err = run_cli(capsys, LM + ["--tie", "--embed", "50", "--hidden", "64", "--run-dir", str(tmp_path)])
    assert code == 2 and err.count("\n") == 1 and "MISSING" not in err, err
    assert "--embed must equal --hidden (64), got --embed 50: leave --embed out or give --embed 64" in err, err


def test_tie_with_the_adaptive_softmax_is_refused_before_the_data_is_read(tmp_path, capsys):
    code, _, err = run_cli(capsys, LM + ["--tie", "--softmax", "adaptive", "--run-dir", str(tmp_path)])
    assert code == 2 and err.count("\n") == 1 and "MISSING" not in err, err
    assert "--softmax adaptive has none (a head and projected tail clusters): drop --tie, or use --softmax full" in err


def test_adaptive_cutoffs_beyond_the_vocabulary_say_the_option_and_the_size(tmp_path, capsys):
    train = tmp_path / "train.txt"
    train.write_text("the cat sat on the mat\n" * 120, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(train), "--softmax", "adaptive", "--cutoffs",
                                    "3,9000", "--run-dir", str(tmp_path / "run")])
    assert code == 2 and err.count("\n") == 1, err
    assert (f"--cutoffs 3,9000: the last bound must be below the vocabulary's 7 tokens (5 word types + <unk>, "
            f"<eos>) of {train}; give smaller bounds, or leave --cutoffs out for the default") in err, err


@pytest.mark.parametrize("argv,option,fix", REFUSED, ids=[f"{a[1]} {o}" for a, o, _ in REFUSED])
def test_an_option_without_effect_is_refused_before_the_data_is_read(argv, option, fix, tmp_path, capsys):
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(tmp_path / "run")])
    assert code == 2
    assert err.count("\n") == 1 and f"{option} has no effect" in err and fix in err and f"leave {option} out" in err
    assert "MISSING" not in err  # refused before the (missing) training file is looked for


ACCEPTED = [  # the same options where they act get past the check, to the missing training file
    LM + ["--softmax", "adaptive", "--div-value", "2"],
    LM + ["--softmax", "class", "--class-power", "0.5"],
    LM + ["--schedule", "decay_after", "--decay-start", "3"],
    LM + ["--schedule", "step", "--step-size", "2"],
    ["train", "lm", "--train", "MISSING.txt", "--layers", "2", "--dropout-hidden", "0.3"],
    LM + ["--variational", "--dropout", "0.2"],
    TAGGER + ["--char-features", "--char-embed", "10", "--max-chars", "5"],
    TAGGER + ["--bigrams", "--bigram-embed", "10"],
    CLASSIFIER + ["--folds", "3", "--fold-seed", "3"],
    CLASSIFIER + ["--select-by", "macro_f1"],  # the held-out part validates
    SEQ2SEQ + ["--test", "t.tsv", "--beam", "3", "--length-norm", "0.6", "--replace-unk"],
    SEQ2SEQ + ["--columns", "1,2"],
]


@pytest.mark.parametrize("argv", ACCEPTED, ids=[" ".join(a[1:2] + a[4:]) for a in ACCEPTED])
def test_the_same_option_where_it_acts_is_accepted(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("rnnkit.metrics.translation.check_bleu_tokenize", lambda name: None)  # sacrebleu aside
    code, _, err = run_cli(capsys, argv + ["--run-dir", str(tmp_path / "run")])
    assert code == 2 and "MISSING" in err and "has no effect" not in err


def test_decoding_options_that_cannot_act_together(tmp_path, capsys):
    model = str(tmp_path / "MISSING.safetensors")
    for argv, words in ((["translate", model, "--length-norm", "0.6"], "--length-norm has no effect with --beam 1"),
                        (["translate", model, "--plot-dir", "d"], "--plot-dir has no effect without --plot-attention"),
                        (["translate", model, "--min-len", "20", "--max-len", "5"],
                         "--min-len 20 is above --max-len 5"),
                        (["curves", str(tmp_path), "--dpi", "300"], "--dpi has no effect without --output")):
        code, _, err = run_cli(capsys, argv)
        assert code == 2 and words in err, err
