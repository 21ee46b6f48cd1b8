"""The text preparation in the torch code ``rnnkit export --torch`` prints (:mod:`rnnkit.export_torch`): the lines
that turn a text into the tokens the model was trained on, exactly as rnnkit's encoders do, written out in plain
Python with the model's settings (no rnnkit needed to run them)."""
from __future__ import annotations

import textwrap
from typing import Any

# rnnkit.data.segmentation.fold_width, written out: NFKC character by character, never of the whole text
FOLD_WIDTH = [
    "def fold_width(text):",
    '    """Each character as its Unicode NFKC form where that is one character (full-width to half-width: "Ａ１，"',
    '    -> "A1,"), and the ideographic full stop to "." (rnnkit\'s --fold-width).  Character by character: NFKC',
    '    of the whole text would compose accents and expand "ﬁ" to "fi", which rnnkit does not."""',
    '    folded = ["." if c in "\\u3002\\uff61" else unicodedata.normalize("NFKC", c) for c in text]',
    '    return "".join(f if len(f) == 1 else c for c, f in zip(text, folded))', "", ""]


def classifier_prepare(enc: dict[str, Any]) -> list[str]:
    """The code's ``tokens(text)``: rnnkit.classify.task.ClassifierEncoder.tokenize with this encoder's settings
    (lowercase, then fold the width, then cut into words or characters, then keep the first max_length)."""
    char, lower, fold, cap = enc.get("level") == "char", enc.get("lowercase"), enc.get("fold_width"), \
        enc.get("max_length", 0)
    steps = [what for what, on in (("lowercased", lower), ("width-folded", fold)) if on]
    steps.append("every character but whitespace (an accent stays with its letter)" if char else
                 "split at whitespace")
    if cap:
        steps.append(f"the first {cap} kept (--max-length)")
    text = "fold_width(text)" if fold else "text"
    doc = textwrap.wrap(f'"""The tokens rnnkit reads of a text: {", ".join(steps)}."""', 112)
    lines = ["def tokens(text):", *("    " + line for line in doc)]
    if lower:
        lines.append("    text = text.lower()")
    if char:
        lines += ["    out = []", f"    for c in {text}:", "        if c.isspace():", "            continue",
                  '        if out and unicodedata.category(c).startswith("M"):  # a combining mark',
                  "            out[-1] += c", "        else:", "            out.append(c)"]
    else:
        lines.append(f"    out = {text}.split()")
    lines.append(f'    return out{f"[:{cap}]" if cap else ""} or ["<unk>"]  # an empty text is read as <unk>')
    return (FOLD_WIDTH if fold else []) + lines


def tagger_prepare(enc: dict[str, Any]) -> list[str]:
    """The code's ``word_id(word)``: rnnkit.tagging.task.TaggerEncoder's fold, then lowercase, then look up."""
    lower, fold = enc.get("lowercase"), enc.get("fold_width")
    steps = [what for what, on in (("width-folded", fold), ("lowercased", lower)) if on]
    word = "fold_width(word)" if fold else "word"
    return (FOLD_WIDTH if fold else []) + [
        "def word_id(word, ids, unk):",
        *("    " + line for line in textwrap.wrap(f'"""The id of a word in the vocabulary ids, unk for an unknown one, '
                                                  f'the word read as rnnkit reads it{": " if steps else ""}'
                                                  f'{" and ".join(steps)}."""', 112)),
        f"    return ids.get({word}{'.lower()' if lower else ''}, unk)"]
