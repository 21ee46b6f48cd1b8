"""The n best tag paths of a linear-chain CRF and their probabilities: list Viterbi (Seshadri and Sundberg 1994).

Viterbi keeps, for every step t and tag j, the best score of a path ending in j; list Viterbi keeps the
n best, ``delta_t[j, r]`` for ranks r = 0..n-1, each with a back-pointer to the (tag, rank) it extends:

    delta_0[j, 0] = s[j] + E[0, j],   delta_0[j, r>0] = -inf
    delta_t[j, :] = the n largest of { delta_{t-1}[i, r] + A[i, j] : i < K, r < n } + E[t, j]
    final         = the n largest of { delta_{L-1}[j, r] + e[j] }

Every (j, r) entry stands for a different partial path, so the n finals are the n best distinct paths
(fewer when fewer than n paths are legal: those scoring -inf are dropped).  A path's probability under
the CRF is ``exp(score - log Z)``, log Z from :func:`rnnkit.crf.crf_forward_backward`.  The cost is
that of Viterbi times n (a selection of n among K n candidates per tag and step).  Equal scores are taken
in (tag, rank) order, at every step and at the end, so that which of tied paths come back, and in which
order, is fixed (not left to how numpy's selection happens to run).
"""
from __future__ import annotations

import math

import numpy as np

from rnnkit.checks import check_int
from rnnkit.crf import _check, crf_forward_backward

CHUNK_BYTES = 64 * 2**20  # about what the back-pointers and one step's candidates of a chunk of sequences take
FEW = 24  # up to this n, n passes of argmax select faster than _top's argpartition (_select)
SELECT_BYTES = 2 * 2**20  # candidates a selection works on at a time (rows of them): about what a cache holds
MAX_BACK_BYTES = 2**30  # the most back-pointers one sentence may keep (_check_back_bytes)


def _check_back_bytes(n: int, words: int, per_rank: int, what: str) -> None:
    """Refuse an ``n`` whose back-pointers for one sentence, ``words * per_rank * n`` int32s, would exceed
    ``MAX_BACK_BYTES``: list Viterbi keeps n of them per state and word, and a large ``--nbest`` over a long
    sentence once asked for gigabytes.  ``what`` names the sentence and states in the message."""
    need = 4 * words * per_rank * n
    if need > MAX_BACK_BYTES:
        most = max(1, MAX_BACK_BYTES // (4 * words * per_rank))
        raise ValueError(f"the {n:,} best paths of {what} would keep {need / 2**20:,.0f} MiB of back-pointers, "
                         f"over the {MAX_BACK_BYTES // 2**20:,} MiB allowed; ask for at most {most:,} (--nbest)")


def _top(cand: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest entries along the last axis, largest first, equal scores in index order
    (-inf last): the first n of a stable sort by descending score.  argpartition, then a stable sort of the n
    kept (a full sort of K n candidates took most of the time at n = 500).  argpartition keeps an arbitrary
    few of the entries equal to the n-th largest; it also places the (n+1)-th, and where that is equal too
    (some were left out) the row keeps the first of them instead."""
    width = cand.shape[-1]
    if n >= width:
        return np.argsort(-cand, axis=-1, kind="stable")
    if cand.ndim == 1:
        return _top(cand[None], n)[0]
    # the n largest first, the (n+1)-th at n; numpy 2.4's argpartition with one kth ran 2.4x slower than this
    # on rows of sorted runs, as list Viterbi's candidates are (each previous tag's n ranks come best first)
    part = np.argpartition(-cand, (n - 1, n), axis=-1)
    kept = np.sort(part[..., :n], axis=-1)  # (..., n) index order for the stable sort
    values = np.take_along_axis(cand, kept, axis=-1)  # (..., n)
    cut = values.min(axis=-1, keepdims=True)  # (..., 1) the n-th largest
    left_out = np.take_along_axis(cand, part[..., n : n + 1], axis=-1)[..., 0] == cut[..., 0]  # (...) a tie cut
    del part  # as large as cand
    where = np.nonzero(left_out)  # indices along the leading axes
    step = max(1, SELECT_BYTES // (width * cand.itemsize))  # a few rows at a time: bounded scratch memory
    for a in range(0, len(where[0]), step):
        at = tuple(w[a : a + step] for w in where)
        rows, c = cand[at], cut[at]  # (r, width), (r, 1)
        above = rows > c
        tied = rows == c
        first = tied & (np.cumsum(tied, axis=-1) <= n - above.sum(axis=-1, keepdims=True))
        kept[at] = np.nonzero(above | first)[1].reshape(-1, n)  # n a row, in index order
        values[at] = np.take_along_axis(rows, kept[at], axis=-1)
    return np.take_along_axis(kept, np.argsort(-values, axis=-1, kind="stable"), axis=-1)


def _select(cand: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, values)`` of the ``n`` largest entries along the last axis, in :func:`_top`'s order (ties in
    index order, -inf last), for list Viterbi here and in :mod:`rnnkit.hmm_nbest`.  Up to n = ``FEW``, n passes
    of argmax, each marking its pick -inf, over ``SELECT_BYTES`` of rows at a time so that the passes after the
    first read from cache: argpartition's per-row cost dominated small n (one CRF step of 128 sentences, 23 tags:
    2.9 against 7.6 ms at n = 5, 13 against 18 ms at n = 20, 40 against 37 ms at n = 50; crf_nbest and
    hmm_nbest as a whole crossed between n = 24 and 32).  The passes run on a copy in which -inf is the lowest
    finite number, so that a pick marked -inf falls below the row's -inf entries and these come in index order
    like any tie; a row holding that number itself is taken by :func:`_top`."""
    width = cand.shape[-1]
    if n > FEW or n >= width:
        order = _top(cand, n)
        return order, np.take_along_axis(cand, order, axis=-1)
    lowest = np.finfo(cand.dtype).min
    work = np.maximum(cand, lowest, out=np.empty(cand.shape, cand.dtype)).reshape(-1, width)  # (R, width) C order
    order = np.empty((len(work), n), dtype=np.intp)  # (R, n)
    step = max(1, SELECT_BYTES // (width * work.itemsize))
    for a in range(0, len(work), step):
        rows = work[a : a + step]  # (r, width), a view: the picks are marked in work itself
        i = np.arange(len(rows))
        for r in range(n):
            best = rows.argmax(axis=1)  # (r,) the first of equal maxima
            order[a : a + step, r] = best
            rows[i, best] = -np.inf
    order = order.reshape(cand.shape[:-1] + (n,))
    values = np.take_along_axis(cand, order, axis=-1)
    low = values[..., -1] <= lowest  # (...) rows whose picks came down to -inf or the lowest finite number
    if low.any():
        low &= (cand == lowest).any(axis=-1)  # that number in the row: it tied with -inf
        if low.any():
            order[low] = _top(cand[low], n)
            values[low] = np.take_along_axis(cand[low], order[low], axis=-1)
    return order, values


def crf_nbest(emissions: np.ndarray, lengths: np.ndarray | None, params: dict[str, np.ndarray], n: int,
              allowed=None) -> list[list[tuple[list[int], float]]]:
    """The ``n`` best tag paths of every sequence, best first, each with its log-probability:
    ``out[b] = [(path, log p(path | E)), ...]``, ``path`` a list of ``lengths[b]`` tag ids.

    Arguments as :func:`rnnkit.crf.viterbi_decode` takes them; with ``allowed`` only legal paths come
    back and the probabilities are normalised over legal paths.  ``out[b][0][0]`` is Viterbi's path
    (ties apart).  Fewer than ``n`` paths when the sequence has fewer legal ones.  ValueError when one
    sequence's back-pointers, T K n int32s, would exceed ``MAX_BACK_BYTES`` (1 GiB).
    """
    n = check_int("n", n, 1)
    E, lengths, A, s, e = _check(emissions, lengths, params, allowed)
    T, B, K = E.shape
    if T * math.log(K) < math.log(n):  # more than every path of the longest sequence: K^T of them at most
        n = K**T
    _check_back_bytes(n, T, K, f"a sequence of {T} steps over {K} tags")  # T: the padded length, as allocated
    rows = max(1, CHUNK_BYTES // (8 * K * n * (T + K)))  # sequences whose back-pointers and candidates fit
    if B > rows:  # in chunks: --nbest 2000 over a batch of 128 once asked for gigabytes
        return [found for a in range(0, B, rows)
                for found in crf_nbest(E[:, a : a + rows], lengths[a : a + rows], params, n, allowed)]
    _, _, log_z = crf_forward_backward(E, lengths, params, allowed)  # raises if no legal path
    mask = np.arange(T)[:, None] < lengths[None, :]  # (T, B)
    delta = np.full((B, K, n), -np.inf, dtype=E.dtype)  # (B, K, n) [b, tag, rank]
    delta[:, :, 0] = s + E[0]
    # back-pointers: the flat index i * n + r of the (tag, rank) each (j, r') extends; a finished
    # sequence points every entry at itself, so one backtrack from T-1 runs through its padding
    keep = np.broadcast_to(np.arange(K * n).reshape(K, n), (B, K, n))  # (B, K, n)
    back = np.empty((T, B, K, n), dtype=np.int32 if K * n < 2**31 else np.int64)  # (T, B, K, n)
    for t in range(1, T):
        cand = delta[:, :, :, None] + A[None, :, None, :]  # (B, K_from, n, K_to)
        cand = cand.reshape(B, K * n, K).transpose(0, 2, 1)  # (B, K_to, K n), index i * n + r
        order, top = _select(cand, n)  # (B, K, n) each
        top += E[t][:, :, None]  # (B, K, n)
        running = mask[t][:, None, None]
        delta = np.where(running, top, delta)
        back[t] = np.where(running, order, keep)
    final = (delta + e[None, :, None]).reshape(B, K * n)  # (B, K n)
    best = np.argsort(-final, axis=1, kind="stable")[:, :n]  # (B, n)
    out: list[list[tuple[list[int], float]]] = []
    for b in range(B):
        found = []
        for flat in best[b]:
            score = float(final[b, flat])
            if score == -np.inf:
                break
            path = np.empty(T, dtype=np.int64)  # (T,)
            for t in range(T - 1, -1, -1):
                path[t] = flat // n
                flat = back[t, b, flat // n, flat % n] if t > 0 else flat
            found.append((path[: lengths[b]].tolist(), score - float(log_z[b])))
        out.append(found)
    return out
