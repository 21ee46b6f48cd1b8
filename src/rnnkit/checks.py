"""Argument checks shared across the library: a bad argument raises ValueError naming it, saying what
was expected and what came (see :mod:`rnnkit.errors`)."""
from __future__ import annotations

import math
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


def check_number(name: str, value: Any, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a Python float after checking it is a finite number in the given range.

    Python floats keep float32 arrays float32 under NumPy 2's promotion rules, whereas a stray
    ``np.float64`` hyperparameter would silently promote every update to float64.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Expected {name} to be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"Expected {name} to be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        bound = ">" if low_open else ">="
        raise ValueError(f"Expected {name} {bound} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        bound = "<" if high_open else "<="
        raise ValueError(f"Expected {name} {bound} {high}, got {value}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a bool, refusing anything that is not one (``momentum="yes"``)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Expected {name} to be a bool, got {type(value).__name__} {value!r}")
    return bool(value)
