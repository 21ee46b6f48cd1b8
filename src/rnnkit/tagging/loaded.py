"""A trained tagger from its checkpoint, neural or HMM, behind one interface: :class:`LoadedTagger`.

What ``rnnkit tag``, ``segment`` and ``evaluate`` use, and the way to use a model the command line trained
from Python: ``predict`` on :class:`~rnnkit.tagging.io.TaggingData`, ``tag`` and ``segment`` on plain
sentences and raw text, ``marginals``, ``nbest`` and ``spans`` for how sure the model is
(:mod:`rnnkit.tagging.confidence`), ``score`` on labelled data.  The checkpoint formats are
:mod:`rnnkit.tagging.io`'s.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_files import model_file
from rnnkit.checkpoint_task import other_kind, reading_metadata
from rnnkit.checks import check_int
from rnnkit.errors import CheckpointError
from rnnkit.hmm_io import is_hmm_json
from rnnkit.tagging.io import HMM_KIND, DataSpec, TaggingData, _load_hmm, checked_tagger, load_hmm_json, read_task


def missing_features(spec: DataSpec) -> str:
    """The message for sentences given without the feature columns a model trained with (a chunker reading POS)."""
    return (f"Expected input with the model's feature columns {list(spec.feature_columns)}, got sentences without "
            "features: pass features=, for every sentence a list of each word's feature values (tag('He reckons', "
            "features=[[['PRP'], ['VBZ']]]) with one feature column), or read a column file as the model does "
            "(read_tagged(path, loaded.spec))")


class LoadedTagger:
    """A neural tagger or an HMM checkpoint (or an HMM's JSON file, :meth:`rnnkit.hmm.HMMTagger.save`'s) behind
    one ``predict(data) -> tags`` call, with :meth:`tag` and :meth:`segment` for plain sentences and raw text,
    and :meth:`marginals`, :meth:`nbest` and :meth:`spans` for how sure the tagger is
    (:mod:`rnnkit.tagging.confidence`)."""

    def __init__(self, path: str | os.PathLike) -> None:
        path = model_file(path)  # a run folder: its best.safetensors, else last.safetensors
        # a file HMMTagger.save wrote: its JSON alone, its data read as CoNLL-U (segmented text for BMES)
        self.from_json = is_hmm_json(path)
        # the kind; the arrays are read (and checked) once, below
        task = {"model": HMM_KIND} if self.from_json else ckpt.load_meta(path).get("task") or {}
        self.kind = task.get("model")
        if self.from_json:
            self.model, task = load_hmm_json(path)
        elif self.kind == "tagger":  # checked as it loads: its schemes and constraints are kept, not redone
            self.model, self.encoder, task, schemes, self.allowed = checked_tagger(path)
        elif self.kind == HMM_KIND:
            self.model = _load_hmm(path, task, ckpt.load_checkpoint(path)[0])
        else:
            ckpt.load_checkpoint(path)  # a damaged file is said as damaged before as foreign
            raise CheckpointError(f"{path}: not a tagger or HMM checkpoint; {other_kind(self.kind)}")
        self.task = task
        if self.kind == HMM_KIND:
            with reading_metadata(path, "tagger"):  # what tag, segment and evaluate read: checked now
                schemes = read_task(task, self.trained_tags)  # the savers' check
            # the rules no_path reads (the HMM's loading checked its tags against them)
            from rnnkit.constraints import allowed_transitions

            scheme = self.model.scheme
            self._path_rules = None if scheme is None else allowed_transitions(self.model.tags_, scheme)
        else:
            self._path_rules = self.allowed
        self.spec, self.train_scheme, self.scheme_map = schemes

    @property
    def trained_tags(self) -> list[str]:
        """The model's own tags, in the scheme it was trained in (``train_scheme``)."""
        return list(self.model.tags_ if self.kind == HMM_KIND else self.encoder.tags)

    @property
    def tags(self) -> list[str]:
        """The tags the model predicts, in its data's scheme (those it was trained on, unless it was trained
        in another scheme)."""
        return list(self.scheme_map.tags)

    @property
    def fold_width(self) -> bool:
        """Whether the model reads text width-folded (``--fold-width``: full-width characters as half-width ones)."""
        return self.encoder.fold_width if self.kind == "tagger" else bool(self.task.get("fold_width"))

    def predict(self, data: TaggingData, tag_masks: list[np.ndarray | None] | None = None,
                impossible: list[int] | None = None, no_path: list[int] | None = None,
                on_batch: Callable[[int], None] | None = None) -> list[list[str]]:
        """Predicted tags of every sentence (empty sentences get []).  ``tag_masks``: per sentence None or
        an (n, K) bool array, columns in the order of :attr:`trained_tags`: token i may take tag k only where
        it is true, and the prediction is the best tag sequence among those it allows.  ``impossible``: a list
        that gets the index of each sentence of probability 0 under an HMM (no tag path can produce it: its
        tags are :meth:`rnnkit.hmm.HMMTagger.tag_with_score`'s fallback guess); a neural tagger adds none.
        ``no_path``: a list that gets the index of each sentence whose length (and mask) the scheme's rules allow
        no tag sequence of the model's tags (BMES tags without S, trained on no one-character word: a sentence of
        one character; :func:`rnnkit.constraints.has_legal_path`); its tags are the best sequence ignoring the
        rules, and it is not also counted in ``impossible``.  ``on_batch``: called with the number of tokens of
        each batch of sentences once it is tagged (a progress display); the tags are the same without it."""
        if tag_masks is not None:
            if len(tag_masks) != len(data.words):
                raise ValueError(f"Expected one tag mask per sentence ({len(data.words)}), got {len(tag_masks)}")
            K = len(self.trained_tags)
            for i, (words, mask) in enumerate(zip(data.words, tag_masks)):
                if mask is not None and (np.shape(mask) != (len(words), K) or np.asarray(mask).dtype != bool):
                    raise ValueError(f"Expected tag_masks[{i}] as None or a bool array of shape {(len(words), K)}, "
                                     f"got {np.asarray(mask).dtype} {np.shape(mask)}")
        keep = [i for i, s in enumerate(data.words) if s]
        masks = None if tag_masks is None else [tag_masks[i] for i in keep]
        out: list[list[str]] = [[] for _ in data.words]
        pathless = self.no_path(data, tag_masks)
        if no_path is not None:
            no_path.extend(sorted(pathless))
        if self.kind == HMM_KIND:
            sentences = [data.words[i] for i in keep]
            if self.task.get("fold_width"):  # absent from checkpoints before the option: off
                from rnnkit.data.segmentation import fold_sentences

                sentences = fold_sentences(sentences)
            step = len(sentences) if on_batch is None else 512  # a batch: for on_batch
            scored, memo = [], {}  # one cache of unknown words' scores for every batch
            for a in range(0, len(sentences), max(1, step)):
                scored += self.model.predict_scored(sentences[a : a + step], None if masks is None else
                                                    masks[a : a + step], memo)
                if on_batch is not None:
                    on_batch(sum(map(len, sentences[a : a + step])))
            pred = [tags for tags, _ in scored]
            if impossible is not None:
                impossible.extend(i for i, (_, score) in zip(keep, scored) if score == -np.inf and i not in pathless)
        else:
            from rnnkit.tagging.task import predict_ids

            if self.encoder.features and data.features is None:
                raise ValueError(missing_features(self.spec))
            ids = predict_ids(self.model, self.encoder.encode(data), self.allowed, tag_masks=tag_masks,
                              unconstrained=pathless, on_batch=on_batch)
            pred = [[self.encoder.tags[j] for j in ids[i]] for i in keep]
        for i, p in zip(keep, pred):
            out[i] = self.scheme_map.sequence(p)
        return out

    def no_path(self, data: TaggingData, tag_masks: list[np.ndarray | None] | None = None) -> set[int]:
        """Indices of the sentences of ``data`` (with ``tag_masks``, as :meth:`predict` takes them) for which the
        scheme's rules allow no sequence of the model's tags (BMES tags without S: a one-character sentence);
        :meth:`predict`, :meth:`marginals`, :meth:`nbest` and :meth:`spans` read them without the rules."""
        from rnnkit.constraints import no_path_indices

        return no_path_indices(self._path_rules, [len(words) for words in data.words], tag_masks)

    def has_path(self, length: int, tag_mask: np.ndarray | None = None) -> bool:
        """True when the scheme's rules allow a sequence of the model's tags of ``length`` tokens (taking at
        token t only the tags ``tag_mask`` (length, K) allows); :func:`rnnkit.constraints.has_legal_path`."""
        from rnnkit.constraints import has_legal_path

        return self._path_rules is None or has_legal_path(self._path_rules, length, tag_mask)

    def segment(self, text: str | list[str], user_words: Any = None) -> list[str] | list[list[str]]:
        """Words of raw text as ``rnnkit segment`` prints them: of one str, or of each line of a list
        (see :func:`rnnkit.tagging.segmenter.segment`).  ``user_words``: words always kept whole, as
        ``segment --dict`` keeps them (a list of str, or a :class:`~rnnkit.data.user_dict.UserDict`)."""
        from rnnkit.tagging.segmenter import segment

        return segment(self, text, user_words)

    def tag(self, sentences: Any, features: Any = None) -> list[str] | list[list[str]]:
        """Tags of one sentence (a str of words) or of a list of sentences (each a str or a list of
        words), as ``rnnkit tag`` gives them (see :func:`rnnkit.tagging.segmenter.tag`).  A tokenised
        sentence is ``[words]``: ``words`` alone is that many one-word sentences (a UserWarning says so)."""
        from rnnkit.tagging.segmenter import tag

        return tag(self, sentences, features)

    def marginals(self, sentences: Any, features: Any = None) -> np.ndarray | list[np.ndarray]:
        """P(tag | sentence) of every token: an (n, K) array per sentence, columns in the order of
        :attr:`tags`; sentences as :meth:`tag` takes them, or a TaggingData (see
        :mod:`rnnkit.tagging.confidence` for what the probabilities are)."""
        return self._confidence(sentences, features, lambda c: c.marginals)

    def nbest(self, sentences: Any, n: int, features: Any = None) -> list | list[list]:
        """The ``n`` most probable tag sequences of every sentence with their probabilities,
        ``[(tags, p), ...]`` best first (neural taggers and HMMs); ``n`` >= 1.  The first is always the
        sequence :meth:`tag` gives: an empty sentence's is ``([], 1.0)``, its one tag sequence; an HMM's sentence
        of probability 0 (no tag path can produce it) has none, ``[]``, as :meth:`rnnkit.hmm.HMMTagger.nbest`."""
        return self._confidence(sentences, features, lambda c: c.nbest, nbest=check_int("n", n, 1))

    def spans(self, sentences: Any, features: Any = None) -> list | list[list]:
        """The predicted spans of every sentence of a span model (BIO, IOB1, BIOES):
        ``{"start", "end" (exclusive), "type", "text", "prob"}`` dicts, ``prob`` the span's exact probability."""
        return self._confidence(sentences, features, lambda c: c.spans, spans=True)

    def _confidence(self, sentences: Any, features: Any, pick: Any, **options: Any) -> Any:
        from rnnkit.tagging.confidence import confidence
        from rnnkit.tagging.segmenter import sentences_data

        data, one = sentences_data(self, sentences, features)
        found = [pick(c) for c in confidence(self, data, **options)]
        return found[0] if one else found

    def known(self, words: list[list[str]]) -> list[list[bool]]:
        """Whether the model's word vocabulary holds each token, read as the model reads it (width-folded,
        lowercased as trained): an HMM's training words, a neural tagger's (``--min-count`` and
        ``--extend-vocab`` shape it)."""
        if self.kind == HMM_KIND:
            from rnnkit.data.segmentation import fold_sentences

            folded = fold_sentences(words) if self.task.get("fold_width") else words
            return [[w in self.model.vocab_ for w in s] for s in folded]
        enc = self.encoder
        return [[enc.norm(w) in enc.words for w in s] for s in enc.folded(words)]

    def score(self, data: TaggingData, predicted: list[list[str]] | None = None) -> dict[str, Any]:
        """The model's metric on labelled data (see :func:`rnnkit.tagging.task.score`); token accuracy
        comes with the accuracy on known and unknown words.  ``predicted``: :meth:`predict`'s tags of
        ``data``, when the caller has them already."""
        from rnnkit.tagging.task import score

        fold = self.fold_width
        known = self.known(data.words) if self.task["metric"] in ("accuracy", "induction") else None
        return score(self.task["metric"], data.tags, self.predict(data) if predicted is None else predicted,
                     data.words, self.spec.scheme, self.task.get("train_words"), fold, known)
