"""The training loop's frame that the length-generalisation demos share (:func:`rnnkit.demos.ctc.train_transcriber`,
:func:`rnnkit.demos.pointer_sort.train_pointer`): Adam over the model's parameters, the batches' generator
``default_rng([seed, 1])``, and a progress line every tenth of the steps::

    step  s/steps  <loss name> <mean loss since the line before>  <the caller's measure of the batch>  <seconds>s
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rnnkit.checkpoint_files import is_safetensors
from rnnkit.errors import CheckpointError
from rnnkit.optim import Adam

MODEL_FILE = "model.safetensors"  # what a demo's --save DIR (demo ctc, demo pointer) writes in DIR, and --load reads

Model = TypeVar("Model")


def train_unless_given(model: Model | None, loaded: str, train: Callable[[], Model],
                       save: str | os.PathLike | None, write: Callable[[Path, Model], Path]) -> tuple[Model, str]:
    """(``model``, ``loaded``) when a model is given (a loaded one: nothing is trained); else ``train()``'s model,
    written by ``write`` to the folder ``save``'s :data:`MODEL_FILE` when ``save`` is given, and the line
    ``trained in <seconds> s[, saved as <path>]``."""
    if model is not None:
        return model, loaded
    start = time.perf_counter()
    model = train()
    said = f"trained in {time.perf_counter() - start:.1f} s"
    if save is not None:
        said += f", saved as {write(Path(save) / MODEL_FILE, model)}"
    return model, said


def demo_file(path: Path, save: str) -> Path:
    """The checkpoint ``--load`` names: DIR/model.safetensors of a folder ``save`` (the command, "rnnkit demo
    pointer --save DIR") wrote, or that file; a missing path, a folder without it or a file that is no
    safetensors file is a one-line CheckpointError."""
    hint = f"give the folder '{save}' wrote, or its {MODEL_FILE}"
    if path.is_dir():
        if not (path / MODEL_FILE).exists():
            raise CheckpointError(f"{path}: a folder without {MODEL_FILE}; {hint}")
        path = path / MODEL_FILE
    elif not path.exists():
        raise CheckpointError(f"{path}: no such folder or file; {hint}")
    if path.is_file() and not is_safetensors(path):
        raise CheckpointError(f"{path}: not a checkpoint (not a safetensors file); {hint}")
    return path


def saved_model(path: str | os.PathLike, save: str) -> str | os.PathLike:
    """What a demo's loader reads for ``path``: the model.safetensors of a folder that ``save`` (the command
    that writes one) wrote (:func:`demo_file`), else ``path`` as given."""
    return demo_file(Path(path), save) if os.path.isdir(path) else path


class DemoSteps:
    """``for step in DemoSteps(...)``: steps 1..``cfg.steps``; ``opt`` (Adam at ``cfg.lr``) and ``rng`` (the
    batches') for the loop's body, :meth:`due` after each step, :meth:`report` when it says so.  ``log``
    receives the lines (None: dropped); ``width``: the step number's columns."""

    def __init__(self, params: dict[str, np.ndarray], cfg: Any, log: Callable[[str], None] | None,
                 loss_name: str = "loss", width: int = 6) -> None:
        self.opt = Adam(params, lr=cfg.lr)
        self.rng = np.random.default_rng([cfg.seed, 1])
        self.steps, self.every = cfg.steps, max(1, cfg.steps // 10)
        self.emit = log if log is not None else (lambda line: None)
        self.loss_name, self.width = loss_name, width
        self.losses: list[float] = []
        self.start = time.perf_counter()

    def __iter__(self) -> Iterator[int]:
        self.start = time.perf_counter()
        return iter(range(1, self.steps + 1))

    def due(self, step: int, loss: float) -> bool:
        """Note ``step``'s loss; whether a progress line is due (every tenth of the steps, and the last)."""
        self.losses.append(loss)
        return step % self.every == 0 or step == self.steps

    def report(self, step: int, measure: str) -> None:
        """The progress line of ``step``: the mean loss since the line before, ``measure``, the time so far."""
        self.emit(f"step {step:>{self.width}}/{self.steps}  {self.loss_name} {np.mean(self.losses):.4f}  "
                  f"{measure}  {time.perf_counter() - self.start:6.1f}s")
        self.losses = []
