"""The fused output layer and loss (LinearCrossEntropy): finite differences, agreement with the unfused
pair, the overflow/underflow fallback rows, the work buffer's stale-cache guard, and PyTorch parity."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad
from rnnkit.nn import (
    linear_backward,
    linear_forward,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
)
from rnnkit.nn.linear_softmax import LinearCrossEntropy


def _problem(rng, T=5, B=3, H=4, V=7, dtype=np.float64):
    x = rng.standard_normal((T, B, H)).astype(dtype)
    w = rng.standard_normal((V, H)).astype(dtype)
    b = rng.standard_normal(V).astype(dtype)
    targets = rng.integers(0, V, (T, B))
    mask = rng.random((T, B)) < 0.7
    mask[0] = True
    targets[~mask] = -1  # padding may hold anything
    return x, w, b, targets, mask


def _unfused(x, w, b, targets, mask, reduction, dloss):
    logits, c_lin = linear_forward(x, w, b)
    loss, c_ce = softmax_cross_entropy(logits, targets, mask, reduction=reduction)
    dx, grads = linear_backward(softmax_cross_entropy_backward(dloss, c_ce), c_lin)
    return loss, dx, grads


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_finite_differences_float64(reduction):
    rng = np.random.default_rng(0)
    x, w, b, targets, mask = _problem(rng)
    dloss = float(rng.uniform(0.5, 2.0))  # a random upstream gradient
    layer = LinearCrossEntropy()
    _, cache = layer.forward(x, w, b, targets, mask, reduction)
    dx, grads = layer.backward(dloss, cache)
    dx = dx.reshape(x.shape)

    def f():
        return dloss * layer.forward(x, w, b, targets, mask, reduction)[0]

    for name, arr, analytic in (("x", x, dx), ("weight", w, grads["weight"]), ("bias", b, grads["bias"])):
        numeric = numeric_grad(f, arr)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=name)
    # padded positions get no gradient at all
    assert np.all(dx[~mask] == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_linear_then_cross_entropy(dtype):
    rng = np.random.default_rng(1)
    x, w, b, targets, mask = _problem(rng, T=6, B=4, H=8, V=50, dtype=dtype)
    loss0, dx0, g0 = _unfused(x, w, b, targets, mask, "sum", 0.3)
    layer = LinearCrossEntropy()
    loss, cache = layer.forward(x, w, b, targets, mask)
    dx, g = layer.backward(0.3, cache)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert loss == pytest.approx(loss0, rel=tol)
    assert dx.dtype == g["weight"].dtype == g["bias"].dtype == dtype
    np.testing.assert_allclose(dx.reshape(x.shape), dx0, rtol=tol, atol=tol)
    np.testing.assert_allclose(g["weight"], g0["weight"], rtol=tol, atol=tol)
    np.testing.assert_allclose(g["bias"], g0["bias"], rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_overflowing_and_underflowing_rows_fall_back_to_the_shifted_exponent(dtype):
    """Rows whose logits reach 1e3 (exp overflows) or all sit near -1e3 (exp underflows to 0) are
    recomputed with the row maximum subtracted; they must match the always-shifted reference."""
    rng = np.random.default_rng(2)
    N, H, V = 6, 3, 20
    x = rng.standard_normal((N, H)).astype(dtype)
    w = rng.standard_normal((V, H)).astype(dtype)
    b = np.zeros(V, dtype)
    x[1] *= 1e3 / np.abs(x[1] @ w.T).max()  # |z| up to 1e3 in row 1: exp overflows
    b_shift = np.zeros(V, dtype)
    targets = rng.integers(0, V, N)
    layer = LinearCrossEntropy()
    for bias in (b, b_shift - 1e4):  # the second: every logit about -1e4, all exps underflow
        loss0, dx0, g0 = _unfused(x, w, bias, targets, None, "sum", 1.0)
        loss, cache = layer.forward(x, w, bias, targets)
        dx, g = layer.backward(1.0, cache)
        assert np.isfinite(loss)
        rtol = 1e-4 if dtype == np.float32 else 1e-10
        assert loss == pytest.approx(loss0, rel=rtol)
        np.testing.assert_allclose(dx, dx0, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(g["weight"], g0["weight"], rtol=rtol, atol=rtol)
        np.testing.assert_allclose(g["bias"], g0["bias"], rtol=rtol, atol=rtol)


def test_a_row_sum_that_overflows_falls_back_without_a_warning():
    """float32 logits of 87-88: each exp is finite, their sum is not; the row is recomputed, and numpy's
    "overflow encountered in reduce" used to be printed all the same."""
    V = 50
    b = np.full(V, 87.0, np.float32)
    b[3] = 88.0
    x, w = np.ones((1, 2), np.float32), np.zeros((V, 2), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, _ = LinearCrossEntropy().forward(x, w, b, np.array([3]))
    want = np.log(np.exp(b.astype(np.float64) - 88.0).sum())  # -log softmax at the target, 88 the max
    assert loss == pytest.approx(want, rel=1e-6)


def test_nan_input_gives_a_nan_loss_not_an_error():
    rng = np.random.default_rng(3)
    x, w, b, targets, mask = _problem(rng, dtype=np.float32)
    x[0, 1, 0] = np.nan
    loss, _ = LinearCrossEntropy().forward(x, w, b, targets, mask)
    assert np.isnan(loss)


def test_stale_or_spent_cache_is_refused():
    rng = np.random.default_rng(4)
    x, w, b, targets, mask = _problem(rng)
    layer = LinearCrossEntropy()
    _, old = layer.forward(x, w, b, targets, mask)
    _, new = layer.forward(x, w, b, targets, mask)
    with pytest.raises(ValueError, match="older one"):
        layer.backward(1.0, old)
    layer.backward(1.0, new)
    with pytest.raises(ValueError, match="already backpropagated"):
        layer.backward(1.0, new)


def test_buffer_is_reused_and_grows_with_the_batch():
    rng = np.random.default_rng(5)
    layer = LinearCrossEntropy()
    for T in (4, 2, 7, 3):  # bigger, smaller and bigger again than the buffer so far
        x, w, b, targets, mask = _problem(rng, T=T)
        loss0, dx0, g0 = _unfused(x, w, b, targets, mask, "sum", 1.0)
        loss, cache = layer.forward(x, w, b, targets, mask)
        dx, g = layer.backward(1.0, cache)
        assert loss == pytest.approx(loss0, rel=1e-12)
        np.testing.assert_allclose(dx.reshape(x.shape), dx0, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g["weight"], g0["weight"], rtol=1e-12, atol=1e-12)
    assert layer._work._buffers[(np.dtype(np.float64), 0)].size == 7 * 3 * 7  # the largest T*B*V seen, kept


def test_without_bias_and_bad_shapes():
    rng = np.random.default_rng(6)
    x, w, _, targets, mask = _problem(rng)
    layer = LinearCrossEntropy()
    loss, cache = layer.forward(x, w, None, targets, mask)
    _, g = layer.backward(1.0, cache)
    assert set(g) == {"weight"}
    loss0, _, _ = _unfused(x, w, None, targets, mask, "sum", 1.0)
    assert loss == pytest.approx(loss0, rel=1e-12)
    with pytest.raises(ValueError, match="last axis"):
        layer.forward(x[..., :2], w, None, targets, mask)
    with pytest.raises(ValueError, match="targets in"):
        layer.forward(x, w, None, targets + 100, mask)


def test_matches_torch_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, w, b, targets, mask = _problem(rng, T=5, B=3, H=6, V=11)
    layer = LinearCrossEntropy()
    loss, cache = layer.forward(x, w, b, targets, mask, "mean")
    dx, g = layer.backward(1.0, cache)
    xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_(True) for a in (x, w, b))
    keep = torch.from_numpy(mask.reshape(-1))
    z = torch.nn.functional.linear(xt, wt, bt).reshape(-1, 11)
    ref = torch.nn.functional.cross_entropy(z[keep], torch.from_numpy(targets.reshape(-1))[keep], reduction="mean")
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dx.reshape(x.shape), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g["weight"], wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g["bias"], bt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_matches_torch_float64_sum_with_mask_and_random_dloss():
    """reduction="sum" over the unmasked tokens, times a random upstream gradient; padding targets are -1."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x, w, b, targets, mask = _problem(rng, T=6, B=3, H=5, V=9)
    dloss = float(rng.uniform(-2.0, -0.5))
    layer = LinearCrossEntropy()
    loss, cache = layer.forward(x, w, b, targets, mask, "sum")
    dx, g = layer.backward(dloss, cache)
    xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_(True) for a in (x, w, b))
    keep = torch.from_numpy(mask.reshape(-1))
    z = torch.nn.functional.linear(xt, wt, bt).reshape(-1, 9)
    ref = torch.nn.functional.cross_entropy(z[keep], torch.from_numpy(targets.reshape(-1))[keep], reduction="sum")
    (dloss * ref).backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dx.reshape(x.shape), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g["weight"], wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g["bias"], bt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.all(dx.reshape(x.shape)[~mask] == 0)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_fallback_rows_match_torch_log_softmax(reduction):
    """float64 rows whose logits reach ~1e3 (exp overflows) or all lie below -1e3 (every exp underflows) take
    the shifted fallback; loss and gradients against torch's log_softmax, with a mask and a random dloss."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    N, H, V = 9, 4, 10
    x = rng.standard_normal((N, H))
    w = rng.standard_normal((V, H))
    b = rng.standard_normal(V)
    w[:, -1] = rng.uniform(0.9, 1.1, V)  # the last input column shifts a whole row of logits
    x[1] *= 1e3 / np.abs(x[1] @ w.T).max()  # spread logits up to +-1e3
    x[4, -1] = 900.0  # every logit of row 4 near +900
    x[6, -1] = -1500.0  # every logit of row 6 below -1e3
    x[7, -1] = 1200.0  # an overflowing row that is masked out
    targets = rng.integers(0, V, N)
    mask = np.ones(N, bool)
    mask[[2, 7]] = False
    targets[2] = -1
    z = x @ w.T + b
    with np.errstate(over="ignore", under="ignore"):
        s = np.exp(z).sum(axis=1)
    fallback = ~np.isfinite(s) | (s < 1e-100)
    assert np.flatnonzero(fallback).tolist() == [1, 4, 6, 7], "rows 1, 4, 6, 7 must take the fallback path"
    dloss = float(rng.uniform(0.5, 2.0))
    layer = LinearCrossEntropy()
    loss, cache = layer.forward(x, w, b, targets, mask, reduction)
    dx, g = layer.backward(dloss, cache)
    xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_(True) for a in (x, w, b))
    logp = torch.log_softmax(torch.nn.functional.linear(xt, wt, bt), dim=-1)
    keep = torch.from_numpy(mask.astype(np.float64))
    nll = -(logp.gather(1, torch.from_numpy(np.where(mask, targets, 0))[:, None])[:, 0] * keep).sum()
    ref = nll / keep.sum() if reduction == "mean" else nll
    (dloss * ref).backward()
    assert np.isfinite(loss) and loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(g["weight"], wt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(g["bias"], bt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.all(dx[~mask] == 0)
