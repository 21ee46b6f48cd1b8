r"""Attention of a decoder state over encoder states: additive (Bahdanau) and multiplicative (Luong).

Shapes: B batch, S source length, H the query (decoder hidden) size, Hk the size of an encoder state
s_j (dirs * H_enc), A the additive attention size.  Encoder states are stored batch-major,
``values`` (B, S, Hk), because every decoder step reads all of them.

Scores e_j for query q (the decoder's top hidden state h_t) and encoder state s_j::

    dot       e_j = q . s_j                            (needs H == Hk)
    general   e_j = q . (W s_j)                        W: (H, Hk)
    additive  e_j = v . tanh(W_q q + W_k s_j)          W_q: (A, H), W_k: (A, Hk), v: (A,)

With coverage (additive only, :mod:`rnnkit.seq2seq.coverage`) the tanh also reads w_cov cov_j, cov_j the
attention the earlier decoder steps gave s_j; its gradient is read off the additive dk_j = dp_j below.

Then, over the real (unmasked) source positions only,

    a_j = exp(e_j) / sum_{i real} exp(e_i)             a_j = 0 exactly at padded positions
    c   = sum_j a_j s_j                                # context (B, Hk)

The key projection k_j = W s_j (general), W_k s_j (additive) or s_j (dot) does not depend on the
query, so :func:`project_keys` computes it once per source sentence and every decoder step reuses
it; :func:`attention_forward` is one decoder step.  The additive score uses the *current* decoder
state as the query (Luong's placement, as OpenNMT's "mlp" attention), not Bahdanau's s_{t-1}.

Backward of one step, given dc = dL/dc (B, Hk)::

    ds_j += a_j dc                          (through the weighted sum)
    da_j  = dc . s_j
    de_j  = a_j (da_j - sum_i a_i da_i)     (softmax Jacobian; 0 where a_j = 0)
    dot / general:  dq = sum_j de_j k_j ;   dk_j = de_j q
    additive:       u_j = tanh(W_q q + k_j)
                    dv += sum_j de_j u_j ;  dp_j = de_j v * (1 - u_j^2)
                    dk_j = dp_j ;  dW_q += (sum_j dp_j)^T q ;  dq = (sum_j dp_j) W_q

and of the key projection, once per sentence after all steps: general dW = sum_j dk_j^T s_j,
ds_j += dk_j W; additive dW_k = sum_j dk_j^T s_j, ds_j += dk_j W_k; dot ds_j += dk_j.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

KINDS = ("none", "additive", "dot", "general")


def check_kind(kind: str) -> str:
    """``kind`` when it is an attention this module computes (``KINDS``), else a ValueError naming them."""
    if kind not in KINDS:
        raise ValueError(f"Expected attention one of {KINDS}, got {kind!r}")
    return kind


def init_attention_params(kind: str, query_size: int, memory_size: int, attention_size: int,
                          rng: np.random.Generator, dtype: object = np.float32) -> dict[str, np.ndarray]:
    """Parameters of one attention kind, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` like ``nn.Linear``.

    additive: ``W_q`` (A, H), ``W_k`` (A, Hk), ``v`` (A,); general: ``W`` (H, Hk); dot and none: {}.
    """
    check_kind(kind)
    H, Hk, A = query_size, memory_size, attention_size
    if kind == "dot" and H != Hk:
        raise ValueError(f"Expected decoder hidden size == encoder state size for dot attention, got {H} and {Hk}")

    def u(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape).astype(dtype)

    if kind == "additive":
        return {"W_q": u((A, H), H), "W_k": u((A, Hk), Hk), "v": u((A,), A)}
    if kind == "general":
        return {"W": u((H, Hk), Hk)}
    return {}


class KeysCache(NamedTuple):
    """What :func:`project_keys_backward` needs from :func:`project_keys`: the kind and the values."""

    kind: str
    values: np.ndarray  # (B, S, Hk)


def project_keys(kind: str, params: dict[str, np.ndarray], values: np.ndarray) -> tuple[np.ndarray, KeysCache]:
    """Keys k_j for every source position: values (B, S, Hk) -> keys (B, S, K), K = Hk, H or A."""
    check_kind(kind)
    if not (isinstance(values, np.ndarray) and values.ndim == 3):
        raise ValueError(f"Expected values of shape (B, S, Hk), got {getattr(values, 'shape', type(values).__name__)}")
    if kind in ("general", "additive"):
        name = "W" if kind == "general" else "W_k"
        w = params[name]  # (H or A, Hk)
        if values.shape[2] != w.shape[1]:
            raise ValueError(f"Expected values of shape (B, S, Hk) with Hk = {w.shape[1]} (the columns of "
                             f"params[{name!r}]), got {values.shape}")
        keys = values @ w.T  # (B, S, H) general, (B, S, A) additive
    else:
        keys = values  # dot: the states themselves
    return keys, KeysCache(kind, values)


def project_keys_backward(dkeys: np.ndarray, cache: KeysCache,
                          params: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Returns (dvalues (B, S, Hk), grads of the projection's weight); dkeys summed over all steps."""
    kind, values = cache
    Hk = values.shape[2]
    if kind == "dot":
        return dkeys, {}
    name = "W" if kind == "general" else "W_k"
    w = params[name]  # (K, Hk)
    dvalues = dkeys @ w  # (B, S, Hk)
    # one GEMM over every (b, j): dW = sum_{b,j} dk_bj^T s_bj
    dw = dkeys.reshape(-1, w.shape[0]).T @ values.reshape(-1, Hk)  # (K, Hk)
    return dvalues, {name: dw}


def additive_scores(params: dict[str, np.ndarray], query: np.ndarray, keys: np.ndarray,
                    coverage: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Additive scores e_j = v . tanh(W_q q + k_j) over any leading axes: query (..., H), keys (..., S, A)
    broadcast against it (one source for many queries: keys (B, S, A), query (T, B, H)).  With ``coverage``
    (..., S) the tanh also reads w_cov cov_j, w_cov = ``params["w_cov"]`` (A,) (:mod:`rnnkit.seq2seq.coverage`).

    Returns (scores (..., S), u = tanh(W_q q + k_j [+ w_cov cov_j]) (..., S, A)), unmasked.
    """
    qp = query @ params["W_q"].T  # (..., A)
    pre = keys + qp[..., None, :]  # (..., S, A)
    if coverage is not None:
        pre = pre + coverage[..., None] * params["w_cov"]
    u = np.tanh(pre)  # (..., S, A)
    return u @ params["v"], u


def additive_scores_backward(de: np.ndarray, u: np.ndarray, query: np.ndarray, params: dict[str, np.ndarray]
                             ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Gradients of :func:`additive_scores` given de = dL/de (..., S).

    Returns (dquery (..., H), dkeys (..., S, A) -- u's shape: sum it over the axes the keys were broadcast
    along --, {"v": (A,), "W_q": (A, H)}).
    """
    v, w_q = params["v"], params["W_q"]  # (A,), (A, H)
    A, H = w_q.shape
    # (A,): sum over every position of de_j u_j.  Each caller keeps its own summation order, so its own bits:
    # seq2seq's one step (B, S) the einsum it had before this function, the pointer's (T, B, S) a tensordot
    # (an einsum there moves the demos' documented results: seed 1 n = 15 per position 76.9% -> 81.4%)
    if de.ndim == 2:
        grads = {"v": np.einsum("bs,bsa->a", de, u)}
    else:
        grads = {"v": np.tensordot(de, u, axes=de.ndim)}
    dp = de[..., None] * v * (1.0 - u * u)  # (..., S, A)
    dqp = dp.sum(axis=-2)  # (..., A): the query projection is broadcast over S
    grads["W_q"] = dqp.reshape(-1, A).T @ query.reshape(-1, H)  # (A, H)
    return dqp @ w_q, dp, grads


class AttentionCache(NamedTuple):
    """What :func:`attention_backward` needs from one :func:`attention_forward` step."""

    kind: str
    query: np.ndarray  # (B, H)
    values: np.ndarray  # (B, S, Hk)
    keys: np.ndarray  # (B, S, K)
    weights: np.ndarray  # (B, S)
    u: np.ndarray | None  # (B, S, A) tanh(W_q q + k), additive only
    coverage: np.ndarray | None = None  # (B, S) cov_t, with coverage only
    log_weights: np.ndarray | None = None  # (B, S) log a_j (-inf at padding), finite where a_j underflows to 0


def attention_forward(kind: str, params: dict[str, np.ndarray], query: np.ndarray, values: np.ndarray,
                      keys: np.ndarray, mask: np.ndarray, coverage: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, AttentionCache]:
    """One step: query (B, H) over values (B, S, Hk) with keys (B, S, K) and mask (B, S) bool; ``coverage``
    (B, S), additive only: the sum of the earlier steps' weights, read by the score (:mod:`rnnkit.seq2seq.coverage`).

    Returns (context (B, Hk), weights (B, S), cache).  Every row of ``mask`` needs a True.
    """
    check_kind(kind)
    if kind == "none":
        raise ValueError("Expected an attention kind other than 'none' for attention_forward, got 'none'")
    if coverage is not None and kind != "additive":
        raise ValueError(f"Expected coverage=None for {kind} attention (only the additive score reads coverage), "
                         "got an array")
    B, S, _ = values.shape
    if query.ndim != 2 or query.shape[0] != B:
        raise ValueError(f"Expected query of shape (B={B}, H), got {query.shape}")
    if mask.shape != (B, S):
        raise ValueError(f"Expected mask of shape (B, S) = {(B, S)}, got {mask.shape}")
    # the keys' width K and the query's H: additive K = A (W_q's rows), H = W_q's columns; general K = H =
    # W's rows; dot K = H = Hk (the keys are the values)
    if kind == "additive":
        K, whose = params["W_q"].shape[0], "the rows of params['W_q']"
    elif kind == "general":
        K, whose = params["W"].shape[0], "the rows of params['W']"
    else:
        K, whose = values.shape[2], "the values' last axis"
    if not isinstance(keys, np.ndarray) or keys.shape != (B, S, K):
        raise ValueError(f"Expected keys of shape (B, S, K) = ({B}, {S}, {K}) (K: {whose}; project_keys makes "
                         f"them), got {getattr(keys, 'shape', type(keys).__name__)}")
    H, whose = (params["W_q"].shape[1], "the columns of params['W_q']") if kind == "additive" else (K, whose)
    if query.shape[1] != H:
        raise ValueError(f"Expected query of shape (B, H) with H = {H} ({whose}), got {query.shape}")
    u = None
    if kind == "additive":
        scores, u = additive_scores(params, query, keys, coverage)  # (B, S), (B, S, A)
    else:
        scores = (keys @ query[:, :, None])[:, :, 0]  # (B, S): batched dot products
    # mask before the softmax: exp(-inf) = 0, so padded positions get weight exactly 0
    scores = np.where(mask, scores, -np.inf)
    top = scores.max(axis=1, keepdims=True)  # (B, 1)
    if np.isneginf(top).any():  # the rare case, looked into only here: not a pass over the mask every step
        empty = ~mask.any(axis=1)  # (B,)
        if empty.any():  # its softmax would be 0 / 0: NaN weights and context
            raise ValueError(f"Expected a True in every row of mask (a source of at least one position), got none "
                             f"in row {int(np.flatnonzero(empty)[0])}")
    scores -= top
    weights = np.exp(scores)  # (B, S)
    total = weights.sum(axis=1, keepdims=True)  # (B, 1), >= 1
    weights /= total
    context = (weights[:, None, :] @ values)[:, 0, :]  # (B, Hk)
    return context, weights, AttentionCache(kind, query, values, keys, weights, u, coverage, scores - np.log(total))


def attention_backward(dcontext: np.ndarray, cache: AttentionCache, params: dict[str, np.ndarray],
                       dweights: np.ndarray | None = None, dlog_weights: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Gradients of one step given dcontext (B, Hk), and dweights (B, S) when the weights a_j are used
    elsewhere too (coverage: da_j gets it added), dlog_weights (B, S) when log a_j is (copy attention,
    :mod:`rnnkit.seq2seq.copy`: l_j = a_j da_j, finite where da_j = dl_j / a_j would overflow float32)::

        de_i = a_i (da_i - sum_k a_k da_k) + dl_i - a_i sum_k dl_k

    Returns (dquery (B, H), dvalues (B, S, Hk), dkeys (B, S, K), grads of W_q and v for additive).
    ``dvalues`` covers only the weighted sum; the keys' dependence on the values is
    :func:`project_keys_backward`'s part.
    """
    kind, query, values, keys, a, u = cache[:6]
    dvalues = a[:, :, None] * dcontext[:, None, :]  # (B, S, Hk)
    da = (values @ dcontext[:, :, None])[:, :, 0]  # (B, S)
    if dweights is not None:
        da = da + dweights
    de = a * (da - (a * da).sum(axis=1, keepdims=True))  # (B, S)
    if dlog_weights is not None:
        de += dlog_weights - a * dlog_weights.sum(axis=1, keepdims=True)
    grads: dict[str, np.ndarray] = {}
    if kind == "additive":
        dquery, dkeys, grads = additive_scores_backward(de, u, query, params)
    else:
        dquery = (de[:, None, :] @ keys)[:, 0, :]  # (B, H)
        dkeys = de[:, :, None] * query[:, None, :]  # (B, S, H)
    return dquery, dvalues, dkeys, grads
