"""Tagging as a :class:`rnnkit.train.Task`: vocabularies, length-sorted batches, scoring.

:class:`TaggerEncoder` turns sentences into ids once, before training: word ids (lowercased when asked; characters
keep their case for the character features), a table of the distinct word types with their characters,
character-bigram ids and feature-column ids.  Batches group sentences of similar length, so little time is spent on
padding: each epoch sorts the sentences by length plus a random jitter of up to two tokens (so batches differ from
epoch to epoch), cuts the order into batches and shuffles the batches.  The epoch's order is drawn from a generator
seeded by ``(seed, epoch)``, so a run resumed in the middle of an epoch sees the same batches.

Validation scores the task's own metric, token accuracy (POS), span F1 (chunking, NER; conlleval's rules via seqeval)
or word F1 (segmentation), and reports no loss (tags unseen in training have no score); the best checkpoint follows
the metric (``criterion`` = 1 - metric).
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Iterator, NamedTuple

import numpy as np

from rnnkit.checks import check_bool, check_id_values, check_int, check_number, check_names
from rnnkit.constraints import allowed_transitions, no_path_indices
from rnnkit.data.segmentation import fold_sentences
from rnnkit.data.vocab import Vocabulary
from rnnkit.guard import UniformLoss, uniform_guess
from rnnkit.tagging.char_features import CharBatch, char_matrix, gather_char_batch
from rnnkit.tagging.io import SCHEMES, TaggingData, check_sentences
from rnnkit.packing import PREDICT_TOKENS, length_batches
from rnnkit.tagging.model import Tagger, TaggerBatch
from rnnkit.tagging.scoring import METRIC_KEYS, METRICS, check_metric, metric_for, score  # noqa: F401 (their home once)
from rnnkit.tagging.train_scheme import SchemeMap
from rnnkit.train.select_by import selection_criterion
from rnnkit.train.distributed import split_rows
from rnnkit.train.task import IndependentBatches, StepResult
from rnnkit.train.digest import value_digest


def _bigrams(tokens: list[str]) -> list[str]:
    """The n + 1 bigrams of a sentence with boundary marks; token i's left one is [i], its right one [i+1]."""
    ext = ["<s>"] + tokens + ["</s>"]
    return [ext[j] + " " + ext[j + 1] for j in range(len(ext) - 1)]


class Encoded(NamedTuple):
    """A dataset as id arrays, one entry per sentence (empty sentences included, of length 0)."""

    words: list[np.ndarray]  # (n,) word ids
    types: list[np.ndarray] | None  # (n,) rows of type_chars
    type_chars: np.ndarray | None  # (N, Lmax) character ids of the N distinct word types
    type_lengths: np.ndarray | None  # (N,)
    bigrams: list[np.ndarray] | None  # (n, 2) right and left bigram ids
    features: list[np.ndarray] | None  # (n, F)
    tags: list[np.ndarray] | None  # (n,) tag ids, -1 for a tag unseen in training
    lengths: np.ndarray  # (num_sentences,)


MAX_CHARS = 10_000  # characters kept of a word, at most: far above any word's


class TaggerEncoder:
    """Vocabularies of a tagger: words, tags, and optionally characters, bigrams, feature columns."""

    def __init__(self, words: Vocabulary, tags: list[str], chars: Vocabulary | None = None,
                 bigrams: Vocabulary | None = None, features: list[Vocabulary] | None = None,
                 lowercase: bool = False, max_chars: int = 30, fold_width: bool = False) -> None:
        for name, vocab in (("words", words), ("chars", chars), ("bigrams", bigrams)):
            if not (isinstance(vocab, Vocabulary) or (vocab is None and name != "words")):
                raise TypeError(f"Expected {name} to be a Vocabulary{'' if name == 'words' else ' or None'}, "
                                f"got {type(vocab).__name__}")
        self.words = words
        self.tags = check_names("tags", tags)  # a str 'DNV' would be the tags D, N, V
        self.tag_index = {t: i for i, t in enumerate(self.tags)}
        self.chars = chars
        self.bigrams = bigrams
        self.features = list(features or [])
        if not all(isinstance(v, Vocabulary) for v in self.features):
            raise TypeError("Expected features to be a list of Vocabulary, one a feature column")
        self.lowercase = check_bool("lowercase", lowercase)
        self.max_chars = check_int("max_chars", max_chars, 2)  # a long word keeps its first and last characters
        if self.max_chars > MAX_CHARS:  # a (sentences, max_chars) table is allocated per batch
            raise ValueError(f"Expected max_chars at most {MAX_CHARS:,}, got {self.max_chars:,}")
        self.fold_width = check_bool("fold_width", fold_width)  # full-width read as half-width (data.segmentation)

    @classmethod
    def build(cls, data: TaggingData, *, lowercase: bool = False, char_features: bool = False,
              bigrams: bool = False, min_count: int = 1, max_chars: int = 30,
              fold_width: bool = False) -> TaggerEncoder:
        """Vocabularies of the training data (``data.tags`` needed); tags in sorted order."""
        if not isinstance(data, TaggingData):
            raise TypeError(f"Expected data to be a TaggingData, got {type(data).__name__}")
        if data.tags is None:
            raise ValueError("Expected labelled training data (tags), got none")
        check_sentences(data)
        check_bool("char_features", char_features)
        check_bool("bigrams", bigrams)
        enc = cls(Vocabulary(["<unk>"], eos_token=None), [], lowercase=lowercase, max_chars=max_chars,
                  fold_width=fold_width)
        folded = enc.folded(data.words)
        words = Vocabulary.build((enc.norm(w) for s in folded for w in s), min_count=min_count, eos_token=None)
        tags = sorted({t for s in data.tags for t in s})
        chars = Vocabulary.build((c for s in folded for w in s for c in w), eos_token=None) if char_features else None
        bi = None
        if bigrams:
            bi = Vocabulary.build((b for s in folded for b in _bigrams([enc.norm(w) for w in s])),
                                  min_count=min_count, eos_token=None)
        feats = []
        if data.features is not None and data.features and data.features[0]:
            F = len(data.features[0][0])
            feats = [Vocabulary.build((tok[f] for s in data.features for tok in s), eos_token=None) for f in range(F)]
        return cls(words, tags, chars, bi, feats, lowercase, max_chars, fold_width)

    def folded(self, sentences: list[list[str]]) -> list[list[str]]:
        """The sentences as the model reads them: width-folded when ``fold_width`` (same lengths)."""
        if not self.fold_width:
            return sentences
        return fold_sentences(sentences)

    def norm(self, word: str) -> str:
        """A (folded) word as the word vocabulary holds it: lowercased when ``lowercase``."""
        return word.lower() if self.lowercase else word

    def encode(self, data: TaggingData) -> Encoded:
        """Ids of every sentence; tags are encoded when ``data.tags`` is given."""
        if not isinstance(data, TaggingData):
            raise TypeError(f"Expected data to be a TaggingData, got {type(data).__name__}")
        check_sentences(data)  # a sentence given as a str would be read as its characters
        folded = self.folded(data.words)
        words = [self.words.encode([self.norm(w) for w in s]) for s in folded]
        types = type_chars = type_lengths = None
        if self.chars is not None:
            table: dict[str, int] = {}
            types = [np.array([table.setdefault(w, len(table)) for w in s], dtype=np.int64) for s in folded]
            index = {c: i for i, c in enumerate(self.chars.tokens)}
            type_chars, type_lengths = char_matrix(list(table), index, self.chars.unk_id, self.max_chars)
        bigrams = None
        if self.bigrams is not None:
            bigrams = []
            for s in folded:
                ids = self.bigrams.encode(_bigrams([self.norm(w) for w in s]))  # (n + 1,)
                bigrams.append(np.stack([ids[1:], ids[:-1]], axis=1))  # (n, 2) right, left
        features = None
        if self.features:
            if data.features is None:
                raise ValueError(f"Expected {len(self.features)} feature columns in the data, got none")
            features = [np.array([[v.token_id(tok[f]) for f, v in enumerate(self.features)] for tok in s],
                                 dtype=np.int64).reshape(len(s), len(self.features)) for s in data.features]
        tags = None
        if data.tags is not None:
            tags = [np.array([self.tag_index.get(t, -1) for t in s], dtype=np.int64) for s in data.tags]
        lengths = np.array([len(s) for s in data.words], dtype=np.int64)
        return Encoded(words, types, type_chars, type_lengths, bigrams, features, tags, lengths)

    def to_json(self) -> dict[str, Any]:
        """The encoder as JSON-safe fields for a checkpoint's metadata."""
        return {"words": self.words.to_json(), "tags": self.tags,
                "chars": None if self.chars is None else self.chars.to_json(),
                "bigrams": None if self.bigrams is None else self.bigrams.to_json(),
                "features": [v.to_json() for v in self.features],
                "lowercase": self.lowercase, "max_chars": self.max_chars, "fold_width": self.fold_width}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TaggerEncoder:
        """The encoder saved by :meth:`to_json`; checkpoints without ``fold_width`` read it as off."""
        def vocab(x):
            return None if x is None else Vocabulary.from_json(x)

        return cls(Vocabulary.from_json(d["words"]), d["tags"], vocab(d["chars"]), vocab(d["bigrams"]),
                   [Vocabulary.from_json(v) for v in d["features"]], d["lowercase"], d["max_chars"],
                   d.get("fold_width", False))  # checkpoints before fold_width: off


def make_batch(enc: Encoded, indices: np.ndarray, word_ids: list[np.ndarray] | None = None) -> TaggerBatch:
    """A padded time-major batch of the sentences ``indices`` (all of length >= 1).

    ``word_ids`` replaces ``enc.words`` (the task passes word ids after word dropout).
    """
    n = len(enc.lengths)
    indices = check_id_values("indices", indices, high=n)  # -3 would wrap to another sentence
    if indices.ndim != 1 or indices.size == 0:
        raise ValueError(f"Expected indices as a non-empty 1-D array of sentence numbers, got shape {indices.shape}")
    source = enc.words if word_ids is None else word_ids
    lengths = enc.lengths[indices]  # (B,)
    if lengths.min() < 1:
        raise ValueError(f"Expected sentences of length >= 1, got the empty sentence {indices[lengths.argmin()]}")
    T, B = int(lengths.max()), len(indices)
    mask = np.arange(T)[:, None] < lengths[None, :]  # (T, B)

    def pad(seqs: list[np.ndarray], tail: tuple = ()) -> np.ndarray:
        out = np.zeros((T, B) + tail, dtype=np.int64)
        for b, i in enumerate(indices):
            out[: len(seqs[i]), b] = seqs[i]
        return out

    chars: CharBatch | None = None
    if enc.types is not None:
        chars = gather_char_batch(pad(enc.types), mask, enc.type_chars, enc.type_lengths)
    bigrams = None if enc.bigrams is None else pad(enc.bigrams, (2,))
    features = None
    if enc.features is not None:
        features = pad(enc.features, (enc.features[indices[0]].shape[1],))
    tags = None if enc.tags is None else pad(enc.tags)
    return TaggerBatch(pad(source), lengths, chars, bigrams, features, tags)


def predict_ids(model: Tagger, enc: Encoded, allowed: tuple | None = None, batch_size: int = 128,
                rank: int = 0, size: int = 1, tag_masks: list[np.ndarray | None] | None = None,
                unconstrained: Collection[int] = (), on_batch: Callable[[int], None] | None = None) -> list[list[int]]:
    """Predicted tag ids of every sentence (empty sentences get []), decoded in length-sorted batches; with ``size`` > 1
    only part ``rank`` of the sentences (every size-th of the length-sorted order, so that the parts take about equal
    time), the others left [] for the other parts to fill.  ``tag_masks``: per sentence None or an (n, K) bool array of
    the tags each token may take.  ``unconstrained``: indices of sentences decoded without ``allowed`` (those it allows
    no path).  ``on_batch``: called after each batch with its number of tokens (a progress display)."""
    out: list[list[int]] = [[] for _ in range(len(enc.lengths))]
    for idx, rules in rule_batches(prediction_batches(enc, batch_size, rank, size), allowed, unconstrained):
        mask = None if tag_masks is None else _batch_mask(tag_masks, idx, enc.lengths)
        for i, path in zip(idx, model.predict(make_batch(enc, idx), rules, mask)):
            out[i] = path
        if on_batch is not None:
            on_batch(int(np.asarray(enc.lengths)[idx].sum()))
    return out


def rule_batches(batches: Iterator[np.ndarray], allowed: tuple | None, unconstrained: Collection[int] = ()
                 ) -> Iterator[tuple[np.ndarray, tuple | None]]:
    """``(idx, allowed)`` for each batch of sentence indices, split in two where some are ``unconstrained``
    (the scheme allows them no tag sequence, :func:`rnnkit.constraints.has_legal_path`): those get None."""
    free_ids = np.array(sorted(unconstrained), dtype=np.int64)
    for idx in batches:
        free = np.isin(idx, free_ids)  # (B,)
        for part, rules in ((idx[~free], allowed), (idx[free], None)):
            if len(part):
                yield part, rules


def _batch_mask(tag_masks: list[np.ndarray | None], idx: np.ndarray, lengths: np.ndarray) -> np.ndarray | None:
    """The (T, B, K) tag mask of sentences ``idx`` (all True at padding and where one has none), or None if none has."""
    given = [tag_masks[i] for i in idx if tag_masks[i] is not None]
    if not given:
        return None
    T, K = int(lengths[idx].max()), given[0].shape[1]
    mask = np.ones((T, len(idx), K), dtype=bool)  # (T, B, K)
    for b, i in enumerate(idx):
        if tag_masks[i] is not None:
            mask[: lengths[i], b] = tag_masks[i]
    return mask


def prediction_batches(enc: Encoded, batch_size: int = 128, rank: int = 0, size: int = 1) -> Iterator[np.ndarray]:
    """The sentence indices of each batch :func:`predict_ids` decodes: non-empty sentences, longest first."""
    batch_size = check_int("batch_size", batch_size, 1)
    order = np.array([i for i in np.argsort(-enc.lengths, kind="stable") if enc.lengths[i] > 0][rank::size], dtype=int)
    yield from length_batches(order, enc.lengths, batch_size, token_cap=PREDICT_TOKENS)


def decoding_constraints(tags: list[str], scheme: str) -> tuple | None:
    """The allowed triple for ``scheme`` (None for "none", or when a tag does not fit the scheme)."""
    if scheme == "none":
        return None
    return allowed_transitions(tags, scheme)


class TaggerTask(IndependentBatches):
    """Train a :class:`Tagger` on encoded sentences; validate with the task's metric.

    ``singleton_unk``: each training token whose word occurs once in training is replaced by
    ``<unk>`` with this probability (Lample et al. 2016: 0.5), so ``<unk>`` learns a vector that
    works together with the character features for unseen words.

    ``scheme`` is the data's tag scheme; ``train_scheme`` that of the encoder's tags when the training tags
    were rewritten in another (:mod:`rnnkit.tagging.train_scheme`; None: ``scheme``).  Decoding keeps to
    ``train_scheme``'s legal sequences, and the predictions are scored in ``scheme`` against
    ``valid_data``'s own tags, so span F1 counts the data's spans either way.
    """

    def __init__(self, model: Tagger, encoder: TaggerEncoder, train: Encoded, valid: Encoded | None = None,
                 valid_data: TaggingData | None = None, metric: str = "accuracy", scheme: str = "none",
                 batch_size: int = 32, singleton_unk: float = 0.0, seed: int = 0,
                 train_words: list[str] | None = None, meta: dict[str, Any] | None = None,
                 train_scheme: str | None = None) -> None:
        if train.tags is None:
            raise ValueError("Expected labelled training data, got none")
        if scheme not in SCHEMES:
            raise ValueError(f"Expected scheme one of {SCHEMES}, got {scheme!r}")
        check_metric(metric, scheme)  # now, not at the first evaluation
        self.model = model
        self.params = model.params
        self.encoder = encoder
        self.train = train
        self.valid = valid
        self.valid_data = valid_data
        self.metric = metric
        self.scheme = scheme
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.singleton_unk = check_number("singleton_unk", singleton_unk, 0.0, 1.0)  # a probability
        self.seed = check_int("seed", seed, 0)
        self.train_words = train_words
        self._meta = meta or {}
        self.train_scheme = scheme if train_scheme is None else train_scheme
        self.scheme_map = SchemeMap(encoder.tags, scheme, self.train_scheme)  # checks the pair of schemes
        self.allowed = decoding_constraints(encoder.tags, self.train_scheme)
        # validation sentences the scheme allows no sequence of the tags (BMES without S: one character)
        self.valid_no_path = set() if valid is None else no_path_indices(self.allowed, valid.lengths)
        self.nonempty = np.flatnonzero(train.lengths > 0)
        counts = np.bincount(np.concatenate(train.words), minlength=len(encoder.words))
        self.singleton = [counts[w] == 1 for w in train.words]  # per sentence (n,) bool

    def epoch_units(self) -> int:
        """Training tokens per epoch."""
        return int(self.train.lengths.sum())

    def uniform_loss(self) -> UniformLoss:
        """ln K per token, the loss of guessing every tag uniformly (see :class:`rnnkit.train.task.Task`).
        Exact for a CRF too: its loss is a sentence's NLL over the K^n tag sequences divided by the n tokens,
        and the uniform guess, all scores 0, gives each sequence 1/K^n, n ln K (training's CRF has no
        transition constraints: those act in decoding only)."""
        return uniform_guess(self.model.config.num_tags, "tag")

    def _epoch_batches(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch])
        idx = self.nonempty
        key = self.train.lengths[idx] + rng.uniform(0.0, 2.0, idx.size)
        ordered = idx[np.argsort(key, kind="stable")]
        batches = [ordered[i : i + self.batch_size] for i in range(0, ordered.size, self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def train_batches(self, epoch: int, cursor: int, rng: np.random.Generator) -> Iterator[tuple[int, Any]]:
        """Yields (index after the batch, sentence indices) of ``epoch`` from ``cursor`` on: batches of similar
        length (sorted by length + U(0, 2) noise), in shuffled order; empty sentences left out."""
        batches = self._epoch_batches(epoch)
        for i in range(cursor, len(batches)):
            yield i + 1, batches[i]

    def split_batch(self, batch: Any, parts: int) -> list[Any]:
        """The batch's sentences in ``parts`` runs, the shares of processes training together
        (:mod:`rnnkit.train.distributed`; their losses, per token, are combined weighted by tokens)."""
        return split_rows(batch, parts)

    def train_step(self, batch: Any, carry: Any, rng: np.random.Generator) -> StepResult:
        """Loss per token (summed loss / tokens) and gradients of one batch, with singleton ``<unk>`` replacement."""
        idx = batch
        word_ids = self.train.words
        if self.singleton_unk > 0:
            word_ids = list(word_ids)
            unk = self.encoder.words.unk_id
            for i in idx:
                drop = self.singleton[i] & (rng.random(len(word_ids[i])) < self.singleton_unk)
                word_ids[i] = np.where(drop, unk, word_ids[i])
        tb = make_batch(self.train, idx, word_ids)
        n = int(tb.lengths.sum())
        loss, cache = self.model.loss(tb, training=True, rng=rng)
        grads = self.model.backward(1.0 / n, cache)
        return StepResult(loss=loss / n, units=n, grads=grads)

    def evaluate(self) -> dict[str, float]:
        """Validation accuracy, F1 and OOV recall, those the task's metric gives; {} without validation data."""
        return self.evaluate_joined([self.evaluate_share(0, 1)])

    def evaluate_share(self, rank: int, size: int) -> list[list[int]] | None:
        """The predicted tag ids of part ``rank`` of ``size`` of the validation sentences ([] for the
        others'; see :class:`rnnkit.train.task.Task`); None without validation data."""
        if self.valid is None:
            return None
        return predict_ids(self.model, self.valid, self.allowed, rank=rank, size=size,
                           unconstrained=self.valid_no_path)

    def evaluate_joined(self, parts: list[list[list[int]] | None]) -> dict[str, float]:
        """The validation metrics of the parts' predictions together."""
        if self.valid is None or self.valid_data is None:
            return {}
        pred = [next((p[i] for p in parts if p[i]), []) for i in range(len(self.valid.lengths))]  # type: ignore[index]
        m = self.scores(self.valid, self.valid_data, pred)
        return {k: float(v) for k, v in m.items() if k in ("accuracy", "f1", "oov_recall") and v is not None}

    @property
    def selected_by(self) -> str:
        """The validation metric :meth:`criterion` follows (see :mod:`rnnkit.train.task`)."""
        return METRIC_KEYS[self.metric]

    def criterion(self, metrics: dict[str, float]) -> float:
        """The best checkpoint has the highest validation score: accuracy, span F1 or word F1."""
        return selection_criterion(metrics, self.selected_by)

    def scores(self, enc: Encoded, data: TaggingData, pred: list[list[int]] | None = None) -> dict[str, Any]:
        """The task's metrics on an encoded labelled dataset (of the predicted tag ids ``pred``, when given)."""
        if pred is None:
            pred = predict_ids(self.model, enc, self.allowed, unconstrained=no_path_indices(self.allowed, enc.lengths))
        tags = self.encoder.tags
        pred_tags = [self.scheme_map.sequence([tags[i] for i in p]) for p in pred]  # in the data's scheme
        return score(self.metric, data.tags, pred_tags, data.words, self.scheme, self.train_words,
                     self.encoder.fold_width)

    def resume_options(self) -> dict[str, Any]:
        """What a resumed run must share with this one (see :class:`rnnkit.train.loop.Task`)."""
        return {"--batch-size": self.batch_size, "--singleton-unk": self.singleton_unk,
                "validation data": value_digest(self.valid)}

    def meta(self) -> dict[str, Any]:
        """The extra fields the checkpoint holds (the ``meta`` given, or {})."""
        return self._meta

