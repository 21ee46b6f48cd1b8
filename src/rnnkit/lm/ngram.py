r"""N-gram language models of any order over integer token ids.

The model scores the same token stream as the RNN language model: every token of the evaluation ids
is predicted, ``<eos>`` included, ``<unk>`` being an ordinary token, and

    perplexity = exp(-(1/N) sum_i log p(w_i | history_i))       (natural log, N = number of tokens)

Sentence boundaries follow SRILM (so Mikolov's PTB numbers compare): with ``eos_id`` given, each
sentence -- the first one and every one after an ``eos_id`` -- is preceded by a start symbol ``<s>``
that is context only.  ``<eos>`` plays SRILM's ``</s>`` (predicted), ``<s>`` its ``<s>`` (never
predicted), and no history crosses a sentence boundary.  Without ``eos_id`` (character level, where
newline is an ordinary token) only the start of each whole sequence gets ``<s>``.  For the RNN LM
this means: predict every token of the file, the first one from an ``<eos>`` input.

A history passed to :meth:`NGramLM.logprob` or :meth:`NGramLM.distribution` is the full history of
the sequence so far: the model keeps what follows its last ``eos_id``, puts ``<s>`` in front and uses
the last order-1 tokens; so ``()`` is the start of a sequence.

Smoothing: ``"kneser_ney"`` (interpolated modified Kneser-Ney), ``"katz"`` (Katz backoff with
Good-Turing discounts) and ``"add_delta"``; see their modules for the equations.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, Callable

import numpy as np

from rnnkit.checks import check_int
from rnnkit.data.vocab import Vocabulary
from rnnkit.lm.add_delta import add_delta
from rnnkit.lm.katz import katz
from rnnkit.lm.kneser_ney import kneser_ney
from rnnkit.lm.ngram_counts import count_ngrams, find, lookup_nodes, pad_sequences

SMOOTHINGS = ("kneser_ney", "katz", "add_delta")
# how the order-k term combines with p_{k-1}: added to it, replacing it, or (add-delta) top order only;
# "backoff" is a model read from an ARPA file (rnnkit.lm.backoff.BackoffLM), never fitted
_MODES = {"kneser_ney": "interpolate", "katz": "backoff", "add_delta": "top", "backoff": "backoff"}
SCORE_CHUNK = 1 << 20  # positions scored at a time: scoring 18M tokens of PTB x 20 peaked at 5.5 GB in one piece


class NGramLM:
    """An n-gram language model: ``NGramLM(5).fit(ids, V, eos_id=eos).perplexity(test_ids)``.

    ``discounts`` (Kneser-Ney only) fixes (D_1, D_2, D_3+), as (3,) or (order, 3), instead of
    estimating them; ``delta`` (add-delta only, default 1: Laplace) is the count added to every
    n-gram.  Either given for another smoothing is a ValueError.  Learned state ends in ``_``.
    """

    def __init__(
        self,
        order: int = 3,
        smoothing: str = "kneser_ney",
        delta: float | None = None,
        discounts: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        check_int("order", order, 1)
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"Expected smoothing to be one of {SMOOTHINGS}, got {smoothing!r}")
        if delta is not None and smoothing != "add_delta":
            raise ValueError(f"Expected delta only with smoothing 'add_delta' (it is its delta), got smoothing "
                             f"{smoothing!r}")
        delta = 1.0 if delta is None else delta  # add-one (Laplace) unless given
        if isinstance(delta, bool) or not isinstance(delta, (int, float, np.number)) or not np.isfinite(delta) \
                or delta <= 0:
            raise ValueError(f"Expected delta to be a finite number > 0, got {delta!r}")
        if discounts is not None:
            if smoothing != "kneser_ney":
                raise ValueError(f"Expected discounts only with smoothing 'kneser_ney' (they are its D1, D2, D3+), "
                                 f"got smoothing {smoothing!r}")
            shape = np.shape(discounts)
            if shape not in ((3,), (int(order), 3)):
                raise ValueError(f"Expected discounts of shape (3,) or ({order}, 3), got {shape}")
            d = np.asarray(discounts, dtype=np.float64).reshape(-1, 3)
            # D_k takes at most k from an n-gram seen k times: more would leave it a negative probability
            if not np.all(np.isfinite(d)) or np.any(d < 0) or np.any(d > np.array([1.0, 2.0, 3.0])):
                raise ValueError(f"Expected discounts D1 in [0, 1], D2 in [0, 2], D3+ in [0, 3], got "
                                 f"{np.asarray(discounts).tolist()}")
        self.order = int(order)
        self.smoothing = smoothing
        self.delta = float(delta)
        self.discounts = discounts

    def fit(self, data: Iterable, vocab_size: int, eos_id: int | None = None) -> NGramLM:
        """Count and smooth ``data``: one id stream (N,) or a list of sequences, each starting afresh."""
        V = check_int("vocab_size", vocab_size, 1)
        eos = check_int("eos_id", eos_id, 0, allow_none=True)
        if eos is not None and eos >= V:
            raise ValueError(f"Expected eos_id in [0, {V}) or None, got {eos_id!r}")
        seqs = self._sequences(data, "data", V)
        if sum(s.size for s in seqs) == 0:
            raise ValueError("Expected data with at least one token, got none")
        seq, depth = pad_sequences(seqs, eos, start_id=V)
        ng = count_ngrams(seq, depth, self.order, V + 1)
        if self.smoothing == "kneser_ney":
            probs, bows, disc = kneser_ney(ng, self.discounts)
        elif self.smoothing == "katz":
            probs, bows, disc = katz(ng)
        else:
            probs, bows = add_delta(ng, self.delta)
            disc = np.zeros((self.order, 0))
        self.vocab_size_ = V
        self.eos_id_ = eos
        self.keys_ = ng.keys
        self.counts_ = ng.counts
        self.probs_ = probs
        self.bows_ = bows
        self.discounts_ = disc  # KN: (order, 3) D_1, D_2, D_3+; Katz: (order, 6) d_r; add-delta: empty
        return self

    # ---- scoring -------------------------------------------------------------------------------

    def token_logprobs(self, ids: Iterable, on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """log p(w_i | history_i) (N,) of every token of a stream or list of sequences (natural log).
        ``on_batch``: called with the tokens of each span scored (a progress display; they add up to N)."""
        self._check_fitted()
        seqs = self._sequences(ids, "ids")
        seq, depth = pad_sequences(seqs, self.eos_id_, start_id=self.vocab_size_)
        # a span of SCORE_CHUNK positions at a time, with the order - 1 before it in front (a k-gram's node
        # at a position depends on the k - 1 positions before it only): temporaries of the span's size
        back, parts = self.order - 1, []
        for a in range(0, seq.size, SCORE_CHUNK):
            b, s = min(a + SCORE_CHUNK, seq.size), max(a - back, 0)
            p = self._score_positions(seq[s:b], depth[s:b])  # one p per predicted token (not the <s>)
            parts.append(_log(p[int(np.count_nonzero(seq[s:a] != self.vocab_size_)) :]))
            if on_batch is not None:
                on_batch(parts[-1].size)
        return np.concatenate(parts) if parts else np.zeros(0)

    def perplexity(self, ids: Iterable) -> float:
        """exp of the mean negative log-likelihood over every token of ``ids``."""
        logp = self.token_logprobs(ids)
        if logp.size == 0:
            raise ValueError("Expected ids with at least one token, got none")
        return float(np.exp(-logp.mean()))

    def logprob(self, context: Sequence[int], token_id: int) -> float:
        """log p(token_id | context), natural log; ``context`` is the history so far (see module doc)."""
        self._check_fitted()
        token = self._ids([token_id], "token_id")
        hist = self._history(context)
        seq = np.concatenate([hist, token])  # (L+1,)
        depth = np.arange(1, seq.size + 1)
        return float(_log(self._score_positions(seq, depth, only_last=True))[0])

    def distribution(self, context: Sequence[int]) -> np.ndarray:
        """p(. | context) (V,) float64, summing to 1."""
        self._check_fitted()
        hist = self._history(context)
        S = self.vocab_size_ + 1
        words = np.arange(self.vocab_size_)  # (V,)
        L = hist.size
        ctx_nodes = []
        gram_nodes = []
        for k in range(1, self.order + 1):
            if k == 1:
                ctx = np.zeros(1, dtype=np.int64)
                gram = words
            elif k - 1 <= L:
                # the history of order k is the last k-1 tokens of hist, a (k-1)-gram ending at L-1
                ctx = _suffix_node(self.keys_, hist, k - 1)
                gram = find(self.keys_[k - 1], np.where(ctx >= 0, ctx * S + words, -1))
            else:
                ctx = np.full(1, -1, dtype=np.int64)
                gram = np.full(words.size, -1, dtype=np.int64)
            ctx_nodes.append(np.broadcast_to(ctx, words.shape))
            gram_nodes.append(gram)
        top = np.full(words.size, min(self.order, L + 1))
        return self._score(ctx_nodes, gram_nodes, top)

    def _score_positions(self, seq: np.ndarray, depth: np.ndarray, only_last: bool = False) -> np.ndarray:
        """p of each predicted token of a padded stream (the last one only if ``only_last``)."""
        nodes = lookup_nodes(self.keys_, seq, depth)
        if only_last:
            pos = np.array([seq.size - 1])
        else:
            pos = np.flatnonzero(seq != self.vocab_size_)  # every position but the <s>
        d = depth[pos]  # (P,)
        ctx_nodes = [np.zeros(pos.size, dtype=np.int64)]
        gram_nodes = [nodes[0][pos]]
        for k in range(2, self.order + 1):
            has = d >= k
            ctx_nodes.append(np.where(has, nodes[k - 2][np.maximum(pos - 1, 0)], -1))
            gram_nodes.append(np.where(has, nodes[k - 1][pos], -1))
        return self._score(ctx_nodes, gram_nodes, np.minimum(d, self.order))

    def _score(self, ctx_nodes: list[np.ndarray], gram_nodes: list[np.ndarray], top: np.ndarray) -> np.ndarray:
        """Combine the orders bottom-up; ``ctx_nodes[k-1]``/``gram_nodes[k-1]`` (P,) index tables k-1/k."""
        mode = _MODES[self.smoothing]
        uniform = 1.0 / self.vocab_size_
        p = np.full(top.shape, uniform)  # (P,) p_0
        for k in range(1, self.order + 1):
            ctx = ctx_nodes[k - 1]
            gram = gram_nodes[k - 1]
            active = ctx >= 0
            if mode == "top":
                active = active & (top == k)
            bow = _take(self.bows_[k - 1], np.where(active, ctx, -1), 1.0)
            explicit = _take(self.probs_[k - 1], gram, 0.0)
            lower = uniform if mode == "top" else p
            if mode == "backoff":
                new = np.where(gram >= 0, explicit, bow * lower)
            else:
                new = explicit + bow * lower
            p = np.where(active, new, p)
        return p

    # ---- inputs --------------------------------------------------------------------------------

    def _history(self, context: Sequence[int]) -> np.ndarray:
        """<s> + the context after its last eos, cut to the last order-1 tokens (L,) int64."""
        ids = self._ids(context, "context")
        if self.eos_id_ is not None:
            ends = np.flatnonzero(ids == self.eos_id_)
            if ends.size:
                ids = ids[ends[-1] + 1 :]
        hist = np.concatenate([[self.vocab_size_], ids]).astype(np.int64)  # (L,)
        keep = self.order - 1  # the longest history the model conditions on
        return hist[max(0, hist.size - keep) :] if keep > 0 else hist[:0]  # (a start < 0 would count from the end)

    def _ids(self, values: Iterable, name: str, V: int | None = None) -> np.ndarray:
        """Validated int64 ids (N,) in [0, V), V being the fitted vocabulary size unless given."""
        V = self.vocab_size_ if V is None else V
        if isinstance(values, (int, np.integer)):
            values = [values]
        arr = np.asarray(values)
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"Expected {name} to be a 1-D sequence of int ids, got {arr.dtype} of shape {arr.shape}")
        bad = (arr < 0) | (arr >= V)
        if bad.any():
            raise ValueError(f"Expected {name} in [0, {V}), got {int(arr[bad][0])}")
        return arr.astype(np.int64)

    def _sequences(self, data: Iterable, name: str, V: int | None = None) -> list[np.ndarray]:
        """One stream (an array or a list of ints) or several sequences, as a list of id arrays."""
        if isinstance(data, np.ndarray):
            return [self._ids(data, name, V)]
        data = list(data)
        token = next((x for x in data if isinstance(x, str) or (isinstance(x, (list, tuple)) and x
                                                                 and isinstance(x[0], str))), None)
        if token is not None:  # tokens, not ids: each str would be read as a sequence of shape ()
            raise TypeError(f"Expected {name} to be int ids, got str tokens ({token!r}); turn tokens into ids with "
                            "a Vocabulary: vocab.encode(tokens)")
        if all(np.isscalar(x) for x in data):  # one stream (floats, bools: said by _ids with their dtype)
            return [self._ids(data, name, V)]
        return [self._ids(s, name, V) for s in data]

    def _check_fitted(self) -> None:
        if not hasattr(self, "probs_"):
            raise ValueError("Expected a fitted model, got one without counts: call fit() or load() first")

    # ---- generation ----------------------------------------------------------------------------

    def step_log_probs(self, ids: np.ndarray, state: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Read ids (T, 1) after the history ``state``; return log p(next | ...) (1, V) and the new state.

        The same protocol as :meth:`rnnkit.lm.model.LanguageModel.step_log_probs`, so
        :func:`rnnkit.lm.generate.sample_ids` samples from an n-gram model too.  The state is the last
        order - 1 ids read (None: the start of a sequence), all the model conditions on.
        """
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[1] != 1:
            raise ValueError(f"Expected ids of shape (T, 1), got {ids.shape}")
        hist = ids[:, 0] if state is None else np.concatenate([state, ids[:, 0]])
        keep = self.order - 1
        hist = hist[max(0, hist.size - keep) :] if keep > 0 else hist[:0]
        return _log(self.distribution(hist))[None, :], hist

    # ---- files ---------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, vocab: Vocabulary | None = None, level: str | None = None,
             bpe_model: bytes | None = None) -> None:
        """Write the model (and ``vocab``, the token ``level`` and, at level ``bpe``, the SentencePiece
        ``bpe_model`` bytes, if given) atomically to one checkpoint file; see :func:`rnnkit.lm.io.save_ngram`."""
        from rnnkit.lm.io import save_ngram

        save_ngram(path, self, vocab, level, bpe_model)

    @classmethod
    def load(cls, path: str | os.PathLike) -> NGramLM:
        """Read a model written by :meth:`save`."""
        from rnnkit.lm.io import load_ngram

        return load_ngram(path)[0]

    @staticmethod
    def load_vocabulary(path: str | os.PathLike) -> Vocabulary | None:
        """The vocabulary saved with the model, or None."""
        from rnnkit.lm.io import load_ngram

        return load_ngram(path)[1]

    def config(self) -> dict[str, Any]:
        """What rebuilds the fitted model from its arrays (with :meth:`from_arrays`)."""
        self._check_fitted()
        return {"order": self.order, "smoothing": self.smoothing, "delta": self.delta,
                "vocab_size": self.vocab_size_, "eos_id": self.eos_id_}

    def arrays(self) -> dict[str, np.ndarray]:
        """The fitted tables under flat names (``keys.k``, ``counts.k``, ``probs.k``, ``bows.k``, ``discounts``)."""
        self._check_fitted()
        out = {"discounts": np.ascontiguousarray(self.discounts_, dtype=np.float64)}
        for k in range(1, self.order + 1):
            for name, tables in (("keys", self.keys_), ("counts", self.counts_), ("probs", self.probs_),
                                 ("bows", self.bows_)):
                out[f"{name}.{k}"] = np.ascontiguousarray(tables[k - 1])
        return out

    @classmethod
    def from_arrays(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> NGramLM:
        """Inverse of :meth:`config` and :meth:`arrays`; KeyError, TypeError or ValueError when one is damaged."""
        model = cls(config["order"], config["smoothing"],
                    config["delta"] if config["smoothing"] == "add_delta" else None)
        n = model.order
        model.vocab_size_ = check_int("vocab_size", config["vocab_size"], 1)
        eos = config["eos_id"]
        model.eos_id_ = None if eos is None else check_int("eos_id", eos, 0)
        if model.eos_id_ is not None and model.eos_id_ >= model.vocab_size_:
            raise ValueError(f"eos_id {model.eos_id_} is not below vocab_size {model.vocab_size_}")
        model.keys_ = [arrays[f"keys.{k}"] for k in range(1, n + 1)]
        model.counts_ = [arrays[f"counts.{k}"] for k in range(1, n + 1)]
        model.probs_ = [arrays[f"probs.{k}"] for k in range(1, n + 1)]
        model.bows_ = [arrays[f"bows.{k}"] for k in range(1, n + 1)]
        model.discounts_ = arrays["discounts"]
        _check_tables(model)
        return model


def _check_tables(model: NGramLM) -> None:
    """ValueError naming the first table of a loaded model that could not have been fitted.

    Keys, counts and probabilities of one length per order, the back-off weights one per context (the
    order below's n-grams); integers of 32 or 64 bits, floats float32 or float64; every entry finite and
    >= 0; probabilities at most 1, and so are the weights but for Katz's (his back-off weights may exceed
    1); keys.1 every symbol in order, each higher order's keys strictly increasing (lookups bisect them)
    and naming a context that the order below has.
    """
    S = model.vocab_size_ + 1  # every token, and <s>
    if model.keys_[0].ndim != 1 or len(model.keys_[0]) != S:
        raise ValueError(f"vocab_size {model.vocab_size_} does not fit table keys.1 of shape {model.keys_[0].shape}")
    for k in range(model.order):
        keys, counts, probs, bows = model.keys_[k], model.counts_[k], model.probs_[k], model.bows_[k]
        n = len(keys) if keys.ndim == 1 else -1
        contexts = 1 if k == 0 else len(model.keys_[k - 1])
        for name, t, size, kinds in (("keys", keys, n, "iu"), ("counts", counts, n, "iu"), ("probs", probs, n, "f"),
                                     ("bows", bows, contexts, "f")):
            if t.ndim != 1 or len(t) != size or t.dtype.kind not in kinds or t.dtype.itemsize < 4:
                want = "integers of 32 or 64 bits" if kinds == "iu" else "float32 or float64"
                raise ValueError(f"Expected table {name}.{k + 1} of {want} of shape ({size},), got {t.dtype} of "
                                 f"shape {t.shape}")
            if t.size and not (t >= 0).all() or (kinds == "f" and not np.isfinite(t).all()):  # NaN fails >= 0
                raise ValueError(f"table {name}.{k + 1} holds a negative, NaN or infinite entry")
        if probs.size and probs.max() > 1:
            raise ValueError(f"table probs.{k + 1} holds a probability above 1 ({probs.max():.6g})")
        if model.smoothing != "katz" and bows.size and bows.max() > 1 + 1e-9:
            raise ValueError(f"table bows.{k + 1} holds an interpolation weight above 1 ({bows.max():.6g})")
        if k == 0 and not np.array_equal(keys, np.arange(S)):
            raise ValueError("table keys.1 is not the symbols 0, 1, 2, ... in order")
        if k and keys.size and ((np.diff(keys) <= 0).any() or keys[-1] // S >= contexts):
            raise ValueError(f"table keys.{k + 1} is out of order, or names a context that table keys.{k} "
                             "does not have")


def _suffix_node(keys: list[np.ndarray], hist: np.ndarray, length: int) -> np.ndarray:
    """Node (1,) in table ``length`` of the last ``length`` tokens of ``hist``, -1 if unseen."""
    gram = hist[hist.size - length :]
    nodes = lookup_nodes(keys, gram, np.arange(1, length + 1))
    return nodes[length - 1][-1:]


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


def _take(table: np.ndarray, idx: np.ndarray, fill: float) -> np.ndarray:
    """table[idx] where idx >= 0, else fill; an empty table (an order no training sentence reaches,
    e.g. 5-grams of two-word lines) has only -1 entries pointing into it."""
    if table.size == 0:
        return np.full(idx.shape, fill)
    return np.where(idx >= 0, table[np.maximum(idx, 0)], fill)
