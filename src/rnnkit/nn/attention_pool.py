r"""Additive self-attention pooling: a weighted average of a sequence's states, the weights learned.

The sentence vector of Yang et al. (2016, Hierarchical Attention Networks, word attention) and of
Lin et al. (2017, a structured self-attentive sentence embedding, with one head).  Shapes: T time
steps, B batch, D the size of a state h_t (dirs*H for a recurrent layer), A the attention size.
For each sentence, over its real steps t < L only (``mask``)::

    u_t = tanh(W h_t + b)                          # (A,)   W: (A, D), b: (A,)
    e_t = v . u_t                                  # ()     v: (A,), the "context vector"
    a_t = exp(e_t) / sum_{t' < L} exp(e_t')        # a_t = 0 exactly at padded steps
    s   = sum_t a_t h_t                            # (D,)   the pooled vector

Backward, given ds = dL/ds (B, D)::

    dh_t  = a_t ds                                 (through the weighted sum)
    da_t  = ds . h_t
    de_t  = a_t (da_t - sum_t' a_t' da_t')         (softmax Jacobian; 0 where a_t = 0)
    dv    = sum_{t,b} de_t u_t
    dz_t  = de_t v * (1 - u_t^2)                   (z_t = W h_t + b, through the tanh)
    dW    = sum_{t,b} dz_t h_t^T ;  db = sum_{t,b} dz_t ;  dh_t += W^T dz_t

Padded steps get no weight and so no gradient: de_t = 0 there, and dh_t = 0.  Parameters, in the
layout of ``torch.nn.Linear(D, A)`` for W and b: ``weight`` (A, D), ``bias`` (A,), ``context`` (A,).
Lin et al.'s form has no bias b; Yang et al.'s has one, as here.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.checks import check_array, check_int, check_rng, dtype_fix
from rnnkit.init import uniform_

NAMES = ("weight", "bias", "context")


class AttentionPoolCache(NamedTuple):
    """What :func:`attention_pool_backward` needs from :func:`attention_pool_forward`."""

    h: np.ndarray  # (T, B, D) the states
    u: np.ndarray  # (T, B, A) tanh(W h_t + b)
    a: np.ndarray  # (T, B) the weights, 0 at padded steps
    weight: np.ndarray  # (A, D)
    context: np.ndarray  # (A,)


def init_attention_pool(input_size: int, attention_size: int, rng: np.random.Generator,
                        dtype: np.dtype | str = np.float32) -> dict[str, np.ndarray]:
    """``weight`` (A, D), ``bias`` (A,) ~ U(-1/sqrt(D), 1/sqrt(D)), as ``torch.nn.Linear(D, A)`` draws them, and
    ``context`` (A,) ~ U(-1/sqrt(A), 1/sqrt(A)), as a ``Linear(A, 1)`` would: drawn from ``rng``, in that order."""
    D = check_int("input_size", input_size, 1)
    A = check_int("attention_size", attention_size, 1)
    check_rng(rng)
    dtype = np.dtype(dtype)
    bound = 1.0 / np.sqrt(D)
    return {"weight": uniform_((A, D), bound, rng, dtype), "bias": uniform_((A,), bound, rng, dtype),
            "context": uniform_((A,), 1.0 / np.sqrt(A), rng, dtype)}


def _check(h: np.ndarray, mask: np.ndarray, weight: np.ndarray, bias: np.ndarray, context: np.ndarray) -> None:
    check_array("h", h)
    if h.ndim != 3:
        raise ValueError(f"Expected h of shape (T, B, D), got {h.shape}")
    T, B, D = h.shape
    for name, value in (("mask", mask), ("weight", weight), ("bias", bias), ("context", context)):
        check_array(name, value)
    if mask.shape != (T, B) or mask.dtype != np.bool_:
        raise ValueError(f"Expected mask of shape (T, B) = ({T}, {B}) and dtype bool, got {mask.shape} {mask.dtype}")
    if B and not mask.any(axis=0).all():
        raise ValueError(f"Expected at least one real step in every sequence of mask, got none in sequence "
                         f"{int(np.flatnonzero(~mask.any(axis=0))[0])}")
    if weight.ndim != 2 or weight.shape[1] != D:
        raise ValueError(f"Expected weight of shape (A, D={D}), got {weight.shape}")
    A = weight.shape[0]
    for name, value in (("bias", bias), ("context", context)):
        if value.shape != (A,):
            raise ValueError(f"Expected {name} of shape (A,) = ({A},), got {value.shape}")
    for name, value in (("h", h), ("bias", bias), ("context", context)):
        if value.dtype != weight.dtype:
            alike = "weight, bias and context" if name == "h" else ""  # a function: no layer to build
            raise TypeError(f"Expected {name} of dtype {weight.dtype} (the weight's), got {value.dtype}: "
                            f"{dtype_fix(name, value.dtype, weight.dtype, alike)}")


def attention_pool_forward(h: np.ndarray, mask: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                           context: np.ndarray) -> tuple[np.ndarray, np.ndarray, AttentionPoolCache]:
    """Pool states h (T, B, D) over the steps where ``mask`` (T, B) is True; returns the pooled
    vectors s (B, D), the weights a (T, B) (each column sums to 1 over its real steps, 0 elsewhere)
    and the cache for :func:`attention_pool_backward`."""
    _check(h, mask, weight, bias, context)
    T, B, D = h.shape
    A = weight.shape[0]
    # one GEMM over all steps of all sentences, as the recurrent layers project their inputs
    u = np.tanh(h.reshape(T * B, D) @ weight.T + bias).reshape(T, B, A)  # (T, B, A)
    e = u @ context  # (T, B)
    e = np.where(mask, e, -np.inf)
    e -= e.max(axis=0, keepdims=True)  # every column has a real step, so the max is finite
    a = np.exp(e)  # (T, B), exp(-inf) = 0 at padded steps
    a /= a.sum(axis=0, keepdims=True)
    s = np.einsum("tb,tbd->bd", a, h)  # (B, D)
    return s, a, AttentionPoolCache(h.copy(), u, a, weight, context)  # h copied: the caller may reuse it


def attention_pool_backward(ds: np.ndarray, cache: AttentionPoolCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Gradients of the pooling (module docstring) given ds = dL/ds (B, D): ``(dh (T, B, D), {"weight": dW (A, D),
    "bias": db (A,), "context": dv (A,)})``."""
    h, u, a, weight, context = cache
    T, B, D = h.shape
    A = weight.shape[0]
    check_array("ds", ds)
    if ds.shape != (B, D):
        raise ValueError(f"Expected ds of shape (B, D) = ({B}, {D}), got {ds.shape}")
    if ds.dtype != weight.dtype:
        raise TypeError(f"Expected ds of dtype {weight.dtype} (the weight's), got {ds.dtype}: "
                        f"{dtype_fix('ds', ds.dtype, weight.dtype, '')}")
    dh = a[:, :, None] * ds[None]  # (T, B, D)
    da = np.einsum("tbd,bd->tb", h, ds)  # (T, B)
    de = a * (da - (a * da).sum(axis=0, keepdims=True))  # (T, B), 0 at padded steps
    dv = np.einsum("tb,tba->a", de, u)  # (A,)
    dz = (de[:, :, None] * context) * (1.0 - u * u)  # (T, B, A)
    dz2 = dz.reshape(T * B, A)
    h2 = h.reshape(T * B, D)
    grads = {"weight": dz2.T @ h2, "bias": dz2.sum(axis=0), "context": dv}  # (A, D), (A,), (A,)
    dh += (dz2 @ weight).reshape(T, B, D)
    return dh, grads
