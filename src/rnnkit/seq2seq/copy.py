r"""Copy attention: the pointer-generator of See, Liu & Manning (2017), "Get To The Point", on the
attentional decoder of :mod:`rnnkit.seq2seq.decoder_step`.

At decoder step t, with the attention weights a_t (B, S) and context c_t (B, Hk), the decoder's top-layer
output s_t = h_t (B, H) (the state attention reads) and the input embedding x_t = E y_{t-1} (B, E) (as the
decoder reads it, after dropout)::

    p_gen,t = sigmoid(w_c . c_t + w_s . s_t + w_x . x_t + b)                          # (B,)
    P_t(w)  = p_gen,t P_vocab,t(w) + (1 - p_gen,t) sum_{j: src_j = w} a_{t,j}          # (B, V + X)
    loss    = - sum_{t,b} mask_tb log P_t(y_tb)

P_vocab,t = softmax(W_o h~_t + b_o) is the plain decoder's output distribution (zero beyond V), and
[w_c ; w_s ; w_x] is ``decoder.copy_gate.weight`` (1, Hk + H + E), b ``decoder.copy_gate.bias`` (1,), as
a ``torch.nn.Linear(Hk + H + E, 1)`` over [c_t ; s_t ; x_t].

Extended ids (per sentence): a source token in the target vocabulary is its target id; a source token
outside it gets V + k, k its place among the sentence's distinct such tokens in order of first occurrence
(:func:`source_extension`), X the batch's largest count.  A gold target word outside the target vocabulary
that occurs in the source is scored at its extended id, one that does not as ``<unk>`` (See et al.'s
convention, :func:`target_extension`).  The decoder is never fed an extended id: it reads ``<unk>`` for it.
Scheduled sampling (``sampling_rate``) draws the token it feeds at step t from the model's P_{t-1}(w), this
mixture over the extended vocabulary (:func:`mixture_log_probs`), not from P_vocab alone: a copied word it draws
is fed as ``<unk>`` (:func:`fed_ids`), as a gold one is, and the draw is a constant for the backward.

In log space (float32 saturates: p_gen = 1 exactly for z > ~17, P_vocab(y) and copy(y) underflow), from the
gate's pre-activation z, with softplus(z) = log(1 + e^z) and y = y_tb, copy(y) = sum_{j: src_j = y} a_j::

    log p_gen = -softplus(-z) ;  log(1 - p_gen) = -softplus(z)
    lg = log p_gen + log_softmax(W_o h~_t + b_o)_y  (-inf when y >= V) ;  lc = log(1 - p_gen) + log copy(y)
    log copy(y) = logsumexp_{j: src_j = y} log a_j     # the attention's log weights: a_j is 0 in float32 below 1e-45
    log P_t(y) = logaddexp(lg, lc)

Backward, with m = mask_tb times the upstream gradient and the responsibilities A = exp(lg - log P) (the share
of P from generating) and C = sum_j C_j (from copying), C_j = exp(log(1 - p_gen) + log a_j - log P) [src_j = y]::

    dlogits_w = -m A ([w = y] - P_vocab(w))                    (0 when y >= V: A = 0)
    da_j      = -m exp(log(1 - p_gen) - log P) [src_j = y] ;  dlog a_j = a_j da_j = -m C_j
    dz        = -m (A (1 - p_gen) - C p_gen)                    # z: the gate's pre-activation
    dW_gate  += dz^T [c ; s ; x] ;  db_gate += sum dz ;  d[c ; s ; x] = dz W_gate

dlog a (at most m in size, where da_j ~ 1 / P overflows float32 for P < 1e-38) flows into the attention's
backward beside the context's gradient (:func:`rnnkit.seq2seq.attention.attention_backward`'s ``dlog_weights``),
and d[c ; s ; x] into the context, the query and the embedding.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from rnnkit.data.parallel import UNK_ID, check_vocab
from rnnkit.data.parallel import decode_extended as decode_extended  # this module's name for it, as before
from rnnkit.data.vocab import Vocabulary
from rnnkit.nn.softmax import log_softmax

GATE = "decoder.copy_gate."  # the gate's parameter names' prefix: weight (1, Hk + H + E), bias (1,)


def init_gate(size: int, rng: np.random.Generator, dtype: Any) -> dict[str, np.ndarray]:
    """``decoder.copy_gate.weight`` (1, size) and ``.bias`` (1,), U(-1/sqrt(size), 1/sqrt(size)) as nn.Linear."""
    bound = 1.0 / np.sqrt(size)
    return {GATE + "weight": rng.uniform(-bound, bound, (1, size)).astype(dtype),
            GATE + "bias": rng.uniform(-bound, bound, (1,)).astype(dtype)}


def gate_forward(params: dict[str, np.ndarray], context: np.ndarray, state: np.ndarray,
                 emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gate's pre-activation z (B,) of one step (p_gen = sigmoid(z)) from c_t (B, Hk), s_t (B, H), x_t (B, E);
    returns (z, [c ; s ; x]).  The loss and decoding read z, not p_gen: see :func:`log_gate`."""
    gate_in = np.concatenate([context, state, emb], axis=1)  # (B, Hk + H + E)
    return gate_in @ params[GATE + "weight"][0] + params[GATE + "bias"][0], gate_in


def log_gate(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log p_gen, log(1 - p_gen)) = (-softplus(-z), -softplus(z)) for the gate's pre-activation z (any shape),
    finite at every finite z (1 - sigmoid(z) itself is 0 in float32 for z > ~17)."""
    zero = z.dtype.type(0)
    return -np.logaddexp(zero, -z), -np.logaddexp(zero, z)


def gate_backward(dz: np.ndarray, gate_in: np.ndarray, params: dict[str, np.ndarray],
                  grads: dict[str, np.ndarray]) -> np.ndarray:
    """Adds the gate's gradients into ``grads`` given dz = dL/dz (B,); returns d[c ; s ; x] (B, Hk + H + E)."""
    grads[GATE + "weight"] += (dz @ gate_in)[None, :]
    grads[GATE + "bias"] += dz.sum(keepdims=True)
    return dz[:, None] * params[GATE + "weight"]


def fed_ids(ids: np.ndarray, V: int) -> np.ndarray:
    """The ids the decoder reads for ``ids`` (any shape): an extended id (>= V) is fed back as ``<unk>``."""
    return np.where(ids >= V, UNK_ID, ids)


def width(ext: np.ndarray, V: int) -> int:
    """V + X: the extended vocabulary's size for source extended ids ``ext`` (any shape)."""
    return max(V, int(ext.max()) + 1) if ext.size else V


def mixture_log_probs(logits: np.ndarray, z: np.ndarray, log_weights: np.ndarray, ext: np.ndarray) -> np.ndarray:
    """log P(w) (B, V + X) of one decoding step from the output logits (B, V), the gate's pre-activation z (B,),
    the attention's log weights (B, S) and the source's extended ids ext (B, S), in log space as the loss (the
    module docstring): log P(w) = logaddexp(log p_gen + log P_vocab(w), log(1 - p_gen) + log copy(w)); -inf only
    for an extended id a row lacks."""
    B, V = logits.shape
    log_gen, log_copy = log_gate(z)  # (B,), (B,)
    out = np.full((B, width(ext, V)), -np.inf, logits.dtype)  # (B, V + X)
    out[:, :V] = log_gen[:, None] + log_softmax(logits)
    return np.logaddexp(out, log_copy[:, None] + _log_scatter_sum(log_weights, ext, out.shape[1]))


def _log_scatter_sum(log_w: np.ndarray, idx: np.ndarray, size: int) -> np.ndarray:
    """log sum_{j: idx_j = w} exp(log_w_j) (B, size) of log_w (B, S) (-inf adds nothing), idx (B, S) in [0, size);
    -inf where nothing lands.  Each id's terms are shifted by their own largest: none underflows."""
    rows = (np.arange(log_w.shape[0])[:, None], idx)
    top = np.full((log_w.shape[0], size), -np.inf, log_w.dtype)  # (B, size)
    np.maximum.at(top, rows, log_w)
    top[np.isneginf(top)] = 0.0
    total = np.zeros_like(top)
    np.add.at(total, rows, np.exp(log_w - top[rows]))
    with np.errstate(divide="ignore"):
        return top + np.log(total)


class CopyCache(NamedTuple):
    """What :meth:`CopyLoss.backward` needs from :meth:`CopyLoss.forward`."""

    outs: np.ndarray  # (T, B, H) h~_t
    w_out: np.ndarray  # (V, H)
    probs: np.ndarray  # (T, B, V) P_vocab
    z: np.ndarray  # (T, B) the gate's pre-activation
    gold: np.ndarray  # (T, B) y clipped below V
    gen: np.ndarray  # (T, B) mask A = mask exp(lg - log P), 0 when y >= V
    cop: np.ndarray  # (T, B, S) mask C_j = mask exp(log(1 - p_gen) + log a_j - log P) [src_j = y]


class CopyLoss:
    """The output layer and loss of a copy model over all steps at once (see the module docstring); the
    counterpart of :class:`rnnkit.nn.linear_softmax.LinearCrossEntropy`."""

    def forward(self, outs: np.ndarray, w_out: np.ndarray, b_out: np.ndarray, tgt_out: np.ndarray,
                tgt_mask: np.ndarray, log_weights: np.ndarray, z: np.ndarray,
                ext: np.ndarray) -> tuple[float, CopyCache]:
        """Summed -log P(y) where tgt_mask; outs (T, B, H), the attention's log weights (T, B, S) (-inf at padding),
        the gate's pre-activation z (T, B), ext (B, S)."""
        V = w_out.shape[0]
        mask = np.asarray(tgt_mask, bool)
        in_vocab = tgt_out < V  # (T, B)
        gold = np.where(in_vocab, tgt_out, 0)
        hit = ext[None, :, :] == tgt_out[:, :, None]  # (T, B, S)
        lost = mask & ~in_vocab & ~hit.any(axis=2)
        if lost.any():
            t, b = (int(i[0]) for i in np.nonzero(lost))
            raise ValueError(f"Expected every extended target id (>= V = {V}) to occur in the source's extended "
                             f"ids, got tgt_out[{t}, {b}] = {int(tgt_out[t, b])} not in src_ext[:, {b}]")
        probs = outs @ w_out.T + b_out  # (T, B, V) logits, shifted and exponentiated in place into P_vocab
        probs -= probs.max(axis=2, keepdims=True)
        shifted = np.take_along_axis(probs, gold[:, :, None], axis=2)[:, :, 0]  # (T, B)
        np.exp(probs, out=probs)
        total = probs.sum(axis=2)  # (T, B), >= 1
        probs /= total[:, :, None]
        log_gen, log_copy = log_gate(z)  # (T, B) log p_gen, log(1 - p_gen)
        lg = np.where(in_vocab, log_gen + shifted - np.log(total), -np.inf)  # log p_gen + log_softmax(...)_y
        log_a = np.where(hit & mask[:, :, None], log_weights, -np.inf)  # (T, B, S): -inf where src_j != y
        top = log_a.max(axis=2)  # (T, B)
        top[np.isneginf(top)] = 0.0
        with np.errstate(divide="ignore"):  # lc: log(1 - p_gen) + log copy(y), -inf where no src_j = y or not mask
            lc = log_copy + top + np.log(np.exp(log_a - top[:, :, None]).sum(axis=2))  # (T, B)
        log_p = np.where(mask, np.logaddexp(lg, lc), 0.0).astype(outs.dtype)  # (T, B)
        loss = -float(log_p.sum(dtype=np.float64))
        gen = np.where(mask, np.exp(lg - log_p), 0.0).astype(outs.dtype)  # (T, B) A
        cop = np.exp((log_copy - log_p)[:, :, None] + log_a)  # (T, B, S) C_j
        return loss, CopyCache(outs, w_out, probs, z, gold, gen, cop)

    def backward(self, dloss: float, cache: CopyCache
                 ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """Returns (douts (T, B, H), {"weight": dW_o, "bias": db_o}, dlog_weights (T, B, S), dz (T, B))."""
        outs, w_out, probs, z, gold, gen, cop = cache
        d = outs.dtype.type(dloss)
        T, B, H = outs.shape
        m_gen = d * gen  # (T, B) m A
        dlogits = probs * m_gen[:, :, None]  # (T, B, V): -m A ([w = y] - P_vocab(w))
        t_idx, b_idx = np.meshgrid(np.arange(T), np.arange(B), indexing="ij")
        dlogits[t_idx, b_idx, gold] -= m_gen
        douts = dlogits @ w_out  # (T, B, H)
        flat = dlogits.reshape(T * B, -1)
        grads = {"weight": flat.T @ outs.reshape(T * B, H), "bias": flat.sum(axis=0)}
        log_gen, log_copy = log_gate(z)
        dz = -(m_gen * np.exp(log_copy) - d * cop.sum(axis=2) * np.exp(log_gen))  # (T, B) -m (A (1-p_gen) - C p_gen)
        return douts, grads, -d * cop, dz


# ---------------------------------------------------------------------------- extended ids of the data
def source_extension(tokens: Sequence[str], target_vocab: Vocabulary) -> tuple[np.ndarray, list[str]]:
    """A source sentence's extended target ids (n,) and its words outside the target vocabulary, in order
    of first occurrence (the word of extended id V + k is the k-th)."""
    V = len(target_vocab)
    oovs: list[str] = []
    ids = target_vocab.encode(tokens)  # (n,)
    for i, tok in enumerate(tokens):
        if tok not in target_vocab:
            if tok not in oovs:
                oovs.append(tok)
            ids[i] = V + oovs.index(tok)
    return ids, oovs


def target_extension(tokens: Sequence[str], target_vocab: Vocabulary, oovs: Sequence[str]) -> np.ndarray:
    """A target sentence's ids (m,): a word outside the target vocabulary found in the source's ``oovs`` at its
    extended id, else ``<unk>``."""
    V = len(target_vocab)
    ids = target_vocab.encode(tokens)
    for i, tok in enumerate(tokens):
        if ids[i] == UNK_ID and tok not in target_vocab and tok in oovs:
            ids[i] = V + list(oovs).index(tok)
    return ids


def encode_copy_pairs(pairs: Sequence[Any], source_vocab: Vocabulary, target_vocab: Vocabulary
                      ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(source ids (n,), target extended ids (m,), source extended ids (n,)) per pair of tokens, the triples
    :func:`rnnkit.data.parallel.make_batch` pads into a batch with ``src_ext``."""
    return copy_pairs_and_oovs(pairs, source_vocab, target_vocab)[0]


def copy_pairs_and_oovs(pairs: Sequence[Any], source_vocab: Vocabulary, target_vocab: Vocabulary
                        ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], list[list[str]]]:
    """:func:`encode_copy_pairs`' triples, and each source's words outside the target vocabulary (its extended
    ids' words, which decoding writes for them), from one :func:`source_extension` of each pair."""
    check_vocab(source_vocab, "source_vocab")
    check_vocab(target_vocab, "target_vocab")
    out, words = [], []
    for p in pairs:
        ext, oovs = source_extension(p[0], target_vocab)
        out.append((source_vocab.encode(p[0]), target_extension(p[1], target_vocab, oovs), ext))
        words.append(oovs)
    return out, words


def ext_kwargs(batch: Any) -> dict[str, Any]:
    """A batch's ``src_ext`` as the keyword a copy model's ``forward`` and decoding take, none without copy
    (:class:`rnnkit.data.parallel.ParallelBatch`'s ``src_ext`` is None then)."""
    return {} if batch.src_ext is None else {"src_ext": batch.src_ext}
