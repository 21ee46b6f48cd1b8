"""matplotlib for rnnkit's plots, imported only when a plot is asked for; the fonts for text
DejaVu Sans lacks (Chinese, Japanese): a system font that has them is added as a fallback, and
characters no installed font has are spelled as code points with one warning.

Every plot is drawn with matplotlib's object-oriented API on an Agg canvas: no pyplot, no GUI, and
the user's global backend is left alone.  matplotlib is an optional dependency:
``pip install 'rnnkit[plot]'``; without it a plot raises ImportError with that hint, which the
command line prints as one line.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from rnnkit.atomic import write_atomically

INSTALL_HINT = "plots need matplotlib: pip install 'rnnkit[plot]' (or pip install matplotlib)"


def matplotlib_parts() -> tuple[Any, Any, Any]:
    """(Figure, FigureCanvasAgg, font_manager)."""
    try:
        from matplotlib import font_manager
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return Figure, FigureCanvasAgg, font_manager


_BASE_FONT = "DejaVu Sans"
# matplotlib's own last-resort font "covers" every code point with a box: it is not a real fallback
_NOT_FALLBACKS = ("Last Resort",)


@lru_cache(maxsize=64)
def _charmap(font_path: str) -> frozenset[int]:
    """Code points a font file has glyphs for (cached: reading a CJK font's table takes milliseconds)."""
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(font_path).get_charmap())


def font_families(text: str) -> tuple[list[str], str]:
    """Font families that cover ``text`` (DejaVu Sans first), and the characters none of them has."""
    _, _, font_manager = matplotlib_parts()
    needed = {ord(ch) for ch in text if not ch.isspace()}
    base = font_manager.findfont(font_manager.FontProperties(family=_BASE_FONT), fallback_to_default=True)
    missing = needed - _charmap(base)
    families = [_BASE_FONT]
    if not missing:
        return families, ""
    for entry in font_manager.fontManager.ttflist:
        if not missing or entry.name in families or entry.name.startswith(_NOT_FALLBACKS):
            continue
        try:
            covered = missing & _charmap(entry.fname)
        except (OSError, RuntimeError):
            continue  # an unreadable font file is simply not a candidate
        if covered:
            families.append(entry.name)
            missing -= covered
    return families, "".join(sorted(chr(c) for c in missing))


def spell_missing(token: str, missing: str) -> str:
    """``token`` with each character of ``missing`` written as its code point, e.g. U+6211; a token of
    whitespace alone (a character model's space, tab or newline) as the symbol that shows it (␣, ⇥, ↵)."""
    if token and not token.strip():
        return token.replace(" ", "\u2423").replace("\t", "\u21e5").replace("\n", "\u21b5")
    if not missing:
        return token
    return "".join(f" U+{ord(ch):04X} " if ch in missing else ch for ch in token).strip()


def warn_missing_glyphs(missing: str) -> None:
    """One warning for the characters no installed font has (see :func:`spell_missing`)."""
    if missing:
        warnings.warn(f"no installed font has the characters {missing[:20]!r}: they are labelled by code "
                      f"point (U+XXXX); install a font with them (e.g. apt-get install fonts-noto-cjk)",
                      stacklevel=3)


@contextlib.contextmanager
def quiet_glyph_warnings() -> Iterator[None]:
    """Silence matplotlib's warning per missing glyph (one per character and text), which
    :func:`warn_missing_glyphs` has said once."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield


def check_plot_file(path: str, option: str) -> None:
    """ValueError naming ``option`` for a plot file that cannot be written, before the work that draws
    it: no name, a format matplotlib does not write (by the suffix), or a path
    :func:`rnnkit.data.files.check_output_path` refuses (a missing folder is not refused: it is made);
    ImportError without matplotlib."""
    if not str(path).strip():
        raise ValueError(f"{option} needs a file name (e.g. plot.png), got an empty one")
    Figure, FigureCanvasAgg, _ = matplotlib_parts()
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    if fmt not in formats:
        raise ValueError(f"{option} {path}: matplotlib does not write .{fmt} files; use .png, .pdf or .svg")
    from rnnkit.data.files import check_output_path

    check_output_path(str(path), option, make_folders=True, suffix=".png")


def new_figure(width: float, height: float) -> Any:
    """A Figure of this size in inches, attached to an Agg canvas."""
    Figure, FigureCanvasAgg, _ = matplotlib_parts()
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Write the figure to ``path`` (format by suffix: .png, .pdf, .svg) atomically and return the path:
    the image appears whole or not at all, even if the process is killed while it is written.  Missing
    parent folders are made."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name for the plot, e.g. {path / 'plot.png'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi, bbox_inches="tight"))
    except OSError as exc:
        if "cannot write" in str(exc):  # the temporary beside it could not be made
            raise OSError(f"{exc.strerror}; choose another output file") from None
        raise
    return path
