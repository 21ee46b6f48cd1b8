"""Linear-chain CRF output layer: negative log-likelihood, its hand-derived gradient, and Viterbi.

Emissions are time-major scores ``E`` (T, B, K) from a network below; sequence b has its
``L_b = lengths[b]`` real steps first and padding at the end.  The parameters, with the names and
meanings of the pytorch-crf package, are

* ``transitions`` (K, K): ``A[i, j]`` scores tag i followed by tag j;
* ``start_transitions`` (K,): ``s[j]`` scores tag j first;
* ``end_transitions`` (K,): ``e[i]`` scores tag i last.

A tag path y of sequence b scores

    score(y) = s[y_0] + sum_{t<L} E[t, y_t] + sum_{1<=t<L} A[y_{t-1}, y_t] + e[y_{L-1}]

and ``p(y | E) = exp(score(y)) / Z`` with ``log Z = logsumexp_y score(y)`` from the forward
recursion (all in log space)

    alpha_0[j] = s[j] + E[0, j]
    alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + A[i, j]) + E[t, j]        (1 <= t < L)
    log Z      = logsumexp_j(alpha_{L-1}[j] + e[j]).

The loss is ``log Z - score(gold)`` per sequence, summed or averaged over the batch.

With constraints (``allowed`` from :mod:`rnnkit.constraints`), forbidden transitions, starts and
ends score -inf: Viterbi returns only legal paths, and a constrained loss normalises over legal
paths only (its gradient with respect to a forbidden entry is zero).
"""
from __future__ import annotations

import numpy as np

from rnnkit.checks import check_int, check_number, check_rng
from rnnkit.packing import resolve_lengths

PARAM_NAMES = ("transitions", "start_transitions", "end_transitions")
REDUCTIONS = ("sum", "mean", "none")


def init_crf_params(K: int, rng: np.random.Generator, scale: float = 0.1, dtype=np.float32) -> dict[str, np.ndarray]:
    """Fresh parameters: uniform in [-scale, scale], as pytorch-crf initialises them."""
    K = check_int("K", K, 1)
    check_rng(rng)
    scale = check_number("scale", scale, low=0.0)
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        kind = None
    if kind != "f":
        raise TypeError(f"Expected dtype to be a floating type (float32 or float64), got {dtype!r}")
    return {
        "transitions": rng.uniform(-scale, scale, (K, K)).astype(dtype),
        "start_transitions": rng.uniform(-scale, scale, K).astype(dtype),
        "end_transitions": rng.uniform(-scale, scale, K).astype(dtype),
    }


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    """log(sum(exp(x))) along ``axis``, shifted by the max; all -inf gives -inf, not NaN."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis)


def _check(emissions, lengths, params, allowed):
    """Validate arguments; return (E, lengths (B,) int64, A, s, e) with constraints applied as -inf."""
    if not isinstance(emissions, np.ndarray) or emissions.ndim != 3:
        shape = getattr(emissions, "shape", type(emissions).__name__)
        raise ValueError(f"Expected emissions of shape (T, B, K), got {shape}")
    T, B, K = emissions.shape
    if T == 0 or K == 0:
        raise ValueError(f"Expected emissions with T >= 1 and K >= 1, got shape {emissions.shape}")
    if emissions.dtype not in (np.float32, np.float64):
        raise TypeError(f"Expected emissions of dtype float32 or float64, got {emissions.dtype}")
    expected = {"transitions": (K, K), "start_transitions": (K,), "end_transitions": (K,)}
    if not isinstance(params, dict):
        raise TypeError(f"Expected params to be a dict of {PARAM_NAMES} arrays, got {type(params).__name__}")
    for name, shape in expected.items():
        if name not in params:
            raise ValueError(f"Expected params to hold {name!r}, got keys {sorted(params)}")
        if not isinstance(params[name], np.ndarray):
            raise TypeError(f"Expected params[{name!r}] to be a numpy array of shape {shape}, "
                            f"got {type(params[name]).__name__}")
        if params[name].shape != shape:
            raise ValueError(f"Expected params[{name!r}] of shape {shape}, got {params[name].shape}")
        if params[name].dtype != emissions.dtype:
            raise TypeError(f"Expected params[{name!r}] of dtype {emissions.dtype} like emissions, "
                            f"got {params[name].dtype}")
    found = resolve_lengths(T, B, lengths=lengths)
    lengths = np.full(B, T, dtype=np.int64) if found is None else found
    _check_finite(emissions, lengths, params)
    A = params["transitions"]
    s = params["start_transitions"]
    e = params["end_transitions"]
    if allowed is not None:
        ok, ok_start, ok_end = _check_allowed(allowed, K)
        A = np.where(ok, A, -np.inf).astype(emissions.dtype)
        s = np.where(ok_start, s, -np.inf).astype(emissions.dtype)
        e = np.where(ok_end, e, -np.inf).astype(emissions.dtype)
    return emissions, lengths, A, s, e


def _check_finite(emissions: np.ndarray, lengths: np.ndarray, params: dict[str, np.ndarray]) -> None:
    """NaN or infinite emissions at a real step (padding may hold anything), or NaN or +inf parameters,
    would make the loss NaN or infinite or the gold path look forbidden: refuse them, saying where."""
    finite = np.isfinite(emissions)
    if not finite.all():  # the one pass that costs anything; the rest runs only when something is off
        T = emissions.shape[0]
        real = np.arange(T)[:, None] < lengths[None, :]  # (T, B)
        bad = ~finite.all(axis=2) & real  # (T, B)
        if bad.any():
            t, b = (int(i[0]) for i in np.nonzero(bad))
            value = emissions[t, b][~finite[t, b]][0]
            raise ValueError(f"Expected finite emissions, got {value} at step {t} of sequence {b}")
    for name in PARAM_NAMES:
        if np.isnan(params[name]).any():
            raise ValueError(f"Expected params[{name!r}] without NaN, got NaN")
        if np.isposinf(params[name]).any():  # -inf forbids a transition; +inf would make every score inf
            raise ValueError(f"Expected params[{name!r}] without +inf (-inf forbids a transition), got +inf")


def _check_allowed(allowed, K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accept (allowed, allowed_start, allowed_end) or a bare (K, K) matrix (start and end free)."""
    if isinstance(allowed, np.ndarray):
        allowed = (allowed, np.ones(K, dtype=bool), np.ones(K, dtype=bool))
    if not isinstance(allowed, tuple) or len(allowed) != 3:
        raise TypeError("Expected allowed to be a (K, K) bool array or the triple from allowed_transitions, "
                        f"got {type(allowed).__name__}")
    shapes = ((K, K), (K,), (K,))
    names = ("allowed", "allowed_start", "allowed_end")
    out = []
    for name, array, shape in zip(names, allowed, shapes):
        array = np.asarray(array)
        if array.shape != shape or array.dtype != bool:
            raise ValueError(f"Expected {name} as a bool array of shape {shape}, got {array.dtype} {array.shape}")
        out.append(array)
    return out[0], out[1], out[2]


def _forward(E: np.ndarray, mask: np.ndarray, A: np.ndarray, s: np.ndarray, e: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """The forward recursion of the module docstring in log space: ``(alpha (T, B, K), log_z (B,))``;
    a finished sequence keeps its last alpha, so alpha[T-1] is alpha_{L-1}."""
    T, B, K = E.shape
    alpha = np.empty((T, B, K), dtype=E.dtype)  # (T, B, K)
    alpha[0] = s + E[0]
    for t in range(1, T):
        step = _logsumexp(alpha[t - 1][:, :, None] + A[None, :, :], axis=1) + E[t]  # (B, K)
        alpha[t] = np.where(mask[t][:, None], step, alpha[t - 1])
    return alpha, _logsumexp(alpha[T - 1] + e, axis=1)


def crf_nll(emissions: np.ndarray, tags: np.ndarray, lengths: np.ndarray | None, params: dict[str, np.ndarray],
            reduction: str = "sum", allowed=None) -> tuple[np.ndarray, dict]:
    """Negative log-likelihood ``log Z - score(gold)`` of the gold tags; returns ``(loss, cache)``.

    ``emissions`` (T, B, K) float32 or float64, time-major (padding may hold anything); ``params`` the
    dict of ``transitions`` (K, K), ``start_transitions`` (K,) and ``end_transitions`` (K,) of the
    emissions' dtype (:func:`init_crf_params`).  ``tags`` (T, B) int, entries at padded steps ignored;
    ``lengths`` (B,) or None (all T).
    ``reduction``: ``"sum"`` or ``"mean"`` over the batch (a scalar), or ``"none"`` (B,).
    ``allowed``: optional constraints; then Z sums over legal paths only and an illegal gold path
    raises ValueError.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"Expected reduction to be one of {REDUCTIONS}, got {reduction!r}")
    E, lengths, A, s, e = _check(emissions, lengths, params, allowed)
    T, B, K = E.shape
    tags = np.asarray(tags)
    if tags.shape != (T, B) or not np.issubdtype(tags.dtype, np.integer):
        raise ValueError(f"Expected tags as integers of shape (T, B) = {(T, B)}, got {tags.dtype} {tags.shape}")
    mask = np.arange(T)[:, None] < lengths[None, :]  # (T, B)
    if np.any(((tags < 0) | (tags >= K)) & mask):
        raise ValueError(f"Expected every real tag in [0, K) = [0, {K}), "
                         f"got min {tags[mask].min()} max {tags[mask].max()}")
    y = np.where(mask, tags, 0)  # (T, B) padding made a harmless index

    alpha, log_z = _forward(E, mask, A, s, e)  # (T, B, K), (B,)

    b = np.arange(B)
    last = y[lengths - 1, b]  # (B,) gold tag at each sequence's last real step
    gold = s[y[0]] + e[last]  # (B,)
    # where, not a product with the mask: padding may hold anything, NaN and inf too (NaN * 0 is NaN)
    gold = gold + np.sum(np.where(mask, np.take_along_axis(E, y[:, :, None], axis=2)[:, :, 0], 0.0), axis=0)
    pair = A[y[:-1], y[1:]]  # (T-1, B)
    gold = gold + np.sum(np.where(mask[1:], pair, 0.0), axis=0)
    if not np.all(np.isfinite(gold)):
        bad = int(np.nonzero(~np.isfinite(gold))[0][0])
        raise ValueError(f"Expected gold tag paths that the constraints allow, got a forbidden path in sequence {bad}"
                         + ("" if allowed is not None else " (no constraints given: a -inf transition score)"))
    per_seq = (log_z - gold).astype(E.dtype)  # (B,)
    if reduction == "sum":
        loss = per_seq.sum()
    elif reduction == "mean":
        loss = per_seq.mean()
    else:
        loss = per_seq
    cache = {"E": E, "y": y, "mask": mask, "lengths": lengths, "A": A, "s": s, "e": e,
             "alpha": alpha, "log_z": log_z, "reduction": reduction}
    return loss, cache


def crf_nll_backward(dloss, cache: dict) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Gradients of :func:`crf_nll`: ``(demissions (T, B, K), {name: grad})``.

    With the backward recursion (beta_t[i]: log-sum of scores of the rest of the path after tag i at t)

        beta_{L-1}[i] = e[i]
        beta_t[i]     = logsumexp_j(A[i, j] + E[t+1, j] + beta_{t+1}[j])            (t < L-1)

    the marginals are ``p_t(j) = exp(alpha_t[j] + beta_t[j] - log Z)`` and
    ``p_t(i, j) = exp(alpha_{t-1}[i] + A[i, j] + E[t, j] + beta_t[j] - log Z)``.  Since
    d log Z / d theta is the expected count of theta's feature and score(gold) is linear in its
    counts, each gradient is expected counts minus gold counts, times the upstream ``dloss``
    (divided by B for ``mean``):

        dE[t, j] = p_t(j) - [y_t = j]                                  (t < L; 0 on padding)
        dA[i, j] = sum_{1<=t<L} p_t(i, j) - [y_{t-1} = i, y_t = j]
        ds[j]    = p_0(j) - [y_0 = j]
        de[i]    = p_{L-1}(i) - [y_{L-1} = i]
    """
    E = cache["E"]
    y = cache["y"]
    mask = cache["mask"]
    lengths = cache["lengths"]
    A = cache["A"]
    e = cache["e"]
    alpha = cache["alpha"]
    log_z = cache["log_z"]
    T, B, K = E.shape
    dloss = np.asarray(dloss, dtype=E.dtype)
    if cache["reduction"] == "none":
        if dloss.shape != (B,):
            raise ValueError(f"Expected dloss of shape (B,) = ({B},) for reduction='none', got {dloss.shape}")
        weight = dloss  # (B,)
    else:
        if dloss.shape != ():
            raise ValueError(f"Expected a scalar dloss for reduction={cache['reduction']!r}, got shape {dloss.shape}")
        weight = np.full(B, dloss / B if cache["reduction"] == "mean" else dloss, dtype=E.dtype)  # (B,)

    post = np.empty_like(E)  # (T, B, K) p_t(j), zero on padding
    dA = np.zeros_like(A)  # (K, K)
    beta = np.broadcast_to(e, (B, K)).copy()  # (B, K) beta_{T-1}
    for t in range(T - 1, -1, -1):
        # beta holds beta_t here: it stays e at and after each sequence's last real step.
        post[t] = np.exp(alpha[t] + beta - log_z[:, None]) * mask[t][:, None]
        if t == 0:
            break
        # (B, K) score of tag j at t and of everything after it; -inf on padding, whose scores
        # may be anything (even large enough to overflow exp) and must count for nothing
        after = np.where(mask[t][:, None], E[t] + beta, -np.inf)
        log_pair = alpha[t - 1][:, :, None] + A[None, :, :] + after[:, None, :]  # (B, K, K)
        # A forbidden (i, j) is -inf in A, so exp gives it a zero count.
        pair = np.exp(log_pair - log_z[:, None, None])  # (B, K, K) p_t(i, j)
        dA += np.einsum("bij,b->ij", pair, mask[t] * weight)
        step = _logsumexp(A[None, :, :] + after[:, None, :], axis=2)  # (B, K) beta_{t-1}
        beta = np.where(mask[t][:, None], step, beta)

    b = np.arange(B)
    last = y[lengths - 1, b]  # (B,) gold tag at each sequence's last real step
    gold_w = mask * weight[None, :]  # (T, B) upstream weight of each real step
    dE = post * weight[None, :, None]  # (T, B, K)
    np.subtract.at(dE, (np.arange(T)[:, None], b[None, :], y), gold_w)
    np.subtract.at(dA, (y[:-1], y[1:]), gold_w[1:])
    ds = weight @ post[0]  # (K,)
    np.subtract.at(ds, y[0], weight)
    de = weight @ post[lengths - 1, b]  # (K,)
    np.subtract.at(de, last, weight)
    return dE, {"transitions": dA, "start_transitions": ds, "end_transitions": de}


def viterbi_decode(emissions: np.ndarray, lengths: np.ndarray | None, params: dict[str, np.ndarray],
                   allowed=None, tag_mask: np.ndarray | None = None) -> tuple[list[list[int]], np.ndarray]:
    """Best tag path of every sequence and its score: ``(paths, scores (B,))``, ``paths[b]`` a list of
    ``lengths[b]`` tag ids.  ``emissions``, ``lengths`` and ``params`` as :func:`crf_nll` takes them.

    The max-product form of the forward recursion, with back-pointers:

        delta_0[j] = s[j] + E[0, j]
        delta_t[j] = max_i(delta_{t-1}[i] + A[i, j]) + E[t, j],   bp_t[j] = argmax_i(...)
        score      = max_j(delta_{L-1}[j] + e[j])

    ``allowed`` (a (K, K) bool matrix, or the triple from
    :func:`rnnkit.constraints.allowed_transitions`) forbids moves by scoring them -inf, so only
    legal paths come back; ValueError if some sequence has no legal path.  ``tag_mask`` (T, B, K) bool,
    optional: step t of sequence b may take tag k only where it is true (a user dictionary forcing a word's
    B M E tags), i.e. ``E[t, b, k] = -inf`` elsewhere, so the result is the best path among those the
    mask and ``allowed`` both allow.
    """
    E, lengths, A, s, e = _check(emissions, lengths, params, allowed)
    T, B, K = E.shape
    if tag_mask is not None:
        tag_mask = np.asarray(tag_mask)
        if tag_mask.shape != E.shape or tag_mask.dtype != bool:
            raise ValueError(f"Expected tag_mask as a bool array of shape {E.shape}, got {tag_mask.dtype} "
                             f"{tag_mask.shape}")
        E = np.where(tag_mask, E, -np.inf).astype(E.dtype, copy=False)  # (T, B, K)
    mask = np.arange(T)[:, None] < lengths[None, :]  # (T, B)
    # A finished sequence keeps delta and points each tag at itself, so one backtrack from T-1
    # runs through its padding unchanged and then through its real steps.
    keep = np.broadcast_to(np.arange(K), (B, K))  # (B, K)
    backpointers = np.empty((T, B, K), dtype=np.int64)  # (T, B, K)
    delta = s + E[0]  # (B, K)
    for t in range(1, T):
        cand = delta[:, :, None] + A[None, :, :]  # (B, K, K) [b, from, to]
        best_prev = np.argmax(cand, axis=1)  # (B, K)
        step = np.take_along_axis(cand, best_prev[:, None, :], axis=1)[:, 0, :] + E[t]  # (B, K)
        running = mask[t][:, None]
        delta = np.where(running, step, delta)
        backpointers[t] = np.where(running, best_prev, keep)
    final = delta + e  # (B, K)
    best = np.argmax(final, axis=1)  # (B,)
    scores = final[np.arange(B), best]  # (B,)
    if not np.all(np.isfinite(scores)):
        bad = int(np.nonzero(~np.isfinite(scores))[0][0])
        raise ValueError(f"Expected a legal tag path for every sequence, got none for sequence {bad} "
                         f"(check allowed{' and tag_mask' if tag_mask is not None else ''} against the tag set)")
    path = np.empty((T, B), dtype=np.int64)  # (T, B)
    path[T - 1] = best
    for t in range(T - 1, 0, -1):
        path[t - 1] = backpointers[t, np.arange(B), path[t]]
    paths = [path[: lengths[i], i].tolist() for i in range(B)]
    return paths, scores


def crf_forward_backward(emissions: np.ndarray, lengths: np.ndarray | None, params: dict[str, np.ndarray],
                         allowed=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(alpha (T, B, K), beta (T, B, K), log_z (B,))`` in log space, arguments as :func:`crf_nll` takes them.

    ``alpha`` is the forward recursion of the module docstring, ``beta`` that of
    :func:`crf_nll_backward` (``beta_{L-1} = e``); past a sequence's end alpha keeps alpha_{L-1} and
    beta is e.  ``alpha_t[j] + beta_t[j]`` is the log-sum of the scores of every path through tag j
    at step t.  With ``allowed``, forbidden moves score -inf; ValueError if some sequence has no
    legal path (as :func:`viterbi_decode`).
    """
    E, lengths, A, s, e = _check(emissions, lengths, params, allowed)
    T, B, K = E.shape
    mask = np.arange(T)[:, None] < lengths[None, :]  # (T, B)
    alpha, log_z = _forward(E, mask, A, s, e)  # (T, B, K), (B,)
    if not np.all(np.isfinite(log_z)):
        bad = int(np.nonzero(~np.isfinite(log_z))[0][0])
        raise ValueError(f"Expected a legal tag path for every sequence, got none for sequence {bad} "
                         "(check allowed against the tag set)")
    beta = np.empty((T, B, K), dtype=E.dtype)  # (T, B, K)
    beta[T - 1] = e
    for t in range(T - 1, 0, -1):
        # padding's scores may be anything: -inf there, and beta stays e up to each sequence's end
        after = np.where(mask[t][:, None], E[t] + beta[t], -np.inf)  # (B, K)
        step = _logsumexp(A[None, :, :] + after[:, None, :], axis=2)  # (B, K) beta_{t-1}
        beta[t - 1] = np.where(mask[t][:, None], step, beta[t])
    return alpha, beta, log_z


def crf_marginals(emissions: np.ndarray, lengths: np.ndarray | None, params: dict[str, np.ndarray],
                  allowed=None) -> np.ndarray:
    """Token marginals ``P(y_t = k | E)`` (T, B, K) of the CRF's path distribution, zero at padding.

        P(y_t = k | E) = exp(alpha_t[k] + beta_t[k] - log Z)        (see :func:`crf_forward_backward`)

    Arguments as :func:`viterbi_decode` takes them: with ``allowed`` the distribution is over legal
    paths only (those Viterbi chooses from), so a tag that no legal path puts at step t gets 0.
    Each real step's row sums to 1; compute in float64 for probabilities to more than ~6 digits.
    """
    alpha, beta, log_z = crf_forward_backward(emissions, lengths, params, allowed)
    T, B, _ = alpha.shape
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    mask = np.arange(T)[:, None] < lengths[None, :]  # (T, B)
    return np.exp(alpha + beta - log_z[None, :, None]) * mask[:, :, None]  # (T, B, K)
