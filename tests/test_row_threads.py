"""RowThreads: row blocks cover every row once, errors surface, and threaded results equal one thread's."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from rnnkit.nn.linear_softmax import LinearCrossEntropy
from rnnkit.row_threads import RowThreads, blas_threads


@pytest.mark.parametrize("workers,n_rows", [(1, 7), (2, 7), (3, 10), (4, 3), (2, 1)])
def test_blocks_cover_every_row_once(workers, n_rows):
    seen = []
    lock = threading.Lock()

    def fn(lo, hi):
        with lock:
            seen.append((lo, hi, threading.get_ident()))

    RowThreads(min_elements=0, workers=workers).run(fn, n_rows, row_size=5)
    rows = sorted(r for lo, hi, _ in seen for r in range(lo, hi))
    assert rows == list(range(n_rows))
    assert len(seen) == min(workers, n_rows)
    assert any(ident == threading.get_ident() for *_, ident in seen)  # the caller does a block itself


def test_small_work_stays_on_the_calling_thread():
    seen = []
    RowThreads(min_elements=1000, workers=4).run(lambda lo, hi: seen.append((lo, hi)), 10, row_size=10)
    assert seen == [(0, 10)]


def test_an_exception_in_a_worker_reaches_the_caller():
    def fn(lo, hi):
        if lo > 0:
            raise RuntimeError("worker failed")

    with pytest.raises(RuntimeError, match="worker failed"):
        RowThreads(min_elements=0, workers=2).run(fn, 4, row_size=1)


def test_blas_threads_is_a_positive_count():
    assert blas_threads() >= 1


def test_thread_count_follows_limits_set_after_construction():
    from threadpoolctl import threadpool_limits

    rows = RowThreads(min_elements=0)
    before = rows.workers  # the default count, read before the limit (it was once cached here)
    seen = set()
    with threadpool_limits(limits=1, user_api="blas"):
        assert blas_threads() == 1 and rows.workers == 1
        rows.run(lambda lo, hi: seen.add(threading.get_ident()), 8, row_size=1)
    assert rows.workers == before
    assert seen == {threading.get_ident()}  # one block, on the calling thread


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_loss_is_identical_on_one_or_three_threads(dtype):
    rng = np.random.default_rng(0)
    N, H, V = 37, 8, 300
    x = rng.standard_normal((N, H)).astype(dtype)
    w = rng.standard_normal((V, H)).astype(dtype)
    b = rng.standard_normal(V).astype(dtype)
    t = rng.integers(0, V, N)
    results = []
    for workers in (1, 3):
        layer = LinearCrossEntropy()
        layer._rows = RowThreads(min_elements=0, workers=workers)
        loss, cache = layer.forward(x, w, b, t)
        dx, g = layer.backward(0.5, cache)
        results.append((loss, dx, g["weight"], g["bias"]))
    (l1, *a1), (l3, *a3) = results
    assert l1 == l3  # each row's exponent and sum are computed the same way whichever thread runs them
    for u, v in zip(a1, a3):
        np.testing.assert_array_equal(u, v)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_pool_instead_of_hanging():
    import os
    import signal

    rows = RowThreads(min_elements=0, workers=2)
    rows.run(lambda lo, hi: None, 4, row_size=1)  # the parent's pool now has a thread
    pid = os.fork()
    if pid == 0:  # child: the inherited pool has no threads; were it used, the run would never return
        signal.alarm(20)  # so a hang kills the child, and the test fails instead of hanging
        seen = []
        rows.run(lambda lo, hi: seen.append(lo), 4, row_size=1)
        os._exit(0 if sorted(seen) == [0, 2] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_sgd_and_clipping_on_a_large_parameter_equal_the_plain_formulas():
    """Above RowThreads' threshold the SGD update and the clipping rescale run in blocks on threads;
    the result must be exactly the one-line numpy formula's (each element is computed the same way)."""
    from rnnkit.optim import SGD, clip_grad_norm

    rng = np.random.default_rng(1)
    n = (1 << 18) + 12345  # above the threshold, and not a multiple of the block size
    p = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    p0, g0 = p.copy(), g.copy()
    norm = clip_grad_norm({"w": g}, 1.0)
    coef = 1.0 / (norm + 1e-6)
    np.testing.assert_array_equal(g, g0 * np.float32(coef))
    g1 = g.copy()
    SGD({"w": p}, lr=0.3).step({"w": g})
    np.testing.assert_array_equal(p, p0 - np.float32(0.3) * g1)
    np.testing.assert_array_equal(g, g1)  # the caller's gradient is left alone
