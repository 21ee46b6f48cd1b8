"""Progress on standard error while a trained model reads a long file (``rnnkit tag``, ``rnnkit segment``,
``rnnkit classify``, ``rnnkit translate``, ``rnnkit score`` and ``rnnkit evaluate``, of every model but two
language models mixed by ``--interpolate``), shown with training's :class:`~rnnkit.train.progress.Progress`;
standard output is never touched."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Callable, TextIO

from rnnkit.train.progress import Progress

DELAY = 2.0  # seconds: --progress auto shows nothing for an input done sooner


TAG_BLOCKS = "; with tag's --probs, --nbest or --spans counted a block of 10,000 sentences at a time"


def add_option(p: argparse.ArgumentParser, which: str = "", counted: str = TAG_BLOCKS) -> None:
    """``--progress`` on ``p``; ``which``: the models it applies to, said in its help (evaluate's); ``counted``:
    what its help adds after "tokens done, tokens/s, ETA" (how a command counts them)."""
    p.add_argument("--progress", choices=["auto", "bar", "lines", "none"], default="auto",
                   help=f"{which}progress on standard error while the model reads the input (tokens done, tokens/s, "
                        f"ETA{counted}): auto is a bar on a terminal once the work has taken {DELAY:g} s (nothing "
                        "for a short input, nor when standard error is no terminal), bar and lines (a plain line as "
                        "the count passes a tenth of the input: ten at most, one for a batch that passes several "
                        "tenths, so fewer on a small input) from the start; none: nothing")


class Shown:
    """A callback ``shown(tokens)`` counting the tokens (words, or characters of a segmenter) the model has
    read, of ``total`` (or of what calling it gives, counted only when something is shown), on ``stream``
    (default standard error) in ``mode``: "none" shows nothing; "auto" a bar once :data:`DELAY` seconds have
    passed, and only when ``stream`` is a terminal; "bar" and "lines" from the first call.  :meth:`close` ends
    the display (nothing when none was shown), as leaving a ``with Shown(...) as shown:`` block does."""

    def __init__(self, mode: str, total: int | Callable[[], int], desc: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.delay = DELAY if mode == "auto" else 0.0
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "none"
        self.mode = mode
        self.total = total
        self.desc = desc
        self.done = 0
        self.t0 = time.perf_counter()
        self.progress: Progress | None = None
        self.held = 0  # lines: tokens done since the last line printed
        self.tenth = 0  # lines: the tenths of the input shown so far

    def __call__(self, tokens: int) -> None:
        self.done += tokens
        if self.mode == "none":
            return
        if self.progress is None:
            if time.perf_counter() - self.t0 < self.delay:
                return
            if callable(self.total):  # counted now that it is shown
                self.total = self.total()
            self.progress = Progress(self.mode, unit="tok", every=1, stream=self.stream, show_ppl=False)
            self.progress.start_epoch(0, self.total, done=self.done - tokens, desc=self.desc,
                                      since=(self.t0, self.done - tokens))  # the rate since the start
        self.held += tokens
        # lines: one as the count passes each tenth of the total, however the batches' sizes vary (sorted by
        # length, the first ones hold the shortest sentences), and the last at close
        tenth = 10 * self.done // max(1, self.total)
        if self.mode == "bar" or tenth > self.tenth:
            self.tenth = tenth
            self.progress.update(self.held, None, None)
            self.held = 0

    def close(self) -> None:
        if self.progress is not None:
            if self.held:  # the last tokens' line (mode lines): it ends at the total
                self.progress.update(self.held, None, None)
                self.held = 0
            self.progress.end_epoch(None)
            self.progress = None

    def __enter__(self) -> Shown:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
