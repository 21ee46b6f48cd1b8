r"""Coverage: the attention remembers where it has been (Tu et al. 2016, "Modeling Coverage for Neural Machine
Translation", linguistic coverage; in the form See, Liu & Manning 2017 use with the pointer-generator).

The coverage vector of decoder step t is the sum of the attention weights of the steps before it::

    cov_t = sum_{t' < t} a_{t'}                     # (B, S); cov_0 = 0, and 0 at padded positions

and the additive score reads it inside its tanh, one learned weight vector w_cov (A,) for the scalar cov_{t,i}::

    e_{t,i} = v . tanh(W_q h_t + W_k s_i + w_cov cov_{t,i})

(rnnkit's additive score has no bias b: W_k s_i is where one would sit; and, as in See et al., cov is not divided
by Tu et al.'s learned fertility Phi_i.)  Only the additive score has such a natural place for it; dot and general
attention are refused with coverage.  The parameter is ``attention.w_cov`` (A,), U(-1, 1) as a
``torch.nn.Linear(1, A, bias=False)``, drawn after every other one (a model starts as it would without coverage).

The optional coverage loss (See et al.) penalises attending again where the attention has already been::

    covloss = lambda sum_{t,b} mask_tb sum_i min(a_{t,b,i}, cov_{t,b,i})

added to the summed NLL.  Gradients, with m = lambda mask_tb (min's subgradient: to a where a <= cov)::

    da_{t,i}   += m [a_{t,i} <= cov_{t,i}]
    dcov_{t,i} += m [cov_{t,i} < a_{t,i}]

Backward through time.  Step t's attention depends on cov_t, and cov_{t+1} = cov_t + a_t, so with
G_t = dL/dcov_t (everything later steps and step t itself send back)::

    G_T       = 0                                             (no step reads cov_T)
    da_t     += G_{t+1}                                      (a_t is in every later coverage)
    dp_{t,i}  = de_{t,i} v * (1 - u_{t,i}^2)                  # (A,), u the tanh; attention's dkeys
    G_t       = G_{t+1} + dp_{t,i} . w_cov + dcov_t(loss)
    dw_cov   += sum_{t,b,i} dp_{t,b,i} cov_{t,b,i}

walked from the last step to the first (:func:`rnnkit.seq2seq.decoder_teacher.teacher_forced_backward`); de_t
comes from da_t (the context's, copy's and the loss's parts and G_{t+1}) through the softmax Jacobian.
Decoding carries cov_t in the decoder's carry (:class:`rnnkit.seq2seq.decoder_step.Carry`), so beam search's
hypotheses each keep their own.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

NAME = "attention.w_cov"  # (A,)


def init_weight(attention_size: int, rng: np.random.Generator, dtype: Any) -> dict[str, np.ndarray]:
    """``attention.w_cov`` (A,), U(-1, 1) as ``torch.nn.Linear(1, A, bias=False)`` (fan-in 1)."""
    return {NAME: rng.uniform(-1.0, 1.0, (attention_size,)).astype(dtype)}


def score_backward(dp: np.ndarray, coverage: np.ndarray, w_cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Given dp = dL/d(the tanh's input) (B, S, A) of one step: (dL/dcov_t (B, S), dL/dw_cov (A,))."""
    return dp @ w_cov, np.einsum("bsa,bs->a", dp, coverage)


class LossCache(NamedTuple):
    """What :func:`loss_backward` needs from :func:`loss_forward`."""

    to_weights: np.ndarray  # (T, B, S) lambda mask [a <= cov]
    to_coverage: np.ndarray  # (T, B, S) lambda mask [cov < a]


def loss_forward(weights: np.ndarray, coverage: np.ndarray, tgt_mask: np.ndarray,
                 weight: float) -> tuple[float, LossCache]:
    """lambda sum_{t,b} mask_tb sum_i min(a, cov) for weights and coverage (T, B, S), tgt_mask (T, B)."""
    m = (weight * np.asarray(tgt_mask, bool))[:, :, None].astype(weights.dtype)  # (T, B, 1)
    first = weights <= coverage  # (T, B, S): where min picks a
    loss = float((m * np.minimum(weights, coverage)).sum(dtype=np.float64))
    return loss, LossCache(m * first, m * ~first)


def loss_backward(dloss: float, cache: LossCache) -> tuple[np.ndarray, np.ndarray]:
    """(dL/da (T, B, S), dL/dcov (T, B, S)) of dloss * covloss."""
    scale = cache.to_weights.dtype.type(dloss)
    return cache.to_weights * scale, cache.to_coverage * scale
