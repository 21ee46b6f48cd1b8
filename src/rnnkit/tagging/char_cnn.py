r"""Character-CNN word features (Ma & Hovy 2016, BiLSTM-CNN-CRF; Chiu & Nichols 2016).

A word w = c_1 ... c_n is read by one convolution of width k over its character embeddings, padded
with k - 1 zero vectors before c_1 and k - 1 after c_n (a "full" convolution, as Ma & Hovy's code
pads: every window holds at least one real character), then max-pooled over the word's n + k - 1
windows and squashed:

    x_j   = dropout(C[c_j])                  for 1 <= j <= n;  x_j = 0 for the k - 1 pads each side
    z_p   = W * [x_{p-k+1} ; ... ; x_p] + b  for p = 1 .. n + k - 1    # (F,), W (F, Ec, k) like nn.Conv1d
    f(w)  = tanh(max_p z_p)                                            # (F,), the max taken per filter

tanh is monotone, so ``tanh(max_p z_p) = max_p tanh(z_p)`` (the paper's order): one tanh per filter
instead of one per window.  A batch holds U distinct words padded to Lc characters; the characters
past a word's length are set to zero vectors (so they act as the word's end padding), and the windows
past its n + k - 1 are left out of the max (set to -inf): batch padding never wins the max.

The convolution is one GEMM over im2col windows: the padded characters (U, Lc + 2(k-1), Ec) are viewed
as (U, P, Ec, k) windows, P = Lc + k - 1, flattened to (U P, Ec k) and multiplied by W viewed as
(F, Ec k); torch's Conv1d weight layout (F, Ec, k) flattens the same way.

Backward (g = dL/df, (U, F)): the max routes dz to the one window p*(u, f) that won; ties go to the
first (lowest p) window, as ``argmax`` picks it (torch picks one of the tied windows too, but does not
promise which):

    dm      = g * (1 - f^2)                                  # (U, F)
    dz[p*]  = dm, 0 elsewhere                                # (U, P, F)
    dW      = dz^T cols,  db = sum_u dm,  dcols = dz W       # one GEMM each
    dx      = col2im(dcols)  (k shifted adds, one per window offset), cut to the real characters

Parameters (prefixes added by the model): the character embedding ``weight`` (C, Ec), shared with the
BiLSTM encoder's name, and the convolution's ``conv.weight`` (F, Ec, k) and ``conv.bias`` (F,).
The token gather and its scatter-add backward are the BiLSTM encoder's (:mod:`rnnkit.tagging.char_features`).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnkit.init import uniform_
from rnnkit.nn.dropout import dropout_backward, dropout_forward
from rnnkit.nn.embedding import embedding_backward, embedding_forward
from rnnkit.tagging.char_features import CharBatch, token_features, word_gradients


class CharCNNCache(NamedTuple):
    """What :func:`char_cnn_backward` needs from :func:`char_cnn_forward`."""

    emb: Any  # the character embedding's cache
    drop: Any  # the character dropout's cache
    chars: np.ndarray  # (U, Lc, 1) bool, real characters
    cols: np.ndarray  # (U P, Ec k) im2col windows
    best: np.ndarray  # (U, F) the window p* that won each filter's max
    feat: np.ndarray  # (U, F) tanh of the max
    gather: Any  # the token gather's cache
    mask: np.ndarray  # (T, B) bool, real tokens


def init_char_cnn(char_embedding_dim: int, filters: int, window: int, dtype: str,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``{"weight": (F, Ec, k), "bias": (F,)}`` drawn as torch.nn.Conv1d does: U(-1/sqrt(Ec k), 1/sqrt(Ec k))."""
    bound = 1.0 / np.sqrt(char_embedding_dim * window)
    dt = np.dtype(dtype)
    return {"weight": uniform_((filters, char_embedding_dim, window), bound, rng, dt),
            "bias": uniform_((filters,), bound, rng, dt)}


def char_cnn_forward(batch: CharBatch, mask: np.ndarray, weight: np.ndarray, conv_weight: np.ndarray,
                     conv_bias: np.ndarray, dropout: float = 0.0, rng: np.random.Generator | None = None,
                     training: bool = False) -> tuple[np.ndarray, CharCNNCache]:
    """Token features ``(T, B, F)`` from the batch's distinct words; zero at padded tokens.

    ``weight`` is the character embedding (C, Ec), ``conv_weight`` (F, Ec, k), ``conv_bias`` (F,);
    ``dropout`` is applied to the character embeddings when ``training`` (drawn from ``rng``).
    """
    F, Ec, k = conv_weight.shape
    if weight.shape[1] != Ec:
        raise ValueError(f"Expected conv_weight of shape (F, Ec, k) with Ec = {weight.shape[1]} (the character "
                         f"embedding's), got {conv_weight.shape}")
    ids = batch.char_ids.T  # (U, Lc)
    U, Lc = ids.shape
    x, c_emb = embedding_forward(ids, weight)  # (U, Lc, Ec)
    chars = (np.arange(Lc)[None, :] < batch.lengths[:, None])[:, :, None]  # (U, Lc, 1)
    x = x * chars  # a word's characters past its length are its end padding: zero vectors
    x, c_drop = dropout_forward(x, dropout, rng, training)  # zeros stay zeros
    P = Lc + k - 1  # windows of the longest word
    padded = np.zeros((U, Lc + 2 * (k - 1), Ec), dtype=x.dtype)  # (U, Lc + 2(k-1), Ec)
    padded[:, k - 1 : k - 1 + Lc] = x
    windows = np.lib.stride_tricks.sliding_window_view(padded, k, axis=1)  # (U, P, Ec, k), a view
    cols = windows.reshape(U * P, Ec * k)  # (U P, Ec k), copied once
    z = (cols @ conv_weight.reshape(F, Ec * k).T).reshape(U, P, F) + conv_bias  # (U, P, F)
    past = np.arange(P)[None, :] >= (batch.lengths + k - 1)[:, None]  # (U, P) windows after the word's last
    z[past] = -np.inf  # never the max
    best = z.argmax(axis=1)  # (U, F) first window on a tie
    feat = np.tanh(np.take_along_axis(z, best[:, None, :], axis=1)[:, 0])  # (U, F)
    tokens, c_gather = token_features(batch, feat, mask)  # (T, B, F)
    return tokens, CharCNNCache(c_emb, c_drop, chars, cols, best, feat, c_gather, mask)


def char_cnn_backward(dtokens: np.ndarray, cache: CharCNNCache,
                      conv_weight: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients ``{"weight": dC, "conv.weight": dW, "conv.bias": db}`` given dL/d(token features) (T, B, F)."""
    F, Ec, k = conv_weight.shape
    U = cache.best.shape[0]
    Lc = cache.chars.shape[1]
    P = Lc + k - 1
    dm = word_gradients(dtokens, cache.mask, cache.gather) * (1.0 - cache.feat * cache.feat)  # (U, F) through tanh
    dz = np.zeros((U, P, F), dtype=dm.dtype)  # (U, P, F)
    np.put_along_axis(dz, cache.best[:, None, :], dm[:, None, :], axis=1)  # only the winning window
    dz = dz.reshape(U * P, F)  # (U P, F)
    dW = (dz.T @ cache.cols).reshape(F, Ec, k)  # (F, Ec, k)
    db = dm.sum(axis=0)  # (F,)
    dwin = (dz @ conv_weight.reshape(F, Ec * k)).reshape(U, P, Ec, k)  # (U, P, Ec, k)
    dpadded = np.zeros((U, Lc + 2 * (k - 1), Ec), dtype=dm.dtype)  # (U, Lc + 2(k-1), Ec)
    for j in range(k):  # col2im: window p holds padded position p + j at its offset j
        dpadded[:, j : j + P] += dwin[:, :, :, j]
    dx = dpadded[:, k - 1 : k - 1 + Lc]  # (U, Lc, Ec) the pads have no parameters
    dx, _ = dropout_backward(np.ascontiguousarray(dx), cache.drop)
    dx = dx * cache.chars  # characters past a word's length were set to zero: no gradient
    _, gemb = embedding_backward(dx, cache.emb)
    return {"weight": gemb["weight"], "conv.weight": dW, "conv.bias": db}
