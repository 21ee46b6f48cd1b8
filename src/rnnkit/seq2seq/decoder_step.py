r"""The attentional decoder, one step at a time, shared by :class:`Seq2Seq` and :class:`VectorDecoder`.

One step t, for previous tokens y_{t-1} (B,), stacked cells of L layers and hidden size H::

    x_t  = [E y_{t-1} ; h~_{t-1}]          # (B, E + H) with input feeding, else E y_{t-1} (B, E)
    h_t  = cells(x_t, state_{t-1})         # (B, H), the top layer's output
    c_t  = attention(h_t, encoder states)  # (B, Hk), see :mod:`rnnkit.seq2seq.attention`
    h~_t = tanh(W_c [c_t ; h_t] + b_c)     # (B, H), Luong's attentional hidden state
    P(y_t | y_<t, x) = softmax(W_o h~_t + b_o)

With attention "none" there is no c_t and h~_t = tanh(W_c h_t + b_c), so input feeding still has a
meaning.  h~_{-1} = 0.  Dropout (training only) acts on the embeddings, between layers and on h~_t
(the dropped h~_t is both the output layer's input and the next step's feed).  With
``weight_drop = p`` a teacher-forced training pass draws one DropConnect mask M ~ Bernoulli(1-p) per
``decoder.weight_hh_l{k}`` and runs every step with W_hh * M / (1-p); W_hh's gradient is the masked
matrix's gradient times M / (1-p) (as in :mod:`rnnkit.recurrent`).

Backward of a step, from g = dL/dh~_t (the output layer's dh~ plus, with input feeding, the next
step's dfeed; dropout masks left out)::

    dz = g * (1 - h~_t^2)                     # through the tanh
    dW_c += dz^T [c_t ; h_t] ;  db_c += sum_b dz
    [dc_t ; dh_t] = dz W_c                    # split at Hk
    dh_t += dq                                # attention's query gradient, from dc_t
                                              # (dc_t also gives the encoder states' and attention's)
    dx_t = cells' backward of (dh_t, dstate_t)
    [dE y_{t-1} ; dfeed_{t-1}] = dx_t         # dfeed_{t-1} is added to step t-1's g

The cells are the single-direction kernels of :mod:`rnnkit.cells` called with T = 1, so the decoder
shares their verified backward; each step keeps the kernels' caches and the backward walks them in
reverse.  Parameters (dotted, PyTorch names inside): ``tgt_embedding.weight`` (V, E),
``decoder.weight_ih_l{k}`` (G*H, D_k), ``decoder.weight_hh_l{k}`` (G*H, H), ``decoder.bias_ih_l{k}``,
``decoder.bias_hh_l{k}``, ``attention.*``, ``combine.weight`` (H, Hk + H), ``combine.bias`` (H,),
``output.weight`` (V, H), ``output.bias`` (V,).  With ``peephole`` (LSTM only) each layer also has
``decoder.weight_ci_l{k}``, ``decoder.weight_cf_l{k}``, ``decoder.weight_co_l{k}`` (H,), and the cell is the
peephole kernel (:mod:`rnnkit.cells.lstm_peephole`).  With ``layer_norm`` each layer also has the LN gains and
shifts ``decoder.ln_*_l{k}`` of :func:`rnnkit.cells.layout.layer_shapes`, and the cell is the layer-normalized
kernel (:mod:`rnnkit.cells.elman_ln`, :mod:`rnnkit.cells.lstm_ln`, :mod:`rnnkit.cells.gru_ln`; with ``peephole``
too, :mod:`rnnkit.cells.lstm_ln_peephole`, the peepholes before the LN gains and shifts).  With ``copy`` (needs
attention) the output is the pointer-generator's mixture of :mod:`rnnkit.seq2seq.copy`, with its gate
``decoder.copy_gate.weight`` (1, Hk + H + E) and ``decoder.copy_gate.bias`` (1,).  With ``coverage`` (needs
additive attention) the carry holds cov_t = sum_{t' < t} a_{t'} (B, S), which the score reads through
``attention.w_cov`` (A,) (:mod:`rnnkit.seq2seq.coverage`); a step's backward then also gets dL/da_t from the
later steps and returns dL/dcov_t of its own score.

With ``tie_weights`` (Press & Wolf 2017; Inan et al. 2017) the output layer's weight is the target
embedding itself, W_o = E (V, E), which needs E == H; there is no ``output.weight``, and E's gradient
is the sum of its two uses, dE = (rows scattered from the fed ids) + dW_o (as in :mod:`rnnkit.lm.model`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rnnkit.cells import lstm_peephole
from rnnkit.cells.layout import WEIGHTS, init_param, kernel, layer_shapes
from rnnkit.data.parallel import BOS_ID, PAD_ID
from rnnkit.fielddoc import fields_in_doc
from rnnkit.nn.dropout import dropout_backward, dropout_forward
from rnnkit.nn.linear import linear_forward
from rnnkit.nn.softmax import log_softmax, softmax
from rnnkit.seq2seq import attention as att
from rnnkit.seq2seq import copy as cp
from rnnkit.seq2seq import coverage as cov

def _kernel(spec: DecoderSpec) -> Any:
    """The cell kernel of the decoder's layers: the peephole LSTM's with ``spec.peephole``, a layer-normalized
    cell's with ``spec.layer_norm``."""
    return kernel(spec.cell, spec.peephole, spec.layer_norm)


def _names(spec: DecoderSpec) -> tuple[str, ...]:
    """A layer's parameter names, in the kernel's argument order (four; seven with peepholes; with layer
    normalization the four and the LN gains and shifts)."""
    peepholes = lstm_peephole.PEEPHOLES if spec.peephole else ()
    return WEIGHTS + peepholes + (_kernel(spec).LN_PARAMS if spec.layer_norm else ())


@fields_in_doc
@dataclass(frozen=True)
class DecoderSpec:
    """The decoder's shape: cell, sizes, attention kind, input feeding and dropout rates."""

    cell: str  # rnn, lstm or gru
    vocab_size: int  # V
    embedding_dim: int  # E
    hidden_size: int  # H
    num_layers: int  # L
    attention: str  # none, additive, dot or general
    memory_size: int  # Hk, the size of one encoder state (0 without attention)
    attention_size: int  # A, additive only
    input_feeding: bool
    dropout: float
    weight_drop: float = 0.0  # DropConnect on every decoder.weight_hh_l{k}, one mask per teacher-forced pass
    tie_weights: bool = False  # the output layer's weight is tgt_embedding.weight (needs E == H)
    peephole: bool = False  # LSTM only: peephole connections (weight_ci, weight_cf, weight_co per layer)
    layer_norm: bool = False  # layer-normalized cells (LN gains and shifts ln_*_l{k} per layer)
    copy: bool = False  # copy attention (See et al. 2017): the output mixes P_vocab with the attention weights
    coverage: bool = False  # coverage (Tu et al. 2016): the additive score reads the attention's running sum


class Memory(NamedTuple):
    """The encoder states every decoder step attends over, made by :func:`make_memory`."""

    values: np.ndarray  # (B, S, Hk) encoder states, batch-major
    keys: np.ndarray  # (B, S, K) projected once per sentence
    mask: np.ndarray  # (B, S) bool, True at real source tokens
    ext: np.ndarray | None = None  # (B, S) the source tokens' extended target ids (copy attention only)


class Carry(NamedTuple):
    """What flows from one decoder step to the next: the per-layer state, h~_{t-1} and the memory."""

    state: tuple  # per layer: h (B, H), or (h, c) for LSTM
    feed: np.ndarray  # (B, H) h~_{t-1}
    memory: Memory | None
    coverage: np.ndarray | None = None  # (B, S) cov_t, the attention weights summed so far (coverage only)


def init_decoder_params(spec: DecoderSpec, rng: np.random.Generator, dtype: Any) -> dict[str, np.ndarray]:
    """Embedding N(0, 1) like ``nn.Embedding``; the recurrent weights and biases U(-1/sqrt(H), 1/sqrt(H))
    like ``nn.RNN/LSTM/GRU`` (H, not the fan-in: weight_ih_l0 reads E (+ H with input feeding) inputs);
    the attention's and the output layer's parameters as their own initialisers say."""
    V, E, H, L = spec.vocab_size, spec.embedding_dim, spec.hidden_size, spec.num_layers
    p = {"tgt_embedding.weight": rng.standard_normal((V, E)).astype(dtype)}
    b = 1.0 / np.sqrt(H)
    for k in range(L):
        D = E + (H if spec.input_feeding else 0) if k == 0 else H
        for name, shape in layer_shapes(spec.cell, D, H, spec.peephole, spec.layer_norm).items():
            p[f"decoder.{name}_l{k}"] = init_param(name, shape, b, rng, dtype)  # as rnnkit.recurrent's layers
    for k, v in att.init_attention_params(spec.attention, H, spec.memory_size, spec.attention_size,
                                          rng, dtype).items():
        p["attention." + k] = v
    Dc = H + (spec.memory_size if spec.attention != "none" else 0)
    p["combine.weight"] = rng.uniform(-1 / np.sqrt(Dc), 1 / np.sqrt(Dc), (H, Dc)).astype(dtype)
    p["combine.bias"] = rng.uniform(-1 / np.sqrt(Dc), 1 / np.sqrt(Dc), (H,)).astype(dtype)
    out_w = rng.uniform(-b, b, (V, H)).astype(dtype)  # drawn when tied too: the other parameters start the same
    if not spec.tie_weights:
        p["output.weight"] = out_w
    p["output.bias"] = rng.uniform(-b, b, (V,)).astype(dtype)
    if spec.copy:  # drawn last: the other parameters start as without copy
        p.update(cp.init_gate(spec.memory_size + H + E, rng, dtype))
    if spec.coverage:  # drawn after the gate: a copy model starts as without coverage
        p.update(cov.init_weight(spec.attention_size, rng, dtype))
    return p


def output_weight(params: dict[str, np.ndarray], spec: DecoderSpec) -> np.ndarray:
    """W_o (V, H): ``output.weight``, or with ``tie_weights`` the target embedding (V, E = H) itself."""
    return params["tgt_embedding.weight" if spec.tie_weights else "output.weight"]


def _attn(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k[len("attention."):]: v for k, v in params.items() if k.startswith("attention.")}


def make_memory(params: dict[str, np.ndarray], spec: DecoderSpec, enc_out: np.ndarray,
                lengths: np.ndarray) -> tuple[Memory, att.KeysCache]:
    """Encoder outputs (S, B, Hk) and lengths (B,) -> the memory every decoder step attends over."""
    S, B, _ = enc_out.shape
    values = np.ascontiguousarray(enc_out.transpose(1, 0, 2))  # (B, S, Hk)
    keys, kcache = att.project_keys(spec.attention, _attn(params), values)
    mask = np.arange(S)[None, :] < np.asarray(lengths)[:, None]  # (B, S)
    return Memory(values, keys, mask), kcache


def memory_backward(params: dict[str, np.ndarray], dvalues: np.ndarray, dkeys: np.ndarray,
                    kcache: att.KeysCache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sum of both paths into the encoder states; returns (denc_out (S, B, Hk), attention grads)."""
    dv_keys, g = att.project_keys_backward(dkeys, kcache, _attn(params))
    denc = (dvalues + dv_keys).transpose(1, 0, 2)  # (S, B, Hk)
    return np.ascontiguousarray(denc), {"attention." + k: v for k, v in g.items()}


class StepCache(NamedTuple):
    """What :func:`step_backward` needs from one :func:`step_forward`."""

    emb_drop: Any
    cells: list  # per layer: (input dropout cache or None, kernel cache)
    attn: att.AttentionCache | None
    comb_in: np.ndarray  # (B, Hk + H) or (B, H)
    h_tilde: np.ndarray  # (B, H) before dropout
    out_drop: Any
    gate_z: np.ndarray | None = None  # (B,) copy's gate pre-activation z (p_gen = sigmoid(z)), None without copy
    gate_in: np.ndarray | None = None  # (B, Hk + H + E) [c_t ; h_t ; x_t], the gate's input


def step_forward(params: dict[str, np.ndarray], spec: DecoderSpec, ids: np.ndarray, carry: Carry,
                 training: bool = False, rng: np.random.Generator | None = None
                 ) -> tuple[np.ndarray, np.ndarray | None, Carry, StepCache]:
    """One decoder step from ids (B,); returns (h~_t after dropout (B, H), attention weights (B, S)
    or None, the next carry, cache)."""
    p = params
    e = np.take(p["tgt_embedding.weight"], ids, axis=0)  # (B, E)
    e, emb_drop = dropout_forward(e, spec.dropout, rng, training)
    x = np.concatenate([e, carry.feed], axis=1) if spec.input_feeding else e  # (B, D_0)
    kernel, names = _kernel(spec), _names(spec)
    state, cells = [], []
    for k in range(spec.num_layers):
        drop = None
        if k > 0:
            x, drop = dropout_forward(x, spec.dropout, rng, training)
        w = [p[f"decoder.{n}_l{k}"] for n in names]
        out, st, kc = kernel.forward(x[None], carry.state[k], *w)  # out (1, B, H)
        state.append(st)
        cells.append((drop, kc))
        x = out[0]
    h = x  # (B, H)
    acache = weights = None
    if spec.attention != "none":
        mem = carry.memory
        coverage = carry.coverage
        if spec.coverage and coverage is None:  # cov_0 = 0
            coverage = np.zeros(mem.mask.shape, mem.values.dtype)  # (B, S)
        context, weights, acache = att.attention_forward(spec.attention, _attn(p), h, mem.values, mem.keys,
                                                         mem.mask, coverage)
        comb_in = np.concatenate([context, h], axis=1)  # (B, Hk + H)
    else:
        comb_in = h
    z, _ = linear_forward(comb_in, p["combine.weight"], p["combine.bias"])  # (B, H)
    h_tilde = np.tanh(z)
    out, out_drop = dropout_forward(h_tilde, spec.dropout, rng, training)
    nxt = Carry(tuple(state), out, carry.memory, None if acache is None or acache.coverage is None
                else acache.coverage + weights)  # cov_{t+1} = cov_t + a_t
    gate_z = gate_in = None
    if spec.copy:
        gate_z, gate_in = cp.gate_forward(p, comb_in[:, :spec.memory_size], h, e)  # (B,), (B, Hk + H + E)
    return out, weights, nxt, StepCache(emb_drop, cells, acache, comb_in, h_tilde, out_drop, gate_z, gate_in)


def step_backward(params: dict[str, np.ndarray], spec: DecoderSpec, dout: np.ndarray, dstate: list,
                  cache: StepCache, grads: dict[str, np.ndarray], dmem: list[np.ndarray] | None,
                  dgate: np.ndarray | None = None, dweights: np.ndarray | None = None,
                  dlog_weights: np.ndarray | None = None
                  ) -> tuple[np.ndarray | None, list, np.ndarray, np.ndarray | None]:
    """Backward of one step.  dout (B, H) is dL/d(output of the step), dstate dL/d(state_t) per layer
    (None entries for zero); dgate (copy only) dL/dz of the copy gate (B,); dweights dL/da_t (B, S) from
    anywhere but the context (coverage), dlog_weights dL/dlog a_t (B, S) (copy's mixture).  Adds parameter
    gradients into ``grads`` and the encoder-state gradients into ``dmem = [dvalues, dkeys]``.  Returns
    (dfeed_{t-1} or None, dstate_{t-1}, demb (B, E), dL/dcov_t through this step's score (B, S) or None without
    coverage)."""
    p = params
    dh_t, _ = dropout_backward(dout, cache.out_drop)
    dz = dh_t * (1.0 - cache.h_tilde * cache.h_tilde)  # tanh'
    grads["combine.weight"] += dz.T @ cache.comb_in
    grads["combine.bias"] += dz.sum(axis=0)
    dcomb = dz @ p["combine.weight"]  # (B, Hk + H) or (B, H)
    Hk, dcov = spec.memory_size, None
    if dgate is not None:  # the gate read [c_t ; h_t ; x_t]: its gradients join theirs
        dgate = cp.gate_backward(dgate, cache.gate_in, p, grads)  # (B, Hk + H + E)
        dcomb = dcomb + dgate[:, :dcomb.shape[1]]
    if cache.attn is not None:
        dh = dcomb[:, Hk:]
        dq, dvalues, dkeys, ga = att.attention_backward(dcomb[:, :Hk], cache.attn, _attn(p), dweights,
                                                        dlog_weights)
        dh = dh + dq
        dmem[0] += dvalues
        dmem[1] += dkeys
        for k, v in ga.items():
            grads["attention." + k] += v
        if cache.attn.coverage is not None:  # additive: dkeys is dp, the tanh input's gradient
            dcov, dw = cov.score_backward(dkeys, cache.attn.coverage, p[cov.NAME])
            grads[cov.NAME] += dw
    else:
        dh = dcomb
    kernel, names = _kernel(spec), _names(spec)
    dprev = [None] * spec.num_layers
    for k in range(spec.num_layers - 1, -1, -1):
        drop, kc = cache.cells[k]
        dx, ds0, wg = kernel.backward(dh[None], dstate[k], kc)
        dprev[k] = ds0
        for n, g in zip(names, wg):
            grads[f"decoder.{n}_l{k}"] += g
        dh = dx[0]
        if drop is not None:
            dh, _ = dropout_backward(dh, drop)
    E = spec.embedding_dim
    de = dh[:, :E] if dgate is None else dh[:, :E] + dgate[:, -E:]
    demb, _ = dropout_backward(np.ascontiguousarray(de), cache.emb_drop)
    dfeed = dh[:, E:] if spec.input_feeding else None
    return dfeed, dprev, demb, dcov


def log_probs(params: dict[str, np.ndarray], spec: DecoderSpec, out: np.ndarray) -> np.ndarray:
    """log P(y_t | ...) (B, V) from the step's output h~_t (B, H)."""
    return log_softmax(out @ output_weight(params, spec).T + params["output.bias"])


NEVER_FED = (PAD_ID, BOS_ID)  # the same ids in every vocabulary rnnkit builds (data.parallel, seq2seq.toy)


def _sample(params: dict[str, np.ndarray], spec: DecoderSpec, out: np.ndarray, rng: np.random.Generator,
            step: StepCache | None = None, ext: np.ndarray | None = None) -> np.ndarray:
    """One token per row (B,) drawn from the model's own output distribution at the step that made ``out``
    (B, H), by inverting the CDF: softmax(W_o out + b_o), or with copy (``step`` that step's cache, ``ext`` (B, S)
    the source's extended ids) the pointer-generator's mixture P(w) over the extended vocabulary V + X
    (:func:`rnnkit.seq2seq.copy.mixture_log_probs`), so the id drawn may be an extended one, which the decoder
    reads as <unk> (:func:`rnnkit.seq2seq.copy.fed_ids`).  <pad> and <bos>, which decoding never generates
    (rnnkit.seq2seq.decode), are not drawn either: the distribution is renormalised over the other tokens."""
    logits = out @ output_weight(params, spec).T + params["output.bias"]  # (B, V)
    if spec.copy:  # (B, V + X); exp(-inf) = 0 for an extended id the row's source lacks
        probs = np.exp(cp.mixture_log_probs(logits, step.gate_z, step.attn.log_weights, ext))
    else:
        probs = softmax(logits)  # (B, V)
    probs[:, NEVER_FED] = 0.0
    probs /= probs.sum(axis=1, keepdims=True)
    cdf = np.cumsum(probs, axis=1)
    r = rng.random((probs.shape[0], 1))
    return np.minimum((cdf < r).sum(axis=1), probs.shape[1] - 1)


def take(carry: Carry, idx: np.ndarray) -> Carry:
    """The carry of the batch rows ``idx`` (for beam search: expand, reorder, prune)."""
    state = tuple(tuple(s[idx] for s in st) if isinstance(st, tuple) else st[idx] for st in carry.state)
    mem = carry.memory
    if mem is not None:
        mem = Memory(mem.values[idx], mem.keys[idx], mem.mask[idx], None if mem.ext is None else mem.ext[idx])
    return Carry(state, carry.feed[idx], mem, None if carry.coverage is None else carry.coverage[idx])
