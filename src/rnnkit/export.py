"""A trained model for shipping: the model of a checkpoint without what only training needs.

A training run's checkpoint (``best.safetensors``, ``last.safetensors``; :mod:`rnnkit.train.run_checkpoint`)
holds, beside the model (``model/``), the optimizer's state (``optim/``: Adam's two moments make it twice the
model), an averaging run's training weights (``raw/``), the state carried between windows (``carry/``) and,
in its metadata, the loop's counters, the random generators' state and the training options, so that a run
resumes exactly.  :func:`export_model` writes the model alone, in the same checkpoint format::

    arrays   model/...               the weights (the weight average, for an averaging run)
    meta     {"kind": "model",
              "task": ...,           the source's own task metadata: what every loader rebuilds the model from
              "export": {...}}       where it came from (file, step, epoch) and how its weights are stored

so ``rnnkit generate``, ``evaluate``, ``score``, ``states``, ``tag``, ``segment``, ``classify`` and
``translate`` read it as they read the source, with the same results; ``--resume`` refuses it (it has
no optimizer or training state).

``dtype="float16"`` stores the floating-point weights in half precision: half the bytes of float32.
A float32 weight w is rounded to the nearest float16, a relative change of at most 2**-11 (about 5e-4)
for |w| >= 2**-14 (6.1e-5) and an absolute change of at most 2**-25 (3e-8) below that; a weight beyond
float16's largest value (65504) is refused rather than made infinite.  Loaders widen float16 weights back
to the model's dtype (float32) exactly (:func:`rnnkit.checkpoint_task.load_task_checkpoint`), so the model
computes in float32 as before, with slightly rounded weights: outputs stay close, not identical.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit import checkpoint as ckpt
from rnnkit.checkpoint_files import find_checkpoint
from rnnkit.checkpoint_task import MODEL_KINDS, kind_name, other_kind
from rnnkit.errors import CheckpointError
from rnnkit.export_names import beside
from rnnkit.train.position import steps_into_epoch

EXPORT_KIND = "model"  # meta["kind"] of an exported model (the demo's model.safetensors is one too)
DTYPES = ("float16", "float32")
FLOAT16_MAX = float(np.finfo(np.float16).max)  # 65504
# model kinds whose arrays are counts and probabilities, not trained weights: stored as they are
TABLE_KINDS = ("ngram", "hmm")  # models of probability tables, not weights


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_model` did: the files, their sizes in bytes, what the source was."""

    source: Path  # the checkpoint read (a run folder's best or last)
    output: Path
    kind: str  # the task's model kind: "lm", "tagger", ...
    source_kind: str | None  # the source's meta["kind"]: "training-run", "model", ...
    step: int | None  # the training step and epochs ended the source was saved at, when it says
    epoch: int | None
    bytes_before: int
    bytes_after: int
    dtype: str | None  # how the weights are stored: "float16", "float32", or None (no float weights)
    largest_change: float  # the largest |w_exported - w_source| over the weights (0 unless narrowed)
    beside: tuple[Path, ...] = ()  # the files written beside output (:func:`beside`): vocabulary, SentencePiece, step
    validated: bool = False  # the source's epoch history holds a validation figure (a best one)
    unvalidated: bool = False  # the source's run has validation data, but stopped before its first epoch's end
    steps_into_epoch: int | None = None  # the steps since the last epoch's end, when the source says


def model_only(arrays: dict[str, np.ndarray], meta: dict[str, Any], source: Path,
               dtype: str | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any], float]:
    """``(arrays, meta, largest change)`` of the exported model of a checkpoint's ``arrays`` and ``meta``:
    the ``model/`` arrays (stored as ``dtype``, when given), the task metadata, and an ``export`` record."""
    if dtype is not None and dtype not in DTYPES:
        raise ValueError(f"Expected dtype one of {DTYPES} or None, got {dtype!r}")
    task = meta.get("task")
    kind = task.get("model") if isinstance(task, dict) else None
    if kind not in MODEL_KINDS:
        raise CheckpointError(f"{source}: holds no model rnnkit can export ({other_kind(kind)}); give a "
                              "checkpoint that an 'rnnkit train' command wrote")
    model = {k: v for k, v in arrays.items() if k.startswith("model/")}
    floats = [k for k, v in model.items() if v.dtype.kind == "f"]
    if dtype is not None and kind in TABLE_KINDS:
        raise ValueError(f"dtype (--dtype): {source} is {kind_name(kind)}, whose tables are stored as they are "
                         "(it holds no trained weights to narrow); leave dtype (--dtype) out")
    for k in floats:  # training never saves such weights (rnnkit.guard): a damaged or edited file
        if not np.isfinite(model[k]).all():
            raise CheckpointError(f"{source}: the weights {k[len('model/'):]} hold NaN or inf values (a damaged "
                                  "or edited file); export another checkpoint")
    largest = 0.0 if dtype is None else narrow(model, dtype, floats, "model/")
    stored = sorted({model[k].dtype.name for k in floats})
    loop = meta.get("loop") if isinstance(meta.get("loop"), dict) else {}
    earlier = meta.get("export") if isinstance(meta.get("export"), dict) else {}  # an export exported again
    record = {
        "source": source.name,
        "source_kind": meta.get("kind"),
        "step": loop.get("step", earlier.get("step")),
        "epoch": loop.get("epoch", earlier.get("epoch")),  # the epochs ended
        # the steps since the last epoch's end (the training log's "epoch 2" at 32 steps into it; None: not kept)
        "steps_into_epoch": steps_into_epoch(loop["step"], loop.get("history")) if "step" in loop
        else earlier.get("steps_into_epoch"),
        "dtype": stored[0] if len(stored) == 1 else None,
    }
    return model, {"kind": EXPORT_KIND, "task": task, "export": record}, largest


def narrow(model: dict[str, np.ndarray], dtype: Any, keys: list[str], prefix: str = "") -> float:
    """Store ``model[k]`` of each of ``keys`` as ``dtype``, in place; return the largest absolute change that made
    (0.0 for none).  Messages name a weight without ``prefix``."""
    largest = 0.0
    for k in keys:
        model[k], change = _narrowed(model[k], np.dtype(dtype), k[len(prefix):])
        largest = max(largest, change)
    return largest


def _narrowed(a: np.ndarray, dtype: np.dtype, name: str) -> tuple[np.ndarray, float]:
    """``a`` stored as ``dtype`` and the largest absolute change that made; ValueError for a weight
    float16 cannot hold (it would become inf)."""
    if a.dtype == dtype:
        return a, 0.0
    if dtype == np.float16 and a.size and float(np.abs(a).max()) > FLOAT16_MAX:
        raise ValueError(f"dtype (--dtype) float16: the weights {name} reach {float(np.abs(a).max()):.4g}, beyond "
                         f"float16's largest value ({FLOAT16_MAX:g}); export in float32")
    out = a.astype(dtype)
    change = float(np.abs(out.astype(np.float64) - a.astype(np.float64)).max()) if a.size else 0.0
    return out, change


def export_model(source: str | os.PathLike, output: str | os.PathLike, dtype: str | None = None,
                 last: bool = False) -> ExportReport:
    """Write the model of ``source`` (a checkpoint, or a run folder: see :func:`find_checkpoint`) to
    ``output`` as a model-only checkpoint (module docstring), atomically; ``dtype`` "float16" or
    "float32" stores its weights so (None: as the source has them).  Refuses an ``output`` that is the
    source or a training checkpoint (it would lose what a ``--resume`` needs)."""
    path, arrays, meta, model, new_meta, largest = read_for_export(source, output, dtype, last)
    del arrays  # the optimizer's state and the rest that only training needs
    written = ckpt.save_checkpoint(output, model, new_meta)  # where /dev/stdout's link led before the write
    return written_report(path, output, meta, new_meta["task"]["model"], new_meta["export"], largest, written)


def read_for_export(source: str | os.PathLike, output: str | os.PathLike, dtype: str | None, last: bool
                    ) -> tuple[Path, dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray], dict[str, Any],
                               float]:
    """What every export starts with: ``(path, arrays, meta, model, new_meta, largest)``, the checkpoint found
    (:func:`find_checkpoint`) once ``output`` is checked (:func:`refuse_output`), its arrays and metadata as
    :func:`rnnkit.checkpoint.load_checkpoint` read them (for rnnkit's own loaders, which check them:
    :func:`rnnkit.export_scope.check_loadable`), and :func:`model_only`'s model arrays, new metadata and largest
    change."""
    path = find_checkpoint(source, last)
    refuse_output(Path(output), path)
    arrays, meta = ckpt.load_checkpoint(path)
    return (path, arrays, meta, *model_only(arrays, meta, path, dtype))


def refuse_beside_name(output: str | os.PathLike, suffix: str, what: str, own: str) -> None:
    """ValueError (one line) for an export ``output`` itself named as the file written beside an export that
    ``suffix`` names, which holds ``what`` (``m.vocab.json``: "vocabulary file"): it would replace another export's
    file; the message suggests the name with the export's ``own`` suffix instead (``m.onnx``)."""
    name = Path(output).name
    if name.lower().endswith(suffix):
        export = Path(output).with_name(name[:-len(suffix)] + own)
        raise ValueError(f"-o {output}: is named as the {what} written beside an export; give the export's own "
                         f"name, e.g. {export}")


DEVICE_FOLDERS = (Path("/dev"), Path("/dev/fd"), Path("/proc/self/fd"))  # -o /dev/stdout and its kin


def check_beside(output: str | os.PathLike, suffix: str, what: str, source: str | os.PathLike | None = None,
                 written_as: str = ".onnx") -> Path:
    """The file beside ``output`` named by ``suffix`` (:func:`beside`), which holds ``what`` ("vocabulary file"),
    checked before any file is written: ValueError (one line) unless it can be written by the rules of every model
    written (:func:`rnnkit.data.files.check_output_path`, ``written_as`` the export's kind of file: a regular file,
    not a device, a pipe or a folder; a name without a compressed suffix), and is not the checkpoint ``source``."""
    from rnnkit.data.files import check_output_path

    path = beside(output, suffix)
    if path.absolute().parent in DEVICE_FOLDERS:  # -o /dev/stdout: /dev/stdout.vocab.json, which root may write
        raise ValueError(f"-o {output}: its {what} is written beside it, as {path}, and {path.parent} holds devices, "
                         f"not files; give a file name, e.g. model{written_as}")
    check_output_path(str(path), f"-o {output}: its {what}", make_folders=True, suffix=written_as,
                      inputs=[] if source is None else [str(source)],
                      folder_fix=f"choose another -o, whose name with {suffix} is not a folder")
    return path


def written_report(path: Path, output: str | os.PathLike, meta: dict[str, Any], kind: str, record: dict[str, Any],
                   largest: float, written: Path, sides: tuple[Path, ...] = ()) -> ExportReport:
    """The :class:`ExportReport` of an export of ``path`` (metadata ``meta``) written to ``output``, whose
    bytes went to the file ``written``: ``output``, or the file a symbolic link ``output`` led to before the write
    (:func:`rnnkit.atomic.write_atomically` returns it).  ``-o /dev/stdout`` with standard output redirected to a
    file leads, through /proc/self/fd/1, to that file; after the write the link leads to the file it replaced,
    which has no name left and holds nothing, so its size would say 0 bytes.  ``sides``: the files written
    beside ``output``."""
    from rnnkit.checkpoint_info import training

    progress = training(meta)
    return ExportReport(path, Path(output), kind, meta.get("kind"), record["step"], record["epoch"],
                        path.stat().st_size, written.stat().st_size, record["dtype"], largest, sides,
                        validated=progress["best"] is not None, steps_into_epoch=record.get("steps_into_epoch"),
                        unvalidated=progress["unvalidated"])


def refuse_output(output: Path, source: Path) -> None:
    """ValueError for an ``output`` that is the ``source`` itself or an existing training checkpoint,
    which holds the optimizer and training state that an export drops and a ``--resume`` needs; any
    other existing file is replaced, as every rnnkit command replaces its output."""
    if output.is_file() and source.is_file() and os.path.samefile(output, source):
        raise ValueError(f"output (-o) {output} is the checkpoint being exported; writing there would replace it: "
                         "choose another file")
    if output.is_file():
        try:
            kind = ckpt.load_meta(output).get("kind")
        except CheckpointError:  # not a checkpoint (or a damaged one): replaced as any output is
            return
        if kind == "training-run":
            raise ValueError(f"output (-o) {output} is a training run's checkpoint (with the optimizer and training "
                             "state that --resume needs); writing the export there would lose them: choose another "
                             "file, or delete it first")


def resume_refusal(path: Path, meta: dict[str, Any]) -> str | None:
    """What ``--resume`` says of a checkpoint that is a model alone (an export, or the demo's model),
    or None for any other."""
    if meta.get("kind") != EXPORT_KIND:
        return None
    what = "an exported model (rnnkit export)" if "export" in meta else "a model without training state"
    return (f"{path}: {what} holds the weights only, no optimizer or training state, so a run cannot resume "
            "from it; start a new run (without --resume; in Python, resume=False), or put back the run's own "
            "last.safetensors")
