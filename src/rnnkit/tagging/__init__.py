"""Sequence labelling: BiLSTM taggers with softmax or CRF output, character features and bigrams.

POS tagging, chunking, named entities and Chinese word segmentation (BMES character tagging) all
use :class:`Tagger`; :class:`TaggerEncoder` turns sentences into ids and :class:`TaggerTask`
trains a tagger with :class:`rnnkit.train.Trainer`.  :class:`LoadedTagger` reads a saved tagger,
segmenter or HMM and tags sentences (``.tag``) or segments raw text (``.segment``) as ``rnnkit tag``
and ``rnnkit segment`` do.  :func:`to_train` and :class:`SchemeMap` train in another span scheme than the
data's (BIO as BIOES) and read the outputs back (``--train-scheme``).
"""
from rnnkit.tagging.io import (DataSpec, TaggingData, format_predictions, load_tagger, read_tagged, save_tagger,
                               tagger_meta)
from rnnkit.tagging.loaded import LoadedTagger
from rnnkit.tagging.model import Tagger, TaggerBatch, TaggerConfig
from rnnkit.tagging.task import TaggerEncoder, TaggerTask, make_batch, predict_ids, score
from rnnkit.tagging.train_scheme import SchemeMap, to_train

__all__ = [
    "DataSpec",
    "LoadedTagger",
    "SchemeMap",
    "Tagger",
    "TaggerBatch",
    "TaggerConfig",
    "TaggerEncoder",
    "TaggerTask",
    "TaggingData",
    "format_predictions",
    "load_tagger",
    "make_batch",
    "predict_ids",
    "read_tagged",
    "save_tagger",
    "score",
    "tagger_meta",
    "to_train",
]
