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
1977), but EM only finds a local maximum, which depends on the start: compare a few seeds by L.  A
state no sentence uses (G(j) = 0) keeps its rows, since L does not depend on them.
"""
from __future__ import annotations

from collections.abc import Sequence

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


def _batches(ids_list: list[np.ndarray], size: int = 256) -> list[tuple[np.ndarray, np.ndarray]]:
    """The sentences, longest first, as padded ``(ids (B, T), lengths (B,))`` batches of up to ``size``:
    at step i the sentences still running are a prefix of the batch, as in a packed sequence."""
    order = sorted(range(len(ids_list)), key=lambda s: -len(ids_list[s]))
    batches = []
    for first in range(0, len(order), size):
        chunk = [ids_list[s] for s in order[first:first + size]]
        lengths = np.array([len(ids) for ids in chunk])
        ids = np.zeros((len(chunk), lengths[0]), dtype=np.int64)  # (B, T), padded with word 0
        for b, row in enumerate(chunk):
            ids[b, :len(row)] = row
        batches.append((ids, lengths))
    return batches


def _expected_counts(batches: list, start, trans, end, emit) -> tuple[float, tuple[np.ndarray, ...]]:
    """E-step: L and the expected counts of starts (K,), transitions (K, K), ends (K,), emissions (V, K).

    The scaled forward-backward of :mod:`rnnkit.hmm_forward` (first order), run on a batch of sentences
    at once: one (B, K) x (K, K) product per step instead of one per sentence and step.
    """
    V, K = emit.shape
    n_start, n_trans, n_end, n_emit = np.zeros(K), np.zeros((K, K)), np.zeros(K), np.zeros((V, K))
    total = 0.0
    for ids, lengths in batches:
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
        flat = gamma.reshape(-1, K)  # (T B, K)
        words = ids.T.ravel()  # (T B,) padding rows add gamma 0
        n_emit += np.stack([np.bincount(words, weights=flat[:, k], minlength=V) for k in range(K)], axis=1)
    return total, (n_start, n_trans, n_end, n_emit)


def _maximise(counts: tuple[np.ndarray, ...], old: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """M-step: normalised counts; a state with no expected occurrences keeps its old rows."""
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
    return n_start / n_start.sum(), trans / norm[:, None], end / norm, emit / emit.sum(axis=0)


def baum_welch(sentences: Sequence[Sequence[str]], n_states: int, rng: np.random.Generator, *,
               max_iter: int = 100, tol: float = 1e-6, init: HMMTagger | None = None,
               ) -> tuple[HMMTagger, list[float]]:
    """Train a first-order HMM with ``n_states`` hidden states on unlabelled ``sentences`` by EM.

    The start is random (flat Dirichlet draws from ``rng``), or, semi-supervised, the tables of
    ``init``, a fitted order-2 :class:`HMMTagger` (its tags, and its scheme's forbidden moves, stay).
    Iterates until an iteration raises L by less than ``tol`` per word, or ``max_iter`` iterations.
    Returns the model (an :class:`HMMTagger`, states named ``"S0"``, ``"S1"``, ... or ``init``'s tags,
    whose ``log_likelihood``, ``posteriors`` and ``predict`` work as for any) and the history
    ``[L_0, L_1, ...]``, L_t the training log-likelihood after t iterations (the last is the model's).
    Stopped by ``max_iter`` when ``len(history) == max_iter + 1`` and the last gain is >= ``tol`` per word.
    """
    K = check_int("n_states", n_states, 1)
    if init is not None and getattr(init, "tags_", None) is not None and len(init.tags_) != K:
        raise ValueError(f"Expected n_states to match init's {len(init.tags_)} tags, got {K}")
    rng = check_rng(rng, allow_none=init is not None)
    max_iter = check_int("max_iter", max_iter, 0)
    tol = check_number("tol", tol, low=0.0)
    sentences = _check_sentences(sentences)
    vocab: dict[str, int] = {}
    ids_list = [np.array([vocab.setdefault(w, len(vocab)) for w in s], dtype=np.int64) for s in sentences]
    words = list(vocab)
    n_words = sum(len(ids) for ids in ids_list)
    if init is None:
        tables = _random_tables(rng, K, len(words))
        tags, scheme = [f"S{k}" for k in range(K)], None
    else:
        tables = _tables_of(init, words)
        tags, scheme = init.tags_, init.scheme
    batches = _batches(ids_list)
    ll, counts = _expected_counts(batches, *tables)
    history = [ll]
    for _ in range(max_iter):
        tables = _maximise(counts, tables)
        ll, counts = _expected_counts(batches, *tables)
        history.append(ll)
        if history[-1] - history[-2] < tol * n_words:
            break
    start, trans, end, emit = tables
    return HMMTagger.from_probabilities(tags, start, trans, words, emit, end=end, scheme=scheme), history
