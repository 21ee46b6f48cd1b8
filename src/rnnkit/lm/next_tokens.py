r"""The most likely next tokens after a prefix: the distribution a language model predicts from there.

The prefix w_1..w_m is read as :mod:`rnnkit.lm.score` reads the start of a line, from the start of a
sentence (a recurrent model reads ``<eos>`` or a newline first from zero state, an n-gram model puts
``<s>`` in front), so for every token v of the vocabulary

    log P(v | start, w_1..w_m)

is the term :func:`rnnkit.lm.score.score_tokens` gives v at position m + 1 of the line w_1..w_m v.
Every output layer (full, class-based or adaptive softmax) gives its exact, normalised distribution:
the V probabilities sum to 1, ``<unk>`` (the mass of every unknown token) and ``<eos>`` included.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from rnnkit.checks import check_int
from rnnkit.data.vocab import Vocabulary
from rnnkit.lm.ngram import NGramLM
from rnnkit.lm.score import start_token


class NextToken(NamedTuple):
    """One candidate next token, from :func:`top_next_tokens`."""

    token: str
    id: int  # its id in the vocabulary
    prob: float  # P(token | start, prefix)
    logprob: float  # its natural log


def next_log_probs(model: Any, vocab: Vocabulary, level: str, prefix: Sequence[str]) -> np.ndarray:
    """log P(v | start, prefix) (V,) float64 for every token v of ``vocab``, natural log.

    ``prefix``: the tokens read so far (words or BPE pieces, ``<eos>`` between sentences, or characters, a str of
    them too; may be empty: the first token of a sentence); a token not in ``vocab`` is read as ``<unk>``."""
    if level not in ("word", "char", "bpe"):
        raise ValueError(f"Expected level 'word', 'char' or 'bpe', got {level!r}")
    if isinstance(prefix, (str, bytes)) and level != "char":  # a str would be read one character a word
        what, split = (("BPE pieces", "rnnkit.lm.bpe_text.text_pieces(bpe_model, text, end=False)") if level == "bpe"
                       else ("word tokens", "rnnkit.data.text.tokenize(text, 'word')"))
        raise TypeError(f"Expected prefix to be a sequence of {what}, got a str {prefix!r:.60} (split it: {split})")
    ids = np.asarray(vocab.encode(list(prefix)), dtype=np.int64)  # (m,); a token not a str: TypeError
    if isinstance(model, NGramLM):
        with np.errstate(divide="ignore"):  # a token add-nothing smoothing never saw: log 0 = -inf
            return np.log(model.distribution(ids))
    start = vocab.token_id(start_token(vocab, level))
    read = np.concatenate([[start], ids]).reshape(-1, 1)  # (m + 1, 1): the start, then the prefix
    logp, _ = model.step_log_probs(read, None)  # (1, V)
    return np.asarray(logp[0], dtype=np.float64)


def top_next_tokens(model: Any, vocab: Vocabulary, level: str, prefix: Sequence[str], k: int) -> list[NextToken]:
    """The ``k`` most probable next tokens after ``prefix`` (see :func:`next_log_probs`), most probable
    first (ties: the lower id first); ``k`` may be at most the vocabulary's size."""
    k = check_int("k", k, 1)
    if k > len(vocab):
        raise ValueError(f"Expected k <= {len(vocab)}, the vocabulary's size (every token it has), got {k}")
    logp = next_log_probs(model, vocab, level, prefix)  # (V,)
    best = np.argsort(-logp, kind="stable")[:k]  # (k,)
    names = vocab.decode(best)
    return [NextToken(t, int(i), float(np.exp(logp[i])), float(logp[i])) for t, i in zip(names, best)]
