"""Character-CNN word features: finite differences, PyTorch parity, masking of batch padding, ties."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad
from rnnkit.tagging.char_cnn import char_cnn_backward, char_cnn_forward, init_char_cnn
from rnnkit.tagging.char_features import char_matrix, gather_char_batch

C, EC, F = 7, 3, 4
CHARS = {c: i + 1 for i, c in enumerate("abcdEf")}  # id 0: the padding id of char_matrix, also a real row
WORDS = ["ab", "bca", "c", "dddd", "Ea", "abcdefab"]  # unequal lengths, a 1-character word
LENGTHS = np.array([6, 3, 5])  # (B,) tokens per sentence


def _batch(rng, words=WORDS, T=6, B=3, max_chars=8, lengths=LENGTHS):
    mask = np.arange(T)[:, None] < lengths[None, :]  # (T, B)
    table, char_lengths = char_matrix(words, CHARS, 0, max_chars)
    return gather_char_batch(rng.integers(0, len(words), (T, B)), mask, table, char_lengths), mask


def _params(rng, window, dtype=np.float64):
    emb = rng.uniform(-1, 1, (C, EC)).astype(dtype)  # (C, Ec)
    conv = init_char_cnn(EC, F, window, str(np.dtype(dtype)), rng)
    conv = {k: v * 3 for k, v in conv.items()}  # larger than torch's init: tanh away from linear
    assert all(np.all(a != 0) for a in (emb, conv["weight"], conv["bias"]))
    return emb, conv


@pytest.mark.parametrize("window", [1, 3, 4])
@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_gradients_match_finite_differences(window, dropout):
    rng = np.random.default_rng(window)
    batch, mask = _batch(rng)
    emb, conv = _params(rng, window)
    G = rng.standard_normal((6, 3, F))  # random upstream gradient

    def f():
        out, _ = char_cnn_forward(batch, mask, emb, conv["weight"], conv["bias"], dropout,
                                  np.random.default_rng(9), training=True)
        return float((out * G).sum())

    out, cache = char_cnn_forward(batch, mask, emb, conv["weight"], conv["bias"], dropout,
                                  np.random.default_rng(9), training=True)
    assert out.shape == (6, 3, F) and np.all(out[~mask] == 0)
    grads = char_cnn_backward(G, cache, conv["weight"])
    for name, arr, g in (("weight", emb, grads["weight"]), ("conv.weight", conv["weight"], grads["conv.weight"]),
                         ("conv.bias", conv["bias"], grads["conv.bias"])):
        num = numeric_grad(f, arr)
        assert g.shape == arr.shape
        err = np.max(np.abs(num - g))
        assert err < 1e-8, f"{name} (window {window}, dropout {dropout}): max |numeric - analytic| = {err:.3e}"
        assert np.max(np.abs(g)) > 1e-3, f"{name}: gradient all but zero, a weak check"


@pytest.mark.parametrize("window", [1, 3, 5])
def test_torch_parity_outputs_and_every_gradient(window):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10 + window)
    batch, mask = _batch(rng)
    emb, conv = _params(rng, window)
    G = rng.standard_normal((6, 3, F))
    out, cache = char_cnn_forward(batch, mask, emb, conv["weight"], conv["bias"])
    grads = char_cnn_backward(G, cache, conv["weight"])

    embedding = torch.nn.Embedding(C, EC).double()
    conv1d = torch.nn.Conv1d(EC, F, window, padding=window - 1).double()  # "full": k - 1 zeros each side
    with torch.no_grad():
        embedding.weight.copy_(torch.tensor(emb))
        conv1d.weight.copy_(torch.tensor(conv["weight"]))
        conv1d.bias.copy_(torch.tensor(conv["bias"]))
    ids = torch.tensor(batch.char_ids.T)  # (U, Lc)
    n = torch.tensor(batch.lengths)
    real = torch.arange(ids.shape[1])[None, :] < n[:, None]  # (U, Lc)
    x = embedding(ids) * real[:, :, None]  # (U, Lc, Ec) characters past a word's end are zero padding
    z = conv1d(x.transpose(1, 2))  # (U, F, Lc + k - 1)
    past = torch.arange(z.shape[2])[None, :] >= (n + window - 1)[:, None]  # (U, P)
    feat = torch.tanh(z.masked_fill(past[:, None, :], float("-inf")).max(dim=2).values)  # (U, F)
    tokens = feat[torch.tensor(batch.index)] * torch.tensor(mask)[:, :, None]  # (T, B, F)
    (tokens * torch.tensor(G)).sum().backward()

    def close(name, a, b):
        err = np.max(np.abs(a - b.detach().numpy()))
        assert err < 1e-6, f"{name}: max |numpy - torch| = {err:.3e}"

    close("features", out, tokens)
    close("char_embedding.weight", grads["weight"], embedding.weight.grad)
    close("conv.weight", grads["conv.weight"], conv1d.weight.grad)
    close("conv.bias", grads["conv.bias"], conv1d.bias.grad)


def test_batch_padding_never_wins_the_max():
    """A word's features are the same alone (no batch padding) as next to a longer word, even when every
    real window scores below the bias, which a window of padding alone would score (so it would win); and the
    padding id's embedding row, read only as padding here, gets no gradient."""
    rng = np.random.default_rng(3)
    emb = np.abs(rng.uniform(0.5, 1, (C, EC)))  # positive characters ...
    weight = -np.abs(rng.uniform(0.5, 1, (F, EC, 3)))  # ... negative filters: every real window < bias
    bias = rng.uniform(-0.5, 0.5, F)
    together, mask = _batch(rng, ["c", "abcdefab"], T=2, B=1, lengths=np.array([2]))
    together = together._replace(index=np.array([[0], [1]]))
    out, cache = char_cnn_forward(together, mask, emb, weight, bias)
    alone, _ = _batch(rng, ["c"], T=1, B=1, lengths=np.array([1]))
    ref, _ = char_cnn_forward(alone._replace(index=np.zeros((1, 1), np.int64)), np.ones((1, 1), bool), emb,
                              weight, bias)
    np.testing.assert_allclose(out[0, 0], ref[0, 0], rtol=0, atol=1e-12)
    assert np.all(out[0, 0] < np.tanh(bias)), "a window past the word scored and won"
    grads = char_cnn_backward(rng.standard_normal((2, 1, F)), cache, weight)
    assert np.all(grads["weight"][0] == 0), "the padding id's row got gradient"


def test_a_tie_routes_the_gradient_to_the_first_window():
    """With window 1, "aa" scores the same in both windows: only the first gets the gradient, so the
    gradients equal those of "a" alone (not twice them)."""
    rng = np.random.default_rng(4)
    emb, conv = _params(rng, 1)
    G = rng.standard_normal((1, 1, F))
    found = []
    for word in ("aa", "a"):
        batch, mask = _batch(rng, [word], T=1, B=1, lengths=np.array([1]))
        out, cache = char_cnn_forward(batch._replace(index=np.zeros((1, 1), np.int64)), mask, emb,
                                      conv["weight"], conv["bias"])
        assert np.all(cache.best == 0)
        found.append((out, char_cnn_backward(G, cache, conv["weight"])))
    (out2, g2), (out1, g1) = found
    np.testing.assert_allclose(out2, out1, rtol=0, atol=1e-15)
    for name in g1:
        np.testing.assert_allclose(g2[name], g1[name], rtol=0, atol=1e-15, err_msg=name)


def test_mismatched_embedding_width_is_refused():
    rng = np.random.default_rng(0)
    batch, mask = _batch(rng)
    emb, conv = _params(rng, 3)
    with pytest.raises(ValueError, match=r"Expected conv_weight of shape \(F, Ec, k\) with Ec = 3"):
        char_cnn_forward(batch, mask, emb, conv["weight"][:, :2], conv["bias"])
