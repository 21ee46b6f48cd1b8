"""The warnings of ``rnnkit tag``, ``segment`` and the taggers' ``evaluate`` for sentences whose tags are a
fallback guess: an HMM's sentences of probability 0 (no tag path can produce them) and the sentences the
scheme's rules allow no sequence of the model's tags (:meth:`rnnkit.tagging.loaded.LoadedTagger.predict`'s
``impossible`` and ``no_path``)."""
from __future__ import annotations

import argparse

from rnnkit.cli import tag_confidence
from rnnkit.tagging.loaded import LoadedTagger


def impossible_note(name: str, lines: list[int], args: argparse.Namespace, what: str = "tags") -> str:
    """The warning for sentences (at ``lines`` of ``name``) of probability 0 under an HMM: no tag path can produce
    them, so their tags (``what``: "words" for segment) are Viterbi's fallback guess
    (:meth:`rnnkit.hmm.HMMTagger.tag_with_score`)."""
    from rnnkit.constraints import listed_lines

    where = listed_lines(lines) + (" has" if len(lines) == 1 else " have")
    it, its = ("it", "its") if len(lines) == 1 else ("them", "their")
    probs = _undefined(args, its, what)
    return (f"{name}: {where} probability 0 under the model: no tag path can produce {it} "
            f"({impossible_cause(what, what == 'words' and bool(args.user_dict))}); "
            f"{its} {what} are a fallback guess, the path with the fewest impossible steps" + probs)


def impossible_cause(what: str = "tags", user_dict: bool = False) -> str:
    """Why an HMM gives a sentence probability 0 (``what``: "tags", or "words" for a segmenter; ``user_dict``:
    --dict words were kept whole)."""
    seen = ("a word seen only with tags that cannot go there" if what == "tags" else
            "a character seen only in word positions (B, M, E, S) that cannot go there"
            + (", a --dict word forcing its characters into positions never seen" if user_dict else ""))
    return f"{seen}, or a tag n-gram never seen in training when the model's lower orders got no weight"


def _undefined(args: argparse.Namespace, its: str, what: str) -> str:
    """What an HMM's sentence of probability 0 gets for ``--probs``, ``--nbest`` or ``--spans``."""
    return ("" if what != "tags" else f" ({its} spans, if any, have probability null)" if args.spans else
            f" ({its} probabilities are written as '{tag_confidence.UNDEFINED}')" if tag_confidence.wanted(args)
            else "")


def no_path_note(name: str, lines: list[int], loaded: LoadedTagger, what: str = "tags",
                 args: argparse.Namespace | None = None, cause_fix: tuple[str, str] | None = None) -> str:
    """The warning for sentences (at ``lines`` of ``name``) that the scheme's rules allow no sequence of the
    model's tags (:meth:`LoadedTagger.predict`'s ``no_path``): where, why, what they got and how to fix it;
    ``args``: tag's, to say what an HMM's probabilities of them are; ``cause_fix``: the why and the how instead
    of the missing tags' (segment's, of :func:`rnnkit.tagging.segmenter.no_path_causes`)."""
    from rnnkit.constraints import listed_lines, missing_tags

    where = listed_lines(lines)
    its = "its" if len(lines) == 1 else "their"
    scheme = loaded.train_scheme
    cause, fix = cause_fix or missing_tags(loaded.trained_tags, scheme)
    probs = _undefined(args, its, what) if args is not None and loaded.kind != "tagger" else ""
    return (f"{name}: {where}: {cause}; {its} {what} are the model's best guess ignoring the {scheme.upper()} "
            f"rules{probs}; to fix it, {fix}")


def scored_note(name: str, loaded: LoadedTagger, zero: list[int], pathless: list[int], total: int,
                unit: str = "line") -> str | None:
    """``rnnkit evaluate``'s one warning for the sentences of ``name`` scored on a fallback guess: ``zero``
    (their line numbers; ``unit`` "sentence" when they are counted so) of probability 0 under an HMM,
    ``pathless`` those the scheme's rules allow no sequence of the model's tags, of ``total`` sentences;
    how many, the first of them, why and what they got, as :func:`impossible_note` and :func:`no_path_note`
    say it for ``tag`` and ``segment``.  None when there are none."""
    from rnnkit.constraints import listed_lines, missing_tags

    def some(lines: list[int]) -> str:
        return (f"{len(lines):,} of the {total:,} sentences ({listed_lines(lines, unit)}) "
                + ("has" if len(lines) == 1 else "have"))

    def its(lines: list[int]) -> str:
        return "its" if len(lines) == 1 else "their"

    what = "words" if loaded.spec.scheme == "bmes" else "tags"
    parts = []
    if zero:
        parts.append(f"{some(zero)} probability 0 under the model: no tag path can produce "
                     f"{'it' if len(zero) == 1 else 'them'} ({impossible_cause(what)}), and {its(zero)} {what} are a "
                     "fallback guess, the path with the fewest impossible steps")
    if pathless:
        scheme = loaded.train_scheme
        cause, fix = missing_tags(loaded.trained_tags, scheme)
        parts.append(f"{some(pathless)} no legal {scheme.upper()} path ({cause}), and {its(pathless)} {what} are the "
                     f"model's best guess ignoring the rules (to fix it, {fix})")
    if not parts:
        return None
    scored = "it is" if len(zero) + len(pathless) == 1 else "they are"
    return f"{name}: " + "; ".join(parts) + f"; {scored} scored as predicted"
