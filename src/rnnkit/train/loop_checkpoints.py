"""The training loop's checkpoints: :class:`~rnnkit.train.loop.Trainer` saves its run (``_save``) and a
resumed run restores it (``_resume``): the parameters, the weight average, the optimizer and schedule state,
the random generators, the position in the epoch and the carry, so that a resumed run ends bit for bit as
an uninterrupted one.  What the file holds is :mod:`rnnkit.train.run_checkpoint`'s; this is the part that
reads and writes the Trainer's own state, as a base class of Trainer whose methods use the attributes that
``Trainer.__init__`` sets."""
from __future__ import annotations

import json
import time
from pathlib import Path

from rnnkit import checkpoint as ckpt
from rnnkit.errors import CheckpointError
from rnnkit.guard import check_weights
from rnnkit.row_threads import blas_threads
from rnnkit.train.digest import resume_problem
from rnnkit.train.metrics_log import truncate_metrics
from rnnkit.train.run_checkpoint import loop_record, loop_state, model_arrays, read_last, run_arrays
from rnnkit.train.run_files import LAST, METRICS
from rnnkit.train.run_schedule import span_problem


class LoopCheckpoints:
    """The saving and resuming of :class:`~rnnkit.train.loop.Trainer`, its base class: use Trainer."""

    # ------------------------------------------------------------------ checkpoints
    def _save(self, name: str) -> Path:
        st = self.state
        check_weights(st.step, self.task.params, self._divergence_hint())  # not blown up
        carry = None if self.carry is None else self.task.carry_arrays(self.carry)
        rank_rngs = None
        if name == LAST:  # in every process: each decides alike whether the run's end saves it again
            self.saved_step = st.step
        if self.epoch_start is not None:  # mid-epoch: the seconds it has trained so far, kept for a resume
            st.epoch_seconds = time.monotonic() - self.epoch_start
        if self.group.size > 1:  # what only each process holds, to process 0, which alone writes
            carry = self.group.gather(carry)
            rank_rngs = self.group.gather(ckpt.rng_state(self.rank_rng))
            if self.group.rank:
                return self.run_dir / name
            carry = None if carry[0] is None else self.task.join_carry_arrays(carry)
        opt = self.optimizer.state_dict()
        arrays = run_arrays(self.task.params, None if self.average is None else self.average.average, opt["arrays"],
                            carry)
        meta = {
            "kind": "training-run",
            "task": self.task.meta(),
            "data_digest": self.data_digest,
            "train_config": self.config.to_dict(),
            "run_options": self.run_options,
            "optimizer": opt["meta"],
            "schedule": None if self.schedule is None else self.schedule.state_dict(),
            "schedule_steps": None if self.span is None else self.span[0],
            "rng": ckpt.rng_state(self.rng),
            "processes": self.group.size,
            "blas_threads": blas_threads(),  # float32 sums' order depends on it: said on --resume if it changes
            "rank_rngs": rank_rngs,
            "loop": loop_record(st, self.carry is not None, self.first_loss),
        }
        path = self.run_dir / name
        ckpt.save_checkpoint(path, arrays, meta)
        if self.earlier is not None:  # this run has a checkpoint of its own: the earlier run's files go
            self.earlier.drop()
            self.earlier = None
        return path

    def _resume(self) -> None:
        path = self.run_dir / LAST
        arrays, meta = self.group.broadcast(read_last(path) if self.group.rank == 0 else None)
        if isinstance(arrays, Exception):  # raised where it happened, process 0, and in every other
            raise arrays
        if meta.get("kind") != "training-run":
            from rnnkit.export import resume_refusal  # here: rnnkit.export reads rnnkit.train's file names

            refusal = resume_refusal(path, meta)
            if refusal:
                raise CheckpointError(refusal)
            raise CheckpointError(f"{path}: not a training checkpoint (kind {meta.get('kind')!r})")
        as_saved = json.loads(json.dumps({"task": self.task.meta(), "config": self.config.to_dict()}))  # tuples: lists
        problem = resume_problem(meta, as_saved["task"], as_saved["config"], self.data_digest, self.run_options)
        problem = problem or (self.span and span_problem(self.config, meta.get("schedule_steps"), *self.span))
        if problem:
            raise CheckpointError(f"{path}: {problem}")
        self.resumed_threads = meta.get("blas_threads")  # absent from checkpoints written before it was kept
        if meta.get("processes", 1) != self.group.size:
            raise CheckpointError(f"{path}: this run was trained by {meta.get('processes', 1)} process(es), this one "
                                  f"has {self.group.size}; resume with as many (mpiexec -n)")
        model, averaged = model_arrays(arrays, path, self.task.params, self.average is not None)
        for k, v in model.items():
            self.task.params[k][...] = v
        if averaged is not None:
            try:
                self.average.load(averaged)
            except ValueError as e:
                raise CheckpointError(f"{path}: {e}") from None
        try:  # a header damaged yet still JSON (a flipped byte): one line, not a KeyError traceback
            self.optimizer.load_state_dict(
                {"arrays": {k[6:]: v for k, v in arrays.items() if k.startswith("optim/")}, "meta": meta["optimizer"]}
            )
            if self.schedule is not None and meta.get("schedule") is not None:
                self.schedule.load_state_dict(meta["schedule"])
            self.rng = ckpt.restore_rng(meta["rng"])
            if self.group.size > 1:
                self.rank_rng = ckpt.restore_rng(meta["rank_rngs"][self.group.rank])
            lp = meta["loop"]
            self.state = loop_state(lp)
            self.saved_step = self.state.step  # a resume with nothing to train rewrites nothing
            carry = {k[6:]: v for k, v in arrays.items() if k.startswith("carry/")}
            self.carry = self.task.carry_from_arrays(carry) if lp["has_carry"] else None
            self.first_loss = lp.get("first_loss")  # absent before it was kept: the next step's loss then
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            if isinstance(exc, CheckpointError):
                raise
            raise CheckpointError(f"{path}: its training state is damaged ({type(exc).__name__}: {exc}); start a "
                                  "new run (without --resume; in Python, fit(resume=False))") from None
        if self.group.rank == 0:
            truncate_metrics(self.run_dir / METRICS, self.state.epoch, self.state.step)
