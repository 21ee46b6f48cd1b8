r"""A decoder conditioned on a feature vector (the captioning shape): :class:`VectorDecoder`.

For features f (B, F) and a target y (T, B)::

    h_0 = tanh(W_b f + b_b)       # (and c_0 = tanh(W_bc f + b_bc) for LSTM), see rnnkit.seq2seq.bridge
    loss = - sum_{t,b} mask_tb log P(y_tb | y_<t, f)   # decoder without attention: rnnkit.seq2seq.decoder_step

Parameters: ``bridge.*`` (and ``bridge_c.*``), ``tgt_embedding.weight`` (V, E), ``decoder.*``,
``combine.*``, ``output.weight`` (V, H), ``output.bias``.  ``forward`` returns (summed loss, cache);
``backward(dloss, cache)`` the gradients of dloss * loss.

With ``tie_weights`` (Press & Wolf 2017) the output layer's weight is the target embedding itself,
W_o = E (V, E), as in :class:`rnnkit.seq2seq.model.Seq2Seq`: it needs embedding_dim == hidden_size (the
output layer reads h~_t (B, H)), there is no ``output.weight`` (so the parameters, and a checkpoint of
them, hold the one matrix), and E's gradient is the sum of its two uses::

    dE = (rows of dx_t scattered to the fed ids y_{t-1}) + sum_{t,b} dlogits_tb^T h~_tb
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.checks import dtype_fix
from rnnkit.seq2seq import decoder_step as ds
from rnnkit.seq2seq import decoder_teacher as dt
from rnnkit.seq2seq.bridge import bridge_backward, bridge_forward, init_bridge
from rnnkit.seq2seq.config import VectorDecoderConfig
from rnnkit.seq2seq.decoder_model import DecoderModel, check_targets


class VectorDecoder(DecoderModel):
    """A decoder conditioned on a feature vector f (B, F) through the bridge; no attention."""

    def __init__(self, config: VectorDecoderConfig, rng: np.random.Generator) -> None:
        dtype = self._begin(config, VectorDecoderConfig, rng)
        cfg = config
        self.spec = ds.DecoderSpec(cfg.cell, cfg.tgt_vocab_size, cfg.embedding_dim, cfg.hidden_size,
                                   cfg.num_layers, "none", 0, 1, cfg.input_feeding, cfg.dropout, cfg.weight_drop,
                                   cfg.tie_weights)
        p: dict[str, np.ndarray] = {}
        init_bridge(p, cfg.cell, cfg.num_layers * cfg.hidden_size, cfg.feature_size, rng, dtype)
        p.update(ds.init_decoder_params(self.spec, rng, dtype))
        self.params = p

    def _features(self, features: Any) -> np.ndarray:
        F = self.config.feature_size
        if not (isinstance(features, np.ndarray) and features.ndim == 2 and features.shape[1] == F):
            raise ValueError(f"Expected features of shape (B, F={F}), got {getattr(features, 'shape', None)}")
        if features.dtype != np.dtype(self.config.dtype):
            raise TypeError(f"Expected features of dtype {self.config.dtype} (the model's), got {features.dtype}: "
                            f"{dtype_fix('features', features.dtype, self.config.dtype, '')}")
        return features

    def encode(self, features: np.ndarray, lengths: None = None) -> ds.Carry:
        """The decoder's starting carry for features (B, F); ``lengths`` exists for the decoding
        functions' common signature and must be None."""
        if lengths is not None:
            raise ValueError("Expected lengths=None for a VectorDecoder (features have no length), got an array")
        f = self._features(features)
        state, _ = bridge_forward(self.params, self.config.cell, self.config.num_layers, f, f)
        return self._carry(state, f.shape[0], None)

    def forward(self, features: np.ndarray, tgt_in: np.ndarray, tgt_out: np.ndarray, tgt_mask: np.ndarray,
                training: bool = False, rng: np.random.Generator | None = None,
                sampling_rate: float = 0.0) -> tuple[float, tuple]:
        """Summed NLL of tgt_out (T, B) where tgt_mask, with teacher forcing; returns (loss, cache).

        ``training=True`` switches on dropout and weight drop (drawn from ``rng``) and allows scheduled
        sampling: ``sampling_rate`` in [0, 1] (needs ``rng``).  Without training ``sampling_rate`` must
        be 0: an evaluation loss is always the teacher-forced one."""
        f = self._features(features)
        check_targets(tgt_in, tgt_out, tgt_mask, f.shape[0], self.config.tgt_vocab_size)
        state, c_bridge = bridge_forward(self.params, self.config.cell, self.config.num_layers, f, f)
        loss, c_dec = dt.teacher_forced_forward(self.params, self.spec, self._carry(state, f.shape[0], None),
                                                tgt_in, tgt_out, tgt_mask, training, rng, sampling_rate,
                                                self._output)
        return loss, (c_bridge, c_dec)

    def backward(self, dloss: float, cache: tuple) -> dict[str, np.ndarray]:
        """Gradients of dloss * loss for every parameter, keyed like ``params``."""
        c_bridge, c_dec = cache
        dstate0, _, grads = dt.teacher_forced_backward(self.params, self.spec, dloss, c_dec)
        bridge_backward(self.params, dstate0, c_bridge, grads)
        return grads
