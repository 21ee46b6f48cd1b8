"""Class-based factorised softmax: exact normalisation, loss = -log P, hand-derived gradients."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.lm.class_softmax import ClassSoftmax, frequency_classes


def _setup(seed=0, V=40, H=5, N=16, C=7):
    rng = np.random.default_rng(seed)
    counts = rng.zipf(1.3, V).astype(float)
    cs = ClassSoftmax(frequency_classes(counts, C))
    params = {k: rng.uniform(-0.7, 0.7, v.shape) for k, v in
              ClassSoftmax.init_params(V, cs.num_classes, H, rng, dtype=np.float64).items()}
    h = rng.standard_normal((N, H))
    targets = rng.integers(0, V, N)
    mask = (rng.random(N) > 0.25).astype(float)
    return rng, cs, params, h, targets, mask


def test_frequency_bins_are_balanced_and_ordered():
    counts = np.array([100, 50, 25, 12, 6, 3, 2, 1, 1])
    cl = frequency_classes(counts, 3)
    assert cl[0] == 0 and np.all(np.diff(cl[np.argsort(-counts, kind="stable")]) >= 0)
    assert set(cl) == set(range(cl.max() + 1))
    with pytest.raises(ValueError, match="num_classes"):
        frequency_classes(counts, 10)


def test_sqrt_binning_gives_rare_words_more_classes():
    # counts 64, 16, 4, 4, 4, 4 (total 96): word k goes to bin floor(3 * mass before it / total mass).
    # Count mass before: 0, 64, 80, 84, 88, 92 -> bins 0, 2, 2, 2, 2, 2 -> renumbered 0, 1, 1, 1, 1, 1.
    # Sqrt mass (8, 4, 2, 2, 2, 2; total 20) before: 0, 8, 12, 14, 16, 18 -> bins 0, 1, 1, 2, 2, 2.
    counts = np.array([64, 16, 4, 4, 4, 4])
    assert frequency_classes(counts, 3, power=1.0).tolist() == [0, 1, 1, 1, 1, 1]
    assert frequency_classes(counts, 3, power=0.5).tolist() == [0, 1, 1, 2, 2, 2]
    with pytest.raises(ValueError, match="power"):
        frequency_classes(counts, 3, power=-1.0)


def test_distribution_sums_to_one_and_loss_is_its_nll():
    _, cs, params, h, targets, mask = _setup()
    logp = cs.log_probs(params, h)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, atol=1e-12)
    loss, _ = cs.loss(params, h, targets, mask)
    np.testing.assert_allclose(loss, -np.sum(logp[np.arange(len(targets)), targets] * mask), rtol=1e-12)


def test_gradients_match_finite_differences():
    rng, cs, params, h, targets, mask = _setup(seed=3)
    dloss = 1.7
    _, cache = cs.loss(params, h, targets, mask)
    dh, grads = cs.loss_backward(params, dloss, cache)
    eps = 1e-6
    for name, arr in list(params.items()) + [("h", h)]:
        num = np.zeros_like(arr)
        flat = arr.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = cs.loss(params, h, targets, mask)[0]
            flat[i] = old - eps
            down = cs.loss(params, h, targets, mask)[0]
            flat[i] = old
            num.reshape(-1)[i] = dloss * (up - down) / (2 * eps)
        mine = dh if name == "h" else grads[name]
        err = np.max(np.abs(mine - num))
        assert err < 1e-6, f"{name}: max difference {err:.3e}"


def test_one_class_equals_full_softmax():
    rng = np.random.default_rng(1)
    V, H = 12, 4
    cs = ClassSoftmax(np.zeros(V, dtype=np.int64))
    p = {k: rng.standard_normal(v.shape) for k, v in ClassSoftmax.init_params(V, 1, H, rng, dtype=np.float64).items()}
    h = rng.standard_normal((5, H))
    z = h @ p["weight"].T + p["bias"]
    ref = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(cs.log_probs(p, h), ref, atol=1e-12)


def test_contiguous_classes_use_slices_and_agree_with_gathered():
    rng = np.random.default_rng(4)
    V, H, N = 25, 4, 30
    classes = frequency_classes(rng.zipf(1.5, V).astype(float), 5)
    from rnnkit.lm.class_softmax import class_ordered_ids

    order, new_id = class_ordered_ids(classes)
    assert np.array_equal(order[new_id], np.arange(V))
    gathered = ClassSoftmax(classes)
    sliced = ClassSoftmax(classes[order])
    assert sliced.slices is not None
    p = {k: rng.standard_normal(v.shape) for k, v in ClassSoftmax.init_params(V, gathered.num_classes, H, rng, dtype=np.float64).items()}
    q = dict(p, weight=p["weight"][order], bias=p["bias"][order])  # the same model, renumbered
    h = rng.standard_normal((N, H))
    t = rng.integers(0, V, N)
    la, ca = gathered.loss(p, h, t)
    lb, cb = sliced.loss(q, h, new_id[t])
    np.testing.assert_allclose(la, lb, rtol=1e-12)
    np.testing.assert_allclose(gathered.log_probs(p, h)[:, order], sliced.log_probs(q, h), atol=1e-12)
    dha, ga = gathered.loss_backward(p, 1.0, ca)
    dhb, gb = sliced.loss_backward(q, 1.0, cb)
    np.testing.assert_allclose(dha, dhb, atol=1e-12)
    np.testing.assert_allclose(ga["weight"][order], gb["weight"], atol=1e-12)


def test_loss_stays_finite_where_a_probability_underflows():
    """float32 with a logit gap of 110: p = exp(-110) is 0 in float32, and -log p was inf (and the
    masked row of a padded batch made the sum NaN); the loss is taken from the logits instead."""
    cs = ClassSoftmax(np.array([0, 0, 1, 1]))
    p = {"class_weight": np.array([[0.0], [110.0]], np.float32), "class_bias": np.zeros(2, np.float32),
         "weight": np.zeros((4, 1), np.float32), "bias": np.zeros(4, np.float32)}
    loss, _ = cs.loss(p, np.ones((1, 1), np.float32), np.array([0]))
    assert loss == pytest.approx(110 + np.log(2), rel=1e-6)  # the class, then 1 of 2 words
    h = np.array([[0.01], [1.0]], np.float32)
    padded, _ = cs.loss(p, h, np.array([3, -1]), np.array([True, False]))
    alone, _ = cs.loss(p, h[:1], np.array([3]))
    assert np.isfinite(padded) and padded == pytest.approx(alone, rel=1e-6)
