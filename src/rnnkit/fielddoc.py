"""Fields of a config dataclass or NamedTuple listed in its docstring, from the comments in its source.

A config's fields are documented where they are declared, one comment each::

    hidden_size: int = 200  # H

``help()`` shows the class docstring and not those comments.  :func:`fields_in_doc` appends them to the
docstring, so the source stays the one place they are written::

    @fields_in_doc
    @dataclass(frozen=True)
    class LMConfig:
        ...

gives ``help(LMConfig)`` a "Fields" list: ``hidden_size`` (int, default 200): H.  The declarations are
found with :mod:`ast` (the class's own annotated assignments: not its docstring, a nested class or a
``ClassVar``) and the comments with :mod:`tokenize` (so a ``#`` inside a string is not one).  A comment
line right under a field whose text is indented past its ``#`` (``#      more``) continues that field's
comment; one that is not (``# --- section ---``) does not.  Without the source (a build that ships only
.pyc files) the docstring is left as it is.
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import re
import textwrap
import tokenize
from typing import TypeVar

C = TypeVar("C", bound=type)

_CONTINUATION = re.compile(r"^#\s{2,}\S")  # '#' then an indented text: the comment above goes on


def _names(cls: type) -> set[str]:
    if dataclasses.is_dataclass(cls):
        return {f.name for f in dataclasses.fields(cls)}  # not ClassVar pseudo-fields
    return set(getattr(cls, "_fields", ()))  # a NamedTuple


def _written(source: str, expr: ast.expr) -> str:
    """``expr`` as written in ``source``, or, where that spans lines, as :func:`ast.unparse` gives it."""
    text = ast.get_source_segment(source, expr) or ""
    return text if text and "\n" not in text else ast.unparse(expr)


def _default(source: str, value: ast.expr | None) -> str:
    """The default as written; ``field(default_factory=f)`` as ``f()``, ``field(default=v)`` as v."""
    if value is None:
        return ""
    if isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) == "field":
        for kw in value.keywords:
            if kw.arg == "default_factory":
                return f"{_written(source, kw.value)}()"
            if kw.arg == "default":
                return _written(source, kw.value)
        return ""
    return _written(source, value)


class _FieldsDoc:
    """A class's ``__doc__`` made on first read: the original text with the fields appended.  Reading the
    source (inspect, ast, tokenize) costs 5-25 ms a class, which every import of a config paid (120 ms over
    the decorated classes) while only ``help()`` and the like ever read it; a type looks up a ``__doc__``
    that has ``__get__`` through it, so ``cls.__doc__``, an instance's and :func:`inspect.getdoc` see the text."""

    def __init__(self, cls: type, doc: str | None) -> None:
        self.cls, self.doc, self.made = cls, doc, False

    def __get__(self, obj: object, owner: type | None = None) -> str | None:
        if not self.made:
            self.doc, self.made = _with_fields(self.cls, self.doc), True
        return self.doc


def fields_in_doc(cls: C) -> C:
    """Append ``cls``'s fields, each with its type, default and source comment, to its docstring (made when
    the docstring is first read)."""
    cls.__doc__ = _FieldsDoc(cls, cls.__doc__)  # type: ignore[assignment]
    return cls


def _with_fields(cls: type, doc: str | None) -> str | None:
    """``doc`` with ``cls``'s fields appended; ``doc`` itself without the source or without fields."""
    names = _names(cls)
    try:
        source = textwrap.dedent(inspect.getsource(cls))
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (OSError, TypeError, SyntaxError, tokenize.TokenError):
        return doc
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
    if node is None:
        return doc
    lines = source.splitlines()
    comments = {t.start[0]: t for t in tokens if t.type == tokenize.COMMENT}  # line -> its comment
    body = node.body
    rows = []
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id in names):
            continue
        texts = []
        inline = comments.get(stmt.end_lineno)
        if inline is not None:
            texts.append(inline.string.lstrip("#").strip())
            following = body[i + 1].lineno if i + 1 < len(body) else len(lines) + 1
            for line in range(stmt.end_lineno + 1, following):
                c = comments.get(line)
                alone = c is not None and not lines[line - 1][:c.start[1]].strip()
                if not (alone and _CONTINUATION.match(c.string)):
                    break
                texts.append(c.string.lstrip("#").strip())
        kind = _written(source, stmt.annotation)
        default = _default(source, stmt.value)
        text = " ".join(t for t in texts if t)
        head = f"``{stmt.target.id}`` ({kind}" + (f", default {default}" if default else "") + ")"
        rows.append(f"    - {head}" + (f": {text}" if text else ""))
    if not rows:
        return doc
    return (doc or "").rstrip() + "\n\n    Fields:\n\n" + "\n".join(rows) + "\n"
