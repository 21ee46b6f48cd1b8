"""Attention pooling (rnnkit.nn.attention_pool): finite differences in float64 with masking, PyTorch parity of the
pooled vector, the weights and every gradient, padding ignored, float32 kept, bad input refused."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad
from rnnkit.nn.attention_pool import attention_pool_backward, attention_pool_forward, init_attention_pool

T, B, D, A = 6, 4, 5, 3
LENGTHS = np.array([6, 2, 5, 1])
MASK = np.arange(T)[:, None] < LENGTHS[None, :]  # (T, B)


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    params = init_attention_pool(D, A, rng, np.float64)
    for v in params.values():  # larger than the init's scale, so that the tanh and the softmax are far from linear
        v[...] = rng.uniform(-1.0, 1.0, v.shape)
    h = rng.standard_normal((T, B, D)) * MASK[:, :, None]  # a recurrent layer's output: 0 at padded steps
    ds = rng.standard_normal((B, D))  # random upstream gradient: all-ones would hide transposes
    return params, h, ds


def _assert_close(name, analytic, numeric, tol=1e-8):
    err = np.max(np.abs(analytic - numeric) / np.maximum(1.0, np.abs(numeric)))
    assert err < tol, f"{name}: max relative difference {err:.3e}"


def test_backward_matches_finite_differences():
    params, h, ds = _setup()
    assert all(np.all(v != 0) for v in params.values())
    s, a, cache = attention_pool_forward(h, MASK, params["weight"], params["bias"], params["context"])
    dh, grads = attention_pool_backward(ds, cache)

    def f():
        out, _, _ = attention_pool_forward(h, MASK, params["weight"], params["bias"], params["context"])
        return float(np.sum(out * ds))

    for name, p in params.items():
        _assert_close(name, grads[name], numeric_grad(f, p))
    _assert_close("h", dh, numeric_grad(f, h))
    assert np.all(dh[~MASK] == 0.0), "padded steps got a gradient"
    assert np.abs(dh[MASK]).min() > 0, "a real step got no gradient"


def test_weights_sum_to_one_over_real_steps_and_padding_is_ignored():
    params, h, _ = _setup(1)
    s, a, _ = attention_pool_forward(h, MASK, params["weight"], params["bias"], params["context"])
    np.testing.assert_allclose(a.sum(axis=0), 1.0, atol=1e-12)
    assert np.all(a[~MASK] == 0.0) and np.all(a[MASK] > 0)
    np.testing.assert_allclose(a[0, 3], 1.0)  # a one-token sentence puts all its weight there
    h2 = h.copy()
    h2[~MASK] = 7.0  # whatever the padded steps hold
    s2, a2, _ = attention_pool_forward(h2, MASK, params["weight"], params["bias"], params["context"])
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(s, s2)
    # and the weights are not uniform: the pooling is no mean in disguise
    assert np.ptp(a[:, 0]) > 0.01


def test_matches_torch():
    """Output, weights and every gradient equal torch autograd's (float64) for the same equations written in torch."""
    torch = pytest.importorskip("torch")
    params, h, ds = _setup(2)
    s, a, cache = attention_pool_forward(h, MASK, params["weight"], params["bias"], params["context"])
    dh, grads = attention_pool_backward(ds, cache)

    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    th = torch.tensor(h, requires_grad=True)
    u = torch.tanh(torch.nn.functional.linear(th, P["weight"], P["bias"]))  # (T, B, A)
    e = (u @ P["context"]).masked_fill(~torch.tensor(MASK), -torch.inf)  # (T, B)
    ta = torch.softmax(e, dim=0)
    ts = (ta[:, :, None] * th).sum(0)  # (B, D)
    (ts * torch.tensor(ds)).sum().backward()
    np.testing.assert_allclose(s, ts.detach().numpy(), atol=1e-12, err_msg="pooled vector")
    np.testing.assert_allclose(a, ta.detach().numpy(), atol=1e-12, err_msg="weights")
    np.testing.assert_allclose(dh, th.grad.numpy(), atol=1e-12, err_msg="dh")
    for k in params:
        np.testing.assert_allclose(grads[k], P[k].grad.numpy(), atol=1e-12, err_msg=k)


def test_float32_stays_float32_and_init_is_seeded():
    p1 = init_attention_pool(D, A, np.random.default_rng(5))
    p2 = init_attention_pool(D, A, np.random.default_rng(5))
    p3 = init_attention_pool(D, A, np.random.default_rng(6))
    assert all(np.array_equal(p1[k], p2[k]) for k in p1)
    assert not np.array_equal(p1["weight"], p3["weight"])
    assert {k: v.shape for k, v in p1.items()} == {"weight": (A, D), "bias": (A,), "context": (A,)}
    assert np.abs(p1["weight"]).max() <= 1 / np.sqrt(D) and np.abs(p1["context"]).max() <= 1 / np.sqrt(A)
    h = np.random.default_rng(0).standard_normal((T, B, D)).astype(np.float32)
    s, a, cache = attention_pool_forward(h, MASK, p1["weight"], p1["bias"], p1["context"])
    dh, grads = attention_pool_backward(np.ones((B, D), np.float32), cache)
    assert s.dtype == a.dtype == dh.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("change,message", [
    (lambda h, m, p: (h.astype(np.float32), m, p), "Expected h of dtype float64"),
    (lambda h, m, p: (h, m.astype(int), p), "Expected mask of shape (T, B) = (6, 4) and dtype bool"),
    (lambda h, m, p: (h, np.where(np.arange(B) == 2, False, m), p), "none in sequence 2"),
    (lambda h, m, p: (h[..., :3], m, p), "Expected weight of shape (A, D=3)"),
    (lambda h, m, p: (h, m, {**p, "context": p["context"][:2]}), "Expected context of shape (A,) = (3,)"),
])
def test_bad_input_is_one_clear_error(change, message):
    params, h, _ = _setup()
    h, mask, params = change(h, MASK, params)
    with pytest.raises((ValueError, TypeError)) as info:
        attention_pool_forward(h, mask, params["weight"], params["bias"], params["context"])
    assert message in str(info.value)
