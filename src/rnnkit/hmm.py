"""Supervised HMM tagger, first order (bigram) or second order (trigram, as TnT), decoded by Viterbi.

The same code tags words with parts of speech and characters with BMES segmentation tags (give
``scheme="bmes"`` so decoding only returns well-formed words; see :mod:`rnnkit.constraints`).

Model.  With tags t_1..t_n of words w_1..w_n, boundary tags t_{-1} = t_0 = BOS and t_{n+1} = EOS,

    order 3:  P(w, t) = prod_i P(t_i | t_{i-2}, t_{i-1}) P(w_i | t_i) * P(EOS | t_{n-1}, t_n)
    order 2:  P(w, t) = prod_i P(t_i | t_{i-1}) P(w_i | t_i) * P(EOS | t_n)

Transitions (Brants 2000) interpolate relative frequencies P^ of unigrams, bigrams and trigrams,

    P(t3 | t1, t2) = l1 P^(t3) + l2 P^(t3 | t2) + l3 P^(t3 | t1, t2),    l1 + l2 + l3 = 1,

with the weights from deleted interpolation: every trigram (t1, t2, t3) seen f times votes with
weight f for the order whose estimate, with that trigram taken out of the counts, is largest:
(f(t1,t2,t3) - 1) / (f(t1,t2) - 1), (f(t2,t3) - 1) / (f(t2) - 1) or (f(t3) - 1) / (N - 1) (0 where
the denominator is 0; a tie goes to the lower order), N being the number of tag tokens counted as
outcomes (every tag of the training data and one EOS per sentence).  Order 2 does the same with l1 and
l2 only.
A context never seen falls back to the next lower estimate, so every row sums to 1.

Emissions of known words: ``"ml"`` relative frequency c(w, t) / c(t) (TnT's choice);
``"add_k"`` (c(w, t) + k) / (c(t) + k (V + 1)); ``"witten_bell"``
(c(w, t) + T(t) P_b(w)) / (c(t) + T(t)), T(t) the number of word types seen with t and P_b the
add-one word unigram.  Unknown words: :class:`rnnkit.suffix_model.SuffixModel`.

Decoding is :mod:`rnnkit.hmm_viterbi`, P(w) and P(t_i | w) :mod:`rnnkit.hmm_forward`, the n best paths
:mod:`rnnkit.hmm_nbest`, Baum-Welch :mod:`rnnkit.hmm_em`.
Models save to JSON: the counts of a trained model, or the tables of a hand-built one.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence

import numpy as np

from rnnkit import hmm_io
from rnnkit.checks import check_int, check_number
from rnnkit.constraints import allowed_transitions
from rnnkit.hmm_checks import check_corpus, check_distributions, check_strings
from rnnkit.hmm_forward import backward, forward, forward_backward, pair_posteriors
from rnnkit.hmm_nbest import hmm_nbest
from rnnkit.hmm_viterbi import viterbi_first_order, viterbi_second_order
from rnnkit.suffix_model import SuffixModel

__all__ = ["EMISSIONS", "HMMTagger", "deleted_interpolation"]

EMISSIONS = ("ml", "add_k", "witten_bell")
IMPOSSIBLE = -1e6  # stand-in log probability of an emission never seen, for the fallback decode
FORBIDDEN = 1e3 * IMPOSSIBLE  # of a move the scheme forbids, when no path keeps to the scheme (fallback only)


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


def deleted_interpolation(counts: Sequence[np.ndarray]) -> np.ndarray:
    """Weights (l1, ..., lN) from n-gram outcome counts ``counts[k]`` of order k+1 (last axis: outcome)."""
    N = counts[0].sum()
    top = counts[-1]
    lambdas = np.zeros(len(counts))
    for gram in zip(*np.nonzero(top)):
        estimates = []
        for k, table in enumerate(counts):
            sub = gram[len(gram) - k - 1:]  # the last k+1 tags
            f = table[sub]
            context = table[sub[:-1]].sum() if k > 0 else N
            estimates.append((f - 1) / (context - 1) if context > 1 else 0.0)
        lambdas[int(np.argmax(estimates))] += top[gram]
    return lambdas / lambdas.sum()


def _conditional(table: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Relative frequencies along the last axis; unseen contexts take ``fallback``'s row."""
    context = table.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        probs = table / context
    return np.where(context > 0, probs, np.broadcast_to(fallback, table.shape))


class HMMTagger:
    """HMM tagger: ``HMMTagger(order=3).fit(sentences, tags).predict(sentences)``.

    ``order`` 2 (bigram) or 3 (trigram, TnT); ``emission`` one of ``"ml"``, ``"add_k"`` (with
    ``k``), ``"witten_bell"``; ``suffix_length``/``rare_threshold`` configure the unknown-word suffix
    model; ``scheme`` (``"bio"``/``"iob2"``, ``"iob1"``, ``"bioes"``, ``"bmes"`` or None) constrains decoding.
    """

    def __init__(self, order: int = 3, emission: str = "ml", k: float = 0.1, suffix_length: int = 10,
                 rare_threshold: int = 10, scheme: str | None = None) -> None:
        self.order = order
        self.emission = emission
        self.k = k
        self.suffix_length = suffix_length
        self.rare_threshold = rare_threshold
        self.scheme = scheme
        self._check_config()  # HMMTagger(order=4) refused here, not at fit (which checks again: attributes may change)

    def _check_config(self) -> None:
        if self.order not in (2, 3):
            raise ValueError(f"Expected order 2 (bigram) or 3 (trigram), got {self.order!r}")
        if self.emission not in EMISSIONS:
            raise ValueError(f"Expected emission to be one of {EMISSIONS}, got {self.emission!r}")
        # numbers of the right kind (numpy ones kept as Python ones, which save() writes as JSON);
        # k = inf made every emission NaN
        self.k = check_number("k", self.k, low=0.0, low_open=True)
        self.suffix_length = check_int("suffix_length", self.suffix_length, 0)
        self.rare_threshold = check_int("rare_threshold", self.rare_threshold, 1)

    def fit(self, sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> HMMTagger:
        """Count words, tags and tag n-grams of a tagged corpus and build the model."""
        self._check_config()
        sentences, tags = check_corpus(sentences, tags)
        tagset = {t for sentence in tags for t in sentence}
        check_strings("tags", tagset)
        self.tags_ = sorted(tagset)
        if not self.tags_:
            raise ValueError("Expected at least one tagged word, got an empty corpus")
        K = len(self.tags_)
        index = {t: i for i, t in enumerate(self.tags_)}
        self.word_tag_counts_: dict[str, np.ndarray] = {}
        padded = []
        for words, sentence_tags in zip(sentences, tags):
            ids = [index[t] for t in sentence_tags]
            for word, i in zip(words, ids):
                if word not in self.word_tag_counts_:
                    self.word_tag_counts_[word] = np.zeros(K, dtype=np.int64)
                self.word_tag_counts_[word][i] += 1
            padded.append(np.array([K, K] + ids + [K]))  # index K: BOS as context, EOS as outcome
        check_strings("words", self.word_tag_counts_)  # the word types, not every token
        t1 = np.concatenate([p[:-2] for p in padded])
        t2 = np.concatenate([p[1:-1] for p in padded])
        t3 = np.concatenate([p[2:] for p in padded])
        self.ngram_counts_ = [np.zeros((K + 1,) * n, dtype=np.int64) for n in (1, 2, 3)]
        np.add.at(self.ngram_counts_[0], t3, 1)
        np.add.at(self.ngram_counts_[1], (t2, t3), 1)
        np.add.at(self.ngram_counts_[2], (t1, t2, t3), 1)
        self._build()
        return self

    def _build(self) -> None:
        """Derived tables (log transitions, log emissions, suffix model) from the counts."""
        K = len(self.tags_)
        uni, bi, tri = (c.astype(np.float64) for c in self.ngram_counts_)
        p1 = uni / uni.sum()  # (K+1,)
        p2 = _conditional(bi, p1)  # (K+1, K+1)
        if self.order == 2:
            self.lambdas_ = deleted_interpolation([uni, bi])
            l1, l2 = self.lambdas_
            trans = l1 * p1[None, :] + l2 * p2
        else:
            self.lambdas_ = deleted_interpolation([uni, bi, tri])
            l1, l2, l3 = self.lambdas_
            trans = l1 * p1 + l2 * p2[None, :, :] + l3 * _conditional(tri, p2[None, :, :])
        self.log_trans_ = _log(trans)
        self.vocab_ = {w: i for i, w in enumerate(self.word_tag_counts_)}
        counts = np.array(list(self.word_tag_counts_.values()), dtype=np.float64)  # (V, K)
        tag_totals = counts.sum(axis=0)  # (K,)
        V = counts.shape[0]
        if self.emission == "ml":
            emit = counts / tag_totals
        elif self.emission == "add_k":
            emit = (counts + self.k) / (tag_totals + self.k * (V + 1))
        else:
            types = (counts > 0).sum(axis=0)  # (K,) T(t)
            backoff = (counts.sum(axis=1) + 1.0) / (tag_totals.sum() + V + 1.0)  # (V,) P_b(w)
            emit = (counts + types * backoff[:, None]) / (tag_totals + types)
        self.log_emit_ = _log(emit)  # (V, K)
        self.log_prior_ = _log(tag_totals / tag_totals.sum())  # (K,)
        self.suffix_model_ = SuffixModel(self.suffix_length, self.rare_threshold).fit(self.word_tag_counts_, K)
        self._constrain()

    def _constrain(self) -> None:
        """Forbidden moves of ``scheme`` get log probability -inf (``forbidden_`` marks them)."""
        self.forbidden_ = np.zeros(self.log_trans_.shape, dtype=bool)
        if self.scheme is None:
            return
        K = len(self.tags_)
        ok, ok_start, ok_end = allowed_transitions(self.tags_, self.scheme)
        f = self.forbidden_
        if self.order == 2:
            f[:K, :K][~ok] = True
            f[K, :K][~ok_start] = True
            f[:K, K][~ok_end] = True
        else:
            f[:, :K, :K][:, ~ok] = True
            f[K, K, :K][~ok_start] = True
            f[:, :K, K][:, ~ok_end] = True
        self.log_trans_[f] = -np.inf

    @classmethod
    def from_probabilities(cls, tags: Sequence[str], start: np.ndarray, transitions: np.ndarray,
                           words: Sequence[str], emissions: np.ndarray, end: np.ndarray | None = None,
                           scheme: str | None = None, state_counts: np.ndarray | None = None) -> HMMTagger:
        """A first-order HMM with fixed tables: ``start[j] = P(t_1 = j)``, ``transitions[i, j] =
        P(j | i)``, ``emissions[v, j] = P(words[v] | j)``, ``end[i] = P(EOS | i)`` (None: no end
        factor).  Without ``state_counts`` it cannot tag words outside ``words``; with them, (K,) the
        number of training tokens of each tag (expected, for EM's), ``emissions * state_counts`` are the
        word-tag counts, and unknown words go through the suffix model fitted on them, as in :meth:`fit`."""
        K = len(tags)
        V = len(words)
        if len(set(tags)) != K or len(set(words)) != V:
            raise ValueError("Expected tags and words without repeats, got a repeated entry")
        tables = {"start": (start, (K,)), "transitions": (transitions, (K, K)), "emissions": (emissions, (V, K))}
        if end is not None:
            tables["end"] = (end, (K,))
        if state_counts is not None:
            tables["state_counts"] = (state_counts, (K,))
        for name, (array, shape) in tables.items():
            array = np.asarray(array, dtype=np.float64)
            if array.shape != shape or not np.all(np.isfinite(array)) or np.any(array < 0):
                raise ValueError(f"Expected {name} as probabilities of shape {shape}, got {array.shape}")
        check_distributions(tables)
        if state_counts is not None and not np.sum(state_counts) > 0:
            raise ValueError("Expected state_counts with a positive total (tokens counted), got all zero")
        model = cls(order=2, scheme=scheme)
        model.tags_ = list(tags)
        model.tables_ = {name: np.asarray(a, dtype=np.float64) for name, (a, _) in tables.items()}
        model.vocab_ = {w: i for i, w in enumerate(words)}
        model._build_from_tables()
        return model

    def _build_from_tables(self) -> None:
        K = len(self.tags_)
        trans = np.zeros((K + 1, K + 1))
        trans[K, :K] = self.tables_["start"]
        trans[:K, :K] = self.tables_["transitions"]
        trans[:K, K] = self.tables_.get("end", np.ones(K))
        self.log_trans_ = _log(trans)
        self.log_emit_ = _log(self.tables_["emissions"])
        self.suffix_model_ = None
        counts = self.tables_.get("state_counts")
        if counts is not None:  # word-tag counts, each word's total rounded: "seen <= rare_threshold times" is exact
            table = self.tables_["emissions"] * counts  # (V, K)
            totals = table.sum(axis=1, keepdims=True)
            table *= np.round(totals) / np.where(totals > 0, totals, 1.0)
            self.word_tag_counts_ = dict(zip(self.vocab_, table))
            self.log_prior_ = _log(counts / counts.sum())  # (K,)
            self.suffix_model_ = SuffixModel(self.suffix_length, self.rare_threshold).fit(self.word_tag_counts_, K)
        self._constrain()

    def _emission_scores(self, words: Sequence[str], memo: dict[str, np.ndarray]) -> np.ndarray:
        """(n, K) log P(w_i | t), unknown words through the suffix model (up to a per-word constant)."""
        rows = np.empty((len(words), len(self.tags_)))
        for i, word in enumerate(words):
            v = self.vocab_.get(word)
            if v is not None:
                rows[i] = self.log_emit_[v]
                continue
            if not isinstance(word, str):  # only words the model does not know get here
                raise TypeError(f"Expected words as strings, got {type(word).__name__} {word!r:.40} at position {i}")
            if self.suffix_model_ is None:
                raise ValueError(f"Expected words the hand-built model knows, got unknown word {word!r}")
            if word not in memo:
                memo[word] = _log(self.suffix_model_.distribution(word)) - self.log_prior_
            rows[i] = memo[word]
        return rows

    def _scores(self, sentence: Sequence[str], memo: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(log_trans_, (n, K) emission scores)`` of one sentence, after the checks every decoder needs."""
        if not hasattr(self, "log_trans_"):
            raise ValueError("Expected a fitted tagger: call fit, from_probabilities or load first")
        if isinstance(sentence, str):  # its characters would be tagged, as predict() says too
            raise TypeError(f"Expected sentence as a list of words, got a str {sentence[:30]!r} (split it first)")
        return self.log_trans_, self._emission_scores(list(sentence), {} if memo is None else memo)

    def log_likelihood(self, sentence: Sequence[str]) -> float:
        """log P(w) = log sum_t P(w, t), by the forward algorithm (:mod:`rnnkit.hmm_forward`); an unknown word
        scores P(t | suffix) / P(t) = P(w_i | t) / P(w_i) as in Viterbi, so its own P(w_i) is divided out."""
        return forward(*self._scores(sentence))[0]

    def posteriors(self, sentence: Sequence[str]) -> np.ndarray:
        """(n, K) P(t_i = tags_[k] | w) by forward-backward; ValueError if no path has P(w, t) > 0 (the empty
        sentence: (0, K))."""
        return forward_backward(*self._scores(sentence))[0]

    def pair_posteriors(self, sentence: Sequence[str]) -> np.ndarray:
        """(n-1, K, K) P(t_{i-1} = tags_[j], t_i = tags_[k] | w) for i = 1 .. n-1; ValueError as posteriors."""
        cache = forward(*self._scores(sentence))[1]
        return pair_posteriors(cache, backward(cache))

    def nbest(self, sentence: Sequence[str], n: int) -> list[tuple[list[str], float]]:
        """The ``n`` most probable tag sequences of one sentence, best first, each with P(tags | w) =
        P(w, tags) / P(w) (list Viterbi, :mod:`rnnkit.hmm_nbest`); [] when no path has P(w, t) > 0.  The empty
        sentence gets its one tag sequence, ``[([], 1.0)]``, as :meth:`predict` gives it ``[]``."""
        found = hmm_nbest(*self._scores(sentence), n)
        return [([self.tags_[i] for i in path], math.exp(log_p)) for path, log_p in found]

    def tag_posterior(self, sentence: Sequence[str]) -> list[str]:
        """Each word's most probable tag argmax_k P(t_i = k | w); the sequence may break the scheme."""
        return [self.tags_[k] for k in np.argmax(self.posteriors(sentence), axis=1)]

    def tag_with_score(self, sentence: Sequence[str], memo: dict | None = None,
                       tag_mask: np.ndarray | None = None) -> tuple[list[str], float]:
        """Best tags of one sentence and log P(words, tags) of that path (unknown words: up to a constant).
        ``tag_mask`` (n, K) bool: word i may take tag k only where it is true (a user dictionary's word
        forced to B M E), i.e. log P(w_i | k) = -inf elsewhere: the best path among those it allows.  When no path
        has probability > 0 the score is -inf and the tags a fallback guess: Viterbi again with impossible emissions
        and unseen transitions floored to log probability -1e6, so the path with the fewest of them wins; and when
        the scheme allows no path of this length at all (BMES tags without S: a one-character sentence), its
        forbidden moves floored to -1e9 too (:func:`rnnkit.constraints.has_legal_path` tells these apart)."""
        log_trans, log_emit = self._scores(sentence, memo)
        if tag_mask is not None:
            tag_mask = np.asarray(tag_mask)
            if tag_mask.shape != log_emit.shape or tag_mask.dtype != bool:
                raise ValueError(f"Expected tag_mask as a bool array of shape {log_emit.shape}, got "
                                 f"{tag_mask.dtype} {tag_mask.shape}")
            log_emit = np.where(tag_mask, log_emit, -np.inf)  # (n, K)
        decode = viterbi_first_order if self.order == 2 else viterbi_second_order
        path, score = decode(log_trans, log_emit)
        if score == -np.inf and len(log_emit) > 0:
            # No path has non-zero probability: with "ml", a known word seen only with tags the
            # constraints rule out here; or, on a small corpus whose deleted interpolation gives
            # the unigram weight 0, a tag sequence never seen (every training sentence DET NOUN
            # VERB, and "the cat" must end after NOUN).  Floor impossible emissions and unseen
            # transitions so the path with the fewest of them wins, while the scheme's forbidden
            # moves stay -inf; its probability is still 0.
            unseen = np.maximum(self.log_trans_, IMPOSSIBLE)  # decode reads, never writes, its arguments
            floor = np.maximum(log_emit, IMPOSSIBLE)  # (n, K)
            emit = floor if tag_mask is None else np.where(tag_mask, floor, -np.inf)  # (n, K)
            path, floored = decode(np.where(self.forbidden_, -np.inf, unseen), emit)
            if floored == -np.inf:  # the scheme allows no path of this length (BMES without S: a one-character
                # line); the fallback then breaks the scheme's rules too, as few times as it can
                path, floored = decode(np.where(self.forbidden_, FORBIDDEN, unseen), emit)
                if floored == -np.inf:
                    raise ValueError("Expected a tag_mask that allows some tag at every word, got none at some")
        return [self.tags_[i] for i in path], score

    def predict(self, sentences: Sequence[Sequence[str]],
                tag_masks: Sequence[np.ndarray | None] | None = None) -> list[list[str]]:
        """Tags of every sentence (a list of words or characters); ``tag_masks``: per sentence None or the
        (n, K) ``tag_mask`` of :meth:`tag_with_score`."""
        return [tags for tags, _ in self.predict_scored(sentences, tag_masks)]

    def predict_scored(self, sentences: Sequence[Sequence[str]],
                       tag_masks: Sequence[np.ndarray | None] | None = None,
                       memo: dict[str, np.ndarray] | None = None) -> list[tuple[list[str], float]]:
        """:meth:`predict` with each path's log P(words, tags) (:meth:`tag_with_score`): -inf for a sentence no
        tag path can produce, whose tags are then the fallback guess :meth:`tag_with_score` describes.
        ``memo``: the unknown words' emission scores, kept across calls that tag one input in parts (a cache:
        it changes no result)."""
        if isinstance(sentences, str):
            raise TypeError("Expected sentences as a list of lists of words, got a str")
        try:
            sentences = list(sentences)  # once: a generator checked first would be empty when tagged
        except TypeError:
            raise TypeError(f"Expected sentences as a list of lists of words, got {type(sentences).__name__}") from None
        if not all(isinstance(s, Sequence) and not isinstance(s, str) for s in sentences):
            raise TypeError("Expected sentences as a list of lists of words")
        memo = {} if memo is None else memo
        masks = [None] * len(sentences) if tag_masks is None else list(tag_masks)
        if len(masks) != len(sentences):
            raise ValueError(f"Expected one tag mask per sentence ({len(sentences)}), got {len(masks)}")
        return [self.tag_with_score(sentence, memo, mask) for sentence, mask in zip(sentences, masks)]

    def save(self, path: str | os.PathLike) -> None:
        """Write the model as JSON: the counts of a trained model (the tables are rebuilt from them
        on load, so predictions are identical), or the probability tables of a hand-built one; atomically (a
        temporary file, then a rename), so a killed save leaves the old file or the new one."""
        from rnnkit.atomic import write_atomically

        text = json.dumps(self.document(), ensure_ascii=False)
        write_atomically(path, lambda f: f.write(text.encode("utf-8")), durable=True)

    def document(self, tables: bool = True) -> dict:
        """What :meth:`save` writes, as a dict; ``tables=False`` leaves a hand-built model's number tables
        out (its words stay), for a caller that stores them as arrays and gives them back to :meth:`loads`."""
        return hmm_io.document(self, tables)

    @classmethod
    def load(cls, path: str | os.PathLike) -> HMMTagger:
        """Read a model written by :meth:`save`; DataError (with file and line) for anything else."""
        with open(path, encoding="utf-8") as f:
            return cls.loads(f.read(), str(path))

    @classmethod
    def loads(cls, text: str, name: str = "the HMM's JSON", tables: dict | None = None) -> HMMTagger:
        """:meth:`load` of the JSON text itself (a checkpoint holds it in its metadata); ``name`` is
        what a DataError calls it; ``tables``: the arrays ``document(tables=False)`` left out."""
        return hmm_io.loads(cls, text, name, tables)
