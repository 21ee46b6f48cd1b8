"""A trained sentence classifier from its checkpoint, text in and labels out: :class:`LoadedClassifier`.

What ``rnnkit classify`` uses, and the way to use a classifier the command line trained (or one
:func:`rnnkit.classify.task.save_classifier` wrote) from Python, as :class:`rnnkit.tagging.LoadedTagger` is
for taggers::

    >>> clf = LoadedClassifier("runs/sentiment/best.safetensors")   # doctest: +SKIP
    >>> clf.predict("a wonderful film")                              # doctest: +SKIP
    'pos'
    >>> clf.labels                                                   # doctest: +SKIP
    ['neg', 'pos']
    >>> clf.predict_proba(["a wonderful film", "dull"])              # doctest: +SKIP
    array([[0.03, 0.97], [0.91, 0.09]], dtype=float32)

Texts are read as training read them (:meth:`rnnkit.classify.task.ClassifierEncoder.tokenize`: words or
characters, lowercased and width-folded as trained); a text without tokens is read as one ``<unk>``.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from rnnkit.checks import check_str_sequence


class LoadedClassifier:
    """A classifier checkpoint behind ``predict(texts) -> labels`` and ``predict_proba(texts) -> (N, K)``,
    with :meth:`attention` for what an attention-pooling model looked at."""

    def __init__(self, path: str | os.PathLike) -> None:
        from rnnkit.classify.task import load_classifier

        self.model, self.encoder, self.task = load_classifier(path)

    @property
    def labels(self) -> list[str]:
        """The model's labels: the columns of :meth:`predict_proba`, in order."""
        return list(self.encoder.labels)

    def predict_proba(self, texts: str | Sequence[str], batch_size: int = 256,
                      on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """P(label | text): (K,) for one str, (N, K) for a list of N texts, columns in the order of
        :attr:`labels`, in the model's dtype; ``on_batch``: called with each batch's tokens (a progress
        display)."""
        from rnnkit.classify.task import predict_proba

        many, one = _texts(texts)
        probs = predict_proba(self.model, self.encoder.encode(many), batch_size, on_batch=on_batch) if many else \
            np.zeros((0, len(self.labels)), self.model.config.dtype)
        return probs[0] if one else probs

    def predict(self, texts: str | Sequence[str], batch_size: int = 256) -> str | list[str]:
        """The most probable label of one text (a str), or of each of a list of texts, as ``rnnkit classify``
        prints it."""
        probs = self.predict_proba(texts, batch_size)
        labels = self.labels  # a copy: taken once, not per text
        if probs.ndim == 1:
            return labels[int(probs.argmax())]
        return [labels[int(i)] for i in probs.argmax(axis=1)]

    def attention(self, texts: str | Sequence[str], batch_size: int = 256,
                  on_batch: Callable[[int], None] | None = None) -> tuple[Any, Any]:
        """``(probabilities, weights)`` of one text, or of each of a list: :meth:`predict_proba`'s and the
        attention pooling's weight of each token (:meth:`tokens`), an array summing to 1 (``rnnkit classify
        --attention``); ValueError for a model that does not pool by attention."""
        from rnnkit.classify.task import predict_attention

        if self.model.config.pooling != "attention":
            raise ValueError(f"Expected a classifier with attention pooling to show its weights, got pooling "
                             f"{self.model.config.pooling!r}")
        many, one = _texts(texts)
        if not many:
            return np.zeros((0, len(self.labels)), self.model.config.dtype), []
        probs, weights = predict_attention(self.model, self.encoder.encode(many), batch_size, on_batch)
        return (probs[0], weights[0]) if one else (probs, weights)

    def tokens(self, text: str) -> list[str]:
        """The tokens the model reads of ``text`` (words or characters, lowercased as trained; ``["<unk>"]`` for a
        text without any), one per :meth:`attention` weight."""
        return self.encoder.tokenize(text)


def _texts(texts: Any) -> tuple[list[str], bool]:
    """``(texts as a list, whether one str was given)``."""
    if isinstance(texts, str):
        return [texts], True
    return check_str_sequence("texts", texts), False
