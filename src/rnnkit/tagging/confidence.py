"""How sure a trained tagger is: token marginals, the n best tag sequences, and entity spans with their
probabilities, for :class:`~rnnkit.tagging.loaded.LoadedTagger` and ``rnnkit tag --probs/--nbest/--spans``.

Every number is a probability under the distribution whose best sequence the tagger prints:

* CRF output: the CRF's p(y | x) (over legal sequences only when the tag scheme constrains decoding);
* softmax output: the product of the tokens' softmax probabilities, which is the softmax itself per
  token; with a span scheme's constraints (decoding is then Viterbi over legal sequences) that product
  renormalised over legal sequences, so a marginal is 0 where no legal sequence puts the tag;
* HMM: P(t | w) = P(w, t) / P(w), the scheme's constraints included: marginals by forward-backward
  (:meth:`rnnkit.hmm.HMMTagger.posteriors`), the n best by list Viterbi (:mod:`rnnkit.hmm_nbest`),
  spans by :func:`rnnkit.hmm_forward.window_probability`.  A sentence no tag path can produce (P(w) = 0:
  Viterbi then falls back to a guess, see :meth:`rnnkit.hmm.HMMTagger.tag_with_score`) has no
  probabilities: ``possible`` False, marginals and span probabilities NaN, and no n best (``[]``, as
  :meth:`rnnkit.hmm.HMMTagger.nbest` says "no sequence is possible").

A span's probability is exact: P(the sentence's tag sequence reads as holding the span (type, start,
end)) under the rules of :func:`rnnkit.data.spans.spans`.  Reading a span needs only pairs of adjacent
tags (tag t continues the span of tag t-1 when it is I or E, t-1 is B or I, and their types match), so
it is a forward pass restricted to the span's steps from alpha_{start-1} to beta_end:

    v_start[k] = logsumexp_i(alpha_{start-1}[i] + A[i, k] [k starts a span of the type after i]) + E[start, k]
    v_t[k]     = logsumexp_i(v_{t-1}[i] + A[i, k] [k continues i's span of the type]) + E[t, k]
    log P      = logsumexp_{i,k}(v_{end-1}[i] + A[i, k] [k does not continue i] + E[end, k] + beta_end[k]) - log Z

(at the sentence's end the last line is ``logsumexp_i(v_{end-1}[i] + e[i]) - log Z``).  The HMM runs the
same restricted pass over its own forward and backward variables (:meth:`_SpanReader.pair_masks`
gives the allowed (previous tag, tag) pairs of each step, first or second order alike).

A model trained in another scheme than its data's (``--train-scheme``), CRF, softmax or HMM, is read
through its own tags, and every result then given in the data's scheme, exactly
(:mod:`rnnkit.tagging.train_scheme`): sequences (the best and the n best) through their spans with
their probabilities unchanged, span probabilities computed in the model's scheme (a span is the same
event in both), marginals summed over the model's tags that map to each (IOB1 from the pair marginals
P(y_{t-1} = i, y_t = j): exp(alpha_{t-1}[i] + A[i, j] + E[t, j] + beta_t[j] - log Z) for a CRF,
:func:`rnnkit.hmm_forward.pair_posteriors` for an HMM).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit.crf import crf_forward_backward
from rnnkit.crf_nbest import crf_nbest
from rnnkit.data.spans import spans as read_spans
from rnnkit.data.spans import split_tag
from rnnkit.hmm_forward import backward, forward, pair_posteriors, tag_posteriors, window_probability
from rnnkit.hmm_nbest import hmm_nbest
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
    possible: bool = True  # False: an HMM's sentence of probability 0, tags a fallback guess, probabilities NaN

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

    def pair_masks(self, kind: str, start: int, end: int, n: int) -> np.ndarray:
        """(m, K+1, K) the (previous tag, tag) pairs that hold span (kind, start, end) at steps start ..
        min(end, n-1) of an n-word sentence, row K the BOS before the first word: begun at start,
        continued inside, not continued at end."""
        K = len(self.types)
        cont = np.zeros((K + 1, K), dtype=bool)  # (K+1, K): nothing continues BOS
        cont[:K] = self.cont
        of_kind = self.inside & (self.types == kind)  # (K,)
        masks = [of_kind[None, :] & ~cont] + [of_kind[None, :] & cont] * (end - start - 1)
        if end < n:
            masks.append(~cont)
        return np.array(masks)  # (m, K+1, K)


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


def confidence(loaded: Any, data: Any, nbest: int = 0, spans: bool = False,
               pathless: set[int] | None = None) -> list[SentenceConfidence]:
    """Each sentence's predicted tags (those of ``loaded.predict``) with their marginals, and the
    ``nbest`` best sequences and the spans when asked.  An empty sentence gets no tags, an (0, K) array of
    marginals, no spans, and one sequence, the empty one, of probability 1 (as :meth:`rnnkit.hmm.HMMTagger.nbest`
    gives it): the first of the n best is the predicted sequence, except for an HMM's sentence of probability 0
    (``possible`` False), which has no n best.

    ``loaded``: a :class:`~rnnkit.tagging.loaded.LoadedTagger`; ``data``: a
    :class:`~rnnkit.tagging.io.TaggingData`.  ValueError for spans of a model whose scheme is not a span
    scheme (``bio``, ``iob1``, ``bioes``).  ``pathless``: ``loaded.no_path(data)``, when the caller has it.
    """
    scheme = loaded.spec.scheme
    if spans and scheme not in SPAN_SCHEMES:
        raise ValueError(f"Expected a model with span tags (scheme {', '.join(SPAN_SCHEMES)}) for spans, "
                         f"got scheme {scheme}")
    if loaded.kind != "tagger":
        return _hmm_confidence(loaded, data, nbest, spans)
    from rnnkit.tagging.task import make_batch, prediction_batches, rule_batches

    names = loaded.trained_tags  # the model's own, in loaded.train_scheme
    mapped = loaded.scheme_map  # ... read in the data's scheme
    column = {t: k for k, t in enumerate(loaded.tags)}
    K = len(column)
    reader = _SpanReader(names, loaded.train_scheme) if spans else None
    out = [_empty(K, nbest, spans) for _ in data.words]
    if loaded.encoder.features and data.features is None:
        from rnnkit.tagging.loaded import missing_features  # here: loaded imports this module's users

        raise ValueError(missing_features(loaded.spec))
    enc = loaded.encoder.encode(data)
    model = loaded.model
    # predict_ids' batches: the same tags, bit for bit; sentences the scheme allows no path without its rules
    for idx, allowed in rule_batches(prediction_batches(enc), loaded.allowed,
                                     loaded.no_path(data) if pathless is None else pathless):
        s, cache = model.scores(make_batch(enc, idx))  # (T, B, K)
        lengths = cache.mask.sum(axis=0)  # (B,)
        paths = model.decode(s, lengths, allowed)
        E, params = model.chain(s.astype(np.float64))
        alpha, beta, log_z = crf_forward_backward(E, lengths, params, allowed)
        marg = np.exp(alpha + beta - log_z[None, :, None])  # (T, B, K), padding not read
        best = crf_nbest(E, lengths, params, nbest, allowed) if nbest else None
        A, s0, e = _constrained(params, allowed)
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


def _empty(K: int, nbest: int, spans: bool) -> SentenceConfidence:
    """An empty sentence's results: its one tag sequence, the empty one, is certain."""
    return SentenceConfidence([], np.zeros((0, K)), [([], 1.0)] if nbest else None, [] if spans else None,
                              np.zeros(0, dtype=int))


def _pairs(alpha: np.ndarray, beta: np.ndarray, E: np.ndarray, A: np.ndarray, log_z: float) -> np.ndarray:
    """(L-1, K, K) P(y_{t-1} = i, y_t = j) of one sentence from its (L, K) alpha, beta, emissions, constrained A."""
    return np.exp(alpha[:-1, :, None] + A[None] + (E[1:] + beta[1:])[:, None, :] - log_z)


def _hmm_confidence(loaded: Any, data: Any, nbest: int, spans: bool) -> list[SentenceConfidence]:
    """:func:`confidence` of an HMM: forward-backward once a sentence serves its marginals and its spans,
    all computed over the HMM's own tags (``loaded.train_scheme``) and read in the data's scheme."""
    hmm = loaded.model
    words = data.words
    if loaded.task.get("fold_width"):  # as LoadedTagger.predict reads them
        from rnnkit.data.segmentation import fold_sentences

        words = fold_sentences(words)
    predicted = loaded.predict(data)  # in the data's scheme
    mapped = loaded.scheme_map
    K = len(loaded.tags)  # the data's tags: the columns of the marginals
    index = {t: k for k, t in enumerate(loaded.tags)}
    reader = _SpanReader(hmm.tags_, loaded.train_scheme) if spans else None
    memo: dict[str, np.ndarray] = {}  # unknown words' suffix-model scores, shared by the sentences
    out = []
    for sentence, tags, original in zip(words, predicted, data.words):
        if not sentence:
            out.append(_empty(K, nbest, spans))
            continue
        sent = SentenceConfidence(tags, np.zeros((0, K)), [] if nbest else None, [] if spans else None,
                                  np.array([index[t] for t in tags], dtype=int))
        out.append(sent)
        log_trans, log_emit = hmm._scores(sentence, memo)
        log_z, cache = forward(log_trans, log_emit)
        if log_z == -np.inf:  # no tag path has non-zero probability: nothing is defined
            sent.possible = False
            sent.marginals = np.full((len(sentence), K), np.nan)
            if reader is not None:
                sent.spans = _span_list(tags, original, loaded.spec.scheme, lambda *_: float("nan"))
            continue
        beta = backward(cache)
        pairs = pair_posteriors(cache, beta) if mapped.needs_pairs else None
        sent.marginals = mapped.marginals(tag_posteriors(cache, beta), pairs)
        if nbest:
            sent.nbest = [(mapped.sequence([hmm.tags_[j] for j in path]), float(np.exp(log_p)))
                          for path, log_p in hmm_nbest(log_trans, log_emit, nbest)]
        if reader is not None:  # the spans read from the data's tags are those of the model's: same positions
            def prob(kind, a, z, n=len(sentence), cache=cache, beta=beta):
                return window_probability(cache, beta, a, reader.pair_masks(kind, a, z, n))

            sent.spans = _span_list(tags, original, loaded.spec.scheme, prob)
    return out
