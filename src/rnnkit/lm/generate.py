"""Sampling text from a language model: temperature, top-k, top-p (nucleus) and greedy decoding.

At each step the model gives log P(v | prefix) over the vocabulary; the next token is chosen from

    p_v ∝ exp(log P(v | prefix) / temperature)

restricted to the k most likely tokens (top-k) and/or the smallest set whose probability reaches
p (top-p, nucleus sampling: Holtzman et al. 2020), or is the argmax (greedy).  The filters apply in
that order: temperature, then top-k, then top-p over what top-k kept (renormalised), the most
likely tokens first until their mass is >= p.  Every draw comes from the Generator passed in.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from rnnkit.checks import check_bool, check_int, check_number, check_rng
from rnnkit.errors import NonFiniteError


def check_sampling(temperature: float, top_k: int, top_p: float) -> None:
    """Raise TypeError or ValueError naming the first sampling option of the wrong type or out of range."""
    temperature = check_number("temperature", temperature)  # TypeError for a str or a bool, ValueError for nan
    if not temperature > 0:
        raise ValueError(f"Expected temperature to be a finite number > 0 (use greedy for 0), got {temperature!r}")
    check_int("top_k", top_k, 0)  # 0: no limit
    top_p = check_number("top_p", top_p)
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"Expected top_p in (0, 1] (1: no limit), got {top_p!r}")


def choose(logp: np.ndarray, rng: np.random.Generator | None, temperature: float = 1.0, top_k: int = 0,
           top_p: float = 1.0, greedy: bool = False, banned: np.ndarray | None = None) -> int:
    """Pick one token id from log-probabilities logp (V,).

    ``greedy``: the most probable (rng may be None); otherwise a draw from ``rng`` (a numpy Generator,
    required) of softmax(logp / ``temperature``), restricted to the ``top_k`` most probable ids (0: all)
    and then to the smallest set whose probability reaches ``top_p`` (1: all).  ``banned`` ids (an int
    array) are never picked."""
    given = logp
    logp = np.asarray(logp) if isinstance(logp, (list, tuple, np.ndarray)) else None
    if logp is None or logp.dtype.kind not in "iuf":
        raise TypeError(f"Expected logp to be an array of log-probabilities (V,), got "
                        f"{type(given).__name__}{f' of {logp.dtype}' if logp is not None else ''}")
    if logp.ndim != 1 or logp.size == 0:
        raise ValueError(f"Expected logp of shape (V,) (one row of log-probabilities), got shape {logp.shape}")
    if not check_bool("greedy", greedy):
        check_sampling(temperature, top_k, top_p)
        check_rng(rng, "rng (for sampling)")
    banned = _check_banned(banned, logp.shape[-1])
    return _choose(logp, rng, temperature, top_k, top_p, greedy, banned)


def _check_banned(banned: Any, V: int) -> np.ndarray | None:
    """``banned`` as an int array of ids in [0, V) that leaves at least one id to choose."""
    if banned is None:
        return None
    ids = np.asarray(banned)
    if ids.size == 0:
        return None
    if ids.dtype.kind not in "iu" or ids.min() < 0 or ids.max() >= V:
        raise ValueError(f"Expected banned token ids in [0, {V}), got {ids.tolist()[:10]}")
    if np.unique(ids).size >= V:
        raise ValueError(f"Expected banned to leave some of the {V} tokens to choose, got all of them")
    return ids


def _choose(logp: np.ndarray, rng: np.random.Generator | None, temperature: float, top_k: int, top_p: float,
            greedy: bool, banned: np.ndarray | None) -> int:
    """:func:`choose` with its options already checked (sample_ids checks them once, not per token)."""
    z = logp.astype(np.float64)
    if banned is not None:
        z = z.copy()
        z[banned] = -np.inf
    top = z.max()
    if not np.isfinite(top):  # NaN anywhere, or every allowed token at -inf (or one at +inf)
        if np.isnan(top):
            what = "NaN"
        elif top > 0:
            what = "+inf"
        else:
            what = "-inf for every token" + (" not banned" if banned is not None else "")
        raise ValueError(f"Expected log-probabilities with a finite maximum (a token to choose), got {what}")
    if greedy:
        return int(np.argmax(z))
    # shift before dividing: (z - max) / T is 0 for the best token and <= 0 elsewhere, so a tiny
    # temperature (1e-308) gives -inf, not inf - inf = NaN
    with np.errstate(over="ignore"):
        z = (z - top) / temperature
    if top_k and top_k < z.size:
        kth = np.partition(z, -top_k)[-top_k]
        z = np.where(z >= kth, z, -np.inf)
        # ties at the k-th value could admit more than k; keep exactly the k best (first by index)
        if np.count_nonzero(np.isfinite(z)) > top_k:
            keep = np.argsort(-z, kind="stable")[:top_k]
            mask = np.full(z.shape, -np.inf)
            mask[keep] = z[keep]
            z = mask
    p = np.exp(z - z.max())
    p /= p.sum()
    if top_p < 1.0:
        order = np.argsort(-p, kind="stable")
        cum = np.cumsum(p[order])
        cut = int(np.searchsorted(cum, top_p)) + 1  # smallest prefix whose mass reaches top_p
        keep = order[:cut]
        q = np.zeros_like(p)
        q[keep] = p[keep]
        p = q / q.sum()
    return int(rng.choice(p.size, p=p))


def sample_ids(model: Any, prime_ids: np.ndarray, length: int, rng: np.random.Generator | None = None,
               temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, greedy: bool = False,
               banned: np.ndarray | None = None) -> Iterator[int]:
    """Yield ``length`` token ids continuing ``prime_ids`` (at least one id), each chosen as :func:`choose`
    chooses with these options.  ``model`` has ``step_log_probs(ids (T, 1), state) -> (log_probs (1, V),
    state)``, with state None at the start, as :class:`~rnnkit.lm.model.LanguageModel` and
    :class:`~rnnkit.lm.NGramLM` do; ``rng`` is required unless ``greedy``."""
    given = np.asarray(prime_ids)
    if given.size == 0:
        raise ValueError("Expected at least one prime token, got none")
    if given.dtype.kind not in "iu":  # a float id would be truncated silently
        raise TypeError(f"Expected prime_ids to be integer token ids, got {given.dtype}")
    prime_ids = given.astype(np.int64, copy=False)
    check_int("length", length, 0)
    if not check_bool("greedy", greedy):
        check_sampling(temperature, top_k, top_p)
        check_rng(rng, "rng (for sampling)")
    with np.errstate(over="ignore", invalid="ignore"):  # a model whose numbers overflow: named below
        logp, state = model.step_log_probs(prime_ids.reshape(-1, 1), None)
    banned = _check_banned(banned, logp.shape[-1])
    for k in range(length):
        try:
            nxt = _choose(logp[0], rng, temperature, top_k, top_p, greedy, banned)
        except ValueError:  # _choose's check of a caller's input; a NaN is the model's own arithmetic overflowing
            if np.isnan(logp).any():
                raise NonFiniteError(f"the model's log-probabilities are NaN at token {k + 1} (its numbers "
                                     "overflow: weights far too large, as init_scale (--init-scale) 1e6 gives, or a "
                                     "run that diverged); use a checkpoint of a healthy run") from None
            raise
        yield nxt
        with np.errstate(over="ignore", invalid="ignore"):
            logp, state = model.step_log_probs(np.array([[nxt]]), state)


def detokenize(tokens: list[str], level: str) -> str:
    """Characters join as they are; words join with spaces, ``<eos>`` becoming a newline; BPE pieces run
    together with ``▁`` as a space (:func:`rnnkit.lm.bpe_text.decode_pieces`)."""
    if level == "char":
        return "".join(tokens)
    if level == "bpe":
        from rnnkit.lm.bpe_text import decode_pieces

        return decode_pieces(tokens)
    return " ".join(tokens).replace(" <eos> ", "\n").replace("<eos>", "\n")


def stream_text(token_iter: Iterator[str], level: str, write: Callable[[str], Any]) -> None:
    """Write tokens as they come (characters directly; words with spaces, <eos> as newline; BPE pieces as
    :func:`rnnkit.lm.bpe_text.stream_pieces` writes them)."""
    if level == "bpe":
        from rnnkit.lm.bpe_text import stream_pieces

        return stream_pieces(token_iter, write)
    first = True
    for tok in token_iter:
        if level == "char":
            write(tok)
        elif tok == "<eos>":
            write("\n")
            first = True
        else:
            write(tok if first else " " + tok)
            first = False
