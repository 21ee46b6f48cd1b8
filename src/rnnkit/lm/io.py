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
    params, task = ckpt.load_task_checkpoint(path, "lm", "language-model", "rnnkit train lm")
    with ckpt.reading_metadata(path, "language-model"):
        cfg = LMConfig(**task["lm_config"])
        vocab = Vocabulary.from_json(task["vocab"])
        classes = None if task.get("word_classes") is None else np.asarray(task["word_classes"], np.int64)
        level = task["level"]
    model = LanguageModel(cfg, np.random.default_rng(0), word_classes=classes)
    ckpt.restore_params(model, params, path)
    return model, vocab, level, task
