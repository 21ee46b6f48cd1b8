"""Heatmaps of a language model's activations (:func:`rnnkit.lm.states.hidden_states`): tokens along x,
units along y, one panel per quantity (h, then c and the gates), in the manner of char-rnn's pictures.

Colour scales are fixed by what a quantity can be, so that panels and runs compare: a sigmoid gate
(i, f, o; r, z) in [0, 1]; tanh values (h of a tanh cell, g, n) in [-1, 1], red above zero and blue below;
an LSTM's cell state c, and a ReLU cell's h, symmetric about zero over their own largest magnitude.

Tokens label the x axis (drawn on an Agg canvas, :mod:`rnnkit.plotting`): characters DejaVu Sans lacks
(Chinese) come from an installed font that has them, or are spelled as code points with one warning; a
character model's space and newline show as ␣ and ↵; a token the model does not know is marked ' (<unk>)', as
``rnnkit states`` marks it in its table (the model read the <unk> vector there).  matplotlib is an optional dependency:
``pip install 'rnnkit[plot]'``.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from rnnkit.plotting import (font_families, matplotlib_parts, new_figure, quiet_glyph_warnings, save_figure,
                             spell_missing, warn_missing_glyphs)

GATES = frozenset("ifozr")  # sigmoids: in [0, 1]
BOUNDED = frozenset("gn")  # tanh: in [-1, 1]
MAX_LABELS = 300  # beyond this many tokens only every k-th is labelled (the labels would overlap)
UNK_MARK = " (<unk>)"  # after a token the model read as <unk>: the table's mark (rnnkit.cli.states)
NAMES = {"h": "hidden state h", "c": "cell state c", "i": "input gate i", "f": "forget gate f", "g": "candidate g",
         "o": "output gate o", "r": "reset gate r", "z": "update gate z", "n": "candidate n"}


def _scale(name: str, values: np.ndarray, bounded_h: bool) -> tuple[str, float, float]:
    """(colormap, vmin, vmax) of a quantity (the module docstring says why)."""
    if name in GATES:
        return "viridis", 0.0, 1.0
    if name in BOUNDED or (name == "h" and bounded_h):
        return "RdBu_r", -1.0, 1.0
    top = float(np.abs(values).max()) if values.size else 1.0
    top = top if top > 0 else 1.0
    return "RdBu_r", -top, top


def plot_states(values: Mapping[str, np.ndarray], tokens: Sequence[str], units: Sequence[int],
                path: str | os.PathLike, title: str | None = None, bounded_h: bool = True, dpi: int = 100,
                unknown: Sequence[bool] | None = None) -> Path:
    """Write the heatmaps of ``values`` (name -> (T, U) array, U the ``units`` shown) over ``tokens`` (T,)
    to ``path`` (PNG; format by suffix) and return the path.  ``bounded_h``: h lies in [-1, 1] (tanh;
    False for a ReLU Elman cell).  ``unknown``: (T,) whether the model read each token as <unk>, its label
    then marked :data:`UNK_MARK`."""
    names = list(values)
    T, U = len(tokens), len(units)
    if not names or T == 0 or U == 0:
        raise ValueError(f"Expected at least one quantity, token and unit to draw, got {len(names)}, {T} and {U}")
    for name in names:
        if np.shape(values[name]) != (T, U):
            raise ValueError(f"Expected {name} of shape (T, U) = {(T, U)}, got {np.shape(values[name])}")
    unknown = [False] * T if unknown is None else list(unknown)
    if len(unknown) != T:
        raise ValueError(f"Expected unknown with one flag per token ({T}), got {len(unknown)}")
    matplotlib_parts()  # the install hint before any work
    families, missing = font_families("".join(tokens) + (title or ""))
    warn_missing_glyphs(missing)
    labels = [spell_missing(tok, missing) + UNK_MARK * bool(unk) for tok, unk in zip(tokens, unknown)]
    title = spell_missing(title, missing) if title else title
    # about a quarter of an inch per token and unit; capped, as the attention plot caps its own
    width = min(1.6 + 0.26 * T, 60.0)
    panel = min(0.6 + 0.22 * U, 12.0)
    fig = new_figure(width, min(0.6 + panel * len(names) + 0.7, 80.0))
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    font = {"family": families}
    step = math.ceil(T / MAX_LABELS)
    for ax, name in zip(axes, names):
        v = np.asarray(values[name], dtype=np.float64).T  # (U, T)
        cmap, vmin, vmax = _scale(name, v, bounded_h)
        image = ax.imshow(v, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.set_yticks(np.arange(U))
        ax.set_yticklabels([str(u) for u in units], fontsize=7 if U > 24 else 9)
        ax.set_ylabel(NAMES.get(name, name))
        fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)
    bottom = axes[-1]
    bottom.set_xticks(np.arange(0, T, step))
    bottom.set_xticklabels(labels[::step], fontdict=font, rotation=0 if max(map(len, labels)) <= 2 else 90)
    bottom.set_xlabel("token" + (f" (one label every {step} tokens)" if step > 1 else ""))
    if title:
        axes[0].set_title(title, fontdict=font)
    with quiet_glyph_warnings():  # the one warning above replaces matplotlib's warning per missing glyph
        return save_figure(fig, Path(path), dpi)
