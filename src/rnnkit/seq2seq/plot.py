"""Attention heatmaps: which source tokens each target token looked at.

Row t of ``weights`` (T, S) is the attention distribution a_t over the S source positions while the
decoder produced target token t (``Hypothesis.attention`` of greedy decoding); each row sums to 1.

Drawn on an Agg canvas (:mod:`rnnkit.plotting`). Tokens are UTF-8 (German umlauts render with the
default DejaVu Sans). For characters DejaVu lacks (Chinese, Japanese) a system font that has them is
added as a fallback; when none is installed the plot is still written with those characters spelled
as code points (``我`` -> ``U+6211``, which a reader can look up, where a glyph box would say
nothing) and one warning says which font package to install.

matplotlib is an optional dependency: ``pip install 'rnnkit[plot]'``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.checks import check_int
from rnnkit.plotting import (font_families, matplotlib_parts, new_figure, quiet_glyph_warnings, save_figure,
                             spell_missing, warn_missing_glyphs)

def _check(weights: Any, source_tokens: Sequence[str], target_tokens: Sequence[str]) -> np.ndarray:
    for name, tokens in (("source_tokens", source_tokens), ("target_tokens", target_tokens)):
        if isinstance(tokens, str):
            raise TypeError(f"Expected {name} to be a list of tokens, got a single str")
        for i, tok in enumerate(tokens):
            if not isinstance(tok, str):
                raise TypeError(f"Expected {name} to hold str tokens, got {type(tok).__name__} at position {i}")
    w = np.asarray(weights, dtype=np.float64)
    expected = (len(target_tokens), len(source_tokens))
    if w.ndim != 2 or w.shape != expected:
        raise ValueError(f"Expected weights of shape (T, S) = {expected} (T target tokens, S source tokens), "
                         f"got {w.shape}")
    if w.size == 0:
        raise ValueError(f"Expected at least one source and one target token, got weights of shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("Expected finite attention weights, got NaN or inf")
    return w


def plot_attention(
    weights: Any,
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    path: str | os.PathLike,
    title: str | None = None,
    dpi: int = 100,
) -> Path:
    """Write the heatmap of ``weights`` (T, S) to ``path`` (PNG; format by suffix) and return the path.

    Source tokens label the columns (top, rotated), target tokens the rows; darker is more attention.
    The colour scale is [0, 1] when the weights are probabilities, else their own range.
    """
    w = _check(weights, source_tokens, target_tokens)  # (T, S)
    check_int("dpi", dpi, 1)
    matplotlib_parts()  # the install hint before any work
    families, missing = font_families("".join(source_tokens) + "".join(target_tokens) + (title or ""))
    warn_missing_glyphs(missing)
    source_labels = [spell_missing(tok, missing) for tok in source_tokens]
    target_labels = [spell_missing(tok, missing) for tok in target_tokens]
    title = spell_missing(title, missing) if title else title
    T, S = w.shape
    # about a third of an inch per token keeps labels legible; the margins hold the labels themselves
    longest = max(len(tok) for tok in [*source_labels, *target_labels])
    margin = 0.6 + 0.09 * min(longest, 30)
    fig = new_figure(min(margin + 1.4 + 0.34 * S, 40), min(margin + 0.8 + 0.34 * T, 40))
    ax = fig.add_subplot()
    probabilities = w.min() >= 0.0 and w.max() <= 1.0
    vmin, vmax = (0.0, 1.0) if probabilities else (float(w.min()), float(w.max()))
    image = ax.imshow(w, cmap="Greys", vmin=vmin, vmax=vmax, aspect="equal", interpolation="nearest")
    font = {"family": families}
    ax.set_xticks(np.arange(S))
    ax.set_yticks(np.arange(T))
    ax.set_xticklabels(source_labels, rotation=90, fontdict=font)
    ax.set_yticklabels(target_labels, fontdict=font)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("source", fontdict=font)
    ax.set_ylabel("target", fontdict=font)
    if title:
        ax.set_title(title, fontdict=font, pad=12)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.03, label="attention weight")
    with quiet_glyph_warnings():  # the one warning above replaces matplotlib's warning per missing glyph
        return save_figure(fig, Path(path), dpi)
