r"""Score lines of text one by one with a language model (recurrent or n-gram), e.g. to rank or rescore them.

Each line is a sentence on its own: its tokens w_1..w_n are scored from the start of a sentence, and
its end counts as a token w_{n+1} (``<eos>`` at word level, a newline at character level)::

    log P(line) = sum_{t=1}^{n+1} log P(w_t | start, w_1..w_{t-1})        (natural log)
    perplexity(line) = exp(-log P(line) / (n + 1))

The start is what the whole-file evaluation starts from: for a recurrent model zero state and an
``<eos>`` (word level) or newline (character level) input; for an n-gram model the start symbol
``<s>``.  Unknown tokens score as ``<unk>`` and are counted.  Recurrent models score a batch of lines
at once, padded at the end (padding after a line's last token cannot change its scores).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from rnnkit.checks import check_int
from rnnkit.data.text import tokenize
from rnnkit.data.vocab import Vocabulary
from rnnkit.lm.ngram import NGramLM


class LineScore(NamedTuple):
    """The score of one line, from :func:`score_lines`."""

    logprob: float  # natural log of P(line), its end included
    tokens: int  # n + 1 scored tokens (0 for a blank line at word level, which is not a sentence)
    oov: int  # tokens not in the vocabulary, scored as <unk>

    @property
    def ppl(self) -> float:
        """Perplexity of the line; NaN when it has no token."""
        return math.exp(min(-self.logprob / self.tokens, 700.0)) if self.tokens else math.nan


def line_tokens(line: str, level: str) -> list[str]:
    """The tokens a line is scored on: its words and ``<eos>`` (none when blank), or its characters and a newline."""
    if level == "char":
        return [*line, "\n"]
    return tokenize(line, "word")


def start_token(vocab: Vocabulary, level: str) -> str:
    """What a recurrent model reads before a sentence's first token."""
    if level == "word":
        return vocab.eos_token
    return "\n" if "\n" in vocab else vocab.tokens[len(vocab) - 1]


def score_lines(model: Any, vocab: Vocabulary, level: str, lines: Sequence[str],
                batch_size: int = 32) -> list[LineScore]:
    """One :class:`LineScore` per line (no newline characters inside a line), in the lines' order."""
    check_int("batch_size", batch_size, 1)
    if level not in ("word", "char"):
        raise ValueError(f"Expected level 'word' or 'char', got {level!r}")
    if isinstance(lines, (str, bytes)) or not hasattr(lines, "__iter__"):  # a str would score one line per character
        what = "a str (for one line, pass [line])" if isinstance(lines, str) else type(lines).__name__
        raise TypeError(f"Expected lines to be a sequence of str, one per line, got {what}")
    lines = list(lines)
    for k, line in enumerate(lines):
        if not isinstance(line, str):
            raise TypeError(f"Expected lines to be a sequence of str, got {type(line).__name__} at line {k}")
    toks = [line_tokens(line, level) for line in lines]
    ids = [np.asarray(vocab.encode(t), dtype=np.int64) for t in toks]
    oov = [sum(t not in vocab for t in tt) for tt in toks]
    logps = _ngram_scores(model, ids) if isinstance(model, NGramLM) else _rnn_scores(model, vocab, level, ids,
                                                                                     batch_size)
    return [LineScore(float(lp), int(i.size), k) for lp, i, k in zip(logps, ids, oov)]


def _ngram_scores(model: NGramLM, ids: list[np.ndarray]) -> list[float]:
    filled = [i for i in ids if i.size]
    flat = model.token_logprobs(filled) if filled else np.zeros(0)  # (N,), sequence after sequence
    out, pos = [], 0
    for i in ids:
        out.append(float(flat[pos : pos + i.size].sum()))
        pos += i.size
    return out


def _rnn_scores(model: Any, vocab: Vocabulary, level: str, ids: list[np.ndarray], batch_size: int) -> list[float]:
    start = vocab.token_id(start_token(vocab, level))
    out = [0.0] * len(ids)
    order = sorted((k for k in range(len(ids)) if ids[k].size), key=lambda k: ids[k].size)  # similar lengths
    for a in range(0, len(order), batch_size):
        batch = order[a : a + batch_size]
        T = max(ids[k].size for k in batch)
        targets = np.zeros((T, len(batch)), dtype=np.int64)  # (T, B), padded with id 0 after each line
        for b, k in enumerate(batch):
            targets[: ids[k].size, b] = ids[k]
        inputs = np.vstack([np.full((1, len(batch)), start), targets[:-1]])  # (T, B): start, w_1 .. w_{T-1}
        logp, _ = model.token_log_probs(inputs, targets)  # (T, B)
        for b, k in enumerate(batch):
            out[k] = float(logp[: ids[k].size, b].sum())
    return out
