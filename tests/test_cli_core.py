"""The ``rnnkit`` command itself: version, help, and one-line errors with exit code 2.  The demos' own
options and corpus: test_cli_demo.py."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from clirun import _one_line

from rnnkit import __version__
from rnnkit.cli.given import command_parsers
from rnnkit.cli.main import build_parser, main


def _exit_code(argv):
    """Run main; argparse's --version, --help and usage errors end in SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_version(capsys):
    assert _exit_code(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rnnkit {__version__}"


@pytest.mark.parametrize("module", ["rnnkit.cli.main", "rnnkit"])
def test_version_in_a_real_process(module):
    """python -m rnnkit runs the command too (a scripts folder not on PATH), with its errors and exit codes."""
    proc = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"rnnkit {__version__}"
    proc = subprocess.run([sys.executable, "-m", module, "evaluate", "no-such.safetensors", "x.txt"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("rnnkit: error:") and proc.stderr.count("\n") == 1


def test_a_closed_pipe_ends_quietly():
    """`rnnkit ... | head`: when the reader has gone, no 'Broken pipe' error and no traceback; exit 141
    (128 + SIGPIPE), as Unix tools report it."""
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit.cli.main", "gradflow", "--cell", "rnn", "--steps", "200"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before anything is written
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141 and err == b"", err.decode()


def test_help_lists_the_subcommands(capsys):
    assert _exit_code(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("train", "demo", "evaluate", "gradflow"):
        assert f"    {command} " in out, f"{command} missing from --help:\n{out}"


def test_help_never_cuts_an_option_at_its_hyphen(monkeypatch):
    """At 80 columns '--decay-start' was printed as '--decay-' and 'start' on the next line."""
    import re

    monkeypatch.setenv("COLUMNS", "80")
    for words, parser in command_parsers(build_parser()):
        cut = [line for line in parser.format_help().splitlines() if re.search(r"\w-$", line)]
        assert not cut, (words, cut)


def test_no_help_shows_an_empty_default():
    """Every command's --help names real defaults only: no "(default: None)" for an option that is unset
    unless given, none for a required option, no "(default: False)" for an on/off flag."""
    commands = list(command_parsers(build_parser()))
    assert len(commands) > 15
    for words, parser in commands:
        text = " ".join(parser.format_help().split())  # lines joined: a "(default:" may end a line
        for empty in ("(default: None)", "(default: False)"):
            assert empty not in text, (words, text)
    text = " ".join(dict(commands)[("train", "lm")].format_help().split())
    assert "(default: 35)" in text and "(default: no limit)" in text


def test_demo_help_lists_addition(capsys):
    assert _exit_code(["demo", "--help"]) == 0
    assert "addition" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert _exit_code([]) == 2
    assert "gradflow" in capsys.readouterr().err


@pytest.mark.parametrize("argv, needle", [
    (["--bogus"], "--bogus"),
    (["gradflow", "--no-such-option"], "--no-such-option"),
    (["gradflow", "--steps", "many"], "--steps"),
    (["gradflow", "--cell", "foo"], "foo"),
    (["gradflow", "--forget-bias", "x"], "--forget-bias"),
    (["nosuchcommand"], "nosuchcommand"),
    (["train", "lm", "--dropout", "1.5"], "--dropout"),
    (["train", "lm", "--dropout-input", "-0.1"], "--dropout-input"),
    (["train", "lm", "--dropout-output", "half"], "--dropout-output"),
    (["train", "classifier", "--word-dropout", "1"], "--word-dropout"),
    (["train", "tagger", "--dropout", "2"], "--dropout"),
    (["train", "seq2seq", "--dropout", "-1"], "--dropout"),
    (["generate", "m.safetensors", "--length", "-3"], "--length"),
    (["generate", "m.safetensors", "--top-k", "-1"], "--top-k"),
    (["generate", "m.safetensors", "--top-p", "1.5"], "--top-p"),
    (["generate", "m.safetensors", "--top-p", "0"], "--top-p"),
    (["generate", "m.safetensors", "--temperature", "nan"], "--temperature"),
    (["generate", "m.safetensors", "--temperature", "0"], "--temperature"),
    (["train", "lm", "--batch-size", "0"], "--batch-size"),
    (["train", "lm", "--bptt", "0"], "--bptt"),
    (["train", "lm", "--log-every", "0"], "--log-every"),
    (["train", "lm", "--lr-decay", "0"], "--lr-decay"),
    (["train", "lm", "--checkpoint-steps", "0"], "--checkpoint-steps"),
    (["train", "lm", "--init-scale", "-1"], "--init-scale"),
    (["train", "lm", "--average", "1"], "--average"),
    (["train", "lm", "--seed", "-1"], "--seed"),
    (["train", "lm", "--momentum", "1"], "Expected a momentum in [0, 1)"),  # trained on, diverging, before
    (["train", "classifier", "--batch-size", "-1"], "--batch-size"),
    (["train", "classifier", "--patience", "0"], "--patience"),
    (["train", "classifier", "--folds", "1"], "--folds"),
    (["train", "tagger", "--batch-size", "-1"], "--batch-size"),
    (["train", "tagger", "--singleton-unk", "-0.5"], "--singleton-unk"),
    (["train", "seq2seq", "--beam", "0"], "--beam"),
    (["train", "seq2seq", "--sampling-rate", "1.5"], "--sampling-rate"),
    (["train", "ngram", "--delta", "0"], "--delta"),
    (["evaluate", "m.safetensors", "data.txt", "--batch-size", "0"], "--batch-size"),
    (["--threads", "0", "gradflow"], "--threads"),
    (["gradflow", "--steps", "0"], "--steps"),
    (["gradflow", "--every", "-3"], "--every"),
    (["gradflow", "--init", "bogus"], "--init"),
    (["gradflow", "--init", "-1"], "--init"),
    (["gradflow", "--init", "1e308"], "--init"),  # was an OverflowError traceback from numpy's sampler
    (["curves", "run", "--dpi", "100000"], "--dpi"),  # was a MemoryError traceback from matplotlib
])
def test_usage_errors_are_one_line_exit_2(capsys, argv, needle):
    assert _exit_code(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = _one_line(captured.err)
    assert "error" in err and needle in err


def test_gradflow_heading_says_which_forget_bias(capsys):
    for value, said in (("none", "LSTM forget bias=random (init))"), ("2", "LSTM forget bias=2.0)"),
                        (None, "LSTM forget bias=1.0)")):
        assert main(["gradflow", "--cell", "lstm", "--steps", "3"] + (["--forget-bias", value] if value else [])) == 0
        assert said in capsys.readouterr().out.splitlines()[0]


def test_gradflow_unknown_cell_names_the_choices(capsys):
    assert _exit_code(["gradflow", "--cell", "foo"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "--cell" in err and "rnn" in err and "lstm" in err


@pytest.mark.parametrize("argv, needle", [
    (["train", "lm", "--train", "missing.txt"], "missing.txt"),
])
def test_bad_values_caught_by_the_handler_are_one_line(capsys, argv, needle):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = _one_line(captured.err)
    assert err.startswith("rnnkit: error:") and needle in err


@pytest.mark.parametrize("argv, needle", [
    (["train", "lm", "--train", "t.txt", "--optimizer", "adam", "--momentum", "0.9"], "--momentum applies to"),
    (["train", "lm", "--train", "t.txt", "--schedule", "plateau"], "--schedule plateau acts on the validation"),
    (["train", "lm", "--train", "t.txt", "--patience", "2"], "--patience acts on the validation score"),
    (["train", "lm", "--train", "t.txt", "--cutoffs", "5"], "--cutoffs shape the adaptive softmax"),
    (["train", "lm", "--train", "t.txt", "--classes", "10"], "--classes sets the class-based softmax"),
    (["train", "lm", "--train", "t.txt", "--classes", "0"], "--classes sets the class-based softmax"),  # its default
    (["train", "hmm", "--train", "t.txt", "--add-k", "1"], "--add-k has no effect without --emission add_k"),
    (["train", "seq2seq", "--train", "p.tsv", "--select-by", "loss"], "--select-by has no effect without --valid"),
    (["train", "seq2seq", "--train", "p.tsv", "--select-by", "bleu"], "--select-by bleu has no effect without --valid"),
    (["train", "seq2seq", "--train", "p.tsv", "--valid", "v.tsv", "--select-by", "bleu", "--bleu-sentences", "0"],
     "and --bleu-sentences 0 decodes none: give --bleu-sentences 1 or more, or --select-by loss"),
    (["generate", "m.safetensors", "--greedy", "--top-k", "5"], "--top-k (which shapes the sampling) would be ignored"),
    (["generate", "m.safetensors", "--greedy", "--seed", "3"], "--seed (which shapes the sampling)"),
    (["gradflow", "--cell", "gru", "--forget-bias", "3"], "--forget-bias is the LSTM's forget-gate bias"),
    (["gradflow", "--all-cells", "--cell", "gru"], "--all-cells runs every cell, so --cell gru would be ignored"),
    (["generate", "m.safetensors", "--greedy", "--temperature", "0.5"], "--temperature"),
    (["generate", "m.safetensors", "--greedy", "--temperature", "1"], "--temperature"),  # given, even at its default
    (["generate", "m.safetensors", "--greedy", "--top-p", "1"], "--top-p"),
    (["train", "ngram", "--train", "t.txt", "--delta", "1"], "--delta is add-delta smoothing's"),
    (["train", "ngram", "--train", "t.txt", "--delta", "0.5"], "--delta is add-delta smoothing's"),
    (["train", "classifier", "--train", "t.tsv", "--folds", "3", "--valid", "v.tsv"], "--valid and --test would be"),
    (["train", "lm", "--train", "t.txt", "--lr-decay", "0.9"], "--lr-decay is the factor of a learning-rate schedule"),
    (["gradcheck", "--cell", "lstm", "--nonlinearity", "relu"], "--nonlinearity is the Elman RNN's"),
])
def test_options_that_would_be_ignored_are_refused(capsys, argv, needle):
    """Each of these used to be accepted and then silently had no effect."""
    assert main(argv) == 2
    err = _one_line(capsys.readouterr().err)
    assert err.startswith("rnnkit: error:") and needle in err, err


def _numeric_options(parser, path=()):
    """(command, option, type) of every option of every subcommand, but those with choices (argparse checks
    those: --classes 5|2, hmm's --order)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _numeric_options(sub, (*path, name))
        elif action.option_strings and not action.choices:
            yield " ".join(path), action.option_strings[-1], action.type


def test_every_numeric_option_checks_its_range():
    """A bare int or float type lets --batch-size 0 or --lr-decay 0 through to a traceback or a silent
    no-op; every numeric option must use a range-checked type from rnnkit.cli.common instead."""
    # column indices may be negative (counted from the end, as in Python)
    allowed = {("train tagger", "--word-column"), ("train tagger", "--feature-columns"), ("train hmm", "--word-column")}
    bare = [(cmd, opt) for cmd, opt, typ in _numeric_options(build_parser())
            if typ in (int, float) and (cmd, opt) not in allowed]
    assert bare == []


def test_json_line_writes_strict_json():
    import json
    import math

    from rnnkit.jsonline import json_line

    line = json_line({"f1": 0.5, "oov_recall": math.nan, "ppl": math.inf, "rows": [1, -math.inf, (2.0, math.nan)]})
    assert "\n" not in line
    assert json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in {line}")) == {
        "f1": 0.5, "oov_recall": None, "ppl": None, "rows": [1, None, [2.0, None]]}
    # text as itself, not as \\uXXXX escapes (score --json on Chinese lines was unreadable); a line break inside
    # a string is still escaped, so it stays one line
    line = json_line({"text": "春眠不觉晓\n处处闻啼鸟", "word": "naïve"})
    assert line == '{"text": "春眠不觉晓\\n处处闻啼鸟", "word": "naïve"}' and json.loads(line)["word"] == "naïve"


def test_raw_operating_system_errors_are_said_in_plain_words(tmp_path, capsys, monkeypatch):
    """An OSError that reaches the command line unwrapped ("[Errno 20] Not a directory: 'f/x'") is
    described: what the path is, and what to do."""
    (tmp_path / "f").write_text("x", encoding="utf-8")
    cases = [(lambda: open(tmp_path / "f" / "x", "w"), f"{tmp_path / 'f'} is a file, not a folder; check the path"),
             (lambda: open(tmp_path, "w"), f"{tmp_path} is a folder, not a file; check the path"),
             (lambda: (tmp_path / "f").mkdir(), f"{tmp_path / 'f'} is a file, not a folder; check the path"),
             (lambda: open(tmp_path / "no" / "x", "w"), f"the folder {tmp_path / 'no'} does not exist; check the path"),
             (lambda: open(tmp_path / "none.txt"), f"{tmp_path / 'none.txt'} does not exist; check the path")]
    for fail, said in cases:
        def command(args, fail=fail):
            fail()
            return 0

        monkeypatch.setattr("rnnkit.cli.ngram.run", command)
        code = main(["train", "ngram", "--train", "unused.txt"])
        err = capsys.readouterr().err
        assert code == 2 and err == f"rnnkit: error: {said}\n", err


@pytest.mark.parametrize("argv, said", [
    (["train", "lm", "--train", "t.txt", "--max-vocab", "2"],
     "--max-vocab 2 leaves no room for a word: the vocabulary counts <unk>, <eos> too; give at least 3"),
    (["train", "lm", "--train", "t.txt", "--level", "char", "--max-vocab", "1"], "counts <unk> too; give at least 2"),
    (["train", "seq2seq", "--train", "t.tsv", "--max-vocab", "4"], "counts <pad>, <bos>, <eos>, <unk> too"),
    (["train", "tagger", "--train", "t.conllu", "--tag-column", "3"],
     "--tag-column 3: a CoNLL-U file's tags are upos or xpos (a column index is for --format columns)"),
    (["train", "tagger", "--train", "t.txt", "--format", "columns", "--tag-column", "upos"],
     "--tag-column upos: --format columns takes a column index"),
    (["train", "tagger", "--train", "t.txt", "--format", "segmented", "--scheme", "bio"],
     "--scheme bio: segmented text is tagged B, M, E, S"),
    (["train", "hmm", "--train", "t.txt", "--format", "segmented", "--tag-column", "1"],
     "--tag-column: segmented text has no tag column"),
    (["train", "tagger", "--train", "t.conllu", "--feature-columns", "1"],
     "--feature-columns reads extra columns of a column file (--format columns); with --format conllu leave it out"),
])
def test_option_errors_are_said_in_the_options_own_names(capsys, argv, said):
    """These named internal arguments (max_size, tag_column, scheme, feature_columns)."""
    assert main(argv) == 2
    err = _one_line(capsys.readouterr().err)
    assert said in err and "_" not in err.split(":", 2)[-1].replace("<", "").replace(">", ""), err


def test_max_chars_needs_two(capsys):
    assert _exit_code(["train", "tagger", "--char-features", "--max-chars", "1"]) == 2
    assert "--max-chars: Expected an integer >= 2, got 1" in capsys.readouterr().err


@pytest.mark.parametrize("argv, said", [
    (["demo", "reverse", "--steps", "5"], "unrecognized arguments: --steps 5: --steps is an option of rnnkit demo, "
     "rnnkit demo addition, rnnkit demo adding, rnnkit demo copy, rnnkit demo pointer and rnnkit demo ctc, not of "
     "rnnkit demo reverse (see rnnkit demo reverse --help)"),
    (["train", "lm", "--train", "t.txt", "--beam", "3"], "--beam is an option of rnnkit train seq2seq, not of "
     "rnnkit train lm (see rnnkit train lm --help)"),
    (["tag", "m.safetensors", "--beam=3"], "unrecognized arguments: --beam=3: --beam is an option of rnnkit evaluate "
     "and rnnkit translate, not of rnnkit tag"),
    (["train", "lm", "--train", "t.txt", "--bogus", "3"], "unrecognized arguments: --bogus 3 (see rnnkit train lm "
     "--help for its options)"),
    # a misspelling gets the nearest option or choice
    (["train", "lm", "--train", "t.txt", "--hiden", "3"], "unrecognized arguments: --hiden 3: did you mean --hidden? "
     "(see rnnkit train lm --help for its options)"),
    (["trian", "lm"], "invalid choice: 'trian' (choose from "),  # argparse's list of choices, then:
    (["trian", "lm"], "translate'); did you mean 'train'?"),
    (["train", "lm", "--train", "t.txt", "--cell", "lsmt"], "gru'); did you mean 'lstm'?"),
    # a misspelt required option: argparse says the missing one first, and the misspelling went unnamed
    (["train", "tagger", "--trian", "x.conllu"], "rnnkit train tagger: error: the following arguments are required: "
     "--train (got --trian: did you mean --train?)"),
    (["train", "seq2seq", "--tarin=a", "b", "--hiden", "3"], "required: --train (got --tarin: did you mean --train?; "
     "got --hiden: did you mean --hidden?)"),
    # a misspelling of another option, or no option at all, beside a missing required one is named too
    (["train", "lm", "--hiden", "8"], "required: --train (got --hiden: did you mean --hidden?)"),
    (["train", "lm", "--zzzqq", "3", "--hid", "3"], "required: --train (--zzzqq is not an option)"),
])
def test_an_unknown_option_names_the_command_and_where_it_belongs(argv, said, capsys):
    assert _exit_code(argv) == 2
    err = _one_line(capsys.readouterr().err)
    assert said in err, err


def test_stream_errors_threads_position_and_standard_input_are_said_plainly(tmp_path, capsys, monkeypatch):
    import errno

    assert _exit_code(["gradflow", "--threads", "1"]) == 2  # was "unrecognized arguments: --threads 1"
    assert "--threads goes before the command" in capsys.readouterr().err

    def full_disk(args):
        raise OSError(errno.ENOSPC, "No space left on device")  # what writing to /dev/full raises

    monkeypatch.setattr("rnnkit.cli.ngram.run", full_disk)
    assert main(["train", "ngram", "--train", "unused.txt"]) == 2
    assert capsys.readouterr().err == ("rnnkit: error: no space left on device (writing to standard output or another "
                                       "stream); free some space or choose another disk\n")
    monkeypatch.undo()
    assert main(["train", "ngram", "--train", "-"]) == 2
    assert "-: this command reads files, not standard input" in capsys.readouterr().err
    (tmp_path / "a.txt").write_text("the cat sat\n" * 20, encoding="utf-8")
    model = str(tmp_path / "kn.safetensors")
    assert main(["train", "ngram", "--train", str(tmp_path / "a.txt"), "--save", model]) == 0
    capsys.readouterr()
    assert main(["evaluate", model, "-"]) == 2  # was "-: no such file" (score reads standard input as -)
    assert "/dev/stdin" in capsys.readouterr().err
