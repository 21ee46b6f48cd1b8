"""``rnnkit translate`` as a filter: standard input translated line by line as it arrives (a terminal, or
--line-buffered on a pipe whose writer waits), --nbest 1 written as a row with its score, and an empty input
said on standard error."""
from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time

import pytest
from clirun import run_cli

from rnnkit.cli.main import main

SOURCES = ["ein rot hund", "katze läuft", "ein groß haus"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("stream")
    pairs = [("ein rot hund", "a red dog"), ("katze läuft", "cat runs"), ("ein groß haus", "a big house")] * 10
    (d / "pairs.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    assert main(["train", "seq2seq", "--train", str(d / "pairs.tsv"), "--epochs", "1", "--embed", "8", "--hidden",
                 "8", "--progress", "none", "--run-dir", str(d / "run")]) == 0
    return str(d / "run" / "last.safetensors")


def _ready(fd: int, seconds: float) -> bool:
    return bool(select.select([fd], [], [], seconds)[0])


def _first_line_before_the_second(model: str, extra: list[str], stdin: int | None = None,
                                  write_fd: int | None = None) -> tuple[bytes, subprocess.Popen]:
    """Start translate, write one line, and read its translation before writing any more (None if it has not
    come within 60 s): the writer waits, as `(echo A; sleep 4; echo B) | rnnkit translate` does."""
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit.cli.main", "translate", model, *extra],
                            stdin=subprocess.PIPE if stdin is None else stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    if write_fd is None:
        proc.stdin.write(f"{SOURCES[0]}\n".encode())
        proc.stdin.flush()
    else:
        os.write(write_fd, f"{SOURCES[0]}\n".encode())
    out = proc.stdout.readline() if _ready(proc.stdout.fileno(), 60) else None
    return out, proc


def test_a_piped_line_is_translated_before_the_next_comes_with_line_buffered(model):
    whole = subprocess.run([sys.executable, "-m", "rnnkit.cli.main", "translate", model],
                           input="".join(s + "\n" for s in SOURCES).encode(), capture_output=True, check=True)
    first, proc = _first_line_before_the_second(model, ["--line-buffered"])
    assert first is not None and first == whole.stdout.splitlines(keepends=True)[0], first
    proc.stdin.write("".join(s + "\n" for s in SOURCES[1:]).encode())
    proc.stdin.close()
    rest = proc.stdout.read()
    assert proc.wait(timeout=60) == 0 and first + rest == whole.stdout
    # without it a pipe is read to its end first: nothing comes while the writer waits
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit.cli.main", "translate", model], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(f"{SOURCES[0]}\n".encode())
    proc.stdin.flush()
    time.sleep(3)  # loaded and waiting for the end of the input
    assert not _ready(proc.stdout.fileno(), 0)
    proc.stdin.close()
    assert proc.stdout.read() == whole.stdout.splitlines(keepends=True)[0] and proc.wait(timeout=60) == 0


def test_a_terminal_line_is_translated_as_it_is_typed(model):
    pty = pytest.importorskip("pty")
    writer, reader = pty.openpty()  # the terminal's side, and the program's standard input
    try:
        first, proc = _first_line_before_the_second(model, ["--nbest", "1"], stdin=reader, write_fd=writer)
        assert first is not None and first.startswith(b"0 ||| ") and first.count(b" ||| ") == 2, first
        os.write(writer, f"{SOURCES[1]}\n".encode())
        assert _ready(proc.stdout.fileno(), 60) and proc.stdout.readline().startswith(b"1 ||| ")
        os.write(writer, b"\x04")  # Ctrl-D: the end of the input
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(writer)
        os.close(reader)


def test_nbest_1_given_prints_the_row_with_its_score(model, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(s + "\n" for s in SOURCES)))
    code, plain, _ = run_cli(capsys, ["translate", model])
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(s + "\n" for s in SOURCES)))
    code2, rows, _ = run_cli(capsys, ["translate", model, "--nbest", "1"])
    assert code == code2 == 0
    parts = [row.split(" ||| ") for row in rows.splitlines()]
    assert [p[0] for p in parts] == ["0", "1", "2"] and [p[1] for p in parts] == plain.splitlines()
    assert all(float(p[2]) <= 0 for p in parts), rows


def test_an_empty_input_exits_0_and_says_so(model, capsys, monkeypatch, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    code, out, err = run_cli(capsys, ["translate", model, str(empty)])
    assert code == 0 and out == "" and err == f"rnnkit: warning: {empty}: no input lines, so nothing to translate\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    for extra in ([], ["--line-buffered"]):
        code, out, err = run_cli(capsys, ["translate", model, *extra])
        assert code == 0 and out == "" and "<stdin>: no input lines" in err and err.count("\n") == 1, err


def _translate(model: str, data: bytes, extra: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnkit.cli.main", "translate", model, *extra], input=data,
                          capture_output=True)


def test_line_by_line_says_what_batch_mode_says_of_a_line_that_does_not_decode(model):
    """Read line by line, the line alone was guessed from (``\\xff kat``: "looks like UTF-16 big-endian", where the
    input read whole is cp1252) and the offset was within it."""
    data = b"ein rot hund\n\xff kat\n"
    whole, lines = _translate(model, data, []), _translate(model, data, ["--line-buffered"])
    said = whole.stderr.decode().strip().splitlines()[-1]
    assert whole.returncode == 2 and said.startswith("rnnkit: error: <stdin>:2: byte 0xff at offset 13 is not valid "
                                                     "UTF-8; it looks like Windows Western European (cp1252)"), said
    assert lines.returncode == 2 and lines.stderr.decode().strip().splitlines()[-1] == said, lines.stderr


def test_an_alias_of_utf16_is_read_whole_as_utf16_is(model):
    """--encoding u16 (Python's alias of utf-16) was not recognised as UTF-16, whose line ends are not the byte
    0x0a, and read line by line: a NUL byte refused."""
    data = "".join(s + "\n" for s in SOURCES).encode("utf-16")
    whole = _translate(model, data, ["--encoding", "utf-16"])
    for alias in ("u16", "UTF_16"):
        lines = _translate(model, data, ["--encoding", alias, "--line-buffered"])
        assert lines.returncode == 0 and lines.stdout == whole.stdout and whole.returncode == 0, lines.stderr


def test_a_long_input_keeps_its_first_part_and_counts_the_rest(monkeypatch):
    """Past the bytes kept to guess from, the line number and the offset still count every line before."""
    import rnnkit.data.files as files
    from rnnkit.errors import DataError

    monkeypatch.setattr(files, "_SEEN", 20)
    data = b"".join(b"ein rot hund %d\n" % k for k in range(5)) + b"\xff kat\n"  # 5 lines of 15 bytes
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    with pytest.raises(DataError, match=r"^<stdin>:6: byte 0xff at offset 75 is not valid UTF-8; it looks like "):
        list(files.stdin_lines("utf-8"))


def test_a_long_mixed_input_is_told_of_as_read_whole(monkeypatch):
    """A line past the kept part that is not UTF-8, in an input of accented UTF-8 before it: the whole message
    is read_input's for the same bytes (before, "before line 4" and "tail -n +4" named the line after the
    kept part, and the count of non-ASCII characters left out the lines not kept)."""
    import rnnkit.data.files as files
    from rnnkit.data.encodings import decode_bytes
    from rnnkit.errors import DataError

    monkeypatch.setattr(files, "_SEEN", 40)
    data = b"".join("größe straße über %d\n".encode() % k for k in range(30)) + "café\n".encode("cp1252")
    with pytest.raises(DataError) as whole:
        decode_bytes(data, "utf-8", "<stdin>")
    assert "before line 31" in str(whole.value) and "(120 non-ASCII characters)" in str(whole.value)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    with pytest.raises(DataError) as lines:
        list(files.stdin_lines("utf-8"))
    assert str(lines.value) == str(whole.value)


@pytest.mark.parametrize("last, encoding", [(b"ein \x00 hund\n", "utf-8"),  # a stray NUL byte
                                            ("straße\n".encode(), "cp1252")])  # UTF-8 read as cp1252
def test_a_nul_byte_or_a_wrong_codec_past_the_kept_part_is_told_of_as_read_whole(monkeypatch, last, encoding):
    """The NUL byte's and the wrong --encoding's messages named the line (and offset) counted from the kept part,
    the lines not kept left out: line 3 of 31."""
    import rnnkit.data.files as files
    from rnnkit.data.encodings import decode_bytes
    from rnnkit.errors import DataError

    monkeypatch.setattr(files, "_SEEN", 40)
    data = b"".join(b"ein rot hund %d\n" % k for k in range(30)) + last
    with pytest.raises(DataError) as whole:
        decode_bytes(data, encoding, "<stdin>")
    assert str(whole.value).startswith("<stdin>:31: "), whole.value
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    with pytest.raises(DataError) as lines:
        list(files.stdin_lines(encoding))
    assert str(lines.value) == str(whole.value)


def test_a_wrong_codec_told_of_by_its_line_alone_counts_the_lines_before(monkeypatch):
    """cp1252 text kept (its 0xe9 is no UTF-8), then UTF-8 past the kept part: read whole, the two do not tell
    (the bytes from the first 0xe9 are not UTF-8), so the line is judged alone, after every line before it."""
    import rnnkit.data.files as files
    from rnnkit.errors import DataError

    monkeypatch.setattr(files, "_SEEN", 40)
    data = "café\n".encode("cp1252") + b"".join(b"ein rot hund %d\n" % k for k in range(30)) + "straße\n".encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    with pytest.raises(DataError, match=r"^<stdin>:32: read as cp1252, but its bytes are valid UTF-8"):
        list(files.stdin_lines("cp1252"))


@pytest.mark.parametrize("encoding, named", [("utf-16", "utf-16"), ("u16", "utf-16"), ("UTF_32_LE", "utf-32-le"),
                                             ("utf-16-be", "utf-16-be"), ("cp500", "cp500")])
def test_stdin_lines_refuses_an_encoding_whose_line_ends_are_not_the_byte_0x0a(monkeypatch, encoding, named):
    """Its caller (translate) used to be what kept UTF-16 and UTF-32 from it: refused at the call, before standard
    input is read (a generator's check would wait for the first line), naming the codec."""
    import rnnkit.data.files as files

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("ein rot hund\n".encode(encoding))))
    with pytest.raises(ValueError, match=f"^Expected an encoding whose line ends are the byte 0x0a to read standard "
                                         f"input line by line, got {named}; read it whole"):
        files.stdin_lines(encoding)
    assert sys.stdin.buffer.tell() == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "cp1252", "iso2022_jp"])
def test_stdin_lines_reads_an_encoding_whose_line_ends_are_the_byte_0x0a(monkeypatch, encoding):
    import rnnkit.data.files as files

    text = "".join(s + "\n" for s in SOURCES)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode(encoding, "replace"))))
    assert list(files.stdin_lines(encoding)) == text.encode(encoding, "replace").decode(encoding).splitlines()


def test_ebcdic_input_is_read_whole_as_utf16_is(model):
    """cp500 (EBCDIC) ends a line with 0x25: --line-buffered reads it whole, as it does UTF-16."""
    data = "".join(s + "\n" for s in SOURCES).encode("cp500")
    whole = _translate(model, data, ["--encoding", "cp500"])
    lines = _translate(model, data, ["--encoding", "cp500", "--line-buffered"])
    assert lines.returncode == 0 and lines.stdout == whole.stdout and whole.returncode == 0, lines.stderr
    assert whole.stdout.count(b"\n") == len(SOURCES), whole.stdout
