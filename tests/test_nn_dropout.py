"""Dropout and variational (time-shared mask) dropout: the fraction dropped and the mean kept, one mask for
every time step, the same mask for the same seed and none drawn when nothing is dropped, and the backward pass
by float64 finite differences and against PyTorch with the same mask (skips without torch)."""
from __future__ import annotations

import numpy as np
import pytest
from nn_check import assert_close, torch_fixture  # noqa: F401 (a fixture)

from rnnkit.gradcheck import numeric_grad as numgrad
from rnnkit.nn import dropout_backward, dropout_forward, variational_dropout_forward


def test_dropout_preserves_mean_and_drops_p():
    rng = np.random.default_rng(11)
    p = 0.3
    x = np.full((200, 500), 2.0, dtype=np.float32)
    out, cache = dropout_forward(x, p, rng, training=True)
    assert out.dtype == np.float32
    assert cache.mask.shape == x.shape
    n = x.size
    # 6 standard deviations of the sample mean / fraction: a correct dropout fails ~never
    assert abs(out.mean() - 2.0) < 6 * 2.0 * np.sqrt(p / (1 - p) / n)
    assert abs(np.mean(out == 0) - p) < 6 * np.sqrt(p * (1 - p) / n)
    assert np.allclose(out[out != 0], 2.0 / (1 - p))
    dout = rng.standard_normal(x.shape).astype(np.float32)
    dx, grads = dropout_backward(dout, cache)
    assert grads == {}
    assert_close("dropout dx", dx, dout * (out / x), 1e-6)


def test_variational_mask_shared_across_time():
    rng = np.random.default_rng(12)
    T, B, D = 9, 40, 60
    x = rng.standard_normal((T, B, D))
    out, cache = variational_dropout_forward(x, 0.5, rng, training=True)
    assert cache.mask.shape == (1, B, D)
    dropped = out == 0  # (T, B, D)
    assert np.all(dropped == dropped[0]), "a unit must be dropped at every time step or none"
    assert 0.4 < dropped[0].mean() < 0.6
    dout = rng.standard_normal((T, B, D))
    dx, _ = dropout_backward(dout, cache)
    assert_close("variational dx", dx, dout * cache.mask * 2.0, 0.0)


@pytest.mark.parametrize("forward", [dropout_forward, variational_dropout_forward])
def test_dropout_same_seed_same_mask_and_identity_without_rng(forward):
    x = np.ones((4, 3, 5), dtype=np.float32)
    a, _ = forward(x, 0.4, np.random.default_rng(5))
    b, _ = forward(x, 0.4, np.random.default_rng(5))
    c, _ = forward(x, 0.4, np.random.default_rng(6))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    rng = np.random.default_rng(7)
    before = rng.bit_generator.state
    for p, training in ((0.0, True), (0.4, False)):
        out, cache = forward(x, p, rng, training=training)
        assert out is x
        dout = np.ones_like(x)
        assert dropout_backward(dout, cache)[0] is dout
    assert rng.bit_generator.state == before, "identity dropout must not draw random numbers"
    assert forward(x, 0.0, None)[0] is x  # no rng needed when nothing is dropped


@pytest.mark.parametrize("forward", [dropout_forward, variational_dropout_forward])
def test_dropout_gradcheck_and_torch_parity_with_the_same_mask(torch, forward):
    """Float64 central differences with the mask fixed by the rng's seed, then torch autograd of
    x * mask / (1 - p) with rnnkit's own mask; tanh after the dropout so the upstream gradient varies."""
    rng = np.random.default_rng(15)
    T, B, D, p = 6, 3, 5, 0.4
    x = rng.standard_normal((T, B, D))
    dout = rng.standard_normal((T, B, D))  # random upstream gradient

    def loss():
        return float(np.sum(np.tanh(forward(x, p, np.random.default_rng(16))[0]) * dout))

    out, cache = forward(x, p, np.random.default_rng(16))
    assert 0 < np.mean(out == 0) < 1, "the mask must drop some units and keep others"
    dx, grads = dropout_backward(dout * (1 - np.tanh(out) ** 2), cache)
    assert grads == {}
    assert_close("dropout dx vs finite differences", dx, numgrad(loss, x))

    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    keep = torch.from_numpy(np.broadcast_to(cache.mask, x.shape).astype(np.float64))
    tout = torch.tanh(xt * keep / (1 - p))
    tout.backward(torch.from_numpy(dout))
    assert_close("dropout out vs torch", np.tanh(out), tout.detach().numpy(), 1e-14)
    assert_close("dropout dx vs torch", dx, xt.grad.numpy(), 1e-14)
