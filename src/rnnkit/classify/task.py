"""Sentence classification as a :class:`rnnkit.train.Task`, plus vocabularies and saving / loading.

Texts become tokens at one of two levels, optionally lowercased: ``word`` splits on whitespace
(rt-polarity and most sentiment sets come tokenised); ``char`` makes every non-space character a
token (:func:`rnnkit.data.classification.char_tokens`), for Chinese or Japanese written without
spaces between words, where a whitespace split makes each sentence one token that no new sentence
repeats.  Batches group sentences of similar length (sorted by length plus a random jitter, then
shuffled), drawn from a generator seeded by ``(seed, epoch)`` so a resumed run sees the same
batches.  Validation reports the cross-entropy (weighted by the model's class weights, as the training
loss is), accuracy and macro-F1; the best checkpoint is the most accurate one, or with
``select_by="macro_f1"`` the one of highest macro-F1 (which a model that ignores a rare class cannot
reach by accuracy alone).

A classifier checkpoint holds the parameters under ``model/`` and the task metadata
``{"model": "classifier", "classifier_config", "encoder", "format", "word_dropout"}`` (and, trained on tree
files, ``"label_scheme"``), ``encoder``
being ``{"vocab", "labels", "lowercase", "max_length", "level", "fold_width"}``: everything that turns
a new text into the training tokens.  A checkpoint without ``level`` (written before it existed) is
word level, one without ``fold_width`` does not fold.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_files import model_file
from rnnkit.checkpoint_task import (check_matches, check_written, load_task_checkpoint, reading_metadata,
                                   restore_params, save_task_checkpoint)
from rnnkit.checks import check_bool, check_id_values, check_int, check_names, check_rate, check_str_sequence
from rnnkit.classify.model import Classifier, ClassifierConfig
from rnnkit.data.classification import char_tokens
from rnnkit.data.segmentation import fold_width as fold_text
from rnnkit.data.vocab import Vocabulary
from rnnkit.guard import UniformLoss, uniform_guess
from rnnkit.metrics.classification import accuracy, macro_f1
from rnnkit.packing import PREDICT_TOKENS, TRAIN_TOKENS, length_batches
from rnnkit.train.distributed import split_rows
from rnnkit.train.digest import value_digest
from rnnkit.train.select_by import OPTION, check_select_by, selection_criterion
from rnnkit.train.task import IndependentBatches, StepResult

LEVELS = ("word", "char")


class ClassifierEncoder:
    """Token vocabulary, label list and tokenisation (level, lowercasing, length cap) of a classifier.

    ``level`` ``"word"``: whitespace-separated words; ``"char"``: every non-space character (see
    :func:`rnnkit.data.classification.char_tokens`).  ``max_length`` caps the tokens of a text
    (characters at char level); 0 keeps them all.
    """

    def __init__(self, vocab: Vocabulary, labels: Sequence[str], lowercase: bool = False, max_length: int = 0,
                 level: str = "word", fold_width: bool = False) -> None:
        if level not in LEVELS:
            raise ValueError(f"Expected level to be one of {LEVELS}, got {level!r}")
        if not isinstance(vocab, Vocabulary):
            raise TypeError(f"Expected vocab to be a Vocabulary, got {type(vocab).__name__}")
        self.vocab = vocab
        self.labels = check_names("labels", labels)  # a str 'pos' would be the labels p, o, s
        self.label_index = {label: i for i, label in enumerate(self.labels)}
        self.lowercase = check_bool("lowercase", lowercase)
        self.max_length = check_int("max_length", max_length, 0)  # 0: keep every token (-1 dropped the last)
        self.level = level
        self.fold_width = check_bool("fold_width", fold_width)  # full-width read as half-width (data.segmentation)

    @classmethod
    def build(cls, texts: Sequence[str], labels: Sequence[str], lowercase: bool = False, min_count: int = 1,
              max_length: int = 0, level: str = "word", fold_width: bool = False) -> ClassifierEncoder:
        """Vocabulary of the training texts; labels in sorted order."""
        texts = check_str_sequence("texts", texts)  # one text as a str would be its characters
        enc = cls(Vocabulary(["<unk>"], eos_token=None), sorted(set(check_str_sequence("labels", labels))), lowercase,
                  max_length, level, fold_width)
        tokens = [tok for text in texts for tok in enc.tokenize(text)]
        enc.vocab = Vocabulary.build(tokens, min_count=min_count, eos_token=None)
        return enc

    def tokenize(self, text: str, cap: bool = True) -> list[str]:
        """The tokens of ``text``: lowercased and width-folded as set, words or characters, at most ``max_length``
        (all of them with ``cap=False``: how many the cap leaves unread); ``["<unk>"]`` for a text without any."""
        if not isinstance(text, str):
            raise TypeError(f"Expected text to be a str, got {type(text).__name__}")
        text = text.lower() if self.lowercase else text
        if self.fold_width:
            text = fold_text(text)
        tokens = char_tokens(text) if self.level == "char" else text.split()
        if self.max_length and cap:
            tokens = tokens[: self.max_length]
        return tokens or ["<unk>"]  # an empty text still gets one step: the RNN needs L >= 1

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One int id array per text, from :meth:`tokenize`."""
        return [self.vocab.encode(self.tokenize(t)) for t in check_str_sequence("texts", texts)]

    def encode_labels(self, labels: Sequence[str], where: str = "data") -> np.ndarray:
        """Label ids (N,) int64; ValueError naming the unknown labels and ``where`` they are."""
        labels = check_str_sequence("labels", labels)
        unknown = sorted(set(labels) - set(self.label_index))
        if unknown:
            raise ValueError(f"Expected labels among {self.labels} in {where}, got {unknown[:5]}")
        return np.array([self.label_index[label] for label in labels], dtype=np.int64)

    def to_json(self) -> dict[str, Any]:
        """The encoder as JSON-safe fields for a checkpoint's metadata."""
        return {"vocab": self.vocab.to_json(), "labels": self.labels, "lowercase": self.lowercase,
                "max_length": self.max_length, "level": self.level, "fold_width": self.fold_width}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClassifierEncoder:
        """The encoder of :meth:`to_json`; older checkpoints lack ``max_length`` (0) and ``level`` (word)."""
        return cls(Vocabulary.from_json(d["vocab"]), d["labels"], d["lowercase"], d.get("max_length", 0),
                   d.get("level", "word"), d.get("fold_width", False))


def pad_batch(seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Time-major ids (T, B) padded with 0, and lengths (B,)."""
    if len(seqs) == 0:
        raise ValueError("Expected at least one sequence to pad, got none")
    # integer ids: a float id 1.7 would be stored as 1
    seqs = [check_id_values(f"seqs[{b}]", s) for b, s in enumerate(seqs)]
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    ids = np.zeros((int(lengths.max()), len(seqs)), dtype=np.int64)
    for b, s in enumerate(seqs):
        ids[: len(s), b] = s
    return ids, lengths


def predict_proba(model: Classifier, seqs: Sequence[np.ndarray], batch_size: int = 256, rank: int = 0,
                  size: int = 1, on_batch: Callable[[int], None] | None = None) -> np.ndarray:
    """Class probabilities (N, K) of encoded sentences, computed in length-sorted batches; with ``size``
    > 1 only part ``rank`` of the sentences' rows (every size-th of the length-sorted order, so that the
    parts take about equal time), the others left 0 for the other parts to fill.  ``on_batch``: called
    after each batch with its number of tokens (a progress display).  In the model's dtype, as
    :meth:`Classifier.predict_proba`."""
    out = np.zeros((len(seqs), model.config.num_classes), dtype=model.config.dtype)
    for idx, ids, lengths in _sorted_batches(seqs, batch_size, rank, size):
        out[idx] = model.predict_proba(ids, lengths)
        if on_batch is not None:
            on_batch(int(lengths.sum()))
    return out


def _sorted_batches(seqs: Sequence[np.ndarray], batch_size: int, rank: int = 0, size: int = 1):
    """``(idx, ids (T, B), lengths (B,))`` of the sentences in length-sorted batches of at most ``batch_size``
    (and :data:`PREDICT_TOKENS` tokens); part ``rank`` of ``size`` of the sorted order (every size-th)."""
    batch_size = check_int("batch_size", batch_size, 1)
    sizes = np.array([len(s) for s in seqs])
    order = np.argsort(sizes, kind="stable")[rank::size]
    for idx in length_batches(order, sizes, batch_size, token_cap=PREDICT_TOKENS):
        yield (idx, *pad_batch([seqs[i] for i in idx]))


def predict_attention(model: Classifier, seqs: Sequence[np.ndarray], batch_size: int = 256,
                      on_batch: Callable[[int], None] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Class probabilities (N, K) of encoded sentences and each one's attention weights, an array (L_i,) over
    its L_i tokens summing to 1 (:meth:`Classifier.attention`; attention pooling only), in length-sorted batches;
    ``on_batch`` as :func:`predict_proba` calls it."""
    probs = np.zeros((len(seqs), model.config.num_classes), dtype=model.config.dtype)  # as predict_proba's
    weights: list[np.ndarray] = [np.zeros(0, model.config.dtype)] * len(seqs)
    for idx, ids, lengths in _sorted_batches(seqs, batch_size):
        p, a = model.attention(ids, lengths)  # (B, K), (T, B)
        probs[idx] = p
        for b, i in enumerate(idx):
            weights[i] = a[: lengths[b], b].copy()
        if on_batch is not None:
            on_batch(int(lengths.sum()))
    return probs, weights


def _check_seqs(name: str, seqs: Sequence[np.ndarray], vocab_size: int) -> list[np.ndarray]:
    """Each sentence as an int64 array of ids in [0, vocab_size), at least one of them (the RNN needs L >= 1)."""
    out = [check_id_values(f"{name}[{i}]", s, high=vocab_size) for i, s in enumerate(seqs)]
    for i, s in enumerate(out):
        if s.ndim != 1 or s.size == 0:
            raise ValueError(f"Expected {name}[{i}] as a 1-D array of at least one id, got shape {s.shape}")
    return out


class ClassifierTask(IndependentBatches):
    """Train a :class:`Classifier` on encoded sentences ``seqs`` with label ids ``labels``.

    ``word_dropout`` p: each training token is replaced by ``unk_id`` with probability p, drawn
    afresh at every step from the trainer's generator.  Besides regularising, it trains the
    ``<unk>`` embedding, which every word unseen in training gets at test time; with
    ``--min-count 1`` no training token would be ``<unk>`` otherwise.

    ``select_by`` (``"accuracy"`` or ``"macro_f1"``): the validation metric whose highest value picks
    the best checkpoint, and which early stopping and the plateau schedule follow.

    ``max_tokens``: a batch whose padding to its longest text would exceed this many tokens (one long text
    among short ones) runs as sub-batches of at most that many, whose gradients are summed, each scaled by
    1/B of the whole batch, so the step's gradient is the whole batch's (up to float rounding; the dropout,
    word-dropout and weight-drop masks are drawn per sub-batch: a split batch runs under one weight-drop
    mask a sub-batch, not one for the batch).  The memory of a step then grows with the longest text, not with
    B times it.
    """

    def __init__(self, model: Classifier, seqs: Sequence[np.ndarray], labels: np.ndarray,
                 valid_seqs: Sequence[np.ndarray] | None = None, valid_labels: np.ndarray | None = None,
                 batch_size: int = 32, seed: int = 0, meta: dict[str, Any] | None = None,
                 word_dropout: float = 0.0, unk_id: int = 0, select_by: str = "accuracy",
                 max_tokens: int = TRAIN_TOKENS) -> None:
        if len(seqs) != len(labels) or not len(seqs):
            raise ValueError(f"Expected as many labels as sentences (> 0), got {len(labels)} and {len(seqs)}")
        check_rate("word_dropout", word_dropout)
        self.select_by = check_select_by(select_by)
        K = model.config.num_classes
        self.model = model
        self.params = model.params
        self.seqs = _check_seqs("seqs", seqs, model.config.vocab_size)
        self.labels = check_id_values("labels", labels, high=K)  # label ids: 0.7 was read as 0
        if (valid_seqs is None) != (valid_labels is None):
            raise ValueError("Expected valid_seqs and valid_labels together (or neither), got only one")
        if valid_seqs is not None:
            valid_seqs = _check_seqs("valid_seqs", valid_seqs, model.config.vocab_size)
            valid_labels = check_id_values("valid_labels", valid_labels, high=K)  # -1 would wrap to the last class
            if valid_labels.shape != (len(valid_seqs),):
                raise ValueError(f"Expected one valid label per validation sentence ({len(valid_seqs)}), "
                                 f"got shape {valid_labels.shape}")
        self.valid_seqs = valid_seqs
        self.valid_labels = valid_labels
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.seed = check_int("seed", seed, 0)
        self.lengths = np.array([len(s) for s in self.seqs], dtype=np.int64)
        self.word_dropout = float(word_dropout)
        # saved with every checkpoint, so a model says how it was trained
        self._meta = {**(meta or {}), "word_dropout": self.word_dropout}
        self.unk_id = check_int("unk_id", unk_id, 0)
        self.max_tokens = check_int("max_tokens", max_tokens, 1)

    def epoch_units(self) -> int:
        """Training sentences per epoch."""
        return len(self.seqs)

    def uniform_loss(self) -> UniformLoss:
        """ln K per sentence, the loss of guessing every class uniformly, times the mean class weight of
        the training sentences (1 without weights, and with balanced ones): exact, as the training loss
        weighs each sentence by its class's weight (see :class:`rnnkit.train.task.Task`)."""
        weights = self.model.config.class_weights
        mean = 1.0 if weights is None else float(np.mean(np.asarray(weights)[self.labels]))
        return uniform_guess(self.model.config.num_classes, "class", weight=mean)

    def train_batches(self, epoch: int, cursor: int, rng: np.random.Generator) -> Iterator[tuple[int, Any]]:
        """Yields (index after the batch, sentence indices) of ``epoch`` from ``cursor`` on: batches of similar
        length (sorted by length + U(0, 3) noise), in shuffled order."""
        order_rng = np.random.default_rng([self.seed, epoch])
        key = self.lengths + order_rng.uniform(0.0, 3.0, self.lengths.size)
        ordered = np.argsort(key, kind="stable")
        batches = [ordered[i : i + self.batch_size] for i in range(0, ordered.size, self.batch_size)]
        perm = order_rng.permutation(len(batches))
        for i in range(cursor, len(batches)):
            yield i + 1, batches[perm[i]]

    def split_batch(self, batch: Any, parts: int) -> list[Any]:
        """The batch's sentences in ``parts`` runs, the shares of processes training together
        (:mod:`rnnkit.train.distributed`; their losses, per sentence, are combined weighted by sentences)."""
        return split_rows(batch, parts)

    def train_step(self, batch: Any, carry: Any, rng: np.random.Generator) -> StepResult:
        """Loss (mean NLL per sentence) and gradients of one batch, with word dropout; in sub-batches of at
        most ``max_tokens`` padded tokens when the whole would exceed it:
        ``grad = sum_parts d(loss_part)/dtheta / B`` is the whole batch's ``d(sum_b loss_b)/dtheta / B``."""
        batch = np.asarray(batch)
        B = len(batch)
        total, grads = 0.0, None
        parts = self._parts(batch)
        for part in parts:
            ids, lengths = pad_batch([self.seqs[i] for i in part])  # (T, b), (b,)
            if self.word_dropout > 0:
                ids[rng.random(ids.shape) < self.word_dropout] = self.unk_id  # padding is masked anyway
            loss, cache = self.model.loss(ids, lengths, self.labels[part], training=True, rng=rng)
            g = self.model.backward(1.0 / B, cache)  # scaled by the whole batch's B: the sum is its mean
            total += loss
            if grads is None:  # backward's arrays are new each pass (a cell's paired biases too), so summed in place
                grads = g
            else:
                for k, v in g.items():
                    grads[k] += v
        return StepResult(loss=total / B, units=B, grads=grads)

    def _parts(self, batch: np.ndarray) -> list[np.ndarray]:
        """The batch whole when padding it fits ``max_tokens`` (ordinary data: the same arrays as ever), else
        its sentences sorted by length in runs of at most ``max_tokens`` padded tokens (a text longer than that
        runs alone)."""
        lengths = self.lengths[batch]  # (B,)
        if int(lengths.max()) * batch.size <= self.max_tokens:
            return [batch]
        order = np.argsort(lengths, kind="stable")
        return [batch[run] for run in length_batches(order, lengths, batch.size, max_tokens=self.max_tokens,
                                                       token_cap=self.max_tokens)]

    def evaluate(self) -> dict[str, float]:
        """Validation loss (mean NLL per sentence), accuracy and macro F1; {} without validation data."""
        return self.evaluate_joined([self.evaluate_share(0, 1)])

    def evaluate_share(self, rank: int, size: int) -> np.ndarray | None:
        """Class probabilities (N, K) of part ``rank`` of ``size`` of the validation sentences, rows of
        0 for the others' (see :class:`rnnkit.train.task.Task`); None without validation data."""
        if self.valid_seqs is None:
            return None
        return predict_proba(self.model, self.valid_seqs, rank=rank, size=size)

    def evaluate_joined(self, parts: list[np.ndarray | None]) -> dict[str, float]:
        """The validation metrics of the parts' probabilities together."""
        if self.valid_seqs is None or self.valid_labels is None:
            return {}
        probs = np.sum(parts, axis=0, dtype=np.float64)  # (N, K): each row is one part's, the others' are 0
        pred = probs.argmax(axis=1)
        labels = np.asarray(self.valid_labels)
        acc = accuracy(list(labels), list(pred))
        # cross-entropy per sentence, each weighted by its class's weight: the training loss's units
        nll = -np.log(np.maximum(probs[np.arange(labels.size), labels], 1e-300))  # (N,)
        weights = self.model.config.class_weights
        if weights is not None:
            nll = nll * np.asarray(weights)[labels]
        return {"loss": float(nll.mean()), "accuracy": acc, "macro_f1": macro_f1(list(labels), list(pred))}

    @property
    def selected_by(self) -> str:
        """The validation metric :meth:`criterion` follows (see :mod:`rnnkit.train.task`)."""
        return self.select_by

    def criterion(self, metrics: dict[str, float]) -> float:
        """The best checkpoint has the highest validation accuracy, or macro-F1 with select_by='macro_f1'."""
        return selection_criterion(metrics, self.select_by)

    def resume_options(self) -> dict[str, Any]:
        """What a resumed run must share with this one (see :class:`rnnkit.train.loop.Task`): the best so far
        was measured by ``select_by``, so it may not change (the class weights are the model config's)."""
        valid = None if self.valid_seqs is None else [self.valid_seqs, self.valid_labels]
        return {"--batch-size": self.batch_size, OPTION: self.select_by, "validation data": value_digest(valid)}

    def meta(self) -> dict[str, Any]:
        """The given ``meta`` with ``word_dropout`` added, saved with every checkpoint."""
        return self._meta


def classifier_meta(model: Classifier, encoder: ClassifierEncoder, fmt: str = "tsv",
                    label_scheme: str | None = None) -> dict[str, Any]:
    """What a checkpoint needs to rebuild the classifier and its vocabulary; ``label_scheme``: how the labels
    of the tree files it was trained on (``fmt`` "tree") were read (:mod:`rnnkit.classify.trees`)."""
    scheme = {} if label_scheme is None else {"label_scheme": label_scheme}
    return check_written(_read_meta, {"model": "classifier", "classifier_config": model.config.to_dict(),
                                      "encoder": encoder.to_json(), "format": fmt, **scheme}, "load_classifier")


def save_classifier(path: str | os.PathLike, model: Classifier, encoder: ClassifierEncoder, fmt: str = "tsv") -> Path:
    """Write a classifier trained in Python as one checkpoint file (parameters and :func:`classifier_meta`),
    which :func:`load_classifier` and ``rnnkit classify``/``evaluate`` read; returns the path."""
    return save_task_checkpoint(path, model.params, classifier_meta(model, encoder, fmt))


def _read_meta(task: dict[str, Any]) -> tuple[ClassifierConfig, ClassifierEncoder]:
    """``(config, encoder)`` of a classifier's task metadata, checked: KeyError, TypeError or ValueError for what
    cannot be read (:func:`load_classifier`'s, and :func:`classifier_meta`'s at write time)."""
    cfg = ClassifierConfig(**task["classifier_config"])
    encoder = ClassifierEncoder.from_json(task["encoder"])
    check_matches(("classifier_config.vocab_size", cfg.vocab_size, "the vocabulary", len(encoder.vocab)),
                  ("classifier_config.num_classes", cfg.num_classes, "the label list", len(encoder.labels)))
    return cfg, encoder


def load_classifier(path: str | os.PathLike, loaded: ckpt.Loaded | None = None
                    ) -> tuple[Classifier, ClassifierEncoder, dict[str, Any]]:
    """``(model, encoder, task meta)`` from a classifier checkpoint.
    ``loaded``: its ``(arrays, meta)``, when read already (:func:`rnnkit.checkpoint_task.load_task_checkpoint`)."""
    path = model_file(path)  # a run folder: its best.safetensors, else last.safetensors
    params, task = load_task_checkpoint(path, "classifier", "classifier", "rnnkit train classifier", loaded)
    with reading_metadata(path, "classifier"):
        cfg, encoder = _read_meta(task)
        model = Classifier(cfg, np.random.default_rng(0))
    restore_params(model, params, path)
    return model, encoder, task
