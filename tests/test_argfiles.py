"""Argument files (``rnnkit @FILE``, rnnkit.cli.argfiles): the format, every command reading them, the
options given in one counted as written, and a bad file as one line."""
from __future__ import annotations

import io
import os

import pytest

from clirun import run_cli
from rnnkit.cli.argfiles import expand_arg_files
from rnnkit.cli.given import command_parsers
from rnnkit.cli.main import build_parser
from rnnkit.errors import DataError


@pytest.fixture()
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths in and to argument files are the current folder's
    return tmp_path


def _write(path, text):
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_each_line_is_split_as_a_shell_splits_it(here):
    _write(here / "a.args", "\ufeff# training options\n--epochs 3   --lr 0.01  # tuned\n\n"
                            "--train 'my data/训练.txt' --prime \"#1 and C#\"\n--dict C#.txt\n")
    assert expand_arg_files(["train", "lm", "@a.args", "--epochs", "4"]) == [
        "train", "lm", "--epochs", "3", "--lr", "0.01", "--train", "my data/训练.txt", "--prime", "#1 and C#",
        "--dict", "C#.txt", "--epochs", "4"]


def test_a_line_ending_in_a_backslash_goes_on_on_the_next(here):
    """A shell command pasted with its continuations; an escaped backslash or one in a comment does not continue."""
    _write(here / "c.args", "step --x 1,2 \\\n  --h0 1,1 \\\n--cell gru\n--train 'a\\'\n"
                            "--lr 1  # no \\\n--epochs 2\n--prime x\\\\\n--seed 3\n")
    assert expand_arg_files(["@c.args"]) == ["step", "--x", "1,2", "--h0", "1,1", "--cell", "gru", "--train", "a\\",
                                             "--lr", "1", "--epochs", "2", "--prime", "x\\", "--seed", "3"]


def test_files_may_name_files_and_nothing_after_a_double_dash_is_expanded(here):
    _write(here / "inner.args", "--b 2\n")
    _write(here / "outer.args", "--a 1\n@inner.args\n--c 3\n")
    assert expand_arg_files(["@outer.args", "x"]) == ["--a", "1", "--b", "2", "--c", "3", "x"]
    assert expand_arg_files(["@", "--prime=@alice", "--", "@outer.args"]) == ["@", "--prime=@alice", "--",
                                                                              "@outer.args"]
    _write(here / "stop.args", "--a 1 --\n@inner.args\n")  # a -- inside a file: the rest is literal too
    assert expand_arg_files(["@stop.args", "@inner.args"]) == ["--a", "1", "--", "@inner.args", "@inner.args"]
    assert expand_arg_files(["@inner.args", "@inner.args"]) == ["--b", "2", "--b", "2"]  # twice is no loop


@pytest.mark.parametrize("files, argv, message", [
    ({}, ["@none.args"], r"^@none\.args: no such argument file; an argument that starts with @ names a file"),
    ({"a.args": "--x 1\n@gone.args\n"}, ["@a.args"], r"^@gone\.args: no such argument file \(named in a\.args:2\)"),
    ({"a.args": "--x 1\n--train \"my data.txt\n"}, ["@a.args"],
     r"^a\.args:2: no closing quotation in '--train \"my data\.txt'; a quoted argument closes on its own line$"),
    ({"a.args": "--x 1\n--y 2 \\"}, ["@a.args"], r"^a\.args:2: no escaped character.*last line ends in a backslash"),
    ({"a.args": "--x 1\n--name 欧阳丽\n".encode("gb18030")}, ["@a.args"],
     r"^a\.args:2: byte 0xd1 at offset 15 is not valid UTF-8; .*convert it.*iconv -f GB18030"),
    ({"a.args": "--x 1\n@b.args\n", "b.args": "@a.args\n"}, ["@a.args"],
     r"^@a\.args \(named in b\.args:1\): an argument file that names itself \(through a\.args -> b\.args -> "
     r"a\.args\); remove the loop$"),
    ({"d/x": ""}, ["@d"], r"^d: is a directory, expected a file of arguments$"),
], ids=["missing", "missing-inside", "quote", "backslash", "gbk", "loop", "folder"])
def test_a_bad_argument_file_is_one_line(here, files, argv, message):
    for name, text in files.items():
        os.makedirs(os.path.dirname(here / name), exist_ok=True)
        _write(here / name, text)
    with pytest.raises(DataError, match=message) as info:
        expand_arg_files(argv)
    assert "\n" not in str(info.value)


def test_every_command_reads_argument_files(here, capsys):
    """``rnnkit @FILE`` where FILE holds a command and --help: each command's own help comes out."""
    commands = [words for words, _ in command_parsers(build_parser()) if words]
    assert len(commands) >= 25 and ("train", "lm") in commands and ("segment",) in commands
    for words in commands:
        _write(here / "help.args", " ".join(words) + "\n--help\n")
        code, out, err = run_cli(capsys, ["@help.args"])
        assert code == 0 and out.startswith(f"usage: rnnkit {' '.join(words)}"), (words, out[:80], err)


def test_options_from_a_file_count_as_given(here, capsys):
    """The check of which options were written re-parses the command line: it sees those of a file.
    --eval-batch-size 10 is its default, so only that check can refuse it without --valid."""
    _write(here / "train.txt", "a b c\n" * 20)
    _write(here / "common.args", "--train train.txt\n--eval-batch-size 10  # no --valid: no effect\n")
    code, out, err = run_cli(capsys, ["train", "lm", "@common.args", "--epochs", "1", "--run-dir", "run"])
    assert code == 2 and "--eval-batch-size has no effect without --valid" in err, err
    assert not (here / "run").exists()


def test_a_file_holds_a_whole_command_and_later_options_win(here, capsys, monkeypatch):
    _write(here / "step.args", "step --cell gru --input-size 2 --hidden-size 2\n--seed 0\n")
    direct = run_cli(capsys, ["step", "--cell", "gru", "--input-size", "2", "--hidden-size", "2", "--seed", "3"])
    assert direct[0] == 0 and "--seed 3" in direct[1]
    assert run_cli(capsys, ["@step.args", "--seed", "3"]) == direct
    code, out, err = run_cli(capsys, ["@missing.args"])
    assert code == 2 and out == "" and err == ("rnnkit: error: @missing.args: no such argument file; an argument that "
                                               "starts with @ names a file of arguments; a value that starts with @ "
                                               "goes after its option and '=' (--prime=@...)\n")


def test_segment_with_its_model_and_dictionary_from_a_file(here, capsys, monkeypatch):
    _write(here / "train.txt", "我们  喜欢  北京\n老师  在  大学  工作\n" * 10)
    assert run_cli(capsys, ["train", "hmm", "--train", "train.txt", "--format", "segmented", "--output",
                            "hmm.st"])[0] == 0
    _write(here / "names.txt", "欧阳丽\n")
    _write(here / "seg.args", "segment hmm.st  # the model\n--dict names.txt\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("欧阳丽喜欢北京\n"))
    code, out, err = run_cli(capsys, ["@seg.args"])
    assert code == 0 and out == "欧阳丽 喜欢 北京\n", err
