"""How sure a trained tagger is: token marginals, the n best tag sequences, and entity spans with their
probabilities, for :class:`~rnnkit.tagging.io.LoadedTagger` and ``rnnkit tag --probs/--nbest/--spans``.

Every number is a probability under the distribution whose best sequence the tagger prints:

* CRF output: the CRF's p(y | x) (over legal sequences only when the tag scheme constrains decoding);
* softmax output: the product of the tokens' softmax probabilities, which is the softmax itself per
  token; with a span scheme's constraints (decoding is then Viterbi over legal sequences) that product
  renormalised over legal sequences, so a marginal is 0 where no legal sequence puts the tag;
* HMM: P(t_i | w) by forward-backward (:meth:`rnnkit.hmm.HMMTagger.posteriors`), the scheme's
  constraints included.  A sentence no tag path can produce (Viterbi then falls back to a path of
  probability 0) gets NaN.  n-best and span probabilities need a neural tagger.

A span's probability is exact: P(the sentence's tag sequence reads as holding the span (type, start,
end)) under the rules of :func:`rnnkit.data.spans.spans`.  Reading a span needs only pairs of adjacent
tags (tag t continues the span of tag t-1 when it is I or E, t-1 is B or I, and their types match), so
it is a forward pass restricted to the span's steps from alpha_{start-1} to beta_end:

    v_start[k] = logsumexp_i(alpha_{start-1}[i] + A[i, k] [k starts a span of the type after i]) + E[start, k]
    v_t[k]     = logsumexp_i(v_{t-1}[i] + A[i, k] [k continues i's span of the type]) + E[t, k]
    log P      = logsumexp_{i,k}(v_{end-1}[i] + A[i, k] [k does not continue i] + E[end, k] + beta_end[k]) - log Z

(at the sentence's end the last line is ``logsumexp_i(v_{end-1}[i] + e[i]) - log Z``).

A model trained in another scheme than its data's (``--train-scheme``) is read through its own tags, and
every result then given in the data's scheme, exactly (:mod:`rnnkit.tagging.train_scheme`): sequences
through their spans, marginals summed over the model's tags that map to each (IOB1 from the pair
marginals P(y_{t-1} = i, y_t = j) = exp(alpha_{t-1}[i] + A[i, j] + E[t, j] + beta_t[j] - log Z)).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit.crf import crf_forward_backward
from rnnkit.crf_nbest import crf_nbest
from rnnkit.data.spans import spans as read_spans
from rnnkit.data.spans import split_tag
from rnnkit.tagging.scoring import SPAN_SCHEME

SPAN_SCHEMES = tuple(SPAN_SCHEME)  # our names of the span schemes: bio, iob1, bioes


@dataclass
class SentenceConfidence:
    """One sentence's prediction with its probabilities."""

    tags: list[str]  # the predicted tags, those rnnkit tag prints
    marginals: np.ndarray  # (n, K) P(y_t = k | sentence), columns in the order of LoadedTagger.tags (data's scheme)
    nbest: list[tuple[list[str], float]] | None = None  # (tags, probability), best first
    spans: list[dict[str, Any]] | None = None  # {"start", "end" (exclusive), "type", "text", "prob"}
    ids: Any = None  # (n,) the predicted tags' ids, the columns of marginals they pick

    @property
    def tag_probs(self) -> list[float]:
        """The marginal probability of each predicted tag."""
        return [float(p) for p in self.marginals[np.arange(len(self.tags)), self.ids]] if self.tags else []


class _SpanReader:
    """The pair rules of :func:`rnnkit.data.spans.spans` as boolean tables over a tag set."""

    def __init__(self, tags: list[str], scheme: str) -> None:
        parsed = [split_tag(t, SPAN_SCHEME[scheme]) for t in tags]
        prefix = np.array([p for p, _ in parsed])  # (K,)
        self.types = np.array([k for _, k in parsed])  # (K,)
        same = self.types[:, None] == self.types[None, :]  # (K, K)
        # tag k continues the span of tag i before it
        self.cont = np.isin(prefix, ["I", "E"])[None, :] & np.isin(prefix, ["B", "I"])[:, None] & same  # (K, K)
        self.inside = prefix != "O"  # (K,)

    def log_prob(self, E, A, s, e, alpha, beta, log_z, kind: str, start: int, end: int) -> float:
        """log P(span (kind, start, end)) of one sentence: E, alpha, beta (L, K); A, s, e constrained."""
        of_kind = self.inside & (self.types == kind)  # (K,)
        if start == 0:
            v = np.where(of_kind, s + E[0], -np.inf)  # (K,)
        else:
            begins = of_kind[None, :] & ~self.cont  # (K, K)
            v = np.logaddexp.reduce(alpha[start - 1][:, None] + np.where(begins, A, -np.inf), axis=0) + E[start]
        goes_on = np.where(self.cont & of_kind[None, :], A, -np.inf)  # (K, K)
        for t in range(start + 1, end):
            v = np.logaddexp.reduce(v[:, None] + goes_on, axis=0) + E[t]  # (K,)
        if end == len(E):
            total = np.logaddexp.reduce(v + e)
        else:
            stops = v[:, None] + np.where(self.cont, -np.inf, A) + (E[end] + beta[end])[None, :]  # (K, K)
            total = np.logaddexp.reduce(stops, axis=None)
        return float(total - log_z)


def _constrained(params: dict[str, np.ndarray], allowed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A, s, e) with forbidden moves at -inf, as the CRF functions apply ``allowed``."""
    A, s, e = params["transitions"], params["start_transitions"], params["end_transitions"]
    if allowed is None:
        return A, s, e
    ok, ok_start, ok_end = allowed
    return np.where(ok, A, -np.inf), np.where(ok_start, s, -np.inf), np.where(ok_end, e, -np.inf)


def _span_list(tags: list[str], words: list[str], scheme: str, probs) -> list[dict[str, Any]]:
    found = read_spans(tags, SPAN_SCHEME[scheme])
    return [{"start": a, "end": b, "type": kind, "text": " ".join(words[a:b]), "prob": probs(kind, a, b)}
            for kind, a, b in found]


def confidence(loaded: Any, data: Any, nbest: int = 0, spans: bool = False) -> list[SentenceConfidence]:
    """Each sentence's predicted tags (those of ``loaded.predict``) with their marginals, and the
    ``nbest`` best sequences and the spans when asked; an empty sentence gets empty results.

    ``loaded``: a :class:`~rnnkit.tagging.io.LoadedTagger`; ``data``: a
    :class:`~rnnkit.tagging.io.TaggingData`.  ValueError for n-best of an HMM, or spans of a model whose
    scheme is not a span scheme (``bio``, ``iob1``, ``bioes``).
    """
    scheme = loaded.spec.scheme
    if spans and scheme not in SPAN_SCHEMES:
        raise ValueError(f"Expected a model with span tags (scheme {', '.join(SPAN_SCHEMES)}) for spans, "
                         f"got scheme {scheme}")
    if loaded.kind != "tagger":
        if nbest:
            raise ValueError("Expected a neural tagger (CRF or softmax) for n-best sequences, got an HMM")
        return _hmm_confidence(loaded, data, spans)
    from rnnkit.tagging.task import make_batch, prediction_batches

    names = loaded.trained_tags  # the model's own, in loaded.train_scheme
    mapped = loaded.scheme_map  # ... read in the data's scheme
    column = {t: k for k, t in enumerate(loaded.tags)}
    K = len(column)
    reader = _SpanReader(names, loaded.train_scheme) if spans else None
    out = [SentenceConfidence([], np.zeros((0, K)), [] if nbest else None, [] if spans else None,
                              np.zeros(0, dtype=int))
           for _ in data.words]
    if loaded.encoder.features and data.features is None:
        raise ValueError(f"Expected input with the model's feature columns {list(loaded.spec.feature_columns)}: "
                         f"tag a column file with --format columns")
    enc = loaded.encoder.encode(data)
    model = loaded.model
    for idx in prediction_batches(enc):  # predict_ids' batches: the same tags, bit for bit
        s, cache = model.scores(make_batch(enc, idx))  # (T, B, K)
        lengths = cache.mask.sum(axis=0)  # (B,)
        paths = model.decode(s, lengths, loaded.allowed)
        E, params = model.chain(s.astype(np.float64))
        alpha, beta, log_z = crf_forward_backward(E, lengths, params, loaded.allowed)
        marg = np.exp(alpha + beta - log_z[None, :, None])  # (T, B, K), padding not read
        best = crf_nbest(E, lengths, params, nbest, loaded.allowed) if nbest else None
        A, s0, e = _constrained(params, loaded.allowed)
        for b, i in enumerate(idx):
            L = int(lengths[b])
            tags = mapped.sequence([names[j] for j in paths[b]])
            pairs = _pairs(alpha[:L, b], beta[:L, b], E[:L, b], A, log_z[b]) if mapped.needs_pairs else None
            sent = SentenceConfidence(tags, mapped.marginals(marg[:L, b].copy(), pairs), None, None,
                                      np.array([column[t] for t in tags], dtype=int))
            if best is not None:
                sent.nbest = [(mapped.sequence([names[j] for j in p]), float(np.exp(lp))) for p, lp in best[b]]
            if reader is not None:
                def prob(kind, a, z, b=b, L=L):
                    lp = reader.log_prob(E[:L, b], A, s0, e, alpha[:L, b], beta[:L, b], log_z[b], kind, a, z)
                    return float(np.exp(lp))

                sent.spans = _span_list(tags, data.words[i], scheme, prob)
            out[i] = sent
    return out


def _pairs(alpha: np.ndarray, beta: np.ndarray, E: np.ndarray, A: np.ndarray, log_z: float) -> np.ndarray:
    """(L-1, K, K) P(y_{t-1} = i, y_t = j) of one sentence from its (L, K) alpha, beta, emissions, constrained A."""
    return np.exp(alpha[:-1, :, None] + A[None] + (E[1:] + beta[1:])[:, None, :] - log_z)


def _hmm_confidence(loaded: Any, data: Any, spans: bool) -> list[SentenceConfidence]:
    """Posteriors by forward-backward (NaN for a sentence of probability 0); spans without probabilities."""
    hmm = loaded.model
    words = data.words
    if loaded.task.get("fold_width"):  # as LoadedTagger.predict reads them
        from rnnkit.data.segmentation import fold_sentences

        words = fold_sentences(words)
    predicted = loaded.predict(data)  # in the data's scheme
    mapped = loaded.scheme_map
    index = {t: k for k, t in enumerate(loaded.tags)}
    K = len(hmm.tags_)
    out = []
    for sentence, tags, original in zip(words, predicted, data.words):
        n = len(sentence)
        try:
            marg = hmm.posteriors(sentence) if sentence else np.zeros((0, K))
            pairs = hmm.pair_posteriors(sentence) if mapped.needs_pairs else None
        except ValueError:  # no tag path has non-zero probability
            marg = np.full((n, K), np.nan)
            pairs = np.full((max(n - 1, 0), K, K), np.nan) if mapped.needs_pairs else None
        marg = mapped.marginals(marg, pairs)
        found = _span_list(tags, original, loaded.spec.scheme, lambda *_: None) if spans else None
        out.append(SentenceConfidence(tags, marg, None, found, np.array([index[t] for t in tags], dtype=int)))
    return out
