"""The command line started by an MPI launcher (``mpiexec -n P rnnkit train lm ...``): which commands
train over several processes (:mod:`rnnkit.train.distributed`), and what each process shows.

Process 0 prints as a single process would; the others print nothing but the errors of their own
(see :func:`say_error`).  A command that trains in one process only, started as several, is refused
by process 0 in one line.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from rnnkit.train.distributed import SingleProcess

_GROUP: SingleProcess | None = None
# the commands whose func.data_parallel is set, as the refusal names them
PARALLEL = "the neural 'train' commands (lm, tagger, classifier, seq2seq, tree)"
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")
_LOCAL_SIZE_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "PMIX_LOCAL_SIZE")


def enter(func: Callable[..., Any]) -> None:
    """Join the launcher's processes for the command ``func`` (one with ``func.data_parallel``), or
    refuse a command that runs in one process; nothing to do without a launcher."""
    global _GROUP
    from rnnkit.train.distributed import launched_processes, world

    n = launched_processes()
    if n == 1:
        return
    if launcher_rank():
        _quiet()  # process 0 says what all meet (mpi4py missing, a command that runs in one process), once
    if not getattr(func, "data_parallel", False):
        raise ValueError(f"started as one of {n} processes (mpiexec -n {n}), but this command runs in one; only "
                         f"{PARALLEL} train over several")
    _GROUP = world()


def blas_threads() -> int | None:
    """BLAS threads for each process when ``--threads`` is not given: this machine's cores shared by
    the processes the launcher put on it (two processes of two threads on two cores would fight);
    None (the library's default) without a launcher."""
    if group().size == 1:
        return None
    local = next((int(v) for v in map(os.environ.get, _LOCAL_SIZE_VARIABLES) if v and v.isdigit() and int(v) > 0),
                 group().size)
    return max(1, (os.cpu_count() or 1) // local)


def group() -> SingleProcess:
    """The processes this command runs as (one without a launcher)."""
    from rnnkit.train.distributed import SingleProcess

    return _GROUP or SingleProcess()


_ALONE = False  # this process failed while the others went on: it must exit without waiting for them


def say_error(text: str) -> None:
    """``rnnkit: error: text`` on standard error.  With several processes, an error that all of them
    meet (a bad option, a missing file, a diverged run) is said once, by process 0, and all end in
    order; an error of one process alone is said by it, with its number."""
    global _ALONE
    g = group()
    if g.size > 1 and not g.all_failing():
        _ALONE = True
        if g.rank:
            print(f"rnnkit: error (process {g.rank} of {g.size}): {text}", file=sys.__stderr__, flush=True)
            return
    if g.rank == 0:
        print(f"rnnkit: error: {text}", file=sys.stderr, flush=True)


def leave(code: int) -> None:
    """After an error of this process alone, or an interrupt, exit at once, without MPI's orderly ending
    (which would wait for the other processes, which may be waiting for this one): the launcher then
    ends them all."""
    if group().size > 1 and (_ALONE or code in (130, 143)):
        for stream in (sys.stdout, sys.stderr, sys.__stderr__):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        os._exit(code)


def launcher_rank() -> int:
    """This process's number from the MPI launcher's environment (0 without one), known before MPI starts."""
    for name in _RANK_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0


def _quiet() -> None:
    """Standard output and error to nowhere: process 0 shows the run."""
    sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")
