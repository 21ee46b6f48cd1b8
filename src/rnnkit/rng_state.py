"""A ``numpy.random.Generator`` carried through JSON: :func:`rng_state` takes a snapshot a checkpoint's
meta can hold, :func:`restore_rng` gives back a Generator that draws exactly the numbers the original
would have drawn next (both are also :mod:`rnnkit.checkpoint`'s)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# an explicit list rather than getattr(np.random, name): a file must not pick what we call
_BIT_GENERATORS = {
    "PCG64": np.random.PCG64,
    "PCG64DXSM": np.random.PCG64DXSM,
    "MT19937": np.random.MT19937,
    "Philox": np.random.Philox,
    "SFC64": np.random.SFC64,
}


def _jsonable(value: Any) -> Any:
    """Bit-generator states hold numpy arrays (MT19937, SFC64, Philox) and big ints (PCG64's are 128-bit)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _arrays_back(value: Any, template: Any) -> Any:
    """Give lists back the dtype of the matching array in a fresh generator's state."""
    if isinstance(template, dict) and isinstance(value, dict):
        return {k: _arrays_back(v, template.get(k)) for k, v in value.items()}
    if isinstance(template, np.ndarray):
        return np.asarray(value, dtype=template.dtype)
    return value


def rng_state(generator: np.random.Generator) -> dict[str, Any]:
    """A JSON-serialisable snapshot of ``generator``'s bit generator."""
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"Expected generator to be a numpy.random.Generator, got {type(generator).__name__}")
    return _jsonable(generator.bit_generator.state)


def restore_rng(state: Mapping[str, Any]) -> np.random.Generator:
    """A new Generator that continues exactly the stream whose state :func:`rng_state` took."""
    name = state.get("bit_generator") if isinstance(state, Mapping) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"Expected state from rng_state() with bit_generator in {sorted(_BIT_GENERATORS)}, got {name!r}")
    bit_gen = _BIT_GENERATORS[name]()
    try:
        bit_gen.state = _arrays_back(dict(state), bit_gen.state)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise ValueError(f"Expected a valid {name} state from rng_state(), got one numpy rejects ({exc})") from None
    return np.random.Generator(bit_gen)
