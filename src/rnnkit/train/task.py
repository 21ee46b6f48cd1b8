"""What the training loop (:class:`rnnkit.train.loop.Trainer`) asks of a task: its parameters, its
batches, the loss and gradients of one batch, and its validation metrics.

- ``train_batches(epoch, cursor, rng)`` yields ``(cursor_after, batch)`` from position ``cursor`` of
  the epoch on; the cursor is an int that makes the position resumable (the LM's stream offset, a
  shuffled-batch index...).  Randomness (window jitter, shuffling) comes from ``rng`` only.
- ``train_step(batch, carry, rng) -> StepResult``: loss and gradients of one batch; ``carry`` is what
  flows between batches (an LM's hidden state, detached), or None.
- ``evaluate() -> dict``: validation metrics (``"loss"``, when given, is the validation loss in the
  training loss's units).
- optionally ``evaluate_share(rank, size)`` and ``evaluate_joined(parts)``: validation in ``size``
  parts, one per process of a data-parallel run (:mod:`rnnkit.train.distributed`), each returning
  what its part of the validation data gives (sums, predictions); process 0 joins them, in rank order,
  into the metrics.  ``evaluate_joined([evaluate_share(r, P) for r in range(P)])`` is ``evaluate()``
  up to the order of float additions.  Without them process 0 validates alone.
- ``epoch_units()``: tokens (or sentences) per epoch, for the ETA; ``carry_arrays`` /
  ``carry_from_arrays`` store the carry in checkpoints; ``meta()`` is what a checkpoint must hold to
  rebuild the model (config, vocabulary).
- optionally ``selected_by``: the name of the validation metric its ``criterion`` chooses the best
  checkpoint by (a key of ``evaluate()``'s metrics: ``"accuracy"``, ``"root_macro_f1"``, ``"bleu"``...);
  without it, ``"loss"`` for a task without a ``criterion`` of its own (else unnamed).  Every epoch's
  record in metrics.jsonl carries it, so ``rnnkit curves`` reads which metric picked ``best.safetensors``
  instead of guessing it.
- optionally ``uniform_loss() -> UniformLoss``: the training loss of guessing uniformly (ln V per token
  for a language model, ln K per token or sentence for a tagger or classifier), when it is exact and cheap
  (:class:`rnnkit.guard.UniformLoss`); the trainer warns of an epoch whose training loss is well above
  it (:func:`rnnkit.guard.above_uniform`): a run that diverges without reaching the explosion threshold.
- optionally ``resume_options()``: the options that shape the batches and the loss, and a fingerprint
  of the validation data, by the names a message shows; ``--resume`` refuses a change of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Protocol

import numpy as np


@dataclass
class StepResult:
    """What :meth:`Task.train_step` returns for one batch."""

    loss: float  # loss of the batch, in the unit the progress display shows (e.g. mean NLL per token)
    units: int  # tokens or sentences in the batch
    grads: dict[str, np.ndarray]  # name -> gradient, as params
    carry: Any = None  # what the next batch starts from (an LM's state), or None
    weight: float | None = None  # what ``loss`` is the mean over, when not ``units`` (a tree batch's labelled
    #                              nodes): processes training together combine their losses weighted by it
    penalties: dict[str, float] | None = None  # terms the gradient follows beside ``loss``, not in it, in its units
    #   (a translator's {"coverage_loss": ...}): logged and shown beside it, so ``loss`` and perplexity stay the NLL's


class Task(Protocol):
    """What the training loop asks of a task; see the module docstring."""

    params: dict[str, np.ndarray]  # name -> array, updated in place by the optimizer

    def train_batches(self, epoch: int, cursor: int, rng: np.random.Generator) -> Iterator[tuple[int, Any]]:
        """Yield ``(cursor_after, batch)`` of ``epoch`` (0-based) from position ``cursor`` on."""
        ...

    def train_step(self, batch: Any, carry: Any, rng: np.random.Generator) -> StepResult:
        """Loss and gradients of ``batch``, starting from ``carry``."""
        ...

    def evaluate(self) -> dict[str, float]:
        """Validation metrics; ``"loss"`` in the training loss's units when given."""
        ...

    def epoch_units(self) -> int:
        """Tokens or sentences per epoch (the progress display's unit)."""
        ...

    def carry_arrays(self, carry: Any) -> dict[str, np.ndarray]:
        """The carry as named arrays, for a checkpoint."""
        ...

    def carry_from_arrays(self, arrays: dict[str, np.ndarray]) -> Any:
        """The carry that :meth:`carry_arrays` stored."""
        ...

    def meta(self) -> dict[str, Any]:
        """What a checkpoint must hold to rebuild the model (JSON-safe)."""
        ...


class IndependentBatches:
    """Mixin for tasks whose batches are independent (sentences, pairs): no carry to checkpoint."""

    def carry_arrays(self, carry: Any) -> dict[str, np.ndarray]:
        """No carry: nothing to store."""
        return {}

    def carry_from_arrays(self, arrays: dict[str, np.ndarray]) -> Any:
        """No carry: None."""
        return None
