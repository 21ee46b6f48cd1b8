r"""Connectionist temporal classification (Graves, Fernandez, Gomez & Schmidhuber 2006): the loss of a label
sequence l = (l_1 .. l_S) given T >= S frames of scores, with no frame alignment.

The network outputs C classes per frame, one of them the blank (index ``blank``, default 0);
y_t(k) = softmax(u_t)_k.  A path pi (one class per frame) maps to a labelling by B: merge repeats, then
drop blanks (``a a - b - - b`` -> ``a b b``).  The loss is -log p(l | x), p(l | x) = sum_{pi: B(pi) = l}
prod_t y_t(pi_t), summed by dynamic programming over the extended sequence l' = (-, l_1, -, l_2, .., l_S, -)
of S' = 2S + 1 symbols (0-based s; a skip s-2 -> s is allowed when l'_s is not the blank and l'_s != l'_{s-2},
so a repeated label needs a blank between its two copies).  In log space (a (+) b = log(e^a + e^b)):

    alpha_0(0) = log y_0(-),  alpha_0(1) = log y_0(l_1),  alpha_0(s) = -inf for s >= 2
    alpha_t(s) = [alpha_{t-1}(s) (+) alpha_{t-1}(s-1) (+) alpha_{t-1}(s-2) if the skip is allowed] + log y_t(l'_s)
    log p(l | x) = alpha_{T-1}(S'-1) (+) alpha_{T-1}(S'-2)         (alpha_{T-1}(0) alone for an empty l)

    beta_{T-1}(s) = 0 for s in {S'-1, S'-2},  -inf otherwise      (the frames after t, without y_t)
    beta_t(s) = [beta_{t+1}(s) + log y_{t+1}(l'_s)] (+) [beta_{t+1}(s+1) + log y_{t+1}(l'_{s+1})]
                (+) [beta_{t+1}(s+2) + log y_{t+1}(l'_{s+2}) if the skip s -> s+2 is allowed]

alpha_t(s) + beta_t(s) - log p is the log posterior that frame t sits on l'_s; the posterior occupancy of class
k at frame t is gamma_t(k) = sum_{s: l'_s = k} exp(alpha_t(s) + beta_t(s) - log p), and with the softmax
folded in, the gradient with respect to the scores is

    d(-log p) / du_t(k) = y_t(k) - gamma_t(k)        (0 at the frames t >= T_b past a sequence's end)

Each sequence b has its own number of frames T_b (``input_lengths``) and of labels S_b (``target_lengths``).
The scores may be logits or log-probabilities: log_softmax of log-probabilities gives them back, so the loss
is the same, and the gradient is with respect to whichever was passed as the logits before a softmax (as
torch's ``ctc_loss`` on ``log_softmax(logits)`` gives through autograd).  ``reduction``: "none" (the B
losses), "sum", or "mean" as torch defines it, mean_b(loss_b / max(S_b, 1)).  A labelling no path reaches
(T_b < S_b + the number of adjacent repeats in it) has p = 0: its loss is inf and its gradient nan (torch's
too), or, with ``zero_infinity=True``, 0 with a 0 gradient.  float32 scores run in float32 throughout.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.nn.ctc_checks import (check_blank, check_input_lengths, check_logits, check_reachable, check_reduction,
                                  check_targets)
from rnnkit.nn.softmax import log_softmax


@dataclass(eq=False)
class CTCCache:
    """What :func:`ctc_loss_backward` needs from :func:`ctc_loss`."""

    log_probs: np.ndarray  # (T, B, C) log y_t(k)
    log_alpha: np.ndarray  # (T, B, S')
    lp_ext: np.ndarray  # (T, B, S') log y_t(l'_s), what the backward's beta recursion reads
    skip: np.ndarray  # (B, S') the skips s-2 -> s allowed
    extended: np.ndarray  # (B, S') l', padded with the blank
    nll: np.ndarray  # (B,) -log p(l_b | x_b), inf where no path reaches l_b
    input_lengths: np.ndarray  # (B,)
    target_lengths: np.ndarray  # (B,)
    weights: np.ndarray  # (B,) d(reduced loss)/d(loss_b): 1 (sum, none), 1 / (B max(S_b, 1)) (mean)
    reduction: str
    zero_infinity: bool


def extend_targets(targets: np.ndarray, target_lengths: np.ndarray, blank: int) -> tuple[np.ndarray, np.ndarray]:
    """l' (B, 2S + 1), blanks around and between the labels (and past each sequence's 2 S_b + 1), and the mask
    (B, 2S + 1) of the positions s >= 2 that may be reached by a skip from s - 2."""
    B, S = targets.shape
    extended = np.full((B, 2 * S + 1), blank, dtype=np.int64)  # (B, S')
    extended[:, 1::2] = targets
    skip = np.zeros(extended.shape, dtype=bool)  # (B, S')
    skip[:, 3::2] = targets[:, 1:] != targets[:, :-1]  # a label differing from the one before (never the blank)
    skip[:, 3::2] &= np.arange(1, S)[None, :] < target_lengths[:, None]  # only within the sequence's labels
    return extended, skip


def _logsumexp3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.logaddexp(np.logaddexp(a, b), c)


def ctc_alpha(lp_ext: np.ndarray, skip: np.ndarray, target_lengths: np.ndarray) -> np.ndarray:
    """The forward variables log alpha (T, B, S') from the extended sequence's log-probabilities
    lp_ext (T, B, S') = log y_t(l'_s) and the skip mask (B, S') (module docstring)."""
    T, B, S1 = lp_ext.shape
    neg = lp_ext.dtype.type(-np.inf)
    alpha = np.full((T, B, S1), neg, dtype=lp_ext.dtype)  # (T, B, S')
    alpha[0, :, 0] = lp_ext[0, :, 0]
    if S1 > 1:
        alpha[0, :, 1] = np.where(target_lengths > 0, lp_ext[0, :, 1], neg)
    one = np.full((B, S1), neg, dtype=lp_ext.dtype)  # (B, S') alpha_{t-1}(s-1)
    two = np.full((B, S1), neg, dtype=lp_ext.dtype)  # (B, S') alpha_{t-1}(s-2) where the skip is allowed
    for t in range(1, T):
        prev = alpha[t - 1]  # (B, S')
        one[:, 1:] = prev[:, :-1]
        two[:, 2:] = np.where(skip[:, 2:], prev[:, :-2], neg)
        alpha[t] = _logsumexp3(prev, one, two) + lp_ext[t]
    return alpha


def ctc_beta(lp_ext: np.ndarray, skip: np.ndarray, input_lengths: np.ndarray,
             target_lengths: np.ndarray) -> np.ndarray:
    """The backward variables log beta (T, B, S') (module docstring: the frames after t, without y_t), each
    sequence's starting at its last frame T_b - 1 and -inf past it."""
    T, B, S1 = lp_ext.shape
    neg = lp_ext.dtype.type(-np.inf)
    beta = np.full((T, B, S1), neg, dtype=lp_ext.dtype)  # (T, B, S')
    last = 2 * target_lengths  # (B,) S'_b - 1
    end = np.full((B, S1), neg, dtype=lp_ext.dtype)  # (B, S') beta_{T_b - 1}
    rows = np.arange(B)
    end[rows, last] = 0
    end[rows[target_lengths > 0], last[target_lengths > 0] - 1] = 0
    one = np.full((B, S1), neg, dtype=lp_ext.dtype)  # (B, S') beta_{t+1}(s+1) + log y_{t+1}(l'_{s+1})
    two = np.full((B, S1), neg, dtype=lp_ext.dtype)  # (B, S') the same from s+2, where the skip s -> s+2 is allowed
    for t in range(T - 1, -1, -1):
        starts = (input_lengths - 1 == t)[:, None]  # (B, 1) sequences whose last frame is t
        if t == T - 1:
            beta[t] = np.where(starts, end, neg)
            continue
        nxt = beta[t + 1] + lp_ext[t + 1]  # (B, S')
        one[:, :-1] = nxt[:, 1:]
        two[:, :-2] = np.where(skip[:, 2:], nxt[:, 2:], neg)
        inside = (t < input_lengths - 1)[:, None]  # (B, 1)
        beta[t] = np.where(starts, end, np.where(inside, _logsumexp3(nxt, one, two), neg))
    return beta


def ctc_loss(logits: np.ndarray, targets: np.ndarray, input_lengths: np.ndarray | None,
             target_lengths: np.ndarray, blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> tuple[float | np.ndarray, CTCCache]:
    """CTC loss of ``targets`` given the frame scores; returns ``(loss, cache)``.

    logits: (T, B, C) float32 or float64, logits or log-probabilities.  targets: (B, S) padded (entries past
    each length ignored) or (sum of target_lengths,) concatenated, labels in [0, C) other than ``blank``.
    input_lengths: (B,) ints in [1, T] (None: all T); target_lengths: (B,) ints >= 0, each <= its input length
    (zero_infinity=True lets a longer one through, as an impossible sequence of loss 0).  reduction: "none",
    "sum" or "mean" (the module docstring).  ``loss`` is a Python float, or for "none" an array (B,) of the
    logits' dtype.
    """
    logits = check_logits(logits)
    T, B, C = logits.shape
    blank = check_blank(blank, C)
    reduction = check_reduction(reduction)
    lengths = check_input_lengths(input_lengths, T, B)
    padded, tlengths = check_targets(targets, target_lengths, B, C, blank)  # (B, S), (B,)
    if not zero_infinity:
        check_reachable(tlengths, lengths)

    log_probs = log_softmax(logits, axis=2)  # (T, B, C)
    extended, skip = extend_targets(padded, tlengths, blank)  # (B, S'), (B, S')
    lp_ext = np.take_along_axis(log_probs, np.broadcast_to(extended[None], (T,) + extended.shape), axis=2)
    alpha = ctc_alpha(lp_ext, skip, tlengths)  # (T, B, S'); beta waits for the backward: a loss alone needs none
    rows = np.arange(B)
    final = alpha[lengths - 1, rows]  # (B, S') alpha_{T_b - 1}
    last = 2 * tlengths
    logp = np.where(tlengths > 0, np.logaddexp(final[rows, last], final[rows, np.maximum(last - 1, 0)]),
                    final[rows, last])  # (B,)
    nll = -logp  # (B,) inf where unreachable
    if reduction == "mean":
        weights = 1.0 / (B * np.maximum(tlengths, 1))
    else:
        weights = np.ones(B)
    weights = weights.astype(logits.dtype)
    losses = nll.copy()
    if zero_infinity:
        losses[np.isinf(losses)] = 0
    cache = CTCCache(log_probs, alpha, lp_ext, skip, extended, nll, lengths, tlengths, weights, reduction,
                     bool(zero_infinity))
    if reduction == "none":
        return losses, cache
    return float(np.dot(losses.astype(np.float64), weights.astype(np.float64))), cache


def ctc_posteriors(cache: CTCCache) -> np.ndarray:
    """gamma (T, B, C): the posterior occupancy of each class at each frame given the labelling (each real
    frame's sums to 1; 0 past a sequence's end and for an unreachable labelling)."""
    T, B, C = cache.log_probs.shape
    finite = np.isfinite(cache.nll)  # (B,)
    nll = np.where(finite, cache.nll, 0).astype(cache.log_alpha.dtype)
    beta = ctc_beta(cache.lp_ext, cache.skip, cache.input_lengths, cache.target_lengths)  # (T, B, S')
    post = np.exp(cache.log_alpha + beta + nll[None, :, None])  # (T, B, S')
    post[:, ~finite] = 0
    onehot = np.zeros(cache.extended.shape + (C,), dtype=post.dtype)  # (B, S', C)
    np.put_along_axis(onehot, cache.extended[:, :, None], 1, axis=2)
    gamma = np.matmul(post.transpose(1, 0, 2), onehot)  # (B, T, S') @ (B, S', C) -> (B, T, C)
    return gamma.transpose(1, 0, 2)


def ctc_loss_backward(dloss: float | np.ndarray, cache: CTCCache) -> np.ndarray:
    """dL/dlogits (T, B, C) = sum_b dloss_b w_b (y_t(k) - gamma_t(k)) at the real frames, 0 past them.

    dloss: a scalar for "sum" and "mean", an array (B,) (or a scalar, for every sequence) for "none"."""
    T, B, C = cache.log_probs.shape
    if cache.reduction != "none" and np.ndim(dloss) != 0:
        raise ValueError(f"Expected dloss to be a scalar for reduction={cache.reduction!r}, got shape "
                         f"{np.shape(dloss)}")
    scale = np.broadcast_to(np.asarray(dloss, dtype=cache.log_probs.dtype), (B,)) if np.ndim(dloss) == 0 else None
    if scale is None:
        if np.shape(dloss) != (B,):
            raise ValueError(f"Expected dloss of shape ({B},) (one per sequence, reduction='none') or a scalar, got "
                             f"{np.shape(dloss)}")
        scale = np.asarray(dloss, dtype=cache.log_probs.dtype)
    coef = (scale * cache.weights).astype(cache.log_probs.dtype)  # (B,)
    grad = np.exp(cache.log_probs) - ctc_posteriors(cache)  # (T, B, C)
    unreachable = np.isinf(cache.nll)  # (B,)
    if cache.zero_infinity:
        coef = np.where(unreachable, 0, coef).astype(coef.dtype)
    else:
        grad[:, unreachable] = np.nan  # torch's too: the gradient of an infinite loss
    grad *= coef[None, :, None]
    grad[np.arange(T)[:, None] >= cache.input_lengths[None, :]] = 0  # (T, B) past each sequence's end
    return grad
