"""Per-word perplexity and bits per character of a subword (BPE) language model.

Perplexity per BPE piece cannot stand beside a word- or a character-level model's: a text has more
pieces than words and fewer than characters, and the pieces depend on the BPE model.  What all three
models share is the text, and the total negative log-likelihood of it; divided by the text's words or
characters it gives figures that compare (Mielke, 2019, "Can you compare perplexity across different
segmentations?").  With N the text's pieces (``<eos>`` included), W its words and C its characters::

    L        = sum of -ln p(piece) over the N pieces          (nats)
    loss     = L / N                                          per-piece loss, nats
    word_ppl = exp(L / W)                                     per-word perplexity
    bpc      = L / (C ln 2)                                   bits per character

W counts what a word-level model predicts in the same file: each non-blank line's whitespace-separated
words and one ``<eos>``.  C counts each non-blank line's characters, its whitespace runs collapsed to
one space and no space at its ends (the text the pieces spell), and one character for its line end.
A character-level model of the same file predicts every character as it stands, blank lines and
repeated or edge spaces included (PTB's lines start and end with a space: 2 more a line); its bits
per character are then over more, easy, characters: compare totals (bits x characters) for such a file.

When not every piece is predicted (several streams leave each stream's first piece and a tail out),
L is estimated from the mean over those predicted: L = N x loss.  With one stream from ``<eos>``
(``evaluate --batch-size 1``, ``train lm --test-batch-size 1``) every piece is predicted and the
figures are exact.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from rnnkit.train.progress import perplexity


class TextUnits(NamedTuple):
    """How many pieces, words and characters a text has (see the module docstring)."""

    pieces: int  # N: the model's tokens, <eos> included
    words: int  # W: whitespace words and one <eos> a non-blank line
    chars: int  # C: characters of each non-blank line, whitespace collapsed, and one a line end


def count_units(text: str, pieces: int) -> TextUnits:
    """The :class:`TextUnits` of ``text``, split into ``pieces`` pieces (``<eos>`` included)."""
    return line_units(text.split("\n"), pieces)


def line_units(lines: Iterable[str], pieces: int) -> TextUnits:
    """:func:`count_units` of the text of ``lines`` (a text's lines, or its non-blank ones, their whitespace
    collapsed: :func:`rnnkit.lm.bpe_text.sentences`): a line's whitespace runs count as one space between words."""
    words = chars = 0
    for line in lines:
        split = line.split()
        if split:
            words += len(split) + 1  # and <eos>
            chars += sum(map(len, split)) + len(split)  # one space between words, one line end
    return TextUnits(pieces, words, chars)


def unit_metrics(loss: float, units: TextUnits) -> dict[str, float]:
    """``{"word_ppl", "bits_per_char", "words", "chars"}`` of a text of ``units`` whose pieces cost ``loss``
    nats each on average: L = loss x N, then exp(L / W) and L / (C ln 2)."""
    if units.words < 1 or units.chars < 1:
        raise ValueError(f"Expected a text with words and characters, got {units}")
    total = loss * units.pieces  # L, nats
    return {"word_ppl": perplexity(total / units.words), "bits_per_char": total / (units.chars * math.log(2)),
            "words": units.words, "chars": units.chars}


def with_units(m: dict[str, float], units: TextUnits) -> dict[str, float]:
    """``m``, :func:`rnnkit.lm.evaluate.metrics_from_nll`'s metrics of a text of ``units``, with
    :func:`unit_metrics` and the text's ``pieces`` (``m["tokens"]`` counts those predicted)."""
    return {**m, **unit_metrics(m["loss"], units), "pieces": units.pieces}
