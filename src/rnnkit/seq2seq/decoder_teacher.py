r"""A teacher-forced pass of the attentional decoder of :mod:`rnnkit.seq2seq.decoder_step` over a whole target:
every step's forward in order, the output layer and loss over all steps at once, and the backward walking the
steps in reverse (see decoder_step's docstring for one step's equations, weight drop and scheduled sampling).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnkit.checks import check_number
from rnnkit.nn.dropout import scaled_keep_mask
from rnnkit.nn.embedding import embedding_backward, embedding_forward
from rnnkit.nn.linear_softmax import LinearCrossEntropy
from rnnkit.seq2seq import copy as cp
from rnnkit.seq2seq import coverage as cov
from rnnkit.seq2seq.decoder_step import (Carry, DecoderSpec, StepCache, _names, _sample, output_weight, step_backward,
                                         step_forward)

class TeacherCache(NamedTuple):
    """What :func:`teacher_forced_backward` needs from :func:`teacher_forced_forward`."""

    steps: list[StepCache]
    emb: Any  # embedding cache of the ids actually fed (gold, or sampled)
    output: LinearCrossEntropy  # the fused output layer and loss that made ``out``
    out: Any  # its cache
    shape: tuple[int, int]  # (T, B)
    has_memory: bool
    memory_shape: tuple | None  # (values shape, keys shape)
    hh_masks: list | None  # per layer: (G*H, H) scaled DropConnect mask on weight_hh, or None without weight drop
    coverage: cov.LossCache | None = None  # the coverage loss's, None without it
    coverage_loss: float = 0.0  # its value, lambda sum min(a, cov) (included in the loss)



def teacher_forced_forward(params: dict[str, np.ndarray], spec: DecoderSpec, carry: Carry, tgt_in: np.ndarray,
                           tgt_out: np.ndarray, tgt_mask: np.ndarray, training: bool = False,
                           rng: np.random.Generator | None = None, sampling_rate: float = 0.0,
                           output: LinearCrossEntropy | None = None, coverage_loss: float = 0.0
                           ) -> tuple[float, TeacherCache]:
    """Summed NLL of tgt_out (T, B) over tgt_mask, reading tgt_in (T, B) from ``carry``; with ``coverage_loss``
    lambda > 0 (a coverage model only) plus lambda sum_t mask_t sum_i min(a_ti, cov_ti)
    (:mod:`rnnkit.seq2seq.coverage`).

    Scheduled sampling (Bengio et al. 2015): for t >= 1 each sequence's input is, with probability
    ``sampling_rate``, a token drawn from the model's own distribution at t-1 instead of tgt_in[t] (a copy
    model's: the mixture P(w) over the extended vocabulary, an extended id drawn fed as <unk>);
    the draw is treated as a constant (no gradient flows through it).  It is a training method, as
    dropout is, so ``sampling_rate > 0`` needs ``training=True``; an evaluation pass that asks for it
    is refused rather than scored with sampled inputs (or silently without them).
    """
    T, B = tgt_in.shape
    sampling_rate = check_number("sampling_rate", sampling_rate, 0.0, 1.0)
    coverage_loss = check_number("coverage_loss", coverage_loss, 0.0)
    if coverage_loss > 0 and not spec.coverage:
        raise ValueError(f"Expected coverage_loss 0 for a model without coverage (it penalises attending again "
                         f"where coverage has been), got {coverage_loss}: make the model with coverage=True")
    if sampling_rate > 0 and not training:
        raise ValueError(f"Expected sampling_rate 0 without training (scheduled sampling is for training: pass "
                         f"training=True and an rng), got sampling_rate={sampling_rate} and training={training!r}")
    if sampling_rate > 0 and rng is None:
        raise ValueError("Expected rng (a numpy Generator) for scheduled sampling, got None")
    hh_masks = None
    if training and spec.weight_drop > 0:
        if rng is None:
            raise ValueError("Expected rng (a numpy Generator) for weight drop in training, got None")
        params = dict(params)  # the same arrays, but for the masked recurrent matrices
        hh_masks = []
        for k in range(spec.num_layers):
            name = f"decoder.weight_hh_l{k}"
            hh_masks.append(scaled_keep_mask(params[name].shape, spec.weight_drop, rng, params[name].dtype))
            params[name] = params[name] * hh_masks[k]  # (G*H, H)
    fed = np.array(tgt_in, dtype=np.int64, copy=True)  # (T, B) the ids actually read
    ext = None if carry.memory is None else carry.memory.ext  # (B, S) a copy model's source extended ids
    w_out = output_weight(params, spec)  # (V, H)
    outs = np.empty((T, B, spec.hidden_size), dtype=w_out.dtype)  # (T, B, H)
    steps = []
    for t in range(T):
        if sampling_rate > 0 and t > 0:
            use = rng.random(B) < sampling_rate
            # copy: drawn from step t-1's mixture, an extended id fed as <unk> (as a gold one is)
            drawn = _sample(params, spec, outs[t - 1], rng, steps[t - 1], ext)  # (B,)
            fed[t] = np.where(use, cp.fed_ids(drawn, spec.vocab_size), fed[t])
        out, _, carry, c = step_forward(params, spec, fed[t], carry, training, rng)
        outs[t] = out
        steps.append(c)
    _, emb = embedding_forward(fed, params["tgt_embedding.weight"])  # only its cache: ids for the scatter
    if spec.copy:  # the pointer-generator's mixture (rnnkit.seq2seq.copy)
        output = cp.CopyLoss()
        loss, c_out = output.forward(outs, w_out, params["output.bias"], tgt_out, tgt_mask,
                                     np.stack([c.attn.log_weights for c in steps]), np.stack([c.gate_z for c in steps]),
                                     carry.memory.ext)
    else:
        output = LinearCrossEntropy() if output is None else output  # a model passes its own, to reuse the buffer
        # (T, B, V) logits in one GEMM, fused with the loss
        loss, c_out = output.forward(outs, w_out, params["output.bias"], tgt_out, tgt_mask)
    c_cov, cov_loss = None, 0.0
    if coverage_loss > 0:
        cov_loss, c_cov = cov.loss_forward(np.stack([c.attn.weights for c in steps]),
                                           np.stack([c.attn.coverage for c in steps]), tgt_mask, coverage_loss)
    mshape = None if carry.memory is None else (carry.memory.values.shape, carry.memory.keys.shape)
    return loss + cov_loss, TeacherCache(steps, emb, output, c_out, (T, B), carry.memory is not None, mshape,
                                         hh_masks, c_cov, cov_loss)


def teacher_forced_backward(params: dict[str, np.ndarray], spec: DecoderSpec, dloss: float, cache: TeacherCache
                            ) -> tuple[list, list[np.ndarray] | None, dict[str, np.ndarray]]:
    """Returns (dL/d initial state per layer, [dvalues, dkeys] or None, grads of the decoder's params)."""
    T, B = cache.shape
    dtype = params["output.bias"].dtype
    names = ["tgt_embedding.weight", "combine.weight", "combine.bias"]
    names += [f"decoder.{n}_l{k}" for k in range(spec.num_layers) for n in _names(spec)]
    names += [k for k in params if k.startswith(("attention.", cp.GATE))]
    grads = {k: np.zeros_like(params[k]) for k in names}
    douts, g, *copied = cache.output.backward(dloss, cache.out)  # copy: dlog_weights (T, B, S), dz (T, B) too
    douts = douts.reshape(T, B, -1)  # (T, B, H)
    if not spec.tie_weights:
        grads["output.weight"] = g["weight"]
    grads["output.bias"] = g["bias"]
    dmem = None
    if cache.has_memory:
        vshape, kshape = cache.memory_shape
        dmem = [np.zeros(vshape, dtype), np.zeros(kshape, dtype)]
    demb = np.zeros((T, B, spec.embedding_dim), dtype)  # (T, B, E)
    dstate = [None] * spec.num_layers
    dfeed = None
    # coverage (rnnkit.seq2seq.coverage): dL/da_t from the loss (to_a) and from every later step (dcov, G_{t+1})
    to_a, to_cov = (None, None) if cache.coverage is None else cov.loss_backward(dloss, cache.coverage)
    dcov = None
    for t in range(T - 1, -1, -1):
        dout = douts[t] if dfeed is None else douts[t] + dfeed
        da = _sum(None if to_a is None else to_a[t], dcov)  # (B, S) or None
        dgate, dlog_a = (copied[1][t], copied[0][t]) if copied else (None, None)
        dfeed, dstate, demb[t], dscore = step_backward(params, spec, dout, dstate, cache.steps[t], grads, dmem,
                                                       dgate, da, dlog_a)
        if dscore is not None:  # G_t = G_{t+1} + this step's score's + the loss's
            dcov = _sum(dcov, dscore, None if to_cov is None else to_cov[t])
    _, ge = embedding_backward(demb, cache.emb)
    grads["tgt_embedding.weight"] = ge["weight"]
    if spec.tie_weights:  # one matrix used twice: its gradient is the sum of both uses
        grads["tgt_embedding.weight"] += g["weight"]
    for k, mask in enumerate(cache.hh_masks or ()):
        grads[f"decoder.weight_hh_l{k}"] *= mask  # W_hh entered as W_hh * M/(1-p), the scaled mask
    return dstate, dmem, grads


def _sum(*parts: np.ndarray | None) -> np.ndarray | None:
    """The sum of the parts that are not None; None when all are."""
    given = [x for x in parts if x is not None]
    return None if not given else given[0] if len(given) == 1 else sum(given[1:], given[0])
