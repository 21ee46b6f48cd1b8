"""A command's input from a file or from standard input: both decoded with --encoding, byte for byte,
and a byte that does not decode is one DataError naming where it is (never a silent U+FFFD)."""
from __future__ import annotations

import io
import sys

import pytest

from rnnkit.data.files import read_input
from rnnkit.errors import DataError


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_stdin_is_decoded_with_the_encoding(monkeypatch):
    _stdin(monkeypatch, "the caf\u00e9 \u00ff\n".encode("cp1252"))
    assert read_input(None, "cp1252") == ("the caf\u00e9 \u00ff\n", "<stdin>")
    _stdin(monkeypatch, "\u6211\u4eec ok\n".encode("utf-16"))
    assert read_input(None, "utf-16")[0] == "\u6211\u4eec ok\n"


def test_undecodable_stdin_names_stdin_and_the_line(monkeypatch):
    _stdin(monkeypatch, b"fine\nthe cat \xff\xfe sat\n")
    with pytest.raises(DataError, match=r"^<stdin>:2: byte 0xff at offset 13 is not valid UTF-8; .*--encoding cp1252"):
        read_input(None, "utf-8")


def test_a_file_and_stdin_read_alike(tmp_path, monkeypatch):
    data = "a\r\nb \u00e9\n".encode("latin-1")
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    _stdin(monkeypatch, data)
    assert read_input(str(path), "latin-1")[0] == read_input(None, "latin-1")[0] == "a\r\nb \u00e9\n"
    with pytest.raises(ValueError, match="codec name"):
        read_input(None, "no-such-codec")

