"""Warnings about the text a command reads: one line each, ``rnnkit: warning: ...`` on stderr.

They are for input that the command can read but will probably read wrongly: Chinese or Japanese
without spaces given to a command that reads words (each sentence would be one word), a
``--format segmented`` file that holds raw text, and full-width characters that a segmenter trained
without ``--fold-width`` knows only in their half-width form.
"""
from __future__ import annotations

import sys
from collections import Counter
from decimal import Decimal
from typing import Any, Iterable

from rnnkit.errors import DataError


def warn(message: str) -> None:
    """One warning line on stderr, as the command line writes them all (an --encoding advice option first)."""
    from rnnkit.data.encodings import option_first

    print(f"rnnkit: warning: {option_first(message)}", file=sys.stderr)


def percent(part: int, total: int) -> str:
    """``part`` of ``total`` as a percentage that a small share does not hide: one decimal ("2.4%"), and one
    significant digit below 0.1% ("0.004%", where one decimal says "0.0%"), ">99.9%" for all but a few."""
    share = 100 * part / total if total else 0.0
    if 0 < share < 0.1:  # one significant digit, written out ("0.00003%", never "3e-05%")
        return f"{Decimal(f'{share:.1g}'):f}%"
    return ">99.9%" if 99.95 <= share < 100 else f"{share:.1f}%"


def numeric_warning(text: str) -> str:
    """numpy's overflow warning (``text``: "overflow encountered in matmul", which by itself says neither
    what went wrong nor what to do) with its cause and cure; any other text as it is."""
    if not text.startswith("overflow encountered"):
        return text
    return (f"numbers beyond the floating-point range came up (numpy: {text}), so results are inf or NaN: the "
            "model's weights or the input numbers are far too large (a model trained with a huge --lr or "
            "--init-scale?); retrain with smaller ones")


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


def warn_unsegmented(texts: Iterable[str], where: str, consequence: str) -> bool:
    """One warning when ``texts`` look like unsegmented Chinese or Japanese (:func:`unsegmented`);
    ``consequence`` says what that means for the command and what to do.  True when it warned."""
    looks = unsegmented(texts, where)
    if looks:
        warn(f"{looks}; {consequence}")
    return bool(looks)


def warn_unknown_tokens(tokens: Iterable[tuple[str, bool]], where: str, language: str, share: float = 0.2,
                        reads: str = "which reads them as <unk>", least: int = 1, counted: str = "tokens") -> bool:
    """One warning when ``share`` or more of the input's tokens (of five or more; else all of them) are unknown
    to the model: the input is then likely in another language (or tokenised or cased otherwise) than the
    model's training data.  ``tokens``: (token, whether the model knows it) pairs; ``language``: the language
    the input should be in, for the question the warning ends with; ``reads``: what the model makes of an
    unknown token; ``least``: the fewest tokens judged at all (a tagger meets unseen names, and three of them
    alone are no sign of another language); ``counted``: what the tokens are called in the warning.  True when
    it warned."""
    unknown: Counter[str] = Counter()
    total = 0
    for token, known in tokens:
        total += 1
        if not known:
            unknown[token] += 1
    if total < least or not ((total >= 5 and unknown.total() >= share * total) or (total and unknown.total() == total)):
        return False
    common = ", ".join(repr(t) for t in sorted(unknown, key=lambda t: (-unknown[t], t))[:5])
    more = ", ..." if len(unknown) > 5 else ""
    share_shown = f"{100 * unknown.total() / total:.0f}%"
    warn(f"{where}: {unknown.total():,} of its {total:,} {counted} ({share_shown}: {common}{more}) "
         f"are unknown to the model, {reads}; is the input in {language} (and written as its "
         "training data was: tokenised, lowercased)?")
    return True


def warn_unknown_perplexity(data_path: str, model: str, st: Any) -> bool:
    """Warn when over a fifth of a file's tokens (``st``: its OOV statistics) are not in ``model``'s vocabulary:
    scored, but the perplexity then says little (another language or level?).  True when it warned."""
    if st.fraction <= 0.2:
        return False
    warn(f"{data_path}: {100 * st.fraction:.1f}% of its {st.total:,} tokens are not in {model}'s "
         "vocabulary and are scored as <unk>, so the perplexity says little; is it the kind of text the "
         "model was trained on (language, tokenisation, --level)?")
    return True


SEGMENT_FIRST = "each sentence would be read as one long word: segment it first ('rnnkit segment')"


def raw_segmented_file(data: Any, name: str, gold: bool = False) -> bool:
    """Warn when a ``--format segmented`` file (``data``, its characters BMES-tagged) looks like raw text:
    Chinese words average about 1.5 characters, so 6 or more on average means the spaces are missing.
    ``gold``: the file is the reference a segmenter is scored against (``rnnkit evaluate``).  Training data
    whose words average 10 or more characters is refused (DataError): a segmenter trained on it learns to
    put no boundary anywhere (and an unspaced German or Thai corpus, about 6, is only warned about).  True
    when it warned."""
    chars = sum(map(len, data.tags))
    words = sum(t in ("B", "S") for tags in data.tags for t in tags)
    if words and chars / words >= 10 and not gold:
        raise DataError(f"{name}: its words average {chars / words:.1f} characters, so it looks like raw, "
                        "unsegmented text, and a segmenter trained on it would learn to split nothing; "
                        "--format segmented reads words separated by spaces: give a segmented corpus (UD's "
                        "CoNLL-U files work as they are)")
    if words and chars / words >= 6:
        if gold:
            warn(f"{name}: its words average {chars / words:.1f} characters, so it looks like raw, unsegmented "
                 "text; evaluate scores a segmenter against a segmented reference (words separated by spaces), "
                 "and against this one the scores mean nothing; to segment raw text use 'rnnkit segment'")
        else:
            warn(f"{name}: its words average {chars / words:.1f} characters; --format segmented expects words "
                 "separated by spaces (is the file raw, unsegmented text?)")
        return True
    return False


def fold_width_hint(loaded: Any, text: Any, where: str, known: set[str] | None = None, what: str = "characters",
                    model: str = "a segmenter") -> bool:
    """Warn when units of ``text`` (its characters, or an iterable of tokens) that the model never saw would
    be known to it folded to half-width: a model trained on ASCII punctuation (UD Chinese GSD) reading text
    with full-width punctuation (，。).  ``loaded``: a LoadedTagger (neural or HMM), or an encoder with
    ``fold_width`` and then ``known``, its vocabulary's tokens.  True when it warned."""
    if loaded.fold_width:
        return False
    known = _known(loaded) if known is None else known
    units = Counter(text)  # each distinct unit once: a generator of a long file's tokens is never a list
    helped = _half_width_only(units, known)
    if helped.total() >= max(3, units.total() // 200):
        common = " ".join(_commonest(helped, 6))
        if what == "characters":
            common = common.replace(" ", "")
        warn(f"{where}: {helped.total():,} {what} ({common}) are unknown to the model but known in their "
             f"half-width form; {model} trained with --fold-width reads them as such")
        return True
    return False


def _half_width_only(units: Counter[str], known: set[str]) -> Counter[str]:
    """The units of ``units`` the model does not know but knows width-folded (，as ,), with their counts."""
    from rnnkit.data.segmentation import fold_width

    return Counter({u: n for u, n in units.items() if u not in known and fold_width(u) in known})


def _commonest(counts: Counter[str], n: int) -> list[str]:
    return sorted(counts, key=lambda u: (-counts[u], u))[:n]


def _known(loaded: Any) -> set[str]:
    """The characters a segmenter (a LoadedTagger, neural or HMM) has seen in training."""
    enc = getattr(loaded, "encoder", None)  # an HMM has none: its own word list
    return set(enc.words.tokens) if enc is not None else set(getattr(loaded.model, "vocab_", ()))


def unknown_characters_hint(loaded: Any, text: str, where: str) -> bool:
    """Warn when a fifth or more of the Chinese/Japanese characters of ``text`` are unknown to the
    segmenter: it then guesses blindly.  The warning names the characters and the likely cause: Simplified
    text given to a model trained on Traditional (UD Chinese GSD is Traditional) or the reverse, when the
    commonest script-specific characters tell so; else training text that did not hold them.  True when
    it warned."""
    from rnnkit.data.scripts import cjk_characters

    known = _known(loaded)
    han = cjk_characters(text)
    unknown = _unknown_characters(han, known, loaded.fold_width)
    if len(han) >= 10 and unknown.total() >= 0.2 * len(han):
        warn(f"{where}: {unknown.total():,} of its {len(han):,} Chinese/Japanese characters "
             f"({''.join(_commonest(unknown, 8))}...) are unknown to the model, which can only guess around them; "
             f"{_unknown_why(han, known)}")
        return True
    return False


def _unknown_characters(han: Iterable[str], known: set[str], fold: bool) -> Counter[str]:
    """The characters of ``han`` not in ``known`` (width-folded first when the model folds: ``fold``)."""
    from rnnkit.data.segmentation import fold_width

    return Counter(ch for ch in han if (fold_width(ch) if fold else ch) not in known)


def _unknown_why(han: Iterable[str], known: set[str]) -> str:
    """Why characters of ``han`` are unknown and what to do: another script than the model's, or else
    training text that did not hold them."""
    text_script, model_script = _script(han), _script(known)
    if text_script and model_script and text_script != model_script:
        return (f"the text is written in {text_script} characters and the model was trained on {model_script} "
                "ones: convert the text (e.g. with OpenCC) or train on text in its script")
    # both in one script (or not told apart): the training text did not hold them
    return ("the model's training text did not hold them (too little of it, or another kind of text); "
            "train on more text like this")


def line_hints(loaded: Any, lines: list[str], where: str, fold_warned: bool, unknown_warned: bool) -> None:
    """The warnings of :func:`fold_width_hint` and :func:`unknown_characters_hint` for lines that are a
    small share of a big file, and so below those warnings' shares of the whole: ``lines`` (each
    without its spaces) that hold full-width characters the model knows only half-width (one in 50
    characters or more: a comma in a sentence; 3 or more in all), or whose Chinese characters (10 or
    more) are a fifth or more unknown.  The count and the first line numbers are named; the warned ones are not repeated
    (``fold_warned``, ``unknown_warned``: whether the file-level warning came)."""
    from rnnkit.data.scripts import cjk_characters

    folds = loaded.fold_width
    known = _known(loaded)
    wide: list[int] = []
    wide_chars: Counter[str] = Counter()
    unknown: list[int] = []
    unknown_han: list[str] = []
    unknown_chars: Counter[str] = Counter()
    for number, line in enumerate(lines, 1):
        helped = Counter() if folds or fold_warned else _half_width_only(Counter(line), known)
        if helped and 50 * helped.total() >= len(line):
            wide.append(number)
            wide_chars += helped
        han = [] if unknown_warned else cjk_characters(line)
        missing = _unknown_characters(han, known, folds) if len(han) >= 10 else Counter()
        if missing and missing.total() >= 0.2 * len(han):
            unknown.append(number)
            unknown_han += han
            unknown_chars += missing
    if wide_chars.total() >= 3:
        warn(f"{where}: {_lines(wide, lines)} full-width characters ({''.join(_commonest(wide_chars, 6))}) "
             "that the model knows only in their half-width form, and likely cuts badly around them; a "
             "segmenter trained with --fold-width reads them as such")
    if unknown:
        warn(f"{where}: {_lines(unknown, lines, 'have', 'has')} a fifth or more of their Chinese/Japanese characters "
             f"unknown to the model ({''.join(_commonest(unknown_chars, 8))}...), which can only guess around them; "
             f"{_unknown_why(unknown_han, known)}")


def _lines(numbers: list[int], lines: list[str], verb: str = "hold", one: str = "holds") -> str:
    """"20 of its 520 lines (lines 501, 502, 503, 504, 505 and 15 more) hold", with ``one`` for a single line:
    the lines listed as the other warnings list them (:func:`rnnkit.constraints.listed_lines`)."""
    from rnnkit.constraints import listed_lines

    return (f"{len(numbers):,} of its {len(lines):,} lines ({listed_lines(numbers)}) "
            f"{one if len(numbers) == 1 else verb}")


# characters among the commonest in Chinese text that only one script writes this way
SIMPLIFIED_ONLY = set("这们说国来时为会对个们发过还说进学经动现两点样里实东开关问长无")
TRADITIONAL_ONLY = set("這們說國來時為會對個發過還進學經動現兩點樣裡實東開關問長無")


def _script(chars: Any) -> str | None:
    """'Simplified' or 'Traditional' when the common characters only one script writes tell, else None."""
    chars = set(chars)
    s, t = len(chars & SIMPLIFIED_ONLY), len(chars & TRADITIONAL_ONLY)
    if s >= 2 * t and s >= 3:
        return "Simplified"
    if t >= 2 * s and t >= 3:
        return "Traditional"
    return None

