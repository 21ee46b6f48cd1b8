"""Tokenising one side of a parallel corpus, and joining tokens back into text.

Four levels: ``word`` (whitespace split), ``punct`` (words and punctuation apart, for raw text such as
Multi30k: ``"bushes."`` -> ``bushes .``), ``char`` (one token per character, spaces included) and ``bpe``
(subword pieces of a SentencePiece BPE model learned from the training text, :mod:`rnnkit.data.bpe`,
which the tokenizer carries as bytes), each optionally lowercased.  Translation output is detokenised
with the same :class:`Tokenizer` before BLEU is computed against the raw reference line.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rnnkit.checks import check_bool

LEVELS = ("word", "punct", "char", "bpe")

# a word may hold inner hyphens, apostrophes and number separators ("t-shirt", "man's", "3.5", "1,000")
# and end in a hyphen before a space (German "Zwei- und vierbeinige")
_PUNCT_TOKEN = re.compile(r"\w+(?:[-'’.,]\w+)*(?:-(?=\s))?|[^\w\s]")
_NO_SPACE_BEFORE = frozenset(".,!?;:%)]}…“”»›")  # “ closes in German, which opens with „
_NO_SPACE_AFTER = frozenset("([{¿¡„«‹#$")
_QUOTES = frozenset("\"'")  # the same mark opens and closes: alternate


@dataclass(frozen=True)
class Tokenizer:
    """How one side of the corpus becomes tokens, and how tokens become text again.

    ``detokenize(tokenize(s))`` gives back ``s`` with runs of whitespace collapsed (lowercased if
    ``lowercase``) for ``word`` and ``char``, and for ``punct`` on ordinary text; ``punct`` guesses
    the spacing of quote marks, so a quote next to other punctuation may come back spaced differently.
    On Multi30k train all but 42 (en), 100 (de) and 77 (fr) of the 29,000 sentences come back exactly;
    the rest have spaced French punctuation (``cyclable ;``), ``&amp;`` or ``„BBQ“-Banner`` in the source.
    ``bpe`` gives back every text made of the characters its model was learned from.
    """

    level: str = "word"  # "word", "punct", "char" or "bpe"
    lowercase: bool = False
    bpe_model: bytes | None = None  # level "bpe": the SentencePiece model (rnnkit.data.bpe.train_bpe)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"Expected level to be one of {LEVELS}, got {self.level!r}")
        check_bool("lowercase", self.lowercase)  # "no" would be true
        if (self.level == "bpe") != (self.bpe_model is not None):
            raise ValueError(f"Expected bpe_model (SentencePiece model bytes) with level 'bpe' and only with it, got "
                             f"level {self.level!r} and {'no ' * (self.bpe_model is None)}bpe_model")
        if self.bpe_model is not None and not isinstance(self.bpe_model, bytes):
            raise TypeError(f"Expected bpe_model to be bytes, got {type(self.bpe_model).__name__}")
        if self.bpe_model is not None:  # loaded now (once per model): bytes it cannot read fail here, not mid-run
            from rnnkit.data.bpe import processor

            processor(self.bpe_model)

    def __repr__(self) -> str:  # not the model's bytes
        model = f", bpe_model=<{len(self.bpe_model):,} bytes>" if self.bpe_model is not None else ""
        return f"Tokenizer(level={self.level!r}, lowercase={self.lowercase}{model})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields: a BPE model as base64 text (``"bpe_model"``), kept only for level ``bpe``."""
        out: dict[str, Any] = {"level": self.level, "lowercase": self.lowercase}
        if self.bpe_model is not None:
            out["bpe_model"] = base64.b64encode(self.bpe_model).decode("ascii")
        return out

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> Tokenizer:
        """The tokenizer of :meth:`to_dict`'s fields."""
        fields = dict(fields)
        if fields.get("bpe_model") is not None:
            fields["bpe_model"] = base64.b64decode(fields["bpe_model"], validate=True)
        return cls(**fields)

    def tokenize(self, text: str) -> list[str]:
        """Tokens of ``text`` after stripping it and collapsing whitespace runs to one space (lowercased if
        ``lowercase``)."""
        text = " ".join(text.split())
        if self.lowercase:
            text = text.lower()
        if self.level == "word":
            return text.split()
        if self.level == "char":
            return list(text)
        if self.level == "bpe":
            from rnnkit.data.bpe import encode

            return encode(self.bpe_model, text)
        return _PUNCT_TOKEN.findall(text)

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Text of ``tokens``: joined by spaces (word), run together (char), spaced around punctuation (punct)
        or run together with ``▁`` as spaces (bpe)."""
        if self.level == "word":
            return " ".join(tokens)
        if self.level == "char":
            return "".join(tokens)
        if self.level == "bpe":
            from rnnkit.data.bpe import decode

            return decode(self.bpe_model, tokens)
        return _join_punct(tokens)


def _join_punct(tokens: Sequence[str]) -> str:
    """Tokens joined by spaces except before closing and after opening punctuation."""
    pieces: list[str] = []
    glue = True  # no space before the next token (start of text, or after an opening mark)
    is_open = {q: False for q in _QUOTES}
    for tok in tokens:
        if tok in _QUOTES:
            is_open[tok] = not is_open[tok]
            space = is_open[tok] and not glue  # an opening quote is spaced from the word before it
            glue = is_open[tok]
        elif tok in _NO_SPACE_BEFORE:
            space = False
            glue = False
        else:
            space = not glue
            glue = tok in _NO_SPACE_AFTER
        if space:
            pieces.append(" ")
        pieces.append(tok)
    return "".join(pieces)
