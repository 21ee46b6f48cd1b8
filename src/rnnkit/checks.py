"""Argument checks shared across the library: a bad argument raises ValueError (a bad value) or TypeError
(a value of the wrong kind) naming it, saying what was expected and what came (see :mod:`rnnkit.errors`)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def check_array(name: str, value: Any) -> np.ndarray:
    """``value`` if it is a numpy array; TypeError otherwise, with the conversion for a torch tensor (whose
    ``.shape`` once made the message about the shape, not the type)."""
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"Expected {name} to be a numpy array, got {type(value).__name__}{torch_hint(value)}")


def torch_hint(value: Any) -> str:
    """The conversion to say when ``value`` is a torch tensor, else ''."""
    return " (a torch tensor: pass t.detach().cpu().numpy())" if type(value).__module__.startswith("torch") else ""


def dtype_fix(name: str, got: np.dtype, want: np.dtype, alike: str | None = None) -> str:
    """The fix to add to 'Expected {name} of dtype {want}, got {got}': convert the array, or (for a float
    array) build the layer in its dtype, the other one a layer takes.  ``alike``: for a function, which has no
    layer to build, the arrays whose dtype ``want`` is ("weight and bias"), to cast to ``got`` instead ('': none,
    convert the array)."""
    fix = f"pass {name}.astype(np.{np.dtype(want)})"
    if np.dtype(got) not in (np.float32, np.float64) or alike == "":
        return fix
    if alike is None:
        return f"{fix}, or build the layer with dtype=np.{np.dtype(got)}"
    return f"{fix}, or cast {alike} to np.{np.dtype(got)} alike"


def param_dtype_fix(name: str, want: np.dtype) -> str:
    """The fix to add to 'Expected params[...] of dtype {want}, got ...': a parameter replaced by an array of another
    dtype.  Converting the replacement (``params[k] = params[k].astype(...)``) would leave an optimizer built over
    ``params`` refusing its next step (it updates the arrays it was given), so the values are copied into the
    parameter's own array, which casts them."""
    return (f"copy the values into the parameter's own array in place, {name}[...] = values (cast to "
            f"np.{np.dtype(want)} as they are copied); an array put in its place, converted or not, is not the one an "
            "optimizer updates")


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


def check_config(value: Any, kind: type, name: str = "config") -> Any:
    """``value`` if it is an instance of the config dataclass ``kind``; TypeError otherwise, with the fix
    for the usual mistake of passing the config's fields as a dict (which failed later with an
    AttributeError about some field)."""
    if isinstance(value, kind):
        return value
    cls = kind.__name__
    # "an LMConfig", read as letters; "a TaggerConfig"
    article = "an" if cls[0] in "AEIOU" or (cls[:2].isupper() and cls[0] in "FHLMNRSX") else "a"
    hint = f" (for a dict d, pass {cls}(**d))" if isinstance(value, Mapping) else ""
    raise TypeError(f"Expected {name} to be {article} {cls}{hint}, got {type(value).__name__}")


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


def all_finite(arr: np.ndarray) -> bool:
    """Whether every entry of the float array ``arr`` is finite, usually for the price of one BLAS dot.

    ``arr . arr`` is NaN or inf when some entry is (NaN and inf propagate; inf - inf is NaN), and finite
    otherwise unless the squares overflow (|arr| beyond 1.8e19 in float32): only a non-finite dot is
    confirmed entry by entry, so a large but finite array is never refused.  Over a PTB-sized parameter
    set (4.65M float32, ``benchmarks/bench_optim_check.py``) it takes about 0.4 ms, where
    ``np.isfinite(arr).all()`` takes 0.9 (it writes a boolean array), a float32 sum 0.8 and a float64 sum 3.
    """
    if arr.dtype.kind != "f" or arr.dtype.itemsize < 4 or not arr.flags.c_contiguous:  # BLAS: contiguous f32/f64
        return bool(np.isfinite(arr).all())
    v = arr.reshape(-1)  # a view
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(np.dot(v, v))):
            return True
    return bool(np.isfinite(v).all())  # the squares overflowed, or an entry is NaN or inf


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a bool, refusing anything that is not one (``momentum="yes"``)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Expected {name} to be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def check_id_values(name: str, value: Any, high: int | None = None, low: int | None = 0) -> np.ndarray:
    """``value`` as an int64 array after checking it holds integers (not floats, which would be cut:
    id 1.7 read as 1; not bools, strings or None) in [low, high), a bound of None being no bound; an
    empty list is no ids.  TypeError for the wrong kind, ValueError for a value out of range."""
    try:
        arr = np.asarray(value)
    except ValueError:  # nested lists of different lengths
        raise TypeError(f"Expected {name} to be an array of integer ids, got a ragged {type(value).__name__}") from None
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):  # np.asarray([]) is float
        kind = {"U": "str", "S": "bytes", "O": "object"}.get(arr.dtype.kind, arr.dtype)
        flat = arr.ravel()
        raise TypeError(f"Expected {name} to be integer ids, got {kind} values {flat[:4].tolist()}"
                        f"{' ...' if flat.size > 4 else ''}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if (low is not None and lo < low) or (high is not None and hi >= high):
            if low is not None and high is not None:
                raise ValueError(f"Expected {name} in [{low}, {high}), got values in [{lo}, {hi}]")
            if low is not None:
                raise ValueError(f"Expected {name} >= {low}, got {lo}")
            raise ValueError(f"Expected {name} < {high}, got {hi}")
    return arr


def check_str_sequence(name: str, value: Any) -> list[str]:
    """``value`` as a list after checking it is a sequence of strings, and not itself one string (a
    str is a sequence of its characters: tags 'DNV' would become ['D', 'N', 'V'])."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"Expected {name} to be a list of strings, got a {type(value).__name__} {value!r:.60} "
                        "(give one as a list of one)")
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"Expected {name} to be a list of strings, got {type(value).__name__}") from None
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"Expected {name} to be a list of strings, got {type(item).__name__} {item!r:.60} "
                            f"at position {i}")
    return items


def check_names(name: str, value: Any) -> list[str]:
    """``value`` as a list of distinct, non-empty strings: the tags of a tagger, the labels
    of a classifier (an empty name prints as nothing; a repeated one makes two outputs one answer)."""
    if isinstance(value, dict):  # list({}) is [] and list({"a": 1}) its keys: neither is a list of names
        raise TypeError(f"Expected {name} to be a list of strings, got a dict")
    items = check_str_sequence(name, value)
    empty = [i for i, item in enumerate(items) if not item]
    if empty:
        raise ValueError(f"Expected {name} to be non-empty strings, got an empty one at position {empty[0]}")
    if len(set(items)) < len(items):
        twice = next(item for i, item in enumerate(items) if item in items[:i])
        raise ValueError(f"Expected {name} to be distinct, got {twice!r:.60} twice")
    return items


def check_int_sequence(name: str, value: Any, minimum: int | None = None) -> tuple[int, ...]:
    """``value`` as a tuple of Python ints after checking it is a sequence (not one int, not a str) of
    integers (numpy ones too; not bools, floats or strings, which ``int()`` would turn silently) >= minimum."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"Expected {name} to be a sequence of integers, got a {type(value).__name__} {value!r:.60}")
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"Expected {name} to be a sequence of integers, got {type(value).__name__} {value!r:.60}"
                        ) from None
    for i, v in enumerate(items):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"Expected {name} to hold integers, got {type(v).__name__} {v!r:.60} at position {i}")
        if minimum is not None and v < minimum:
            raise ValueError(f"Expected {name} to hold integers >= {minimum}, got {v!r} at position {i}")
    return tuple(int(v) for v in items)


def check_dtype_name(name: str, value: Any, allowed: tuple[str, ...] = ("float32", "float64")) -> str:
    """The name of the dtype ``value`` ('float32' from 'float32', np.float32 or np.dtype('float32')) if
    it is one of ``allowed``: a config keeps the name, which its JSON can hold."""
    try:
        found = None if value is None else np.dtype(value).name
    except (TypeError, ValueError):
        found = None
    if found not in allowed:
        raise ValueError(f"Expected {name} {' or '.join(repr(a) for a in allowed)}, got {value!r}")
    return found


def check_binary_mask(name: str, mask: np.ndarray) -> np.ndarray:
    """``mask`` as a bool array after checking it is bool or holds only the numbers 0 and 1, as
    :func:`rnnkit.nn.softmax_cross_entropy` takes masks: ``astype(bool)`` would read a 0.5 or a 7 as a real
    token.  TypeError for another dtype, ValueError for another value."""
    if mask.dtype == np.bool_:
        return mask
    if mask.dtype.kind not in "iuf":
        raise TypeError(f"Expected {name} of dtype bool (or 0/1 numbers), got {mask.dtype}")
    bad = (mask != 0) & (mask != 1)  # NaN too
    if bad.any():
        raise ValueError(f"Expected {name} to be bool or hold only 0 and 1, got values "
                         f"{np.unique(mask[bad])[:5].tolist()}")
    return mask != 0
