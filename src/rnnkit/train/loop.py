"""The training loop, shared by language models, taggers, classifiers and translators.

A task (:class:`rnnkit.train.task.Task`) supplies the model's parameters, its batches, the loss and
gradients of one batch, and its validation metrics.  The best checkpoint, early stopping and the
plateau schedule follow ``criterion(metrics) -> float`` (lower is better; NaN: no validation data),
which defaults to ``metrics["loss"]``; a task that selects by accuracy, F1 or BLEU defines it (e.g.
1 - accuracy).

With ``TrainConfig.average`` set, a :class:`~rnnkit.optim.average.ParameterAverage` of the weights
is kept after every step; validation scores the average, and the checkpoints' ``model/`` arrays hold
it (the training weights themselves go under ``raw/``), so every command that loads a checkpoint uses
the averaged model.

Checkpoints (``last.safetensors`` every N steps / minutes and at every epoch end, ``best`` on
validation) hold the parameters, the optimizer and schedule state, the random generator's state, the
position in the epoch and the carry, so a run killed at any moment and resumed with ``resume=True``
ends with exactly the parameters, bit for bit, of a run that was never interrupted.

Given a ``group`` of several processes (:mod:`rnnkit.train.distributed`, started by ``mpiexec``), each
trains its share of every batch (``task.shard`` or ``task.split_batch``), the gradients are combined
before every step, each validates its part of the validation data (``task.evaluate_share``; process 0
joins the parts) and process 0 alone writes the run folder.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checks import check_config
from rnnkit.errors import NonFiniteError, NotLearningWarning, TrainingDivergedError
from rnnkit.guard import UniformLoss, above_uniform, check_finite, check_weights, divergence_hint
from rnnkit.jsonline import json_line
from rnnkit.optim import HalveOnPlateau, ParameterAverage, clip_coefficient, grad_norm, make_optimizer
from rnnkit.row_threads import blas_threads
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop_checkpoints import LoopCheckpoints
from rnnkit.train.loop_state import LoopState
from rnnkit.train.digest import resume_message, threads_note
from rnnkit.train.earlier_run import EarlierRun
from rnnkit.train.interrupt import GracefulStop
from rnnkit.train.distributed import SingleProcess, divide, share_of, validate
from rnnkit.train.progress import Progress, epoch_name, format_metric
# the run folder's file names, re-exported: code imports them from here
from rnnkit.train.run_files import BEST, LAST, METRICS, TIMING_KEYS, model_file  # noqa: F401
from rnnkit.train.run_lock import make_run_folder, run_lock
from rnnkit.train.run_schedule import last_step_lr, run_span
from rnnkit.train.step_limit import step_limit_note
from rnnkit.train.task import IndependentBatches, StepResult, Task  # noqa: F401  (also imported from here)

# NonFiniteError.stage, as the divergence message names it
_STAGES = {"forward": "the forward pass of ", "backward": "the backward pass of ", "update": "the update of "}


# writing and reading the run's checkpoints (_save, _resume) are LoopCheckpoints' (loop_checkpoints.py)
class Trainer(LoopCheckpoints):
    """Runs a :class:`Task` under a :class:`TrainConfig`, writing into ``run_dir``."""

    def __init__(self, task: Task, config: TrainConfig, run_dir: str | os.PathLike, progress: Progress | None = None,
                 unit: str = "tok", show_ppl: bool = True, data_digest: str | None = None,
                 group: SingleProcess | None = None, run_options: dict[str, Any] | None = None,
                 keep_best: bool = True) -> None:
        """``data_digest``: a fingerprint of the training data (:func:`rnnkit.train.digest.file_digest`),
        kept in the checkpoints; ``fit(resume=True)`` refuses a checkpoint whose data had another one.
        ``group``: the processes of a data-parallel run (:func:`rnnkit.train.distributed.world`).
        ``run_options``: more options a resumed run must share with the run it continues (option -> a JSON
        value, e.g. ``{"--embeddings": "glove.txt (12,345 bytes)"}``), beside the task's ``resume_options``.
        ``keep_best=False``: no best.safetensors, and no line when ``max_steps`` stops the run (a caller that keeps
        and reports its final weights, as the main demo, whose --steps is the run's length by design)."""
        check_config(config, TrainConfig)
        self.group = group or SingleProcess()
        self.resumed_threads: int | None = None  # the BLAS thread count of the run --resume continues
        self.split = divide(task, self.group)  # several processes: each its streams, or its part of each batch
        if self.group.rank:
            progress = Progress("none")  # process 0 shows the progress
        self.task = task
        self.keep_best = keep_best
        self.data_digest = data_digest
        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress or Progress(config.progress, unit=unit, every=config.log_every, show_ppl=show_ppl)
        kw: dict[str, Any] = {"lr": config.lr, "weight_decay": config.weight_decay}
        if config.optimizer.lower() in ("sgd", "rmsprop"):
            kw["momentum"] = config.momentum
        kw.update(config.optimizer_options)  # nesterov, betas, eps, amsgrad, ...: the optimizer checks their values
        unknown = [n for n in config.frozen if n not in task.params]
        if unknown:
            raise ValueError(f"Expected frozen parameters among the model's ({', '.join(list(task.params)[:6])}, ...), "
                             f"got {unknown}")
        self.optimizer = make_optimizer(config.optimizer, task.params, **kw)
        self.span = run_span(task, config)  # (steps, how counted) a per-step schedule spans; None: per epoch
        self.schedule = config.make_schedule(self.optimizer, None if self.span is None else self.span[0])
        self.average = None if config.average is None else ParameterAverage(task.params, config.average)
        self.rng = np.random.default_rng(config.seed)  # batches (jitter, shuffling); and steps in one process
        # each process's own draws in its steps (dropout masks over its streams)
        self.rank_rng = np.random.default_rng([config.seed, self.group.rank]) if self.group.size > 1 else None
        self.state = LoopState()
        self.saved_step: int | None = None  # the step last.safetensors holds (written or resumed from); None: none
        self.carry: Any = None
        self.epoch_start: float | None = None  # the epoch under way's start on the clock, less its seconds resumed
        self.first_loss: float | None = None  # for detecting an exploding loss
        # what guessing uniformly scores, for naming a run that diverges below the explosion threshold
        self.uniform: UniformLoss | None = task.uniform_loss() if hasattr(task, "uniform_loss") else None
        self.said_not_learning = False  # warned of the last epoch: the next one above is not said again
        self.stop = GracefulStop(False, print)  # fit(stop_on_signal=True) makes one that listens
        self.earlier: EarlierRun | None = None  # a new run's predecessor in its folder, until its first save
        options = getattr(task, "resume_options", None)
        # tuples: lists
        self.run_options = json.loads(json.dumps({**(options() if options is not None else {}), **(run_options or {})}))

    def _patience_exhausted(self) -> bool:
        """More epochs without improvement than --patience allows (never without --patience)."""
        return self.config.patience is not None and self.state.bad_epochs > self.config.patience

    def _start_afresh(self) -> None:
        """A new run in a folder an earlier run used: set its metrics log and checkpoints aside until this
        run saves (:mod:`rnnkit.train.earlier_run`), so that neither its best model (which a run without
        validation never replaces) nor its last checkpoint (which --resume would read) can pass for
        this run's, and a run that fails before its first checkpoint destroys nothing."""
        if self.group.rank:
            return
        self.earlier = EarlierRun(self.run_dir, (METRICS, BEST, LAST))
        kept = [name for name in self.earlier.set_aside() if name != METRICS]
        if kept:
            self.progress.message(f"new run in {self.run_dir}: the earlier run's {' and '.join(kept)} "
                                  f"{'go' if len(kept) > 1 else 'goes'} when this run saves its first checkpoint",
                                  always=True)

    def _log(self, record: dict[str, Any]) -> None:
        if self.group.rank:
            return
        with open(self.run_dir / METRICS, "a", encoding="utf-8") as f:
            f.write(json_line(record) + "\n")  # strict JSON: no validation loss is null, not NaN

    # ------------------------------------------------------------------ the loop
    def fit(self, resume: bool = False, stop_on_signal: bool = False) -> LoopState:
        """Train until the configured epochs (or early stopping, or max_steps); returns the loop state.

        The run folder is locked meanwhile (:mod:`rnnkit.train.run_lock`): a second run into it stops
        with RunInUseError instead of overwriting this one's checkpoints.  ``stop_on_signal`` (the
        command line's runs): Ctrl-C or SIGTERM stops after the step under way, saved
        (:mod:`rnnkit.train.interrupt`)."""
        if self.group.rank:  # the run folder is process 0's (on its machine)
            return self._train(resume)
        make_run_folder(self.run_dir)
        self.stop = GracefulStop(stop_on_signal and self.group.size == 1, lambda t: self.progress.message(t, True))
        with run_lock(self.run_dir), self.stop:  # one process per run folder, until this run ends
            # (the metrics log's too: a kill while a resume cut it back left one that only a resume removed)
            left = [p for name in (LAST, BEST, METRICS) for p in ckpt.remove_stale_temporaries(self.run_dir / name)]
            if left:
                writes = f"write{'s' * (len(left) > 1)}"
                self.progress.message(f"removed {len(left)} unfinished checkpoint or log {writes} a stopped run left "
                                      f"in {self.run_dir}", always=True)
            try:
                state = self._train(resume)
                if self.stop.requested:  # a signal the loop never looked at: nothing was left to train (a resume
                    self.stop.stop(self.run_dir / LAST, state.step)  # of a finished run), or it came at the end
                return state
            except KeyboardInterrupt:  # stopped at once (a second Ctrl-C) before a first checkpoint and with no
                if self.earlier is not None and METRICS not in self.earlier.kept:  # earlier log: no run to read
                    with contextlib.suppress(OSError):  # (a diverged run's log stays: it shows the blow-up)
                        (self.run_dir / METRICS).unlink()
                raise
            finally:  # ended (failed, interrupted) before its first checkpoint: the earlier run's files return
                back = [] if self.earlier is None else [n for n in self.earlier.restore() if n != METRICS]
                if back:
                    self.progress.message(f"this run saved no checkpoint, so the earlier run's {' and '.join(back)} "
                                          f"{'are' if len(back) > 1 else 'is'} back in {self.run_dir}", always=True)

    def _train(self, resume: bool) -> LoopState:
        cfg = self.config
        if resume:
            self._resume()
            # an early stop is judged again under this run's --patience, which may change on resume
            self.state.stopped_early = self._patience_exhausted()
            said = resume_message(self.state, self.config, self.run_dir / LAST)
            self.progress.message(said, always=True)
            threads = blas_threads()
            if self.resumed_threads not in (None, threads) and "nothing to train" not in said:  # else none trains
                self.progress.message(threads_note(self.resumed_threads, threads), always=True)
        else:
            self._start_afresh()
            for v in self.task.params.values() if self.group.size > 1 else ():
                v[...] = self.group.broadcast(v)  # the same start in every process, whatever their seeds gave
        st = self.state
        self.start_step = st.step  # a resumed run that has nothing left to train ends where it starts
        last_save = time.monotonic()
        total = self.task.epoch_units() if self.split else self.group.total(self.task.epoch_units())
        step_rng = self.rng if self.rank_rng is None else self.rank_rng
        while st.epoch < cfg.epochs and not st.stopped_early:
            if cfg.max_steps is not None and st.step >= cfg.max_steps:
                break
            epoch = st.epoch + 1  # 1-based for people
            # done: the units a resumed epoch had trained (0 at an epoch's start), which every task counts alike
            self.progress.start_epoch(epoch, total, done=st.epoch_units,
                                      steps_left=None if cfg.max_steps is None else cfg.max_steps - st.step,
                                      step=st.step)  # lines at the run's steps, a resumed run's too
            self.epoch_start = time.monotonic() - st.epoch_seconds  # a resumed epoch's earlier seconds count
            hint = self._divergence_hint()
            drawn = None  # the generator's state after the last step (kept only when max_steps may stop mid-epoch)
            for cursor, batch in self.task.train_batches(st.epoch, st.cursor, self.rng):
                if cfg.max_steps is not None and st.step >= cfg.max_steps:
                    # stopped here, before the next batch, rather than right after the step: a step that
                    # ends the epoch then still gets the epoch's end (validation, metrics line, best
                    # checkpoint) from the else below.  The batch made here is not trained on, so the
                    # generator's draws for it (a jittered window) are undone: a resumed run makes it again
                    if drawn is not None:
                        self.rng.bit_generator.state = drawn
                    break
                with np.errstate(over="ignore", invalid="ignore"):  # check_finite below names a blow-up, once
                    try:
                        share, stand_in = share_of(self.task, batch, self.group) if self.split else (batch, False)
                        res = self.task.train_step(share, self.carry, step_rng)
                    except ValueError as exc:  # a layer's own check of its input: inf weights from the last update?
                        check_weights(st.step, self.task.params, hint)
                        if isinstance(exc, NonFiniteError):  # finite weights, but the step's numbers overflowed
                            # the layer's own words (its input 'dout') are no user's: the step, and the fix
                            where = _STAGES.get(exc.stage, "")  # set where the layer raised it
                            raise TrainingDivergedError(f"loss exploded: values overflowed to NaN or inf in "
                                                        f"{where}step {st.step + 1}: {hint}") from None
                        raise
                if cfg.frozen:  # no update, no weight decay, and no part in the clipping norm
                    res.grads = {k: g for k, g in res.grads.items() if k not in cfg.frozen}
                res.loss, res.units, res.grads, penalties = self.group.reduce_step(  # a stand-in counts for nothing
                    res.loss, 0 if stand_in else res.units, res.grads, 0 if stand_in else res.weight, res.penalties)
                norm = grad_norm(res.grads) if cfg.clip else None
                if self.first_loss is None and math.isfinite(res.loss):
                    self.first_loss = res.loss
                # 20x the first loss: far above anything a healthy run shows, so only a blow-up trips it
                limit = None if self.first_loss is None else 20.0 * max(abs(self.first_loss), 1.0)
                check_finite(st.step + 1, res.loss, res.grads if norm is None or not math.isfinite(norm) else None,
                             explode_threshold=limit, hint=hint)
                # clipping by global norm, applied by the step (plain SGD folds it into its learning rate)
                lr = self.optimizer.lr  # this step's: a per-step schedule sets the next one's below
                with np.errstate(over="ignore", invalid="ignore"):  # an overflowing update: named at the next step
                    # finite: check_finite above has seen every gradient (through the norm when clipping)
                    self.optimizer.step(res.grads, grad_scale=clip_coefficient(norm, cfg.clip) if cfg.clip else 1.0,
                                        finite=True)
                st.step += 1
                if self.span and self.schedule.step_count < self.span[0]:  # beyond its span: its final rate
                    self.schedule.step()
                if self.average is not None:
                    self.average.update(st.step)
                st.cursor = cursor
                self.carry = res.carry
                st.epoch_loss += res.loss * res.units
                st.epoch_units += res.units
                if st.epoch_penalties is not None:  # None: this epoch's sums so far were not kept (LoopState)
                    for k, v in penalties.items():
                        st.epoch_penalties[k] = st.epoch_penalties.get(k, 0.0) + v * res.units
                self.progress.update(res.units, res.loss, lr, penalties)
                if st.step % cfg.log_every == 0:
                    self._log({"type": "train", "epoch": epoch, "step": st.step, "loss": res.loss, **penalties,
                               "lr": lr, "grad_norm": norm})
                due = (cfg.checkpoint_steps and st.step % cfg.checkpoint_steps == 0) or (
                    cfg.checkpoint_minutes and time.monotonic() - last_save >= 60 * cfg.checkpoint_minutes)
                if cfg.checkpoint_minutes and self.group.size > 1:
                    due = self.group.broadcast(due)  # process 0's clock decides, so that all save together
                if due or self.stop.requested:
                    self._save(LAST)
                    last_save = time.monotonic()
                if self.stop.requested:
                    self.stop.stop(self.run_dir / LAST, st.step)
                if cfg.max_steps is not None and st.step >= cfg.max_steps:
                    drawn = self.rng.bit_generator.state
            else:
                self._end_epoch(epoch, st.epoch_loss / max(1, st.epoch_units), time.monotonic() - self.epoch_start)
                self._save(LAST)
                last_save = time.monotonic()
                if self.stop.requested:  # during the epoch's end (validation): saved just now
                    self.stop.stop(self.run_dir / LAST, st.step)
                continue
            self.progress.end_epoch(None)  # max_steps reached inside the epoch: its bar closed (lines: its last)
            break
        if cfg.max_steps is not None and st.step >= cfg.max_steps:
            if self.saved_step != st.step:  # not when the epoch's end (or a resume with nothing to train) has it
                self._save(LAST)
            note = step_limit_note(st.step, st.epoch, cfg.epochs, st.history, (self.run_dir / BEST).is_file())
            if note and st.step > self.start_step and not st.stopped_early and self.keep_best:  # a resume with
                # nothing left to train said so already; so did early stopping, which a larger max_steps would not
                # have gone past; a caller that keeps the final weights (keep_best=False) reports them itself
                self.progress.message(note, always=not self.group.rank)
        return st

    def _divergence_hint(self) -> str:
        """A blow-up's cure, for the settings in use (the peak learning rate of a per-step schedule)."""
        return divergence_hint(self.config.lr if self.span else self.optimizer.lr, self.config.clip)

    def _end_epoch(self, epoch: int, train_loss: float, train_seconds: float) -> None:
        st = self.state
        t0 = time.monotonic()
        # weights the epoch's last update made NaN or inf: named now, rather than by numpy's overflow
        # warnings from validating them; an overflow of finite weights shows as an inf validation loss
        check_weights(st.step, self.task.params, self._divergence_hint())
        with (contextlib.nullcontext() if self.average is None else self.average.swapped(),
              np.errstate(over="ignore", invalid="ignore")):
            metrics = validate(self.task, self.group)  # several processes: each its part of the validation data
        valid_seconds = time.monotonic() - t0
        lr = last_step_lr(self.schedule, self.optimizer, st.step)  # the epoch's (its last step's, per step)
        val = float(criterion(self.task, metrics))
        improved = val < st.best
        if improved:
            st.best = val
            st.bad_epochs = 0
        elif not math.isnan(val):  # NaN: no validation data, so nothing to stop early on
            st.bad_epochs += 1
        penalties = {k: v / max(1, st.epoch_units) for k, v in (st.epoch_penalties or {}).items()}  # the epoch's means
        record = {"type": "epoch", "epoch": epoch, "step": st.step, "train_loss": train_loss,
                  **{f"train_{k}": v for k, v in penalties.items()}, "lr": lr,
                  **{f"valid_{k}": v for k, v in metrics.items()}, "best": improved,
                  # wall clock: not part of the exact-resume guarantee (see TIMING_KEYS)
                  "train_seconds": round(train_seconds, 3), "valid_seconds": round(valid_seconds, 3),
                  "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if (name := selected_by(self.task)) is not None:
            record["selected_by"] = name  # the metric "best" follows, which rnnkit curves shows
        not_learning = None if self.uniform is None else above_uniform(epoch, train_loss, self.uniform,
                                                                        self.first_loss, self._divergence_hint())
        if not_learning:
            record["warning"] = not_learning  # every such epoch's record; said once while it lasts (below)
        st.history.append(record)
        self._log(record)
        estimated = getattr(self.task, "eval_batch_size", 1) > 1  # several streams: pieces left unpredicted
        parts = [f"epoch {epoch} done", f"train loss {train_loss:.4f}",
                 *(f"train {k.replace('_', ' ')} {v:.4f}" for k, v in penalties.items()),
                 *(f"valid {epoch_name(k, metrics, estimated)} {format_metric(k, v)}" for k, v in metrics.items()
                   if not (isinstance(v, float) and math.isnan(v))),
                 f"lr {lr:.4g}"]
        self.progress.end_epoch(" | ".join(parts) + (" | best so far" if improved else ""))
        if not_learning and not self.said_not_learning and not self.group.rank:
            warnings.warn(not_learning, NotLearningWarning, stacklevel=2)
        self.said_not_learning = bool(not_learning)
        st.epoch += 1
        st.cursor = 0
        st.epoch_loss = 0.0
        st.epoch_units = 0
        st.epoch_penalties = {}
        st.epoch_seconds = 0.0
        self.epoch_start = None  # no epoch under way until the next starts
        self.carry = None
        if self.schedule is not None and not self.schedule.per_step:
            if isinstance(self.schedule, HalveOnPlateau):
                if not math.isnan(val):
                    self.schedule.step(val)
            else:
                self.schedule.step()
        if self._patience_exhausted():
            st.stopped_early = True
            self.progress.message(f"stopped early after epoch {st.epoch}: no improvement for {st.bad_epochs} epochs",
                                  always=not self.group.rank)  # said once, by process 0
        if improved and self.keep_best:
            self._save(BEST)


def selected_by(task: Any) -> str | None:
    """The name of the validation metric :func:`criterion` follows: the task's ``selected_by``, else "loss"
    for a task without a ``criterion`` of its own; None when a task's own criterion does not name it."""
    return getattr(task, "selected_by", None if hasattr(task, "criterion") else "loss")


def criterion(task: Any, metrics: dict[str, float]) -> float:
    """The number the best checkpoint is chosen by (lower is better): the task's own ``criterion``, else
    the validation loss; NaN when there is none."""
    if hasattr(task, "criterion"):
        return task.criterion(metrics)
    return metrics.get("loss", math.nan)
