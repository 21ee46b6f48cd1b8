"""Elementwise numpy work split over row blocks and run on as many threads as BLAS uses.

numpy releases the GIL inside its ufunc and reduction loops, so two threads each running ``np.exp``
over half the rows of a (400, 10000) array take about half the time of one; a single core rarely
saturates memory bandwidth on its own.  Only large, independent row-wise work is worth it (a thread
hand-off costs tens of microseconds): the full softmax's exponent and row sums, and SGD's update of
a large parameter such as a 10^4 x 200 embedding.

The thread count follows BLAS (threadpoolctl), read at every call (about a microsecond), so
``OPENBLAS_NUM_THREADS=1``, ``rnnkit --threads 1`` or a ``threadpool_limits`` block entered after the
object was made keeps everything on one thread.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

_POOL: ThreadPoolExecutor | None = None  # shared by every RowThreads in the process
_POOL_SIZE = 0
_POOL_PID = 0  # a forked child inherits the pool object but not its threads: it makes its own


_BLAS: list | None = None  # threadpoolctl's controllers of the loaded BLAS libraries, found once


def blas_threads() -> int:
    """The number of threads BLAS will use right now (1 if threadpoolctl finds no BLAS).

    Finding the libraries takes milliseconds and is done once; asking each its thread count is a
    direct call into the library, so limits set later (``threadpool_limits``) are seen.
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController().select(user_api="blas").lib_controllers
    counts = [int(c.num_threads) for c in _BLAS]
    return max(1, min(counts)) if counts else 1


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL, _POOL_SIZE, _POOL_PID
    if _POOL is None or _POOL_SIZE < workers or _POOL_PID != os.getpid():
        if _POOL is not None and _POOL_PID == os.getpid():
            _POOL.shutdown(wait=False)
        _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rnnkit-rows")
        _POOL_SIZE = workers
        _POOL_PID = os.getpid()
    return _POOL


class RowThreads:
    """``run(fn, n_rows, row_size)`` calls ``fn(lo, hi)`` on contiguous row blocks covering
    ``range(n_rows)``, one block per thread, the first on the calling thread; it returns when all are
    done and re-raises the first exception.  ``fn`` must only touch its own rows.  Work of fewer than
    ``min_elements`` elements (``n_rows * row_size``) runs as one call on the calling thread."""

    def __init__(self, min_elements: int = 1 << 18, workers: int | None = None) -> None:
        self.min_elements = min_elements  # below this many elements in all, one thread does it
        self._workers = workers  # None: BLAS's thread count at each run

    @property
    def workers(self) -> int:
        """Threads a run may use: the given ``workers``, else BLAS's thread count now."""
        return blas_threads() if self._workers is None else self._workers

    def run(self, fn: Callable[[int, int], None], n_rows: int, row_size: int) -> None:
        """Call ``fn(lo, hi)`` on row blocks covering ``range(n_rows)`` as the class docstring says."""
        k = min(self.workers, n_rows)
        if k <= 1 or n_rows * row_size < self.min_elements:
            fn(0, n_rows)
            return
        bounds = [n_rows * i // k for i in range(k + 1)]
        pool = _pool(k - 1)
        futures = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, k)]
        try:
            fn(bounds[0], bounds[1])
        finally:
            for f in futures:
                f.result()
