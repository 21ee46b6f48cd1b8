"""Adaptive softmax: exact normalisation, finite differences, and parity with torch.nn.AdaptiveLogSoftmaxWithLoss."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.gradcheck import numeric_grad
from rnnkit.lm.adaptive_softmax import AdaptiveSoftmax, check_cutoffs, default_cutoffs


def _setup(seed=0, V=30, H=8, N=24, cutoffs=(5, 12, 20), div=2.0, head_bias=True, dtype=np.float64):
    rng = np.random.default_rng(seed)
    layer = AdaptiveSoftmax(V, H, cutoffs, div, head_bias)
    params = {k: rng.uniform(-0.8, 0.8, v.shape).astype(dtype) for k, v in layer.init_params(rng).items()}
    h = rng.standard_normal((N, H)).astype(dtype)
    # every region gets targets: shortlist, and each cluster
    targets = rng.integers(0, V, N)
    targets[:4] = [0, 7, 15, 29]
    mask = rng.random(N) > 0.25
    mask[:4] = True
    return rng, layer, params, h, targets, mask


def test_shapes_follow_torch_layout():
    layer = AdaptiveSoftmax(100, 16, [10, 40], div_value=4.0)
    assert layer.param_shapes() == {"head.weight": (12, 16), "head.bias": (12,), "tail.0.0.weight": (4, 16),
                                    "tail.0.1.weight": (30, 4), "tail.1.0.weight": (1, 16),
                                    "tail.1.1.weight": (60, 1)}
    assert "head.bias" not in AdaptiveSoftmax(100, 16, [10], head_bias=False).param_shapes()


def test_distribution_sums_to_one_and_loss_is_its_nll():
    _, layer, params, h, targets, mask = _setup()
    logp = layer.log_probs(params, h)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, atol=1e-12)
    loss, _ = layer.loss(params, h, targets, mask)
    np.testing.assert_allclose(loss, -np.sum(logp[np.arange(len(targets)), targets] * mask), rtol=1e-12)
    loss_all, _ = layer.loss(params, h, targets)
    np.testing.assert_allclose(loss_all, -np.sum(logp[np.arange(len(targets)), targets]), rtol=1e-12)


@pytest.mark.parametrize("head_bias", [True, False], ids=["bias", "no-bias"])
def test_gradients_match_finite_differences(head_bias):
    rng, layer, params, h, targets, mask = _setup(seed=3, head_bias=head_bias)
    targets[~mask] = 10**6  # masked targets may be anything
    dloss = 1.7

    def f():
        return layer.loss(params, h, targets, mask)[0] * dloss

    _, cache = layer.loss(params, h, targets, mask)
    dh, grads = layer.loss_backward(params, dloss, cache)
    assert set(grads) == set(params)
    for name, arr, got in [(k, params[k], grads[k]) for k in params] + [("h", h, dh)]:
        np.testing.assert_allclose(got, numeric_grad(f, arr), rtol=1e-6, atol=1e-8, err_msg=name)
        assert np.abs(got).max() > 0, name


def test_empty_cluster_gets_zero_gradient():
    _, layer, params, h, _, _ = _setup()
    targets = np.zeros(h.shape[0], np.int64)  # shortlist only
    loss, cache = layer.loss(params, h, targets)
    _, grads = layer.loss_backward(params, 1.0, cache)
    assert not grads["tail.1.0.weight"].any() and not grads["tail.1.1.weight"].any()
    assert grads["head.weight"].any()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="cutoffs"):
        check_cutoffs([5, 5], 10)
    with pytest.raises(ValueError, match="cutoffs"):
        check_cutoffs([3, 10], 10)
    with pytest.raises(ValueError, match="cutoffs"):
        check_cutoffs([0], 10)
    with pytest.raises(ValueError, match="div_value"):
        AdaptiveSoftmax(10, 4, [3], div_value=0.5)
    with pytest.raises(ValueError, match="tail cluster 1"):
        AdaptiveSoftmax(100, 4, [10, 20], div_value=4.0)  # 4 / 16 < 1
    with pytest.raises(ValueError, match=r"give the cutoffs \(e.g. cutoffs=\(125,\), --cutoffs 125\)"):
        default_cutoffs(500)
    assert default_cutoffs(10000) == (2000,)
    assert default_cutoffs(33278) == (2000, 10000)
    _, layer, params, h, targets, _ = _setup()
    with pytest.raises(ValueError, match="targets in"):
        layer.loss(params, h, np.full(h.shape[0], 30))
    with pytest.raises(ValueError, match="shape"):
        layer.loss(params, h, targets[:-1])


def test_matches_torch_adaptive_log_softmax():
    torch = pytest.importorskip("torch")
    for head_bias, dtype, tol in [(True, np.float64, 1e-10), (False, np.float64, 1e-10), (True, np.float32, 1e-4)]:
        rng, layer, params, h, targets, _ = _setup(seed=5, head_bias=head_bias, dtype=dtype)
        ref = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 30, [5, 12, 20], div_value=2.0, head_bias=head_bias)
        ref = ref.to(torch.float64 if dtype == np.float64 else torch.float32)
        ref.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()})
        ht = torch.from_numpy(h.copy()).requires_grad_(True)
        out = ref(ht, torch.from_numpy(targets))
        out.loss.backward()  # mean NLL
        N = h.shape[0]
        loss, cache = layer.loss(params, h, targets)
        np.testing.assert_allclose(loss / N, out.loss.item(), rtol=tol)
        dh, grads = layer.loss_backward(params, 1.0 / N, cache)
        np.testing.assert_allclose(dh, ht.grad.numpy(), atol=tol)
        for k, v in ref.named_parameters():
            np.testing.assert_allclose(grads[k], v.grad.numpy(), atol=tol, err_msg=k)
        with torch.no_grad():
            np.testing.assert_allclose(layer.log_probs(params, h), ref.log_prob(ht).numpy(), atol=tol)


@pytest.mark.parametrize("head_bias", [True, False], ids=["bias", "no-bias"])
def test_masked_loss_matches_torch_with_random_dloss(head_bias):
    """Masked positions (targets out of range here) drop out of the summed NLL; against torch's per-token
    log-probabilities times the mask, scaled by a random upstream gradient, in float64."""
    torch = pytest.importorskip("torch")
    rng, layer, params, h, targets, mask = _setup(seed=6, head_bias=head_bias)
    assert 0 < mask.sum() < len(mask)
    dloss = float(rng.uniform(-2.0, -0.5))
    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 30, [5, 12, 20], div_value=2.0, head_bias=head_bias).double()
    ref.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()})
    ht = torch.from_numpy(h.copy()).requires_grad_(True)
    out = ref(ht, torch.from_numpy(targets))  # out.output: log p(target) of every row
    keep = torch.from_numpy(mask.astype(np.float64))
    t_loss = -(out.output * keep).sum()
    (dloss * t_loss).backward()
    junk = np.where(mask, targets, 10**6)  # masked targets may be anything
    loss, cache = layer.loss(params, h, junk, mask)
    dh, grads = layer.loss_backward(params, dloss, cache)
    np.testing.assert_allclose(loss, t_loss.item(), rtol=1e-12)
    np.testing.assert_allclose(dh, ht.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.all(dh[~mask] == 0)
    assert set(grads) == set(params) == {k for k, _ in ref.named_parameters()}
    for k, v in ref.named_parameters():
        np.testing.assert_allclose(grads[k], v.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
        assert np.abs(grads[k]).max() > 1e-3, f"{k}: no gradient reached it"


@st.composite
def _layers(draw):
    V = draw(st.integers(2, 40))
    cut = sorted(draw(st.sets(st.integers(1, V - 1), min_size=1, max_size=min(4, V - 1))))
    H = draw(st.integers(1, 9))
    div = draw(st.sampled_from([1.0, 1.5, 2.0]))
    if any(H // div ** (i + 1) < 1 for i in range(len(cut))):
        div = 1.0
    return V, H, cut, div, draw(st.integers(1, 12)), draw(st.booleans()), draw(st.integers(0, 2**31))


@settings(max_examples=60, deadline=None)
@given(_layers())
def test_any_cutoffs_give_a_distribution_and_its_nll(c):
    V, H, cut, div, N, head_bias, seed = c
    rng = np.random.default_rng(seed)
    layer = AdaptiveSoftmax(V, H, cut, div, head_bias)
    params = {k: rng.normal(0, 2, v.shape) for k, v in layer.init_params(rng, np.float64).items()}
    h = rng.standard_normal((N, H))
    targets = rng.integers(0, V, N)
    logp = layer.log_probs(params, h)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, atol=1e-10)
    loss, cache = layer.loss(params, h, targets)
    np.testing.assert_allclose(loss, -logp[np.arange(N), targets].sum(), rtol=1e-9, atol=1e-9)
    dh, grads = layer.loss_backward(params, 1.0, cache)
    assert dh.shape == h.shape and all(grads[k].shape == v.shape for k, v in params.items())


def test_tail_loss_stays_finite_where_a_probability_underflows():
    """A tail cluster's softmax with a logit gap of 110 in float32: the loss is the exact -log p
    (log_probs' value), not -log(0) = inf."""
    asm = AdaptiveSoftmax(4, 2, [2], div_value=2.0)
    f32 = np.float32
    p = {"head.weight": np.zeros((3, 2), f32), "head.bias": np.zeros(3, f32),
         "tail.0.0.weight": np.array([[1.0, 0.0]], f32), "tail.0.1.weight": np.array([[110.0], [0.0]], f32)}
    h = np.array([[1.0, 0.0]], f32)
    loss, _ = asm.loss(p, h, np.array([3]))
    assert np.isfinite(loss) and loss == pytest.approx(-asm.log_probs(p, h)[0, 3], rel=1e-6)
