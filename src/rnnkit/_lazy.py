"""Names a package exports but loads on first use (PEP 562): ``import rnnkit`` stays free of numpy, and
``rnnkit.lm``'s n-gram side free of the RNN's modules."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``: ``names`` maps each exported name to the
    module that defines it, imported when the name is first read and then kept in ``namespace`` (the
    package's globals()), so later reads are ordinary lookups."""

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
