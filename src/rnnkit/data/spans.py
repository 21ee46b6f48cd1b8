"""Span (chunk, entity) tags: IOB1, IOB2 (BIO) and BIOES, and conversion between them.

A tag is ``O`` (outside) or ``P-TYPE`` where the prefix P marks the token's place in a span of
that TYPE (the type is everything after the first ``-``):

* IOB2 / BIO: ``B`` begins every span, ``I`` continues it.
* IOB1 (CoNLL-2000/2003 originals): every token of a span is ``I``; ``B`` appears only on the first
  token of a span that directly follows a span of the same type.
* BIOES: ``S`` a single-token span, ``B`` begin, ``I`` inside, ``E`` end.

Spans are read the way the conlleval script reads chunks, whatever the scheme, so ill-formed
predicted sequences get conlleval's spans.  Between tokens t-1 and t:

* a span ends after t-1 when t-1 is ``E`` or ``S``; or t-1 is ``B``/``I`` and t is ``B``, ``S`` or ``O``;
  or t-1 is not ``O`` and the types differ;
* a span starts at t when t is ``B`` or ``S``; or t is ``I``/``E`` and t-1 is ``O``, ``E`` or ``S``;
  or t is not ``O`` and the types differ.

So ``O I-X`` starts a span at the ``I`` (IOB1's rule, and conlleval's repair of bad IOB2), and the
``E``/``S`` rules are those seqeval adds to conlleval's for BIOES.  A span is ``(type, start, end)``
with ``end`` exclusive, like a Python slice: ``tags[start:end]`` are its tokens.

Conversion decodes the spans and encodes them again in the target scheme, so a well-formed
sequence converts the textbook way and an ill-formed one converts to the spans conlleval sees.
"""
from __future__ import annotations

from collections.abc import Sequence

from rnnkit.english import a_or_an_letters

SCHEMES = ("iob1", "iob2", "bioes")
_PREFIXES = {"iob1": "BI", "iob2": "BI", "bioes": "BIES"}


def _check_scheme(scheme: str) -> None:
    if scheme not in _PREFIXES:
        hint = " (BIO is 'iob2' here)" if str(scheme).lower() == "bio" else ""
        raise ValueError(f"Expected scheme to be one of {SCHEMES}{hint}, got {scheme!r}")


def split_tag(tag: str, scheme: str = "iob2") -> tuple[str, str]:
    """``(prefix, type)`` of a tag: ``"B-PER"`` -> ``("B", "PER")``, ``"O"`` -> ``("O", "")``.

    Raises ValueError for a tag that is not ``O`` nor ``P-TYPE`` with a prefix of ``scheme``.
    """
    _check_scheme(scheme)
    if tag == "O":
        return "O", ""
    prefixes = _PREFIXES[scheme]
    if not isinstance(tag, str) or len(tag) < 3 or tag[1] != "-" or tag[0] not in prefixes:
        allowed = ", ".join(f"{p}-TYPE" for p in prefixes)
        raise ValueError(f"Expected {a_or_an_letters(scheme)} {scheme.upper()} tag (O, {allowed}), got {tag!r}")
    return tag[0], tag[2:]


def check_tags(tags: Sequence[str], scheme: str = "iob2") -> None:
    """Raise ValueError naming the position of the first tag that is not valid in ``scheme``."""
    _check_scheme(scheme)  # before the loop: a bad scheme is not a tag "at position 0"
    for i, tag in enumerate(tags):
        try:
            split_tag(tag, scheme)
        except ValueError as exc:
            raise ValueError(f"{exc} at position {i}") from None


def spans(tags: Sequence[str], scheme: str = "iob2") -> list[tuple[str, int, int]]:
    """Spans ``(type, start, end)`` (end exclusive) of a tag sequence, read as conlleval reads chunks.

    ``scheme`` only decides which prefixes are allowed; the reading rules (module docstring) are
    the same for all schemes, which is what makes IOB1 and IOB2 of the same spans give the same
    list.
    """
    check_tags(tags, scheme)
    found: list[tuple[str, int, int]] = []
    open_type: str | None = None  # type of the span being read, None outside a span
    open_start = 0
    may_continue = False  # the previous tag was B or I, so an I or E of the same type continues
    for i, tag in enumerate(tags):
        prefix, kind = split_tag(tag, scheme)
        continues = prefix in "IE" and may_continue and kind == open_type
        if open_type is not None and not continues:
            found.append((open_type, open_start, i))
            open_type = None
        if prefix != "O" and not continues:
            open_type = kind
            open_start = i
        if prefix in "ES" and open_type is not None:
            # E and S close their span on their own token
            found.append((open_type, open_start, i + 1))
            open_type = None
        may_continue = prefix in "BI"
    if open_type is not None:
        found.append((open_type, open_start, len(tags)))
    return found


def spans_to_tags(found: Sequence[tuple[str, int, int]], length: int, scheme: str = "iob2") -> list[str]:
    """Tags of ``length`` tokens encoding non-overlapping spans ``(type, start, end)`` in ``scheme``."""
    _check_scheme(scheme)
    tags = ["O"] * length
    previous_end = -1
    previous_type = None
    for kind, start, end in sorted(found, key=lambda span: span[1]):
        if not (0 <= start < end <= length) or start < previous_end:
            raise ValueError(f"Expected non-overlapping spans inside 0..{length}, got ({kind!r}, {start}, {end})")
        if scheme == "iob1":
            # IOB1 writes B only where a span touches a previous span of the same type
            first = "B" if start == previous_end and kind == previous_type else "I"
            tags[start:end] = [f"I-{kind}"] * (end - start)
            tags[start] = f"{first}-{kind}"
        elif scheme == "iob2":
            tags[start:end] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 1)
        elif end - start == 1:
            tags[start] = f"S-{kind}"
        else:
            tags[start:end] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 2) + [f"E-{kind}"]
        previous_end = end
        previous_type = kind
    return tags


def convert(tags: Sequence[str], source: str, target: str) -> list[str]:
    """Tags read in scheme ``source`` written in scheme ``target`` (the same spans)."""
    _check_scheme(target)
    return spans_to_tags(spans(tags, source), len(tags), target)


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    """IOB1 -> IOB2: an ``I`` that begins a span becomes ``B``."""
    return convert(tags, "iob1", "iob2")


def iob2_to_bioes(tags: Sequence[str]) -> list[str]:
    """IOB2 -> BIOES: single-token spans become ``S``, last tokens of longer spans ``E``."""
    return convert(tags, "iob2", "bioes")


def bioes_to_iob2(tags: Sequence[str]) -> list[str]:
    """BIOES -> IOB2: ``S`` becomes ``B``, ``E`` becomes ``I``."""
    return convert(tags, "bioes", "iob2")
