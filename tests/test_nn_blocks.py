"""Embedding, Linear (and weight tying), softmax and cross-entropy.

Layer 1: central finite differences in float64 with random non-zero parameters and a random
upstream gradient.  Layer 2: parity with PyTorch in float64 (torch tests skip without torch).
Plus stability at |logits| = 1e4, dtype preservation and error messages.  Dropout: test_nn_dropout.py.
"""
from __future__ import annotations

import numpy as np
import pytest
from nn_check import assert_close, torch_fixture  # noqa: F401 (a fixture)

from rnnkit.gradcheck import numeric_grad as numgrad
from rnnkit.nn import (
    Embedding,
    Linear,
    add_tied_grad,
    dropout_forward,
    embedding_backward,
    embedding_forward,
    linear_backward,
    linear_forward,
    log_softmax,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
    tie_weights,
    variational_dropout_forward,
)


# ---------------------------------------------------------------- finite differences

@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_gradcheck_repeated_ids(padding_idx):
    rng = np.random.default_rng(0)
    V, E = 7, 4
    weight = rng.standard_normal((V, E))  # (V, E)
    ids = rng.integers(0, V, size=(6, 3))  # (T, B)
    ids[0, 0] = ids[1, 2] = ids[4, 1] = 2  # repeats, including the padding id
    dout = rng.standard_normal((6, 3, E))  # random upstream gradient

    def loss():
        return float(np.sum(embedding_forward(ids, weight, padding_idx)[0] * dout))

    out, cache = embedding_forward(ids, weight, padding_idx)
    dinput, grads = embedding_backward(dout, cache)
    assert dinput is None
    expected = numgrad(loss, weight)
    if padding_idx is not None:
        expected[padding_idx] = 0  # torch semantics: the padding row never learns
        assert np.all(grads["weight"][padding_idx] == 0)
    assert_close("embedding dW", grads["weight"], expected)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck_3d(bias):
    rng = np.random.default_rng(1)
    T, B, D, O = 5, 3, 4, 6
    x = rng.standard_normal((T, B, D))
    weight = rng.standard_normal((O, D))
    b = rng.standard_normal(O) if bias else None
    dout = rng.standard_normal((T, B, O))

    def loss():
        return float(np.sum(linear_forward(x, weight, b)[0] * dout))

    out, cache = linear_forward(x, weight, b)
    assert out.shape == (T, B, O)
    dx, grads = linear_backward(dout, cache)
    assert_close("linear dx", dx, numgrad(loss, x))
    assert_close("linear dW", grads["weight"], numgrad(loss, weight))
    if bias:
        assert_close("linear db", grads["bias"], numgrad(loss, b))
    else:
        assert "bias" not in grads


def _tied_model_loss(params, ids, targets, mask, hidden_scale):
    """ids -> embedding -> tanh(scale * .) -> tied output layer -> masked cross-entropy."""
    emb, emb_cache = embedding_forward(ids, params["encoder.weight"])  # (T, B, E)
    h = np.tanh(hidden_scale * emb)  # (T, B, E)
    logits, dec_cache = linear_forward(h, params["encoder.weight"], params["decoder.bias"])  # (T, B, V)
    loss, ce_cache = softmax_cross_entropy(logits, targets, mask)
    return loss, (emb_cache, h, dec_cache, ce_cache)


def test_tied_embedding_and_output_gradcheck():
    rng = np.random.default_rng(2)
    T, B, V, E = 5, 3, 7, 4
    params = {"encoder.weight": rng.standard_normal((V, E)), "decoder.bias": rng.standard_normal(V)}
    ids = rng.integers(0, V, size=(T, B))
    targets = rng.integers(0, V, size=(T, B))
    mask = rng.random((T, B)) < 0.7
    mask[0, 0] = True
    hidden_scale = rng.standard_normal((E,))
    dloss = 0.37  # a non-unit upstream gradient on the scalar loss

    def loss():
        return dloss * _tied_model_loss(params, ids, targets, mask, hidden_scale)[0]

    _, (emb_cache, h, dec_cache, ce_cache) = _tied_model_loss(params, ids, targets, mask, hidden_scale)
    dlogits = softmax_cross_entropy_backward(dloss, ce_cache)
    dh, dec_grads = linear_backward(dlogits, dec_cache)
    demb = dh * (1 - h**2) * hidden_scale
    _, emb_grads = embedding_backward(demb, emb_cache)
    grads = {"decoder.bias": dec_grads["bias"]}
    add_tied_grad(grads, "encoder.weight", emb_grads["weight"])
    add_tied_grad(grads, "encoder.weight", dec_grads["weight"])
    assert_close("tied encoder.weight", grads["encoder.weight"], numgrad(loss, params["encoder.weight"]))
    assert_close("decoder.bias", grads["decoder.bias"], numgrad(loss, params["decoder.bias"]))


def test_tied_grad_with_a_sparse_embedding_gradient():
    """A sparse embedding's RowSparseGrad tied with the output layer's dense gradient: the same sum as dense,
    in either order (it used to fail with a TypeError from inside add_tied_grad)."""
    rng = np.random.default_rng(5)
    emb = Embedding(6, 3, rng, dtype=np.float64, sparse=True)
    ids = np.array([[1, 4], [4, 0]])
    _, cache = emb.forward(ids)
    _, sparse = emb.backward(rng.standard_normal((2, 2, 3)), cache)
    dense_out = rng.standard_normal((6, 3))
    kept = dense_out.copy()
    want = sparse["weight"].to_dense() + dense_out
    for first, second in ((sparse["weight"], dense_out), (dense_out, sparse["weight"])):
        grads = {}
        add_tied_grad(grads, "w", first)
        add_tied_grad(grads, "w", second)
        assert isinstance(grads["w"], np.ndarray)
        assert_close("sparse + dense tied gradient", grads["w"], want, 1e-15)
    assert np.array_equal(dense_out, kept), "the caller's array was written"


def test_tie_weights_shares_the_array_object():
    rng = np.random.default_rng(3)
    emb = Embedding(11, 5, rng)
    out = Linear(5, 11, rng)
    tie_weights(out, emb)
    assert out.params["weight"] is emb.params["weight"]
    emb.params["weight"] -= 1.0  # an in-place update reaches the output layer
    y, _ = out.forward(np.ones((2, 5), dtype=np.float32))
    assert_close("tied forward", y, np.ones((2, 5)) @ emb.params["weight"].T + out.params["bias"], 1e-5)
    with pytest.raises(ValueError, match=r"\(11, 6\)"):
        tie_weights(Linear(6, 11, rng), emb)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(5, 3, 6), (8, 6)], ids=["TBV", "NV"])
def test_cross_entropy_gradcheck_with_mask(reduction, shape):
    rng = np.random.default_rng(4)
    logits = 3 * rng.standard_normal(shape)
    targets = rng.integers(0, shape[-1], size=shape[:-1])
    mask = (rng.random(shape[:-1]) < 0.6).astype(np.int64)  # 0/1 ints, not bool
    mask.flat[0] = 1
    targets.flat[1] = -1
    mask.flat[1] = 0  # a masked position may hold an out-of-range (padding) target
    dloss = rng.uniform(0.5, 2.0)

    def loss():
        return dloss * softmax_cross_entropy(logits, targets, mask, reduction)[0]

    _, cache = softmax_cross_entropy(logits, targets, mask, reduction)
    kept = softmax_cross_entropy_backward(dloss, cache, overwrite=False)
    dlogits = softmax_cross_entropy_backward(dloss, cache)
    assert_close("dlogits", dlogits, numgrad(loss, logits))
    assert_close("dlogits overwrite=False vs True", kept, dlogits, 0.0)
    assert np.all(dlogits[mask == 0] == 0), "masked tokens must get zero gradient"
    with pytest.raises(ValueError, match="spent"):
        softmax_cross_entropy_backward(dloss, cache)


def test_cross_entropy_all_masked_is_zero():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((4, 2, 5))
    loss, cache = softmax_cross_entropy(logits, np.zeros((4, 2), dtype=np.int64), np.zeros((4, 2), dtype=bool))
    assert loss == 0.0
    assert np.all(softmax_cross_entropy_backward(1.0, cache) == 0)


# ---------------------------------------------------------------- parity with torch (float64)

def test_log_softmax_and_softmax_match_torch(torch):
    rng = np.random.default_rng(6)
    x = 5 * rng.standard_normal((4, 3, 9))
    for axis in (-1, 0, 1):
        expected = torch.nn.functional.log_softmax(torch.from_numpy(x), dim=axis).numpy()
        assert_close(f"log_softmax axis={axis}", log_softmax(x, axis=axis), expected, 1e-12)
        assert_close(f"softmax axis={axis}", softmax(x, axis=axis), np.exp(expected), 1e-12)


def test_log_softmax_at_is_log_softmax_at_the_targets_bit_for_bit():
    from rnnkit.nn.softmax import log_softmax_at

    rng = np.random.default_rng(8)
    for dtype in (np.float32, np.float64):
        z = (30 * rng.standard_normal((50, 997))).astype(dtype)
        t = rng.integers(0, 997, 50)
        got = log_softmax_at(z.copy(), t)
        assert got.dtype == dtype and np.array_equal(got, log_softmax(z)[np.arange(50), t])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_matches_torch_with_mask(torch, reduction):
    rng = np.random.default_rng(7)
    T, B, V = 6, 4, 11
    logits = 4 * rng.standard_normal((T, B, V))
    targets = rng.integers(0, V, size=(T, B))
    mask = rng.random((T, B)) < 0.7
    dloss = 1.7

    loss, cache = softmax_cross_entropy(logits, targets, mask, reduction)
    dlogits = softmax_cross_entropy_backward(dloss, cache)

    zt = torch.from_numpy(logits).requires_grad_(True)
    per_token = torch.nn.functional.cross_entropy(zt.reshape(-1, V), torch.from_numpy(targets).reshape(-1),
                                                  reduction="none")
    m = torch.from_numpy(mask.reshape(-1).astype(np.float64))
    tloss = (per_token * m).sum()
    if reduction == "mean":
        tloss = tloss / m.sum()
    (tloss * dloss).backward()
    assert_close("loss", loss, tloss.item(), 1e-10)
    assert_close("dlogits", dlogits, zt.grad.numpy(), 1e-10)


@pytest.mark.parametrize("padding_idx", [None, 3])
def test_embedding_backward_matches_torch(torch, padding_idx):
    rng = np.random.default_rng(8)
    V, E = 9, 5
    emb = Embedding(V, E, rng, padding_idx=padding_idx, dtype=np.float64)
    ids = np.array([[1, 3, 3], [8, 1, 0], [3, 3, 1], [5, 1, 7]])  # heavy repeats
    dout = rng.standard_normal((4, 3, E))
    out, cache = emb.forward(ids)
    _, grads = emb.backward(dout, cache)

    module = torch.nn.Embedding(V, E, padding_idx=padding_idx).double()
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(emb.params["weight"]))
    tout = module(torch.from_numpy(ids))
    tout.backward(torch.from_numpy(dout))
    assert_close("embedding out", out, tout.detach().numpy(), 0.0)
    assert_close("embedding dW", grads["weight"], module.weight.grad.numpy(), 1e-12)


def test_linear_matches_torch(torch):
    rng = np.random.default_rng(9)
    lin = Linear(4, 6, rng, dtype=np.float64)
    x = rng.standard_normal((5, 3, 4))
    dout = rng.standard_normal((5, 3, 6))
    out, cache = lin.forward(x)
    dx, grads = lin.backward(dout, cache)
    xt = torch.from_numpy(x).requires_grad_(True)
    wt = torch.from_numpy(lin.params["weight"]).requires_grad_(True)
    bt = torch.from_numpy(lin.params["bias"]).requires_grad_(True)
    tout = torch.nn.functional.linear(xt, wt, bt)
    tout.backward(torch.from_numpy(dout))
    assert_close("linear out", out, tout.detach().numpy(), 1e-12)
    assert_close("linear dx", dx, xt.grad.numpy(), 1e-12)
    assert_close("linear dW", grads["weight"], wt.grad.numpy(), 1e-12)
    assert_close("linear db", grads["bias"], bt.grad.numpy(), 1e-12)


# ---------------------------------------------------------------- stability and dtypes

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_stable_at_1e4_and_keeps_dtype(dtype):
    rng = np.random.default_rng(10)
    x = (1e4 * rng.standard_normal((6, 2, 50))).astype(dtype)
    x[0, 0, :] = 1e4  # a row of equal huge logits: exactly uniform
    lp = log_softmax(x)
    assert lp.dtype == dtype
    assert np.all(np.isfinite(lp))
    assert_close("uniform row", lp[0, 0], np.full(50, -np.log(50)), 1e-5)
    assert_close("sum of probs", np.exp(lp.astype(np.float64)).sum(-1), np.ones((6, 2)), 1e-5)
    assert softmax(x).dtype == dtype
    # reference: the max logit has log-prob -log sum exp(x - max), computed in float64
    x64 = x.astype(np.float64)
    ref = x64 - x64.max(-1, keepdims=True)
    ref -= np.log(np.exp(ref).sum(-1, keepdims=True))
    assert_close("log_softmax vs float64", lp, ref, 1e-2 if dtype == np.float32 else 1e-9)

    targets = rng.integers(0, 50, size=(6, 2))
    loss, cache = softmax_cross_entropy(x, targets)
    dz = softmax_cross_entropy_backward(1.0, cache)
    assert np.isfinite(loss)
    assert dz.dtype == dtype
    assert np.all(np.isfinite(dz))
    expected_loss = -ref[np.arange(6)[:, None], np.arange(2)[None, :], targets].mean()
    assert_close("loss at 1e4", loss, expected_loss, 1e-6 * abs(expected_loss) + 1e-6)


# ---------------------------------------------------------------- errors

def test_errors_name_the_problem():
    rng = np.random.default_rng(13)
    weight = rng.standard_normal((5, 3))
    with pytest.raises(ValueError, match="got id 7"):
        embedding_forward(np.array([[1, 7], [0, 2]]), weight)
    with pytest.raises(ValueError, match="got id -1"):
        embedding_forward(np.array([0, -1]), weight)
    with pytest.raises(TypeError, match="integer"):
        embedding_forward(np.array([0.0, 1.0]), weight)
    with pytest.raises(ValueError, match=r"Expected x of shape \(\.\.\., 3\), got \(2, 4\)"):
        linear_forward(np.zeros((2, 4)), weight)
    with pytest.raises(TypeError, match="dtype"):
        linear_forward(np.zeros((2, 3), dtype=np.float32), weight)
    with pytest.raises(ValueError, match=r"targets in \[0, 4\).*got 4"):
        softmax_cross_entropy(np.zeros((2, 4)), np.array([1, 4]))
    with pytest.raises(ValueError, match=r"Expected targets of shape \(2,\)"):
        softmax_cross_entropy(np.zeros((2, 4)), np.array([[1, 2]]))
    with pytest.raises(ValueError, match="reduction"):
        softmax_cross_entropy(np.zeros((2, 4)), np.array([1, 2]), reduction="avg")
    x = np.zeros((3, 2, 4))
    for p in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"p in \[0, 1\)"):
            dropout_forward(x, p, rng)
    with pytest.raises(ValueError, match=r"\(T, B, D\)"):
        variational_dropout_forward(np.zeros((3, 4)), 0.5, rng)
    with pytest.raises(TypeError, match="Generator"):
        dropout_forward(x, 0.5, None)


def test_class_initialisation_follows_torch():
    rng = np.random.default_rng(14)
    emb = Embedding(300, 200, rng, padding_idx=0)
    w = emb.params["weight"]
    assert w.dtype == np.float32
    assert np.all(w[0] == 0)
    assert abs(w[1:].mean()) < 0.02
    assert abs(w[1:].std() - 1.0) < 0.02  # N(0, 1) like torch.nn.Embedding
    lin = Linear(64, 30, rng)
    bound = 1 / np.sqrt(64)
    for name, arr in lin.params.items():
        assert arr.dtype == np.float32, name
        assert np.abs(arr).max() <= bound, name
        assert np.abs(arr).max() > 0.8 * bound, name
