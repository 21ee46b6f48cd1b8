"""Names a package exports but loads on first use (PEP 562): ``import rnnkit`` stays free of numpy, and
``rnnkit.lm``'s n-gram side free of the RNN's modules."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any


def lazy_exports(package: str, names: dict[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``: ``names`` maps each exported name to the
    module that defines it, imported when the name is first read and then kept in ``namespace`` (the
    package's globals()), so later reads are ordinary lookups.  ``dir(package)`` lists ``__all__``, the names
    still to load, the submodules imported so far and the underscored names."""

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        # the exports, the submodules loaded so far and the underscored names, not what the package's own
        # code imported for itself (``annotations`` from __future__, ``lazy_exports``)
        public = set(namespace.get("__all__", ())) | set(names)
        return sorted(key for key in set(namespace) | set(names)
                      if key.startswith("_") or key in public or isinstance(namespace.get(key), ModuleType))

    return __getattr__, __dir__
