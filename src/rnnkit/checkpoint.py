"""Checkpoints: arrays in one safetensors file, everything else as JSON in its header; never pickle.

A checkpoint is a single ``.safetensors`` file (any safetensors reader can open its arrays)::

    tensors               the arrays under flat names such as "model/weight_ih_l0"
    header.__metadata__   {"rnnkit": json.dumps({
                              "format": "rnnkit-checkpoint/1",
                              "rnnkit_version": the rnnkit that wrote it, e.g. "0.1.0",
                              "meta":   the caller's meta (configs, step, optimizer, rng state, kind...),
                              "keys":   the caller's array order (safetensors sorts by name),
                              "sha256": digest of every array's name, dtype, shape and bytes,
                              "meta_sha256": digest of the meta as canonical JSON})}

The digests catch flipped bits (or edits) in the data and in the meta, which safetensors' own header
checks cannot see: a changed cursor or step in a training run's meta would resume another run.  Files
of the same format written before ``keys`` and the digests existed still load, unchecked.
``rnnkit_version`` says which rnnkit wrote the file (``rnnkit info`` shows it); it is outside the meta
and its digest, so that the meta a caller reads back is the meta it saved and a reader of any version
checks the digests alike; files written before it was recorded lack it and load as before.

Writes are atomic: the bytes go to a temporary file in the target's directory, which is flushed and
``fsync``-ed, then ``os.replace``-d onto the target (one rename), and the directory is ``fsync``-ed
where the platform allows; a crash at any moment leaves either the old complete file or the new one.
Every way a load can fail (missing, truncated, corrupt, not an rnnkit checkpoint, another format
version) raises :class:`~rnnkit.errors.CheckpointError` with one line naming the file.

Nested state is flattened to ``"optim/m/weight_ih_l0"``-style names by :func:`flatten` and rebuilt by
:func:`unflatten`; :func:`rng_state` / :func:`restore_rng` carry a ``numpy.random.Generator`` through
JSON so a resumed run draws exactly the numbers the uninterrupted run would have drawn.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as _st_save

from rnnkit._version import __version__
from rnnkit.atomic import remove_stale_temporaries, write_atomically  # noqa: F401  (remove_...: the loop's tidying)
from rnnkit.checkpoint_files import check_openable, unreadable
from rnnkit.errors import CheckpointError, os_problem
from rnnkit.rng_state import restore_rng, rng_state  # noqa: F401  (part of this module's API)

__all__ = ["FORMAT", "Loaded", "flatten", "load_checkpoint", "load_document", "load_meta", "restore_rng", "rng_state",
           "save_checkpoint", "unflatten"]

FORMAT = "rnnkit-checkpoint/1"
TORCH_MARK = "rnnkit_torch"  # the metadata key of the files 'rnnkit export --torch' writes (rnnkit.export_torch)
SEP = "/"
_CHUNK = 1 << 20  # write in 1 MiB pieces
_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
     "float16", "float32", "float64"]
)


# ---------------------------------------------------------------------------------------- saving
def _check_arrays(arrays: Any) -> dict[str, np.ndarray]:
    """C-ordered little-endian versions of the arrays, in the caller's order."""
    if not isinstance(arrays, Mapping):
        raise TypeError(f"Expected arrays as a dict of str -> numpy array, got {type(arrays).__name__}")
    out: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        if not isinstance(key, str) or not key or key == "__metadata__":
            raise ValueError(f"Expected array names to be non-empty strings other than '__metadata__', got {key!r}")
        if not isinstance(value, np.ndarray):
            raise TypeError(f"Expected arrays[{key!r}] to be a numpy array, got {type(value).__name__}")
        if value.dtype.name not in _DTYPES:
            raise TypeError(f"Expected arrays[{key!r}] of a bool, integer or float16/32/64 dtype, got {value.dtype}")
        # np.asarray(order="C"), not np.ascontiguousarray, which turns 0-d arrays into 1-d ones
        out[key] = np.asarray(value, dtype=value.dtype.newbyteorder("<"), order="C")
    return out


def _digest(arrays: Mapping[str, np.ndarray] | Iterable[str], get: Callable[[str], np.ndarray] | None = None) -> str:
    """SHA-256 over every array's name, dtype, shape and little-endian bytes, in name order (``get``: _check_data)."""
    get = get or arrays.__getitem__
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = get(key)
        a = np.asarray(a, dtype=a.dtype.newbyteorder("<"), order="C")
        h.update(json.dumps([key, a.dtype.name, list(a.shape)]).encode())
        h.update(a.reshape(-1).view(np.uint8))
    return h.hexdigest()


def _meta_digest(meta: Any) -> str:
    """SHA-256 of ``meta`` as sorted-key JSON, taken after a JSON round trip (tuples become lists, int
    keys strings), so that the meta a reader parses has the digest the writer computed."""
    canonical = json.dumps(json.loads(json.dumps(meta)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _unserialisable(value: Any, where: str) -> tuple[str, Any] | None:
    """(path, value) of the first value in ``value`` that JSON cannot hold, e.g. ("meta['lr']", np.float32(0.1))."""
    if isinstance(value, dict):
        for k, v in value.items():
            found = _unserialisable(v, f"{where}[{k!r}]")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = _unserialisable(v, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if value is None or isinstance(value, (str, int, float, bool)) else (where, value)


def _write_all(f: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        f.write(view[start:start + _CHUNK])


def save_checkpoint(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> Path:
    """Write ``arrays`` and the JSON-serialisable ``meta`` to ``path`` atomically; returns the file written:
    ``path``, or the file a symbolic link ``path`` leads to, found before the write (:func:`write_atomically`).

    Missing parent directories are created.  ``meta`` goes through ``json.dumps``: tuples come back
    as lists and non-string keys as strings; NaN and infinities are kept.
    """
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():  # the rename would put a file in its place
        raise ValueError(f"{path} is not a regular file (a device or a pipe); a checkpoint is written to a file: "
                         "give a file path")
    checked = _check_arrays(arrays)
    if not isinstance(meta, Mapping):
        raise TypeError(f"Expected meta as a dict, got {type(meta).__name__}")
    doc = {"format": FORMAT, "rnnkit_version": __version__, "meta": dict(meta), "keys": list(checked),
           "sha256": _digest(checked)}
    try:
        doc["meta_sha256"] = _meta_digest(doc["meta"])
        header = json.dumps(doc)
    except (TypeError, ValueError) as exc:
        found = _unserialisable(doc["meta"], "meta")
        if found is None:
            raise TypeError(f"Expected JSON-serialisable meta, got {exc}") from None
        where, value = found
        hint = " (a numpy number: convert it with float() or int())" if isinstance(value, np.generic) else ""
        raise TypeError(f"Expected JSON-serialisable meta, got {type(value).__name__} {value!r:.60} at "
                        f"{where}{hint}") from None
    data = _st_save(checked, metadata={"rnnkit": header})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a folder should be, no permission: named in plain words
        raise CheckpointError(f"{path}: cannot write checkpoint ({os_problem(exc)}); choose another path") from exc
    if path.is_dir():
        raise CheckpointError(f"{path}: cannot write checkpoint ({path} is a folder); give a file name, e.g. "
                              f"{path / 'model.safetensors'}")
    try:
        # the temporary is beside the target (os.replace is atomic only within one file system) and is
        # removed, the old checkpoint kept, whatever stops the write (a full disk, Ctrl-C)
        return write_atomically(path, lambda f: _write_all(f, data), durable=True)
    except OSError as exc:
        raise CheckpointError(
            f"{path}: cannot write checkpoint ({os_problem(exc)}); the previous file, if any, is unchanged"
        ) from exc


# --------------------------------------------------------------------------------------- loading
def damaged(path: Path, what: str) -> CheckpointError:
    return CheckpointError(f"{path}: damaged rnnkit metadata ({what}); use another checkpoint")


def _read(path: Path, arrays: bool) -> tuple[str | None, dict[str, np.ndarray]]:
    """The file's rnnkit header (None without one) and, if ``arrays``, copies of its arrays."""
    try:  # (check_openable has refused a device or a pipe, which safetensors said to check the permissions of)
        with safe_open(str(path), framework="np") as f:
            header = (f.metadata() or {}).get("rnnkit")
            if header is None and TORCH_MARK in (f.metadata() or {}):
                raise CheckpointError(f"{path}: a PyTorch state dict that 'rnnkit export --torch' wrote, for "
                                      "loading in PyTorch; rnnkit commands take the model exported without --torch")
            # np.array copies out of the memory map, so the file may be replaced afterwards
            raw = {key: np.array(f.get_tensor(key)) for key in f.keys()} if arrays else {}
    except SafetensorError as exc:
        raise unreadable(path, exc) from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint ({exc.strerror or exc}); check its permissions") from None
    return header, raw


def parse_document(path: Path, header: str | None) -> dict[str, Any]:
    """The parsed rnnkit header (the metadata's "rnnkit" string, None without one), its format and meta checked."""
    if header is None:
        raise CheckpointError(
            f"{path}: a safetensors file, but not an rnnkit checkpoint (no rnnkit metadata); "
            "for PyTorch weights use rnnkit.torch_io"
        )
    try:
        doc = json.loads(header)
    except ValueError:
        raise damaged(path, "header is not JSON") from None
    if not isinstance(doc, dict) or "format" not in doc or not isinstance(doc.get("meta"), dict):
        raise damaged(path, "no format or meta")
    if doc["format"] != FORMAT:
        raise CheckpointError(f"{path}: format {doc['format']!r}, this rnnkit reads {FORMAT!r}; upgrade rnnkit")
    if "meta_sha256" in doc and doc["meta_sha256"] != _meta_digest(doc["meta"]):
        raise CheckpointError(f"{path}: its metadata does not match its checksum (a corrupt or edited file); use "
                              "another checkpoint")
    return doc


Loaded = tuple[dict[str, np.ndarray], dict[str, Any]]  # what load_checkpoint returns: (arrays, meta)


def load_checkpoint(path: str | os.PathLike) -> Loaded:
    """``(arrays, meta)`` from a file written by :func:`save_checkpoint`; the arrays are writable copies."""
    path = Path(path)
    check_openable(path)
    header, raw = _read(path, arrays=True)
    doc = parse_document(path, header)
    _check_data(path, doc, list(raw), raw.__getitem__)
    return {key: raw[key] for key in doc.get("keys", sorted(raw))}, doc["meta"]


def _check_data(path: Path, doc: Mapping[str, Any], names: list[str], get: Callable[[str], np.ndarray]) -> None:
    """The arrays ``names`` against the header ``doc``'s list and digest; ``get(name)`` reads one (not all at once)."""
    keys = doc.get("keys", sorted(names))
    if not isinstance(keys, list) or sorted(keys) != sorted(names):
        raise damaged(path, "its list of arrays does not match the arrays stored")
    if "sha256" in doc and doc["sha256"] != _digest(names, get):
        raise CheckpointError(f"{path}: array data does not match its checksum (corrupt file); use another checkpoint")


def verify_arrays(path: str | os.PathLike, doc: Mapping[str, Any], opened: Any) -> None:
    """Check the arrays of the file ``path``, ``opened`` by ``safe_open``, against ``doc`` (:func:`parse_document`'s)
    as :func:`load_checkpoint` does, one at a time (SafetensorError for data safetensors cannot read)."""
    _check_data(Path(path), doc, list(opened.keys()), opened.get_tensor)


def load_meta(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint's ``meta`` alone, without reading (or checking) its arrays: to learn what it holds."""
    return load_document(path)["meta"]


def load_document(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint's rnnkit header (format, rnnkit_version, meta, keys, digests), its meta checked, its arrays
    not read."""
    path = Path(path)
    check_openable(path)
    header, _ = _read(path, arrays=False)
    return parse_document(path, header)


# ------------------------------------------------------------------------------- nested state
def flatten(nested: Mapping[str, Any], sep: str = SEP) -> dict[str, np.ndarray]:
    """``{"model": {"w": a}, "optim": {"m": {"w": b}}}`` -> ``{"model/w": a, "optim/m/w": b}``.

    Leaves must be numpy arrays (numpy scalars become 0-d arrays); plain numbers belong in ``meta``.
    Empty sub-dicts hold no array and vanish, so :func:`unflatten` cannot bring them back.
    """
    if not isinstance(nested, Mapping):
        raise TypeError(f"Expected nested as a dict, got {type(nested).__name__}")
    flat: dict[str, np.ndarray] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if not isinstance(key, str) or not key or sep in key:
                raise ValueError(f"Expected keys to be non-empty strings without {sep!r}, got {prefix + str(key)!r}")
            name = prefix + key
            if isinstance(value, Mapping):
                walk(value, name + sep)
            elif isinstance(value, (np.ndarray, np.generic)):
                flat[name] = np.asarray(value)
            else:
                raise TypeError(f"Expected {name!r} to be a numpy array or a dict, got {type(value).__name__}")

    walk(nested, "")
    return flat


def unflatten(flat: Mapping[str, np.ndarray], sep: str = SEP) -> dict[str, Any]:
    """Inverse of :func:`flatten`: ``{"model/w": a}`` -> ``{"model": {"w": a}}``."""
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        parts = name.split(sep)
        if not all(parts):
            raise ValueError(f"Expected names without empty parts, got {name!r}")
        node = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"Expected {part!r} to be an array or a group, got both (with {name!r})")
            node = child
        if parts[-1] in node:
            raise ValueError(f"Expected {name!r} to be an array or a group, got both")
        node[parts[-1]] = value
    return nested
