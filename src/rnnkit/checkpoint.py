"""Checkpoints: arrays in one safetensors file, everything else as JSON in its header; never pickle.

A checkpoint is a single ``.safetensors`` file (any safetensors reader can open its arrays)::

    tensors               the arrays under flat names such as "model/weight_ih_l0"
    header.__metadata__   {"rnnkit": json.dumps({
                              "format": "rnnkit-checkpoint/1",
                              "meta":   the caller's meta (configs, step, optimizer, rng state, kind...),
                              "keys":   the caller's array order (safetensors sorts by name),
                              "sha256": digest of every array's name, dtype, shape and bytes,
                              "meta_sha256": digest of the meta as canonical JSON})}

The digests catch flipped bits (or edits) in the data and in the meta, which safetensors' own header
checks cannot see: a changed cursor or step in a training run's meta would resume another run.  Files
of the same format written before ``keys`` and the digests existed still load, unchecked.

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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as _st_save

from rnnkit.atomic import remove_stale_temporaries, write_atomically  # noqa: F401  (remove_...: the loop's tidying)
from rnnkit.checkpoint_files import check_openable, unreadable
from rnnkit.errors import CheckpointError, os_problem
from rnnkit.rng_state import restore_rng, rng_state  # noqa: F401  (part of this module's API)

FORMAT = "rnnkit-checkpoint/1"
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
    doc = {"format": FORMAT, "meta": dict(meta), "keys": list(checked), "sha256": _digest(checked)}
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
def _damaged(path: Path, what: str) -> CheckpointError:
    return CheckpointError(f"{path}: damaged rnnkit metadata ({what}); use another checkpoint")


def _read(path: Path, arrays: bool) -> tuple[str | None, dict[str, np.ndarray]]:
    """The file's rnnkit header (None without one) and, if ``arrays``, copies of its arrays."""
    if path.exists() and not path.is_file() and not path.is_dir():  # /dev/null, a pipe: "check its permissions"
        raise CheckpointError(f"{path}: not a regular file (a device or a pipe), so not a checkpoint; give the "
                              ".safetensors file a training run wrote")
    try:
        with safe_open(str(path), framework="np") as f:
            header = (f.metadata() or {}).get("rnnkit")
            if header is None and "rnnkit_torch" in (f.metadata() or {}):  # rnnkit.export_torch's TORCH_MARK
                raise CheckpointError(f"{path}: a PyTorch state dict that 'rnnkit export --torch' wrote, for "
                                      "loading in PyTorch; rnnkit commands take the model exported without --torch")
            # np.array copies out of the memory map, so the file may be replaced afterwards
            raw = {key: np.array(f.get_tensor(key)) for key in f.keys()} if arrays else {}
    except SafetensorError as exc:
        raise unreadable(path, exc) from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint ({exc.strerror or exc}); check its permissions") from None
    return header, raw


def _document(path: Path, header: str | None) -> dict[str, Any]:
    """The parsed rnnkit header, its format and meta checked."""
    if header is None:
        raise CheckpointError(
            f"{path}: a safetensors file, but not an rnnkit checkpoint (no rnnkit metadata); "
            "for PyTorch weights use rnnkit.torch_io"
        )
    try:
        doc = json.loads(header)
    except ValueError:
        raise _damaged(path, "header is not JSON") from None
    if not isinstance(doc, dict) or "format" not in doc or not isinstance(doc.get("meta"), dict):
        raise _damaged(path, "no format or meta")
    if doc["format"] != FORMAT:
        raise CheckpointError(f"{path}: format {doc['format']!r}, this rnnkit reads {FORMAT!r}; upgrade rnnkit")
    if "meta_sha256" in doc and doc["meta_sha256"] != _meta_digest(doc["meta"]):
        raise CheckpointError(f"{path}: its metadata does not match its checksum (a corrupt or edited file); use "
                              "another checkpoint")
    return doc


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` from a file written by :func:`save_checkpoint`; the arrays are writable copies."""
    path = Path(path)
    check_openable(path)
    header, raw = _read(path, arrays=True)
    doc = _document(path, header)
    _check_data(path, doc, list(raw), raw.__getitem__)
    return {key: raw[key] for key in doc.get("keys", sorted(raw))}, doc["meta"]


def _check_data(path: Path, doc: Mapping[str, Any], names: list[str], get: Callable[[str], np.ndarray]) -> None:
    """The arrays ``names`` against the header ``doc``'s list and digest; ``get(name)`` reads one (not all at once)."""
    keys = doc.get("keys", sorted(names))
    if not isinstance(keys, list) or sorted(keys) != sorted(names):
        raise _damaged(path, "its list of arrays does not match the arrays stored")
    if "sha256" in doc and doc["sha256"] != _digest(names, get):
        raise CheckpointError(f"{path}: array data does not match its checksum (corrupt file); use another checkpoint")


def verify_arrays(path: str | os.PathLike, doc: Mapping[str, Any]) -> None:
    """Check the arrays against ``doc`` (:func:`load_document`'s) as :func:`load_checkpoint` does, one at a time."""
    try:
        with safe_open(str(path), framework="np") as f:
            _check_data(Path(path), doc, list(f.keys()), f.get_tensor)
    except SafetensorError as exc:
        raise unreadable(Path(path), exc) from None


def load_meta(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint's ``meta`` alone, without reading (or checking) its arrays: to learn what it holds."""
    return load_document(path)["meta"]


def load_document(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint's rnnkit header (format, meta, keys, digests), its meta checked, its arrays not read."""
    path = Path(path)
    check_openable(path)
    header, _ = _read(path, arrays=False)
    return _document(path, header)


def copy_into(params: dict[str, np.ndarray], arrays: Mapping[str, np.ndarray], what: str = "the model's") -> None:
    """Copy ``arrays`` into ``params`` in place (views of them stay valid), checking names and shapes."""
    missing = sorted(set(params) - set(arrays))
    unexpected = sorted(set(arrays) - set(params))
    if missing or unexpected:
        raise ValueError(f"Expected {what} parameters, missing {missing}, unexpected {unexpected}")
    for k, v in arrays.items():
        if not isinstance(v, np.ndarray):
            raise TypeError(f"Expected {k} as a numpy array, got {type(v).__name__}")
        if v.shape != params[k].shape:
            raise ValueError(f"Expected {k} of shape {params[k].shape}, got {v.shape}")
        if params[k].dtype.kind == "f" and v.dtype not in (np.float32, np.float64):  # bool, int, float16: cast
            raise ValueError(f"Expected {k} as float32 or float64, got {v.dtype}")   # silently, or lossily
        params[k][...] = v


# what each task's checkpoint is (meta["task"]["model"]) and the commands that take it, for the message
# that a checkpoint of another kind was given
MODEL_KINDS = {
    "lm": ("a language model", "rnnkit generate, evaluate or score"),
    "ngram": ("an n-gram language model", "rnnkit generate, evaluate or score"),
    "tagger": ("a tagger", "rnnkit tag (segment for a segmenter) or evaluate"),
    "hmm": ("an HMM tagger", "rnnkit tag (segment for a segmenter) or evaluate"),
    "classifier": ("a text classifier", "rnnkit classify or evaluate"),
    "treenet": ("a tree model", "rnnkit classify or evaluate"),
    "seq2seq": ("a translation model", "rnnkit translate or evaluate"),
}


def kind_name(kind: Any) -> str:
    """What a checkpoint of ``kind`` is, for messages: "a language model", "a tree model"."""
    if isinstance(kind, str) and kind in MODEL_KINDS:
        return MODEL_KINDS[kind][0]
    return f"a model of kind {kind!r:.60}"


def other_kind(kind: Any) -> str:
    """What a checkpoint of ``kind`` is and where it is used ("it is a language model: use it with ...")."""
    if isinstance(kind, str) and kind in MODEL_KINDS:  # a list or dict there (a damaged file) is no kind
        what, commands = MODEL_KINDS[kind]
        return f"it is {what}: use it with {commands}"
    return f"its model kind is {kind!r:.60}" if kind else "it holds no model (a file rnnkit did not train?)"


Loaded = tuple[dict[str, np.ndarray], dict[str, Any]]  # what load_checkpoint returns: (arrays, meta)


def load_task_checkpoint(path: str | os.PathLike, kind: str, what: str, command: str,
                         loaded: Loaded | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(model arrays, task metadata)`` of a checkpoint that a ``kind`` task wrote (``meta["task"]["model"]``).

    The arrays are those saved under ``model/``, with the prefix removed (float16 ones of a model that
    ``rnnkit export --dtype float16`` wrote widened to float32).  Another kind of checkpoint
    raises :class:`CheckpointError` naming ``what`` it should be and the ``command`` that writes one.
    ``loaded``: the ``(arrays, meta)`` :func:`load_checkpoint` gave for ``path``, when the caller has read them
    (``rnnkit export``), checked as the file's would be.
    """
    arrays, meta = load_checkpoint(path) if loaded is None else loaded
    task = meta.get("task") or {}
    if not isinstance(task, dict):
        raise _damaged(Path(path), f"its task is a {type(task).__name__}, not an object")
    if task.get("model") != kind:
        raise CheckpointError(f"{path}: not a {what} checkpoint; {other_kind(task.get('model'))}, or pass a "
                              f"checkpoint written by '{command}'")
    model = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    export = meta.get("export")
    if isinstance(export, dict) and export.get("dtype") == "float16":  # rnnkit export --dtype float16: the weights
        for name, a in model.items():  # are widened to float32, exactly, so the model computes as it was trained
            if a.dtype == np.float16:
                model[name] = a.astype(np.float32)
    for name, a in model.items():  # training never saves NaN or inf weights (rnnkit.guard): damaged or edited
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise CheckpointError(f"{path}: the weights {name} hold NaN or inf values (a damaged or edited file: "
                                  "training never saves such weights); use another checkpoint")
    _check_sizes(Path(path), task, model)
    return model, task


def _check_sizes(path: Path, task: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """A size in the task's model configuration (``*_config``) above 4096 and above every dimension of
    the arrays stored is damage: refused before a loader builds a model of that size (vocabulary,
    hidden or layer count of 10**9 would try to allocate gigabytes, or build layers for ever)."""
    limit = max([4096] + [d for a in arrays.values() for d in a.shape])
    for key, config in task.items():
        if not (isinstance(key, str) and key.endswith("_config") and isinstance(config, dict)):
            continue
        for field, value in config.items():
            if isinstance(value, int) and not isinstance(value, bool) and value > limit:
                raise _damaged(path, f"{key}.{field} is {value:,}, larger than any array the file holds")


@contextmanager
def reading_metadata(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Turn a missing or malformed metadata field (KeyError, TypeError, ValueError) into one clear error."""
    try:
        yield
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged {what} metadata ({exc}); retrain or use another checkpoint") from None


def check_matches(*pairs: tuple[str, Any, str, int]) -> None:
    """ValueError (for :func:`reading_metadata` to name the file) when a size of the model's configuration
    differs from the count it must equal: ``("lm_config.vocab_size", 16, "the vocabulary", len(vocab))``."""
    for name, value, other, count in pairs:
        if value != count:
            raise ValueError(f"{name} is {value!r:.40}, but {other} holds {count:,}")


def restore_params(model: Any, arrays: Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """``model.load_arrays(arrays)``, with a wrong name or shape reported as a damaged checkpoint."""
    try:
        model.load_arrays(arrays)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None


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
