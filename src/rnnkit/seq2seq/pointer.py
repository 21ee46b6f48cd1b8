r"""Pointer network (Vinyals, Fortunato & Jaitly 2015): an encoder-decoder whose output at each step is a
distribution over the positions of its *input*, given by the attention scores themselves.

Inputs are real vectors P = (P_1 .. P_n), x (T, B, D) with lengths n_b <= T; the output is a sequence of
positions C = (C_1 .. C_m), targets (T_out, B) with lengths m_b (sorting: C is the argsort of P; convex hull:
the hull's points in order).  With an LSTM encoder and an LSTM decoder of H units, for t = 1 .. m::

    e_1 .. e_n, (h_n, c_n) = LSTM_enc(P_1 .. P_n)            # e_j (B, H)
    x_1 = s ;  x_t = P_{C_{t-1}}  (t > 1)                    # the element pointed to at t-1; s (D,) learned
    d_t, state_t = LSTM_dec(x_t, state_{t-1}),  state_0 = (h_n, c_n)
    u_j^t = v^T tanh(W1 e_j + W2 d_t)        j = 1 .. n      # additive attention scores (B, T)
    p(C_t = j | C_<t, P) = softmax_j(u^t)    over j <= n_b only: padded positions get probability exactly 0

(W1 is ``pointer.W_k`` (A, H), W2 ``pointer.W_q`` (A, H), v ``pointer.v`` (A,): the additive attention of
:mod:`rnnkit.seq2seq.attention`, whose scores are here the output instead of weights for a context.)
Training is teacher-forced, C_{t-1} the target's; the loss is the mean over the real output steps of
-log p(C_t | C_<t, P).  Decoding feeds back the argmax (:meth:`PointerNet.greedy`) or keeps K beams
(:meth:`PointerNet.beam_search`; :mod:`rnnkit.seq2seq.pointer_decode`).

Backward, with g = dloss / (number of real output steps) and p^t the pointer distribution::

    du^t_j = g (p^t_j - [j = C_t])                           # 0 at padded positions and padded steps
    dd_t, dW2, dv, dk_j^t   from the scores (attention.additive_scores_backward)
    de_j = (sum_t dk_j^t) W1 ;  dW1 = sum_{t,j} dk_j^t^T e_j (attention.project_keys_backward)
    dx_t, dstate_0, decoder grads = LSTM_dec backward of dd_t       (teacher forcing: one call over all t)
    ds = sum_b dx_1 ;  encoder grads = LSTM_enc backward of (de_j, dstate_0)

Parameters (PyTorch's names inside): ``encoder.weight_ih_l0`` (4H, D), ``encoder.weight_hh_l0`` (4H, H),
``encoder.bias_ih_l0``, ``encoder.bias_hh_l0`` (4H,), the same four ``decoder.*``, ``start`` (D,), and
``pointer.W_k``, ``pointer.W_q``, ``pointer.v``.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnkit.checks import check_int, check_rng
from rnnkit.nn.softmax import log_softmax
from rnnkit.packing import resolve_lengths
from rnnkit.recurrent import LSTM
from rnnkit.recurrent_checks import check_input
from rnnkit.recurrent_cache import RecurrentCache
from rnnkit.rtrl import step_mask
from rnnkit.seq2seq import attention as att
from rnnkit.seq2seq.pointer_decode import PAD, beam_search

__all__ = ["PAD", "PointerCache", "PointerNet"]


class PointerCache(NamedTuple):
    """What :meth:`PointerNet.backward` needs from :meth:`PointerNet.forward`."""

    encoder: RecurrentCache
    decoder: RecurrentCache
    keys: att.KeysCache
    query: np.ndarray  # (T_out, B, H) the decoder's outputs d_t
    u: np.ndarray  # (T_out, B, T, A) tanh(W1 e_j + W2 d_t)
    probs: np.ndarray  # (T_out, B, T) p(C_t = j), 0 at padded positions
    targets: np.ndarray  # (T_out, B) the target positions, 0 at padded steps
    weights: np.ndarray  # (T_out, B) 1 / (real output steps) at real steps, 0 at padded ones


def check_lengths(name: str, lengths: Any, B: int, T: int) -> np.ndarray:
    """``lengths`` as an int64 array (B,) of values in 1..T (:func:`rnnkit.packing.resolve_lengths`'s checks),
    checked here once: the encoder and decoder run on them unchecked (:func:`packed`)."""
    arr = resolve_lengths(T, B, lengths, name=name)
    return np.full(B, T, np.int64) if arr is None else arr


def packed(lengths: np.ndarray, T: int) -> np.ndarray | None:
    """Checked ``lengths`` (B,) as a recurrent layer's unchecked run takes them: None when every one is T."""
    return None if lengths.min() == T else lengths


class PointerNet:
    """Pointer network over inputs of ``input_size`` (D), an LSTM encoder and decoder of ``hidden_size`` (H)
    units and an additive pointer of ``attention_size`` (A, default H); see the module docstring."""

    def __init__(self, input_size: int, hidden_size: int, attention_size: int | None = None, *,
                 dtype: Any = np.float32, rng: np.random.Generator | None = None) -> None:
        D = check_int("input_size", input_size, 1)
        H = check_int("hidden_size", hidden_size, 1)
        A = H if attention_size is None else check_int("attention_size", attention_size, 1)
        rng = np.random.default_rng(0) if rng is None else check_rng(rng)
        self.encoder = LSTM(D, H, dtype=dtype, rng=rng)
        self.decoder = LSTM(D, H, dtype=dtype, rng=rng)
        self.dtype = self.encoder.dtype
        self.input_size, self.hidden_size, self.attention_size = D, H, A
        self.pointer = att.init_attention_params("additive", H, H, A, rng, self.dtype)
        # the first decoder input, as nn.Linear's bias is drawn: U(-1/sqrt(D), 1/sqrt(D))
        start = rng.uniform(-1 / np.sqrt(D), 1 / np.sqrt(D), size=D).astype(self.dtype)
        # one dict over the layers' own arrays: an optimizer updating params in place updates the layers
        self.params: dict[str, np.ndarray] = {"start": start}
        self.params.update({"encoder." + k: a for k, a in self.encoder.params.items()})
        self.params.update({"decoder." + k: a for k, a in self.decoder.params.items()})
        self.params.update({"pointer." + k: a for k, a in self.pointer.items()})

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy ``arrays`` (every parameter's name, as :attr:`params`) into the parameters in place, names and
        shapes checked: the layers keep their own arrays."""
        from rnnkit.checkpoint_task import copy_into

        copy_into(self.params, arrays, "the pointer network's")

    # ----------------------------------------------------------------- pieces
    def _check_input(self, x: Any, lengths: Any) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(x, np.ndarray) or x.ndim != 3 or x.shape[2] != self.input_size:
            got = getattr(x, "shape", type(x).__name__)
            raise ValueError(f"Expected x of shape (T, B, D) with D = {self.input_size}, got {got}")
        if x.dtype != self.dtype:
            raise TypeError(f"Expected x of the model's dtype {self.dtype}, got {x.dtype}: convert it with "
                            f"x.astype(np.{self.dtype})")
        if x.shape[0] == 0:
            raise ValueError(f"Expected x with at least one input position (T >= 1), got shape {x.shape}: a "
                             f"pointer network points at its input")
        x = check_input(x, self.input_size, self.dtype)  # B >= 1 and finite, the layers' checks: they run unchecked
        return x, check_lengths("lengths", lengths, x.shape[1], x.shape[0])

    def _encode(self, x: np.ndarray, lengths: np.ndarray
                ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, RecurrentCache, att.KeysCache]:
        """(final state, keys (B, T, A), encoder cache, keys cache); x and lengths as :meth:`_check_input` returns
        them."""
        enc_out, final, enc_cache = self.encoder._run(x, None, packed(lengths, x.shape[0]))  # (T, B, H), state at n_b
        values = np.ascontiguousarray(enc_out.transpose(1, 0, 2))  # (B, T, H)
        keys, keys_cache = att.project_keys("additive", self.pointer, values)  # (B, T, A) = W1 e_j
        return final, keys, enc_cache, keys_cache

    def _scores(self, query: np.ndarray, keys: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log-probabilities of pointing at each position, (..., B, T), -inf at the padded ones, and u."""
        scores, u = att.additive_scores(self.pointer, query, keys)  # (..., B, T), (..., B, T, A)
        return log_softmax(np.where(mask, scores, -np.inf)), u  # mask (B, T) broadcast over the leading steps

    def _targets(self, targets: Any, target_lengths: Any, lengths: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Targets (T_out, B) as int64, 0 at padded steps, checked against each sequence's length; the target
        lengths (B,) and the real output steps (T_out, B)."""
        arr = np.asarray(targets)
        B = lengths.shape[0]
        if arr.ndim != 2 or arr.shape[1] != B or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"Expected targets to be integer positions of shape (T_out, B) with B = {B}, got "
                             f"{arr.dtype} {arr.shape}")
        tl = check_lengths("target_lengths", target_lengths, B, arr.shape[0])
        real = step_mask(tl, arr.shape[0], B)  # (T_out, B)
        bad = real & ((arr < 0) | (arr >= lengths[None, :]))
        if bad.any():
            t, b = (int(i[0]) for i in np.nonzero(bad))
            raise ValueError(f"Expected targets[t, b] in 0..lengths[b]-1 (a real input position), got "
                             f"{int(arr[t, b])} at t={t}, b={b} (lengths[b] = {int(lengths[b])})")
        return np.where(real, arr, 0).astype(np.int64), tl, real

    # ----------------------------------------------------------------- training
    def forward(self, x: np.ndarray, lengths: Any, targets: Any, target_lengths: Any) -> tuple[float, PointerCache]:
        """Teacher-forced loss: x (T, B, D) with lengths (B,), targets (T_out, B) positions with
        target_lengths (B,); returns (mean -log p(C_t | C_<t, P) over the real output steps, cache)."""
        x, lengths = self._check_input(x, lengths)
        tgt, tl, real = self._targets(targets, target_lengths, lengths)  # real: (T_out, B)
        T, B, D = x.shape
        T_out = tgt.shape[0]
        final, keys, enc_cache, keys_cache = self._encode(x, lengths)
        cols = np.arange(B)
        dec_in = np.zeros((T_out, B, D), self.dtype)  # (T_out, B, D): s, then the targets' input vectors
        dec_in[0] = self.params["start"]
        dec_in[1:] = x[tgt[:-1], cols]  # (T_out - 1, B, D); padded steps are never read
        query, _, dec_cache = self.decoder._run(dec_in, list(final), packed(tl, T_out))  # (T_out, B, H)
        mask = step_mask(lengths, T, B).T  # (B, T)
        logp, u = self._scores(query, keys, mask)  # (T_out, B, T)
        weights = real / real.sum()  # (T_out, B)
        picked = np.take_along_axis(logp, tgt[:, :, None], axis=2)[:, :, 0]  # (T_out, B)
        loss = -float((picked * weights).sum())
        cache = PointerCache(enc_cache, dec_cache, keys_cache, query, u, np.exp(logp), tgt,
                             weights.astype(self.dtype))
        return loss, cache

    def backward(self, cache: PointerCache, dloss: float = 1.0) -> dict[str, np.ndarray]:
        """Gradient of ``dloss * loss`` for every parameter, keyed as :attr:`params`."""
        if not isinstance(cache, PointerCache):
            raise TypeError(f"Expected the cache PointerNet.forward returned, got {type(cache).__name__}")
        T_out, B, T = cache.probs.shape
        de = cache.probs.copy()  # (T_out, B, T): du = g (p - onehot(C_t))
        t_idx, b_idx = np.meshgrid(np.arange(T_out), np.arange(B), indexing="ij")
        de[t_idx, b_idx, cache.targets] -= 1
        de *= (cache.weights * self.dtype.type(dloss))[:, :, None]  # 0 at padded steps
        dquery, dkeys, grads = att.additive_scores_backward(de, cache.u, cache.query, self.pointer)
        dvalues, gk = att.project_keys_backward(dkeys.sum(axis=0), cache.keys, self.pointer)  # (B, T, H)
        grads.update(gk)
        dx_dec, dstate0, g_dec = self.decoder.backward(dquery, None, cache.decoder)
        _, _, g_enc = self.encoder.backward(np.ascontiguousarray(dvalues.transpose(1, 0, 2)), dstate0, cache.encoder)
        out = {"start": dx_dec[0].sum(axis=0)}  # (D,): s is every sequence's first decoder input
        out.update({"encoder." + k: g for k, g in g_enc.items()})
        out.update({"decoder." + k: g for k, g in g_dec.items()})
        out.update({"pointer." + k: g for k, g in grads.items()})
        return {k: out[k] for k in self.params}

    # ----------------------------------------------------------------- decoding
    def greedy(self, x: np.ndarray, lengths: Any, steps: Any = None, distinct: bool = False,
               end: int | None = None) -> np.ndarray:
        """Greedy decoding: at each step point at the most probable real position and feed its input vector.

        ``steps`` (B,) output steps per sequence (default ``lengths``: one per input element, as sorting);
        ``distinct``: never point at a position twice (for permutations; needs steps <= lengths); ``end``: the
        end marker's position (None: none), after which a sequence stops.  Returns positions (max(steps), B),
        ``PAD`` (-1) after each sequence's last step; never a padded position.
        """
        return beam_search(self, x, lengths, 1, steps, distinct, end)[0]

    def beam_search(self, x: np.ndarray, lengths: Any, beam_size: int, steps: Any = None, distinct: bool = False,
                    end: int | None = None, length_norm: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Beam search (:mod:`rnnkit.seq2seq.pointer_decode`): (positions (max(steps), B) as :meth:`greedy`'s,
        log-probabilities (B,) of them); with an ``end`` marker the finished hypotheses are ranked by
        S / lp(m) with lp's alpha = ``length_norm`` (0: by S)."""
        return beam_search(self, x, lengths, beam_size, steps, distinct, end, length_norm)
