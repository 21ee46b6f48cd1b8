"""Fields of a config dataclass or NamedTuple listed in its docstring, from the comments in its source.

A config's fields are documented where they are declared, one comment each::

    hidden_size: int = 200  # H

``help()`` shows the class docstring and not those comments.  :func:`fields_in_doc` appends them to the
docstring, so the source stays the one place they are written::

    @fields_in_doc
    @dataclass(frozen=True)
    class LMConfig:
        ...

gives ``help(LMConfig)`` a "Fields" list: ``hidden_size`` (int, default 200): H.  A comment line right
under a field continues that field's text.  Without the source (a build that ships only .pyc files) the
docstring is left as it is.
"""
from __future__ import annotations

import inspect
import re
from typing import TypeVar

C = TypeVar("C", bound=type)

_FIELD = re.compile(r"^\s+(\w+)\s*:\s*([^=#]+?)\s*(?:=\s*([^#]+?))?\s*(?:#\s?(.*))?$")
_CONTINUED = re.compile(r"^\s+#\s*(.*)$")


def _names(cls: type) -> list[str]:
    fields = getattr(cls, "__dataclass_fields__", None)
    if fields is not None:
        return list(fields)
    return list(getattr(cls, "_fields", ()))  # a NamedTuple


def fields_in_doc(cls: C) -> C:
    """Append ``cls``'s fields, each with its type, default and source comment, to its docstring."""
    names = set(_names(cls))
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return cls
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("class ")), 0)
    entries: list[list[str]] = []  # [name, type, default, text]
    last = None
    for line in lines[start + 1:]:  # the body, after any decorators and the class line
        if line.lstrip().startswith(("def ", "@")):
            break
        m = _FIELD.match(line)
        if m and m.group(1) in names:
            last = [m.group(1), m.group(2), m.group(3) or "", m.group(4) or ""]
            entries.append(last)
            continue
        c = _CONTINUED.match(line)
        if c and last is not None:
            last[3] = f"{last[3]} {c.group(1).strip()}".strip()
        else:
            last = None
    if not entries:
        return cls
    rows = []
    for name, kind, default, text in entries:
        head = f"``{name}`` ({kind}" + (f", default {default}" if default else "") + ")"
        rows.append(f"    - {head}" + (f": {text}" if text else ""))
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\n    Fields:\n\n" + "\n".join(rows) + "\n"
    return cls
