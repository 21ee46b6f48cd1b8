"""A file problem in an input path, and a file holding NUL bytes, are said in one plain line.

An input path below a regular file (``sents.txt/foo``) was "cannot be decompressed ([Errno 20] Not a
directory ...); check the download" in every reader.  A file with NUL bytes was told to "pass
--encoding latin-1", and with it given the refusal repeated the same advice: a loop.
"""
from __future__ import annotations

import errno
import re

import numpy as np
import pytest
from clirun import run_cli, write_conllu

TINY = ["--epochs", "1", "--embed", "4", "--hidden", "4", "--batch-size", "2", "--progress", "none",
        "--checkpoint-minutes", "0"]
TEXT = "the cat sat on the mat\na dog ran far away\n" * 10
POS = [[("the", "DET"), ("cat", "NOUN"), ("sees", "VERB")], [("a", "DET"), ("dog", "NOUN"), ("barks", "VERB")]] * 4


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny language model and a tiny tagger, trained once for the module."""
    from rnnkit.cli.main import main

    folder = tmp_path_factory.mktemp("models")
    (folder / "lm.txt").write_text(TEXT, encoding="utf-8")
    write_conllu(folder / "pos.conllu", POS)
    assert main(["train", "lm", "--train", str(folder / "lm.txt"), "--bptt", "4", "--run-dir", str(folder / "lm"),
                 *TINY]) == 0
    assert main(["train", "tagger", "--train", str(folder / "pos.conllu"), "--run-dir", str(folder / "pos"),
                 *TINY]) == 0
    return {"lm": str(folder / "lm" / "last.safetensors"), "pos": str(folder / "pos" / "last.safetensors")}


def _one_plain_line(code, err):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnkit: error: "), err
    assert "Errno" not in err and "decompress" not in err and "download" not in err, err
    return lines[0]


# ---------------------------------------------------------------------- D2: a path below a regular file
READERS = {
    "tag": lambda m, path, tmp: ["tag", m["pos"], path],
    "evaluate": lambda m, path, tmp: ["evaluate", m["lm"], path],
    "score": lambda m, path, tmp: ["score", m["lm"], path],
    "train lm": lambda m, path, tmp: ["train", "lm", "--train", path, "--run-dir", str(tmp / "run"), *TINY],
    "train tagger --valid": lambda m, path, tmp: ["train", "tagger", "--train", str(tmp / "ok.conllu"), "--valid",
                                                  path, "--run-dir", str(tmp / "run"), *TINY],
}


@pytest.mark.parametrize("below", ["foo", "foo.gz", "a/b/foo.xz"])
@pytest.mark.parametrize("reader", sorted(READERS))
def test_an_input_path_below_a_file_names_the_part_that_is_a_file(models, tmp_path, capsys, reader, below):
    (tmp_path / "sents.txt").write_text(TEXT, encoding="utf-8")
    write_conllu(tmp_path / "ok.conllu", POS)
    path = f"{tmp_path / 'sents.txt'}/{below}"
    code, _, err = run_cli(capsys, READERS[reader](models, path, tmp_path))
    line = _one_plain_line(code, err)
    assert line.startswith(f"rnnkit: error: {path}: {tmp_path / 'sents.txt'} is a file, not a folder"), err
    assert not (tmp_path / "run").exists()


def test_a_missing_input_folder_is_named(models, tmp_path, capsys):
    path = tmp_path / "nowhere" / "sents.txt"
    code, _, err = run_cli(capsys, ["score", models["lm"], str(path)])
    line = _one_plain_line(code, err)
    assert line == f"rnnkit: error: {path}: no such file (the folder {tmp_path / 'nowhere'} does not exist); check the path"


@pytest.mark.parametrize("case", ["missing", "folder", "no permission", "io error in .gz"])
def test_other_input_file_problems_are_plain_words(models, tmp_path, capsys, monkeypatch, case):
    """(regression guards: these were already worded so, and must stay so beside the cases above)"""
    import gzip

    from rnnkit.data import files

    path = tmp_path / ("sents.txt.gz" if case == "io error in .gz" else "sents.txt")
    if case == "folder":
        path.mkdir()
    elif case == "no permission":  # (as root chmod does not stop a read: the refusal is simulated)
        path.write_text(TEXT, encoding="utf-8")

        def refuse(name, mode="r"):
            raise PermissionError(errno.EACCES, "Permission denied", str(name))
        monkeypatch.setattr(files, "_opener", lambda p: refuse)
    elif case == "io error in .gz":  # an operating system's error met while reading, not a broken archive
        path.write_bytes(gzip.compress(TEXT.encode()))

        class Failing:
            def __init__(self, name, mode):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def read(self, *size):
                raise OSError(errno.EIO, "Input/output error")
        monkeypatch.setattr(files, "_opener", lambda p: Failing)
    code, _, err = run_cli(capsys, ["score", models["lm"], str(path)])
    line = _one_plain_line(code, err)
    want = {"missing": "no such file; check the path", "folder": "is a directory, expected a text file",
            "no permission": "permission denied", "io error in .gz": "cannot read it (input/output error)"}[case]
    assert line.startswith(f"rnnkit: error: {path}: {want}"), err


# ---------------------------------------------------------------------- D4: NUL bytes
def _refusal_without_a_loop(capsys, argv, err):
    """Follow the --encoding the refusal advises, if any: it must not be refused the same way again."""
    advised = re.findall(r"give --encoding ([\w-]+) \(encoding='[\w-]+' in Python\)", err)
    for encoding in advised:
        code, _, again = run_cli(capsys, [*argv, "--encoding", encoding])
        assert code == 0, (err, again)
    return advised


@pytest.mark.parametrize("asked", [[], ["--encoding", "latin-1"], ["--encoding", "cp1252"], ["--encoding", "utf-16-le"]])
def test_binary_data_is_called_binary_and_no_encoding_is_advised(models, tmp_path, capsys, asked):
    path = tmp_path / "bin.dat"
    path.write_bytes(b"\x00\x00\x00\x00abc\xc4\x80\x81\n" + bytes(range(256)) * 4)
    argv = ["score", models["lm"], str(path)]
    code, _, err = run_cli(capsys, [*argv, *asked])
    line = _one_plain_line(code, err)
    assert line.startswith(f"rnnkit: error: {path}: is binary data, not text (a NUL byte at offset 0"), err
    assert "no encoding (--encoding) reads it" in line and not _refusal_without_a_loop(capsys, argv, err)


@pytest.mark.parametrize("command", ["evaluate", "score"])
@pytest.mark.parametrize("asked", [[], ["--encoding", "latin-1"]])
def test_a_checkpoint_given_as_data_is_named_a_checkpoint(models, capsys, command, asked):
    with open(models["lm"], "rb") as f:
        first_nul = f.read().find(b"\x00")
    argv = [command, models["lm"], models["lm"]]
    code, _, err = run_cli(capsys, [*argv, *asked])
    line = _one_plain_line(code, err)
    assert line.startswith(f"rnnkit: error: {models['lm']}: is a safetensors checkpoint (a model file), not text "
                           f"(a NUL byte at offset {first_nul:,}"), err
    assert not _refusal_without_a_loop(capsys, argv, err)


@pytest.mark.parametrize("command", ["evaluate", "score", "generate", "tag"])
def test_data_given_where_the_model_goes_is_named_for_what_it_is(models, tmp_path, capsys, command):
    """`rnnkit evaluate test.txt MODEL` was "unreadable checkpoint, truncated or corrupt (... header too large)"."""
    import gzip

    text, packed = tmp_path / "test.txt", tmp_path / "test.txt.gz"
    text.write_text(TEXT, encoding="utf-8")
    packed.write_bytes(gzip.compress(TEXT.encode()))
    for path, what in ((text, "a text file"), (packed, "a gzip-compressed file")):
        argv = [command, str(path)] + ([] if command == "generate" else [models["lm" if command != "tag" else "pos"]])
        code, _, err = run_cli(capsys, argv)
        line = _one_plain_line(code, err)
        assert line == (f"rnnkit: error: {path} is {what}, not a checkpoint (a .safetensors model file); commands "
                        "take the model first, then the data: e.g. rnnkit evaluate MODEL FILE"), err
    for head in (b"PK\x03\x04" + b"\x00" * 60, b"\x80\x04\x95" + b"\x00" * 60):  # torch.save's zip, a pickle
        pt = tmp_path / "model.pt"
        pt.write_bytes(head)
        argv = [command, str(pt)] + ([] if command == "generate" else [str(text)])
        line = _one_plain_line(*run_cli(capsys, argv)[::2])
        assert line == (f"rnnkit: error: {pt} is a PyTorch or pickle file (torch.save writes a zip of pickles), not "
                        "an rnnkit checkpoint (safetensors); rnnkit never unpickles: load it in PyTorch and bring the "
                        "weights over with rnnkit.torch_io (layer_from_torch)"), line
    whole = open(models["lm"], "rb").read()
    cut = tmp_path / "cut.safetensors"  # a real checkpoint cut short: said so, with its size and the fix
    for n in (100, len(whole) - 3):  # inside the header, and 3 bytes short
        cut.write_bytes(whole[:n])
        code, _, err = run_cli(capsys, [command, str(cut)] + ([] if command == "generate" else [str(text)]))
        assert f"cut.safetensors: truncated checkpoint ({n:,} of its " in _one_plain_line(code, err), err
        assert "start the run again without --resume" in err
    cut.write_bytes(whole[:9] + b"\xff" + whole[10:])  # a damaged header: still called damaged
    code, _, err = run_cli(capsys, [command, str(cut)] + ([] if command == "generate" else [str(text)]))
    assert "unreadable checkpoint, truncated or corrupt" in _one_plain_line(code, err)


def test_torch_save_and_torchscript_archives_are_named_as_pytorch_files(models, tmp_path, capsys):
    """A torch.jit.save archive starts with NAME/data/0, not NAME/data.pkl, and was called "a zip archive":
    the zip's member names are read (nothing unpickled), and a real torch file of either kind is named."""
    import warnings
    import zipfile

    text = tmp_path / "test.txt"
    text.write_text(TEXT, encoding="utf-8")
    files = {}
    for name, members in (("jit_like.pt", ["jit/data/0", "jit/data/1", "jit/data.pkl", "jit/code/__torch__.py"]),
                          ("save_like.pt", ["m/data.pkl", "m/byteorder", "m/data/0", "m/version"]),
                          ("other.zip", ["readme.txt", "weights.npy"]),
                          ("data.zip", ["ptb/data/train.txt", "ptb/code/make.py", "ptb/README"])):
        files[name] = tmp_path / name
        with zipfile.ZipFile(files[name], "w") as z:
            for member in members:
                z.writestr(member, b"\x80\x04N." if member.endswith(".pkl") else b"0")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:  # the real thing, as PyTorch writes it
        files["real_jit.pt"] = tmp_path / "real_jit.pt"
        with warnings.catch_warnings():  # torch.jit.script is deprecated in torch 2.13, still written by many
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.script(torch.nn.Linear(2, 2)).save(str(files["real_jit.pt"]))
        files["real_save.pt"] = tmp_path / "real_save.pt"
        torch.save(torch.nn.Linear(2, 2).state_dict(), files["real_save.pt"])
    for name, path in files.items():
        line = _one_plain_line(*run_cli(capsys, ["evaluate", str(path), str(text)])[::2])
        if name in ("other.zip", "data.zip"):  # a data/ folder is any archive's, not torch's mark
            assert "not a safetensors file: it starts with bytes 50 4b 03 04" in line and "a zip archive" in line, line
        else:
            assert line.startswith(f"rnnkit: error: {path} is a PyTorch or pickle file (torch.save writes a zip of "
                                   "pickles), not an rnnkit checkpoint (safetensors); rnnkit never unpickles"), line


@pytest.mark.parametrize("command", ["evaluate", "tag"])
def test_a_binary_file_given_as_the_model_is_named_by_its_first_bytes(models, tmp_path, capsys, command):
    """The README walk: `rnnkit evaluate flow.png test.txt` was "unreadable checkpoint, truncated or corrupt
    (Error while deserializing header: header too large); ... start the run again without --resume"."""
    import io
    import zipfile

    text = tmp_path / "test.txt"
    text.write_text(TEXT, encoding="utf-8")
    npz = io.BytesIO()
    with zipfile.ZipFile(npz, "w") as z:
        z.writestr("a.npy", b"\x93NUMPY" + bytes(50))
    rng = np.random.default_rng(0)
    for name, data, kind in (("flow.png", b"\x89PNG\r\n\x1a\n" + bytes(range(200)), "; a PNG image"),
                             ("photo.jpg", b"\xff\xd8\xff\xe0" + bytes(range(200)), "; a JPEG image"),
                             ("paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(200)), "; a PDF document"),
                             ("arrays.npz", npz.getvalue(), "; a zip archive"),
                             ("lm.binary", b"mmap lm http://kheafield.com/code format version 5\n\x00\x01",
                              "; a KenLM binary model: rnnkit reads ARPA text files, so give the .arpa file it was "
                              "built from"),
                             ("noise.bin", rng.integers(0, 256, 300, dtype=np.uint8).tobytes(), "")):
        path = tmp_path / name
        path.write_bytes(data)
        code, _, err = run_cli(capsys, [command, str(path), str(text)])
        shown = " ".join(f"{b:02x}" for b in data[:8])
        assert _one_plain_line(code, err) == (
            f"rnnkit: error: {path} is not an rnnkit checkpoint (not a safetensors file: it starts with bytes {shown}"
            f"{kind}); give a model's .safetensors file (a run writes best.safetensors and last.safetensors)"), err


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"])
def test_wide_text_is_told_its_encoding_and_that_encoding_reads_it(models, tmp_path, capsys, codec):
    path = tmp_path / "wide.txt"
    path.write_bytes(TEXT.encode(codec))
    argv = ["score", models["lm"], str(path)]
    code, _, err = run_cli(capsys, argv)
    _one_plain_line(code, err)
    assert _refusal_without_a_loop(capsys, argv, err) == [codec], err


@pytest.mark.parametrize("asked", [[], ["--encoding", "cp1252"], ["--encoding", "latin-1"]])
def test_text_with_a_stray_nul_byte_is_told_to_remove_it(models, tmp_path, capsys, asked):
    path = tmp_path / "stray.txt"
    data = TEXT.encode().replace(b"dog", b"d\x00og", 1)
    path.write_bytes(data)
    argv = ["score", models["lm"], str(path)]
    code, _, err = run_cli(capsys, [*argv, *asked])
    line = _one_plain_line(code, err)
    assert line.startswith(f"rnnkit: error: {path}:2: holds 1 NUL byte (at offset {data.find(0)}), which no text "
                           f"file has"), err
    assert line.endswith(f"remove it: tr -d '\\000' < {path} > {path}.clean"), err
    assert not _refusal_without_a_loop(capsys, argv, err)
    path.write_bytes(data.replace(b"\x00", b""))  # what the advised tr does
    code, _, err = run_cli(capsys, [*argv, *asked])
    assert code == 0, err
