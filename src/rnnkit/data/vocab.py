"""Token vocabularies: a fixed, deterministic mapping between tokens and integer ids.

Ids are assigned once, on the training tokens: the specials first (``<unk>`` = 0, then ``<eos>`` = 1
at word level), then the other tokens by frequency, most frequent first, ties broken by the token's
code points.  The same training file therefore always gives the same ids, on any machine, which is
what lets a checkpoint store the vocabulary as a plain list (:meth:`Vocabulary.to_json`).

A token of the training text that *is* a special (PTB writes its rare words as ``<unk>``) takes the
special's id: it is never added a second time.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from rnnkit.checks import check_int

UNK = "<unk>"
EOS = "<eos>"


def _check_tokens(name: str, tokens: object) -> None:
    """Refuse a str (it would be read as its characters), None and anything else not iterable."""
    if isinstance(tokens, str):
        raise TypeError(f"Expected {name} to be a sequence of tokens, got a str (list(text) for its characters, "
                        "text.split() for its words)")
    if not isinstance(tokens, Iterable):
        raise TypeError(f"Expected {name} to be an iterable of str tokens, got {type(tokens).__name__}")


class _Ids(dict):
    """token -> id, where looking up a missing str gives the <unk> id and a missing non-str (an id, bytes)
    raises: :meth:`Vocabulary.encode` checks every token's type at the cost of an OOV token only."""

    unk = 0

    def __missing__(self, key: object) -> int:
        if isinstance(key, str):
            return self.unk
        raise TypeError(f"Expected every token to be a str, got {type(key).__name__} {key!r}"
                        + (" (ids? decode() turns ids into tokens)" if isinstance(key, (int, np.integer)) else ""))


class OOVStats(NamedTuple):
    """How many tokens of a text are missing from a vocabulary (and so become ``<unk>``)."""

    count: int
    total: int
    fraction: float


class Vocabulary:
    """A list of tokens; a token's id is its position.

    Build one from training tokens with :meth:`build`; rebuild a saved one with :meth:`from_json`.
    ``unk_token`` must be in ``tokens``; ``eos_token`` (word level) too when given.
    """

    def __init__(self, tokens: Sequence[str], unk_token: str = UNK, eos_token: str | None = EOS) -> None:
        _check_tokens("tokens", tokens)
        tokens = list(tokens)
        for i, tok in enumerate(tokens):
            if not isinstance(tok, str):
                raise TypeError(f"Expected every token to be a str, got {type(tok).__name__} at position {i}")
        index = _Ids((tok, i) for i, tok in enumerate(tokens))
        if len(index) != len(tokens):
            dup = next(tok for tok, n in Counter(tokens).items() if n > 1)
            raise ValueError(f"Expected distinct tokens, got {dup!r} more than once")
        if unk_token not in index:
            raise ValueError(f"Expected unk_token {unk_token!r} among the tokens, got a vocabulary without it")
        if eos_token is not None and eos_token not in index:
            raise ValueError(f"Expected eos_token {eos_token!r} among the tokens, got a vocabulary without it")
        self._tokens = tokens
        index.unk = index[unk_token]
        self._index = index
        self.unk_token = unk_token
        self.eos_token = eos_token

    @classmethod
    def build(
        cls,
        tokens: Iterable[str],
        max_size: int | None = None,
        min_count: int = 1,
        unk_token: str = UNK,
        eos_token: str | None = EOS,
    ) -> Vocabulary:
        """Vocabulary of the training ``tokens``: specials, then tokens by (count desc, token).

        ``max_size`` caps the total size, specials included (PTB: 10000); ``min_count`` drops tokens
        seen fewer times.  ``eos_token=None`` for character level, where newline is an ordinary token.
        """
        _check_tokens("tokens", tokens)
        return cls.from_counts(Counter(tokens), max_size, min_count, unk_token, eos_token)

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int],
        max_size: int | None = None,
        min_count: int = 1,
        unk_token: str = UNK,
        eos_token: str | None = EOS,
    ) -> Vocabulary:
        """:meth:`build`'s vocabulary from each token's count instead of the tokens themselves."""
        specials = [unk_token] if eos_token is None else [unk_token, eos_token]
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer))):
            raise TypeError(f"Expected max_size to be an int or None, got {type(max_size).__name__}")
        if max_size is not None and max_size < len(specials):
            raise ValueError(f"Expected max_size >= {len(specials)} (room for {specials}), got {max_size}")
        max_size = None if max_size is None else int(max_size)
        min_count = check_int("min_count", min_count, 1)
        kept = [tok for tok, n in counts.items() if n >= min_count and tok not in specials]
        # count descending, then the token itself: the order never depends on hashing or file order
        kept.sort(key=lambda tok: (-counts[tok], tok))
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        return cls(specials + kept, unk_token=unk_token, eos_token=eos_token)

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return (self._tokens, self.unk_token, self.eos_token) == (other._tokens, other.unk_token, other.eos_token)

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)}, unk_token={self.unk_token!r}, eos_token={self.eos_token!r})"

    @property
    def tokens(self) -> list[str]:
        """The tokens in id order (a copy)."""
        return list(self._tokens)

    @property
    def unk_id(self) -> int:
        """Id of the ``<unk>`` token (``unk_token``)."""
        return self._index[self.unk_token]

    @property
    def eos_id(self) -> int | None:
        """Id of the end-of-sentence token, or None at character level."""
        return None if self.eos_token is None else self._index[self.eos_token]

    def token_id(self, token: str) -> int:
        """Id of ``token``; ``unk_id`` when it is not in the vocabulary."""
        return self._index.get(token, self.unk_id)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Ids (N,) int64 of ``tokens``, unknown tokens mapped to ``unk_id``.  A str is refused: it
        would be read as its characters (pass ``list(text)`` for those, ``text.split()`` for words)."""
        _check_tokens("tokens", tokens)
        try:  # _Ids: an OOV str is <unk>, a token that is not a str raises
            return np.fromiter(map(self._index.__getitem__, tokens), dtype=np.int64)
        except TypeError as exc:
            if str(exc).startswith("Expected"):
                raise
            raise TypeError(f"Expected every token to be a str, got a token of {exc}") from None

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids``; raises ValueError on an id outside [0, len)."""
        out = []
        for i in ids:
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
                raise TypeError(f"Expected integer ids, got {i!r}")
            i = int(i)
            if not 0 <= i < len(self._tokens):
                raise ValueError(f"Expected ids in [0, {len(self._tokens)}), got {i}")
            out.append(self._tokens[i])
        return out

    def to_json(self) -> str:
        """The vocabulary as a JSON string (stored inside checkpoints)."""
        return json.dumps(
            {"tokens": self._tokens, "unk_token": self.unk_token, "eos_token": self.eos_token},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        """Inverse of :meth:`to_json`."""
        if not isinstance(text, (str, bytes, bytearray)):
            hint = " (json.dumps(obj) for a dict)" if isinstance(text, dict) else ""
            raise TypeError(f"Expected text to be a JSON string{hint}, got {type(text).__name__}")
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Expected a vocabulary in JSON, got invalid JSON: {exc}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("tokens"), list):
            raise ValueError("Expected a JSON object with a 'tokens' list, got something else")
        return cls(obj["tokens"], unk_token=obj.get("unk_token", UNK), eos_token=obj.get("eos_token"))


def oov_rate(tokens: Iterable[str], vocab: Vocabulary) -> OOVStats:
    """Count of ``tokens`` not in ``vocab`` (those that become ``<unk>``), and their fraction.

    A literal ``<unk>`` in the text is a vocabulary token, not an OOV: it was already unknown when the
    corpus was made (PTB), and counting it would make PTB's valid/test OOV rate differ from the usual 0.
    """
    _check_tokens("tokens", tokens)
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"Expected vocab to be a Vocabulary, got {type(vocab).__name__}")
    total = 0
    missing = 0
    for tok in tokens:
        total += 1
        if tok not in vocab:
            if not isinstance(tok, str):  # an id or bytes is never in a vocabulary: it is a mistake, not an OOV
                raise TypeError(f"Expected every token to be a str, got {type(tok).__name__} {tok!r}")
            missing += 1
    fraction = missing / total if total else 0.0
    return OOVStats(missing, total, fraction)
