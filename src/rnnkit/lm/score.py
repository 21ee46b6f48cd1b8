r"""Score lines of text one by one with a language model (recurrent or n-gram), e.g. to rank or rescore them.

Each line is a sentence on its own: its tokens w_1..w_n are scored from the start of a sentence, and
its end counts as a token w_{n+1} (``<eos>`` at word and BPE level, a newline at character level)::

    log P(line) = sum_{t=1}^{n+1} log P(w_t | start, w_1..w_{t-1})        (natural log)
    perplexity(line) = exp(-log P(line) / (n + 1))

The start is what the whole-file evaluation starts from: for a recurrent model zero state and an
``<eos>`` (word and BPE level) or newline (character level) input; for an n-gram model the start symbol
``<s>``.  Unknown tokens score as ``<unk>`` and are counted.  Recurrent models score a batch of lines
of similar lengths at once, padded at the end (padding after a line's last token cannot change its
scores), ``WINDOW`` steps at a time, so a long line needs no more memory than a short one.

:func:`score_tokens` gives the terms of that sum, log P(w_t | start, w_1..w_{t-1}) of each token;
:func:`score_lines` adds them up, so a line's score is the sum of its tokens' to the last bit.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from rnnkit.checks import check_bool, check_int
from rnnkit.data.text import tokenize
from rnnkit.data.vocab import Vocabulary
from rnnkit.lm.ngram import NGramLM
from rnnkit.train.progress import perplexity


class LineScore(NamedTuple):
    """The score of one line, from :func:`score_lines`."""

    logprob: float  # natural log of P(line), its end included
    tokens: int  # n + 1 scored tokens (0 for a blank line at word level, which is not a sentence)
    oov: int  # tokens not in the vocabulary, scored as <unk>

    @property
    def ppl(self) -> float:
        """Perplexity of the line; NaN when it has no token."""
        return perplexity(-self.logprob / self.tokens) if self.tokens else math.nan


class TokenScores(NamedTuple):
    """The tokens of one line and each one's log-probability, from :func:`score_tokens`."""

    tokens: list[str]  # as scored: the words and <eos> (none for a blank line), or the characters and "\n"
    logprobs: np.ndarray  # (n + 1,) float64 natural log of P(w_t | start, w_1..w_{t-1})
    known: np.ndarray  # (n + 1,) bool: the token is in the vocabulary (else it was scored as <unk>)

    def line_score(self, skip_unknown: bool = False) -> LineScore:
        """The line's :class:`LineScore`: the sum of its tokens' log-probabilities (of the known ones
        only with ``skip_unknown``; see :func:`score_lines`)."""
        counted = self.known if skip_unknown else np.ones(self.known.size, dtype=bool)  # the tokens that count
        return LineScore(float(self.logprobs[counted].sum()), int(counted.sum()), int((~self.known).sum()))


def line_tokens(line: str, level: str, bpe_model: bytes | None = None) -> list[str]:
    """The tokens a line is scored on: its words and ``<eos>`` (none when blank), its characters and a newline,
    or at level ``bpe`` its pieces of ``bpe_model`` and ``<eos>`` (:func:`rnnkit.lm.bpe_text.line_pieces`)."""
    if level == "char":
        return [*line, "\n"]
    if level == "bpe":
        from rnnkit.lm.bpe_text import line_pieces

        if bpe_model is None:
            raise ValueError("Expected bpe_model (the SentencePiece model bytes) at level 'bpe', got None")
        return line_pieces(bpe_model, line)
    return tokenize(line, "word")


def start_token(vocab: Vocabulary, level: str) -> str:
    """What a recurrent model reads before a sentence's first token: ``<eos>`` (word and bpe level), else
    a newline (or the last token, for a character model without one)."""
    if level in ("word", "bpe"):
        return vocab.eos_token
    return "\n" if "\n" in vocab else vocab.tokens[len(vocab) - 1]


def score_lines(model: Any, vocab: Vocabulary, level: str, lines: Sequence[str],
                batch_size: int = 32, skip_unknown: bool = False, bpe_model: bytes | None = None) -> list[LineScore]:
    """One :class:`LineScore` per line (no newline characters inside a line), in the lines' order.

    ``skip_unknown``: tokens not in the vocabulary add neither their log-probability (that of
    ``<unk>``, a mass all unknown words share, so high for a model with many of them) nor a token
    to their line, as SRILM leaves OOVs out; they are still read as ``<unk>`` by the model, and
    counted in ``oov``."""
    check_int("batch_size", batch_size, 1)
    skip_unknown = check_bool("skip_unknown", skip_unknown)
    return [t.line_score(skip_unknown) for t in score_tokens(model, vocab, level, lines, batch_size, bpe_model)]


def score_tokens(model: Any, vocab: Vocabulary, level: str, lines: Sequence[str],
                 batch_size: int = 32, bpe_model: bytes | None = None,
                 on_batch: Callable[[int], None] | None = None) -> list[TokenScores]:
    """One :class:`TokenScores` per line (no newline characters inside a line), in the lines' order:
    the log-probability of each token of the line read as :func:`score_lines` reads it (from the
    start of a sentence, its end a token), whose sum is the line's :class:`LineScore` ``logprob``
    (over the ``known`` tokens only with ``skip_unknown``); ``bpe_model``: level ``bpe``'s SentencePiece model.
    ``on_batch``: called with the tokens of each batch of lines scored (a progress display; an n-gram model
    scores them all at once)."""
    check_int("batch_size", batch_size, 1)
    if level not in ("word", "char", "bpe"):
        raise ValueError(f"Expected level 'word', 'char' or 'bpe', got {level!r}")
    if isinstance(lines, (str, bytes)) or not hasattr(lines, "__iter__"):  # a str would score one line per character
        what = "a str (for one line, pass [line])" if isinstance(lines, str) else type(lines).__name__
        raise TypeError(f"Expected lines to be a sequence of str, one per line, got {what}")
    lines = list(lines)
    for k, line in enumerate(lines):
        if not isinstance(line, str):
            raise TypeError(f"Expected lines to be a sequence of str, got {type(line).__name__} at line {k}")
    toks = [line_tokens(line, level, bpe_model) for line in lines]
    ids = [np.asarray(vocab.encode(t), dtype=np.int64) for t in toks]
    known = [np.array([t in vocab for t in tt], dtype=bool) for tt in toks]
    if isinstance(model, NGramLM):
        logps = _ngram_scores(model, ids)
        tokens = sum(i.size for i in ids)
        if on_batch is not None and tokens:  # blank lines alone: no display of 0 tokens
            on_batch(tokens)
    else:
        logps = _rnn_scores(model, vocab, level, ids, batch_size, on_batch)
    return [TokenScores(t, lp, k) for t, lp, k in zip(toks, logps, known)]


def _ngram_scores(model: NGramLM, ids: list[np.ndarray]) -> list[np.ndarray]:
    """Each line's token log-probabilities (n + 1,), every line a sequence from <s>."""
    filled = [i for i in ids if i.size]
    flat = model.token_logprobs(filled) if filled else np.zeros(0)  # (N,), sequence after sequence
    out, pos = [], 0
    for i in ids:
        out.append(np.asarray(flat[pos : pos + i.size], dtype=np.float64))
        pos += i.size
    return out


WINDOW = 256  # time steps read at a time: memory stays flat however long a line is


def _rnn_scores(model: Any, vocab: Vocabulary, level: str, ids: list[np.ndarray],
                batch_size: int, on_batch: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Lines of similar lengths scored together, read ``WINDOW`` steps at a time with the state carried
    from window to window; a line that has ended leaves the batch (its columns and state are dropped),
    so one long line costs what it costs alone, not the batch's width times its length.  ``on_batch``:
    told each batch's tokens."""
    start = vocab.token_id(start_token(vocab, level))
    out = [np.zeros(i.size) for i in ids]  # (n + 1,) float64 each: log P of every token of the line
    order = sorted((k for k in range(len(ids)) if ids[k].size), key=lambda k: ids[k].size)  # similar lengths
    for a in range(0, len(order), batch_size):
        batch = order[a : a + batch_size]  # shortest first
        lens = np.array([ids[k].size for k in batch])  # (B,) ascending
        state, first = None, 0  # first: the first column whose line has not ended
        for t0 in range(0, int(lens[-1]), WINDOW):
            ended = int(np.searchsorted(lens, t0, side="right")) - first  # lines of length <= t0 end here
            if ended:
                state = None if state is None else _columns(state, ended)
                first += ended
            t1 = min(t0 + WINDOW, int(lens[-1]))
            inputs, targets = _window(ids, batch[first:], t0, t1, start)  # (t1 - t0, B') each
            logp, state = model.token_log_probs(inputs, targets, state)  # (t1 - t0, B')
            for b, k in enumerate(batch[first:]):
                part = out[k][t0:t1]  # the steps inside line k (it has not ended: at least one)
                part[...] = logp[: part.size, b]
        if on_batch is not None:
            on_batch(int(lens.sum()))
    return out


def _window(ids: list[np.ndarray], batch: list[int], t0: int, t1: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets (t1 - t0, B) of steps t0..t1-1 of lines ``batch``, padded with id 0 after a
    line's end: the input at step t is the token before target t (the start token at t = 0)."""
    targets = np.zeros((t1 - t0, len(batch)), dtype=np.int64)
    inputs = np.zeros((t1 - t0, len(batch)), dtype=np.int64)
    for b, k in enumerate(batch):
        line = ids[k]
        part = line[t0:t1]
        targets[: part.size, b] = part
        prev = line[max(t0 - 1, 0) : t1 - 1]
        if t0 == 0:
            inputs[0, b] = start
            inputs[1 : 1 + prev.size, b] = prev
        else:
            inputs[: prev.size, b] = prev
    return inputs, targets


def _columns(state: Any, drop: int) -> Any:
    """The recurrent state without its first ``drop`` batch columns: arrays (layers, B, H), or a tuple of them."""
    if isinstance(state, tuple):
        return tuple(_columns(s, drop) for s in state)
    return state[:, drop:]
