"""Saving and loading trained translators: the model, both vocabularies and both tokenisers.

A translator checkpoint is either a training run's ``best.safetensors`` / ``last.safetensors`` or a
file written by :func:`save_translator`.  Both hold the parameters under ``model/`` and, as their task
metadata::

    {"model": "seq2seq", "seq2seq_config": {...}, "source_vocab": "<json>", "target_vocab": "<json>",
     "source_tokenizer": {"level": "punct", "lowercase": false}, "target_tokenizer": {...},
     "bleu_tokenize": "auto", "length_rule": {"ratio": 1.65, "extra": 60, "longest_source": 80}}

(a ``bpe`` tokenizer adds ``"bpe_model"``: its SentencePiece model, base64) so new text is tokenised
exactly as the training text was, and output ids become text again with the
target side's vocabulary and detokeniser.  ``bleu_tokenize`` is the BLEU tokenizer chosen for training
(``rnnkit train seq2seq --bleu-tokenize``), which ``rnnkit evaluate`` uses unless told otherwise, so a
model is scored the way its validation scored it; checkpoints written before it existed read as ``"auto"``.
``length_rule`` sets each sentence's length limit when decoding, fitted to the training pairs
(:mod:`rnnkit.seq2seq.lengths`); older checkpoints read as the rule 2 n + 10.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_files import model_file
from rnnkit.checkpoint_task import (check_matches, load_task_checkpoint, reading_metadata, restore_params,
                                   save_task_checkpoint)
from rnnkit.data.parallel import check_vocab
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.data.vocab import Vocabulary
from rnnkit.metrics.translation import BLEU_TOKENIZERS
from rnnkit.seq2seq.lengths import LengthRule
from rnnkit.seq2seq.model import Seq2Seq, Seq2SeqConfig

KIND = "seq2seq"


@dataclass
class Translator:
    """A trained model with what turns text into its ids and its ids back into text."""

    model: Seq2Seq
    source_vocab: Vocabulary
    target_vocab: Vocabulary
    source_tokenizer: Tokenizer
    target_tokenizer: Tokenizer
    bleu_tokenize: str = "auto"  # how BLEU is scored by default (rnnkit.metrics.translation.BLEU_TOKENIZERS)
    length_rule: LengthRule = LengthRule()  # each sentence's decoding limit (rnnkit.seq2seq.lengths)

    def __post_init__(self) -> None:
        _check_parts(self.model, self.source_vocab, self.target_vocab, self.source_tokenizer,
                     self.target_tokenizer, self.bleu_tokenize, self.length_rule)

    def meta(self) -> dict[str, Any]:
        """The task metadata a checkpoint needs to rebuild this translator."""
        return seq2seq_meta(self.model, self.source_vocab, self.target_vocab, self.source_tokenizer,
                            self.target_tokenizer, self.bleu_tokenize, self.length_rule)


def seq2seq_meta(model: Seq2Seq, source_vocab: Vocabulary, target_vocab: Vocabulary, source_tokenizer: Tokenizer,
                 target_tokenizer: Tokenizer, bleu_tokenize: str = "auto",
                 length_rule: LengthRule = LengthRule()) -> dict[str, Any]:
    """What a checkpoint needs to rebuild ``model``, its vocabularies and its tokenisers, the BLEU
    tokenizer it is scored with by default and the rule that sets decoding's length limits
    (:func:`rnnkit.seq2seq.lengths.fit_length_rule` of the training pairs)."""
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"Expected model to be a Seq2Seq, got {type(model).__name__}")
    _check_parts(model, source_vocab, target_vocab, source_tokenizer, target_tokenizer, bleu_tokenize, length_rule)
    cfg = model.config
    return {
        "model": KIND,
        "seq2seq_config": cfg.to_dict(),
        "source_vocab": source_vocab.to_json(),
        "target_vocab": target_vocab.to_json(),
        "source_tokenizer": source_tokenizer.to_dict(),
        "target_tokenizer": target_tokenizer.to_dict(),
        "bleu_tokenize": bleu_tokenize,
        "length_rule": length_rule.to_dict(),
    }


def _check_parts(model: Any, source_vocab: Any, target_vocab: Any, source_tokenizer: Any, target_tokenizer: Any,
                 bleu_tokenize: Any, length_rule: Any) -> None:
    """The parts of a translator, checked.  The vocabularies' sizes are checked against a
    :class:`Seq2Seq`'s embeddings; any other model (a scripted stand-in with ``encode``,
    ``decode_step`` and ``select``) is taken as it is."""
    for name, vocab in (("source_vocab", source_vocab), ("target_vocab", target_vocab)):
        if not isinstance(vocab, Vocabulary):
            raise TypeError(f"Expected {name} to be a Vocabulary, got {type(vocab).__name__}")
    if isinstance(model, Seq2Seq):
        cfg = model.config
        for name, vocab, size, side in (("source_vocab", source_vocab, cfg.src_vocab_size, "source"),
                                        ("target_vocab", target_vocab, cfg.tgt_vocab_size, "target")):
            if len(vocab) != size:
                raise ValueError(f"Expected {name} of the model's {side} vocabulary size {size}, got {len(vocab)} "
                                 "tokens (source and target vocabularies swapped?)")
    for name, tok in (("source_tokenizer", source_tokenizer), ("target_tokenizer", target_tokenizer)):
        if not isinstance(tok, Tokenizer):
            raise TypeError(f"Expected {name} to be a Tokenizer, got {type(tok).__name__}")
    _check_bleu_tokenize(bleu_tokenize)
    if not isinstance(length_rule, LengthRule):
        raise TypeError(f"Expected length_rule to be a LengthRule, got {type(length_rule).__name__}")


def _check_bleu_tokenize(name: Any) -> None:
    if name not in BLEU_TOKENIZERS:
        raise ValueError(f"Expected bleu_tokenize one of {BLEU_TOKENIZERS}, got {name!r}")


def save_translator(path: str | os.PathLike, translator: Translator) -> Path:
    """Write ``translator`` as one checkpoint file (parameters and metadata); returns the path."""
    return save_task_checkpoint(path, translator.model.params, translator.meta())


def load_translator(path: str | os.PathLike, loaded: ckpt.Loaded | None = None) -> Translator:
    """The :class:`Translator` of a checkpoint from training or from :func:`save_translator`.
    ``loaded``: its ``(arrays, meta)``, when read already (:func:`rnnkit.checkpoint_task.load_task_checkpoint`)."""
    path = model_file(path)  # a run folder: its best.safetensors, else last.safetensors
    params, task = load_task_checkpoint(path, KIND, "translation-model", "rnnkit train seq2seq", loaded)
    with reading_metadata(path, "translation-model"):
        cfg = Seq2SeqConfig(**task["seq2seq_config"])
        source_vocab = Vocabulary.from_json(task["source_vocab"])
        target_vocab = Vocabulary.from_json(task["target_vocab"])
        source_tokenizer = Tokenizer.from_dict(task["source_tokenizer"])
        target_tokenizer = Tokenizer.from_dict(task["target_tokenizer"])
        bleu_tokenize = task.get("bleu_tokenize", "auto")  # absent before the option existed
        _check_bleu_tokenize(bleu_tokenize)
        rule = task.get("length_rule")  # absent before it was stored
        length_rule = LengthRule() if rule is None else LengthRule.from_dict(rule)
        check_vocab(source_vocab, "the source vocabulary")  # its specials where decoding looks for them
        check_vocab(target_vocab, "the target vocabulary")
        check_matches(("seq2seq_config.src_vocab_size", cfg.src_vocab_size, "the source vocabulary",
                       len(source_vocab)),
                      ("seq2seq_config.tgt_vocab_size", cfg.tgt_vocab_size, "the target vocabulary",
                       len(target_vocab)))
        # the generator only fills arrays that restore_params overwrites next
        model = Seq2Seq(cfg, np.random.default_rng(0))
    restore_params(model, params, path)
    return Translator(model, source_vocab, target_vocab, source_tokenizer, target_tokenizer, bleu_tokenize,
                      length_rule)
