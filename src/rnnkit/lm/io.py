"""Saving and loading trained language models: a checkpoint's ``task`` metadata rebuilds the model.

A recurrent language-model checkpoint (``best.safetensors`` or ``last.safetensors`` of a training
run) holds the parameters under ``model/`` and, in its metadata, ``{"model": "lm", "lm_config": ...,
"vocab": ..., "level": "char"|"word"|"bpe", "word_classes": [...] | None}``, and at level ``bpe`` the
SentencePiece model the text is split with, as base64 (``"bpe_model"``; :mod:`rnnkit.lm.bpe_text`).

An n-gram model (``rnnkit train ngram --save FILE``) is the same kind of checkpoint, written as
atomically: its tables under ``model/`` (``keys.k``, ``counts.k``, ``probs.k``, ``bows.k``,
``discounts``) and ``{"model": "ngram", "config": ..., "vocab": ... | None, "level": ... | None}``, and at
level ``bpe`` its ``"bpe_model"`` as a recurrent model's.
Files in the earlier n-gram format (metadata ``format: rnnkit.ngram/1``) still load.

:func:`load_language_model` takes either kind, and an ARPA file (:mod:`rnnkit.lm.arpa_read`): all score
and sample through the same calls (``step_log_probs`` for :func:`rnnkit.lm.generate.sample_ids`).
"""
from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_files import model_file
from rnnkit.checkpoint_task import (check_matches, check_written, load_task_checkpoint, reading_metadata,
                                   restore_params, save_task_checkpoint)
from rnnkit.data.vocab import Vocabulary
from rnnkit.errors import CheckpointError
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.lm.ngram import NGramLM

NGRAM_KIND = "ngram"
_LEGACY_NGRAM = "rnnkit.ngram/1"  # n-gram files written before they became checkpoints


def lm_meta(model: LanguageModel, vocab: Vocabulary, level: str, bpe_model: bytes | None = None) -> dict[str, Any]:
    """What a checkpoint needs to rebuild ``model``, its vocabulary and (level ``bpe``) how text becomes pieces."""
    bpe = _bpe_entry(level, bpe_model)
    classes = getattr(model, "word_classes", None)
    return check_written(_read_meta, {
        "model": "lm",
        "lm_config": model.config.to_dict(),
        "vocab": vocab.to_json(),
        "level": level,
        "word_classes": None if classes is None else [int(c) for c in classes],
        **bpe,
    }, "load_lm", _FIXES)


_FIXES = (("bpe_model", "pass the bytes of the .model file SentencePiece wrote (rnnkit.data.bpe.train_bpe's)"),
          ("end-of-sentence", "give the vocabulary an eos_token, or save a model without one at level 'char'"),
          ("vocab_size", "build the model with vocab_size=len(vocab)"))


def save_lm(path: str | os.PathLike, model: LanguageModel, vocab: Vocabulary, level: str,
            bpe_model: bytes | None = None) -> Path:
    """Write a language model trained in Python as one checkpoint file (parameters and :func:`lm_meta`), which
    :func:`load_lm`, :func:`load_language_model` and the command line read; returns the path."""
    return save_task_checkpoint(path, model.params, lm_meta(model, vocab, level, bpe_model))


def _bpe_entry(level: str | None, bpe_model: bytes | None) -> dict[str, str]:
    """The metadata entry of a BPE-level model's SentencePiece model (base64), ``{}`` at another level: ValueError
    unless ``bpe_model`` comes with level ``bpe`` and only with it."""
    if (level == "bpe") != (bpe_model is not None):
        raise ValueError(f"Expected bpe_model with level 'bpe' and only with it, got level {level!r} and "
                         f"{'no ' * (bpe_model is None)}bpe_model")
    return {} if bpe_model is None else {"bpe_model": base64.b64encode(bpe_model).decode("ascii")}


def bpe_model_of(task: dict[str, Any]) -> bytes | None:
    """The SentencePiece model bytes of a language model's ``task`` metadata at level ``bpe``, else None."""
    if task.get("level") != "bpe":
        return None
    text = task.get("bpe_model")
    if not isinstance(text, str):
        raise ValueError("level 'bpe' without its bpe_model (the SentencePiece model, base64)")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("bpe_model is not base64 text") from None


def checkpoint_bpe_model(path: str | os.PathLike) -> bytes | None:
    """The SentencePiece model a recurrent or n-gram language model at level ``bpe`` splits text with, else
    None (another level, an n-gram model of the earlier format or an ARPA file)."""
    from rnnkit.lm.arpa_read import is_arpa

    if is_arpa(path) or is_ngram(path):
        return None
    task = ckpt.load_meta(path).get("task") or {}
    if task.get("model") not in ("lm", NGRAM_KIND):
        return None
    with reading_metadata(path, "language-model"):
        return bpe_model_of(task)


def load_lm(path: str | os.PathLike, loaded: ckpt.Loaded | None = None
            ) -> tuple[LanguageModel, Vocabulary, str, dict[str, Any]]:
    """(model, vocab, level, task meta) from a language-model checkpoint.
    ``loaded``: its ``(arrays, meta)``, when read already (:func:`rnnkit.checkpoint_task.load_task_checkpoint`)."""
    return _load_lm(path, loaded)[:4]


def _load_lm(path: str | os.PathLike, loaded: ckpt.Loaded | None = None
             ) -> tuple[LanguageModel, Vocabulary, str, dict[str, Any], bytes | None]:
    """:func:`load_lm`'s, and the SentencePiece model of a model at level ``bpe`` (else None)."""
    path = model_file(path)  # a run folder: its best.safetensors, else last.safetensors
    params, task = load_task_checkpoint(path, "lm", "language-model", "rnnkit train lm", loaded)
    with reading_metadata(path, "language-model"):
        cfg, vocab, classes, level, bpe = _read_meta(task)
        # the saved weights replace the initial ones, so none are drawn from init_scale (a rule of training
        # then: a run of an earlier, wider bound still loads), and the model keeps the saved config
        model = LanguageModel(replace(cfg, init_scale=None), np.random.default_rng(0), word_classes=classes)
        model.config = replace(model.config, init_scale=cfg.init_scale)
    restore_params(model, params, path)
    return model, vocab, level, task, bpe


def _read_meta(task: dict[str, Any]) -> tuple[LMConfig, Vocabulary, np.ndarray | None, str, bytes | None]:
    """``(config, vocab, word classes, level, bpe model)`` of a language model's task metadata, checked:
    KeyError, TypeError or ValueError for what cannot be read (:func:`load_lm`'s, and :func:`lm_meta`'s at
    write time)."""
    cfg = LMConfig(**task["lm_config"])
    vocab = Vocabulary.from_json(task["vocab"])
    classes = None if task.get("word_classes") is None else np.asarray(task["word_classes"], np.int64)
    level = _check_level(task["level"])
    _check_eos(level, vocab)
    bpe = _loadable_bpe(task)
    check_matches(("lm_config.vocab_size", cfg.vocab_size, "the vocabulary", len(vocab)))
    return cfg, vocab, classes, level, bpe


def _loadable_bpe(task: dict[str, Any]) -> bytes | None:
    """:func:`bpe_model_of`, and ValueError when those bytes do not load as a SentencePiece model (the pieces a model
    was trained on must be its SentencePiece model's): the loaders' check, and the savers' at write time."""
    bpe = bpe_model_of(task)
    if bpe is not None:
        from rnnkit.data.bpe import processor

        try:
            processor(bpe)
        except ValueError as exc:
            raise ValueError(str(exc).replace("Expected a SentencePiece model",
                                              "Expected bpe_model to hold a SentencePiece model", 1)) from None
    return bpe


def save_ngram(path: str | os.PathLike, model: NGramLM, vocab: Vocabulary | None = None,
               level: str | None = None, bpe_model: bytes | None = None) -> None:
    """Write a fitted n-gram model (with its vocabulary and token level, if given) as a checkpoint; at level
    ``bpe`` with ``bpe_model``, the SentencePiece model its pieces come from (base64, as :func:`lm_meta`)."""
    if level not in (None, *LM_LEVELS):
        raise ValueError(f"Expected level 'word', 'char', 'bpe' or None, got {level!r}")
    bpe = _bpe_entry(level, bpe_model)
    if level == "bpe" and vocab is None:
        raise ValueError("Expected vocab with level 'bpe' (its pieces' ids), got None")
    if level in ("word", "bpe") and vocab is not None and vocab.eos_token is None:
        raise ValueError(f"Expected a {level}-level model's vocabulary to have an eos_token, got none")
    if vocab is not None and model.config()["eos_id"] != vocab.eos_id:
        raise ValueError(f"Expected the model fitted with eos_id=vocab.eos_id ({vocab.eos_id!r}), got "
                         f"{model.config()['eos_id']!r}")
    task = {"model": NGRAM_KIND, "config": model.config(), "vocab": None if vocab is None else vocab.to_json(),
            "level": level, **bpe}
    save_task_checkpoint(path, model.arrays(), check_written(_loadable_bpe, task, "load_ngram", _FIXES), "ngram-lm")


def _legacy_metadata(path: str | os.PathLike) -> dict[str, str] | None:
    """The metadata of an n-gram file in the earlier format, else None (any other file, or none; a device or a
    pipe is not opened: safetensors' open of a named pipe waits for its writer, deaf to SIGTERM)."""
    from safetensors import safe_open

    if not os.path.isfile(path):  # the checkpoint loader refuses it (checkpoint_files.check_openable)
        return None
    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
    except Exception:  # missing or not safetensors: load_checkpoint names the problem
        return None
    return meta if meta.get("format") == _LEGACY_NGRAM else None


def is_ngram(path: str | os.PathLike) -> bool:
    """True when ``path`` holds an n-gram model in the earlier format (which has no checkpoint header)."""
    return _legacy_metadata(path) is not None


LM_LEVELS = ("word", "char", "bpe")  # a recurrent or n-gram model's


def _check_level(level: Any) -> str:
    """The saved token level (one of :data:`LM_LEVELS`), which says how text is cut into tokens: ValueError for
    anything else."""
    if level not in LM_LEVELS:
        names = [repr(x) for x in LM_LEVELS]
        raise ValueError(f"Expected level {', '.join(names[:-1])} or {names[-1]}, got {level!r}")
    return level


def _check_eos(level: str, vocab: Vocabulary) -> None:
    """A word-level model ends every sentence with <eos>, and counts it (its perplexity does): one whose
    vocabulary has none would score one token a line too few."""
    if level in ("word", "bpe") and vocab.eos_token is None:
        raise ValueError(f"a {level}-level model whose vocabulary has no end-of-sentence token")


def load_ngram(path: str | os.PathLike) -> tuple[NGramLM, Vocabulary | None, str | None]:
    """(model, vocabulary or None, level or None) from a file written by :func:`save_ngram`."""
    return _load_ngram(path)[:3]


def _load_ngram(path: str | os.PathLike) -> tuple[NGramLM, Vocabulary | None, str | None, bytes | None]:
    """:func:`load_ngram`'s, and the SentencePiece model of a model at level ``bpe`` (else None)."""
    path = model_file(path)  # a run folder: its best.safetensors, else last.safetensors
    legacy, bpe = _legacy_metadata(path), None
    if legacy is not None:
        from safetensors.numpy import load_file

        arrays = load_file(str(path))
        with reading_metadata(path, "n-gram model"):
            config = json.loads(legacy["config"])
            vocab_json, level = legacy.get("vocab"), None
    else:
        arrays, task = load_task_checkpoint(path, NGRAM_KIND, "language-model (n-gram)",
                                            "rnnkit train ngram --save FILE")
        with reading_metadata(path, "n-gram model"):
            config, vocab_json, level = task["config"], task.get("vocab"), task.get("level")
            bpe = _loadable_bpe(task)
    try:
        model = NGramLM.from_arrays(config, arrays)
        vocab = None if vocab_json is None else Vocabulary.from_json(vocab_json)
        level = None if level is None else _check_level(level)
        if level is not None and vocab is not None:
            _check_eos(level, vocab)
        if vocab is not None:
            check_matches(("config.vocab_size", model.vocab_size_, "the vocabulary", len(vocab)))
            if model.eos_id_ != vocab.eos_id:  # sentence starts and ends hinge on it
                raise ValueError(f"config.eos_id is {model.eos_id_!r}, but the vocabulary's end-of-sentence id is "
                                 f"{vocab.eos_id!r}")
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: incomplete n-gram model ({exc!r}); save it again") from None
    if level is None and vocab is not None:  # earlier files: word level is the one with <eos>
        level = "word" if vocab.eos_token is not None else "char"
    return model, vocab, level, bpe


class LoadedLM(NamedTuple):
    """:func:`load_language_model`'s: the model, its vocabulary and level, and at level ``bpe`` the
    SentencePiece model it splits text with (else None)."""

    model: LanguageModel | NGramLM
    vocab: Vocabulary
    level: str
    bpe_model: bytes | None


def load_language_model(path: str | os.PathLike, arpa_level: str = "word") -> LoadedLM:
    """A :class:`LoadedLM` ``(model, vocab, level, bpe_model)`` of a recurrent or n-gram language model; either
    scores and samples the same way; ``bpe_model``: the SentencePiece model of one at level ``bpe``, read with it
    (else None).  Four values since ``bpe_model`` was added: code that unpacked three (``model, vocab, level =
    ...``) takes the fourth too (``model, vocab, level, _ = ...``) or reads the fields by name (``.model``).

    An ARPA file (``*.arpa``, ``.gz``/``.xz``/``.bz2`` too, or any file whose first line is ``\\data\\``) is
    read at ``arpa_level`` (see :mod:`rnnkit.lm.arpa_read`); a checkpoint records its own level."""
    from rnnkit.lm.arpa_read import is_arpa, read_arpa

    path = model_file(path)  # a run folder: its best.safetensors, else last.safetensors
    if is_arpa(path):
        # a pipe named *.arpa: its level was looked for in its head (rnnkit.cli.lm_files), and a reader's error
        # finds its line again, so it would be read twice
        ckpt.check_openable(Path(path), ".arpa, .gz, .xz or .bz2", "an ARPA file", "ARPA file")
        model, vocab = read_arpa(path, arpa_level)
        return LoadedLM(model, vocab, arpa_level, None)
    if is_ngram(path):
        kind = NGRAM_KIND
    else:
        kind = (ckpt.load_meta(path).get("task") or {}).get("model")
    if kind != NGRAM_KIND:
        model, vocab, level, _, bpe = _load_lm(path)
        return LoadedLM(model, vocab, level, bpe)
    model, vocab, level, bpe = _load_ngram(path)
    if vocab is None:
        raise CheckpointError(f"{path}: an n-gram model saved without its vocabulary; save it with "
                              "'rnnkit train ngram --save FILE' (or NGramLM.save(path, vocab=...))")
    return LoadedLM(model, vocab, level, bpe)
