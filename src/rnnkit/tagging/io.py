"""Tagging files in and out, and saving / loading trained taggers.

A :class:`DataSpec` says how to read a file: CoNLL-U (UPOS or XPOS column), CoNLL-2000-style
columns (word column, tag column, extra feature columns such as POS for chunking), or segmented
text (one sentence a line, words separated by spaces: Chinese word segmentation, where the tokens
become the characters and the tags their BMES labels), or slash-tagged text (one sentence a line,
``word/TAG`` tokens: the People's Daily format, :mod:`rnnkit.data.slash`).  The spec is stored in the model's
checkpoint so that ``rnnkit tag`` and ``rnnkit evaluate`` read new files the way training did.

A tagger checkpoint (``best.safetensors`` of a training run) holds the parameters under
``model/`` and, as its task metadata, ``{"model": "tagger", "tagger_config", "encoder", "data",
"metric", "train_words", "train_scheme"}``.  An HMM tagger (:mod:`rnnkit.hmm`) is saved as a checkpoint
too, its JSON in the metadata (``{"model": "hmm", "hmm": ..., "data", "metric", "train_scheme"}``) and, for
one built from probability tables (``rnnkit train hmm --unsupervised``: Baum-Welch), those tables as arrays
``model/hmm.start``, ``.transitions``, ``.end``, ``.emissions``, ``.state_counts``,
so :class:`~rnnkit.tagging.loaded.LoadedTagger` (and the command line) take either
kind.  ``train_scheme``: the model's tags' scheme (``--train-scheme``; absent from older checkpoints: the
data's, ``data.scheme``).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_files import model_file
from rnnkit.checkpoint_task import (check_matches, check_written, load_task_checkpoint, reading_metadata,
                                   restore_params, save_task_checkpoint)
from rnnkit.checks import check_bool, check_int_sequence
from rnnkit.data.columns import check_column, format_columns, read_columns
from rnnkit.data.conll import format_conllu, read_conllu
from rnnkit.data.segmentation import format_segmented, read_segmented, tags_to_words, words_to_tags
from rnnkit.data.slash import format_slash, read_slash
from rnnkit.errors import CheckpointError, DataError

FORMATS = ("conllu", "columns", "segmented", "slash")
HMM_KIND = "hmm"
SCHEMES = ("none", "bio", "iob1", "bioes", "bmes")


@dataclass(frozen=True)
class DataSpec:
    """How a tagging data file is read: format, tag and word columns, extra input columns, tag scheme, encoding."""

    format: str = "conllu"  # conllu, columns, segmented or slash
    tag_column: str | int = "upos"  # conllu: "upos" or "xpos"; columns: an index (-1 = last)
    word_column: int = 0  # columns only
    feature_columns: tuple = field(default_factory=tuple)  # columns only: extra inputs, e.g. (1,) = POS
    scheme: str = "none"  # tag scheme, for constrained decoding and span scores
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        # column indices are ints (numpy ones kept as Python ints, which the spec's JSON holds); -1 = last
        object.__setattr__(self, "feature_columns", check_int_sequence("feature_columns", self.feature_columns))
        object.__setattr__(self, "word_column", _column_index("word_column", self.word_column))
        if self.format == "columns":
            object.__setattr__(self, "tag_column", _column_index("tag_column", self.tag_column,
                                                                 " for column files"))
        if self.format not in FORMATS:
            raise ValueError(f"Expected format one of {FORMATS}, got {self.format!r}")
        if self.scheme not in SCHEMES:
            raise ValueError(f"Expected scheme one of {SCHEMES}, got {self.scheme!r}")
        if self.format == "conllu" and self.tag_column not in ("upos", "xpos"):
            raise ValueError(f"Expected tag_column 'upos' or 'xpos' for CoNLL-U, got {self.tag_column!r}")
        if self.format == "segmented" and self.scheme != "bmes":
            raise ValueError(f"Expected scheme 'bmes' for segmented text, got {self.scheme!r}")
        if self.feature_columns and self.format != "columns":
            raise ValueError(f"Expected feature_columns only with format 'columns', got format {self.format!r}")

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-safe dict (``feature_columns`` as a list)."""
        d = asdict(self)
        d["feature_columns"] = list(self.feature_columns)
        return d


def _column_index(name: str, value: Any, where: str = "") -> int:
    """A column index as a Python int (numpy integers too; not a bool, float or str)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"Expected an integer {name}{where} (0 the first column, -1 the last), got {value!r}")
    return int(value)


@dataclass
class TaggingData:
    """Sentences of tokens, their tags (None when unlabelled), extra feature columns, and the source."""

    words: list[list[str]]  # tokens (characters for segmented text)
    tags: list[list[str]] | None
    features: list[list[list[str]]] | None  # [sentence][token][column]
    source: Any = None  # what the reader returned, to write predictions back in the same format

    def block(self, start: int, stop: int) -> TaggingData:
        """Sentences ``start`` to ``stop`` (a slice of every list), e.g. to tag a long file a block at a time."""
        def part(rows: Any) -> Any:
            return None if rows is None else rows[start:stop]

        return TaggingData(self.words[start:stop], part(self.tags), part(self.features), part(self.source))


def _sentence_list(name: str, value: Any) -> None:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"Expected {name} to be a list of sentences, got {type(value).__name__}")


def check_sentences(data: TaggingData) -> None:
    """Every sentence of ``data`` a list of tokens (a str would be read as its characters), with as many
    tags and feature rows as tokens when they are given (a short one would be padded silently)."""
    _sentence_list("data.words", data.words)
    for name in ("tags", "features"):
        rows = getattr(data, name)
        if rows is None:
            continue
        _sentence_list(f"data.{name}", rows)
        if len(rows) != len(data.words):
            raise ValueError(f"Expected data.{name} for each of the {len(data.words)} sentences, got {len(rows)}")
    for k, sentence in enumerate(data.words):
        if isinstance(sentence, str) or not isinstance(sentence, (list, tuple)):
            hint = f" (split it: {sentence[:30]!r}.split())" if isinstance(sentence, str) else ""
            raise TypeError(f"Expected sentence {k} of data.words as a list of tokens, got "
                            f"{type(sentence).__name__}{hint}")
        for name in ("tags", "features"):
            rows = getattr(data, name)
            if rows is not None and (isinstance(rows[k], str) or len(rows[k]) != len(sentence)):
                got = "a str" if isinstance(rows[k], str) else len(rows[k])
                raise ValueError(f"Expected data.{name}[{k}] to hold one entry per token ({len(sentence)}), got {got}")


def read_tagged(path: str | os.PathLike, spec: DataSpec, labelled: bool = True) -> TaggingData:
    """Read a file as ``spec`` says; ``labelled=False`` reads column files without a tag column."""
    if not isinstance(spec, DataSpec):
        raise TypeError(f"Expected spec to be a DataSpec, got {type(spec).__name__}")
    labelled = check_bool("labelled", labelled)  # "no" would read the tags
    if spec.format == "conllu":
        sents = read_conllu(path, spec.tag_column, spec.encoding)
        return TaggingData([s.words for s in sents], [s.tags for s in sents] if labelled else None, None, sents)
    if spec.format == "columns":
        sents = read_columns(path, spec.word_column, spec.tag_column if labelled else None, spec.encoding)
        feats = None
        if spec.feature_columns:
            where = f"{path}:{sents[0].line_number}"
            width = len(sents[0].rows[0])
            for c in spec.feature_columns:
                check_column(c, width, "feature column", where)
            feats = [[[row[c] for c in spec.feature_columns] for row in s.rows] for s in sents]
        return TaggingData([s.words for s in sents], [s.tags for s in sents] if labelled else None, feats, sents)
    if spec.format == "slash":  # its tags are always read: a token without one is an error
        sents = read_slash(path, spec.encoding)
        return TaggingData([s.words for s in sents], [s.tags for s in sents] if labelled else None, None, sents)
    return _segmentation(read_segmented(path, spec.encoding), labelled)


def _segmentation(sentences: list[list[str]], labelled: bool) -> TaggingData:
    """Characters and their B/M/E/S tags of segmented sentences (each a list of words)."""
    chars, tags = [], []
    for words in sentences:
        c, t = words_to_tags(words)
        chars.append(c)
        tags.append(t)
    return TaggingData(chars, tags if labelled else None, None, sentences)


def read_conllu_segmentation(path: str | os.PathLike, encoding: str = "utf-8", labelled: bool = True) -> TaggingData:
    """A CoNLL-U file read as segmented text: each sentence's surface tokens, its gold segmentation (a
    multiword token's FORM once, not its words; empty nodes left out), as characters and B/M/E/S tags.
    UD Chinese's treebanks are this, so a segmenter trains and is scored on them as they come."""
    sentences = []
    for s in read_conllu(path, "upos", encoding):
        words, inside = [], 0  # inside: the last word ID of the multiword token being read
        for line in s.raw_lines:
            cols = line.rstrip("\r\n").split("\t")
            if len(cols) != 10 or line.startswith("#") or "." in cols[0]:
                continue
            if "-" in cols[0]:
                inside = int(cols[0].split("-")[1])
                words.append(cols[1])
            elif int(cols[0]) > inside:
                words.append(cols[1])
        sentences.append(words)
    return _segmentation(sentences, labelled)


def raw_sentences(lines: list[str]) -> TaggingData:
    """Whitespace-tokenised raw text, one sentence a line (blank lines are empty sentences)."""
    words = [line.split() for line in lines]
    return TaggingData(words, None, None, None)


def format_predictions(data: TaggingData, predictions: list[list[str]], spec: DataSpec | None,
                       column: str | None = None) -> str:
    """Text of the predictions in the input's own format.

    CoNLL-U: the input with the tag column replaced (``column``, default the spec's: "upos" or "xpos"; or
    "misc", ``Tag=X`` added to MISC, :func:`rnnkit.data.conll.format_conllu`); columns: the input with the
    predicted tags appended as a last column (what conlleval reads); segmented: the words; slash: the input with
    its tags replaced (the same spaces and blank lines); raw text (``spec``
    None): ``word/TAG`` tokens, one sentence a line.
    """
    if len(predictions) != len(data.words):  # zip would write only the sentences that have predictions
        raise ValueError(f"Expected predictions for each of the {len(data.words)} sentences, got {len(predictions)}")
    for k, (words, tags) in enumerate(zip(data.words, predictions)):
        if isinstance(tags, str) or len(tags) != len(words):  # a short one would drop the sentence's last words
            got = "a str" if isinstance(tags, str) else f"{len(tags)}"
            raise ValueError(f"Expected one predicted tag per token of sentence {k} ({len(words)}), got {got}")
    if spec is None or data.source is None:
        return "".join(" ".join(f"{w}/{t}" for w, t in zip(ws, ts)) + "\n" for ws, ts in zip(data.words, predictions))
    if spec.format == "conllu":
        return format_conllu(data.source, predictions, column or spec.tag_column)
    if spec.format == "columns":
        return format_columns(data.source, predictions)
    if spec.format == "slash":
        return format_slash(data.source, predictions)
    from rnnkit.data.segment_rules import fix_words, written_spaces

    given = data.tags or [None] * len(data.words)  # the input's own segmentation: its written spaces stay
    return format_segmented([fix_words(tags_to_words(c, t), () if g is None else written_spaces(tags_to_words(c, g)))
                             for c, t, g in zip(data.words, predictions, given)], " ")


# ---------------------------------------------------------------------- checkpoints
def tagger_meta(model: Any, encoder: Any, spec: DataSpec, metric: str,
                train_words: list[str] | None = None, train_scheme: str | None = None) -> dict[str, Any]:
    """What a checkpoint needs to rebuild the tagger, its vocabularies and its data format;
    ``train_scheme``: the scheme of the encoder's tags (None: the data's, ``spec.scheme``)."""
    return check_written(_read_meta, {
        "model": "tagger",
        "tagger_config": model.config.to_dict(),
        "encoder": encoder.to_json(),
        "data": spec.to_dict(),
        "metric": metric,
        "train_words": train_words,  # segmentation: the training word list, for OOV recall
        "train_scheme": train_scheme or spec.scheme,
    }, "load_tagger", _FIXES)


# what a save's caller changes when read_task refuses what it is about to write (check_written: first match)
_SCHEME_FIX = ("train_scheme", "pass train_scheme=None (the data's scheme) or a scheme the data's can be trained in")
_TAG_FIX = (" tag ", "give DataSpec the scheme the tags are in (scheme='none' for tags without spans, as POS tags)")
_FIXES = (_SCHEME_FIX, ("metric", "pass metric=None (the one training picks for the data's scheme)"), _TAG_FIX)


def save_tagger(path: str | os.PathLike, model: Any, encoder: Any, spec: DataSpec, metric: str | None = None,
                train_words: list[str] | None = None, train_scheme: str | None = None) -> Path:
    """Write a tagger trained in Python as one checkpoint file (parameters and :func:`tagger_meta`), which
    :class:`~rnnkit.tagging.loaded.LoadedTagger` and ``rnnkit tag``/``evaluate`` read; returns the path.
    ``metric``: what ``evaluate`` reports (None: the spec's scheme's, as training picks it:
    :func:`rnnkit.tagging.scoring.metric_for`)."""
    from rnnkit.tagging.scoring import metric_for

    metric = metric_for(spec.scheme, spec.format) if metric is None else metric
    return save_task_checkpoint(path, model.params, tagger_meta(model, encoder, spec, metric, train_words,
                                                                train_scheme))


def load_tagger(path: str | os.PathLike, loaded: ckpt.Loaded | None = None
                ) -> tuple[Any, Any, dict[str, Any]]:
    """``(model, encoder, task meta)`` from a tagger checkpoint.
    ``loaded``: its ``(arrays, meta)``, when read already (:func:`rnnkit.checkpoint_task.load_task_checkpoint`)."""
    return checked_tagger(path, loaded)[:3]


def checked_tagger(path: str | os.PathLike, loaded: ckpt.Loaded | None = None
                   ) -> tuple[Any, Any, dict[str, Any], TaskSchemes, tuple | None]:
    """:func:`load_tagger`'s three and what its check of the metadata found: the :class:`TaskSchemes` and the
    training scheme's decoding constraints (what :class:`~rnnkit.tagging.loaded.LoadedTagger` reads)."""
    from rnnkit.tagging.model import Tagger

    path = model_file(path)  # a run folder: its best.safetensors, else last.safetensors
    params, task = load_task_checkpoint(path, "tagger", "tagger", "rnnkit train tagger", loaded)
    with reading_metadata(path, "tagger"):
        cfg, encoder, schemes, allowed = _read_meta(task)
        model = Tagger(cfg, np.random.default_rng(0))
    restore_params(model, params, path)
    return model, encoder, task, schemes, allowed


def _read_meta(task: dict[str, Any]) -> tuple[Any, Any, TaskSchemes, tuple | None]:
    """``(config, encoder, schemes, allowed)`` of a tagger's task metadata, checked with its data spec and metric,
    its training scheme and its tags (which that scheme's decoding constraints ``allowed`` read): KeyError,
    TypeError or ValueError for what cannot be read (:func:`load_tagger`'s, and :func:`tagger_meta`'s at write
    time)."""
    from rnnkit.tagging.model import TaggerConfig
    from rnnkit.tagging.task import TaggerEncoder, decoding_constraints

    cfg = TaggerConfig(**task["tagger_config"])
    encoder = TaggerEncoder.from_json(task["encoder"])
    schemes = read_task(task, encoder.tags)
    allowed = decoding_constraints(encoder.tags, schemes.train_scheme)
    check_matches(("tagger_config.vocab_size", cfg.vocab_size, "the word vocabulary", len(encoder.words)),
                  ("tagger_config.num_tags", cfg.num_tags, "the tag list", len(encoder.tags)),
                  ("tagger_config.char_vocab_size", cfg.char_vocab_size, "the character vocabulary",
                   len(encoder.chars or ())),
                  ("tagger_config.bigram_vocab_size", cfg.bigram_vocab_size, "the bigram vocabulary",
                   len(encoder.bigrams or ())))
    return cfg, encoder, schemes, allowed


class TaskSchemes(NamedTuple):
    """:func:`read_task`'s: the data spec of a tagger's or HMM's task metadata, the scheme its model's tags are in
    and the map from them to the data's (:class:`rnnkit.tagging.train_scheme.SchemeMap`)."""

    spec: DataSpec
    train_scheme: str
    scheme_map: Any


def read_task(task: dict[str, Any], tags: list[str]) -> TaskSchemes:
    """The :class:`TaskSchemes` of a tagger's or HMM's task metadata whose model has ``tags``, checked: a readable
    data spec (built once), a metric its scheme can be scored by (:func:`rnnkit.tagging.scoring.check_metric`), a
    training scheme the data's can be trained in and an HMM's ``fold_width`` flag; KeyError, TypeError or ValueError
    for what cannot be read: :class:`~rnnkit.tagging.loaded.LoadedTagger`'s check, and the savers' at write time."""
    from rnnkit.tagging.scoring import check_metric
    from rnnkit.tagging.train_scheme import SchemeMap

    spec = DataSpec(**task["data"])
    check_metric(task["metric"], spec.scheme)
    check_bool("fold_width", task.get("fold_width", False))  # an HMM's (a tagger's is its encoder's); absent: off
    train_scheme = task.get("train_scheme", spec.scheme)  # absent before the option: the data's
    return TaskSchemes(spec, train_scheme, SchemeMap(tags, spec.scheme, train_scheme))


def spec_from_meta(task: dict[str, Any]) -> DataSpec:
    """The DataSpec stored in a tagger or HMM checkpoint's task metadata."""
    return DataSpec(**task["data"])


# ---------------------------------------------------------------------- HMM taggers
TABLE_PREFIX = "model/hmm."  # a hand-built or EM-trained HMM's probability tables, as arrays


def save_hmm(path: str | os.PathLike, hmm: Any, spec: DataSpec, metric: str,
             train_words: list[str] | None = None, fold_width: bool = False, train_scheme: str | None = None,
             extra: dict[str, Any] | None = None) -> None:
    """An :class:`rnnkit.hmm.HMMTagger` as a checkpoint: its JSON (what ``HMMTagger.save`` writes)
    inside the metadata, so ``rnnkit evaluate``, ``tag`` and ``segment`` take it like a tagger; the
    probability tables of a model built from them (``from_probabilities``, Baum-Welch's) go in as arrays
    ``model/hmm.emissions`` ..., since a (V, K) table as JSON text would outgrow safetensors' 100 MB header.
    ``fold_width``: the HMM was trained on width-folded words, and reads new text folded too;
    ``train_scheme``: the scheme of its tags (None: the data's); ``extra``: more task metadata
    (``"unsupervised"``: how EM trained it).  What :class:`~rnnkit.tagging.loaded.LoadedTagger` would refuse
    reading the file back (a metric the data's scheme cannot score, a training scheme it cannot be trained in:
    :func:`read_task`, its check) is a ValueError now, and nothing is written."""
    import json

    doc = hmm.document(tables=False)
    arrays = {TABLE_PREFIX + name: np.asarray(a, dtype=np.float64) for name, a in getattr(hmm, "tables_", {}).items()}
    task = {"model": HMM_KIND, "hmm": json.dumps(doc, ensure_ascii=False),
            **_hmm_task(spec, metric, train_words, fold_width, train_scheme), **(extra or {})}
    check_written(lambda written: read_task(written, list(hmm.tags_)), task, "LoadedTagger", _HMM_FIXES)
    ckpt.save_checkpoint(path, arrays, {"kind": "hmm-tagger", "task": task})


_HMM_FIXES = (_SCHEME_FIX, ("metric", "pass a metric the data's scheme can score (accuracy for tags without spans; "
                                      "rnnkit.tagging.scoring.metric_for gives the one training picks)"), _TAG_FIX)


def _hmm_task(spec: DataSpec, metric: str, train_words: list[str] | None = None, fold_width: bool = False,
              train_scheme: str | None = None) -> dict[str, Any]:
    """The task metadata :class:`~rnnkit.tagging.loaded.LoadedTagger` reads of an HMM, beside its JSON."""
    return {"data": spec.to_dict(), "metric": metric, "train_words": train_words, "fold_width": bool(fold_width),
            "train_scheme": train_scheme or spec.scheme}


def load_hmm_json(path: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """``(hmm, task)`` of a file :meth:`rnnkit.hmm.HMMTagger.save` wrote, as
    :class:`~rnnkit.tagging.loaded.LoadedTagger` takes it: the task metadata :func:`save_hmm` would store
    with it, which the JSON does not hold: its data read as CoNLL-U (UPOS), or, for a BMES model, as
    segmented text; the metric its scheme's; no training words."""
    from rnnkit.hmm import HMMTagger
    from rnnkit.tagging.scoring import metric_for

    hmm = HMMTagger.load(path)
    scheme = {None: "none", "iob2": "bio"}.get(hmm.scheme, hmm.scheme)
    spec = DataSpec("segmented" if scheme == "bmes" else "conllu", scheme=scheme)
    return hmm, {"model": HMM_KIND, **_hmm_task(spec, metric_for(scheme, spec.format))}


def _load_hmm(path: str | os.PathLike, task: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> Any:
    from rnnkit.hmm import HMMTagger

    tables = {k[len(TABLE_PREFIX):]: a for k, a in (arrays or {}).items() if k.startswith(TABLE_PREFIX)}
    try:
        return HMMTagger.loads(task.get("hmm") or "", "its HMM", tables)
    except DataError as exc:
        raise CheckpointError(f"{path}: damaged HMM inside the checkpoint ({exc}); train it again") from None


def __getattr__(name: str) -> Any:
    """``LoadedTagger``, which moved to :mod:`rnnkit.tagging.loaded`, still imports from here."""
    if name == "LoadedTagger":
        from rnnkit.tagging.loaded import LoadedTagger

        return LoadedTagger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
