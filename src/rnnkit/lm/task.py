"""Language modelling as a :class:`rnnkit.train.Task`: stateful truncated BPTT over B streams."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from rnnkit.guard import UniformLoss, uniform_guess
from rnnkit.lm.batching import batchify, windows
from rnnkit.lm.evaluate import metrics_from_nll, stream_nll
from rnnkit.lm.model import LanguageModel
from rnnkit.lm.units import TextUnits, unit_metrics
from rnnkit.train.task import StepResult
from rnnkit.train.digest import value_digest


class LMTask:
    """Train ``model`` on ``train_ids``; validate on ``valid_ids`` (perplexity; with ``valid_units``, the
    validation text's :class:`rnnkit.lm.units.TextUnits`, also per-word perplexity and bits per character).

    ``loss_scale``: "token" divides the summed NLL of a window by the bptt*B tokens of a full window
    (the mean per token, PyTorch's word_language_model, for every window of length bptt); "batch" divides
    by B only, i.e. sums over time (Zaremba et al. 2014).  Either way a window of another length T (an
    epoch's last, shorter one; a --jitter window) weighs by its tokens, T / bptt of a full window, as Merity
    et al. (2017) rescale the learning rate by T / bptt: the mean over a window's own T*B tokens made an
    epoch's last window of one token a step as large as a full window's, taken just before validation.
    (Until Dec 7 2026 "token" divided by the window's own T*B; a run started before then and resumed
    after it continues under this rule, so its shorter windows' steps differ from an uninterrupted run's.)
    """

    def __init__(self, model: LanguageModel, train_ids: np.ndarray, valid_ids: np.ndarray | None,
                 batch_size: int = 20, bptt: int = 35, jitter: bool = False, loss_scale: str = "token",
                 eval_batch_size: int = 10, meta: dict[str, Any] | None = None,
                 start_id: int | None = None, valid_units: TextUnits | None = None) -> None:
        if loss_scale not in ("token", "batch"):
            raise ValueError(f"Expected loss_scale 'token' or 'batch', got {loss_scale!r}")
        self.model = model
        self.params = model.params
        self.data = batchify(train_ids, batch_size, bptt, name="training data")  # (N // B, B)
        self.batch_size = batch_size
        self.share = slice(0, batch_size)  # the streams this process trains (all but under shard())
        self.valid_ids = valid_ids
        self.bptt = bptt
        self.jitter = jitter
        self.loss_scale = loss_scale
        self.eval_batch_size = eval_batch_size
        self._meta = meta or {}
        self.start_id = start_id  # read before the validation text (<eos> at word level)
        self.valid_units = valid_units  # a BPE model's: the validation text's pieces, words and characters

    def epoch_units(self) -> int:
        """Predicted tokens per epoch: (N // B - 1) * B, each stream's last token has no target."""
        return (self.data.shape[0] - 1) * self.data.shape[1]

    def train_batches(self, epoch: int, cursor: int, rng: np.random.Generator) -> Iterator[tuple[int, Any]]:
        """Yields (next time index, (inputs (T, B), targets (T, B))) from time index ``cursor`` to the end."""
        for nxt, x, y in windows(self.data, self.bptt, start=cursor, jitter=self.jitter, rng=rng):
            yield nxt, (x, y)

    def train_step(self, batch: Any, carry: Any, rng: np.random.Generator) -> StepResult:
        """Loss (mean NLL per token) and gradients of one window read from ``carry``; the new state is the carry."""
        x, y = batch
        T, B = x.shape
        loss, state, cache = self.model.forward(x, y, carry, training=True, rng=rng)
        scale = 1.0 / (self.bptt * B) if self.loss_scale == "token" else 1.0 / B  # a window weighs by its T
        # the embedding's gradient as its rows: <= T*B of V rows are non-zero
        grads = self.model.backward(scale, cache, sparse_embedding=True)
        return StepResult(loss=loss / (T * B), units=T * B, grads=grads, carry=state)

    def uniform_loss(self) -> UniformLoss:
        """ln V, the loss per token of guessing every token uniformly (see :class:`rnnkit.train.task.Task`);
        for the class-based and adaptive softmax, the larger of that and what the model scores with every
        logit 0, averaged over the training tokens: a tail word of the adaptive softmax then costs
        ln(head) + ln(cluster), above ln V when the shortlist is small or the words' frequencies flat,
        and a healthy run starts there."""
        s = self.model.config.init_scale
        cure = None if s is None else (f"the initial weights are too large: give a smaller init_scale (--init-scale; "
                                       f"{s:g} now, Zaremba: 0.1), or none for PyTorch's initialisation")
        V = self.model.config.vocab_size
        unit = {"char": "character", "bpe": "piece"}.get(self._meta.get("level"), "word")
        guess = uniform_guess(V, unit, start_cure=cure)
        factored = getattr(self.model, "factored", None)
        if factored is None:
            return guess
        counts = np.bincount(self.data.ravel(), minlength=V)[:V]  # (V,) the training tokens
        start = float(counts @ factored.zero_logit_costs() / max(1, counts.sum()))
        if start <= guess.loss:
            return guess
        return UniformLoss(start, f"what the {self.model.config.softmax} softmax scores with every logit 0 (ln V = "
                           f"{guess.loss:.3g}), over the training {unit}s", guess.start_cure)

    def evaluate(self) -> dict[str, float]:
        """Validation loss (mean NLL per token, nats), perplexity and bits per token."""
        return self.evaluate_joined([self.evaluate_share(0, 1)])

    def evaluate_share(self, rank: int, size: int) -> tuple[float, int] | None:
        """(summed NLL, tokens) of part ``rank`` of ``size`` of the validation streams (see
        :class:`rnnkit.train.task.Task`); None without validation data."""
        if self.valid_ids is None:
            return None
        return stream_nll(self.model, self.valid_ids, self.eval_batch_size, self.bptt, self.start_id,
                          rank=rank, size=size)

    def evaluate_joined(self, parts: list[tuple[float, int] | None]) -> dict[str, float]:
        """The metrics of all validation streams from the parts' sums."""
        if self.valid_ids is None:
            return {"loss": float("nan")}
        m = metrics_from_nll(sum(p[0] for p in parts), sum(p[1] for p in parts))
        out = {"loss": m["loss"], "ppl": m["ppl"], "bits": m["bits"]}
        if self.valid_units is not None:  # a subword model's figures that compare with other levels'
            units = unit_metrics(m["loss"], self.valid_units)
            out.update(word_ppl=units["word_ppl"], bits_per_char=units["bits_per_char"])
        return out

    def shard(self, rank: int, size: int) -> None:
        """Train only streams ``[rank B / P, (rank + 1) B / P)`` of the B (``size`` = P processes of a
        data-parallel run, :mod:`rnnkit.train.distributed`): the P shares are the one-process batch."""
        B = self.batch_size
        if B % size:
            raise ValueError(f"batch_size {B} (--batch-size) does not split into {size} equal shares, one per "
                             f"process; give a multiple of {size} (e.g. {B + size - B % size})")
        n = B // size
        self.share = slice(rank * n, (rank + 1) * n)
        self.data = np.ascontiguousarray(self.data[:, self.share])  # (N // B, B / P): a column is a stream

    def carry_arrays(self, carry: Any) -> dict[str, np.ndarray]:
        """The state as arrays for a checkpoint: ``h``, and ``c`` for an LSTM; (layers, streams, H)."""
        if isinstance(carry, tuple):
            return {"h": carry[0], "c": carry[1]}
        return {"h": carry}

    def join_carry_arrays(self, parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """The processes' :meth:`carry_arrays`, in rank order, as one state of all B streams."""
        return {k: np.concatenate([p[k] for p in parts], axis=1) for k in parts[0]}

    def carry_from_arrays(self, arrays: dict[str, np.ndarray]) -> Any:
        """The state saved by :meth:`carry_arrays`: h, or (h, c) for an LSTM; this process's streams
        of a state of all B."""
        if arrays["h"].shape[1] == self.batch_size:
            arrays = {k: v[:, self.share] for k, v in arrays.items()}
        if "c" in arrays:
            return arrays["h"], arrays["c"]
        return arrays["h"]

    def resume_options(self) -> dict[str, Any]:
        """What a resumed run must share with this one (see :class:`rnnkit.train.loop.Task`)."""
        options = {"--batch-size": self.batch_size, "--bptt": self.bptt, "--jitter": self.jitter,
                   "--loss-scale": self.loss_scale, "validation data": value_digest(self.valid_ids)}
        if self.valid_ids is not None:  # the streams of validation: its perplexity
            options["--eval-batch-size"] = self.eval_batch_size
        return options

    def meta(self) -> dict[str, Any]:
        """The extra fields the checkpoint holds (the ``meta`` given, or {})."""
        return self._meta
