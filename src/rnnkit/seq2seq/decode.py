r"""Decoding a trained model: greedy search and beam search with GNMT's length and coverage penalties,
no repeated n-grams, and n-best lists.

Both work with any model that has ``encode(src, src_lengths) -> carry``,
``decode_step(ids (B,), carry) -> (log_probs (B, V), attention (B, S) or None, carry)`` and
``select(carry, idx) -> carry`` (:class:`Seq2Seq`; :class:`VectorDecoder` with ``src`` the features
(B, F) and ``src_lengths=None``).  A copy model (:mod:`rnnkit.seq2seq.copy`) is encoded with ``src_ext``
too, ``encode(src, src_lengths, src_ext)``, and its steps give (B, V + X) over each batch's extended
vocabulary: a hypothesis may then hold extended ids, which the next step reads as ``<unk>``.

A hypothesis y_1..y_n is scored by the sum of its log-probabilities, the EOS token included when it
ended with one, and ranked by GNMT's s(Y, X) (Wu et al. 2016, eq. 14; :mod:`rnnkit.seq2seq.penalties`)::

    score(Y)      = sum_t log P(y_t | y_<t, x)
    norm_score(Y) = score(Y) / lp(|Y|) + cp(X; Y)
    lp(m)         = ((5 + m) / 6) ** alpha
    cp(X; Y)      = beta * sum_i log(min(sum_j p_ij, 1))

with |Y| the number of scored tokens (EOS counted), alpha = ``length_norm``, beta = ``coverage_penalty``
and p_ij the attention weight of the hypothesis's step j on source token i; alpha = beta = 0 ranks by
the plain sum.

Tokens that are never generated: ``bos`` and ``pad`` (pass ``pad=None`` for a vocabulary without
one; ``<unk>`` stays allowed, and ``eos``, which must differ from both, ends a hypothesis).  Nor is
``eos`` before ``min_len`` tokens (default 1, as fairseq's): a sentence never gets an empty
translation.  Without it beam search often returns one, because the empty hypothesis pays a single
log-probability and every other pays one per token (Stahlberg and Byrne 2019 found the empty
translation to be the model's single most probable output for about half of their test sentences);
``min_len=0`` allows it.  With ``no_repeat_ngram`` N > 0 (fairseq's and Hugging Face's
``no_repeat_ngram_size``), nor is a token that would complete an N-gram the hypothesis already holds
(:mod:`rnnkit.seq2seq.no_repeat`): no output holds an N-gram twice.  Every
step's log-probabilities go through one function, :func:`_masked_step`, which sets theirs to -inf
before greedy's argmax or the beam's top-k, so no search path can choose them, whatever the model
gives them.  The scores are *not* renormalised over the allowed tokens: log P(y_t | ...) stays the
model's own softmax over the whole vocabulary, so ``score`` is exactly the log-probability the model
assigns the sequence (what a teacher-forced ``model.forward`` on it gives, negated), comparable
across hypotheses and models; the mass the model puts on the banned tokens simply never enters a
hypothesis.  (Renormalising would add log(1 / (1 - P(pad) - P(bos))) per step and rank hypotheses
by a distribution the model was never trained to give.)  Every extension of a hypothesis can be banned only
with ``no_repeat_ngram`` before ``min_len`` tokens, in a tiny vocabulary: greedy decoding then stops
there, unfinished, as when cut at ``max_len``; a beam drops out, and a sentence whose beams all do
before any finished returns them, unfinished.

Beam search (every sentence's beams are rows of one batch, so each step is one decoder step for
the whole batch; each sentence ranks only its own): at each step the 2k best
one-token extensions of the k live beams are taken by score.  Walking them best first, an
EOS extension among the first k joins the finished list, scored by s(Y, X); other extensions become
the next beams until there are k; banned extensions (score -inf) are never taken, so a step with fewer
than k allowed extensions keeps fewer beams.  When a sentence stops is ``stop``'s rule:

- ``"k-finished"`` (the default; OpenNMT-py's and fairseq's rule, Hugging Face's ``early_stopping=True``): once
  k hypotheses have finished.
- ``"bound"``: while its best live beam may still beat its ``nbest``-th best finished hypothesis (any, while
  fewer have finished), i.e. while S_now / lp(max_len) > that s(Y, X) (no completion of a beam scores more:
  :func:`rnnkit.seq2seq.penalties.may_still_win`; Hugging Face's ``early_stopping="never"`` bound, there against
  the k-th finished): the n-best list is then the best of every hypothesis the beams could finish by
  ``max_len``.  Short hypotheses filling the k places early no longer end the search, so its answer is never
  worse than the first rule's (the beams are the same under both, step for step); with alpha > 0 it takes
  more steps, the more as lp(max_len) is large.  (Multi30k de->en validation, 1,014 sentences, beam 5, a GRU
  copy model of greedy BLEU 30.26: at alpha 0, 0.6 and 1 it changed 7, 20 and 34 outputs, each to a higher
  s(Y, X), BLEU 31.29 -> 31.34, 31.86 -> 32.08 and 32.05 -> 32.38, in 0.87, 1.08 and 1.25 times the decoder rows.)

Either way at most ``max_len`` steps, when the live beams are returned as unfinished hypotheses (ranked after
every finished one, by s(Y, X) too).  With k = 1 this is exactly greedy decoding.

Where the penalties act, as in GNMT: on the finished hypotheses, which s(Y, X) ranks (the n-best
list and the best one).  The live beams are chosen by log P: lp is the same for all of them at a
given step, so that order is also the normalised one, and cp, the paper's re-ranking term, is left
out of the choice of live beams (OpenNMT-py's default too; its ``stepwise_penalty`` puts it there).
GNMT's other pruning, dropping live hypotheses far below the best finished score, is not done.  The
coverage penalty has no effect with k = 1 (one hypothesis), and greedy decoding takes neither penalty.

``max_len`` is one limit for every sentence, or a (B,) array of one limit per sentence
(:meth:`rnnkit.seq2seq.lengths.LengthRule.limits`); a sentence's result never depends on the limits of
the others in its batch.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit.checks import check_number
from rnnkit.data.parallel import PAD_ID
from rnnkit.seq2seq import penalties
from rnnkit.seq2seq.no_repeat import ban_repeats
from rnnkit.seq2seq.penalties import length_penalty

__all__ = ["STOP_RULES", "Hypothesis", "beam_search", "check_length_norm", "check_min_len", "check_no_repeat",
           "check_stop", "greedy_decode", "length_penalty"]


@dataclass(frozen=True, eq=False)  # eq=False: comparing the attention arrays with == would raise
class Hypothesis:
    """One translation found by greedy or beam search, ranked by ``norm_score``."""

    tokens: tuple[int, ...]  # generated ids, without BOS and EOS
    score: float  # sum of log-probabilities (EOS included when finished)
    norm_score: float  # s(Y, X) = score / lp(|Y|) + cp(X; Y), the ranking key
    finished: bool  # ended with EOS; False when cut at max_len (or stopped with every token banned)
    # (steps, S) the attention weights the decoder had at each step of this search, the EOS step included when
    # finished (steps = len(tokens) + finished); S is the batch's padded source length, weight 0 past the
    # sentence's own.  None for a model without attention
    attention: np.ndarray | None = None


def _int(name: str, value: Any, low: int, high: int | None = None, bound: str = "") -> int:
    """``int(value)`` for an integer in [low, high) (>= low without ``high``); else ValueError naming ``name`` and,
    with ``bound``, what the top is ("beam_size": nbest's range shown closed, [1, beam_size])."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
            high is not None and value >= high):
        rng = f">= {low}" if high is None else f"in [{low}, {high})" if not bound else \
            f"in [{low}, {bound}] = [{low}, {high - 1}]"
        raise ValueError(f"Expected {name} to be an integer {rng}, got {value!r}")
    return int(value)


STOP_RULES = ("k-finished", "bound")  # when a sentence's beam search stops (see the module docstring)
PAD = PAD_ID  # the padding id of every vocabulary rnnkit builds (rnnkit.data.parallel, rnnkit.seq2seq.toy)


def _check(model: Any, bos: Any, eos: Any, pad: Any) -> np.ndarray:
    """Validates the arguments; returns the ids never generated (bos, and pad unless None)."""
    V = model.spec.vocab_size
    banned = [_int("bos", bos, 0, V)]
    if pad is not None:
        banned.append(_int("pad", pad, 0, V))
    eos = _int("eos", eos, 0, V)
    if eos in banned:
        never = f"bos ({bos})" + ("" if pad is None else f" and pad ({pad})")
        raise ValueError(f"Expected eos to differ from {never}, which are never generated, got eos={eos}")
    return np.array(sorted(set(banned)), dtype=np.int64)


def _limits(max_len: Any) -> np.ndarray | int:
    """``max_len`` checked before the encoder runs: an int >= 1, or a 1-D integer array of them."""
    if isinstance(max_len, np.ndarray):
        if max_len.ndim != 1 or max_len.dtype.kind not in "iu" or max_len.size == 0 or max_len.min() < 1:
            raise ValueError(f"Expected max_len as an int >= 1 or a (B,) integer array of them, got an array of "
                             f"shape {max_len.shape} and dtype {max_len.dtype}")
        return max_len.astype(np.int64)
    return _int("max_len", max_len, 1)


def check_length_norm(length_norm: Any) -> float:
    """alpha of lp(m) as a float: any finite real number >= 0 (numpy's too)."""
    return check_number("length_norm (alpha)", length_norm, 0.0)


def check_no_repeat(no_repeat_ngram: Any) -> int:
    """The n-gram size whose repeats are banned as an int >= 0 (0: none banned)."""
    return _int("no_repeat_ngram", no_repeat_ngram, 0)


def check_min_len(min_len: Any, max_len: Any) -> int:
    """``min_len`` as an int >= 0, refused when one fixed ``max_len`` (an int) is smaller: EOS is
    banned before min_len tokens, so no hypothesis could ever finish.  (min_len == max_len cannot
    finish either, max_len counting the EOS step, but it still returns the max_len-token prefix.)"""
    min_len = _int("min_len", min_len, 0)
    if isinstance(max_len, (int, np.integer)) and not isinstance(max_len, bool) and min_len > max_len:
        raise ValueError(f"Expected min_len <= max_len (EOS is banned before min_len tokens: nothing could "
                         f"finish), got min_len={min_len} and max_len={max_len}")
    return min_len


def _per_sentence(limits: np.ndarray | int, B: int) -> np.ndarray:
    """(B,) int64 limits; an array must have one per sentence."""
    if isinstance(limits, np.ndarray):
        if limits.shape != (B,):
            raise ValueError(f"Expected max_len with one limit per sentence, shape ({B},), got {limits.shape}")
        return limits
    return np.full(B, limits, dtype=np.int64)


def _encode(model: Any, src: Any, src_lengths: Any, src_ext: np.ndarray | None) -> Any:
    """``model.encode``, with the copy model's ``src_ext`` when given (any other model is called as before)."""
    return model.encode(src, src_lengths) if src_ext is None else model.encode(src, src_lengths, src_ext)


def _early(banned: np.ndarray, eos: int) -> np.ndarray:
    """The ids banned before ``min_len`` tokens: ``banned`` and eos."""
    return np.append(banned, eos)


def _masked_step(model: Any, ids: np.ndarray, carry: Any, banned: np.ndarray,
                 histories: Sequence[Sequence[int]] = (), no_repeat: int = 0
                 ) -> tuple[np.ndarray, np.ndarray | None, Any]:
    """``model.decode_step`` with the log-probabilities of the ``banned`` ids set to -inf, in place
    ((B, len(banned)) writes: no copy of the (B, V) array), and with ``no_repeat`` > 0 those of the
    tokens that would repeat a ``no_repeat``-gram of row r's generated tokens ``histories[r]``
    (:mod:`rnnkit.seq2seq.no_repeat`).  The only place decoding reads them."""
    logp, weights, carry = model.decode_step(ids, carry)  # (B, V)
    logp[:, banned] = -np.inf
    ban_repeats(logp, histories, no_repeat)
    return logp, weights, carry


def greedy_decode(model: Any, src: np.ndarray, src_lengths: np.ndarray | None, max_len: int | np.ndarray,
                  bos: int, eos: int, pad: int | None = PAD, min_len: int = 1, no_repeat_ngram: int = 0,
                  src_ext: np.ndarray | None = None) -> list[Hypothesis]:
    """The most probable next token other than ``bos`` and ``pad`` at every step, for the whole batch
    at once; one hypothesis per sentence (norm_score == score, not renormalised: see the module
    docstring).  ``src`` (S, B) and ``src_lengths`` (B,) as ``model.encode`` takes them; sentence b stops
    after ``max_len[b]`` steps (``max_len`` an int for all, or a (B,) array) and cannot end before
    ``min_len`` tokens; ``bos``, ``eos`` and ``pad`` are the special ids (pad None: none);
    ``no_repeat_ngram`` N > 0: no N-gram twice in an output; ``src_ext`` (S, B): a copy model's source
    extended ids (:mod:`rnnkit.seq2seq.copy`), whose outputs may then hold extended ids (>= V)."""
    banned = _check(model, bos, eos, pad)
    limits = _limits(max_len)
    min_len = check_min_len(min_len, limits)
    no_repeat = check_no_repeat(no_repeat_ngram)
    early = _early(banned, eos)
    carry = _encode(model, src, src_lengths, src_ext)
    B = carry.feed.shape[0]
    limits = _per_sentence(limits, B)  # (B,)
    ids = np.full(B, bos, dtype=np.int64)
    scores = np.zeros(B)  # float64 sums, as beam search keeps them
    done = np.zeros(B, dtype=bool)
    stuck = np.zeros(B, dtype=bool)  # every token banned (see the module docstring): stopped, unfinished
    tokens: list[list[int]] = [[] for _ in range(B)]
    attn: list[list[np.ndarray]] = [[] for _ in range(B)]
    for step in range(int(limits.max())):
        live = ~done & ~stuck & (step < limits)  # (B,) sentences still decoding
        if not live.any():
            break
        logp, weights, carry = _masked_step(model, ids, carry, early if step < min_len else banned, tokens,
                                            no_repeat)  # (B, V)
        nxt = np.argmax(logp, axis=1)  # (B,) a banned id only when every id is banned
        for b in np.flatnonzero(live):
            if logp[b, nxt[b]] == -np.inf:
                stuck[b] = True
                continue
            scores[b] = scores[b] + logp[b, nxt[b]]
            if weights is not None:
                attn[b].append(weights[b])
            if nxt[b] == eos:
                done[b] = True
            else:
                tokens[b].append(int(nxt[b]))
        ids = nxt
    return [Hypothesis(tuple(tokens[b]), float(scores[b]), float(scores[b]), bool(done[b]),
                       np.stack(attn[b]) if attn[b] else None) for b in range(B)]


@dataclass(frozen=True)
class _Ranking:
    """How one sentence's hypotheses are scored: s(Y, X) of :mod:`rnnkit.seq2seq.penalties`."""

    alpha: float  # lp's
    beta: float  # cp's
    source_length: int | None  # |X|, the sentence's source tokens (None: no coverage penalty)

    def score(self, log_prob: float, steps: int, attention: np.ndarray | None) -> float:
        cp = penalties.coverage_penalty(attention, self.beta, self.source_length)
        return penalties.gnmt_score(log_prob, steps, self.alpha, cp)

    def unfinished(self, beams: list[tuple[int, ...]], scores: np.ndarray, trails: list[tuple[np.ndarray, ...]]
                   ) -> list[Hypothesis]:
        """The live ``beams`` as hypotheses that did not end with EOS."""
        out = []
        for t, sc, trail in zip(beams, scores, trails):
            attention = np.stack(trail) if trail else None
            out.append(Hypothesis(t, float(sc), self.score(float(sc), len(t), attention), False, attention))
        return out


def check_stop(stop: Any) -> str:
    """``stop``, one of ``STOP_RULES``; else a one-line ValueError."""
    if not isinstance(stop, str) or stop not in STOP_RULES:
        raise ValueError(f"Expected stop to be one of {', '.join(STOP_RULES)}, got {stop!r}")
    return stop


def _nth_best(finished: list[Hypothesis], n: int) -> float:
    """The n-th best s(Y, X) of the ``finished`` hypotheses; -inf when fewer than n have finished."""
    if len(finished) < n:
        return -np.inf
    return sorted((h.norm_score for h in finished), reverse=True)[n - 1]


def _extend(beams: list[tuple[int, ...]], scores: np.ndarray, logp: np.ndarray, k: int, eos: int, rank: _Ranking,
            finished: list[Hypothesis], trails: list[tuple[np.ndarray, ...]] | None = None
            ) -> tuple[list[int], list[int], list[float]]:
    """One step of one sentence's search: its live ``beams`` with their ``scores`` (n,) and this step's
    ``logp`` (n, V).  EOS extensions among the best k join ``finished``, scored by ``rank``; returns (rows,
    tokens, scores) of the next beams, at most k, best first (see the module docstring).  ``trails``: each
    beam's attention rows up to and including this step's, which a finished hypothesis keeps."""
    V = logp.shape[1]
    flat = (scores[:, None] + logp).ravel()  # (n*V,) float64
    m = min(2 * k, flat.size)
    top = np.argpartition(-flat, m - 1)[:m]
    top = top[np.lexsort((top, -flat[top]))]  # best first, ties to the lower index like argmax
    rows: list[int] = []
    toks: list[int] = []
    new_scores: list[float] = []
    for place, idx in enumerate(top):
        if flat[idx] == -np.inf:  # a banned token; every later one is too (best first)
            break
        row, tok = divmod(int(idx), V)
        if tok == eos:
            if place < k:
                attention = None if trails is None else np.stack(trails[row])  # (n, S)
                score = float(flat[idx])
                finished.append(Hypothesis(beams[row], score, rank.score(score, len(beams[row]) + 1, attention),
                                           True, attention))
        elif len(rows) < k:
            rows.append(row)
            toks.append(tok)
            new_scores.append(flat[idx])
        if len(rows) == k:
            break
    return rows, toks, new_scores


def beam_search(model: Any, src: np.ndarray, src_lengths: np.ndarray | None, beam_size: int,
                max_len: int | np.ndarray, bos: int, eos: int, length_norm: float = 0.0, nbest: int = 1,
                pad: int | None = PAD, min_len: int = 1, no_repeat_ngram: int = 0, coverage_penalty: float = 0.0,
                src_ext: np.ndarray | None = None, stop: str = "k-finished") -> list[list[Hypothesis]]:
    """Beam search (see the module docstring) with ``beam_size`` beams for every sentence at once; ``src``,
    ``src_lengths``, ``max_len``, ``min_len``, ``no_repeat_ngram``, ``src_ext`` and the special ids as
    :func:`greedy_decode` takes them, ``length_norm`` the GNMT alpha (0: rank by the plain sum) and
    ``coverage_penalty`` GNMT's beta (0: none; > 0 needs a model with attention).  For each sentence its
    ``nbest`` best hypotheses, finished ones first, each group by ``norm_score`` = s(Y, X) best first.  ``bos``
    and ``pad`` are never generated; scores are the model's log-probabilities, not renormalised over the allowed
    tokens.  Each hypothesis keeps the attention rows of its own path through the search
    (``Hypothesis.attention``, as greedy decoding's): the weights the decoder had when it chose each of its
    tokens.  ``stop``: one of ``STOP_RULES``, when a sentence stops (see the module docstring)."""
    banned = _check(model, bos, eos, pad)
    limits = _limits(max_len)
    min_len = check_min_len(min_len, limits)
    check_stop(stop)
    k = _int("beam_size", beam_size, 1)
    _int("nbest", nbest, 1, k + 1, "beam_size")
    alpha = check_length_norm(length_norm)
    no_repeat = check_no_repeat(no_repeat_ngram)
    beta = penalties.check_coverage_penalty(coverage_penalty)
    if beta > 0 and getattr(model.spec, "attention", "none") == "none":
        raise ValueError(f"Expected a model with attention for coverage_penalty={beta} (cp sums the decoder's "
                         "attention weights), got one without attention; leave coverage_penalty at 0")
    carry = _encode(model, src, src_lengths, src_ext)
    B = carry.feed.shape[0]
    limits = _per_sentence(limits, B)  # (B,)
    # |X| of each sentence, from the memory's mask: the batch's padding is not a source token
    sources = carry.memory.mask.sum(axis=1) if beta > 0 else [None] * B  # (B,)
    ranks = [_Ranking(alpha, beta, None if n is None else int(n)) for n in sources]
    early = _early(banned, eos)
    beams: list[list[tuple[int, ...]]] = [[()] for _ in range(B)]  # each sentence's live hypotheses
    scores = [np.zeros(1) for _ in range(B)]  # (n,) float64 each
    found: list[list[Hypothesis]] = [[] for _ in range(B)]
    # each live beam's attention rows so far, (S,) each: the weights the search itself used, not a recomputation
    trails: list[list[tuple[np.ndarray, ...]]] = [[()] for _ in range(B)]
    live = list(range(B))  # the sentences still searching, in the order of their rows of the carry
    ids = np.full(B, bos, dtype=np.int64)
    step = 0
    while live:
        histories = [beam for b in live for beam in beams[b]] if no_repeat else ()  # each row's generated tokens
        logp, weights, carry = _masked_step(model, ids, carry, early if step < min_len else banned, histories,
                                            no_repeat)  # (rows, V)
        start = 0
        keep: list[int] = []
        next_ids: list[int] = []
        going_on = []
        for b in live:
            n = len(beams[b])
            stepped = None if weights is None else [trail + (weights[start + r],) for r, trail in enumerate(trails[b])]
            rows, toks, new_scores = _extend(beams[b], scores[b], logp[start : start + n], k, eos, ranks[b], found[b],
                                             stepped)
            if not rows and not found[b]:  # every extension banned: the beams so far are all it has
                found[b] += ranks[b].unfinished(beams[b], scores[b], trails[b])
            beams[b] = [beams[b][r] + (t,) for r, t in zip(rows, toks)]
            trails[b] = [() if stepped is None else stepped[r] for r in rows]
            scores[b] = np.array(new_scores, dtype=np.float64)
            if rows and (len(found[b]) < k if stop == "k-finished" else
                         penalties.may_still_win(scores[b][0], limits[b], alpha, _nth_best(found[b], nbest))):
                if step + 1 < limits[b]:
                    keep.extend(start + r for r in rows)
                    next_ids.extend(toks)
                    going_on.append(b)
                else:  # at its limit: the live beams are returned as unfinished hypotheses
                    found[b] += ranks[b].unfinished(beams[b], scores[b], trails[b])
            start += n
        live = going_on
        if live:
            carry = model.select(carry, np.array(keep, dtype=np.int64))
            ids = np.array(next_ids, dtype=np.int64)
        step += 1
    out = []
    for hyps in found:
        # stable sort: equal keys keep the order they were found in
        hyps.sort(key=lambda h: (not h.finished, -h.norm_score))
        out.append(hyps[:nbest])
    return out
