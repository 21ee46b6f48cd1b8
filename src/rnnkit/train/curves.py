"""Learning curves from training runs' metrics logs (``metrics.jsonl``): read, summarise, plot.

Every run of ``rnnkit train ...`` writes one JSON object a line: ``{"type": "train", "step", "loss",
...}`` every ``--log-every`` steps and ``{"type": "epoch", "epoch", "step", "train_loss",
"valid_<metric>", "best", ...}`` at each epoch's end (a translator trained with ``--coverage-loss`` adds its
coverage loss: ``coverage_loss`` and ``train_coverage_loss``) (``valid_loss``, in the training loss's units, for
language models, translators, classifiers and tree models; ``valid_ppl`` / ``valid_bits`` for language
models, ``valid_accuracy``, ``valid_f1``, ``valid_root_accuracy``, BLEU and others by task).  :func:`plot_curves` draws the training loss against the step and one
validation metric against the epoch, several runs overlaid, so settings can be compared by eye.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rnnkit.errors import DataError
from rnnkit.plotting import (font_families, new_figure, quiet_glyph_warnings, save_figure, spell_missing,
                             warn_missing_glyphs)
from rnnkit.textwidth import display_width, ljust
from rnnkit.train.loop import METRICS


EPOCH_MEANS = ("loss", "coverage_loss")  # training series whose epoch records hold each epoch's mean (train_<name>)
TRAIN_MEANS = tuple("train_" + name for name in EPOCH_MEANS)


class RunCurves(NamedTuple):
    """One run's logged curves, from :func:`read_run`."""

    name: str  # how the run is labelled
    steps: np.ndarray  # (n,) optimizer steps of the logged training losses
    losses: np.ndarray  # (n,) the training loss at each
    epochs: list[dict]  # the epoch records, in order
    lrs: np.ndarray | None = None  # (n,) the learning rate at each logged step (NaN where not logged)
    grad_norms: np.ndarray | None = None  # (n,) the global gradient norm before clipping (NaN without --clip)
    coverage_losses: np.ndarray | None = None  # (n,) a translator's coverage loss (NaN without --coverage-loss)

    def train_series(self, name: str) -> np.ndarray:
        """(n,) the logged training values of ``name`` (one of TRAIN_SERIES) at :attr:`steps`."""
        values = {"loss": self.losses, "lr": self.lrs, "grad_norm": self.grad_norms,
                  "coverage_loss": self.coverage_losses}[name]
        return np.full(self.steps.shape, np.nan) if values is None else values


def metrics_path(run: str | os.PathLike) -> Path:
    """The metrics log of a run: ``run`` itself when it is a file, else ``run/metrics.jsonl``."""
    run = Path(run)
    return run / METRICS if run.is_dir() else run


def read_run(run: str | os.PathLike, name: str | None = None) -> RunCurves:
    """A run's logged curves; a missing, empty or malformed log raises DataError naming file and line
    (but an unfinished last line, which a run killed while writing it leaves, is left out)."""
    path = metrics_path(run)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        folds = sorted((p for p in path.parent.glob("fold*") if (p / METRICS).exists()),
                       key=lambda p: (len(p.name), p.name))
        if folds:  # a cross-validation's folder: each fold is a run of its own
            raise DataError(f"{path.parent}: a cross-validation's folder, each fold a run of its own; give them, "
                            f"e.g. {' '.join(str(p) for p in folds[:3])}{' ...' if len(folds) > 3 else ''}") from None
        if any((path.parent / name).exists() for name in ("last.safetensors", "best.safetensors")):
            raise DataError(f"{path.parent}: a run folder whose run logged nothing (it stopped before its first "
                            f"log_every (--log-every) steps and before an epoch ended); train with a smaller "
                            "log_every to see its curve") from None
        raise DataError(f"{path}: no such file; give a run folder (holding {METRICS}) or a {METRICS} file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file; expected rnnkit's {METRICS}") from None
    steps, losses, lrs, norms, coverage, epochs = [], [], [], [], [], []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record["type"]
            if kind == "train":
                steps.append(int(record["step"]))
                losses.append(float(record["loss"]))
                lrs.append(_number(record.get("lr")))
                norms.append(_number(record.get("grad_norm")))
                coverage.append(_number(record.get("coverage_loss")))
            elif kind == "epoch":
                record["epoch"], record["step"] = int(record["epoch"]), int(record["step"])
                for key in [k for k in record if k.startswith("valid_") or k in TRAIN_MEANS]:
                    # a number; null (NaN in logs of earlier versions) without validation data
                    record[key] = math.nan if record[key] is None else float(record[key])
                epochs.append(record)
        except (ValueError, KeyError, TypeError) as exc:
            if number == len(lines) and not text.endswith("\n"):
                break  # the line a run killed while writing it left unfinished (--resume drops it too)
            raise DataError(f"{path}: line {number}: not a metrics record of rnnkit ({type(exc).__name__}: "
                            f"{exc}); expected the {METRICS} a training run writes") from None
    if not steps and not epochs:
        raise DataError(f"{path}: no training or epoch records; has the run taken a step yet?")
    label = name or (path.parent.name if path.name == METRICS else path.stem)
    return RunCurves(label, np.array(steps, dtype=np.int64), np.array(losses), epochs, np.array(lrs),
                     np.array(norms), np.array(coverage))


TRAIN_SERIES = {"loss": "training loss (logged batches)", "lr": "learning rate",
                "grad_norm": "gradient norm before clipping",
                "coverage_loss": "coverage loss (logged batches)"}  # the left panel's choices, and its axis labels
# the series of TRAIN_SERIES that only some runs log: what it is, when a run logs it, how to have it, the others
LOGGED_WHEN = {"grad_norm": ("a gradient norm", "it is logged with --clip", "train with --clip, or ", "loss or lr"),
               "coverage_loss": ("a coverage loss", "a translator logs it when trained with --coverage --coverage-loss "
                                 "L > 0", "", "loss")}


def check_logged(runs: list[RunCurves], train: str, option: str = "train=") -> None:
    """ValueError when no run of ``runs`` logged the training series ``train`` (of :data:`LOGGED_WHEN`, which
    only some runs log), rather than an empty panel; ``option`` names the choice (``"--train-metric "``)."""
    if train in LOGGED_WHEN and not any(has_series(r, train) for r in runs):
        what, when, how, others = LOGGED_WHEN[train]
        raise ValueError(f"{option}{train}: no run logged {what} ({when}); {how}plot {option}{others}")


def has_series(run: RunCurves, name: str) -> bool:
    """Whether ``run`` logged the training series ``name`` (of TRAIN_SERIES): a batch's value, or an epoch's mean."""
    if np.isfinite(run.train_series(name)).any():
        return True
    return name in EPOCH_MEANS and any(math.isfinite(e.get("train_" + name, math.nan)) for e in run.epochs)


def _number(value) -> float:
    """A logged number, NaN for null (no clipping: no norm) or a missing key (logs of earlier versions)."""
    return math.nan if value is None else float(value)


def run_metrics(run: RunCurves) -> list[str]:
    """The validation metrics (``valid_`` dropped) a run's epoch records report, ``loss`` first."""
    have = {k[len("valid_"):] for e in run.epochs for k in e if k.startswith("valid_") and k != "valid_seconds"}
    return sorted(have, key=lambda k: (k != "loss", k))


def valid_metrics(runs: list[RunCurves]) -> list[str]:
    """The validation metrics (``valid_`` dropped) that every run with a finished epoch reports, ``loss`` first
    (a run still in its first epoch does not narrow them)."""
    names = None
    for r in runs:
        if not r.epochs:
            continue
        have = set(run_metrics(r))
        names = have if names is None else names & have
    return sorted(names or (), key=lambda k: (k != "loss", k))


LOWER_IS_BETTER = ("loss", "ppl", "bits", "word_ppl", "bits_per_char")  # the last two: a BPE language model's


def selecting_metric(run: RunCurves) -> str | None:
    """The validation metric whose improvements are the run's "best" marks (the one that chose its
    best.safetensors: the loss of a language model, the accuracy or F1 of a tagger, classifier or tree
    model), or None when no metric fits them all; the loss when it fits.  A run's epoch records name it
    (``selected_by``, written since Dec 2026); for an earlier run's it is the first metric whose
    improvements match the marks."""
    named = {e.get("selected_by") for e in run.epochs} - {None}  # None: epochs of a run resumed from an earlier version
    if len(named) == 1 and (name := named.pop()) is not None and name in run_metrics(run):
        return name
    for metric in run_metrics(run):
        key, lower = "valid_" + metric, metric in LOWER_IS_BETTER
        best, fits = None, False
        for e in run.epochs:
            v = e.get(key)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                break
            improved = best is None or (v < best if lower else v > best)
            if improved != bool(e.get("best")):
                break
            best = v if improved else best
        else:
            fits = bool(run.epochs)
        if fits:
            return metric
    return None


def best_epoch(run: RunCurves) -> dict | None:
    """The epoch record of the run's best checkpoint (the last epoch marked best), if any."""
    marked = [e for e in run.epochs if e.get("best")]
    return marked[-1] if marked else None


def last_train_loss(run: RunCurves) -> tuple[float | None, str]:
    """The run's latest training loss and what it covers: the last ended epoch's mean ("epoch 3 mean"), or,
    when a batch was logged after that epoch's end (a run stopped part-way through the next epoch, or still
    training in it), that batch's loss ("epoch 4 step 85", the epoch that had not ended); (None, "-") without
    either.  The training log shows the same batch losses (``epoch 4 |  60.7% | ... | loss 2.654``)."""
    ended = run.epochs[-1]["step"] if run.epochs else 0
    if run.steps.size and run.steps[-1] > ended:
        step = int(run.steps[-1])
        epoch = 1 + sum(e["step"] < step for e in run.epochs)  # the epoch the step was in
        return float(run.losses[-1]), f"epoch {epoch} step {step}"
    if run.epochs:
        return run.epochs[-1].get("train_loss"), f"epoch {run.epochs[-1]['epoch']} mean"
    return None, "-"


def summary_lines(runs: list[RunCurves], metric: str = "loss") -> list[str]:
    """A table: per run its ended epochs, latest training loss (:func:`last_train_loss`) and what it covers,
    and the validation ``metric`` at its best epoch (the epoch of best.safetensors) and at its last ended one;
    a note below it when a loss is a batch's, of an epoch that had not ended."""
    width = max(4, *(display_width(r.name) for r in runs))  # a Chinese run name takes two columns a character
    key = "valid_" + metric
    latest = [last_train_loss(r) for r in runs]
    of = max(len("train loss of"), *(len(what) for _, what in latest))
    # two spaces between columns: headers of several words ("train loss of", "best epoch") would run together
    # with one, and so would a row's "epoch 2 mean" and its best epoch
    lines = ["  ".join([ljust("run", width), f"{'epochs':>6}", f"{'last train loss':>15}", f"{'train loss of':<{of}}",
                        f"{'best epoch':>10}", f"{'valid ' + metric + ' (best)':>22}",
                        f"{'valid ' + metric + ' (last)':>22}"])]
    for r, (loss, what) in zip(runs, latest):
        best = best_epoch(r)
        lines.append("  ".join([ljust(r.name, width), f"{len(r.epochs):>6}", f"{_fmt(loss):>15}", f"{what:<{of}}",
                                f"{(best['epoch'] if best else '-'):>10}",
                                f"{_fmt(best.get(key) if best else None, metric):>22}",
                                f"{_fmt(r.epochs[-1].get(key) if r.epochs else None, metric):>22}"]))
    if any(" step " in what for _, what in latest):
        lines.append("(epoch N step S: the batch logged at step S, in epoch N, which had not ended; epoch N mean: "
                     "the mean over epoch N)")
    return lines


def _fmt(v, metric: str = "loss") -> str:
    """A value as the table shows it: fractions (accuracy, F1) times 100, as training prints them."""
    from rnnkit.train.progress import FRACTIONS, format_fraction

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if metric in FRACTIONS:
        return format_fraction(metric, v)
    return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.4g}"


def plot_curves(runs: list[RunCurves], path: str | os.PathLike, metric: str = "loss", dpi: int = 100,
                train: str = "loss") -> Path:
    """Two panels: a logged training series against the step (``train``: the loss, the learning rate, the
    gradient norm or a translator's coverage loss, :data:`TRAIN_SERIES`), and validation ``metric`` against the
    epoch (the best epoch of each run marked), every run in its own colour; written to ``path``.  ValueError
    for a series no run logged (:func:`check_logged`)."""
    if train not in TRAIN_SERIES:
        raise ValueError(f"Expected train to be one of {', '.join(TRAIN_SERIES)}, got {train!r}")
    if not runs:
        raise ValueError("Expected at least one run to plot, got none")
    check_logged(runs, train)
    # run names may be Chinese (a folder 运行, --labels 中文): a font that has them, or their code points
    families, missing = font_families("".join(r.name for r in runs))
    warn_missing_glyphs(missing)
    names = [spell_missing(r.name, missing) for r in runs]
    fig = new_figure(11.0, 4.2)
    left, right = fig.subplots(1, 2)
    key = "valid_" + metric
    for i, (r, name) in enumerate(zip(runs, names)):
        colour = f"C{i % 10}"
        values = r.train_series(train)
        if r.steps.size and np.isfinite(values).any():
            left.plot(r.steps, values, color=colour, linewidth=1.0, alpha=0.85, label=name)
        elif train in EPOCH_MEANS:  # fewer steps than --log-every: the epochs' means are all there is
            key = "train_" + train
            ends = [(e["step"], e[key]) for e in r.epochs if math.isfinite(e.get(key, math.nan))]
            if ends:
                xs, ys = zip(*ends)
                left.plot(xs, ys, color=colour, marker="o", markersize=3, linewidth=1.0, label=name)
        points = [(e["epoch"], e[key]) for e in r.epochs if isinstance(e.get(key), (int, float))
                  and math.isfinite(e[key])]
        if points:
            xs, ys = zip(*points)
            right.plot(xs, ys, color=colour, marker="o", markersize=3, linewidth=1.5, label=name)
            best = best_epoch(r)
            if best is not None and isinstance(best.get(key), (int, float)):
                right.plot([best["epoch"]], [best[key]], color=colour, marker="*", markersize=12)
    left.set_xlabel("optimizer step")
    left.set_ylabel(TRAIN_SERIES[train])
    left.set_title("training")
    right.set_xlabel("epoch")
    right.xaxis.get_major_locator().set_params(integer=True)  # whole epochs
    right.set_ylabel(f"validation {metric}")
    right.set_title("validation (star: best checkpoint)")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        if len(runs) > 1 and ax.get_legend_handles_labels()[0]:
            ax.legend(prop={"family": families, "size": "small"})
    with quiet_glyph_warnings():
        return save_figure(fig, path, dpi)
