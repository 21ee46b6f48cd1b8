"""Progress display: a tqdm bar on a terminal, plain log lines otherwise (files, CI, pipes)."""
from __future__ import annotations

import functools
import math
import sys
import time
from typing import TextIO

from rnnkit.outlasting import Outlasting


def _fmt_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


# metrics in [0, 1], shown x100 as rnnkit evaluate shows them (see format_fraction)
FRACTIONS = ("accuracy", "f1", "macro_f1", "oov_recall", "exact", "root_accuracy", "node_accuracy", "root_macro_f1",
             "node_macro_f1", "precision", "recall")


F_SCORES = ("f1", "macro_f1", "root_macro_f1", "node_macro_f1")  # of FRACTIONS: times 100 without %, as F1 is


def format_fraction(name: str, value: float) -> str:
    """A metric of FRACTIONS as every rnnkit output shows it: times 100 with two decimals, a percentage
    (24.01%) but for F1 scores, which conlleval and the reports give without one (macro-F1 52.60)."""
    return f"{100 * value:.2f}" + ("" if name in F_SCORES else "%")


PPL_CAP = math.exp(700.0)  # the perplexity rnnkit reports for a loss above 700 nats, rather than overflowing


def perplexity(nll: float) -> float:
    """exp(nll) for a mean negative log-likelihood in nats, capped at :data:`PPL_CAP` instead of overflowing
    (NaN stays NaN)."""
    return math.exp(min(nll, 700.0))


def format_perplexity(ppl: float) -> str:
    """A perplexity as every rnnkit output line shows it: two decimals (143.27) below a million, four
    significant digits above (3.459e+14: a number of 300 digits says no more), and ">1.014e+304" for
    :data:`PPL_CAP`, which stands for any larger one."""
    if not ppl >= 1e6:  # NaN too
        return f"{ppl:.2f}"
    return f">{ppl:.4g}" if ppl >= PPL_CAP else f"{ppl:.4g}"


def format_metric(name: str, value: float) -> str:
    """A validation metric as the epoch line shows it: fractions as :func:`format_fraction` does (24.01%,
    F1 52.60), perplexity as :func:`format_perplexity`, BLEU with two decimals, losses and bits with four."""
    if name in FRACTIONS:
        return format_fraction(name, value)
    if name in ("ppl", "word_ppl"):
        return format_perplexity(value)
    return f"{value:.2f}" if name in ("bleu", "chrf") else f"{value:.4f}"


def epoch_name(name: str, metrics: dict, estimated: bool) -> str:
    """How the epoch line names validation metric ``name`` of ``metrics``: a BPE model's (those with a
    ``word_ppl``) ``bits`` are per piece, said so beside its bits per character; its per-word perplexity and
    bits per character are marked ``~`` when ``estimated`` (several streams leave pieces unpredicted, so the
    text's total is N times the mean over those predicted, :mod:`rnnkit.lm.units`).  The JSON keys stay."""
    if "word_ppl" not in metrics:
        return name
    shown = {"bits": "bits/piece", "bits_per_char": "bits/char"}.get(name, name)
    return f"~{shown}" if estimated and name in ("word_ppl", "bits_per_char") else shown


# tqdm's own layout, but with the lines' rate and time left (Progress.eta), not tqdm's own estimates (its time
# left ran to the epoch's end under a step limit)
BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


@functools.cache
def _bar_class() -> type:
    """tqdm (imported when a bar is first shown) that shows its ``shown`` (rate in units/s, seconds left) as
    ``{rate_fmt}`` and ``{remaining}`` ("?" for NaN), set before each update."""
    from tqdm import tqdm

    class Bar(tqdm):
        shown = (math.nan, math.nan)

        @property
        def format_dict(self) -> dict:
            rate, eta = self.shown
            return {**super().format_dict, "rate": rate if rate > 0 else None,
                    "remaining": tqdm.format_interval(eta) if math.isfinite(eta) else "?"}

    return Bar


class Progress:
    """Shows units/s (tokens, sentences), loss, perplexity and ETA for one epoch at a time.

    ``mode``: "bar" (tqdm), "lines" (one plain line per ``every`` updates, at the run's step counts that are
    multiples of it: see :meth:`start_epoch`), "none", or "auto" (a bar when ``stream`` is a terminal, lines
    otherwise).
    """

    def __init__(self, mode: str = "auto", unit: str = "tok", every: int = 50, stream: TextIO | None = None,
                 show_ppl: bool = True) -> None:
        # a reader that goes away (`rnnkit train ... | head`) stops the display, not the training
        stream = stream or sys.stderr
        self.stream = stream if isinstance(stream, Outlasting) else Outlasting(stream)
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        self.mode = mode
        self.unit = unit
        self.every = max(1, every)
        self.show_ppl = show_ppl
        self.steps_left: int | None = None
        self._bar = None

    @property
    def gone(self) -> bool:
        """The reader of the stream went away; training goes on, unshown."""
        return self.stream.gone

    def start_epoch(self, epoch: int, total: int, done: int = 0, desc: str | None = None,
                    since: tuple[float, int] | None = None, steps_left: int | None = None, step: int = 0) -> None:
        """Start showing ``epoch``: ``total`` units, ``done`` of them already (a resumed epoch); ``desc``: the
        name shown instead of "epoch N" (a pass that is no training epoch: ``rnnkit tag``'s "tagging");
        ``since``: (start time, units done since then) the rate counts from (default: now, none);
        ``steps_left``: the updates before a step limit (``max_steps``) stops the run, which the ETA (the bar's
        and the lines', :meth:`eta`) then does not run past (None: the epoch's end); ``step``: the updates made
        before this epoch's first (the run's step count, or a resumed run's): the lines come after the updates
        whose count from the run's start is a multiple of ``every``, so a resumed run shows them at the steps the
        run would have shown them at uninterrupted (as the metrics log's lines), not ``every`` updates on."""
        self.steps_left = steps_left
        self.step = step
        self.epoch = epoch
        self.desc = desc or f"epoch {epoch}"
        self.total = total
        self.done = done
        self.updates = 0
        self.t0, self.units_since = since if since is not None else (time.perf_counter(), 0)
        if self.mode == "bar":
            self._bar = _bar_class()(total=total, initial=done, unit=self.unit, unit_scale=True, file=self.stream,
                                     desc=self.desc, dynamic_ncols=True, leave=True, bar_format=BAR_FORMAT)

    def update(self, units: int, loss: float | None, lr: float | None,
               penalties: dict[str, float] | None = None) -> None:
        """Count ``units`` more and show the batch's loss (and perplexity exp(loss) with ``show_ppl``), its
        ``penalties`` (terms trained on beside the loss: ``coverage_loss`` shown as "coverage loss") and ``lr``;
        None for loss and lr shows only the count, the rate and the ETA (a pass without training: tagging a file)."""
        self.done += units
        self.units_since += units
        self.updates += 1
        elapsed = time.perf_counter() - self.t0
        rate = self.units_since / elapsed if elapsed > 0 else float("nan")
        info = {} if loss is None else {"loss": f"{loss:.3f}"}
        if self.show_ppl and loss is not None:
            ppl = perplexity(loss)
            info["ppl"] = f"{ppl:.1f}" if ppl < 1e6 else format_perplexity(ppl)
        for k, v in (penalties or {}).items():
            info[k.replace("_", " ")] = f"{v:.3f}"
        if lr is not None:
            info["lr"] = f"{lr:.3g}"
        if self.mode == "bar" and self._bar is not None:
            self._bar.shown = (rate, self.eta(rate))  # what the update's refresh shows
            self._bar.update(units)
            self._bar.set_postfix(info, refresh=False)
        elif self.mode == "lines":
            self._last = (rate, info)
            if (self.step + self.updates) % self.every == 0:
                self._print_line()

    def eta(self, rate: float) -> float:
        """Seconds left at ``rate`` units/s: the units left of the epoch (not those a resumed epoch had done)
        over the rate, or with ``steps_left`` the steps left to the limit times the mean step's time, if
        sooner; NaN before a rate is known.  The bar shows it as the lines do."""
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        if self.steps_left is not None and self.updates:  # the run stops sooner: at the step limit
            per_step = (time.perf_counter() - self.t0) / self.updates
            eta = min(eta, max(0, self.steps_left - self.updates) * per_step)
        return eta

    def _print_line(self) -> None:
        """One plain progress line of the last update (mode "lines")."""
        rate, info = self._last
        eta = self.eta(rate)
        pct = 100.0 * self.done / max(1, self.total)
        parts = "".join(f" | {k} {v}" for k, v in info.items())
        print(f"{self.desc} | {pct:5.1f}% | {rate:,.0f} {self.unit}/s{parts} | eta {_fmt_time(eta)}",
              file=self.stream, flush=True)

    def end_epoch(self, summary: str | None) -> None:
        """Close the bar and print ``summary`` (nothing in mode "none"); in mode "lines" the epoch's last update
        is shown first when its line was not printed (so the lines end at 100% of a whole epoch, not 94.7%)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.mode == "lines" and self.updates and (self.step + self.updates) % self.every:
            self._print_line()
        if self.mode != "none" and summary is not None:  # None: no summary line
            print(summary, file=self.stream, flush=True)

    def message(self, text: str, always: bool = False) -> None:
        """Print a line of the run's story; ``always``: even in mode "none" (a notice the user must see,
        such as checkpoints removed or a resume)."""
        if self.mode != "none" or always:
            if self._bar is not None:
                self._bar.write(text, file=self.stream)
            else:
                print(text, file=self.stream, flush=True)
