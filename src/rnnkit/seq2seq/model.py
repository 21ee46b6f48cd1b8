r"""Encoder-decoder models: :class:`Seq2Seq` (a (bi)RNN encoder with attention) and
:class:`VectorDecoder` (a decoder started from any fixed feature vector: the captioning shape).

Seq2Seq, for a source x (S, B) of lengths n_b and a target y (T, B)::

    s_1..s_S, (h_S, c_S) = Encoder(E_src x)         # s_j (B, Hk), Hk = dirs * H_enc, zero at padding
    h_0 = tanh(W_b [h_S^fwd ; h_S^bwd] + b_b)       # the bridge, one (L*H, Hk) map for all L layers
    c_0 = tanh(W_bc [c_S^fwd ; c_S^bwd] + b_bc)     # LSTM only: the cell state has its own bridge
    loss = - sum_{t,b} mask_tb log P(y_tb | y_<t, x)   # decoder: see rnnkit.seq2seq.decoder_step

The encoder's final state is its top layer's, each direction at its own last real token (the
reverse direction ends at position 0).  With ``residual`` the encoder's layers from the second on add
their input to their output (:mod:`rnnkit.recurrent`); the states s_j then hold it, the final state
(the top layer's cells') does not; the decoder's stack has no residual connections.

VectorDecoder (:mod:`rnnkit.seq2seq.vector_decoder`) replaces the encoder by a feature vector f (B, F):
h_0 = tanh(W_b f + b_b) (and c_0 = tanh(W_bc f + b_bc)), without attention.  The configs are in
:mod:`rnnkit.seq2seq.config`, the bridge in :mod:`rnnkit.seq2seq.bridge`; this module re-exports both
configs and VectorDecoder.

Parameters are one flat dict: ``src_embedding.weight`` (V_src, E_src), ``encoder.*`` (PyTorch's
``nn.LSTM`` names), ``bridge.weight`` (L*H, Hk), ``bridge.bias``, ``bridge_c.*`` (LSTM), and the
decoder's (``tgt_embedding.weight``, ``decoder.*``, ``attention.*``, ``combine.*``, ``output.*``).
With ``tie_weights`` the output layer's weight is ``tgt_embedding.weight`` (needs tgt_embedding_dim ==
decoder_hidden_size): there is no ``output.weight``, and a checkpoint holds the one matrix.
With ``weight_drop = p`` training applies DropConnect to every recurrent matrix, the encoder's (see
:mod:`rnnkit.recurrent`) and the decoder's (see :mod:`rnnkit.seq2seq.decoder_step`): one mask per
forward call, W_hh * M / (1-p) at every step.  With ``peephole`` (LSTM) the encoder's and the decoder's layers
are peephole LSTMs (:mod:`rnnkit.cells.lstm_peephole`), with ``encoder.weight_ci_l{k}`` ... and
``decoder.weight_ci_l{k}`` ... (H,).  With ``layer_norm`` both are layer-normalized (:mod:`rnnkit.cells.elman_ln`,
:mod:`rnnkit.cells.lstm_ln`, :mod:`rnnkit.cells.gru_ln`; the LSTM with ``peephole`` too
:mod:`rnnkit.cells.lstm_ln_peephole`), with ``encoder.ln_*_l{k}`` and ``decoder.ln_*_l{k}`` gains (starting at 1)
and shifts (at 0).  With ``copy`` the decoder's output is the pointer-generator's mixture
(:mod:`rnnkit.seq2seq.copy`): ``forward``, ``encode`` and decoding then take ``src_ext`` (S, B), the source
tokens' extended target ids, and ``tgt_out`` may hold extended ids (>= V; ``tgt_in``'s are read as ``<unk>``).
With ``coverage`` (additive attention) the score reads the attention's running sum (:mod:`rnnkit.seq2seq.coverage`,
``attention.w_cov``), and ``forward(..., coverage_loss=lambda)`` adds See et al.'s coverage loss.
``forward`` returns (summed loss, cache); ``backward(dloss, cache)`` the gradients of dloss * loss.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnkit.nn.dropout import dropout_backward, dropout_forward
from rnnkit.nn.embedding import embedding_backward, embedding_forward
from rnnkit.recurrent import make_recurrent
from rnnkit.seq2seq import copy as cp
from rnnkit.seq2seq import decoder_step as ds
from rnnkit.seq2seq import decoder_teacher as dt
from rnnkit.seq2seq.bridge import BridgeCache, bridge_backward, bridge_forward, init_bridge
from rnnkit.seq2seq.config import Seq2SeqConfig, VectorDecoderConfig
from rnnkit.seq2seq.decoder_model import DecoderModel, check_ids, check_targets
from rnnkit.seq2seq.vector_decoder import VectorDecoder

__all__ = ["Seq2Seq", "Seq2SeqConfig", "VectorDecoder", "VectorDecoderConfig"]


class _EncoderCache(NamedTuple):
    emb: Any
    drop: Any
    encoder: Any
    bridge: BridgeCache
    keys: Any  # the attention's key projection, None without attention


def _check_source_batch(src: np.ndarray, src_lengths: Any, tgt_in: Any) -> None:
    """Blame src, not the targets, when tgt_in and src_lengths agree on a batch size that src does not have
    (a batch-first src, say): the targets' own check would otherwise name them for src's mistake."""
    if not (isinstance(tgt_in, np.ndarray) and tgt_in.ndim == 2):
        return  # the targets' check names it
    try:
        lengths_shape = np.shape(src_lengths)
    except ValueError:  # a ragged list: the check of src_lengths names it
        return
    B = tgt_in.shape[1]
    if src.shape[1] != B and lengths_shape == (B,):
        hint = ": src.T fits (the arrays are time-major, (S, B))" if src.shape[0] == B else ""
        raise ValueError(f"Expected src of shape (S, B={B}), the batch size of tgt_in and src_lengths, "
                         f"got {src.shape}{hint}")


class Seq2Seq(DecoderModel):
    """Encoder-decoder with attention and input feeding; see the module docstring."""

    def __init__(self, config: Seq2SeqConfig, rng: np.random.Generator) -> None:
        dtype = self._begin(config, Seq2SeqConfig, rng)
        cfg = config
        self.encoder = make_recurrent({"cell": cfg.cell, "input_size": cfg.src_embedding_dim,
                                       "hidden_size": cfg.encoder_hidden_size, "num_layers": cfg.encoder_layers,
                                       "bidirectional": cfg.bidirectional,
                                       "dropout": cfg.dropout if cfg.encoder_layers > 1 else 0.0,  # between layers
                                       "weight_drop": cfg.weight_drop, "residual": cfg.residual,
                                       "peephole": cfg.peephole, "layer_norm": cfg.layer_norm,
                                       "dtype": cfg.dtype}, rng=rng)
        self.dirs = 2 if cfg.bidirectional else 1
        hk = self.dirs * cfg.encoder_hidden_size
        self.spec = ds.DecoderSpec(cfg.cell, cfg.tgt_vocab_size, cfg.tgt_embedding_dim, cfg.decoder_hidden_size,
                                   cfg.decoder_layers, cfg.attention, hk if cfg.attention != "none" else 0,
                                   cfg.attention_size, cfg.input_feeding, cfg.dropout, cfg.weight_drop,
                                   cfg.tie_weights, cfg.peephole, cfg.layer_norm, cfg.copy, cfg.coverage)
        p = {"src_embedding.weight": rng.standard_normal((cfg.src_vocab_size, cfg.src_embedding_dim)).astype(dtype)}
        for k, v in self.encoder.params.items():
            p["encoder." + k] = v  # the same arrays: in-place updates reach the layer
        init_bridge(p, cfg.cell, cfg.decoder_layers * cfg.decoder_hidden_size, hk, rng, dtype)
        p.update(ds.init_decoder_params(self.spec, rng, dtype))
        self.params = p

    def _encode(self, src: np.ndarray, src_lengths: np.ndarray, training: bool,
                rng: Any, src_ext: Any = None) -> tuple[ds.Carry, _EncoderCache]:
        cfg = self.config
        S, B = check_ids("src", src, 2, cfg.src_vocab_size).shape
        lengths = check_ids("src_lengths", np.asarray(src_lengths), 1)
        if lengths.shape != (B,) or lengths.min() < 1 or lengths.max() > S:
            raise ValueError(f"Expected src_lengths of shape ({B},) with values in [1, S={S}], got {lengths}")
        emb, c_emb = embedding_forward(src, self.params["src_embedding.weight"])  # (S, B, E_src)
        emb, c_drop = dropout_forward(emb, cfg.dropout, rng, training)
        enc_out, enc_state, c_enc = self.encoder.forward(emb, lengths=lengths, training=training, rng=rng)
        top = slice((cfg.encoder_layers - 1) * self.dirs, cfg.encoder_layers * self.dirs)
        parts = enc_state if cfg.cell == "lstm" else (enc_state,)
        srcs = [np.concatenate(list(s[top]), axis=1) for s in parts]  # (B, Hk) for h (and c)
        state, c_bridge = bridge_forward(self.params, cfg.cell, cfg.decoder_layers, srcs[0], srcs[-1])
        memory = c_keys = None
        if cfg.attention != "none":
            memory, c_keys = ds.make_memory(self.params, self.spec, enc_out, lengths)
        if src_ext is not None:
            memory = memory._replace(ext=self._source_ext(src_ext, src.shape))
        return self._carry(state, B, memory), _EncoderCache(c_emb, c_drop, c_enc, c_bridge, c_keys)

    def forward(self, src: np.ndarray, src_lengths: np.ndarray, tgt_in: np.ndarray, tgt_out: np.ndarray,
                tgt_mask: np.ndarray, training: bool = False, rng: np.random.Generator | None = None,
                sampling_rate: float = 0.0, src_ext: np.ndarray | None = None,
                coverage_loss: float = 0.0) -> tuple[float, tuple]:
        """Summed NLL of tgt_out (T, B) where tgt_mask, with teacher forcing; returns (loss, cache).

        ``src`` (S, B) source ids, time-major, padded after each sentence's ``src_lengths`` (B,) tokens;
        ``tgt_in`` (T, B) the decoder's inputs (BOS y_1 .. y_m, then PAD) and ``tgt_out`` (T, B) the tokens to
        predict (y_1 .. y_m EOS, then PAD), ``tgt_mask`` (T, B) bool, True at real target positions
        (:func:`rnnkit.data.parallel.make_batches` builds all of them).  ``training=True`` switches on
        dropout and weight drop (drawn from ``rng``) and allows scheduled sampling: ``sampling_rate`` in
        [0, 1] (needs ``rng``).  Without training ``sampling_rate`` must be 0: an evaluation loss is
        always the teacher-forced one.  ``src_ext`` (S, B): a copy model's source extended ids (see the module
        docstring), None for any other.  ``coverage_loss`` lambda >= 0 (a coverage model's): the loss adds
        lambda sum_t sum_i min(a_ti, cov_ti) over the real target steps (:mod:`rnnkit.seq2seq.coverage`); the
        cache's ``[1].coverage_loss`` is that part."""
        B = check_ids("src", src, 2, self.config.src_vocab_size).shape[1]
        _check_source_batch(src, src_lengths, tgt_in)
        self._need_ext(src_ext)
        if self.config.copy:  # an extended id is fed as <unk>
            tgt_in = cp.fed_ids(check_ids("tgt_in", tgt_in, 2), self.config.tgt_vocab_size)
        check_targets(tgt_in, tgt_out, tgt_mask, B, self.config.tgt_vocab_size)
        carry, enc = self._encode(src, src_lengths, training, rng, src_ext)
        loss, c_dec = dt.teacher_forced_forward(self.params, self.spec, carry, tgt_in, tgt_out, tgt_mask,
                                                training, rng, sampling_rate, self._output, coverage_loss)
        return loss, (enc, c_dec)

    def backward(self, dloss: float, cache: tuple) -> dict[str, np.ndarray]:
        """Gradients of dloss * loss for every parameter, keyed like ``params``."""
        cfg = self.config
        (c_emb, c_drop, c_enc, c_bridge, c_keys), c_dec = cache
        dstate0, dmem, grads = dt.teacher_forced_backward(self.params, self.spec, dloss, c_dec)
        dsrc = bridge_backward(self.params, dstate0, c_bridge, grads)
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

    def encode(self, src: np.ndarray, src_lengths: np.ndarray, src_ext: np.ndarray | None = None) -> ds.Carry:
        """The decoder's starting carry for a source batch, src (S, B) ids with src_lengths (B,) (inference:
        no dropout, no caches kept): what :mod:`rnnkit.seq2seq.decode` starts from.  A copy model's decoding
        steps need ``src_ext`` (S, B), the source's extended target ids."""
        self._need_ext(src_ext)  # a copy model's decoding needs them (decode_step would refuse later, less plainly)
        return self._encode(src, src_lengths, False, None, src_ext)[0]

    def _need_ext(self, src_ext: Any) -> None:
        """src_ext is given for a copy model and only for one."""
        if self.config.copy and src_ext is None:
            raise ValueError("Expected src_ext (S, B), the source's extended target ids, for a model with copy=True "
                             "(rnnkit.seq2seq.copy.encode_copy_pairs and make_batches make them): pass src_ext= to "
                             "forward, encode, greedy_decode or beam_search")
        if not self.config.copy and src_ext is not None:
            raise ValueError("Expected src_ext=None for a model without copy attention (copy=False), got an array")

    def _source_ext(self, src_ext: Any, shape: tuple[int, int]) -> np.ndarray:
        """src_ext (S, B) (forward and encode have checked that the model takes them) checked against src's shape,
        batch-major (B, S) as the memory keeps it."""
        if check_ids("src_ext", src_ext, 2).shape != shape:
            raise ValueError(f"Expected src_ext of src's shape {shape}, got shape {src_ext.shape}")
        if src_ext.size and src_ext.min() < 0:
            raise ValueError(f"Expected src_ext's ids >= 0 (extended target ids), got {src_ext.min()}")
        return np.ascontiguousarray(src_ext.T, dtype=np.int64)

    def attention_weights(self, src: np.ndarray, src_lengths: np.ndarray, tgt_in: np.ndarray) -> np.ndarray:
        """Teacher-forced attention weights (T, B, S) for plotting; rows sum to 1 over real positions."""
        if self.config.attention == "none":
            raise ValueError("Expected a model with attention for attention_weights, got attention='none'")
        carry = self._encode(src, src_lengths, False, None)[0]  # step_forward needs no extended ids: none asked
        rows = []
        V = self.config.tgt_vocab_size
        for t in range(check_ids("tgt_in", tgt_in, 2).shape[0]):  # a copy model's extended ids read as <unk>
            _, w, carry, _ = ds.step_forward(self.params, self.spec, cp.fed_ids(tgt_in[t], V), carry)
            rows.append(w)
        return np.stack(rows)
