"""Saving and loading trained language models: a checkpoint's ``task`` metadata rebuilds the model.

A language-model checkpoint (``best.safetensors`` or ``last.safetensors`` of a training run) holds
the parameters under ``model/`` and, in its metadata, ``{"model": "lm", "lm_config": ..., "vocab":
..., "level": "char"|"word", "word_classes": [...] | None}``.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.data.vocab import Vocabulary
from rnnkit.errors import CheckpointError
from rnnkit.lm.model import LanguageModel, LMConfig


def lm_meta(model: LanguageModel, vocab: Vocabulary, level: str) -> dict[str, Any]:
    """What a checkpoint needs to rebuild ``model`` and its vocabulary."""
    classes = getattr(model, "word_classes", None)
    return {
        "model": "lm",
        "lm_config": model.config.to_dict(),
        "vocab": vocab.to_json(),
        "level": level,
        "word_classes": None if classes is None else [int(c) for c in classes],
    }


def load_lm(path: str | os.PathLike) -> tuple[LanguageModel, Vocabulary, str, dict[str, Any]]:
    """(model, vocab, level, task meta) from a language-model checkpoint."""
    arrays, meta = ckpt.load_checkpoint(path)
    task = meta.get("task") or {}
    if task.get("model") != "lm":
        raise CheckpointError(f"{path}: not a language-model checkpoint (model {task.get('model')!r})")
    try:
        cfg = LMConfig(**task["lm_config"])
        vocab = Vocabulary.from_json(task["vocab"])
        classes = None if task.get("word_classes") is None else np.asarray(task["word_classes"], np.int64)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged language-model metadata ({exc}); retrain or use another checkpoint") from None
    model = LanguageModel(cfg, np.random.default_rng(0), word_classes=classes)
    params = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    try:
        model.load_arrays(params)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    return model, vocab, task["level"], task
