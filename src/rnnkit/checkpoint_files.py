"""Why a path is not a checkpoint rnnkit can read, said in the user's terms: a missing file, a
directory (a run folder, a cross-validation's), a data file given where the model goes, a PyTorch
pickle, a damaged file."""
from __future__ import annotations

import os
from pathlib import Path

from rnnkit.english import a_or_an
from rnnkit.errors import CheckpointError


def check_openable(path: Path, files: str = "the .safetensors file a training run wrote", what: str = "a checkpoint",
                   noun: str = "checkpoint") -> None:
    """CheckpointError for a path that cannot be a checkpoint file: missing (with where a
    cross-validation's fold models are), below a file, a directory, or a device or a pipe (bash's ``<(...)``, a
    named pipe), refused before it is opened: a checkpoint is read in place (its header, then each array where it
    lies), and a named pipe whose writer is gone would leave a second open waiting for ever.  ``files``: the
    kinds of file to give instead, ``what`` the path is not, and ``noun`` what a missing path is not ("no such
    file" where more than checkpoints are read), as the message names them."""
    if not path.exists():
        above = next((p for p in path.parents if p.exists()), None)  # sents.txt/model: sents.txt is a file
        if above is not None and not above.is_dir():
            raise CheckpointError(f"{path}: no such {noun} ({above} is a file, not a folder); check the path")
        raise CheckpointError(f"{path}: no such {noun}; check the path ("
                              + (folds_hint(path.parent) or "runs write best.safetensors and last.safetensors") + ")")
    if path.is_dir():
        folds = folds_hint(path)
        raise CheckpointError(f"{path}: is a directory; give the .safetensors file inside it"
                              + (f" ({folds})" if folds else ""))
    if not path.is_file():  # (a stat, which a pipe answers at once; an open waits for its writer)
        raise CheckpointError(f"{path}: not a regular file (a device or a pipe), so not {what}: a model is read from "
                              f"a file, not a stream; give the file itself ({files})")


def find_checkpoint(path: str | os.PathLike, last: bool = False) -> Path:
    """The checkpoint a run folder stands for, where a command reads a model (``rnnkit export``, ``info``,
    ``translate``, ``evaluate``, ``tag``, ...): ``path`` itself when it is a file; for a run folder its
    ``best.safetensors`` (the one validation chose; ``last.safetensors`` when the run has no best one), or with
    ``last`` (export's --last) its ``last.safetensors``.  CheckpointError (one line) otherwise; a
    cross-validation's folder (train classifier --folds) names its folds' models."""
    from rnnkit.train.run_files import BEST, LAST

    path = Path(path)
    if not path.exists():
        check_openable(path)  # names what is missing, and where a cross-validation's models are
    if not path.is_dir():
        if last:
            raise ValueError(f"last=True (--last) picks a run folder's {LAST}, and {path} is a checkpoint file "
                             "already: give the run folder, or leave last (--last) out")
        return path
    wanted = [LAST] if last else [BEST, LAST]
    for name in wanted:
        if (path / name).is_file():
            return path / name
    folds = folds_hint(path)
    if folds:
        raise CheckpointError(f"{path}: no {' or '.join(wanted)} in it; {folds}: give one of them")
    raise CheckpointError(f"{path}: no {' or '.join(wanted)} in it (a training run's folder has them); give a "
                          "run folder or a checkpoint file")


def model_file(path: str | os.PathLike) -> str | os.PathLike:
    """What a library loader reads for ``path``: a run folder's checkpoint (:func:`find_checkpoint`: its
    best.safetensors, else its last.safetensors; CheckpointError, one line, for a folder with neither or a
    cross-validation's), else ``path`` as given, so that messages name it as the caller wrote it."""
    return find_checkpoint(path) if os.path.isdir(path) else path


def run_folder_note(folder: str | os.PathLike, file: str | os.PathLike) -> str:
    """Which checkpoint of run ``folder`` stands for it (``file``, :func:`find_checkpoint`'s), as ``rnnkit info``
    shows it and the commands that read a model say it."""
    from rnnkit.train.run_files import BEST, LAST

    if os.path.basename(file) == BEST:
        return f"{folder}: its {BEST}, the one validation chose (for the latest weights, give its {LAST})"
    return f"{folder}: its {os.path.basename(file)} (the run holds no {BEST})"


def fold_models(folder: Path) -> list[Path]:
    """A cross-validation run's models (train classifier --folds keeps one per fold: fold1/best.safetensors,
    fold2/, ...), in fold order (fold10 after fold9)."""
    from rnnkit.train.run_files import BEST

    return sorted((p / BEST for p in folder.glob("fold[0-9]*") if (p / BEST).is_file()),
                  key=lambda p: (len(p.parent.name), p.parent.name))


def folds_hint(folder: Path) -> str | None:
    """For a cross-validation run's folder: where its :func:`fold_models` are."""
    models = fold_models(folder)
    if not models:
        return None
    return (f"{folder} is {a_or_an(len(models))} {len(models)}-fold cross-validation run: its models are "
            f"{models[0]} to {models[-1]}")


_PICKLED = "a PyTorch or pickle file (torch.save writes a zip of pickles)"


def read_head(path: str | os.PathLike, size: int = 4096) -> bytes | None:
    """The first ``size`` bytes of ``path``, or None when it cannot be read or is not a regular file: the look
    of every sniffing helper (is it an HMM's JSON, an ONNX graph, safetensors?), which never opens a device or a
    pipe (bash's ``<(...)``, a named pipe): an open of a named pipe waits for its writer, for ever when there is
    none, and a look would take the bytes its reader then misses.  The loader refuses such a path
    (:func:`check_openable`)."""
    if not os.path.isfile(path):  # (a stat, which a pipe answers at once)
        return None
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return None


def _what_else(path: Path, head: bytes) -> str | None:
    """What a file that safetensors cannot read is instead, when that is plain: "a text file" (its head
    decodes as UTF-8 without control characters other than whitespace), a compressed file, or a
    PyTorch/pickle file; else None."""
    if _torch_zip(path, head) or (len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5):
        return _PICKLED
    from rnnkit.data.encodings import compression  # the magic numbers rnnkit's text readers know (error path only)

    packed = compression(head)
    if packed:
        return f"{'an' if packed == 'xz' else 'a'} {packed}-compressed file"
    try:
        text = head.decode("utf-8", errors="strict") if len(head) < 4096 else head[:4000].decode("utf-8", "ignore")
    except UnicodeDecodeError:
        return None
    if text and all(c.isprintable() or c in "\t\n\r\f\v\ufeff" for c in text):
        return "a text file"
    return None


# the first bytes of common files that are given where a model goes (a plot from 'rnnkit curves', a paper)
_MAGIC = [(b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
          (b"%PDF-", "a PDF document"), (b"PK\x03\x04", "a zip archive"), (b"\x93NUMPY", "a numpy .npy array"),
          (b"\x89HDF\r\n\x1a\n", "an HDF5 file (Keras .h5?)"), (b"\x7fELF", "a program (ELF)"),
          (b"mmap lm ", "a KenLM binary model: rnnkit reads ARPA text files, so give the .arpa file it was built from")]


def _torch_zip(path: Path, head: bytes) -> bool:
    """Whether ``path`` (``head`` its first bytes) is a zip that torch.save or torch.jit.save wrote: a member
    NAME/data.pkl or NAME/constants.pkl (the names are read from the zip's directory, nothing is unpickled).
    A zip whose directory cannot be read is taken for torch's when its first member ends in .pkl or its
    name cannot be read, to be safe."""
    if not head.startswith(b"PK\x03\x04"):
        return False
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile, ValueError):
        n = int.from_bytes(head[26:28], "little") if len(head) >= 30 else 0
        name = head[30 : 30 + n]
        return not name or name.endswith(b".pkl")
    # torch.save and torch.jit.save both write NAME/data.pkl (jit also NAME/constants.pkl), one folder deep;
    # a data/ folder alone is any archive's (ptb.zip holding ptb/data/train.txt)
    return any(name.count("/") == 1 and name.endswith(("/data.pkl", "/constants.pkl")) for name in names)


def is_safetensors(path: Path) -> bool:
    """Whether ``path`` starts as a whole safetensors file does (its header's length, within the file, then its
    JSON), whatever its name: ``rnnkit info`` describes a checkpoint renamed ``.onnx`` or ``.arpa`` as one."""
    head = read_head(path, 9)
    if head is None or head[8:9] != b"{":
        return False
    try:
        return int.from_bytes(head[:8], "little") + 8 <= os.path.getsize(path)
    except OSError:  # gone since
        return False


def _safetensors_like(head: bytes) -> bool:
    """Whether ``head`` starts as a safetensors file does: 8 bytes of header length, then its JSON "{".
    A file shorter than that may be a checkpoint cut short."""
    return len(head) < 9 or head[8:9] == b"{"


def unreadable(path: Path, exc: Exception) -> CheckpointError:
    """The error for a file safetensors could not read (``exc``): named for what it is instead, when that
    is plain (:func:`_what_else`), a file that does not start as safetensors files do by its first bytes
    (and its kind, for common ones: a PNG image), else a damaged checkpoint."""
    head = read_head(path)
    other = _what_else(path, head) if head is not None else None
    if other == _PICKLED:  # never unpickled: loading a pickle runs whatever code it holds
        return CheckpointError(f"{path} is {other}, not an rnnkit checkpoint (safetensors); rnnkit never "
                               "unpickles: load it in PyTorch and bring the weights over with rnnkit.torch_io "
                               "(layer_from_torch)")
    from rnnkit.hmm_io import looks_like  # error path only

    if other == "a text file" and looks_like(head):
        return CheckpointError(f"{path} is an HMM tagger's JSON file (HMMTagger.save), not a checkpoint: rnnkit tag, "
                               "evaluate and LoadedTagger read it as it is, HMMTagger.load reads it in Python; save "
                               "the model with rnnkit.tagging.io.save_hmm for a checkpoint")
    if other:  # the data file given where the model goes: evaluate DATA MODEL
        return CheckpointError(f"{path} is {other}, not a checkpoint (a .safetensors model file); commands take "
                               "the model first, then the data: e.g. rnnkit evaluate MODEL FILE")
    if head is not None and head[:1] == b"\x08" and b"\x12\x06rnnkit" in head[:16]:  # ir_version, producer_name
        return CheckpointError(f"{path}: an ONNX graph that 'rnnkit export --onnx' wrote, for onnxruntime; rnnkit "
                               "commands take the model exported without --onnx")
    if head is not None and not _safetensors_like(head):
        shown = " ".join(f"{b:02x}" for b in head[:8])
        kind = next((f"; {name}" for magic, name in _MAGIC if head.startswith(magic)), "")
        return CheckpointError(f"{path} is not an rnnkit checkpoint (not a safetensors file: it starts with bytes "
                               f"{shown}{kind}); give a model's .safetensors file (a run writes best.safetensors "
                               "and last.safetensors)")
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    expected = _written_size(path)
    size = path.stat().st_size if path.is_file() else None
    if expected is not None and size is not None and size < expected:  # a copy or download cut short
        return CheckpointError(f"{path}: truncated checkpoint ({size:,} of its {expected:,} bytes); copy it again, "
                               "or, for a run's last.safetensors, start the run again without --resume")
    return CheckpointError(f"{path}: unreadable checkpoint, truncated or corrupt ({reason}); use another one, or, "
                           "for a run's last.safetensors, start the run again without --resume")


def _written_size(path: Path) -> int | None:
    """The size a safetensors file declares (8 bytes, its JSON header, then the data its offsets reach),
    or None when the header itself cannot be read."""
    import json
    import struct

    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > 100_000_000:
                return None
            header = f.read(n)
        if len(header) < n:
            return 8 + n  # cut inside the header
        ends = [v["data_offsets"][1] for k, v in json.loads(header).items() if k != "__metadata__"]
        return 8 + n + max(ends, default=0)
    except (OSError, ValueError, struct.error, KeyError, TypeError, IndexError):
        return None
