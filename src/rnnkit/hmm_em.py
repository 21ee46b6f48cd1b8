"""Unsupervised training of a first-order HMM by Baum-Welch, i.e. EM (Rabiner 1989, problem 3).

The model is :class:`rnnkit.hmm.HMMTagger`'s of order 2 (bigram transitions) with K hidden states
and the V word types of the data, as :meth:`HMMTagger.from_probabilities` builds it:

    P(w, t) = pi[t_1] prod_{i=1}^{n-1} A[t_i, t_{i+1}] * e[t_n] * prod_{i=1}^{n} B[w_i, t_i],
    sum_j pi[j] = 1,   sum_k A[j, k] + e[j] = 1 (e: the end, EOS),   sum_v B[v, j] = 1.

E-step, by forward-backward (:mod:`rnnkit.hmm_forward`'s, batched over sentences) under the current tables:
gamma_i(j) = P(t_i = j | w) and xi_i(j, k) = P(t_i = j, t_{i+1} = k | w), the latter from the scaled
variables as xi_i(j, k) = alpha_i[j] A[j, k] B[w_{i+1}, k] beta_{i+1}[k] / c_{i+1}.
M-step: the expected counts, normalised,

    pi[j]   = sum_s gamma^s_1(j) / S
    A[j, k] = sum_s sum_{i<n_s} xi^s_i(j, k) / G(j),     e[j] = sum_s gamma^s_{n_s}(j) / G(j),
    B[v, j] = sum_s sum_{i: w_i = v} gamma^s_i(j) / G(j),     G(j) = sum_s sum_{i<=n_s} gamma^s_i(j).

No iteration lowers the log-likelihood L = sum_s log P(w^s) (Baum et al. 1970; Dempster et al.
1977), but EM only finds a local maximum, which depends on the start: compare a few seeds by L
(:func:`baum_welch_restarts` keeps the best of several).  A state no sentence uses (G(j) = 0) keeps its
rows, since L does not depend on them.

The model keeps G (``state_counts``), so ``emissions * G`` are the expected word-state counts and words
never seen in training are tagged through TnT's suffix model fitted on them (:class:`rnnkit.hmm.HMMTagger`).

Cost of one iteration, N words, V word types, K states: time O(N K^2) (a (B, K) x (K, K) product per
word position, forward and backward); memory O(V K + K^2) for the tables and their counts, plus the
E-step's (T, B, K) arrays of one batch, whose size :data:`BATCH_FLOATS` bounds (:func:`memory_estimate`).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from rnnkit.checks import check_int, check_number, check_rng
from rnnkit.hmm import HMMTagger


def _check_sentences(sentences) -> list[list[str]]:
    if isinstance(sentences, str) or not hasattr(sentences, "__iter__"):
        raise TypeError(f"Expected sentences as a list of lists of words, got {type(sentences).__name__}")
    sentences = [s for s in sentences]  # once: a generator would be empty the second time
    if not sentences:
        raise ValueError("Expected at least one sentence to train on, got none")
    for i, sentence in enumerate(sentences):
        if isinstance(sentence, str) or not isinstance(sentence, Sequence):
            raise TypeError(f"Expected sentence {i} as a list of words, got {type(sentence).__name__}")
        if len(sentence) == 0:  # the model gives BOS -> EOS probability 0, so L would be -inf
            raise ValueError(f"Expected sentences of at least one word, got an empty sentence {i}")
        for word in sentence:
            if not isinstance(word, str):
                raise TypeError(f"Expected words as strings, got {type(word).__name__} {word!r:.40} in sentence {i}")
    return [list(s) for s in sentences]


def _random_tables(rng: np.random.Generator, K: int, V: int) -> tuple[np.ndarray, ...]:
    """pi (K,), A (K, K), e (K,), B (V, K), each distribution drawn from a flat Dirichlet."""
    start = rng.dirichlet(np.ones(K))  # (K,)
    rows = rng.dirichlet(np.ones(K + 1), size=K)  # (K, K+1): a row of A and its end probability
    emit = rng.dirichlet(np.ones(V), size=K).T  # (V, K)
    return start, rows[:, :K], rows[:, K], emit


def _tables_of(model: HMMTagger, words: list[str]) -> tuple[np.ndarray, ...]:
    """A first-order tagger's tables over ``words``, renormalised; a trained tagger's unknown words
    get P(t | suffix) / P(t) times the probability of a word seen once (the suffix model drops P(w))."""
    if getattr(model, "order", None) != 2 or not hasattr(model, "log_trans_"):
        raise ValueError("Expected init to be a fitted first-order HMMTagger (order=2), got "
                         f"{type(model).__name__}{'' if not hasattr(model, 'order') else f' of order {model.order}'}")
    K = len(model.tags_)
    trans = np.exp(model.log_trans_)  # (K+1, K+1), -inf (forbidden by the scheme) -> 0
    start = trans[K, :K] / trans[K, :K].sum()
    rows = trans[:K, :] / trans[:K, :].sum(axis=1, keepdims=True)  # (K, K+1)
    emit = np.exp(model._scores(words)[1])  # (V, K)
    unknown = np.array([w not in model.vocab_ for w in words])
    if unknown.any():
        emit[unknown] /= sum(c.sum() for c in model.word_tag_counts_.values())
    totals = emit.sum(axis=0)
    emit = emit / np.where(totals > 0, totals, 1.0)
    return start, rows[:, :K], rows[:, K], emit


BATCH = 256  # sentences per E-step batch, at most
BATCH_FLOATS = 1 << 22  # and at most this many floats in one of its (T, B, K) arrays (32 MiB): a large K batches fewer
BYTES = 8  # float64


def batch_size(longest: int, n_states: int) -> int:
    """Sentences per E-step batch: :data:`BATCH`, fewer when ``longest * B * n_states`` would pass
    :data:`BATCH_FLOATS`."""
    return int(min(BATCH, max(1, BATCH_FLOATS // max(1, longest * n_states))))


def memory_estimate(n_states: int, n_types: int, longest: int) -> int:
    """Bytes Baum-Welch needs at its peak, roughly: about eight (V, K) arrays (emissions, their counts, the
    M-step's temporaries, the best restart's), eight (K, K) ones and eight (T, B, K) ones of a batch."""
    K, V = n_states, n_types
    batch = batch_size(longest, K) * longest * K
    return BYTES * 8 * (V * K + K * K + batch)


def available_memory() -> int | None:
    """Bytes of memory free for a new allocation (Linux's MemAvailable, else free physical pages), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    """``n`` bytes as ``"3.2 GB"`` (powers of 1000, as a machine's memory is usually quoted)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def check_memory(n_states: int, n_types: int, longest: int, name: str = "n_states") -> None:
    """ValueError, with the estimate, when Baum-Welch would need more memory than the machine has free."""
    need, free = memory_estimate(n_states, n_types, longest), available_memory()
    if free is not None and need > free:
        raise ValueError(f"Expected {name} small enough for the memory free ({format_bytes(free)}), got {n_states:,}: "
                         f"Baum-Welch with K = {n_states:,} states and V = {n_types:,} word types needs about "
                         f"{format_bytes(need)} (8 bytes x 8 x (V K + K^2 + one batch's positions x K)); use fewer "
                         "states")


def _batches(ids_list: list[np.ndarray], size: int = BATCH) -> list[tuple[np.ndarray, ...]]:
    """The sentences, longest first, as padded ``(ids (B, T), lengths (B,), types (U,), inverse (T B,))``
    batches of up to ``size``: at step i the sentences still running are a prefix of the batch, as in a
    packed sequence; ``types`` are the batch's distinct words and ``inverse`` each position's (time-major)
    index into them, so its emission counts are summed over U types, not all V."""
    order = sorted(range(len(ids_list)), key=lambda s: -len(ids_list[s]))
    batches = []
    for first in range(0, len(order), size):
        chunk = [ids_list[s] for s in order[first:first + size]]
        lengths = np.array([len(ids) for ids in chunk])
        ids = np.zeros((len(chunk), lengths[0]), dtype=np.int64)  # (B, T), padded with word 0
        for b, row in enumerate(chunk):
            ids[b, :len(row)] = row
        types, inverse = np.unique(ids.T.ravel(), return_inverse=True)  # padding counts as word 0, with gamma 0
        batches.append((ids, lengths, types, inverse.ravel()))
    return batches


def _expected_counts(batches: list, start, trans, end, emit) -> tuple[float, tuple[np.ndarray, ...]]:
    """E-step: L and the expected counts of starts (K,), transitions (K, K), ends (K,), emissions (V, K).

    The scaled forward-backward of :mod:`rnnkit.hmm_forward` (first order), run on a batch of sentences
    at once: one (B, K) x (K, K) product per step instead of one per sentence and step.
    """
    V, K = emit.shape
    n_start, n_trans, n_end, n_emit = np.zeros(K), np.zeros((K, K)), np.zeros(K), np.zeros((V, K))
    total = 0.0
    for ids, lengths, types, inverse in batches:
        B, T = ids.shape
        running = [int((lengths > i).sum()) for i in range(T + 1)]  # sentences with a word i; running[T] = 0
        E = emit[ids.T]  # (T, B, K) B[w_i, k]
        alpha = np.zeros((T, B, K))
        scale = np.ones((T, B))  # c_i; 1 where a sentence has ended, so log c sums over its words only
        a = start * E[0]  # (B, K)
        for i in range(T):
            b = running[i]
            if i > 0:
                a = (alpha[i - 1, :b] @ trans) * E[i, :b]  # (b, K)
            scale[i, :b] = a.sum(axis=1)
            alpha[i, :b] = a / scale[i, :b, None]
        scale_end = alpha[lengths - 1, np.arange(B)] @ end  # (B,) c_{n+1}, from each sentence's alpha_n
        if not (np.all(scale > 0) and np.all(scale_end > 0)):  # only from init: EM keeps possible what was
            raise ValueError("Expected every sentence to be possible under init, got one of probability 0")
        beta = np.zeros((T, B, K))
        for i in range(T - 1, -1, -1):
            b_next, b = running[i + 1], running[i]
            if b_next:  # beta_i = A (B[w_{i+1}] * beta_{i+1}) / c_{i+1}
                ahead = E[i + 1, :b_next] * beta[i + 1, :b_next] / scale[i + 1, :b_next, None]  # (b_next, K)
                beta[i, :b_next] = ahead @ trans.T
            beta[i, b_next:b] = end / scale_end[b_next:b, None]  # the sentences whose last word is i
        total += float(np.log(scale).sum() + np.log(scale_end).sum())
        gamma = alpha * beta  # (T, B, K), 0 after each sentence's end
        n_start += gamma[0].sum(axis=0)
        n_end += gamma[lengths - 1, np.arange(B)].sum(axis=0)
        # sum_i xi_i(j, k) = A[j, k] sum_i alpha_i[j] B[w_{i+1}, k] beta_{i+1}[k] / c_{i+1}: one GEMM
        ahead = E[1:] * beta[1:] / scale[1:, :, None]  # (T-1, B, K), 0 where beta is
        n_trans += trans * (alpha[:-1].reshape(-1, K).T @ ahead.reshape(-1, K))
        flat = gamma.reshape(-1, K)  # (T B, K), time-major as inverse; padding rows add gamma 0
        U = len(types)
        n_emit[types] += np.stack([np.bincount(inverse, weights=flat[:, k], minlength=U) for k in range(K)], axis=1)
    return total, (n_start, n_trans, n_end, n_emit)


def _maximise(counts: tuple[np.ndarray, ...], old: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """M-step: normalised counts; a state with no expected occurrences keeps its old rows.
    Returns the new (start, transitions, end, emissions) and G (K,), the counts of each state."""
    n_start, n_trans, n_end, n_emit = counts
    _, old_trans, old_end, old_emit = old
    used = n_emit.sum(axis=0)  # (K,) G(j)
    live = used > 0
    safe = np.where(live, used, 1.0)
    trans = np.where(live[:, None], n_trans / safe[:, None], old_trans)
    end = np.where(live, n_end / safe, old_end)
    emit = np.where(live[None, :], n_emit / safe[None, :], old_emit)
    # G(j) = sum_k xi-counts + end count exactly, up to rounding: renormalise so rows sum to 1 to the last bit
    norm = trans.sum(axis=1) + end
    return (n_start / n_start.sum(), trans / norm[:, None], end / norm, emit / emit.sum(axis=0)), used


def _prepare(sentences: Sequence[Sequence[str]], K: int) -> tuple[list[str], list, int]:
    """``(word types, E-step batches, number of words)`` of checked sentences."""
    sentences = _check_sentences(sentences)
    vocab: dict[str, int] = {}
    ids_list = [np.array([vocab.setdefault(w, len(vocab)) for w in s], dtype=np.int64) for s in sentences]
    longest = max(len(ids) for ids in ids_list)
    check_memory(K, len(vocab), longest)
    return list(vocab), _batches(ids_list, batch_size(longest, K)), sum(len(ids) for ids in ids_list)


def _iterate(batches: list, tables: tuple[np.ndarray, ...], n_words: int, max_iter: int, tol: float,
             on_iteration: Callable[[int, float], None] | None,
             ) -> tuple[tuple[np.ndarray, ...], np.ndarray, list[float]]:
    """EM from ``tables``: ``(final tables, G of the counts they were estimated from, history)``."""
    ll, counts = _expected_counts(batches, *tables)
    history = [ll]
    if on_iteration is not None:
        on_iteration(0, ll)
    used = counts[3].sum(axis=0)  # (K,) without an M-step: the start's own expected counts
    for t in range(1, max_iter + 1):
        tables, used = _maximise(counts, tables)
        ll, counts = _expected_counts(batches, *tables)
        history.append(ll)
        if on_iteration is not None:
            on_iteration(t, ll)
        if history[-1] - history[-2] < tol * n_words:
            break
    return tables, used, history


def _check_run(n_states: int, max_iter: int, tol: float) -> tuple[int, int, float]:
    return check_int("n_states", n_states, 1), check_int("max_iter", max_iter, 0), check_number("tol", tol, low=0.0)


def baum_welch(sentences: Sequence[Sequence[str]], n_states: int, rng: np.random.Generator, *,
               max_iter: int = 100, tol: float = 1e-6, init: HMMTagger | None = None,
               on_iteration: Callable[[int, float], None] | None = None) -> tuple[HMMTagger, list[float]]:
    """Train a first-order HMM with ``n_states`` hidden states on unlabelled ``sentences`` by EM.

    The start is random (flat Dirichlet draws from ``rng``), or, semi-supervised, the tables of
    ``init``, a fitted order-2 :class:`HMMTagger` (its tags, and its scheme's forbidden moves, stay).
    Iterates until an iteration raises L by less than ``tol`` per word, or ``max_iter`` iterations.
    Returns the model (an :class:`HMMTagger`, states named ``"S0"``, ``"S1"``, ... or ``init``'s tags,
    whose ``log_likelihood``, ``posteriors`` and ``predict`` work as for any, unknown words too) and the
    history ``[L_0, L_1, ...]``, L_t the training log-likelihood after t iterations (the last is the
    model's).  Stopped by ``max_iter`` when ``len(history) == max_iter + 1`` and the last gain is >= ``tol``
    per word.  ``on_iteration(t, L_t)`` is called as each L_t is known (progress, for a long run).
    ValueError when the tables would not fit in the memory free (:func:`memory_estimate`).
    """
    K, max_iter, tol = _check_run(n_states, max_iter, tol)
    if init is not None and getattr(init, "tags_", None) is not None and len(init.tags_) != K:
        raise ValueError(f"Expected n_states to match init's {len(init.tags_)} tags, got {K}")
    rng = check_rng(rng, allow_none=init is not None)
    words, batches, n_words = _prepare(sentences, K)
    if init is None:
        tables = _random_tables(rng, K, len(words))
        tags, scheme = [f"S{k}" for k in range(K)], None
    else:
        tables = _tables_of(init, words)
        tags, scheme = init.tags_, init.scheme
    tables, used, history = _iterate(batches, tables, n_words, max_iter, tol, on_iteration)
    return _model(tags, words, tables, used, scheme), history


def _model(tags: list[str], words: list[str], tables: tuple[np.ndarray, ...], used: np.ndarray,
           scheme: str | None = None) -> HMMTagger:
    start, trans, end, emit = tables
    return HMMTagger.from_probabilities(tags, start, trans, words, emit, end=end, scheme=scheme, state_counts=used)


def baum_welch_restarts(sentences: Sequence[Sequence[str]], n_states: int, rngs: Sequence[np.random.Generator],
                        *, max_iter: int = 100, tol: float = 1e-6,
                        on_iteration: Callable[[int, int, float], None] | None = None,
                        ) -> tuple[HMMTagger, list[float], list[float]]:
    """The best of ``len(rngs)`` runs of :func:`baum_welch`, each from a random start drawn from its own
    generator, by the final log-likelihood (the first of equals).  The data is read and batched once.

    Returns ``(model, its history, every run's final L)``; ``on_iteration(r, t, L_t)`` for run r (from 0).
    Run r's result is that of ``baum_welch(sentences, n_states, rngs[r], ...)``.
    """
    K, max_iter, tol = _check_run(n_states, max_iter, tol)
    if isinstance(rngs, np.random.Generator) or not isinstance(rngs, Sequence) or len(rngs) == 0:
        raise TypeError(f"Expected rngs as a non-empty list of numpy Generators (one a run), got {type(rngs).__name__}")
    rngs = [check_rng(r, f"rngs[{r_}]") for r_, r in enumerate(rngs)]
    words, batches, n_words = _prepare(sentences, K)
    best = None
    finals = []
    for r, rng in enumerate(rngs):
        hook = None if on_iteration is None else (lambda t, ll, r=r: on_iteration(r, t, ll))
        tables, used, history = _iterate(batches, _random_tables(rng, K, len(words)), n_words, max_iter, tol, hook)
        finals.append(history[-1])
        if best is None or history[-1] > best[2][-1]:
            best = (tables, used, history)
    tables, used, history = best
    return _model([f"S{k}" for k in range(K)], words, tables, used), history, finals
