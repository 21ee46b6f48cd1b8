"""Command lines a fuzzer of option combinations found mishandled: an empty argument read as no option
(or as the folder '.'), a --dpi that crashed the plotter or did nothing, evaluate options written with
their default value, and resumes that changed the pretrained vectors or named an option that does not
exist."""
from __future__ import annotations

import json

import pytest
from clirun import run_cli

from rnnkit.cli.main import main

TSV = "".join(f"{'pos' if k % 2 else 'neg'}\t{'a fine warm film' if k % 2 else 'a dull long film'} {k}\n"
              for k in range(40))
SMALL = ["--embed", "4", "--hidden", "4", "--batch-size", "4", "--epochs", "3", "--progress", "none",
         "--checkpoint-steps", "1", "--checkpoint-minutes", "0"]


@pytest.mark.parametrize("argv, option", [
    (["train", "lm", "--train", "t.txt", "--valid", ""], "--valid"),  # trained without validation, exit 0
    (["train", "ngram", "--train", "t.txt", "--save", ""], "--save"),  # saved nothing, exit 0
    (["tag", "m.safetensors", "t.txt", "--output", ""], "--output"),  # wrote to standard output
    (["segment", "", "t.txt"], "model"),  # ".: is a directory"
    (["evaluate", "m.safetensors", "t.txt", "--ref", ""], "--ref"),
])
def test_an_empty_argument_is_refused_naming_it(argv, option, capsys):
    code, out, err = run_cli(capsys, argv)
    assert code == 2 and out == "" and err == (f"rnnkit: error: argument {option}: expected a value, got an empty "
                                               "string (an unset shell variable?)\n"), err


def test_curves_dpi_too_low_to_draw_or_for_a_vector_plot_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("".join(
        json.dumps({"type": "epoch", "epoch": e, "step": 2 * e, "train_loss": 2.0 / e, "lr": 0.1, "valid_loss": 1.0 / e,
                    "best": True}) + "\n" for e in (1, 2)))
    code, _, err = run_cli(capsys, ["curves", str(run), "-o", str(tmp_path / "c.png"), "--dpi", "1"])  # a traceback
    assert code == 2 and "argument --dpi: Expected a resolution from 10 to 1200 dpi, got 1" in err, err
    code, _, err = run_cli(capsys, ["curves", str(run), "-o", str(tmp_path / "c.svg"), "--dpi", "50"])  # ignored
    assert code == 2 and "--dpi has no effect for a vector plot (.svg, .pdf)" in err, err
    pytest.importorskip("matplotlib")
    assert run_cli(capsys, ["curves", str(run), "-o", str(tmp_path / "c.png"), "--dpi", "10"])[0] == 0


def test_evaluate_refuses_a_foreign_option_written_with_its_default_value(tmp_path, capsys):
    (tmp_path / "t.txt").write_text("a b c a b\nb c a\n" * 20, encoding="utf-8")
    model = tmp_path / "kn.safetensors"
    assert main(["train", "ngram", "--train", str(tmp_path / "t.txt"), "--order", "2", "--save", str(model)]) == 0
    capsys.readouterr()
    code, _, err = run_cli(capsys, ["evaluate", str(model), str(tmp_path / "t.txt"), "--bptt", "35"])  # the default
    assert code == 2 and "--bptt does not apply to" in err and "an n-gram language model" in err, err


def test_resume_refuses_other_vectors_and_names_freeze_embeddings(tmp_path, capsys):
    train, valid, vec = tmp_path / "train.tsv", tmp_path / "valid.tsv", tmp_path / "v.txt"
    train.write_text(TSV, encoding="utf-8")
    valid.write_text(TSV[: TSV.index("\n", 200) + 1], encoding="utf-8")
    vec.write_text("fine " + " ".join(["0.5"] * 4) + "\ndull " + " ".join(["-0.5"] * 4) + "\n", encoding="utf-8")
    base = ["train", "classifier", "--train", str(train), "--valid", str(valid), "--run-dir", str(tmp_path / "r"),
            *SMALL]
    assert run_cli(capsys, base + ["--max-steps", "2"])[0] == 0
    # the vectors were read, said, and then the checkpoint's weights restored over them, silently
    code, _, err = run_cli(capsys, base + ["--max-steps", "4", "--embeddings", str(vec), "--resume"])
    assert code == 2 and "(--embeddings none then, v.txt (" in err and "bytes) now)" in err, err
    code, _, err = run_cli(capsys, base + ["--max-steps", "4", "--resume"])
    assert code == 0, err
    run2 = base[:7] + [str(tmp_path / "r2")] + base[8:]
    assert run_cli(capsys, run2 + ["--max-steps", "2", "--embeddings", str(vec)])[0] == 0
    code, _, err = run_cli(capsys, run2 + ["--max-steps", "4", "--embeddings", str(vec), "--freeze-embeddings",
                                           "--resume"])
    assert code == 2 and "--freeze-embeddings (TrainConfig.frozen) not given then, given now" in err, err
    assert "--frozen" not in err, err
    # a --valid left out on resume (a part of --train held out instead): said as the validation data, not as
    # a vocabulary whose two excerpts looked the same
    code, _, err = run_cli(capsys, base[:4] + base[6:] + ["--max-steps", "6", "--resume"])
    assert code == 2 and "(validation data " in err and "its encoder.vocab differs (another training file" in err, err


@pytest.mark.parametrize("command", [["generate"], ["evaluate", "x.txt"], ["tag"]])
def test_a_device_given_as_the_model_is_named_as_not_a_file(command, capsys):
    argv = [command[0], "/dev/null", *command[1:]]
    code, _, err = run_cli(capsys, argv)  # "cannot read checkpoint (No such device); check its permissions"
    assert code == 2 and "/dev/null: not a regular file (a device or a pipe), so not a checkpoint" in err, err
