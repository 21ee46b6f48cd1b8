"""What :class:`rnnkit.seq2seq.model.Seq2Seq` and :class:`rnnkit.seq2seq.vector_decoder.VectorDecoder`
share: :class:`DecoderModel` (a decoding step, selecting a carry's rows, loading weights) and the checks
of their arguments (id arrays, the teacher-forced targets, the config's type and the generator).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.checkpoint_task import copy_into
from rnnkit.checks import check_array, check_config, check_rng
from rnnkit.english import a_or_an
from rnnkit.nn.linear_softmax import LinearCrossEntropy
from rnnkit.seq2seq import copy as cp
from rnnkit.seq2seq import decoder_step as ds


def check_ids(name: str, a: Any, ndim: int, vocab: int | None = None) -> np.ndarray:
    """``a`` itself if it is an ``ndim``-D integer array (of ids in [0, vocab) when vocab is given)."""
    if not (isinstance(a, np.ndarray) and a.dtype.kind in "iu" and a.ndim == ndim):
        got = f"{a.dtype} array of shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise TypeError(f"Expected {name} as {a_or_an(ndim)} {ndim}-D integer array, got {got}")
    if vocab is not None and a.size and (a.min() < 0 or a.max() >= vocab):
        raise ValueError(f"Expected {name} ids in [0, {vocab}), got values in [{a.min()}, {a.max()}]")
    return a


def check_targets(tgt_in: Any, tgt_out: Any, tgt_mask: Any, B: int, V: int) -> None:
    """The teacher-forced targets: tgt_in and tgt_out (T, B) ids (tgt_in's below V), tgt_mask (T, B)."""
    check_ids("tgt_in", tgt_in, 2, V)
    check_ids("tgt_out", tgt_out, 2)
    if tgt_in.shape[1] != B or tgt_out.shape != tgt_in.shape:
        raise ValueError(f"Expected tgt_in and tgt_out of shape (T, B={B}), got {tgt_in.shape} and {tgt_out.shape}")
    if check_array("tgt_mask", tgt_mask).shape != tgt_in.shape:
        raise ValueError(f"Expected tgt_mask of shape (T, B) = {tgt_in.shape}, got {tgt_mask.shape}")


def carry_batch(carry: Any) -> int:
    """The batch size B of a decoder carry (what ``encode`` returns)."""
    if not isinstance(carry, ds.Carry):
        raise TypeError(f"Expected carry to be a Carry (from the model's encode), got {type(carry).__name__}")
    return carry.feed.shape[0]


class DecoderModel:
    """What both models share: the decoder's parameters, decoding steps, weight loading."""

    params: dict[str, np.ndarray]
    spec: ds.DecoderSpec

    def _begin(self, config: Any, kind: type, rng: Any) -> np.dtype:
        """A constructor's first steps: check its arguments (a config of class ``kind``, a numpy Generator),
        keep the config and the output layer (its buffer kept between steps); returns the config's dtype."""
        check_config(config, kind)
        check_rng(rng)
        self.config = config
        self._output = LinearCrossEntropy()
        return np.dtype(config.dtype)

    def decode_step(self, ids: np.ndarray, carry: ds.Carry) -> tuple[np.ndarray, np.ndarray | None, ds.Carry]:
        """Feed ids (B,); return (log P(next) (B, V), attention weights (B, S) or None, next carry).  With copy
        attention log P is the mixture over the extended vocabulary (B, V + X) (:mod:`rnnkit.seq2seq.copy`),
        and an extended id fed back is read as ``<unk>``."""
        V = self.spec.vocab_size
        ext = None
        if self.spec.copy:
            ext = carry.memory.ext if isinstance(carry, ds.Carry) and carry.memory is not None else None
            if ext is None:
                raise ValueError("Expected a carry with the source's extended ids for a copy model: make it with "
                                 "encode(src, src_lengths, src_ext)")
        ids = check_ids("ids", np.asarray(ids), 1, V if ext is None else cp.width(ext, V))
        B = carry_batch(carry)
        if ids.shape[0] != B:
            raise ValueError(f"Expected ids of the carry's batch size {B}, shape ({B},), got batch size {ids.shape[0]}")
        if ext is not None:
            ids = cp.fed_ids(ids, V)
        out, weights, carry, c = ds.step_forward(self.params, self.spec, ids, carry)
        if ext is not None:
            logits = out @ ds.output_weight(self.params, self.spec).T + self.params["output.bias"]
            return cp.mixture_log_probs(logits, c.gate_z, c.attn.log_weights, ext), weights, carry
        return ds.log_probs(self.params, self.spec, out), weights, carry

    def select(self, carry: ds.Carry, idx: np.ndarray) -> ds.Carry:
        """The carry of batch rows ``idx`` (beam search expands and reorders hypotheses with it)."""
        B = carry_batch(carry)
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise TypeError(f"Expected idx as a 1-D integer array of rows, got {idx.dtype} array of shape {idx.shape}")
        # negative rows too: numpy would take them from the end without a word
        if idx.size and (idx.min() < 0 or idx.max() >= B):
            raise ValueError(f"Expected rows idx in [0, {B}) (the carry's batch size), got {idx.tolist()[:20]}")
        return ds.take(carry, idx)

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters in place, checking names and shapes."""
        copy_into(self.params, arrays, "the encoder-decoder's")

    def _carry(self, state: tuple, B: int, memory: ds.Memory | None) -> ds.Carry:
        return ds.Carry(state, np.zeros((B, self.spec.hidden_size), np.dtype(self.config.dtype)), memory)
