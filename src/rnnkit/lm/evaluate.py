"""Perplexity and bits per character of a language model over a whole token stream.

The state carries across the whole stream.  With B streams the tail of N mod B tokens is dropped
(as in training), and the first token of each of the B streams is read but never predicted: of N = 40
tokens in 4 streams, 36 are scored.  ``batch_size=1`` predicts every token but the first, for exact
figures.  With
``start_id`` (``<eos>`` at word level) that token is read first, so the first real token is
predicted too and the count equals the n-gram models' (SRILM's) exactly: every token of the file,
``<eos>`` included.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from rnnkit.lm.batching import batchify, windows
from rnnkit.train.progress import perplexity


def evaluate_stream(model: Any, ids: np.ndarray, batch_size: int = 10, bptt: int = 35,
                    start_id: int | None = None, name: str = "evaluation data",
                    on_batch: Callable[[int], None] | None = None) -> dict[str, float]:
    """Mean NLL per predicted token (nats), perplexity and bits per token over ``ids``, as the dict of
    :func:`metrics_from_nll`; ``name`` is what a DataError calls the data (too short for the batch).
    ``on_batch``: called with the tokens each window predicts (a progress display; they add up to
    :func:`predicted_tokens`)."""
    return metrics_from_nll(*stream_nll(model, ids, batch_size, bptt, start_id, name, on_batch=on_batch))


def predicted_tokens(n: int, batch_size: int, start: bool = False) -> int:
    """The tokens :func:`stream_nll` predicts of ``n`` ids in ``batch_size`` streams (``start``: a start id read
    first): (floor((n + start) / B) - 1) B, the first of each stream read only and the tail of (n + start) mod B
    dropped."""
    return max(0, (n + int(start)) // batch_size - 1) * batch_size


def stream_nll(model: Any, ids: np.ndarray, batch_size: int = 10, bptt: int = 35, start_id: int | None = None,
               name: str = "evaluation data", rank: int = 0, size: int = 1,
               on_batch: Callable[[int], None] | None = None) -> tuple[float, int]:
    """(summed NLL, predicted tokens) of ``ids`` cut into ``batch_size`` streams, each carrying its state
    across the windows; of part ``rank`` of ``size`` of the streams (as even as they divide), whose
    sums add up to the whole's.  ``on_batch``: called with the tokens each window (bptt, B) predicts."""
    if start_id is not None:
        ids = np.concatenate([[start_id], np.asarray(ids, dtype=np.int64)])
    data = batchify(ids, batch_size, name=name, start=start_id is not None)  # (N // B, B): a column is a stream
    if size > 1:
        data = np.ascontiguousarray(data[:, np.array_split(np.arange(data.shape[1]), size)[rank]])
        if data.shape[1] == 0:  # more parts than streams
            return 0.0, 0
    state = None
    total = 0.0
    count = 0
    for _, x, y in windows(data, bptt):
        loss, state, _ = model.forward(x, y, state)
        total += loss
        count += y.size
        if on_batch is not None:
            on_batch(y.size)
    return total, count


def metrics_from_nll(total: float, count: int) -> dict[str, float]:
    """Mean NLL (nats), perplexity and bits per token from a summed NLL over ``count`` tokens:
    ``{"loss", "ppl", "bits", "tokens"}`` (ppl capped at exp(700) rather than overflowing)."""
    if count < 1:
        raise ValueError(f"Expected at least one predicted token, got {count}")
    nll = total / count
    return {"loss": nll, "ppl": perplexity(nll), "bits": nll / math.log(2), "tokens": count}
