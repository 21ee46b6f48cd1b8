"""Word segmentation scores as the SIGHAN bakeoff scorer reports them.

A word is identified by its character span ``[start, end)`` in the sentence, so a predicted word
is correct only when the gold segmentation has a word with exactly the same start and end (the
same characters at the same place).  With ``c`` correct words, ``p`` predicted and ``g`` gold::

    precision = c / p      recall = c / g      F1 = 2 * precision * recall / (precision + recall)

OOV recall is recall over the gold words missing from the training word list:
``correct OOV gold words / OOV gold words``, and IV recall the same over the words in it.  The
OOV rate is the fraction of gold words that are OOV.  A score whose denominator is 0 is 0 for
precision, recall and F1 (nothing to find or nothing found) and ``None`` for OOV/IV recall (there
is no such word to recall, so the score is undefined; ``None`` is ``null`` in JSON, where ``nan`` is
not valid).

The bakeoff's ``score`` script finds the matches by running ``diff`` on the two files written one
word a line.  That usually gives the same count, but when a sentence repeats a string, diff can
pair two equal words at different places (gold ``a|aa`` vs predicted ``aa|a``: diff finds 1 match,
spans 0).  Spans are the definition the scorer stands for, so they are used here.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence


def word_spans(words: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` (end exclusive) of consecutive words."""
    result = []
    start = 0
    for word in words:
        result.append((start, start + len(word)))
        start += len(word)
    return result


def _ratio(numerator: int, denominator: int, empty: float | None) -> float | None:
    return numerator / denominator if denominator else empty


def segmentation_prf(gold_words: Sequence[Sequence[str]], pred_words: Sequence[Sequence[str]],
                     train_vocab: Iterable[str] | None = None, oov_key: Callable[[str], str] | None = None) -> dict:
    """Word precision, recall, F1 and (with ``train_vocab``) OOV/IV recall and OOV rate.

    ``oov_key`` maps a word to what the model reads of it (e.g. its width-folded form) before the OOV
    test, so that a word the model knows under another form does not count as unseen.

    Returns ``{"precision", "recall", "f1", "oov_recall", "iv_recall", "oov_rate", "gold_words",
    "pred_words", "correct"}``; the three OOV entries are None without ``train_vocab``, and OOV (IV)
    recall is None when no gold word is OOV (IV).  Gold and
    predicted sentences must hold the same characters (ValueError naming the sentence otherwise).
    """
    if len(gold_words) != len(pred_words):
        raise ValueError(f"Expected as many predicted sentences as gold ones ({len(gold_words)}), "
                         f"got {len(pred_words)}")
    if train_vocab is not None and (isinstance(train_vocab, str) or not isinstance(train_vocab, Iterable)):
        got = "a str (its characters are not the words: pass text.split())" if isinstance(train_vocab, str) \
            else type(train_vocab).__name__
        raise TypeError(f"Expected train_vocab to be a collection of words or None, got {got}")
    if oov_key is not None and not callable(oov_key):
        hint = " (str.lower for lowercasing)" if oov_key == "lower" else ""
        raise TypeError(f"Expected oov_key to be a function word -> key or None{hint}, got "
                        f"{type(oov_key).__name__} {oov_key!r}")
    key = oov_key or (lambda w: w)
    vocab = None if train_vocab is None else {key(w) for w in train_vocab}
    n_gold = n_pred = n_correct = 0
    n_oov = n_oov_correct = 0
    for k, (gold, pred) in enumerate(zip(gold_words, pred_words)):
        if isinstance(gold, str) or isinstance(pred, str):
            raise TypeError(f"Expected each sentence to be a list of words, got a str in sentence {k}")
        if "".join(gold) != "".join(pred):
            raise ValueError(f"Expected the same characters in gold and predicted sentence {k}, got "
                             f"{''.join(gold)[:30]!r} and {''.join(pred)[:30]!r}")
        pred_spans = set(word_spans(pred))
        n_gold += len(gold)
        n_pred += len(pred)
        for word, span in zip(gold, word_spans(gold)):
            hit = span in pred_spans
            n_correct += hit
            if vocab is not None and key(word) not in vocab:
                n_oov += 1
                n_oov_correct += hit
    precision = _ratio(n_correct, n_pred, 0.0)
    recall = _ratio(n_correct, n_gold, 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = {"precision": precision, "recall": recall, "f1": f1, "oov_recall": None, "iv_recall": None,
              "oov_rate": None, "gold_words": n_gold, "pred_words": n_pred, "correct": n_correct}
    if vocab is not None:
        result["oov_recall"] = _ratio(n_oov_correct, n_oov, None)
        result["iv_recall"] = _ratio(n_correct - n_oov_correct, n_gold - n_oov, None)
        result["oov_rate"] = _ratio(n_oov, n_gold, 0.0)
    return result
