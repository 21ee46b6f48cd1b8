"""Checks of what :class:`rnnkit.hmm.HMMTagger` is given: a tagged corpus, tag and word strings, and
hand-built probability tables, each refused with one line naming what is wrong."""
from __future__ import annotations

import numpy as np


def check_strings(name: str, items) -> None:
    """TypeError naming the first item of ``items`` (tags, or word types) that is not a str."""
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"Expected {name} as strings, got {type(item).__name__} {item!r:.40}")


def check_distributions(tables: dict[str, tuple]) -> None:
    """The tables of :meth:`rnnkit.hmm.HMMTagger.from_probabilities` must be distributions (within 1e-6): start
    sums to 1, each transitions row (plus its end probability, when given) sums to 1, each tag's
    emissions sum to 1 over the words."""
    start = np.asarray(tables["start"][0], dtype=np.float64)
    trans = np.asarray(tables["transitions"][0], dtype=np.float64)
    emit = np.asarray(tables["emissions"][0], dtype=np.float64)
    rows = trans.sum(axis=1)
    if "end" in tables:
        rows = rows + np.asarray(tables["end"][0], dtype=np.float64)
    sums = (("start", np.array([start.sum()]), ""),
            ("each row of transitions" + (" plus its end" if "end" in tables else ""), rows, "row {i}"),
            ("each tag's emissions (a column)", emit.sum(axis=0), "column {i}"))
    for name, total, where in sums:
        off = np.abs(total - 1.0) > 1e-6
        if off.any():
            i = int(np.argmax(off))
            raise ValueError(f"Expected {name} to sum to 1 (a probability distribution), got {total[i]:.6g}"
                             + (f" for {where.format(i=i)}" if where else ""))


def check_corpus(sentences, tags) -> tuple[list, list]:
    """The corpus as lists (once: a generator would be empty the second time), checked."""
    for name, value in (("sentences", sentences), ("tags", tags)):
        if isinstance(value, str) or value is None or not hasattr(value, "__iter__"):
            raise TypeError(f"Expected {name} as a list of lists of strings, got {type(value).__name__}")
    sentences, tags = list(sentences), list(tags)
    if len(sentences) != len(tags):
        raise ValueError(f"Expected as many tag lists as sentences ({len(sentences)}), got {len(tags)}")
    for i, (words, sentence_tags) in enumerate(zip(sentences, tags)):
        if isinstance(words, str) or isinstance(sentence_tags, str):
            raise TypeError(f"Expected sentence {i} and its tags as lists of strings, got a plain string")
        if len(words) != len(sentence_tags):
            raise ValueError(f"Expected sentence {i} to have as many tags as words ({len(words)}), "
                             f"got {len(sentence_tags)}")
    return sentences, tags
