"""Argument checks shared across the library: a bad argument raises ValueError naming it, saying what
was expected and what came (see :mod:`rnnkit.errors`)."""
from __future__ import annotations

from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int, allow_none: bool = False) -> int | None:
    """``int(value)`` if value is an integer (not a bool) >= minimum; otherwise ValueError naming ``name``.

    With ``allow_none=True`` None is accepted too (and returned), and the message says so.
    """
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"Expected {name} to be an integer >= {minimum}{' or None' if allow_none else ''}, "
                         f"got {value!r}")
    return int(value)


def check_rate(name: str, value: Any) -> float:
    """``float(value)`` if value is a real number (not a bool) in [0, 1), as every dropout rate must be;
    otherwise ValueError naming ``name``."""
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not 0.0 <= value < 1.0):
        raise ValueError(f"Expected {name} in [0, 1), got {value!r}")
    return float(value)


def check_rng(rng: Any, name: str = "rng", allow_none: bool = False) -> np.random.Generator | None:
    """``rng`` if it is a ``numpy.random.Generator`` (or None when allowed); TypeError otherwise, with
    the fix for the usual mistake of passing a seed."""
    if (allow_none and rng is None) or isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"Expected {name} to be a numpy.random.Generator{' or None' if allow_none else ''}, got "
                    f"{type(rng).__name__} (for a seed s, pass np.random.default_rng(s))")
