r"""Translation as a :class:`rnnkit.train.Task`: length-bucketed batches, loss per target token,
validation NLL and greedy BLEU.

Training pairs are id pairs (source ids (n,), target ids (m,), no BOS/EOS), as
:func:`rnnkit.data.parallel.encode_pairs` makes them, or for a copy model the triples of
:func:`rnnkit.seq2seq.copy.encode_copy_pairs` (the source's extended ids third); its validation BLEU then calls
``detokenize(ids, oovs)`` with each valid source's words outside the target vocabulary (``valid_oovs``).
Each epoch shuffles them, sorts them by length inside pools of ``pool_size`` batches and shuffles the batches
(:func:`rnnkit.data.parallel.make_batches`), so a batch holds sentences of similar length and little time goes
into padding.  The epoch's order is drawn from a generator seeded by ``(seed, epoch)``, not from the trainer's
generator: a run resumed in the middle of an epoch then sees exactly the batches the uninterrupted run saw.

The loss of a batch is the mean NLL per target token, EOS included::

    loss = - (1 / N) sum_{t,b} mask_tb log P(y_tb | y_<t, x),     N = sum_{t,b} mask_tb

A coverage model (:mod:`rnnkit.seq2seq.coverage`) trained with ``coverage_loss`` lambda > 0 follows the gradient
of loss + (lambda / N) sum_{t,b} mask_tb sum_i min(a_tbi, cov_tbi); the loss it reports is the NLL alone, the
measure validation, the uniform-guess guard and every other model's log share, and the coverage part, per target
token as the loss, is reported beside it as the penalty ``coverage_loss`` (:class:`rnnkit.train.task.StepResult`:
the training log's ``coverage_loss`` and the epoch record's ``train_coverage_loss``).

Validation (``evaluate``) reports the same mean NLL per token over the whole validation set
(teacher forcing, no dropout) and, on its first ``bleu_sentences`` pairs, greedy decoding scored by
exact match (:func:`rnnkit.metrics.translation.token_exact_match`, on ids) and, when ``valid_references`` and ``detokenize`` are given and sacrebleu is
installed, corpus BLEU against the raw references.  ``select_by="bleu"`` makes the trainer keep
the checkpoint with the best greedy BLEU (its ``criterion`` is 100 - BLEU); ``loss`` stays the NLL.
Greedy decoding stops a sentence at ``max_decode_len`` steps when given, else at the limit of the
rule fitted to the training pairs (:mod:`rnnkit.seq2seq.lengths`; ``self.length_rule``, which the task's
``meta()`` carries as ``length_rule``, so the saved translator decodes as validation did).
BLEU's tokenizer is ``bleu_tokenize`` (:data:`rnnkit.metrics.translation.BLEU_TOKENIZERS`); ``"auto"``
is resolved once, on the references BLEU is computed on (``zh`` for Chinese, ``char`` for Japanese,
else 13a), so every epoch's BLEU is the same measure and the resolved name is ``self.bleu_tokenize``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Iterator

import numpy as np

from rnnkit.checks import check_int, check_number
from rnnkit.data.parallel import BOS_ID, EOS_ID, PAD_ID, UNK_ID, ParallelBatch, make_batches
from rnnkit.guard import UniformLoss, uniform_guess
from rnnkit.metrics.translation import (
    BLEU_TOKENIZERS,
    auto_bleu_tokenize,
    check_bleu_tokenize,
    corpus_bleu,
    token_exact_match,
)
from rnnkit.seq2seq.copy import ext_kwargs
from rnnkit.seq2seq.decode import greedy_decode
from rnnkit.seq2seq.lengths import fit_length_rule
from rnnkit.train.digest import value_digest
from rnnkit.train.progress import perplexity
from rnnkit.train.task import IndependentBatches, StepResult

IdPair = tuple[np.ndarray, np.ndarray]
SELECT_BY = ("loss", "bleu")


def _check_pairs(name: str, pairs: Any, allow_none: bool) -> None:
    if pairs is None and allow_none:
        return
    if not isinstance(pairs, Sequence) or isinstance(pairs, str) or len(pairs) == 0:
        raise ValueError(f"Expected {name} as a non-empty list of (source ids, target ids) pairs, got {pairs!r:.60}")
    first = pairs[0]
    if not (isinstance(first, (tuple, list)) and len(first) in (2, 3)):  # copy attention's triples too
        raise ValueError(f"Expected {name} items to be (source ids, target ids) pairs, got {first!r:.60}")


class Seq2SeqTask(IndependentBatches):
    """Train ``model`` (a :class:`rnnkit.seq2seq.Seq2Seq`) on ``train`` id pairs; validate on ``valid``."""

    def __init__(self, model: Any, train: Sequence[IdPair], valid: Sequence[IdPair] | None = None, *,
                 batch_size: int = 64, eval_batch_size: int = 128, pool_size: int = 100,
                 sampling_rate: float = 0.0, seed: int = 0, bleu_sentences: int = 500,
                 valid_references: Sequence[str] | None = None,
                 detokenize: Callable[[Sequence[int]], str] | None = None, select_by: str = "loss",
                 max_decode_len: int | None = None, meta: dict[str, Any] | None = None,
                 bleu_tokenize: str = "auto", valid_oovs: Sequence[Sequence[str]] | None = None,
                 coverage_loss: float = 0.0) -> None:
        _check_pairs("train", train, allow_none=False)
        _check_pairs("valid", valid, allow_none=True)
        for name, value in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size),
                            ("pool_size", pool_size)):
            check_int(name, value, 1)
        check_int("max_decode_len", max_decode_len, 1, allow_none=True)
        check_int("bleu_sentences", bleu_sentences, 0)
        if not 0.0 <= sampling_rate <= 1.0:
            raise ValueError(f"Expected sampling_rate in [0, 1], got {sampling_rate!r}")
        coverage_loss = check_number("coverage_loss", coverage_loss, 0.0)
        if coverage_loss > 0 and not getattr(model.config, "coverage", False):
            raise ValueError(f"Expected coverage_loss 0 for a model without coverage, got {coverage_loss}: make the "
                             "model with coverage=True")
        if select_by not in SELECT_BY:
            raise ValueError(f"Expected select_by one of {SELECT_BY}, got {select_by!r}")
        if valid_references is not None and (valid is None or len(valid_references) != len(valid)):
            raise ValueError(f"Expected one valid reference per valid pair ({0 if valid is None else len(valid)}), "
                             f"got {len(valid_references)}")
        if select_by == "bleu" and (valid_references is None or detokenize is None or bleu_sentences == 0):
            raise ValueError("Expected valid_references, detokenize and bleu_sentences > 0 for select_by='bleu'")
        if bleu_tokenize not in BLEU_TOKENIZERS:
            raise ValueError(f"Expected bleu_tokenize one of {BLEU_TOKENIZERS}, got {bleu_tokenize!r}")
        self.model = model
        self.params = model.params
        self.train = list(train)
        self.valid = None if valid is None else list(valid)
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.pool_size = pool_size
        self.sampling_rate = float(sampling_rate)
        self.coverage_loss = coverage_loss
        self.seed = int(seed)
        self.bleu_sentences = bleu_sentences
        self.valid_references = None if valid_references is None else list(valid_references)
        self.detokenize = detokenize
        # copy attention: each valid source's words outside the target vocabulary, which detokenize(ids, oovs)
        # prints for the extended ids (rnnkit.seq2seq.copy)
        self.valid_oovs = None if valid_oovs is None else list(valid_oovs)
        self.select_by = select_by
        self.max_decode_len = max_decode_len  # None: each sentence's limit from length_rule
        self.length_rule = fit_length_rule(self.train)
        # a translator's checkpoint holds the rule its validation decoded with (rnnkit.seq2seq.io); so does
        # a library caller's run without meta, whose checkpoints then say how validation decoded
        self._meta = {**(meta or {}), "length_rule": self.length_rule.to_dict()}
        scored = [] if valid_references is None else list(valid_references)[:bleu_sentences]
        self.bleu_tokenize = auto_bleu_tokenize(scored) if bleu_tokenize == "auto" else bleu_tokenize
        if bleu_tokenize != "auto" and scored and detokenize is not None:
            check_bleu_tokenize(bleu_tokenize)  # asked for by name: a missing package is said now, not skipped
        self._units = int(sum(len(p[1]) + 1 for p in self.train))  # target tokens + one EOS each
        # validation batches never change: build them once
        self._valid_batches = None if self.valid is None else make_batches(self.valid, eval_batch_size)

    # ------------------------------------------------------------------ training
    def epoch_units(self) -> int:
        """Target tokens per epoch, one EOS per sentence included."""
        return self._units

    def uniform_loss(self) -> UniformLoss:
        """ln V per target token, the loss of guessing every one of the decoder's V outputs uniformly: exact,
        the loss being the softmax's mean NLL per target token (see :class:`rnnkit.train.task.Task`)."""
        return uniform_guess(self.model.config.tgt_vocab_size, "target token")

    def epoch_batches(self, epoch: int) -> list[ParallelBatch]:
        """The batches of 0-based ``epoch``, in training order (the same on every call)."""
        rng = np.random.default_rng([self.seed, epoch])
        return make_batches(self.train, self.batch_size, rng=rng, pool_size=self.pool_size)

    def train_batches(self, epoch: int, cursor: int, rng: np.random.Generator) -> Iterator[tuple[int, Any]]:
        """Yields (index after the batch, batch) of ``epoch`` from batch index ``cursor`` on."""
        batches = self.epoch_batches(epoch)
        for i in range(cursor, len(batches)):
            yield i + 1, batches[i]

    def split_batch(self, batch: ParallelBatch, parts: int) -> list[ParallelBatch | None]:
        """The batch's pairs in ``parts`` runs, each padded only to its own longest sentences: the shares of
        processes training together (:mod:`rnnkit.train.distributed`; their losses, per target token,
        are combined weighted by target tokens)."""
        shares: list[ParallelBatch | None] = []
        for cols in np.array_split(np.arange(batch.src_lengths.size), parts):
            if not cols.size:
                shares.append(None)
                continue
            S = int(batch.src_lengths[cols].max())
            T = int(batch.tgt_mask[:, cols].sum(axis=0).max())
            shares.append(ParallelBatch(batch.src[:S, cols], batch.src_lengths[cols], batch.tgt_in[:T, cols],
                                        batch.tgt_out[:T, cols], batch.tgt_mask[:T, cols], batch.index[cols],
                                        None if batch.src_ext is None else batch.src_ext[:S, cols]))
        return shares

    def train_step(self, batch: ParallelBatch, carry: Any, rng: np.random.Generator) -> StepResult:
        """Loss and gradients of one training batch (scheduled sampling at ``sampling_rate``), per target token."""
        n = int(batch.tgt_mask.sum())
        loss, cache = self.model.forward(batch.src, batch.src_lengths, batch.tgt_in, batch.tgt_out, batch.tgt_mask,
                                         training=True, rng=rng, sampling_rate=self.sampling_rate,
                                         coverage_loss=self.coverage_loss, **ext_kwargs(batch))
        grads = self.model.backward(1.0 / n, cache)
        # the NLL is the loss (see the module docstring); the coverage part, per target token too, beside it
        cov = cache[1].coverage_loss
        penalties = {"coverage_loss": cov / n} if self.coverage_loss > 0 else None
        return StepResult(loss=(loss - cov) / n, units=n, grads=grads, penalties=penalties)

    # ------------------------------------------------------------------ validation
    def valid_nll(self, rank: int = 0, size: int = 1) -> tuple[float, int]:
        """(summed NLL, target tokens) over the validation set, teacher-forced, no dropout; over part
        ``rank`` of ``size`` of its batches (every size-th) when ``size`` > 1."""
        total = 0.0
        count = 0
        for b in (self._valid_batches or [])[rank::size]:
            loss, _ = self.model.forward(b.src, b.src_lengths, b.tgt_in, b.tgt_out, b.tgt_mask, **ext_kwargs(b))
            total += loss
            count += int(b.tgt_mask.sum())
        return total, count

    def greedy_ids(self, pairs: Sequence[IdPair]) -> list[list[int]]:
        """Greedy output ids (no BOS/EOS) for the sources of ``pairs``, in their order."""
        out: list[list[int]] = [[] for _ in pairs]
        for b in make_batches(pairs, self.eval_batch_size):
            limits = self.length_rule.limits(b.src_lengths, self.max_decode_len)  # (B,)
            hyps = greedy_decode(self.model, b.src, b.src_lengths, limits, BOS_ID, EOS_ID, PAD_ID, **ext_kwargs(b))
            for i, h in zip(b.index, hyps):
                out[int(i)] = list(h.tokens)
        return out

    def evaluate(self) -> dict[str, float]:
        """Validation loss (mean NLL per target token, ``"loss"``) and perplexity (``"ppl"``); with
        ``bleu_sentences`` > 0, the exact-match rate of greedy decoding over the first ``bleu_sentences``
        pairs (``"exact"``), and their BLEU (``"bleu"``) when ``valid_references`` and ``detokenize`` were
        given and sacrebleu is installed.  Without validation data, ``{"loss": nan}``."""
        return self.evaluate_joined([self.evaluate_share(0, 1)])

    def evaluate_share(self, rank: int, size: int) -> dict[str, Any] | None:
        """Summed NLL and target tokens of part ``rank`` of ``size`` of the validation batches, and the
        greedy output ids of every size-th of the first ``bleu_sentences`` pairs from ``rank`` on (see
        :class:`rnnkit.train.task.Task`); None without validation data."""
        if self.valid is None:
            return None
        total, count = self.valid_nll(rank, size)
        mine = self.valid[:min(self.bleu_sentences, len(self.valid))][rank::size]
        return {"nll": total, "tokens": count, "hyps": self.greedy_ids(mine) if mine else []}

    def evaluate_joined(self, parts: list[dict[str, Any] | None]) -> dict[str, float]:
        """The validation metrics of the parts together (see :meth:`evaluate`)."""
        if self.valid is None:
            return {"loss": float("nan")}
        nll = sum(p["nll"] for p in parts) / max(sum(p["tokens"] for p in parts), 1)  # type: ignore[index]
        metrics: dict[str, float] = {"loss": nll, "ppl": perplexity(nll)}
        n = min(self.bleu_sentences, len(self.valid))
        if n == 0:
            return metrics
        subset = self.valid[:n]
        hyps: list[list[int]] = [[] for _ in subset]
        for r, p in enumerate(parts):
            hyps[r::len(parts)] = p["hyps"]  # type: ignore[index]
        # ids, as evaluate's tokens: the one definition (rnnkit.metrics.translation.token_exact_match)
        metrics["exact"] = token_exact_match(hyps, [p[1] for p in subset], UNK_ID)
        if self.valid_references is not None and self.detokenize is not None:
            texts = [self.detokenize(h) if self.valid_oovs is None else self.detokenize(h, self.valid_oovs[i])
                     for i, h in enumerate(hyps)]
            bleu = _bleu(texts, self.valid_references[:n], self.bleu_tokenize)
            if bleu is not None:
                metrics["bleu"] = bleu
        if self.select_by == "bleu" and "bleu" not in metrics:
            raise ImportError("select_by='bleu' needs sacrebleu: pip install 'rnnkit[translate]'")
        return metrics

    @property
    def selected_by(self) -> str:
        """The validation metric :meth:`criterion` follows (see :mod:`rnnkit.train.task`)."""
        return self.select_by

    def criterion(self, metrics: dict[str, float]) -> float:
        """The best checkpoint has the lowest validation loss, or with select_by='bleu' the highest BLEU."""
        if self.select_by == "bleu":
            return 100.0 - metrics.get("bleu", float("nan"))
        return metrics.get("loss", float("nan"))

    # ------------------------------------------------------------------ checkpoints
    def resume_options(self) -> dict[str, Any]:
        """What a resumed run must share with this one (see :class:`rnnkit.train.loop.Task`)."""
        options = {"--batch-size": self.batch_size, "pool_size": self.pool_size, "--sampling-rate": self.sampling_rate,
                   "--coverage-loss": self.coverage_loss,
                   "--bleu-sentences": self.bleu_sentences,
                   "validation data": value_digest(None if self.valid is None else [self.valid, self.valid_references])}
        # how validation is batched and decoded, where there is validation: its loss (summation order), exact
        # match and BLEU; without it these options shape the final test alone, which may change
        if self.valid is not None:
            options["--eval-batch-size"] = self.eval_batch_size
            if self.bleu_sentences > 0:
                options["--max-decode-len"] = self.max_decode_len
        return options

    def meta(self) -> dict[str, Any]:
        """The given ``meta`` (none: {}) with the fitted length rule added, for the checkpoint."""
        return self._meta



def _bleu(hypotheses: list[str], references: list[str], tokenize: str) -> float | None:
    """Corpus BLEU, or None without sacrebleu (validation then shows NLL and exact match only)."""
    try:
        return corpus_bleu(hypotheses, references, tokenize=tokenize).score
    except ImportError:
        return None
