r"""A back-off n-gram model given by its tables, as an ARPA file lists them (see :mod:`rnnkit.lm.arpa_read`).

For a history h = (h_1 .. h_{k-1}) and token w, with lp and bow the listed log10 probabilities and
back-off weights::

    p(w | h) = 10^lp(h, w)                          if (h, w) is listed
             = 10^bow(h) * p(w | h_2 .. h_{k-1})    otherwise (bow(h) = 0 when h is not listed)

which is the ``"backoff"`` combination of :meth:`rnnkit.lm.ngram.NGramLM._score` (Katz's), so the model
scores, samples and interpolates through every path an :class:`~rnnkit.lm.NGramLM` takes.  The tables
are the same trie (see :mod:`rnnkit.lm.ngram_counts`): an n-gram's key is its first k-1 tokens' node in
table k-1 times S, plus its last token.  That needs every listed n-gram's first k-1 tokens listed too,
which pruned models (SRILM's ``ngram -prune``) do not always do: such a missing context is added as
a *blank* entry whose probability is what the rule above gives it, and whose weight is 1 (log 0), so
it changes no probability; KenLM fills the same gaps the same way.
"""
from __future__ import annotations

import numpy as np

from rnnkit.checks import check_int
from rnnkit.english import a_or_an
from rnnkit.lm.ngram import NGramLM
from rnnkit.lm.ngram_counts import find


class DuplicateNGram(ValueError):
    """An n-gram given twice: ``order`` and ``index``, its second row in the rows of that order."""

    def __init__(self, order: int, index: int) -> None:
        super().__init__(f"{a_or_an(order)} {order}-gram is listed twice (row {index} of that order)")
        self.order = order
        self.index = index


class BackoffLM(NGramLM):
    """A back-off n-gram model of listed probabilities and weights: an ARPA file's.  It scores, samples and
    interpolates as :class:`~rnnkit.lm.NGramLM` does; it is read (:func:`rnnkit.lm.arpa_read.read_arpa`),
    not fitted, and saved as its ARPA file (:func:`rnnkit.lm.arpa.save_arpa`), not as a checkpoint."""

    def __init__(self, order: int = 3) -> None:
        check_int("order", order, 1)
        self.order = int(order)
        self.smoothing = "backoff"
        self.delta = 1.0
        self.discounts = None

    def fit(self, data, vocab_size, eos_id=None):  # noqa: ANN001, ANN201 (refused whatever it is given)
        """Always raises TypeError: a back-off model's probabilities and weights are the ones its ARPA file
        lists (:func:`~rnnkit.lm.arpa_read.read_arpa`), with no counts to refit them from.  To fit an n-gram
        model to data use :class:`~rnnkit.lm.NGramLM` (``NGramLM(order, "kneser_ney").fit(...)``)."""
        raise TypeError("a BackoffLM is read from an ARPA file, not fitted: fit NGramLM(order, 'kneser_ney')")

    def save(self, path, vocab=None, level=None) -> None:  # noqa: ANN001
        """Always raises ValueError: an NGramLM checkpoint holds counts, which an ARPA model has not.  Save
        it as an ARPA file, the form rnnkit reads it back from: :func:`rnnkit.lm.arpa.save_arpa`
        ``(path, model, vocab)``."""
        raise ValueError("a model read from an ARPA file is saved as one: rnnkit.lm.arpa.save_arpa(path, model, "
                         "vocab) (the file itself is what rnnkit reads back)")

    @classmethod
    def from_tables(cls, vocab_size: int, eos_id: int | None, rows: list[np.ndarray], logp: list[np.ndarray],
                    bows: list[np.ndarray]) -> BackoffLM:
        """The model of ``rows[k-1]`` (n_k, k), the k-grams of order k as symbol ids (0..V-1 the tokens, V the
        start symbol <s>), with their log10 probabilities ``logp[k-1]`` (n_k,) and log10 back-off weights
        ``bows[k-1]`` (n_k,) (0 where none is listed; the highest order's are not read).  Order 1 lists
        every symbol once.  DuplicateNGram when an n-gram comes twice."""
        model = cls(len(rows))
        V = check_int("vocab_size", vocab_size, 1)
        S = V + 1
        first = np.asarray(rows[0]).reshape(-1)
        if first.size != S or not np.array_equal(np.sort(first), np.arange(S)):
            raise ValueError(f"Expected the unigrams to list each of the {S} symbols once, got {first.size} rows")
        keys, rows, logp, bows, origin = _tables(S, rows, logp, bows)
        model.vocab_size_ = V
        model.eos_id_ = eos_id
        model.keys_ = keys
        model.probs_ = [_pow10(x) for x in logp]  # table 1 is sorted by symbol: entry w is w's
        model.probs_[0][V] = 0.0  # <s> is never predicted, whatever the file gives it
        model.bows_ = [np.ones(1)] + [_pow10(b) for b in bows[:-1]]  # a blank's weight: 10^0 = 1
        for k in range(2, model.order + 1):  # blanks take what backing off gives them, lower orders first
            blank = np.flatnonzero(origin[k - 1] < 0)
            if blank.size:
                model.probs_[k - 1][blank] = _backed_off(model, rows[k - 1][blank])
        return model


def _tables(S: int, rows: list[np.ndarray], logp: list[np.ndarray], bows: list[np.ndarray]) -> tuple:
    """``(keys, rows, logp, bows, origin)``, each a list over the orders, in key order, with a blank row
    (log10 p NaN, weight 0, origin -1) for every missing context; ``origin`` is each row's index in the
    rows given (so that a caller can name the line of a duplicate)."""
    rows = [np.asarray(r) for r in rows]  # int32 from the reader: half the memory of int64
    logp = [np.asarray(x, dtype=np.float64) for x in logp]
    bows = [np.asarray(x, dtype=np.float64) for x in bows]
    origin = [np.arange(len(r), dtype=np.int32 if len(r) < 2**31 else np.int64) for r in rows]
    tables = [rows, logp, bows, origin]
    by_symbol = np.argsort(rows[0][:, 0])
    for t in tables:
        t[0] = t[0][by_symbol]
    keys = [np.arange(S, dtype=np.int64)]
    k = 2
    while k <= len(rows):
        r = rows[k - 1]  # (n_k, k)
        parent = _nodes(keys, r[:, : k - 1], S)  # (n_k,) each n-gram's first k-1 tokens in table k-1
        missing = parent < 0
        if missing.any():  # add the missing contexts to table k-1 and build it (and what they miss) again
            blanks = np.unique(r[missing, : k - 1], axis=0)  # (m, k-1)
            m = len(blanks)
            for t, extra in zip(tables, (blanks, np.full(m, np.nan), np.zeros(m), np.full(m, -1))):
                t[k - 2] = np.concatenate([t[k - 2], extra])
            del keys[k - 2 :]
            k -= 1
            continue
        key = parent * S + r[:, k - 1]  # (n_k,)
        order = np.argsort(key, kind="stable")
        key = key[order]
        twice = np.flatnonzero(key[1:] == key[:-1])
        if twice.size:
            raise DuplicateNGram(k, int(origin[k - 1][order[twice[0] + 1]]))
        for t in tables:
            t[k - 1] = t[k - 1][order]
        keys.append(key)
        k += 1
    return keys, rows, logp, bows, origin


def _nodes(keys: list[np.ndarray], toks: np.ndarray, S: int) -> np.ndarray:
    """Node of each row of ``toks`` (n, m), an m-gram, in table m (-1 where it is not listed)."""
    node = toks[:, 0].astype(np.int64)  # node * S + token must not overflow 32-bit ids
    for c in range(1, toks.shape[1]):
        node = find(keys[c], np.where(node >= 0, node * S + toks[:, c], -1))
    return node


def _backed_off(model: BackoffLM, toks: np.ndarray) -> np.ndarray:
    """p(w | h) (n,) of rows (h, w) of ``toks`` (n, k) as if (h, w) were not listed: bow(h) p(w | h')."""
    n, k = toks.shape
    S = model.vocab_size_ + 1
    ctx_nodes, gram_nodes = [], []
    for j in range(1, model.order + 1):
        ctx = np.full(n, -1, dtype=np.int64)
        gram = np.full(n, -1, dtype=np.int64)
        if j == 1:
            ctx = np.zeros(n, dtype=np.int64)
            gram = toks[:, -1].astype(np.int64)
        elif j <= k:
            ctx = _nodes(model.keys_, toks[:, k - j : k - 1], S)
            if j < k:  # order k itself is left out: that is backing off
                gram = _nodes(model.keys_, toks[:, k - j :], S)
        ctx_nodes.append(ctx)
        gram_nodes.append(gram)
    return model._score(ctx_nodes, gram_nodes, np.full(n, k))


def _pow10(x: np.ndarray) -> np.ndarray:
    """10^x (-inf gives 0: SRILM's and KenLM's -99 is read as the 10^-99 it says)."""
    return np.power(10.0, x)
