"""The tagger's character BiLSTM word features (rnnkit.tagging.char_features) on their own: every entry of the
character embedding and of the LSTM's 8 arrays against float64 central differences, and the features and every
gradient against torch (nn.Embedding, a packed bidirectional nn.LSTM, each direction's final h) on the same weights.
Words of 1 to 9 characters, a random upstream gradient at every token (padded tokens too: they must get none)."""
from __future__ import annotations

import numpy as np
import pytest
from fullfd import assert_every_entry, one_blas_thread, randomise  # noqa: F401 (a fixture)

from rnnkit.tagging.char_features import (
    char_features_backward,
    char_features_forward,
    char_matrix,
    gather_char_batch,
    make_char_lstm,
)

T, B, EC, HC = 6, 3, 3, 3
WORDS = ["ab", "bcadab", "c", "ddddabcda", "Ea", "abcdeab", "xyz"]
CHARS = {c: i + 1 for i, c in enumerate("abcdExyz")}


def _problem(seed):
    """(char batch, token mask, embedding, lstm, upstream gradient G (T, B, 2 Hc))."""
    rng = np.random.default_rng(seed)
    mask = np.arange(T)[:, None] < np.array([6, 3, 5])[None, :]
    table, lengths = char_matrix(WORDS, CHARS, 0, 9)
    batch = gather_char_batch(rng.integers(0, len(WORDS), (T, B)), mask, table, lengths)
    lstm = make_char_lstm(EC, HC, "float64", rng)
    randomise(lstm.params, rng)
    weight = rng.uniform(-1.0, 1.0, (len(CHARS) + 1, EC))
    return batch, mask, weight, lstm, rng.standard_normal((T, B, 2 * HC))


def test_char_features_gradient_matches_finite_differences_at_every_entry():
    batch, mask, weight, lstm, G = _problem(4)
    assert sorted(set(batch.lengths.tolist())) == [1, 2, 3, 6, 7, 9], batch.lengths  # short and long words

    def loss():
        return float(np.sum(char_features_forward(batch, mask, weight, lstm)[0] * G))

    _, cache = char_features_forward(batch, mask, weight, lstm)
    grads = char_features_backward(G, cache, lstm)
    assert_every_entry(loss, {"weight": weight, **lstm.params}, grads)


def test_char_features_match_pytorch():
    torch = pytest.importorskip("torch")
    batch, mask, weight, lstm, G = _problem(5)
    tokens, cache = char_features_forward(batch, mask, weight, lstm)
    grads = char_features_backward(G, cache, lstm)
    emb = torch.tensor(weight, requires_grad=True)
    mod = torch.nn.LSTM(EC, HC, 1, bidirectional=True).double()
    with torch.no_grad():
        for k, v in lstm.params.items():
            getattr(mod, k).copy_(torch.from_numpy(v))
    x = emb[torch.from_numpy(batch.char_ids)]  # (Lc, U, Ec)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.from_numpy(batch.lengths), enforce_sorted=False)
    _, (h, _) = mod(packed)
    feat = torch.cat([h[0], h[1]], dim=1)  # (U, 2 Hc)
    t_tokens = feat[torch.from_numpy(batch.index)] * torch.from_numpy(mask)[:, :, None]
    (t_tokens * torch.from_numpy(G)).sum().backward()
    np.testing.assert_allclose(tokens, t_tokens.detach().numpy(), rtol=0, atol=1e-13)
    theirs = {"weight": emb.grad, **{k: getattr(mod, k).grad for k in lstm.params}}
    assert set(grads) == set(theirs)
    for name, g in theirs.items():
        np.testing.assert_allclose(grads[name], g.numpy(), rtol=0, atol=1e-12, err_msg=name)
