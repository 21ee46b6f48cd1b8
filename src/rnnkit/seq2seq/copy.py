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
Scheduled sampling (``sampling_rate``) draws the token it feeds from P_vocab alone, as without copy: a copied
word would be fed as ``<unk>`` anyway.

Backward, with g_tb = -mask_tb / P_t(y_tb), y = y_tb and copy(y) = sum_{j: src_j = y} a_j::

    dlogits_w = g p_gen P_vocab(w) ([w = y] - P_vocab(y))       (0 when y >= V)
    da_j      = g (1 - p_gen) [src_j = y]
    dz        = g (P_vocab(y) [y < V] - copy(y)) p_gen (1 - p_gen)      # z: the gate's pre-activation
    dW_gate  += dz^T [c ; s ; x] ;  db_gate += sum dz ;  d[c ; s ; x] = dz W_gate

da flows into the attention's backward beside the context's gradient (:func:`rnnkit.seq2seq.attention.
attention_backward`'s ``dweights``), and d[c ; s ; x] into the context, the query and the embedding.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from rnnkit.data.parallel import UNK_ID, check_vocab
from rnnkit.data.vocab import Vocabulary
from rnnkit.nn.softmax import softmax

GATE = "decoder.copy_gate."  # the gate's parameter names' prefix: weight (1, Hk + H + E), bias (1,)


def init_gate(size: int, rng: np.random.Generator, dtype: Any) -> dict[str, np.ndarray]:
    """``decoder.copy_gate.weight`` (1, size) and ``.bias`` (1,), U(-1/sqrt(size), 1/sqrt(size)) as nn.Linear."""
    bound = 1.0 / np.sqrt(size)
    return {GATE + "weight": rng.uniform(-bound, bound, (1, size)).astype(dtype),
            GATE + "bias": rng.uniform(-bound, bound, (1,)).astype(dtype)}


def gate_forward(params: dict[str, np.ndarray], context: np.ndarray, state: np.ndarray,
                 emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p_gen (B,) of one step from c_t (B, Hk), s_t (B, H), x_t (B, E); returns (p_gen, [c ; s ; x])."""
    gate_in = np.concatenate([context, state, emb], axis=1)  # (B, Hk + H + E)
    z = gate_in @ params[GATE + "weight"][0] + params[GATE + "bias"][0]  # (B,)
    return 1.0 / (1.0 + np.exp(-z)), gate_in


def gate_backward(dz: np.ndarray, gate_in: np.ndarray, params: dict[str, np.ndarray],
                  grads: dict[str, np.ndarray]) -> np.ndarray:
    """Adds the gate's gradients into ``grads`` given dz = dL/dz (B,); returns d[c ; s ; x] (B, Hk + H + E)."""
    grads[GATE + "weight"] += (dz @ gate_in)[None, :]
    grads[GATE + "bias"] += dz.sum(keepdims=True)
    return dz[:, None] * params[GATE + "weight"]


def width(ext: np.ndarray, V: int) -> int:
    """V + X: the extended vocabulary's size for source extended ids ``ext`` (any shape)."""
    return max(V, int(ext.max()) + 1) if ext.size else V


def mixture_log_probs(logits: np.ndarray, p_gen: np.ndarray, weights: np.ndarray, ext: np.ndarray) -> np.ndarray:
    """log P(w) (B, V + X) of one decoding step from the output logits (B, V), p_gen (B,), the attention
    weights (B, S) and the source's extended ids ext (B, S); log 0 = -inf for an extended id a row lacks."""
    B, V = logits.shape
    probs = np.zeros((B, width(ext, V)), logits.dtype)  # (B, V + X)
    probs[:, :V] = p_gen[:, None] * softmax(logits)
    np.add.at(probs, (np.arange(B)[:, None], ext), (1.0 - p_gen)[:, None] * weights)
    with np.errstate(divide="ignore"):
        return np.log(probs)


class CopyCache(NamedTuple):
    """What :meth:`CopyLoss.backward` needs from :meth:`CopyLoss.forward`."""

    outs: np.ndarray  # (T, B, H) h~_t
    w_out: np.ndarray  # (V, H)
    probs: np.ndarray  # (T, B, V) P_vocab
    p_gen: np.ndarray  # (T, B)
    hit: np.ndarray  # (T, B, S) bool, src_j = y_tb
    gold: np.ndarray  # (T, B) y clipped below V
    in_vocab: np.ndarray  # (T, B) y < V
    pv_gold: np.ndarray  # (T, B) P_vocab(y) [y < V]
    copied: np.ndarray  # (T, B) copy(y)
    g: np.ndarray  # (T, B) -mask / P(y)


class CopyLoss:
    """The output layer and loss of a copy model over all steps at once (see the module docstring); the
    counterpart of :class:`rnnkit.nn.linear_softmax.LinearCrossEntropy`."""

    def forward(self, outs: np.ndarray, w_out: np.ndarray, b_out: np.ndarray, tgt_out: np.ndarray,
                tgt_mask: np.ndarray, weights: np.ndarray, p_gen: np.ndarray,
                ext: np.ndarray) -> tuple[float, CopyCache]:
        """Summed -log P(y) where tgt_mask; outs (T, B, H), weights (T, B, S), p_gen (T, B), ext (B, S)."""
        V = w_out.shape[0]
        probs = softmax(outs @ w_out.T + b_out)  # (T, B, V)
        mask = np.asarray(tgt_mask, bool)
        in_vocab = tgt_out < V  # (T, B)
        gold = np.where(in_vocab, tgt_out, 0)
        pv_gold = np.take_along_axis(probs, gold[:, :, None], axis=2)[:, :, 0] * in_vocab  # (T, B)
        hit = ext[None, :, :] == tgt_out[:, :, None]  # (T, B, S)
        copied = (weights * hit).sum(axis=2)  # (T, B)
        lost = mask & ~in_vocab & ~hit.any(axis=2)
        if lost.any():
            t, b = (int(i[0]) for i in np.nonzero(lost))
            raise ValueError(f"Expected every extended target id (>= V = {V}) to occur in the source's extended "
                             f"ids, got tgt_out[{t}, {b}] = {int(tgt_out[t, b])} not in src_ext[:, {b}]")
        p = p_gen * pv_gold + (1.0 - p_gen) * copied  # (T, B)
        p_safe = np.where(mask, p, 1.0)
        loss = -float(np.log(p_safe).sum(dtype=np.float64))
        g = np.where(mask, -1.0 / p_safe, 0.0).astype(outs.dtype)  # (T, B)
        return loss, CopyCache(outs, w_out, probs, p_gen, hit, gold, in_vocab, pv_gold, copied, g)

    def backward(self, dloss: float, cache: CopyCache
                 ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """Returns (douts (T, B, H), {"weight": dW_o, "bias": db_o}, dweights (T, B, S), dz (T, B))."""
        outs, w_out, probs, p_gen, hit, gold, in_vocab, pv_gold, copied, g = cache
        g = g * outs.dtype.type(dloss)
        T, B, H = outs.shape
        r = g * p_gen * in_vocab  # (T, B): dL/dP_vocab(y)
        dlogits = probs * (-r * pv_gold)[:, :, None]  # (T, B, V): P_vocab(w) r ([w = y] - P_vocab(y))
        t_idx, b_idx = np.meshgrid(np.arange(T), np.arange(B), indexing="ij")
        dlogits[t_idx, b_idx, gold] += r * pv_gold
        douts = dlogits @ w_out  # (T, B, H)
        flat = dlogits.reshape(T * B, -1)
        grads = {"weight": flat.T @ outs.reshape(T * B, H), "bias": flat.sum(axis=0)}
        dweights = (g * (1.0 - p_gen))[:, :, None] * hit  # (T, B, S)
        dz = g * (pv_gold - copied) * p_gen * (1.0 - p_gen)  # (T, B)
        return douts, grads, dweights.astype(outs.dtype), dz


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
    check_vocab(source_vocab, "source_vocab")
    check_vocab(target_vocab, "target_vocab")
    out = []
    for p in pairs:
        ext, oovs = source_extension(p[0], target_vocab)
        out.append((source_vocab.encode(p[0]), target_extension(p[1], target_vocab, oovs), ext))
    return out


def ext_kwargs(batch: Any) -> dict[str, Any]:
    """A batch's ``src_ext`` as the keyword a copy model's ``forward`` and decoding take, none without copy
    (:class:`rnnkit.data.parallel.ParallelBatch`'s ``src_ext`` is None then)."""
    return {} if batch.src_ext is None else {"src_ext": batch.src_ext}


def decode_extended(ids: Sequence[int], target_vocab: Vocabulary, oovs: Sequence[str]) -> list[str]:
    """The tokens of output ids, an extended id V + k as the source's k-th word outside the target vocabulary."""
    V = len(target_vocab)
    return [oovs[int(i) - V] if int(i) >= V else target_vocab.decode([int(i)])[0] for i in ids]
