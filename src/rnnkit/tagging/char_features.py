r"""Character-level BiLSTM word features (Ling et al. 2015; Lample et al. 2016).

A word w = c_1 ... c_n is read by a bidirectional LSTM over its character embeddings; its feature
vector is the forward LSTM's state after c_n joined to the backward LSTM's state after c_1:

    x_k   = C[c_k]                                   # (n, Ec) character embeddings
    h_fwd = LSTM_fwd(x_1, ..., x_n)[n]               # (Hc,)
    h_bwd = LSTM_bwd(x_n, ..., x_1)[1]               # (Hc,)
    f(w)  = [h_fwd ; h_bwd]                          # (2 Hc,)

so a word never seen in training still gets a vector built from its spelling (suffixes, capitals,
digits, hyphens).  A batch of T x B tokens holds far fewer distinct words, so the LSTM runs once
per distinct word of the batch (U of them) and the tokens gather their rows: ``feat[index]``.
The backward pass scatter-adds the tokens' gradients onto their distinct word, then runs the
BiLSTM backward from its final states.

Parameters (in the model's flat dict, prefixes added by the model): the character embedding
``weight`` (C, Ec) and the BiLSTM's ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0`` and their ``_reverse`` twins.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnkit.nn.embedding import embedding_backward, embedding_forward
from rnnkit.recurrent import LSTM


class CharBatch(NamedTuple):
    """The distinct words of a batch as padded character ids, and where each token finds its word."""

    char_ids: np.ndarray  # (Lc, U) character ids, time-major, padded with 0 after each word's length
    lengths: np.ndarray  # (U,) characters in each distinct word, >= 1
    index: np.ndarray  # (T, B) row of each token's word among the U; 0 at padded tokens


class CharCache(NamedTuple):
    """What :func:`char_features_backward` needs from :func:`char_features_forward`."""

    emb: Any
    rnn: Any
    gather: Any
    mask: np.ndarray  # (T, B) bool, real tokens


def char_matrix(words: list[str], char_id: dict[str, int], unk_id: int,
                max_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """Character ids ``(N, max_chars)`` and lengths ``(N,)`` of N word types.

    A word longer than ``max_chars`` keeps its first ``max_chars // 2`` and its last
    ``max_chars - max_chars // 2`` characters: prefixes and suffixes carry what a tagger needs, and
    a URL of 200 characters would otherwise set the time length of the whole batch.
    """
    if max_chars < 2:
        raise ValueError(f"Expected max_chars >= 2, got {max_chars}")
    ids = np.zeros((len(words), max_chars), dtype=np.int64)  # (N, Lmax)
    lengths = np.zeros(len(words), dtype=np.int64)  # (N,)
    head = max_chars // 2
    for n, word in enumerate(words):
        if len(word) > max_chars:
            word = word[:head] + word[len(word) - (max_chars - head):]
        if not word:
            raise ValueError(f"Expected non-empty words, got an empty word at position {n}")
        lengths[n] = len(word)
        ids[n, : len(word)] = [char_id.get(c, unk_id) for c in word]
    return ids, lengths


def gather_char_batch(type_ids: np.ndarray, mask: np.ndarray, chars: np.ndarray,
                      char_lengths: np.ndarray) -> CharBatch:
    """The CharBatch of a (T, B) batch of word-type ids into a table ``chars`` (N, Lmax), ``char_lengths`` (N,)."""
    real = type_ids[mask]  # (n_tokens,)
    types, inverse = np.unique(real, return_inverse=True)  # (U,), (n_tokens,)
    index = np.zeros(type_ids.shape, dtype=np.int64)  # (T, B)
    index[mask] = inverse
    lengths = char_lengths[types]  # (U,)
    Lc = int(lengths.max())
    char_ids = np.ascontiguousarray(chars[types, :Lc].T)  # (Lc, U)
    return CharBatch(char_ids, lengths, index)


def make_char_lstm(char_embedding_dim: int, char_hidden: int, dtype: str,
                   rng: np.random.Generator) -> LSTM:
    """The one-layer bidirectional character LSTM (PyTorch's initialisation)."""
    return LSTM(char_embedding_dim, char_hidden, 1, bidirectional=True, dtype=np.dtype(dtype), rng=rng)


def char_features_forward(batch: CharBatch, mask: np.ndarray, weight: np.ndarray,
                          lstm: LSTM) -> tuple[np.ndarray, CharCache]:
    """Token features ``(T, B, 2 Hc)`` from the batch's distinct words; zero at padded tokens.

    ``weight`` is the character embedding (C, Ec); ``lstm`` a bidirectional one-layer LSTM whose
    params the caller owns (the model's flat dict shares the same arrays).
    """
    x, c_emb = embedding_forward(batch.char_ids, weight)  # (Lc, U, Ec)
    _, (h, _), c_rnn = lstm.forward(x, lengths=batch.lengths)  # h: (2, U, Hc)
    feat = np.concatenate([h[0], h[1]], axis=1)  # (U, 2 Hc) forward final, backward final
    tokens, c_gather = token_features(batch, feat, mask)  # (T, B, 2 Hc)
    return tokens, CharCache(c_emb, c_rnn, c_gather, mask)


def token_features(batch: CharBatch, feat: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, Any]:
    """Each token's row of the words' features ``feat`` (U, F): ``tokens[t, b] = feat[index[t, b]]``, zero at a
    padded token; (tokens (T, B, F), the gather's cache for :func:`word_gradients`)."""
    # a gather by index is an embedding lookup into the (U, F) table: reuse its fast backward
    tokens, gather = embedding_forward(batch.index, feat)  # (T, B, F)
    tokens *= mask[:, :, None]  # padded tokens point at row 0; give them zeros
    return tokens, gather


def word_gradients(dtokens: np.ndarray, mask: np.ndarray, gather: Any) -> np.ndarray:
    """dL/d(feat) (U, F) from dL/d(tokens) (T, B, F): :func:`token_features`' backward."""
    # a word used by several tokens receives the sum of their gradients; padded tokens none
    _, g = embedding_backward(dtokens * mask[:, :, None], gather)
    return g["weight"]


def char_features_backward(dtokens: np.ndarray, cache: CharCache,
                           lstm: LSTM) -> dict[str, np.ndarray]:
    """Gradients ``{"weight": dC, "weight_ih_l0": ..., ...}`` given dL/d(token features) (T, B, 2 Hc)."""
    Hc = dtokens.shape[-1] // 2
    dfeat = word_gradients(dtokens, cache.mask, cache.gather)  # (U, 2 Hc)
    dh = np.stack([dfeat[:, :Hc], dfeat[:, Hc:]])  # (2, U, Hc)
    dx, _, grads = lstm.backward(None, (dh, np.zeros_like(dh)), cache.rnn)  # dx (Lc, U, Ec)
    _, gemb = embedding_backward(dx, cache.emb)
    grads = dict(grads)
    grads["weight"] = gemb["weight"]
    return grads
