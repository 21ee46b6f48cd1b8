"""The language-model commands' one-line errors, refusals and warnings: bad files, options and runs, a resume
with other data or options, on tiny files."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from clirun import run_cli
from lmrun import EN, _train, _write

from rnnkit.cli.main import main


@pytest.mark.parametrize(
    "content,words",
    [
        (b"caf\xe9 au lait\n", "not valid UTF-8"),
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"a b\n", "tokens"),  # too short for one batch of 2 streams
    ],
    ids=["cp1252", "empty", "blank", "too-short"],
)
def test_bad_training_files_give_one_line(tmp_path, capsys, content, words):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    code = main(["train", "lm", "--train", str(path), "--level", "word", "--batch-size", "2",
                 "--progress", "none", "--run-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    errors = [line for line in err if line.startswith("rnnkit: error:")]
    assert len(errors) == 1 and err[-1] == errors[0] and words in errors[0], err
    if words != "empty":
        assert str(path) in errors[0]


def test_missing_and_corrupt_model_give_one_line(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "nope.safetensors")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage" * 10)
    assert main(["evaluate", str(bad), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, capsys):
    train = _write(tmp_path, "t.txt", EN)
    code = main(["train", "lm", "--train", train, "--resume", "--batch-size", "2", "--progress", "none",
                 "--run-dir", str(tmp_path / "r")])
    assert code == 2
    assert "no run to resume (no such folder)" in capsys.readouterr().err
    (tmp_path / "r").mkdir()
    missing = str(tmp_path / "not-there.txt")  # said before the data are read: the missing file is not named
    for data in (train, missing):
        code = main(["train", "lm", "--train", data, "--resume", "--progress", "none",
                     "--run-dir", str(tmp_path / "r")])
        err = capsys.readouterr().err
        assert code == 2 and "no checkpoint to resume from" in err and "not-there" not in err, err


def test_resume_with_other_data_or_options_is_refused(tmp_path, capsys):
    """--resume rebuilt the vocabulary from whatever --train said and loaded the trained rows into it, so
    a changed file (even one with as many word types) silently gave words each other's embeddings."""
    code, train, valid = _train(tmp_path, EN, "word", extra=("--checkpoint-minutes", "0"))
    assert code == 0
    capsys.readouterr()
    base = ["train", "lm", "--valid", valid, "--level", "word", "--layers", "1", "--batch-size", "2", "--bptt", "8",
            "--epochs", "3", "--optimizer", "adam", "--lr", "0.01", "--progress", "none", "--run-dir",
            str(tmp_path / "run"), "--resume"]
    same_size = EN.replace("cat", "chat").replace("dog", "chien").replace("mat", "tapis")  # as many types, other words
    other = _write(tmp_path, "other.txt", same_size)
    assert main([*base, "--train", other, "--hidden", "16"]) == 2
    err = capsys.readouterr().err
    # said as the changed data it is, not as the vocabulary it changes (which printed the vocabularies)
    assert "the training data has changed since this run started" in err and "vocab differs" not in err, err
    assert len([line for line in err.splitlines() if "error" in line]) == 1
    assert main([*base, "--train", train, "--hidden", "12"]) == 2
    err = capsys.readouterr().err
    assert "--hidden (lm_config.hidden_size): 16 then, 12 now" in err, err
    # the same words in another order: the vocabulary matches, the data does not (it resumed silently)
    lines = EN.splitlines(keepends=True)
    shuffled = _write(tmp_path, "shuffled.txt", "".join(lines[1:] + lines[:1]))
    assert main([*base, "--train", shuffled, "--hidden", "16"]) == 2
    err = capsys.readouterr().err
    assert "the training data has changed since this run started" in err, err
    assert "(without --resume; in Python, fit(resume=False))" in err, err
    # training options: a changed --lr was overridden by the restored optimizer, silently
    for changed, words in ((["--lr", "0.5"], "--lr (TrainConfig.lr) 0.01 then, 0.5 now"),
                           (["--seed", "3"], "--seed (TrainConfig.seed) 0 then, 3 now"),
                           (["--clip", "1"], "--clip (TrainConfig.clip) 5.0 then, 1.0 now")):
        assert main([*base, "--train", train, "--hidden", "16", *changed]) == 2
        err = capsys.readouterr().err
        assert "other training options" in err and words in err, err
    # batching (the cursor counts rows of the batched stream) and validation (the best so far was measured
    # on it; without it, the earlier best.safetensors would be reported as this run's)
    for changed, words in ((["--batch-size", "3"], "--batch-size 2 then, 3 now"),
                           (["--bptt", "9"], "--bptt 8 then, 9 now"),
                           (["--loss-scale", "batch"], "--loss-scale token then, batch now")):
        assert main([*base, "--train", train, "--hidden", "16", *changed]) == 2
        err = capsys.readouterr().err
        assert words in err, err
    no_valid = [a for a in base if a not in ("--valid", valid)]
    assert main([*no_valid, "--train", train, "--hidden", "16"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"validation data [0-9a-f]{12} then, none now", err), err
    other_valid = _write(tmp_path, "v2.txt", EN)
    assert main([*no_valid, "--valid", other_valid, "--train", train, "--hidden", "16"]) == 2
    assert re.search(r"validation data [0-9a-f]{12} then, [0-9a-f]{12} now", capsys.readouterr().err)
    assert main([*base, "--train", train, "--hidden", "16"]) == 0  # the same data and options resume


def test_evaluate_warns_when_most_tokens_are_unknown_to_the_model(tmp_path, capsys):
    """A word model scored on other text (98% OOV) printed its perplexity without a word."""
    code, train, valid = _train(tmp_path, EN, "word")
    assert code == 0
    other = _write(tmp_path, "other.txt", "zebra yak quokka\nlynx ibis okapi\n" * 20)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run" / "best.safetensors"), other]) == 0
    err = capsys.readouterr().err
    assert "other.txt: 75.0% of its 160 tokens are not in" in err and "the perplexity says little" in err, err
    assert main(["evaluate", str(tmp_path / "run" / "best.safetensors"), valid]) == 0
    assert "says little" not in capsys.readouterr().err


def test_a_short_valid_file_names_the_option_that_fixes_it(tmp_path, capsys):
    """The hint used to say --batch-size/--bptt, which do not change validation batches."""
    train = _write(tmp_path, "train.txt", EN)
    valid = _write(tmp_path, "valid.txt", "the cat\n")
    args = ["train", "lm", "--train", train, "--valid", valid, "--hidden", "8", "--batch-size", "2", "--bptt", "4",
            "--epochs", "1", "--progress", "none", "--run-dir", str(tmp_path / "run")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "valid.txt has 3 tokens; one batch needs 19" in err and "use a smaller --eval-batch-size" in err, err
    assert main([*args, "--eval-batch-size", "1"]) == 0


@pytest.mark.parametrize("level, text, fits", [("char", "abcdefghi", False), ("char", "abcdefghij", True),
                                               ("word", "a b c d e f g h\n", True), ("word", "a b c d e f g\n", False)])
def test_a_valid_file_is_checked_against_what_validation_reads(tmp_path, capsys, level, text, fits):
    """Five validation streams read 10 tokens, at word level the first of them <eos>: a 9-character file
    passed the check (which counted a start that character level does not read) and failed after the first
    epoch, blaming --batch-size; the counts said are the file's own, as evaluate's are."""
    train = _write(tmp_path, "train.txt", EN)
    valid = _write(tmp_path, "valid.txt", text)
    args = ["train", "lm", "--train", train, "--valid", valid, "--level", level, "--hidden", "8", "--batch-size", "2",
            "--bptt", "4", "--epochs", "1", "--eval-batch-size", "5", "--progress", "none", "--run-dir",
            str(tmp_path / "run")]
    code = main(args)
    err = capsys.readouterr().err
    n = len(text) if level == "char" else len(text.split()) + 1
    if fits:
        assert code == 0, err
        assert main(["evaluate", str(tmp_path / "run" / "best.safetensors"), valid, "--batch-size", "5"]) == 0
    else:
        need = 10 if level == "char" else 9
        assert code == 2 and f"valid.txt has {n} tokens; one batch needs {need}: 5 validation streams" in err, err
        assert not (tmp_path / "run" / "last.safetensors").exists()  # refused before training


def test_run_dir_that_is_a_file_or_cannot_be_made(tmp_path, capsys):
    train = _write(tmp_path, "train.txt", EN)
    args = ["train", "lm", "--train", train, "--hidden", "8", "--batch-size", "2", "--bptt", "4", "--epochs", "1",
            "--progress", "none", "--run-dir"]
    assert main([*args, train]) == 2  # was "[Errno 17] File exists"
    err = capsys.readouterr().err
    assert "train.txt is a file, not a run folder; give run_dir (--run-dir) a folder" in err, err
    assert main([*args, str(tmp_path / "train.txt" / "sub")]) == 2  # a folder under a file: was "Not a directory"
    err = capsys.readouterr().err
    assert f"{train} is a file, not a folder; give run_dir (--run-dir) a folder" in err, err
    # said before the data are read (a missing training file would be named first otherwise)
    missing = ["train", "lm", "--train", str(tmp_path / "nothing.txt"), "--progress", "none", "--run-dir"]
    for run in (train, str(tmp_path / "train.txt" / "sub" / "deeper")):
        assert main([*missing, run]) == 2
        err = capsys.readouterr().err
        assert "is a file, not" in err and "nothing.txt" not in err, err


def test_a_blow_up_is_one_line_without_numpy_warnings(tmp_path, capsys):
    train = _write(tmp_path, "train.txt", EN)
    args = ["train", "lm", "--train", train, "--hidden", "8", "--batch-size", "2", "--bptt", "4", "--epochs", "1",
            "--lr", "1e30", "--clip", "0", "--progress", "none", "--run-dir", str(tmp_path / "run")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "overflow encountered in matmul" used to print before the error
        assert main(args) == 1
    err = capsys.readouterr().err
    assert "loss exploded" in err and "RuntimeWarning" not in err, err


@pytest.mark.parametrize("steps", [1, 3])
def test_an_update_that_overflows_the_weights_is_named_and_never_checkpointed(tmp_path, capsys, steps):
    """--lr 1e39: the first update makes the weights inf.  The next step's layer check used to stop the
    run with 'Expected finite values in x' (exit 2), after checkpointing the inf weights; with
    --max-steps 1 the run 'saved' them and exited 0."""
    from rnnkit.checkpoint import load_checkpoint

    train = _write(tmp_path, "train.txt", EN)
    run = tmp_path / "run"
    args = ["train", "lm", "--train", train, "--hidden", "8", "--layers", "1", "--batch-size", "2", "--bptt", "4",
            "--lr", "1e39", "--checkpoint-steps", "1", "--max-steps", str(steps), "--progress", "none",
            "--run-dir", str(run)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(args) == 1
    err = capsys.readouterr().err
    assert "became NaN or inf in the update of step 1" in err and "(lr, --lr: 1e+39 now" in err, err
    if (run / "last.safetensors").exists():
        arrays, _ = load_checkpoint(run / "last.safetensors")
        assert all(np.isfinite(v).all() for v in arrays.values())


def test_bad_test_file_fails_before_training(tmp_path, capsys):
    train = _write(tmp_path, "train.txt", EN)
    bad = _write(tmp_path, "test.txt", "caf\xe9 au lait\n", encoding="latin-1")
    args = ["train", "lm", "--train", train, "--test", bad, "--hidden", "8", "--layers", "1", "--batch-size", "2",
            "--bptt", "4", "--epochs", "1", "--progress", "none", "--run-dir", str(tmp_path / "run")]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "test.txt" in err and "UTF-8" in err and "Traceback" not in err, err
    assert not (tmp_path / "run" / "last.safetensors").exists()  # nothing was trained


def test_more_classes_than_word_types_is_refused(tmp_path, capsys):
    train = _write(tmp_path, "train.txt", EN)
    args = ["train", "lm", "--train", train, "--softmax", "class", "--classes", "50", "--hidden", "8", "--layers", "1",
            "--batch-size", "2", "--bptt", "4", "--epochs", "1", "--progress", "none", "--run-dir", str(tmp_path / "r")]
    assert main(args) != 0
    err = capsys.readouterr().err
    n = len(set(EN.split()))  # counted as the summary line counts them: the types apart from <unk> and <eos>
    assert f"--classes 50 is more than the vocabulary's {n + 2} tokens ({n} word types + <unk>, <eos>) of {train}: " \
           f"give at most {n + 2}" in err, err


def test_evaluate_refuses_options_a_language_model_does_not_read(tmp_path, capsys):
    code, train, valid = _train(tmp_path, EN, "word")
    assert code == 0
    model = str(tmp_path / "run" / "best.safetensors")
    capsys.readouterr()
    assert main(["evaluate", model, valid, "--beam", "4"]) != 0
    err = capsys.readouterr().err
    assert "--beam does not apply to" in err and "a language model; leave it out" in err, err
    assert main(["evaluate", model, valid, "--ref", valid, "--replace-unk"]) != 0
    assert "--ref, --replace-unk do not apply" in capsys.readouterr().err
    kn = str(tmp_path / "kn.safetensors")
    assert main(["train", "ngram", "--train", train, "--order", "2", "--save", kn]) == 0
    capsys.readouterr()
    assert main(["evaluate", kn, valid, "--batch-size", "5"]) != 0  # an n-gram model reads no streams
    assert "--batch-size does not apply to" in capsys.readouterr().err
    assert main(["evaluate", model, valid, "--interpolate", kn, "--batch-size", "5"]) != 0
    assert "--batch-size does not apply with --interpolate" in capsys.readouterr().err
    assert main(["evaluate", model, valid, "--interpolate", kn, "--bptt", "20"]) == 0  # the RNN reads --bptt


def test_momentum_written_with_adam_is_refused_even_at_zero(tmp_path, capsys):
    train = _write(tmp_path, "t.txt", EN)
    code = main(["train", "lm", "--train", train, "--optimizer", "adam", "--momentum", "0", "--progress", "none",
                 "--run-dir", str(tmp_path / "r")])
    assert code == 2 and "--momentum applies to --optimizer sgd or rmsprop" in capsys.readouterr().err


def test_a_valid_file_with_unknown_tokens_and_no_unk_in_training_is_warned_about(tmp_path, capsys):
    """With --min-count 1 the training text has no <unk>: the model learns p(<unk>) -> 0 and each unknown
    validation character cost ~9 nats (valid perplexity rose from 456 to 3,629), silently."""
    train, valid = tmp_path / "train.txt", tmp_path / "valid.txt"
    train.write_text("床前明月光疑是地上霜举头望明月低头思故乡\n" * 20, encoding="utf-8")
    valid.write_text("春眠不觉晓处处闻啼鸟床前明月光\n" * 4, encoding="utf-8")
    args = ["train", "lm", "--train", str(train), "--valid", str(valid), "--level", "char", "--hidden", "4",
            "--layers", "1", "--batch-size", "2", "--bptt", "4", "--epochs", "1", "--max-steps", "1",
            "--progress", "none"]
    code, _, err = run_cli(capsys, args + ["--run-dir", str(tmp_path / "a")])
    assert code == 0 and "of its tokens are unknown, and the training text has no <unk>" in err, err
    assert "--min-count 2 trains <unk>" in err
    # the same under a softmax that renumbers the vocabulary by frequency (the warning read the old numbers)
    code, _, err = run_cli(capsys, args + ["--softmax", "adaptive", "--cutoffs", "4", "--run-dir", str(tmp_path / "c")])
    assert code == 0 and "the training text has no <unk>" in err, err
    (tmp_path / "train2.txt").write_text(train.read_text(encoding="utf-8") + "鹅\n", encoding="utf-8")  # one rare
    code, _, err = run_cli(capsys, args[:3] + [str(tmp_path / "train2.txt")] + args[4:] +
                           ["--min-count", "2", "--run-dir", str(tmp_path / "b")])
    assert code == 0 and "has no <unk>" not in err, err
