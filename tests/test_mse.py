"""Mean squared error: finite differences in float64 (random targets and upstream gradient, masks per
element and per position), parity with torch.nn.functional.mse_loss, and the errors it names."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad
from rnnkit.nn import mse_loss, mse_loss_backward


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def assert_close(name, actual, expected, tol):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    diff = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    assert diff <= tol, f"{name}: max abs difference {diff:.3e} > {tol:.0e}"


def problem(seed, shape, mask_kind):
    """Random predictions, targets (NaN at masked elements: padding must not leak) and a mask."""
    rng = np.random.default_rng(seed)
    pred = 2 * rng.standard_normal(shape)
    target = rng.standard_normal(shape)
    if mask_kind is None:
        return pred, target, None
    mask_shape = shape if mask_kind == "element" else shape[:-1]
    mask = (rng.random(mask_shape) < 0.6).astype(np.int64)  # 0/1 ints, not bool
    mask.flat[0] = 1
    mask.flat[-1] = 0
    dropped = mask == 0 if mask_kind == "element" else np.broadcast_to((mask == 0)[..., None], shape)
    target[dropped] = np.nan
    return pred, target, mask


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("mask_kind", [None, "element", "position"])
@pytest.mark.parametrize("shape", [(6, 3, 2), (5, 4)], ids=["TBD", "BD"])
def test_mse_gradcheck(reduction, mask_kind, shape):
    pred, target, mask = problem(1, shape, mask_kind)
    dloss = np.random.default_rng(2).uniform(0.5, 2.0)

    def loss():
        return dloss * mse_loss(pred, target, mask, reduction)[0]

    value, cache = mse_loss(pred, target, mask, reduction)
    assert np.isfinite(value)
    dpred = mse_loss_backward(dloss, cache)
    assert_close("dpred", dpred, numeric_grad(loss, pred), 1e-6)
    if mask is not None:
        dropped = np.isnan(target)
        assert np.all(dpred[dropped] == 0), "masked elements must get zero gradient"


def test_mse_is_the_mean_of_squares_computed_directly():
    pred, target, _ = problem(3, (4, 3), None)
    loss, _ = mse_loss(pred, target)
    assert loss == pytest.approx(float(np.mean((pred - target) ** 2)), rel=1e-12)
    loss, _ = mse_loss(pred, target, reduction="sum")
    assert loss == pytest.approx(float(np.sum((pred - target) ** 2)), rel=1e-12)
    mask = np.array([True, False, True, True])  # per row: 3 rows x 3 elements kept
    loss, _ = mse_loss(pred, target, mask)
    assert loss == pytest.approx(float(np.sum((pred - target)[mask] ** 2) / 9), rel=1e-12)


def test_mse_all_masked_is_zero_with_zero_gradient():
    pred, target, _ = problem(4, (3, 2), None)
    loss, cache = mse_loss(pred, target, np.zeros(3, dtype=bool))
    assert loss == 0.0 and np.all(mse_loss_backward(1.0, cache) == 0)


def test_mse_keeps_float32():
    pred, target, _ = problem(5, (4, 1), None)
    loss, cache = mse_loss(pred.astype(np.float32), target.astype(np.float32))
    assert mse_loss_backward(1.0, cache).dtype == np.float32
    assert loss == pytest.approx(float(np.mean((pred - target) ** 2)), rel=1e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("mask_kind", [None, "element", "position"])
def test_mse_matches_torch(torch, reduction, mask_kind):
    pred, target, mask = problem(6, (5, 3, 4), mask_kind)
    dloss = 1.7
    loss, cache = mse_loss(pred, target, mask, reduction)
    dpred = mse_loss_backward(dloss, cache)

    pt = torch.from_numpy(pred).requires_grad_(True)
    tt = torch.from_numpy(target)
    if mask is None:
        tloss = torch.nn.functional.mse_loss(pt, tt, reduction=reduction)
    else:  # torch has no mask: the loss over the kept elements alone
        keep = torch.from_numpy(mask.astype(bool))
        tloss = torch.nn.functional.mse_loss(pt[keep], tt[keep], reduction=reduction)
    (tloss * dloss).backward()
    assert_close("loss", loss, tloss.item(), 1e-12)
    assert_close("dpred", dpred, pt.grad.numpy(), 1e-12)


def test_mse_errors_name_the_problem():
    p = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"Expected target of shape \(3, 2\)"):
        mse_loss(p, np.zeros((3, 1)))
    with pytest.raises(TypeError, match="Expected target of dtype float64"):
        mse_loss(p, np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="Expected pred to be a float numpy array"):
        mse_loss([[0.0]], np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"one per element\) or \(3,\) \(one per position\)"):
        mse_loss(p, p, np.ones((2,), dtype=bool))
    with pytest.raises(ValueError, match="only 0 and 1"):
        mse_loss(p, p, np.full((3,), 0.5))
    with pytest.raises(ValueError, match="reduction"):
        mse_loss(p, p, reduction="avg")
    with pytest.raises(ValueError, match="scalar"):
        mse_loss_backward(np.ones(2), mse_loss(p, p)[1])
