"""A task's trained model in a checkpoint: which kind of model it holds, its arrays and metadata, checked.

Every task (language model, n-gram, tagger, HMM, classifier, tree model, translator) saves its model's
arrays under ``model/`` and its configuration under ``meta["task"]``, whose ``"model"`` names the kind
(:data:`MODEL_KINDS`).  :func:`load_task_checkpoint` reads such a file for one kind, refusing another
kind with a message saying what the file is and which commands take it (:func:`other_kind`), weights
holding NaN or inf, and configuration sizes no array could have (damage, refused before a model of
10**9 units is built).  A loader then reads its metadata inside :func:`reading_metadata`, which turns
a missing or malformed field into one line naming the file, checks sizes against vocabularies with
:func:`check_matches`, and copies the arrays into the model with :func:`restore_params`
(``model.load_arrays``, i.e. :func:`copy_into`: in place, names, shapes and dtypes checked).

The file format itself (safetensors + JSON header, digests, atomic writes) is :mod:`rnnkit.checkpoint`'s.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.checkpoint import Loaded, damaged, load_checkpoint
from rnnkit.errors import CheckpointError
from rnnkit.english import a_or_an_name


def copy_into(params: dict[str, np.ndarray], arrays: Mapping[str, np.ndarray], what: str = "the model's") -> None:
    """Copy ``arrays`` into ``params`` in place (views of them stay valid), checking names and shapes."""
    missing = sorted(set(params) - set(arrays))
    unexpected = sorted(set(arrays) - set(params))
    if missing or unexpected:
        raise ValueError(f"Expected {what} parameters, missing {missing}, unexpected {unexpected}")
    for k, v in arrays.items():
        if not isinstance(v, np.ndarray):
            raise TypeError(f"Expected {k} as a numpy array, got {type(v).__name__}")
        if v.shape != params[k].shape:
            raise ValueError(f"Expected {k} of shape {params[k].shape}, got {v.shape}")
        if params[k].dtype.kind == "f" and v.dtype not in (np.float32, np.float64):  # bool, int, float16: cast
            raise ValueError(f"Expected {k} as float32 or float64, got {v.dtype}")   # silently, or lossily
        params[k][...] = v


# what each task's checkpoint is (meta["task"]["model"]) and the commands that take it, for the message
# that a checkpoint of another kind was given
MODEL_KINDS = {
    "lm": ("a language model", "rnnkit generate, evaluate or score"),
    "ngram": ("an n-gram language model", "rnnkit generate, evaluate or score"),
    "tagger": ("a tagger", "rnnkit tag (segment for a segmenter) or evaluate"),
    "hmm": ("an HMM tagger", "rnnkit tag (segment for a segmenter) or evaluate"),
    "classifier": ("a text classifier", "rnnkit classify or evaluate"),
    "treenet": ("a tree model", "rnnkit classify or evaluate"),
    "seq2seq": ("a translation model", "rnnkit translate or evaluate"),
}
# checkpoints of a demo's model: named and described (rnnkit info), but no task command (export, evaluate) takes them
DEMO_KINDS = {"pointer": ("a pointer network", "rnnkit demo pointer --load FILE"),
              "ctc": ("a CTC transcriber", "rnnkit demo ctc --load FILE")}
KNOWN_KINDS = MODEL_KINDS | DEMO_KINDS  # every kind a message can name


def kind_name(kind: Any) -> str:
    """What a checkpoint of ``kind`` is, for messages: "a language model", "a tree model"."""
    if isinstance(kind, str) and kind in KNOWN_KINDS:
        return KNOWN_KINDS[kind][0]
    return f"a model of kind {kind!r:.60}"


def other_kind(kind: Any) -> str:
    """What a checkpoint of ``kind`` is and where it is used ("it is a language model: use it with ...")."""
    if isinstance(kind, str) and kind in KNOWN_KINDS:  # a list or dict there (a damaged file): no kind
        what, commands = KNOWN_KINDS[kind]
        return f"it is {what}: use it with {commands}"
    return f"its model kind is {kind!r:.60}" if kind else "it holds no model (a file rnnkit did not train?)"


def load_task_checkpoint(path: str | os.PathLike, kind: str, what: str, command: str,
                         loaded: Loaded | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(model arrays, task metadata)`` of a checkpoint that a ``kind`` task wrote (``meta["task"]["model"]``).

    The arrays are those saved under ``model/``, with the prefix removed (float16 ones of a model that
    ``rnnkit export --dtype float16`` wrote widened to float32).  Another kind of checkpoint
    raises :class:`CheckpointError` naming ``what`` it should be and the ``command`` that writes one.
    ``loaded``: the ``(arrays, meta)`` :func:`load_checkpoint` gave for ``path``, when the caller has read them
    (``rnnkit export``), checked as the file's would be.
    """
    arrays, meta = load_checkpoint(path) if loaded is None else loaded
    task = meta.get("task") or {}
    if not isinstance(task, dict):
        got = type(task).__name__
        raise damaged(Path(path), f"its task is {a_or_an_name(got)} {got}, not an object")
    if task.get("model") != kind:
        raise CheckpointError(f"{path}: not a {what} checkpoint; {other_kind(task.get('model'))}, or pass a "
                              f"checkpoint written by '{command}'")
    model = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    export = meta.get("export")
    if isinstance(export, dict) and export.get("dtype") == "float16":  # rnnkit export --dtype float16: the weights
        for name, a in model.items():  # are widened to float32, exactly, so the model computes as it was trained
            if a.dtype == np.float16:
                model[name] = a.astype(np.float32)
    for name, a in model.items():  # training never saves NaN or inf weights (rnnkit.guard): damaged or edited
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise CheckpointError(f"{path}: the weights {name} hold NaN or inf values (a damaged or edited file: "
                                  "training never saves such weights); use another checkpoint")
    _check_sizes(Path(path), task, model)
    return model, task


def _check_sizes(path: Path, task: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """A size in the task's model configuration (``*_config``) above 4096 and above every dimension of
    the arrays stored is damage: refused before a loader builds a model of that size (vocabulary,
    hidden or layer count of 10**9 would try to allocate gigabytes, or build layers for ever)."""
    limit = max([4096] + [d for a in arrays.values() for d in a.shape])
    for key, config in task.items():
        if not (isinstance(key, str) and key.endswith("_config") and isinstance(config, dict)):
            continue
        for field, value in config.items():
            if isinstance(value, int) and not isinstance(value, bool) and value > limit:
                raise damaged(path, f"{key}.{field} is {value:,}, larger than any array the file holds")


@contextmanager
def reading_metadata(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Turn a missing or malformed metadata field (KeyError, TypeError, ValueError) into one clear error."""
    try:
        yield
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged {what} metadata ({exc}); retrain or use another checkpoint") from None


def save_task_checkpoint(path: str | os.PathLike, params: Mapping[str, np.ndarray], task: dict[str, Any],
                         kind: str = "model") -> Path:
    """Write a model's ``params`` (under ``model/``) and its ``task`` metadata as one checkpoint file, as the
    one-call savers (``save_lm``, ``save_tagger``, ``save_classifier``, ``save_translator``) do; returns the path."""
    from rnnkit.checkpoint import save_checkpoint

    return save_checkpoint(path, {"model/" + k: v for k, v in params.items()}, {"kind": kind, "task": task})


def check_written(check: Callable[[dict[str, Any]], Any], task: dict[str, Any], loader: str,
                  fixes: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """``task`` metadata about to be written, run through ``check``, the check ``loader`` reads it with: a
    ValueError now for what the loader would call a damaged checkpoint later, one line starting "Expected": the
    check's own "Expected ..." and that ``loader`` would refuse the file, or "Expected metadata that ``loader``
    reads back, got ..." around a message of another form.  ``fixes``: ``(words, fix)`` pairs, the fix of the
    first whose words the check's message holds said after it (the caller's argument to change, and how)."""
    try:
        check(task)
    except (KeyError, TypeError, ValueError) as exc:
        said = f"no entry {exc}" if isinstance(exc, KeyError) else str(exc)
        fix = next((f"; {fix}" for words, fix in fixes if words in said), "")
        if said.startswith("Expected"):
            raise ValueError(f"{said} ({loader} would refuse the file reading it back){fix}") from None
        raise ValueError(f"Expected metadata that {loader} reads back, got {said}{fix}") from None
    return task


def check_matches(*pairs: tuple[str, Any, str, int]) -> None:
    """ValueError (for :func:`reading_metadata` to name the file) when a size of the model's configuration
    differs from the count it must equal: ``("lm_config.vocab_size", 16, "the vocabulary", len(vocab))``."""
    for name, value, other, count in pairs:
        if value != count:
            raise ValueError(f"{name} is {value!r:.40}, but {other} holds {count:,}")


def restore_params(model: Any, arrays: Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """``model.load_arrays(arrays)``, with a wrong name or shape reported as a damaged checkpoint."""
    try:
        model.load_arrays(arrays)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
