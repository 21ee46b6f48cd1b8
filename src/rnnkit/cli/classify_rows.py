"""The output of ``rnnkit classify`` with a sentence classifier, one input line at a time: ``--format text``
(``label[<TAB>probabilities]<TAB>text``, with ``--attention`` the tokens under it) or ``--format json``, one JSON
object a line::

    {"label": "pos", "probs": {"neg": 0.1, "pos": 0.9}, "text": "a wonderful film"}

with every class's probability (rounded to 6 decimals) whether or not ``--probs`` is given, and with
``--attention`` ``"attention": [{"token", "weight", "known"}, ...]`` over the tokens the model read (``known``
false where it read ``<unk>``) and ``"cut"``: how many tokens ``--max-length`` left unread (absent when none)."""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.cli.classify_attention import cut_tokens, token_lines
from rnnkit.jsonline import json_line

FORMATS = ("text", "json")  # a sentence classifier's (a tree model also writes "tree")


def probs_column(labels: list, probs: np.ndarray, with_probs: bool = True) -> str:
    """``--probs``' text column, tab first: every class's probability (K,) to 4 decimals as ``label:p``; "" without
    ``with_probs``.  A sentence classifier's, a tree model's and ``classify --format tree``'s of a classifier."""
    return "\t" + " ".join(f"{lab}:{q:.4f}" for lab, q in zip(labels, probs)) if with_probs else ""


def probs_json(labels: list, probs: np.ndarray) -> dict[str, float]:
    """Every class's probability (K,) keyed by its label (a JSON key: a string), rounded to 6 decimals."""
    return {str(lab): round(float(q), 6) for lab, q in zip(labels, probs)}


def output_row(line: str, probs: np.ndarray, labels: list[str], enc: Any, fmt: str = "text", with_probs: bool = False,
               weights: np.ndarray | None = None) -> str:
    """The output for one non-blank input ``line`` (newline included) from its class probabilities (K,) over
    ``labels``; ``weights``: its attention weights (L,) with --attention, else None."""
    label = labels[int(probs.argmax())]
    text = line.strip()
    if fmt == "json":
        row: dict[str, Any] = {"label": label, "probs": probs_json(labels, probs), "text": text}
        if weights is not None:
            row["attention"] = [{"token": tok, "weight": round(float(w), 6), "known": tok in enc.vocab}
                                for tok, w in zip(enc.tokenize(line), weights)]
            cut = cut_tokens(enc, line)
            if cut:
                row["cut"] = cut
        return json_line(row) + "\n"
    tokens = token_lines(enc, line, weights) if weights is not None else ""
    return f"{label}{probs_column(labels, probs, with_probs)}\t{text}\n" + tokens
