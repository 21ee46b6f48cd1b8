"""The gradient-flow picture: ||dL/dh_t|| against the distance from the loss, one line per cell.

With the loss on h_T only, the curve for an Elman RNN falls as a straight line on the log scale
(geometric decay: the vanishing gradient), an LSTM's with forget-gate bias 1 stays far higher.  The
values plotted are the norms divided by ||dL/dh_T||, so every line starts at 1 (10^0) at distance 0.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rnnkit.checks import check_int
from rnnkit.plotting import new_figure, save_figure


def plot_gradient_flow(norms: Mapping[str, np.ndarray], path: str | os.PathLike, title: str | None = None,
                       dpi: int = 100) -> Path:
    """Write the plot of each ``norms[name]`` ((T,) ||dL/dh_t|| for t = 1..T, as
    :func:`rnnkit.diagnostics.gradient_flow` returns) to ``path`` (.png, .pdf or .svg); returns the path."""
    if not isinstance(norms, Mapping) or not norms:
        raise ValueError("Expected norms to be a non-empty dict of name -> (T,) array of gradient norms")
    curves = {}
    for name, n in norms.items():
        n = np.asarray(n, dtype=np.float64)
        if n.ndim != 1 or n.size < 1:
            raise ValueError(f"Expected norms[{name!r}] to be a 1-D array of per-step norms, got shape {n.shape}")
        if not (np.all(np.isfinite(n)) and np.all(n >= 0) and n[-1] > 0):
            raise ValueError(f"Expected finite non-negative norms with the last (at the loss) > 0 in norms[{name!r}]")
        curves[name] = n[::-1] / n[-1]  # (T,): distance 0 (h_T) first
    check_int("dpi", dpi, 1)
    fig = new_figure(7.0, 4.5)
    ax = fig.add_subplot()
    for name, c in curves.items():
        shown = np.where(c > 0, c, np.nan)  # an exact zero has no place on a log axis
        ax.plot(np.arange(c.size), shown, label=name, linewidth=1.8)
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the loss (T - t)")
    ax.set_ylabel("||dL/dh_t|| / ||dL/dh_T||" if not any(name.endswith(" c") for name in curves)
                  else "norm / its value at T (c: ||dL/dc_t||)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return save_figure(fig, path, dpi)
