"""Checkpoints: arrays in one safetensors file, everything else as JSON in its header; never pickle.

A checkpoint is a single ``.safetensors`` file.  Its tensors are the arrays (parameters, optimizer
state, carried hidden state...) under flat names such as ``model/weight_ih_l0``; its header's
``__metadata__`` holds ``{"rnnkit": "<JSON>"}`` with the format tag ``rnnkit-checkpoint/1`` and the
caller's metadata (configs, step, random-generator state, vocabulary...).

Writes are atomic: the file is written to a temporary name in the same directory, flushed and
fsync'ed, then renamed over the target with ``os.replace``, so a crash at any moment leaves either
the old complete file or the new complete one.  Every way a load can fail (missing, truncated,
corrupt, not an rnnkit checkpoint, a newer format) raises :class:`~rnnkit.errors.CheckpointError`
with one line naming the file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.errors import CheckpointError

FORMAT = "rnnkit-checkpoint/1"


def save_checkpoint(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` and JSON-serialisable ``meta`` to ``path`` atomically."""
    from safetensors.numpy import save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        header = json.dumps({"format": FORMAT, "meta": meta}, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Expected JSON-serialisable checkpoint metadata, got {exc}") from None
    tensors = {}
    for name, arr in arrays.items():
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Expected numpy arrays in a checkpoint, got {type(arr).__name__} for {name!r}")
        tensors[name] = np.ascontiguousarray(arr)
    data = save(tensors, metadata={"rnnkit": header})
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read ``(arrays, meta)`` back; any problem is a CheckpointError naming the file."""
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint; check the path (runs write best.safetensors and last.safetensors)")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory; give the .safetensors file inside it")
    try:
        with safe_open(str(path), framework="numpy") as f:
            header = (f.metadata() or {}).get("rnnkit")
            if header is None:
                raise CheckpointError(f"{path}: a safetensors file, but not an rnnkit checkpoint (no rnnkit metadata)")
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except CheckpointError:
        raise
    except Exception as exc:  # safetensors raises its own error types for every kind of damage
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: unreadable checkpoint, truncated or corrupt ({reason}); use another one") from None
    try:
        doc = json.loads(header)
        fmt = doc["format"]
        meta = doc["meta"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise CheckpointError(f"{path}: damaged rnnkit metadata; use another checkpoint") from None
    if fmt != FORMAT:
        raise CheckpointError(f"{path}: format {fmt!r}, this rnnkit reads {FORMAT!r}; upgrade rnnkit")
    return arrays, meta


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's full state as JSON-able data (PCG64's 128-bit integers are plain ints)."""
    return rng.bit_generator.state


def restore_rng(state: dict[str, Any]) -> np.random.Generator:
    """A generator that continues exactly the stream whose state :func:`rng_state` took."""
    name = state.get("bit_generator")
    bit_generator_cls = getattr(np.random, str(name), None)
    if bit_generator_cls is None:
        raise CheckpointError(f"unknown random bit generator {name!r} in checkpoint")
    bg = bit_generator_cls()
    bg.state = state
    return np.random.Generator(bg)
