"""Opening, reading and writing the data files of every format: ``.gz`` / ``.xz`` / ``.bz2`` by name, a file
problem as one :class:`rnnkit.errors.DataError` naming the file, text decoded byte for byte with the
encoding asked for (:mod:`rnnkit.data.encodings` names what a file that does not decode probably
is), standard input read the same way, and lines split on ``\\n`` only; and the check that an output
file can be written, made before the work that ends in writing it."""
from __future__ import annotations

import bz2
import contextlib
import errno
import gzip
import lzma
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TypeVar

from rnnkit.atomic import write_atomically
from rnnkit.data.encodings import Gap, check_encoding, codec_name, decode_bytes, lines_end_in_newline_byte
from rnnkit.errors import DataError, os_problem

T = TypeVar("T")


def _opener(path: Path):
    """The open function for a file name: gzip, lzma or bz2 by suffix, else the builtin."""
    return {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}.get(path.suffix, open)


@contextlib.contextmanager
def open_data(path: Path, kind: str = "a text file") -> Iterator[BinaryIO]:
    """The file opened for reading bytes (``.gz`` / ``.xz`` / ``.bz2`` decompressed).  A missing file, a folder,
    a permission problem or a broken archive, met on opening or while reading inside the block,
    raises one DataError naming the file and what to do."""
    if str(path) == "-" and not os.path.exists(path):  # standard input's usual name, not a file here
        raise DataError("-: this command reads files, not standard input (tag, segment, classify, translate and "
                        "score read it); give a file name, or /dev/stdin")
    try:
        with _opener(path)(path, "rb") as f:
            yield f
    except OSError as exc:
        if exc.errno is None:  # gzip's BadGzipFile and the like: the file is there, its content is not
            raise DataError(f"{path}: cannot be decompressed ({exc}); check the download or decompress it") from None
        raise DataError(_file_problem(path, exc, kind)) from None
    except (EOFError, lzma.LZMAError) as exc:
        raise DataError(f"{path}: cannot be decompressed ({exc}); check the download or decompress it") from None


def _file_problem(path: Path, exc: OSError, kind: str) -> str:
    """The one line for an operating system's error met reading ``path``, in plain words: which part of
    the path is a file where a folder should be, a missing file or folder, a folder, no permission
    (never ``[Errno 20] Not a directory`` nor a decompression problem)."""
    code = exc.errno
    if code == errno.ENOENT:
        parent = path.parent
        nearest = parent
        while not nearest.exists() and nearest != nearest.parent:
            nearest = nearest.parent
        if nearest.is_file():  # (what Windows says for a path below a file)
            return f"{path}: {nearest} is a file, not a folder; check the path"
        if not parent.exists():
            return f"{path}: no such file (the folder {parent} does not exist); check the path"
        return f"{path}: no such file; check the path"
    if code == errno.EISDIR:
        return f"{path}: is a directory, expected {kind}"
    if code in (errno.EACCES, errno.EPERM):
        return f"{path}: permission denied; check the file's permissions"
    if code == errno.ENOTDIR:  # sents.txt/foo: "sents.txt is a file, not a folder"
        return f"{path}: {os_problem(OSError(code, exc.strerror, str(path)))}; check the path"
    return f"{path}: cannot read it ({(exc.strerror or str(exc)).lower()}); check the file and its disk"


def read_text_file(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The whole file decoded as ``encoding``, byte for byte (line ends and byte-order mark kept).

    A byte that does not decode raises DataError with its line number and the encodings the file
    probably is (:mod:`rnnkit.data.encodings`: cp1252 for rt-polarity, gb18030 for GBK Chinese, ...).
    """
    path = Path(path)
    check_encoding(encoding)
    with open_data(path) as f:
        data = f.read()
    return decode_bytes(data, encoding, str(path))


def read_utf8_file(path: str | os.PathLike, kind: str = "a text file") -> str:
    """The text of a file that is UTF-8 whatever a command's --encoding says (a ``segment --dict`` word list,
    an ``@`` argument file), without its byte-order mark.  A byte that is not UTF-8, or a NUL (UTF-16
    text), is a DataError naming file:line, what the file probably is and the iconv line that converts it
    (never "pass --encoding", which does not apply to it); a missing file is :func:`open_data`'s."""
    from rnnkit.data.encodings import binary_signature, not_utf8_advice

    path = Path(path)
    with open_data(path, kind) as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
        start = data.find(b"\x00")
    except UnicodeDecodeError as exc:
        start = exc.start
        text = ""
    if start < 0:
        return text.removeprefix("\ufeff")
    line = data.count(b"\n", 0, start) + 1
    what = "a NUL byte, which no text file has" if data[start] == 0 else "not valid UTF-8"
    hint = binary_signature(data) or not_utf8_advice(data, str(path), option=False, start=start)
    raise DataError(f"{path}:{line}: byte 0x{data[start]:02x} at offset {start:,} is {what}; {hint}")


def read_input(path: str | os.PathLike | None, encoding: str = "utf-8") -> tuple[str, str]:
    """(text, name) of a command's input: the file ``path``, or standard input when it is None.

    Standard input is read as bytes and decoded as ``encoding`` exactly as a file is (a byte that
    does not decode is a DataError naming ``<stdin>`` and its line, never a silent U+FFFD).
    """
    if path is not None:
        return read_text_file(path, encoding), str(path)
    check_encoding(encoding)
    stream = getattr(sys.stdin, "buffer", None)
    data = stream.read() if stream is not None else sys.stdin.read().encode(encoding)  # (a test's StringIO)
    return decode_bytes(data, encoding, "<stdin>"), "<stdin>"


def stdin_lines(encoding: str = "utf-8") -> Iterator[str]:
    """Standard input's lines one at a time, each as soon as it has come (a terminal, a pipe whose writer waits
    between lines), decoded as :func:`read_input` decodes the whole: a byte that does not decode is a DataError
    naming ``<stdin>`` and its line.  Line ends and a BOM are dropped, as :func:`text_lines` drops them.  An
    encoding whose line ends are not the byte 0x0a (UTF-16, UTF-32: read those whole) is a ValueError, raised
    here, before standard input is read."""
    check_encoding(encoding)
    if not lines_end_in_newline_byte(encoding):
        raise ValueError(f"Expected an encoding whose line ends are the byte 0x0a to read standard input line by "
                         f"line, got {codec_name(encoding)}; read it whole (read_input) instead")
    return _stdin_lines(encoding)


def _stdin_lines(encoding: str) -> Iterator[str]:
    """:func:`stdin_lines`' generator, its encoding checked."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # (a test's StringIO)
        yield from ((text_lines(line) or [""])[0] for line in iter(sys.stdin.readline, ""))
        return
    seen = bytearray()  # the first lines, for a line that does not decode to be told of as if read whole
    lines = size = wide = 0  # the lines after those kept and before this one: their bytes, non-ASCII characters
    for raw in iter(stream.readline, b""):
        try:
            text = decode_bytes(raw, encoding, "<stdin>")
        except DataError:
            raise _as_read_whole(bytes(seen), raw, encoding, Gap(lines, size, wide)) from None
        if size or len(seen) + len(raw) > _SEEN:  # a long stream: its first part is enough to guess from
            lines, size = lines + 1, size + len(raw)
            if not text.isascii():
                wide += len(text) - len(text.encode("ascii", "ignore"))
        else:
            seen += raw
        yield (text_lines(text) or [""])[0]


NEWLINE = b"\n"
_SEEN = 1 << 20  # bytes of standard input's first lines kept to tell of a line that does not decode


def _as_read_whole(seen: bytes, raw: bytes, encoding: str, skipped: Gap) -> DataError:
    """The error of standard input's line ``raw``, which does not decode, after the lines ``seen``, as
    :func:`read_input` gives it reading them whole: the line's number, the byte's offset in the input, the
    encoding guessed from all of it (one line is too little: ``\\xff kat`` alone reads as UTF-16).
    ``skipped``: the lines between ``seen`` and ``raw``, not kept, which the numbers count."""
    try:
        decode_bytes(seen + raw, encoding, "<stdin>", skipped)
    except DataError as exc:
        return exc
    # (a check of the whole, such as ASCII read as UTF-16, judged one line and not all of them): the line alone
    text = seen.decode(encoding, errors="replace")
    wide = len(text) - len(text.encode("ascii", "ignore"))
    before = Gap(skipped.lines + seen.count(NEWLINE), skipped.bytes + len(seen), skipped.wide + wide)
    try:
        decode_bytes(raw, encoding, "<stdin>", before)
    except DataError as exc:
        return exc
    raise AssertionError("a line that does not decode alone decoded")  # (stdin_lines met its error)


def text_lines(text: str) -> list[str]:
    """Lines of a decoded text without their line ends (``\\n`` or ``\\r\\n``) and without a BOM.

    Splits on ``\\n`` only: ``str.splitlines`` would also split on form feeds and U+2028, which may
    sit inside a sentence.  A final line end does not make an extra empty line.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def write_text_file(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` exactly (no newline translation), compressed when the name ends in .gz/.xz/.bz2, and
    atomically (:mod:`rnnkit.atomic`); missing parent folders are made, as for checkpoints.  The text is
    encoded before the file is opened: a character ``encoding`` cannot hold raises UnicodeEncodeError
    without creating or emptying the file."""
    data = text.encode(encoding)
    write_text_blocks(path, [data], encoding)


def write_text_blocks(path: str | os.PathLike, blocks: Iterable[str | bytes], encoding: str = "utf-8") -> None:
    """:func:`write_text_file` of the blocks' text, each block encoded and written as it comes (a command
    that makes its output block by block never holds all of it).  Still atomic: a block ``encoding``
    cannot hold (UnicodeEncodeError), or any other error, leaves the earlier file, or none."""

    def fill(write: Callable[[str | bytes], None]) -> None:
        for block in blocks:
            write(block)

    write_text_with(path, fill, encoding)


def write_text_with(path: str | os.PathLike, fill: Callable[[Callable[[str | bytes], None]], T],
                    encoding: str = "utf-8") -> T:
    """:func:`write_text_blocks` for a maker that pushes its text rather than yields it: ``fill(write)`` is
    called with a function that encodes and writes one block, and its result is returned.  The file
    appears, whole, when ``fill`` returns; an error inside it leaves the earlier file, or none."""
    path = Path(path)
    opener = _opener(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    result: list[T] = []

    def write(f: BinaryIO) -> None:
        with contextlib.ExitStack() as stack:
            out = f if opener is open else stack.enter_context(opener(f, "wb"))  # gzip / lzma / bz2 around f
            result.append(fill(lambda block: out.write(block if isinstance(block, bytes) else block.encode(encoding))))

    write_atomically(path, write)  # whole or not at all: a kill or a full disk leaves the earlier file
    return result[0]


_WHAT = {".safetensors": "a model", ".onnx": "a model", ".arpa": "an ARPA model", ".png": "a plot",
         ".json": "the weights", ".jsonl": "the attention weights"}  # what an output of this suffix holds
# the stem of the file name the messages suggest for an output of this suffix: model.safetensors, newdir/plot.png
_STEM = {".safetensors": "model", ".onnx": "model", ".arpa": "model", ".png": "plot", ".json": "weights"}
_MODEL_FORMATS = {".safetensors": "safetensors", ".onnx": "ONNX"}  # suffix -> format of a model written whole


def _example(suffix: str) -> str:
    """The file name '-' refused for ``suffix`` suggests: model.safetensors, attention.jsonl, out.txt."""
    return {**_STEM, ".jsonl": "attention"}.get(suffix, "out") + suffix


def check_output_path(path: str, option: str, make_folders: bool = False, suffix: str = ".txt",
                      inputs: Sequence[str | None] = (), folder_fix: str | None = None) -> None:
    """ValueError naming ``option`` when ``path`` cannot be written as a file: a folder, a missing
    folder (unless ``make_folders``: the command makes them), a file where a folder should be, no
    permission.  Checked before the work that ends in writing it, so the mistake costs nothing.
    ``suffix``: of the file name the message suggests for a folder (".safetensors" or ".onnx": a model,
    which a device cannot take and a compressed name misnames).  ``folder_fix``: what the message for a
    folder says to do instead of suggesting a file in it.  ``inputs``: the files the command reads, which
    the output must not be.  A path ending in a separator (``newdir/``) names a folder, whether or not it
    exists: refused, where ``Path`` would drop the separator and write a file named ``newdir``.  ``-``,
    standard output's usual name, is refused: a caller that writes standard output checks for it first
    (:func:`rnnkit.cli.output.is_stdout`), and elsewhere it would make a file named ``-``."""
    if str(path) == "-":
        raise ValueError(f"{option} -: {_WHAT.get(suffix, 'this output')} cannot go to standard output; "
                         f"give a file name, e.g. {_example(suffix)}")
    p = Path(path)
    ends_in_separator = str(path).endswith(tuple(filter(None, (os.sep, os.altsep))))
    if p.is_dir() or ends_in_separator:  # (an existing file named with a separator after it too)
        how = "is" if p.is_dir() else "names"
        name = _STEM.get(suffix, "output") + suffix  # newdir/model.safetensors, segout/output.txt
        raise ValueError(f"{option} {path} {how} a folder; {folder_fix or f'give a file name, e.g. {p / name}'}")
    model = _MODEL_FORMATS.get(suffix)
    if model and p.name.lower().endswith((".gz", ".xz", ".bz2")):  # written as is, uncompressed
        raise ValueError(f"{option} {path}: a model is saved uncompressed ({model}), so a compressed file's name "
                         f"would mislead; give a name without {p.suffix}, e.g. {p.with_suffix('').name}")
    if model and p.exists() and not p.is_file():  # a model replaces its file: not a device
        raise ValueError(f"{option} {path} is not a regular file (a device or a pipe); a model is saved to a file: "
                         f"give a file path, e.g. model{suffix}")
    if inputs and any(q and os.path.exists(q) and os.path.samefile(q, p) for q in inputs if p.exists()):
        raise ValueError(f"{option} {path} is a file this command reads; writing there would overwrite it: "
                         "choose another path")
    if p.exists() and not p.is_file():  # /dev/null, /dev/stdout, a pipe: written into, not replaced, so the
        if not os.access(p, os.W_OK):    # folder's permissions (/dev: root's alone) do not matter
            raise ValueError(_cannot_write(option, path, p))
        return
    parent = p.parent
    while make_folders and not parent.exists() and parent != parent.parent:
        parent = parent.parent  # the nearest folder that exists: the rest will be made
    if parent.exists() and not parent.is_dir():
        raise ValueError(f"{option} {path}: {parent} is a file, not a folder; choose another path")
    if not parent.exists():
        raise ValueError(f"{option} {path}: the folder {parent} does not exist; create it or choose another path")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ValueError(_cannot_write(option, path, parent))
    _try_writing(p, parent, option)


def _cannot_write(option: str, path: str, where: Path) -> str:
    """Why ``path`` cannot be written: ``where`` (it or its folder) is on a read-only file system (a
    mounted CD, a container's read-only volume: no permission would help), or no permission."""
    with contextlib.suppress(OSError, AttributeError):  # (no statvfs on Windows)
        if os.statvfs(where).f_flag & os.ST_RDONLY:
            return f"{option} {path}: {where} is on a read-only file system; choose another path"
    return f"{option} {path}: no permission to write there; choose another path"


def _try_writing(p: Path, parent: Path, option: str) -> None:
    """Make and remove what writing ``p`` will make in ``parent`` (its nearest existing folder): the
    temporary file an atomic write starts with, or a folder when folders are to be made.  Permissions
    do not tell all: root may write anywhere by them, yet /proc, /sys and read-only mounts refuse."""
    from rnnkit.atomic import temporary_path

    try:
        if parent == p.parent:
            tmp = temporary_path(p)
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            os.unlink(tmp)
        else:
            tmp = temporary_path(parent / p.name)
            os.mkdir(tmp)
            os.rmdir(tmp)
    except OSError as exc:
        where = f"a file in {parent}" if parent == p.parent else f"a folder in {parent}"
        why = "the folder takes no new files" if exc.errno == errno.ENOENT else (exc.strerror or str(exc)).lower()
        raise ValueError(f"{option} {p}: cannot create {where} ({why}); choose another path") from None
