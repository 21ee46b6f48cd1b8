"""English words of messages that depend on a number: the article of a number read aloud, for "an 8-gram",
"an 11-word sentence" and "a 3-fold cross-validation" (:func:`a_or_an`)."""
from __future__ import annotations


def a_or_an(number: int) -> str:
    """The article of ``number`` read aloud in English: "an" before a vowel sound (8, 11, 18, 80-89, 800-899,
    8,000, 11,000, ...: the group before the first thousands comma is 11, 18 or begins with 8), else "a"."""
    lead = f"{number:,}".split(",")[0]
    return "an" if lead.startswith("8") or lead in ("11", "18") else "a"
