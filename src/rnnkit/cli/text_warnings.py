"""Warnings about the text a command reads: one line each, ``rnnkit: warning: ...`` on stderr.

They are for input that the command can read but will probably read wrongly: Chinese or Japanese
without spaces given to a command that reads words (each sentence would be one word), a
``--format segmented`` file that holds raw text, and full-width characters that a segmenter trained
without ``--fold-width`` knows only in their half-width form.
"""
from __future__ import annotations

import sys
from collections import Counter
from typing import Any, Iterable


def warn(message: str) -> None:
    """One warning line on stderr, as the command line writes them all."""
    print(f"rnnkit: warning: {message}", file=sys.stderr)


def unsegmented(texts: Iterable[str], where: str) -> str | None:
    """The start of a warning (``where`` and the evidence) when ``texts`` look like Chinese or Japanese
    written without spaces between words (see :func:`rnnkit.data.segmentation.unsegmented_cjk`), for
    the caller to finish with what it means for its command and how to fix it; None when they do not."""
    from rnnkit.data.segmentation import unsegmented_cjk

    average = unsegmented_cjk(texts)
    if average is None:
        return None
    return (f"{where}: its Chinese/Japanese words average {average:.1f} characters: the text looks unsegmented "
            "(no spaces between words)")


def raw_segmented_file(data: Any, name: str) -> None:
    """Warn when a ``--format segmented`` file (``data``, its characters BMES-tagged) looks like raw text:
    Chinese words average about 1.5 characters, so 6 or more on average means the spaces are missing."""
    chars = sum(map(len, data.tags))
    words = sum(t in ("B", "S") for tags in data.tags for t in tags)
    if words and chars / words >= 6:
        warn(f"{name}: its words average {chars / words:.1f} characters; --format segmented expects words "
             "separated by spaces (is the file raw, unsegmented text?)")


def fold_width_hint(loaded: Any, text: str, where: str) -> None:
    """Warn when characters the segmenter (a LoadedTagger, neural or HMM) never saw would be known to it
    folded to half-width: a model trained on ASCII punctuation (UD Chinese GSD) reading text with
    full-width punctuation (，。)."""
    from rnnkit.data.segmentation import fold_width

    enc = getattr(loaded, "encoder", None)  # an HMM has none: its own word list
    if (enc.fold_width if enc is not None else loaded.task.get("fold_width")):
        return
    known = set(enc.words.tokens) if enc is not None else set(getattr(loaded.model, "vocab_", ()))
    helped = Counter(ch for ch in text if ch not in known and fold_width(ch) in known)
    if helped.total() >= max(3, len(text) // 200):
        common = "".join(sorted(helped, key=lambda ch: (-helped[ch], ch))[:6])
        warn(f"{where}: {helped.total():,} characters ({common}) are unknown to the model but known in their "
             "half-width form; a segmenter trained with --fold-width reads them as such")
