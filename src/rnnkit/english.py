"""English words of messages that depend on a number: the article of a number read aloud, for "an 8-gram",
"an 11-word sentence" and "a 3-fold cross-validation" (:func:`a_or_an`), and of a name spelled out letter by
letter ("an IOB1 tag", "an XPOS", "a BIO tag": :func:`a_or_an_letters`), and of a type's or dtype's name
("an int64 array", "a uint8 array", "an ndarray": :func:`a_or_an_name`)."""
from __future__ import annotations


def a_or_an(number: int) -> str:
    """The article of ``number`` read aloud in English: "an" before a vowel sound (8, 11, 18, 80-89, 800-899,
    8,000, 11,000, ...: the group before the first thousands comma is 11, 18 or begins with 8), else "a"."""
    lead = f"{number:,}".split(",")[0]
    return "an" if lead.startswith("8") or lead in ("11", "18") else "a"


def a_or_an_letters(name: str) -> str:
    """The article of ``name`` read letter by letter ("IOB1", "XPOS", "BMES"): "an" before a letter whose name
    starts with a vowel sound (A, E, F, H, I, L, M, N, O, R, S, X), else "a"."""
    return "an" if name[:1].upper() in set("AEFHILMNORSX") else "a"


def a_or_an_name(name: str) -> str:
    """The article of a Python type's or numpy dtype's name ("int", "int64", "object", "float32", "uint8",
    "ndarray"): "an" before a, e, i or o, and before "nd" (read "en-dee"), else "a" (a "u" is read "you")."""
    return "an" if name[:1].lower() in set("aeio") or name.lower().startswith("nd") else "a"
