r"""Decoding a trained model: greedy search and beam search with length normalisation and n-best lists.

Both work with any model that has ``encode(src, src_lengths) -> carry``,
``decode_step(ids (B,), carry) -> (log_probs (B, V), attention (B, S) or None, carry)`` and
``select(carry, idx) -> carry`` (:class:`Seq2Seq`; :class:`VectorDecoder` with ``src`` the features
(B, F) and ``src_lengths=None``).

A hypothesis y_1..y_n is scored by the sum of its log-probabilities, the EOS token included when it
ended with one::

    score(Y)      = sum_t log P(y_t | y_<t, x)
    norm_score(Y) = score(Y) / lp(|Y|),   lp(m) = ((5 + m) / 6) ** alpha     (GNMT, Wu et al. 2016)

with |Y| the number of scored tokens (EOS counted) and alpha = ``length_norm``; alpha = 0 ranks by
the plain sum.  Hypotheses are ranked by ``norm_score``.

Beam search (one source sentence at a time, its k beams batched): at each step the 2k best
one-token extensions of the k live beams are taken by score (the normaliser is the same for all of
them at a given step, so this order is also the normalised order).  Walking them best first, an
EOS extension among the first k joins the finished list; other extensions become the next beams
until there are k.  The search stops once k hypotheses have finished, or at ``max_len`` steps, when
the live beams are returned as unfinished hypotheses (ranked after every finished one).  With
k = 1 this is exactly greedy decoding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)  # eq=False: comparing the attention arrays with == would raise
class Hypothesis:
    tokens: tuple[int, ...]  # generated ids, without BOS and EOS
    score: float  # sum of log-probabilities (EOS included when finished)
    norm_score: float  # score / lp(|Y|), the ranking key
    finished: bool  # ended with EOS; False when cut at max_len
    attention: np.ndarray | None = None  # (steps, S) attention weights, greedy decoding only


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's lp(m) = ((5 + m) / 6) ** alpha; 1 for alpha = 0."""
    return ((5.0 + length) / 6.0) ** alpha


def _int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
            high is not None and value >= high):
        rng = f"[{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"Expected {name} to be an integer {rng}, got {value!r}")
    return int(value)


def _check(model: Any, max_len: Any, bos: Any, eos: Any) -> None:
    V = model.spec.vocab_size
    _int("max_len", max_len, 1)
    _int("bos", bos, 0, V)
    _int("eos", eos, 0, V)


def greedy_decode(model: Any, src: np.ndarray, src_lengths: np.ndarray | None, max_len: int, bos: int,
                  eos: int) -> list[Hypothesis]:
    """The most probable next token at every step, for the whole batch at once; one hypothesis per
    sentence (norm_score == score)."""
    _check(model, max_len, bos, eos)
    carry = model.encode(src, src_lengths)
    B = carry.feed.shape[0]
    ids = np.full(B, bos, dtype=np.int64)
    scores = np.zeros(B)  # float64 sums, as beam search keeps them
    done = np.zeros(B, dtype=bool)
    tokens: list[list[int]] = [[] for _ in range(B)]
    attn: list[list[np.ndarray]] = [[] for _ in range(B)]
    for _ in range(max_len):
        logp, weights, carry = model.decode_step(ids, carry)  # (B, V)
        nxt = np.argmax(logp, axis=1)  # (B,)
        for b in np.flatnonzero(~done):
            scores[b] = scores[b] + logp[b, nxt[b]]
            if weights is not None:
                attn[b].append(weights[b])
            if nxt[b] == eos:
                done[b] = True
            else:
                tokens[b].append(int(nxt[b]))
        if done.all():
            break
        ids = nxt
    return [Hypothesis(tuple(tokens[b]), float(scores[b]), float(scores[b]), bool(done[b]),
                       np.stack(attn[b]) if attn[b] else None) for b in range(B)]


def _beam_one(model: Any, carry: Any, k: int, max_len: int, bos: int, eos: int,
              alpha: float) -> list[Hypothesis]:
    """Beam search for one sentence (carry of batch 1); returns every hypothesis it ended with."""
    beams: list[tuple[int, ...]] = [()]
    scores = np.zeros(1)  # (n,) float64
    ids = np.array([bos], dtype=np.int64)
    finished: list[Hypothesis] = []
    for _ in range(max_len):
        logp, _, carry = model.decode_step(ids, carry)  # (n, V)
        V = logp.shape[1]
        flat = (scores[:, None] + logp).ravel()  # (n*V,) float64
        m = min(2 * k, flat.size)
        top = np.argpartition(-flat, m - 1)[:m]
        top = top[np.lexsort((top, -flat[top]))]  # best first, ties to the lower index like argmax
        rows, toks, new_scores = [], [], []
        for rank, idx in enumerate(top):
            row, tok = divmod(int(idx), V)
            if tok == eos:
                if rank < k:
                    n = len(beams[row]) + 1
                    finished.append(Hypothesis(beams[row], float(flat[idx]),
                                               float(flat[idx]) / length_penalty(n, alpha), True))
            elif len(rows) < k:
                rows.append(row)
                toks.append(tok)
                new_scores.append(flat[idx])
            if len(rows) == k:
                break
        beams = [beams[r] + (t,) for r, t in zip(rows, toks)]
        scores = np.array(new_scores, dtype=np.float64)
        if len(finished) >= k or not rows:
            return finished
        carry = model.select(carry, np.array(rows))
        ids = np.array(toks, dtype=np.int64)
    live = [Hypothesis(b, float(s), float(s) / length_penalty(len(b), alpha), False) for b, s in zip(beams, scores)]
    return finished + live


def beam_search(model: Any, src: np.ndarray, src_lengths: np.ndarray | None, beam_size: int, max_len: int,
                bos: int, eos: int, length_norm: float = 0.0, nbest: int = 1) -> list[list[Hypothesis]]:
    """Beam search (see the module docstring); for each sentence its ``nbest`` best hypotheses,
    finished ones first, each group by ``norm_score`` best first."""
    _check(model, max_len, bos, eos)
    k = _int("beam_size", beam_size, 1)
    _int("nbest", nbest, 1, k + 1)
    if not (isinstance(length_norm, (int, float)) and 0.0 <= length_norm):
        raise ValueError(f"Expected length_norm (alpha) to be a number >= 0, got {length_norm!r}")
    carry = model.encode(src, src_lengths)
    out = []
    for b in range(carry.feed.shape[0]):
        hyps = _beam_one(model, model.select(carry, np.array([b])), k, max_len, bos, eos, float(length_norm))
        # stable sort: equal keys keep the order they were found in
        hyps.sort(key=lambda h: (not h.finished, -h.norm_score))
        out.append(hyps[:nbest])
    return out
