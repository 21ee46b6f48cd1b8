"""Output files are whole or absent: a write that fails half-way leaves the earlier file; a model is
never renamed over a device; a model output is never one of the command's input files."""
from __future__ import annotations

import os

import pytest
from clirun import run_cli

from rnnkit.atomic import write_atomically
from rnnkit.data.files import write_text_file


def test_a_failed_write_leaves_the_earlier_file_and_no_temporary(tmp_path):
    out = tmp_path / "out.txt.gz"
    write_text_file(out, "old text\n")
    before = out.read_bytes()

    def half(f):
        f.write(b"partial")
        raise OSError(27, "File too large")

    with pytest.raises(OSError, match="too large"):
        write_atomically(out, half)
    assert out.read_bytes() == before and os.listdir(tmp_path) == ["out.txt.gz"]
    write_text_file(out, "new text\n")
    import gzip

    assert gzip.decompress(out.read_bytes()) == b"new text\n"


def test_blocks_written_as_they_come_are_still_all_or_nothing(tmp_path):
    """write_text_blocks encodes each block as it comes: one the encoding cannot hold, after others were
    written into the temporary, leaves the earlier file as it was (and a new one not made at all)."""
    import gzip

    from rnnkit.data.files import write_text_blocks

    out = tmp_path / "sub" / "out.txt.gz"  # its folder is made
    write_text_blocks(out, iter(["one\n", "two\n"]), "ascii")
    assert gzip.decompress(out.read_bytes()) == b"one\ntwo\n"
    for target in (out, tmp_path / "new.txt"):
        with pytest.raises(UnicodeEncodeError):
            write_text_blocks(target, iter(["fine\n", "北京\n"]), "ascii")
    assert gzip.decompress(out.read_bytes()) == b"one\ntwo\n" and sorted(os.listdir(tmp_path)) == ["sub"]
    assert os.listdir(tmp_path / "sub") == ["out.txt.gz"]


def test_a_device_is_written_into_not_replaced(tmp_path):
    write_text_file(os.devnull, "into the device\n")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)  # still the device


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_symbolic_link_is_followed_not_replaced(tmp_path):
    # as /dev/stdout -> /proc/self/fd/1 -> a file is when standard output is redirected to one: the link stays
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.bin"
    target.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    write_atomically(link, lambda f: f.write(b"new"))
    assert link.is_symlink() and os.readlink(link) == str(target) and target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.bin", "real"]  # no temporary left beside the link
    dangling = tmp_path / "to_missing.bin"  # a link to a file not yet there: the file is made where it points
    dangling.symlink_to(tmp_path / "real" / "made.bin")
    write_atomically(dangling, lambda f: f.write(b"made"))
    assert dangling.is_symlink() and (tmp_path / "real" / "made.bin").read_bytes() == b"made"


def test_models_refuse_a_device_or_pipe_and_their_own_inputs(tmp_path, capsys):
    train = tmp_path / "train.txt"
    train.write_text("the cat sat\n" * 20)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(train), "--save", str(pipe)])
    assert code == 2 and "is not a regular file (a device or a pipe)" in err
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(train), "--save", str(train)])
    assert code == 2 and "is a file this command reads" in err and train.read_text() == "the cat sat\n" * 20
    conllu = tmp_path / "t.conllu"
    conllu.write_text("1\tthe\t_\tDET\t_\t_\t0\tx\t_\t_\n2\tcat\t_\tNOUN\t_\t_\t0\tx\t_\t_\n\n" * 3)
    code, _, err = run_cli(capsys, ["train", "hmm", "--train", str(conllu), "--output", str(conllu)])
    assert code == 2 and "is a file this command reads" in err


@pytest.mark.parametrize("name", ["kn.safetensors.gz", "model.XZ", "hmm.bz2"])
def test_a_model_refuses_a_compressed_file_name(tmp_path, capsys, name):
    """`--save kn3.safetensors.gz` wrote an uncompressed file under a gzip name."""
    train = tmp_path / "train.txt"
    train.write_text("the cat sat\n" * 20)
    conllu = tmp_path / "t.conllu"
    conllu.write_text("1\tthe\t_\tDET\t_\t_\t0\tx\t_\t_\n2\tcat\t_\tNOUN\t_\t_\t0\tx\t_\t_\n\n" * 3)
    stem = name.rsplit(".", 1)[0]
    for argv, option in ((["train", "ngram", "--train", str(train), "--save"], "--save"),
                         (["train", "hmm", "--train", str(conllu), "--output"], "--output")):
        code, out, err = run_cli(capsys, [*argv, str(tmp_path / name)])
        assert code == 2 and err.count("\n") == 1 and not (tmp_path / name).exists(), err
        assert f"{option} {tmp_path / name}: a model is saved uncompressed (safetensors)" in err, err
        assert f"give a name without .{name.rsplit('.', 1)[1]}, e.g. {stem}" in err, err
