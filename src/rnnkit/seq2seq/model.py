r"""Encoder-decoder models: :class:`Seq2Seq` (a (bi)RNN encoder with attention) and
:class:`VectorDecoder` (a decoder started from any fixed feature vector: the captioning shape).

Seq2Seq, for a source x (S, B) of lengths n_b and a target y (T, B)::

    s_1..s_S, (h_S, c_S) = Encoder(E_src x)         # s_j (B, Hk), Hk = dirs * H_enc, zero at padding
    h_0 = tanh(W_b [h_S^fwd ; h_S^bwd] + b_b)       # the bridge, one (L*H, Hk) map for all L layers
    c_0 = tanh(W_bc [c_S^fwd ; c_S^bwd] + b_bc)     # LSTM only: the cell state has its own bridge
    loss = - sum_{t,b} mask_tb log P(y_tb | y_<t, x)   # decoder: see rnnkit.seq2seq.decoder_step

The encoder's final state is its top layer's, each direction at its own last real token (the
reverse direction ends at position 0).  VectorDecoder replaces the encoder by a feature vector
f (B, F): h_0 = tanh(W_b f + b_b) (and c_0 = tanh(W_bc f + b_bc)), without attention.

Parameters are one flat dict: ``src_embedding.weight`` (V_src, E_src), ``encoder.*`` (PyTorch's
``nn.LSTM`` names), ``bridge.weight`` (L*H, Hk), ``bridge.bias``, ``bridge_c.*`` (LSTM), and the
decoder's (``tgt_embedding.weight``, ``decoder.*``, ``attention.*``, ``combine.*``, ``output.*``).
With ``tie_weights`` the output layer's weight is ``tgt_embedding.weight`` (needs tgt_embedding_dim ==
decoder_hidden_size): there is no ``output.weight``, and a checkpoint holds the one matrix.
With ``weight_drop = p`` training applies DropConnect to every recurrent matrix, the encoder's (see
:mod:`rnnkit.recurrent`) and the decoder's (see :mod:`rnnkit.seq2seq.decoder_step`): one mask per
forward call, W_hh * M / (1-p) at every step.
``forward`` returns (summed loss, cache); ``backward(dloss, cache)`` the gradients of dloss * loss.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checks import check_bool, check_dtype_name, check_int, check_rate, check_rng
from rnnkit.fielddoc import fields_in_doc
from rnnkit.nn.dropout import dropout_backward, dropout_forward
from rnnkit.nn.embedding import embedding_backward, embedding_forward
from rnnkit.nn.linear_softmax import LinearCrossEntropy
from rnnkit.recurrent import make_recurrent
from rnnkit.seq2seq import decoder_step as ds
from rnnkit.seq2seq.attention import KINDS


def _check_common(cfg: Any, ints: tuple[str, ...], bools: tuple[str, ...]) -> None:
    for name in bools:  # stored as Python bools: the checkpoint's JSON metadata holds them
        object.__setattr__(cfg, name, check_bool(name, getattr(cfg, name)))
    for name in ints:
        check_int(name, getattr(cfg, name), 1)
    if cfg.cell not in ds.KERNELS:
        raise ValueError(f"Expected cell 'rnn', 'lstm' or 'gru', got {cfg.cell!r}")
    for name in ("dropout", "weight_drop"):
        check_rate(name, getattr(cfg, name))
    object.__setattr__(cfg, "dtype", check_dtype_name("dtype", cfg.dtype))  # np.float64 too, kept as its name


@fields_in_doc
@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes, cell, attention and dropout of a :class:`Seq2Seq`."""

    src_vocab_size: int  # V_src
    tgt_vocab_size: int  # V
    cell: str = "lstm"  # rnn (tanh), lstm or gru, for encoder and decoder
    src_embedding_dim: int = 64
    tgt_embedding_dim: int = 64  # E
    encoder_hidden_size: int = 128  # H_enc, per direction
    decoder_hidden_size: int = 128  # H
    encoder_layers: int = 1
    decoder_layers: int = 1  # L
    bidirectional: bool = True  # encoder only
    attention: str = "general"  # none, additive (Bahdanau's score, Luong's placement), dot or general (Luong)
    attention_size: int = 128  # A, additive only
    input_feeding: bool = True  # feed h~_{t-1} into the decoder's first layer
    dropout: float = 0.0  # embeddings, between layers, on h~
    dtype: str = "float32"
    weight_drop: float = 0.0  # DropConnect on the encoder's and the decoder's W_hh, one mask per batch
    tie_weights: bool = False  # output.weight is tgt_embedding.weight (Press & Wolf 2017; needs E == H)

    def __post_init__(self) -> None:
        _check_common(self, ("src_vocab_size", "tgt_vocab_size", "src_embedding_dim", "tgt_embedding_dim",
                             "encoder_hidden_size", "decoder_hidden_size", "encoder_layers", "decoder_layers",
                             "attention_size"), ("bidirectional", "input_feeding", "tie_weights"))
        if self.tie_weights and self.tgt_embedding_dim != self.decoder_hidden_size:
            # the output layer reads h~_t (B, H): its (V, H) weight can be the (V, E) target embedding only if E == H
            raise ValueError(f"Expected tgt_embedding_dim == decoder_hidden_size to tie the output layer to the target "
                             f"embedding, got tgt_embedding_dim={self.tgt_embedding_dim} and decoder_hidden_size="
                             f"{self.decoder_hidden_size}: make them equal or set tie_weights=False")
        if self.attention not in KINDS:
            raise ValueError(f"Expected attention one of {KINDS}, got {self.attention!r}")
        hk = self.encoder_hidden_size * (2 if self.bidirectional else 1)
        if self.attention == "dot" and hk != self.decoder_hidden_size:
            raise ValueError(f"Expected decoder_hidden_size == {hk} (dirs * encoder_hidden_size) for dot "
                             f"attention, got {self.decoder_hidden_size}")

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict of its fields."""
        return asdict(self)


@fields_in_doc
@dataclass(frozen=True)
class VectorDecoderConfig:
    """Sizes, cell and dropout of a :class:`VectorDecoder`."""

    feature_size: int  # F
    tgt_vocab_size: int  # V
    cell: str = "gru"
    embedding_dim: int = 32  # E
    hidden_size: int = 64  # H
    num_layers: int = 1  # L
    input_feeding: bool = False
    dropout: float = 0.0
    dtype: str = "float32"
    weight_drop: float = 0.0  # DropConnect on the decoder's W_hh, one mask per batch

    def __post_init__(self) -> None:
        _check_common(self, ("feature_size", "tgt_vocab_size", "embedding_dim", "hidden_size", "num_layers"),
                      ("input_feeding",))

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict of its fields."""
        return asdict(self)


def _ids(name: str, a: Any, ndim: int, vocab: int | None = None) -> np.ndarray:
    if not (isinstance(a, np.ndarray) and a.dtype.kind in "iu" and a.ndim == ndim):
        got = f"{a.dtype} array of shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise TypeError(f"Expected {name} as a {ndim}-D integer array, got {got}")
    if vocab is not None and a.size and (a.min() < 0 or a.max() >= vocab):
        raise ValueError(f"Expected {name} ids in [0, {vocab}), got values in [{a.min()}, {a.max()}]")
    return a


def _check_targets(tgt_in: Any, tgt_out: Any, tgt_mask: Any, B: int, V: int) -> None:
    _ids("tgt_in", tgt_in, 2, V)
    _ids("tgt_out", tgt_out, 2)
    if tgt_in.shape[1] != B or tgt_out.shape != tgt_in.shape:
        raise ValueError(f"Expected tgt_in and tgt_out of shape (T, B={B}), got {tgt_in.shape} and {tgt_out.shape}")
    if not isinstance(tgt_mask, np.ndarray) or tgt_mask.shape != tgt_in.shape:
        raise ValueError(f"Expected tgt_mask of shape (T, B) = {tgt_in.shape}, got {getattr(tgt_mask, 'shape', None)}")


class _BridgeCache(NamedTuple):
    src: tuple  # inputs: (B, F) for h, and for c (LSTM)
    out: tuple  # tanh outputs (B, L*H)


def _bridge_forward(params: dict[str, np.ndarray], cell: str, L: int, src_h: np.ndarray,
                    src_c: np.ndarray | None) -> tuple[tuple, _BridgeCache]:
    """Initial decoder state per layer from bridge inputs (B, F); h = tanh(W_b s + b_b)."""
    B = src_h.shape[0]
    outs = []
    srcs = (src_h,) if cell != "lstm" else (src_h, src_c)
    for name, s in zip(("bridge", "bridge_c"), srcs):
        outs.append(np.tanh(s @ params[name + ".weight"].T + params[name + ".bias"]))  # (B, L*H)
    per = [o.reshape(B, L, -1) for o in outs]  # (B, L, H)
    state = tuple(tuple(p[:, k] for p in per) if cell == "lstm" else per[0][:, k] for k in range(L))
    return state, _BridgeCache(srcs, tuple(outs))


def _bridge_backward(params: dict[str, np.ndarray], dstate: list, cache: _BridgeCache,
                     grads: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Adds the bridge's gradients into grads; returns dL/d(bridge inputs) (B, F) for h (and c)."""
    dsrc = []
    for i, (name, s, out) in enumerate(zip(("bridge", "bridge_c"), cache.src, cache.out)):
        parts = [d[i] if isinstance(d, tuple) else d for d in dstate]  # L of (B, H)
        dz = np.concatenate(parts, axis=1) * (1.0 - out * out)  # (B, L*H), tanh'
        grads[name + ".weight"] = dz.T @ s
        grads[name + ".bias"] = dz.sum(axis=0)
        dsrc.append(dz @ params[name + ".weight"])
    return dsrc


def _init_bridge(params: dict, cell: str, out_size: int, in_size: int, rng: np.random.Generator, dtype: Any) -> None:
    bound = 1.0 / np.sqrt(in_size)
    for name in ("bridge", "bridge_c") if cell == "lstm" else ("bridge",):
        params[name + ".weight"] = rng.uniform(-bound, bound, (out_size, in_size)).astype(dtype)
        params[name + ".bias"] = rng.uniform(-bound, bound, (out_size,)).astype(dtype)


class _EncoderCache(NamedTuple):
    emb: Any
    drop: Any
    encoder: Any
    bridge: _BridgeCache
    keys: Any  # the attention's key projection, None without attention


def _carry_batch(carry: Any) -> int:
    """The batch size B of a decoder carry (what ``encode`` returns)."""
    if not isinstance(carry, ds.Carry):
        raise TypeError(f"Expected carry to be a Carry (from the model's encode), got {type(carry).__name__}")
    return carry.feed.shape[0]


def _check_model_args(config: Any, kind: type, rng: Any) -> None:
    if not isinstance(config, kind):
        hint = f" (for a dict d, pass {kind.__name__}(**d))" if isinstance(config, Mapping) else ""
        raise TypeError(f"Expected config to be a {kind.__name__}{hint}, got {type(config).__name__}")
    check_rng(rng)


class _DecoderModel:
    """What both models share: the decoder's parameters, decoding steps, weight loading."""

    params: dict[str, np.ndarray]
    spec: ds.DecoderSpec

    def decode_step(self, ids: np.ndarray, carry: ds.Carry) -> tuple[np.ndarray, np.ndarray | None, ds.Carry]:
        """Feed ids (B,); return (log P(next) (B, V), attention weights (B, S) or None, next carry)."""
        ids = _ids("ids", np.asarray(ids), 1, self.spec.vocab_size)
        B = _carry_batch(carry)
        if ids.shape[0] != B:
            raise ValueError(f"Expected ids of the carry's batch size {B}, shape ({B},), got batch size {ids.shape[0]}")
        out, weights, carry, _ = ds.step_forward(self.params, self.spec, ids, carry)
        return ds.log_probs(self.params, self.spec, out), weights, carry

    def select(self, carry: ds.Carry, idx: np.ndarray) -> ds.Carry:
        """The carry of batch rows ``idx`` (beam search expands and reorders hypotheses with it)."""
        B = _carry_batch(carry)
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise TypeError(f"Expected idx as a 1-D integer array of rows, got {idx.dtype} array of shape {idx.shape}")
        # negative rows too: numpy would take them from the end without a word
        if idx.size and (idx.min() < 0 or idx.max() >= B):
            raise ValueError(f"Expected rows idx in [0, {B}) (the carry's batch size), got {idx.tolist()[:20]}")
        return ds.take(carry, idx)

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters in place, checking names and shapes."""
        ckpt.copy_into(self.params, arrays, "the encoder-decoder's")

    def _carry(self, state: tuple, B: int, memory: ds.Memory | None) -> ds.Carry:
        return ds.Carry(state, np.zeros((B, self.spec.hidden_size), np.dtype(self.config.dtype)), memory)


class Seq2Seq(_DecoderModel):
    """Encoder-decoder with attention and input feeding; see the module docstring."""

    def __init__(self, config: Seq2SeqConfig, rng: np.random.Generator) -> None:
        _check_model_args(config, Seq2SeqConfig, rng)
        cfg = config
        self.config = cfg
        self._output = LinearCrossEntropy()  # output layer and loss, with its buffer kept between steps
        dtype = np.dtype(cfg.dtype)
        self.encoder = make_recurrent({"cell": cfg.cell, "input_size": cfg.src_embedding_dim,
                                       "hidden_size": cfg.encoder_hidden_size, "num_layers": cfg.encoder_layers,
                                       "bidirectional": cfg.bidirectional,
                                       "dropout": cfg.dropout if cfg.encoder_layers > 1 else 0.0,  # between layers
                                       "weight_drop": cfg.weight_drop, "dtype": cfg.dtype}, rng=rng)
        self.dirs = 2 if cfg.bidirectional else 1
        hk = self.dirs * cfg.encoder_hidden_size
        self.spec = ds.DecoderSpec(cfg.cell, cfg.tgt_vocab_size, cfg.tgt_embedding_dim, cfg.decoder_hidden_size,
                                   cfg.decoder_layers, cfg.attention, hk if cfg.attention != "none" else 0,
                                   cfg.attention_size, cfg.input_feeding, cfg.dropout, cfg.weight_drop,
                                   cfg.tie_weights)
        p = {"src_embedding.weight": rng.standard_normal((cfg.src_vocab_size, cfg.src_embedding_dim)).astype(dtype)}
        for k, v in self.encoder.params.items():
            p["encoder." + k] = v  # the same arrays: in-place updates reach the layer
        _init_bridge(p, cfg.cell, cfg.decoder_layers * cfg.decoder_hidden_size, hk, rng, dtype)
        p.update(ds.init_decoder_params(self.spec, rng, dtype))
        self.params = p

    def _encode(self, src: np.ndarray, src_lengths: np.ndarray, training: bool,
                rng: Any) -> tuple[ds.Carry, _EncoderCache]:
        cfg = self.config
        S, B = _ids("src", src, 2, cfg.src_vocab_size).shape
        lengths = _ids("src_lengths", np.asarray(src_lengths), 1)
        if lengths.shape != (B,) or lengths.min() < 1 or lengths.max() > S:
            raise ValueError(f"Expected src_lengths of shape ({B},) with values in [1, S={S}], got {lengths}")
        emb, c_emb = embedding_forward(src, self.params["src_embedding.weight"])  # (S, B, E_src)
        emb, c_drop = dropout_forward(emb, cfg.dropout, rng, training)
        enc_out, enc_state, c_enc = self.encoder.forward(emb, lengths=lengths, training=training, rng=rng)
        top = slice((cfg.encoder_layers - 1) * self.dirs, cfg.encoder_layers * self.dirs)
        parts = enc_state if cfg.cell == "lstm" else (enc_state,)
        srcs = [np.concatenate(list(s[top]), axis=1) for s in parts]  # (B, Hk) for h (and c)
        state, c_bridge = _bridge_forward(self.params, cfg.cell, cfg.decoder_layers, srcs[0], srcs[-1])
        memory = c_keys = None
        if cfg.attention != "none":
            memory, c_keys = ds.make_memory(self.params, self.spec, enc_out, lengths)
        return self._carry(state, B, memory), _EncoderCache(c_emb, c_drop, c_enc, c_bridge, c_keys)

    def forward(self, src: np.ndarray, src_lengths: np.ndarray, tgt_in: np.ndarray, tgt_out: np.ndarray,
                tgt_mask: np.ndarray, training: bool = False, rng: np.random.Generator | None = None,
                sampling_rate: float = 0.0) -> tuple[float, tuple]:
        """Summed NLL of tgt_out (T, B) where tgt_mask, with teacher forcing; returns (loss, cache).

        ``src`` (S, B) source ids, time-major, padded after each sentence's ``src_lengths`` (B,) tokens;
        ``tgt_in`` (T, B) the decoder's inputs (BOS y_1 .. y_m, then PAD) and ``tgt_out`` (T, B) the tokens to
        predict (y_1 .. y_m EOS, then PAD), ``tgt_mask`` (T, B) bool, True at real target positions
        (:func:`rnnkit.data.parallel.make_batches` builds all of them).  ``training=True`` switches on
        dropout and weight drop (drawn from ``rng``) and allows scheduled sampling: ``sampling_rate`` in
        [0, 1] (needs ``rng``).  Without training ``sampling_rate`` must be 0: an evaluation loss is
        always the teacher-forced one."""
        B = _ids("src", src, 2, self.config.src_vocab_size).shape[1]
        _check_targets(tgt_in, tgt_out, tgt_mask, B, self.config.tgt_vocab_size)
        carry, enc = self._encode(src, src_lengths, training, rng)
        loss, c_dec = ds.teacher_forced_forward(self.params, self.spec, carry, tgt_in, tgt_out, tgt_mask,
                                                training, rng, sampling_rate, self._output)
        return loss, (enc, c_dec)

    def backward(self, dloss: float, cache: tuple) -> dict[str, np.ndarray]:
        """Gradients of dloss * loss for every parameter, keyed like ``params``."""
        cfg = self.config
        (c_emb, c_drop, c_enc, c_bridge, c_keys), c_dec = cache
        dstate0, dmem, grads = ds.teacher_forced_backward(self.params, self.spec, dloss, c_dec)
        dsrc = _bridge_backward(self.params, dstate0, c_bridge, grads)
        denc_out = None
        if dmem is not None:
            denc_out, g = ds.memory_backward(self.params, dmem[0], dmem[1], c_keys)
            grads.update(g)
        H = cfg.encoder_hidden_size
        first = (cfg.encoder_layers - 1) * self.dirs
        dfinal = []
        for d in dsrc:  # (B, dirs*H) -> zeros for the lower layers, the top layer's directions
            full = np.zeros((cfg.encoder_layers * self.dirs, d.shape[0], H), d.dtype)
            for i in range(self.dirs):
                full[first + i] = d[:, i * H:(i + 1) * H]
            dfinal.append(full)
        dstate = tuple(dfinal) if cfg.cell == "lstm" else dfinal[0]
        demb, _, genc = self.encoder.backward(denc_out, dstate, c_enc)
        demb, _ = dropout_backward(demb, c_drop)
        _, ge = embedding_backward(demb, c_emb)
        grads["src_embedding.weight"] = ge["weight"]
        for k, v in genc.items():
            grads["encoder." + k] = v
        return grads

    def encode(self, src: np.ndarray, src_lengths: np.ndarray) -> ds.Carry:
        """The decoder's starting carry for a source batch, src (S, B) ids with src_lengths (B,) (inference:
        no dropout, no caches kept): what :mod:`rnnkit.seq2seq.decode` starts from."""
        return self._encode(src, src_lengths, False, None)[0]

    def attention_weights(self, src: np.ndarray, src_lengths: np.ndarray, tgt_in: np.ndarray) -> np.ndarray:
        """Teacher-forced attention weights (T, B, S) for plotting; rows sum to 1 over real positions."""
        if self.config.attention == "none":
            raise ValueError("Expected a model with attention for attention_weights, got attention='none'")
        carry = self.encode(src, src_lengths)
        rows = []
        for t in range(_ids("tgt_in", tgt_in, 2).shape[0]):
            _, w, carry, _ = ds.step_forward(self.params, self.spec, tgt_in[t], carry)
            rows.append(w)
        return np.stack(rows)


class VectorDecoder(_DecoderModel):
    """A decoder conditioned on a feature vector f (B, F) through the bridge; no attention."""

    def __init__(self, config: VectorDecoderConfig, rng: np.random.Generator) -> None:
        _check_model_args(config, VectorDecoderConfig, rng)
        cfg = config
        self.config = cfg
        self._output = LinearCrossEntropy()  # output layer and loss, with its buffer kept between steps
        dtype = np.dtype(cfg.dtype)
        self.spec = ds.DecoderSpec(cfg.cell, cfg.tgt_vocab_size, cfg.embedding_dim, cfg.hidden_size,
                                   cfg.num_layers, "none", 0, 1, cfg.input_feeding, cfg.dropout, cfg.weight_drop)
        p: dict[str, np.ndarray] = {}
        _init_bridge(p, cfg.cell, cfg.num_layers * cfg.hidden_size, cfg.feature_size, rng, dtype)
        p.update(ds.init_decoder_params(self.spec, rng, dtype))
        self.params = p

    def _features(self, features: Any) -> np.ndarray:
        F = self.config.feature_size
        if not (isinstance(features, np.ndarray) and features.ndim == 2 and features.shape[1] == F):
            raise ValueError(f"Expected features of shape (B, F={F}), got {getattr(features, 'shape', None)}")
        if features.dtype != np.dtype(self.config.dtype):
            raise TypeError(f"Expected features of dtype {self.config.dtype}, got {features.dtype}")
        return features

    def encode(self, features: np.ndarray, lengths: None = None) -> ds.Carry:
        """The decoder's starting carry for features (B, F); ``lengths`` exists for the decoding
        functions' common signature and must be None."""
        if lengths is not None:
            raise ValueError("Expected lengths=None for a VectorDecoder (features have no length), got an array")
        f = self._features(features)
        state, _ = _bridge_forward(self.params, self.config.cell, self.config.num_layers, f, f)
        return self._carry(state, f.shape[0], None)

    def forward(self, features: np.ndarray, tgt_in: np.ndarray, tgt_out: np.ndarray, tgt_mask: np.ndarray,
                training: bool = False, rng: np.random.Generator | None = None,
                sampling_rate: float = 0.0) -> tuple[float, tuple]:
        """Summed NLL of tgt_out (T, B) where tgt_mask, with teacher forcing; returns (loss, cache).

        ``training=True`` switches on dropout and weight drop (drawn from ``rng``) and allows scheduled
        sampling: ``sampling_rate`` in [0, 1] (needs ``rng``).  Without training ``sampling_rate`` must
        be 0: an evaluation loss is always the teacher-forced one."""
        f = self._features(features)
        _check_targets(tgt_in, tgt_out, tgt_mask, f.shape[0], self.config.tgt_vocab_size)
        state, c_bridge = _bridge_forward(self.params, self.config.cell, self.config.num_layers, f, f)
        loss, c_dec = ds.teacher_forced_forward(self.params, self.spec, self._carry(state, f.shape[0], None),
                                                tgt_in, tgt_out, tgt_mask, training, rng, sampling_rate,
                                                self._output)
        return loss, (c_bridge, c_dec)

    def backward(self, dloss: float, cache: tuple) -> dict[str, np.ndarray]:
        """Gradients of dloss * loss for every parameter, keyed like ``params``."""
        c_bridge, c_dec = cache
        dstate0, _, grads = ds.teacher_forced_backward(self.params, self.spec, dloss, c_dec)
        _bridge_backward(self.params, dstate0, c_bridge, grads)
        return grads
