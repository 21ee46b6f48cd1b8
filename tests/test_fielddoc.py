"""Config fields listed in help() from their source comments (rnnkit.fielddoc)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import numpy as np

from rnnkit.fielddoc import fields_in_doc


@fields_in_doc
@dataclass(frozen=True)
class _Sizes:
    """Two sizes."""

    width: int  # W, the first
    depth: float = 2.5  # D, which goes on
    #                     on the next line
    plain: str = "x"

    def area(self) -> float:
        unrelated: int = 3  # a local, not a field
        return self.width * self.depth + unrelated


@fields_in_doc
class _Pair(NamedTuple):
    """A pair."""

    ids: np.ndarray  # (T, B) ids
    lengths: np.ndarray | None = None  # (B,)


def test_fields_with_types_defaults_and_comments_reach_the_docstring():
    doc = _Sizes.__doc__
    assert doc.startswith("Two sizes.\n\n    Fields:\n\n")
    assert "- ``width`` (int): W, the first\n" in doc
    assert "- ``depth`` (float, default 2.5): D, which goes on on the next line\n" in doc
    assert "- ``plain`` (str, default \"x\")\n" in doc and "unrelated" not in doc
    assert "- ``ids`` (np.ndarray): (T, B) ids" in _Pair.__doc__
    assert "- ``lengths`` (np.ndarray | None, default None): (B,)" in _Pair.__doc__


def test_without_source_the_docstring_is_left_alone():
    scope: dict = {}
    exec("from dataclasses import dataclass\n@dataclass\nclass Made:\n    '''Made.'''\n    x: int = 1  # one\n", scope)
    assert fields_in_doc(scope["Made"]).__doc__ == "Made."


def test_the_configs_a_user_builds_show_their_fields():
    from rnnkit.lm.model import LMConfig
    from rnnkit.tagging.model import TaggerBatch
    from rnnkit.train.config import TrainConfig

    assert "- ``hidden_size`` (int, default 200): H" in LMConfig.__doc__
    assert "- ``words`` (np.ndarray): (T, B) word ids" in TaggerBatch.__doc__
    assert "- ``frozen`` (tuple[str, ...], default ()): parameters kept as they are" in TrainConfig.__doc__


@fields_in_doc
@dataclass
class _Tricky:
    """Tricky.

    Args:
        width: a docstring line that looks like a field
    """

    kinds: ClassVar[tuple] = ("a", "b")  # a class variable, not a field
    width: int = 3  # W
    sep: str = "#"  # the separator, whose default holds a '#'
    # --- a section comment, not part of sep's ---
    sizes: tuple = (
        1, 2)  # over two lines
    extra: dict = field(default_factory=dict)  # made fresh
    fixed: int = field(default=4)

    class Inner:
        width: int = 9  # a nested class's, not this one's


def test_declarations_are_read_as_python_reads_them():
    doc = _Tricky.__doc__
    rows = [line.strip() for line in doc.splitlines() if line.strip().startswith("- ``")]
    assert rows == ['- ``width`` (int, default 3): W',
                    "- ``sep`` (str, default \"#\"): the separator, whose default holds a '#'",
                    '- ``sizes`` (tuple, default (1, 2)): over two lines',
                    '- ``extra`` (dict, default dict()): made fresh',
                    '- ``fixed`` (int, default 4)'], doc


def test_the_source_is_read_when_the_docstring_is_first_read_and_once(monkeypatch):
    """Reading the source cost 120 ms over the configs at every import, for a docstring only help() reads."""
    import inspect

    calls = []
    real = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda obj: calls.append(obj) or real(obj))

    @fields_in_doc
    @dataclass
    class Late:
        """Late."""

        n: int = 2  # the count

    assert calls == []
    assert Late.__doc__ == Late().__doc__ == "Late.\n\n    Fields:\n\n    - ``n`` (int, default 2): the count\n"
    assert calls == [Late]
