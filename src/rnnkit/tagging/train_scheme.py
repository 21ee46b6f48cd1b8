"""Training a span tagger in another scheme than its data's, and reading its outputs back.

Many taggers learn BIOES (IOBES, BILOU) tags even when their data is BIO or IOB1 (Ratinov & Roth 2009;
Lample et al. 2016): ``S-`` marks a single-token span and ``E-`` a span's last token, so the model
need not learn where spans end from what follows.  ``train tagger --train-scheme bioes`` (and ``bio``,
IOB1 data trained as BIO) rewrites the training tags through their spans (:func:`rnnkit.data.spans.convert`)
and decodes with the training scheme's constraints; :class:`SchemeMap` reads every output back in
the data's scheme, so predictions, spans and scores are the data's.

Decoding keeps to legal sequences of the training scheme, so every sequence with probability above 0
is well formed, and a well-formed sequence and its spans determine each other.  Hence:

* a predicted or n-best sequence is converted through its spans, with its probability unchanged
  (distinct legal sequences have distinct spans, so the n best stay n distinct ones);
* a span's probability is that of the same event in either scheme;
* marginals map exactly.  BIO from BIOES is a tag-by-tag map (``S-X`` -> ``B-X``, ``E-X`` -> ``I-X``)::

      P(B-X at t) = P(y_t = B-X) + P(y_t = S-X),     P(I-X at t) = P(y_t = I-X) + P(y_t = E-X)

  IOB1 writes ``B-X`` only where a span of X begins right after one of X ends, which depends on two
  tags, so it takes the pair marginals xi_t[i, j] = P(y_{t-1} = i, y_t = j)::

      P(B-X at t) = sum over i of type X, j beginning a span of X (B-X, or S-X in BIOES) of xi_t[i, j]
      P(I-X at t) = sum over k of type X of P(y_t = k) - P(B-X at t)              (B-X at t = 0: 0)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnkit.data.spans import convert, split_tag

TRAIN_SCHEMES = ("bio", "bioes")  # what --train-scheme may choose
FROM = {"bio": ("iob1",), "bioes": ("bio", "iob1")}  # the data schemes each may be trained from
_SPANS = {"bio": "iob2", "iob1": "iob1", "bioes": "bioes"}  # our scheme names -> rnnkit.data.spans'


def check_train_scheme(scheme: str, train_scheme: str) -> None:
    """ValueError unless data tagged in ``scheme`` can be trained in ``train_scheme`` (the same scheme
    always can: nothing is rewritten)."""
    if train_scheme == scheme:
        return
    if train_scheme not in TRAIN_SCHEMES:
        raise ValueError(f"Expected train_scheme one of {TRAIN_SCHEMES} (or the data's scheme), got {train_scheme!r}")
    if scheme not in FROM[train_scheme]:
        raise ValueError(f"Expected data of scheme {' or '.join(FROM[train_scheme])} for train_scheme "
                         f"{train_scheme!r}, got scheme {scheme!r}")


def to_train(tags: Sequence[Sequence[str]], scheme: str, train_scheme: str) -> list[list[str]]:
    """Every sentence's tags (in ``scheme``) rewritten in ``train_scheme``, through their spans."""
    check_train_scheme(scheme, train_scheme)
    if scheme == train_scheme:
        return [list(s) for s in tags]
    return [convert(s, _SPANS[scheme], _SPANS[train_scheme]) for s in tags]


class SchemeMap:
    """The outputs of a model whose tags ``trained`` are in ``train_scheme``, read in the data's ``scheme``.

    ``tags``: the tags it predicts in the data's scheme (sorted; the model's own when the schemes are
    the same, and then every method gives back what it is given).
    """

    def __init__(self, trained: Sequence[str], scheme: str, train_scheme: str) -> None:
        check_train_scheme(scheme, train_scheme)
        self.trained = list(trained)
        self.scheme = scheme
        self.train_scheme = train_scheme
        self.same = scheme == train_scheme
        if self.same:
            self.tags = list(trained)
            return
        parsed = [split_tag(t, _SPANS[train_scheme]) for t in self.trained]
        prefix = np.array([p for p, _ in parsed])  # (K,)
        types = np.array([k for _, k in parsed])  # (K,)
        kinds = sorted({k for p, k in parsed if p != "O"})
        if scheme == "bio":  # S-X -> B-X, E-X -> I-X: tag by tag
            image = ["O" if p == "O" else f"{'B' if p in 'BS' else 'I'}-{k}" for p, k in parsed]
        else:  # iob1: a span of X begins with B-X where it touches another of X, else with I-X
            image = ["O" if p == "O" else f"I-{k}" for p, k in parsed]
        self.tags = sorted(set(image) | ({f"B-{k}" for k in kinds} if scheme == "iob1" else set()))
        column = {t: d for d, t in enumerate(self.tags)}
        self.project = np.zeros((len(self.trained), len(self.tags)))  # (K, K') 1 where a tag maps to a tag
        self.project[np.arange(len(self.trained)), [column[t] for t in image]] = 1.0
        if scheme == "iob1":
            # touch[i, j, x] = 1 when y_{t-1} = i and y_t = j means a span of kind x begins at t right after one of
            # x ends (j begins a span: B, or S in BIOES, which in a legal sequence nothing of its kind continues)
            same_kind = (types[:, None] == types[None, :]) & (prefix != "O")[None, :]  # (K, K)
            begins = np.isin(prefix, ["B", "S"])[None, :]  # (1, K)
            self.touch = np.zeros((len(self.trained), len(self.trained), len(self.tags)))  # (K, K, K')
            self.b_to_i = np.zeros((len(self.tags), len(self.tags)))  # (K', K') B-X's column -> I-X's
            for x in kinds:
                self.touch[:, :, column[f"B-{x}"]] = same_kind & begins & (types == x)[None, :]
                self.b_to_i[column[f"B-{x}"], column[f"I-{x}"]] = 1.0

    @property
    def needs_pairs(self) -> bool:
        """Whether :meth:`marginals` needs the pair marginals (IOB1 read from another scheme)."""
        return not self.same and self.scheme == "iob1"

    def sequence(self, tags: Sequence[str]) -> list[str]:
        """One (legal) sequence of the model's tags in the data's scheme."""
        if self.same:
            return list(tags)
        return convert(tags, _SPANS[self.train_scheme], _SPANS[self.scheme])

    def marginals(self, unary: np.ndarray, pairs: np.ndarray | None = None) -> np.ndarray:
        """(n, K') P(data tag at t) of the model's (n, K) P(y_t = k), and for IOB1 its (n - 1, K, K) pair
        marginals P(y_{t-1} = i, y_t = j) (formulas in the module docstring)."""
        if self.same:
            return unary
        out = unary @ self.project  # (n, K'): B-X's column holds nothing for IOB1 yet
        if not self.needs_pairs:
            return out
        if pairs is None or pairs.shape != (max(len(unary) - 1, 0), len(self.trained), len(self.trained)):
            raise ValueError(f"Expected pair marginals of shape ({max(len(unary) - 1, 0)}, {len(self.trained)}, "
                             f"{len(self.trained)}) to read IOB1 tags, got "
                             f"{None if pairs is None else pairs.shape}")
        if len(unary) > 1:
            touch = np.einsum("tij,ijd->td", pairs, self.touch)  # (n - 1, K') P(B-X at t), t >= 1
            out[1:] += touch - touch @ self.b_to_i  # moved from I-X's column to B-X's
        return np.clip(out, 0.0, 1.0)  # a rounding below 0 where P(I-X) - P(B-X) is 0
