"""Sampling text from a language model: temperature, top-k, top-p (nucleus) and greedy decoding.

At each step the model gives log P(v | prefix) over the vocabulary; the next token is chosen from

    p_v ∝ exp(log P(v | prefix) / temperature)

restricted to the k most likely tokens (top-k) and/or the smallest set whose probability reaches
p (top-p), or is the argmax (greedy).  Every draw comes from the Generator passed in.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import numpy as np


def check_sampling(temperature: float, top_k: int, top_p: float) -> None:
    """Raise ValueError naming the first sampling option out of range."""
    if not (isinstance(temperature, (int, float, np.floating)) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"Expected temperature to be a finite number > 0 (use greedy for 0), got {temperature!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 0:
        raise ValueError(f"Expected top_k to be an int >= 0 (0: no limit), got {top_k!r}")
    if not (isinstance(top_p, (int, float, np.floating)) and 0.0 < top_p <= 1.0):
        raise ValueError(f"Expected top_p in (0, 1] (1: no limit), got {top_p!r}")


def choose(logp: np.ndarray, rng: np.random.Generator | None, temperature: float = 1.0, top_k: int = 0,
           top_p: float = 1.0, greedy: bool = False, banned: np.ndarray | None = None) -> int:
    """Pick one token id from log-probabilities logp (V,)."""
    z = logp.astype(np.float64)
    if banned is not None:
        z = z.copy()
        z[banned] = -np.inf
    if greedy:
        return int(np.argmax(z))
    check_sampling(temperature, top_k, top_p)
    z = z / temperature
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
    """Yield ``length`` token ids continuing ``prime_ids`` (at least one id)."""
    prime_ids = np.asarray(prime_ids, dtype=np.int64)
    if prime_ids.size == 0:
        raise ValueError("Expected at least one prime token, got none")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ValueError(f"Expected length to be an int >= 0, got {length!r}")
    if not greedy:
        check_sampling(temperature, top_k, top_p)
    if not greedy and rng is None:
        raise ValueError("Expected rng (a numpy Generator) for sampling, got None")
    logp, state = model.step_log_probs(prime_ids.reshape(-1, 1), None)
    for _ in range(length):
        nxt = choose(logp[0], rng, temperature, top_k, top_p, greedy, banned)
        yield nxt
        logp, state = model.step_log_probs(np.array([[nxt]]), state)


def detokenize(tokens: list[str], level: str) -> str:
    """Characters join as they are; words join with spaces, ``<eos>`` becoming a newline."""
    if level == "char":
        return "".join(tokens)
    return " ".join(tokens).replace(" <eos> ", "\n").replace("<eos>", "\n")


def stream_text(token_iter: Iterator[str], level: str, write: Callable[[str], Any]) -> None:
    """Write tokens as they come (characters directly; words with spaces, <eos> as newline)."""
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
