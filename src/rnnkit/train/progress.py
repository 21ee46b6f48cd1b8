"""Progress display: a tqdm bar on a terminal, plain log lines otherwise (files, CI, pipes)."""
from __future__ import annotations

import io
import math
import os
import sys
import time
from typing import Any, TextIO


def _fmt_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


FRACTIONS = ("accuracy", "f1", "macro_f1", "oov_recall", "exact", "root_accuracy", "node_accuracy", "precision",
             "recall")  # metrics in [0, 1], shown as percentages, as rnnkit evaluate shows them


def format_metric(name: str, value: float) -> str:
    """A validation metric as the epoch line shows it: fractions as percentages with two decimals
    (24.01%), BLEU and perplexity with two decimals, losses and bits with four."""
    if name in FRACTIONS:
        return f"{100 * value:.2f}%"
    return f"{value:.2f}" if name in ("bleu", "chrf", "ppl") else f"{value:.4f}"


class Progress:
    """Shows units/s (tokens, sentences), loss, perplexity and ETA for one epoch at a time.

    ``mode``: "bar" (tqdm), "lines" (one plain line per ``every`` updates), "none", or "auto"
    (a bar when ``stream`` is a terminal, lines otherwise).
    """

    def __init__(self, mode: str = "auto", unit: str = "tok", every: int = 50, stream: TextIO | None = None,
                 show_ppl: bool = True) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        self.mode = mode
        self.unit = unit
        self.every = max(1, every)
        self.show_ppl = show_ppl
        self._bar = None
        self.gone = False  # the reader of the stream went away (`rnnkit train ... | head`): training goes on

    def _safe(self, write: Any) -> None:
        """Run ``write``; if the stream's reader has gone (a closed pipe), stop writing to it and let the
        run go on: a training run piped into ``head`` used to end at once, its checkpoints unwritten."""
        if self.gone:
            return
        try:
            write()
        except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
            self.gone = True
            self._bar = None
            try:  # later writes to the descriptor (messages, the command's last lines) go nowhere, quietly
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
                pass

    def start_epoch(self, epoch: int, total: int, done: int = 0) -> None:
        """Start showing ``epoch``: ``total`` units, ``done`` of them already (a resumed epoch)."""
        self.epoch = epoch
        self.total = total
        self.done = done
        self.updates = 0
        self.units_since = 0
        self.t0 = time.perf_counter()
        if self.mode == "bar" and not self.gone:
            from tqdm import tqdm

            def start() -> None:
                self._bar = tqdm(total=total, initial=done, unit=self.unit, unit_scale=True, file=self.stream,
                                 desc=f"epoch {epoch}", dynamic_ncols=True, leave=True)

            self._safe(start)

    def update(self, units: int, loss: float, lr: float) -> None:
        """Count ``units`` more and show the batch's loss (and perplexity exp(loss) with ``show_ppl``) and ``lr``."""
        self.done += units
        self.units_since += units
        self.updates += 1
        elapsed = time.perf_counter() - self.t0
        rate = self.units_since / elapsed if elapsed > 0 else float("nan")
        info = {"loss": f"{loss:.3f}"}
        if self.show_ppl:
            info["ppl"] = f"{math.exp(min(loss, 700)):.1f}"
        info["lr"] = f"{lr:.3g}"
        if self.mode == "bar" and self._bar is not None:
            bar = self._bar
            self._safe(lambda: (bar.update(units), bar.set_postfix(info, refresh=False)))
        elif self.mode == "lines" and self.updates % self.every == 0:
            eta = (self.total - self.done) / rate if rate > 0 else float("nan")
            pct = 100.0 * self.done / max(1, self.total)
            parts = " | ".join(f"{k} {v}" for k, v in info.items())
            self._print(f"epoch {self.epoch} | {pct:5.1f}% | {rate:,.0f} {self.unit}/s | {parts} | eta "
                        f"{_fmt_time(eta)}")

    def end_epoch(self, summary: str) -> None:
        """Close the bar and print ``summary`` (nothing in mode "none")."""
        if self._bar is not None:
            bar, self._bar = self._bar, None
            self._safe(bar.close)
        if self.mode != "none":
            self._print(summary)

    def message(self, text: str, always: bool = False) -> None:
        """Print a line of the run's story; ``always``: even in mode "none" (a notice the user must see,
        such as checkpoints removed or a resume)."""
        if self.mode != "none" or always:
            if self._bar is not None:
                bar = self._bar
                self._safe(lambda: bar.write(text, file=self.stream))
            else:
                self._print(text)

    def _print(self, text: str) -> None:
        self._safe(lambda: print(text, file=self.stream, flush=True))
