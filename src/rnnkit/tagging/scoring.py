"""Scoring a tagger's output: the task's metric for a tag scheme, and the scores themselves.

Token accuracy (POS), span F1 (chunking, NER; conlleval's rules via seqeval), word F1
(segmentation: BMES character tags turned into words) or, for an unsupervised HMM's states, the
induction measures of :mod:`rnnkit.metrics.induction` (many-to-one, one-to-one, V-measure, VI).  Each
metric needs its kind of tags: span F1 a span scheme (``bio``, ``iob1``, ``bioes``), word F1 the
characters of every sentence.
"""
from __future__ import annotations

from typing import Any

from rnnkit.data.segment_rules import fix_words, written_spaces
from rnnkit.data.segmentation import fold_width as fold_text
from rnnkit.data.segmentation import tags_to_words
from rnnkit.metrics.classification import confusion_matrix, confusion_prf
from rnnkit.metrics.induction import induction_scores
from rnnkit.metrics.segmentation import segmentation_prf
from rnnkit.metrics.tagging import span_prf, token_accuracy

METRICS = ("accuracy", "span_f1", "word_f1", "induction")
METRIC_KEYS = {"accuracy": "accuracy", "span_f1": "f1", "word_f1": "f1",
               "induction": "many_to_one"}  # where evaluate() reports each
SPAN_SCHEME = {"bio": "iob2", "iob1": "iob1", "bioes": "bioes"}  # our scheme names -> seqeval's


def metric_for(scheme: str, fmt: str) -> str:
    """The validation metric of a task: word F1 for BMES, span F1 for span schemes, else accuracy."""
    if scheme == "bmes":
        return "word_f1"
    return "span_f1" if scheme in SPAN_SCHEME else "accuracy"


def check_metric(metric: str, scheme: str) -> None:
    """ValueError unless ``metric`` is one of METRICS that ``scheme`` can be scored by (span F1 needs a
    span scheme: with "none" or "bmes" there are no spans to read)."""
    if metric not in METRICS:
        raise ValueError(f"Expected metric one of {METRICS}, got {metric!r}")
    if metric == "span_f1" and scheme not in SPAN_SCHEME:
        raise ValueError(f"Expected scheme one of {tuple(SPAN_SCHEME)} for metric 'span_f1' (the tags' spans), "
                         f"got {scheme!r}")


def score(metric: str, gold: list[list[str]], pred: list[list[str]], words: list[list[str]] | None = None,
          scheme: str = "none", train_words: list[str] | None = None, fold: bool = False,
          known: list[list[bool]] | None = None) -> dict[str, Any]:
    """Metrics of predicted tag sequences against gold; ``"main"`` holds the headline number.  ``fold``:
    the model reads width-folded text, so a word is unseen (OOV) when its folded form is.  Token
    accuracy comes with each tag's precision, recall and F1 (``"per_tag"``) and, given ``known`` (for
    every token, whether the model's vocabulary holds it), the accuracy on known and on unknown words
    (``"iv_accuracy"``, ``"oov_accuracy"``: None when there are none) and ``"oov_rate"``.  Token accuracy
    and span F1 come with the tags' confusion matrix, token by token (``"labels"``, the tags of gold and
    pred sorted, and ``"confusion"``, rows gold and columns predicted, as a classifier's): a span tagger's
    B-PER -> B-ORG and O -> B-LOC errors are what its span errors are made of.  Word F1 has none: it scores
    the words the rules below make of the tags, not the tags.  Word F1
    scores the words ``rnnkit segment`` would print (:func:`rnnkit.data.segment_rules.fix_words`, with
    the spaces of the written sentence, :func:`~rnnkit.data.segment_rules.written_spaces`, as fixed
    boundaries), not the raw tags."""
    check_metric(metric, scheme)
    if metric == "induction":
        return _induction(gold, pred, words, known)
    if metric == "accuracy":
        acc = token_accuracy(gold, pred)
        flat_gold = [t for s in gold for t in s]
        flat_pred = [t for s in pred for t in s]
        matrix, labels = confusion_matrix(flat_gold, flat_pred)
        out = {"main": acc, "accuracy": acc, "per_tag": confusion_prf(matrix, labels), "labels": labels,
               "confusion": matrix.tolist()}
        return {**out, **_known_unknown(flat_gold, flat_pred, known)} if known is not None else out
    if metric == "span_f1":
        m = span_prf(gold, pred, SPAN_SCHEME[scheme])
        acc = token_accuracy(gold, pred)  # checks the sentences pair up before they are flattened
        matrix, labels = confusion_matrix([t for s in gold for t in s], [t for s in pred for t in s])
        return {"main": m["f1"], "f1": m["f1"], "precision": m["precision"], "recall": m["recall"],
                "accuracy": acc, "per_type": m["per_type"], "labels": labels, "confusion": matrix.tolist()}
    if words is None:
        raise ValueError("Expected words (the characters of every sentence) for metric 'word_f1', got None")
    if not len(words) == len(gold) == len(pred):  # zip would drop the sentences past the shortest
        raise ValueError(f"Expected words, gold and pred for the same sentences, got {len(words)}, {len(gold)} "
                         f"and {len(pred)} of them")
    gw = [tags_to_words(c, t) for c, t in zip(words, gold)]
    # what `rnnkit segment` prints: its rules, with the spaces the written sentence has kept as boundaries
    known = set(train_words) if train_words else None  # training words the rules keep whole (T恤, 卡拉OK)
    pw = [fix_words(tags_to_words(c, t), written_spaces(g), known) for c, t, g in zip(words, pred, gw)]
    return word_scores(gw, pw, train_words, fold)


def word_scores(gold: list[list[str]], pred: list[list[str]], train_words: list[str] | None = None,
                fold: bool = False) -> dict[str, Any]:
    """Word F1 of predicted words against gold words (:func:`~rnnkit.metrics.segmentation.segmentation_prf`,
    OOV against ``train_words``, width-folded when the model reads so: ``fold``), F1 under ``"main"``."""
    m = segmentation_prf(gold, pred, train_words, fold_text if fold else None)
    return {"main": m["f1"], **m}


def _induction(gold: list[list[str]], pred: list[list[str]], words: list[list[str]] | None,
               known: list[list[bool]] | None) -> dict[str, Any]:
    """The induction measures of states ``pred`` against ``gold``; with ``known``, many-to-one on the known
    and on the unknown words, each state mapped as over all tokens; with ``words``, each state's most
    frequent words (``"state_words"``, up to 5)."""
    token_accuracy(gold, pred)  # checks the sentences pair up before they are flattened
    flat_gold = [t for s in gold for t in s]
    flat_pred = [t for s in pred for t in s]
    m = induction_scores(flat_gold, flat_pred)
    out = {"main": m["many_to_one"], **m}
    if known is not None:
        mapped = [m["many_to_one_map"][p] for p in flat_pred]
        split = _known_unknown(flat_gold, mapped, known)
        out.update(oov_rate=split["oov_rate"], oov_many_to_one=split["oov_accuracy"],
                   iv_many_to_one=split["iv_accuracy"])
    if words is not None:
        from collections import Counter

        counts: dict[str, Counter] = {k: Counter() for k in m["clusters"]}
        for w, p in zip((w for s in words for w in s), flat_pred):
            counts[p][w] += 1
        out["state_words"] = {k: [w for w, _ in c.most_common(5)] for k, c in counts.items()}
    return out


def _known_unknown(gold: list[str], pred: list[str], known: list[list[bool]]) -> dict[str, Any]:
    """Accuracy on the tokens the model's vocabulary holds and on the others (TnT's known / unknown
    words), and the share of unknown tokens."""
    flags = [k for s in known for k in s]
    if len(flags) != len(gold):
        raise ValueError(f"Expected one known flag per token ({len(gold)}), got {len(flags)}")
    right = [g == p for g, p in zip(gold, pred)]
    unknown = [r for r, k in zip(right, flags) if not k]
    seen = [r for r, k in zip(right, flags) if k]
    return {"oov_rate": len(unknown) / max(1, len(flags)),
            "oov_accuracy": sum(unknown) / len(unknown) if unknown else None,
            "iv_accuracy": sum(seen) / len(seen) if seen else None}
