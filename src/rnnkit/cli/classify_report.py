"""What ``train classifier --test``, its folds and ``evaluate`` report of a classifier on labelled texts:
accuracy, macro-F1, the confusion matrix and each class's precision, recall and F1; and ``rnnkit evaluate``'s
scoring of a classifier on a file or a polarity pair (:func:`evaluate_classifier`)."""
from __future__ import annotations

import argparse
from typing import Any, Callable

from rnnkit.cli.apply_progress import Shown
from rnnkit.cli.classify_data import read_labelled, refuse_same_pair, warn_if_unsegmented
from rnnkit.cli.classify_trees import read_gold_trees, trees_given
from rnnkit.cli.text_warnings import warn
from rnnkit.jsonline import json_line
from rnnkit.textwidth import display_width, rjust


def scores(model: Any, enc: Any, examples: list, on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, the confusion matrix and per-class precision, recall, F1 and support of a model
    on labelled examples (the classes: the model's labels and any other gold label, sorted); ``on_batch``:
    called with each batch's tokens (a progress display)."""
    from rnnkit.classify.task import predict_proba
    from rnnkit.metrics.classification import accuracy, confusion_matrix, macro_f1, per_class_prf

    probs = predict_proba(model, enc.encode([e.text for e in examples]), on_batch=on_batch)
    pred = [enc.labels[i] for i in probs.argmax(axis=1)]
    gold = [e.label for e in examples]
    matrix, labels = confusion_matrix(gold, pred)
    return {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred), "labels": labels,
            "confusion": matrix.tolist(), "per_class": per_class_prf(gold, pred, labels), "examples": len(gold)}


def describe(m: dict[str, Any]) -> str:
    """Accuracy, macro-F1, the confusion matrix and (where ``m`` has them) each class's precision, recall
    and F1 as text; labels are padded by display width, so columns headed by Chinese labels (two
    terminal columns a character) line up."""
    lines = [f"accuracy {100 * m['accuracy']:.2f}%, macro-F1 {100 * m['macro_f1']:.2f} over {m['examples']:,} texts",
             "confusion matrix (rows gold, columns predicted):"]
    return "\n".join(lines + confusion_lines(m["labels"], m["confusion"], m.get("per_class")))


def confusion_lines(labels: list, confusion: list, per_class: dict | None = None) -> list[str]:
    """A confusion matrix (rows gold, columns predicted) as text lines, then each class's precision,
    recall and F1 where ``per_class`` has them (a tree model's evaluation prints them too)."""
    width = max(8, *(display_width(str(label)) for label in labels))
    lines = [" " * width + "".join(rjust(str(label), width + 1) for label in labels)]
    for label, row in zip(labels, confusion):
        lines.append(rjust(str(label), width) + "".join(f"{n:>{width + 1}}" for n in row))
    if per_class:
        lines.append("per class:")
    lines += [prf_line(label, s, width) for label, s in (per_class or {}).items()]
    return lines


def prf_line(name: Any, s: dict, width: int) -> str:
    """``name`` (right-aligned to ``width`` by display width) with its precision, recall, F1 and gold count
    ``s``: a class's, a tag's or a span type's line.  An undefined precision (nothing predicted) or recall
    (nothing in gold), None in ``s`` and null in --json, is shown "-"; macro-F1 counts such a class's F1 as
    0 (:mod:`rnnkit.metrics.classification`).  F1 is undefined ("-") only for a class in neither."""
    return (f"{rjust(str(name), width)}: precision {_percent(s['precision'])} recall {_percent(s['recall'])} "
            f"F1 {_percent(s['f1'])[:-1]} ({s['support']:,} gold)")


def _percent(x: float | None) -> str:
    return f"{'-':>6} " if x is None else f"{100 * x:6.2f}%"


def warn_unknown_labels(examples: list, labels: list[str], path: str, first_line: int | None = 1,
                        training: bool = False) -> None:
    """Gold labels the model was not trained on (not in ``labels``) can only be counted wrong: say so, with the
    first line (``first_line``: the line of the first example, 2 after a header, for lines one example each;
    an example's own ``line``, a tree's, comes first; None: no line, for a polarity pair).  ``training``: said
    of --test as the data load, before the model exists, of the training data's."""
    known = set(labels)
    unknown = [(getattr(e, "line", None) or k, e.label) for k, e in enumerate(examples, start=first_line or 1)
               if e.label not in known]
    if unknown:
        names = sorted({label for _, label in unknown})
        where = path if first_line is None else f"{path}:{unknown[0][0]}"
        lacks, knows = ("the training data lack", "they hold") if training else ("the model was not trained on",
                                                                                   "it knows")
        warn(f"{where}: {len(unknown):,} of {len(examples):,} texts have a label {lacks} "
             f"({', '.join(map(repr, names[:5]))}{', ...' if len(names) > 5 else ''}; {knows} "
             f"{', '.join(map(repr, list(labels)[:10]))}): they {'will be' if training else 'are'} counted as wrong")


def evaluate_classifier(model_path: str, data_path: str | None, args: argparse.Namespace) -> int:
    """Score a classifier on DATA (label<TAB>text lines; a classifier trained on trees: trees too, when DATA's
    first line starts with '(') or on a polarity pair (--pos P --neg N)."""
    from rnnkit.classify.task import load_classifier
    from rnnkit.data.classification import read_polarity

    pos, neg = getattr(args, "pos", None), getattr(args, "neg", None)
    header = bool(getattr(args, "header", False))
    if (pos or neg) and (data_path is not None or header or not (pos and neg)):
        raise ValueError("a polarity pair is scored with --pos FILE and --neg FILE instead of DATA (and without "
                         "--header); give both, or DATA alone")
    if data_path is None and not pos:
        raise ValueError("nothing to score: give DATA (label<TAB>text lines), or --pos FILE and --neg FILE")
    if pos:
        refuse_same_pair(pos, neg)
    model, enc, task = load_classifier(model_path)
    if pos:
        examples = read_polarity(pos, neg, args.encoding or "utf-8")
        data_path = f"{pos} / {neg}"
    elif task.get("format") == "tree" and trees_given(data_path, args.encoding or "utf-8"):
        examples = read_gold_trees(data_path, args.encoding or "utf-8", task.get("label_scheme") or "sst5",
                                   model_path)
    else:
        examples = read_labelled(data_path, args.encoding or "utf-8", header, enc.labels, untabbed=enc.labels,
                                 fix=f"to score a tagger on it, rnnkit evaluate TAGGER {data_path}")
    if enc.level == "word":
        warn_if_unsegmented([e.text for e in examples], data_path, enc, model_path)
    warn_unknown_labels(examples, enc.labels, data_path, None if pos else 1 + header)
    with Shown(args.progress, lambda: sum(len(enc.tokenize(e.text)) for e in examples), "evaluating") as shown:
        m = scores(model, enc, examples, shown)
    print(json_line(m) if args.json else f"{data_path}: {describe(m)}")
    return 0
