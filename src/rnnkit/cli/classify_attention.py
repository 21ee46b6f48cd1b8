"""``rnnkit classify --attention``: under each classified text, every token the model read with its attention
weight and a bar as long as the weight, so a student sees what the model looked at::

    pos	a wonderful film
      a          0.052  ██▏
      wonderful  0.701  ████████████████████████████
      film       0.247  █████████▉

The token column is padded by display width (:mod:`rnnkit.textwidth`), so Chinese characters (two terminal
columns each) line up too; the bar is last on its line, so a terminal that draws the block characters wide
cannot push anything out of line.  A token the model does not know is marked ``(<unk>)``: it read the
``<unk>`` vector there.  A text longer than the model's ``--max-length`` ends in a line saying how many tokens
it did not read.  Only a classifier trained with ``--pooling attention`` has such weights.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.textwidth import align_columns

BAR = 40  # columns of a weight of 1
_EIGHTHS = " ▏▎▍▌▋▊▉"  # a bar's last, partial column, in eighths


def check_attention(pooling: str, model: str) -> None:
    """ValueError unless the classifier ``model`` (a path, for the message) pools by attention."""
    if pooling != "attention":
        raise ValueError(f"--attention shows the weights of attention pooling, and {model} pools by {pooling}: "
                         "train a classifier with --pooling attention, or leave --attention out")


def bar(weight: float) -> str:
    """A bar of ``BAR`` columns for weight 1, to the eighth of a column."""
    eighths = int(round(float(weight) * BAR * 8))
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def cut_tokens(enc: Any, text: str) -> int:
    """How many of ``text``'s tokens the encoder's ``max_length`` left unread (0 without a cap)."""
    if not enc.max_length:
        return 0
    return max(0, len(enc.tokenize(text, cap=False)) - enc.max_length)


def token_lines(enc: Any, text: str, weights: np.ndarray) -> str:
    """The lines under ``text``'s classification: each of its tokens (as ``enc`` cuts them, so lowercased,
    folded and capped as the model read them), its weight and its bar, indented by two spaces; then, when
    ``max_length`` cut the text, a line saying how many tokens the model did not read."""
    tokens = enc.tokenize(text)
    if len(tokens) != len(weights):  # internal: the weights come from these very tokens
        raise AssertionError(f"{len(tokens)} tokens but {len(weights)} weights")
    rows = [[token if token in enc.vocab else f"{token} (<unk>)", f"{w:.3f}", bar(w)]
            for token, w in zip(tokens, weights)]
    cut = cut_tokens(enc, text)
    unit = "character" if enc.level == "char" else "token"
    more = (f"  ... {cut:,} more {unit}{'s' * (cut != 1)} not read (the model's --max-length {enc.max_length} cut "
            "them)\n") if cut else ""
    return "".join(f"  {line}\n" for line in align_columns(rows)) + more
