r"""Data-parallel training over several processes, on one machine or many, through MPI (mpi4py).

Started by an MPI launcher (``mpiexec -n P rnnkit train lm ...``), every process builds the same
model from the same seed and reads the same files, and trains its share of every batch: a language
model's B / P of the B streams (the task's ``shard``, :meth:`rnnkit.lm.task.LMTask.shard`), a tagger's,
classifier's or translator's part of each batch's sentences, a tree model's of its trees (the task's
``split_batch``, :func:`share_of`).  After
each process's forward and backward pass the gradients are combined, weighted by what each process's
loss is the mean over (its units: tokens or sentences; a tree batch's labelled nodes)::

    g = sum_r (w_r / W) g_r,        loss = sum_r (w_r / W) loss_r,        W = sum_r w_r

and every process takes the same optimizer step, so all hold the same weights.  This is the loss of
the whole batch: without dropout, P processes train
the model one process would train with the same options (the same numbers up to the order of float
additions).

Process 0 alone writes the run folder (checkpoints, metrics log, progress); the others send it what
only they hold (their streams' hidden states, their dropout generators' states) when it saves, and
receive what it reads when a run is resumed.  A checkpoint holds all P shares, so a killed run
resumes from it as exactly as a one-process run does (with the same number of processes).  Those
objects travel between the run's own processes pickled, in memory (mpi4py's ``bcast``/``gather``);
the gradients of every step go as raw buffers, and no file is ever pickled.

Validation is shared out the same way (:func:`validate`): each process scores its part of the
validation data (the task's ``evaluate_share``: its streams, every P-th sentence, pair or tree) and
process 0 joins the parts (``evaluate_joined``: summed losses and counts, predictions put back in
order) into the metrics one process would compute, which every process then receives.

Without a launcher :func:`world` is :class:`SingleProcess`, and mpi4py is never imported.
"""
from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from rnnkit.row_sparse import RowSparseGrad

# what launchers put in each process's environment: MPICH and Intel MPI (Hydra), Open MPI, PMIx (Slurm)
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")


def launched_processes() -> int:
    """How many processes the MPI launcher started (1 when none did), from the environment alone."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


class SingleProcess:
    """One process: every collective operation is the identity."""

    rank = 0
    size = 1

    def reduce_step(self, loss: float, units: int, grads: dict[str, Any], weight: float | None = None,
                    means: dict[str, float] | None = None) -> tuple[float, int, dict[str, Any], dict[str, float]]:
        """The step's loss and gradients combined over the processes, weighted by ``weight`` (what the
        loss is the mean over; default ``units``), its units summed, and its named ``means`` (its penalties,
        the same names in every process) weighted as the loss is; here: all as they are ({} for no ``means``)."""
        return loss, units, grads, dict(means or {})

    def total(self, value: int) -> int:
        """``value`` summed over the processes."""
        return value

    def broadcast(self, obj: Any) -> Any:
        """Process 0's ``obj``, in every process."""
        return obj

    def gather(self, obj: Any) -> list[Any] | None:
        """Every process's ``obj`` in rank order, in process 0; None in the others."""
        return [obj]

    def all_failing(self, seconds: float = 10.0) -> bool:
        """After an error in this process: whether every process meets one within ``seconds`` (an error
        they share, such as a bad option), so that all can end in order; one process: True."""
        return True


class MPIGroup(SingleProcess):
    """The processes of ``comm`` (an mpi4py communicator)."""

    def __init__(self, comm: Any) -> None:
        from mpi4py import MPI

        self._mpi = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self._buffers: dict[tuple[str, int], np.ndarray] = {}  # (dtype, length) -> the flat gradient buffer
        self._failures = comm.Dup()  # apart from the training's own collective operations

    def reduce_step(self, loss: float, units: int, grads: dict[str, Any], weight: float | None = None,
                    means: dict[str, float] | None = None) -> tuple[float, int, dict[str, Any], dict[str, float]]:
        """The step's loss, units, gradients and named ``means`` over every process, each weighted by its
        units (or ``weight``): the ones a single process would have computed on the whole batch (see
        :meth:`SingleProcess.reduce_step`); NaN means when no process has weight."""
        w = units if weight is None else weight
        means = means or {}
        names = sorted(means)  # every process sends them in one order
        # one collective for every scalar: [loss w, w, units, mean_1 w, ...]
        scalars = np.array([loss * w, w, units] + [means[k] * w for k in names], dtype=np.float64)
        self.comm.Allreduce(self._mpi.IN_PLACE, scalars)
        reduced = {k: float(scalars[3 + i] / scalars[1]) if scalars[1] else float("nan") for i, k in enumerate(names)}
        total = int(round(scalars[2]))
        weight = w / scalars[1] if scalars[1] else 0.0
        out: dict[str, Any] = {}
        dense = [(k, g) for k, g in grads.items() if isinstance(g, np.ndarray)]
        for dtype in sorted({g.dtype.str for _, g in dense}):  # one Allreduce per dtype (float32: one)
            group = [(k, g) for k, g in dense if g.dtype.str == dtype]
            length = sum(g.size for _, g in group)
            flat = self._buffers.get((dtype, length))
            if flat is None:
                flat = self._buffers[(dtype, length)] = np.empty(length, dtype=np.dtype(dtype))
            offset = 0
            for k, g in group:
                part = flat[offset:offset + g.size].reshape(g.shape)
                np.multiply(g, weight, out=part)
                out[k] = part  # a view of the buffer: the optimizer reads it before the next step
                offset += g.size
            self.comm.Allreduce(self._mpi.IN_PLACE, flat)
        for k, g in grads.items():
            if isinstance(g, RowSparseGrad):
                out[k] = self._reduce_rows(g, weight)
            elif k not in out:
                raise TypeError(f"Expected gradient {k!r} as a numpy array or RowSparseGrad, got {type(g).__name__}")
        loss = float(scalars[0] / scalars[1]) if scalars[1] else float("nan")
        return loss, total, {k: out[k] for k in grads}, reduced

    def _reduce_rows(self, g: RowSparseGrad, weight: float) -> RowSparseGrad:
        """The weighted sum of every process's row-sparse gradient: the union of their rows.  Every
        process adds the same arrays in the same (rank) order, so all get the same bits."""
        counts = np.empty(self.size, dtype=np.int64)
        self.comm.Allgather(np.array([g.indices.size], dtype=np.int64), counts)
        width = g.shape[1]
        indices = np.empty(int(counts.sum()), dtype=np.int64)
        values = np.empty((indices.size, width), dtype=g.values.dtype)
        self.comm.Allgatherv(np.ascontiguousarray(g.indices, dtype=np.int64), [indices, counts])
        mine = np.ascontiguousarray(g.values * np.asarray(weight, dtype=g.values.dtype))
        self.comm.Allgatherv(mine, [values, counts * width])
        rows, where = np.unique(indices, return_inverse=True)
        summed = np.zeros((rows.size, width), dtype=g.values.dtype)
        np.add.at(summed, where, values)
        return RowSparseGrad(rows, summed, g.shape)

    def total(self, value: int) -> int:
        """The sum of ``value`` over every process."""
        return int(self.comm.allreduce(int(value)))

    def broadcast(self, obj: Any) -> Any:
        """Process 0's ``obj``, on every process."""
        return self.comm.bcast(obj, root=0)

    def gather(self, obj: Any) -> list[Any] | None:
        """Every process's ``obj`` in rank order on process 0; None on the others."""
        return self.comm.gather(obj, root=0)

    def all_failing(self, seconds: float = 10.0) -> bool:
        """Whether every process reaches this call within ``seconds`` (an error all of them meet), as
        against one failing alone (see :meth:`SingleProcess.all_failing`)."""
        request = self._failures.Ibarrier()  # completes once every process has called it
        deadline = time.monotonic() + seconds
        while not request.Test():
            if time.monotonic() > deadline:
                return False  # the others go on (or wait in a collective operation for this one)
            time.sleep(0.005)
        return True


def divide(task: Any, group: SingleProcess) -> bool:
    """Give each process of ``group`` its part of ``task``'s training: the task's own ``shard(rank, P)``
    (a language model's streams), else each batch split by ``task.split_batch(batch, P)`` (a tagger's,
    classifier's or translator's sentences, a tree model's trees: see :func:`share_of`).  Returns whether batches are split; ValueError
    for a task that can do neither."""
    if group.size == 1:
        return False
    if hasattr(task, "shard"):
        task.shard(group.rank, group.size)
        return False
    if hasattr(task, "split_batch"):
        return True
    raise ValueError(f"{type(task).__name__} cannot be trained by several processes; run it in one")


def split_rows(batch: np.ndarray, parts: int) -> list[np.ndarray | None]:
    """A batch of item indices in ``parts`` consecutive runs of nearly equal size, None for an empty one
    (a ``split_batch`` for tasks whose batches are index arrays)."""
    return [p if p.size else None for p in np.array_split(np.asarray(batch), parts)]


def share_of(task: Any, batch: Any, group: SingleProcess) -> tuple[Any, bool]:
    """This process's part of ``batch`` (``task.split_batch`` gives P parts, None for an empty one)
    and whether it only stands in: a batch of fewer items than processes leaves some without any, and
    those compute the first part's gradient, which then counts with no weight (its units set to 0), so
    that every process takes part in every step."""
    parts = task.split_batch(batch, group.size)
    mine = parts[group.rank]
    return (parts[0], True) if mine is None else (mine, False)


def validate(task: Any, group: SingleProcess) -> dict[str, float]:
    """The task's validation metrics, on every process: each process scores its part and process 0
    joins them, when the task can split its validation (``evaluate_share``); else process 0 scores it
    all and the others wait for its figures."""
    share = getattr(task, "evaluate_share", None) if group.size > 1 else None
    if share is None:
        return group.broadcast(task.evaluate() if group.rank == 0 else None)
    parts = group.gather(share(group.rank, group.size))
    return group.broadcast(None if group.rank else task.evaluate_joined(parts))


_WORLD: SingleProcess | None = None


def world() -> SingleProcess:
    """The processes the MPI launcher started: :class:`MPIGroup` over ``MPI.COMM_WORLD``, or
    :class:`SingleProcess` when no launcher started several (mpi4py is then not imported).
    ImportError, with what to install, when a launcher started several and mpi4py is missing."""
    global _WORLD
    if _WORLD is None:
        n = launched_processes()
        if n == 1:
            _WORLD = SingleProcess()
        else:
            try:
                from mpi4py import MPI
            except ImportError:
                raise ImportError(f"started by an MPI launcher as one of {n} processes, but mpi4py is not "
                                  "installed; install it with: pip install 'rnnkit[mpi]'") from None
            _WORLD = MPIGroup(MPI.COMM_WORLD) if MPI.COMM_WORLD.Get_size() > 1 else SingleProcess()
    return _WORLD
