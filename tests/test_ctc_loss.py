"""rnnkit.nn.ctc: the CTC loss against finite differences, brute-force enumeration of alignments and torch."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from nn_check import assert_close, torch_fixture  # noqa: F401  (the torch fixture)

from rnnkit.nn import ctc_loss, ctc_loss_backward, log_softmax
from rnnkit.nn.ctc_decode import collapse

# (T, B, C) = (6, 5, 4): unequal input lengths, a repeated label, an empty target, and T_b at the minimum a
# target needs (sequence 3: "2 2" needs 3 frames; sequence 4: "1 2 3" needs 3)
INPUT_LENGTHS = np.array([6, 5, 4, 3, 3])
TARGETS = np.array([[1, 2, 2], [3, 1, 0], [0, 0, 0], [2, 2, 0], [1, 2, 3]])
TARGET_LENGTHS = np.array([3, 2, 0, 2, 3])


def _logits(rng, dtype=np.float64, shape=(6, 5, 4)):
    return rng.normal(size=shape).astype(dtype)


def _brute_force_nll(logits, target, T, blank=0):
    """-log sum over every path of T frames that B maps to ``target`` of prod_t y_t(pi_t)."""
    logp = log_softmax(logits[:T].astype(np.float64), axis=1)  # (T, C)
    total = 0.0
    for path in itertools.product(range(logits.shape[1]), repeat=T):
        if collapse(path, blank) == list(target):
            total += np.exp(logp[np.arange(T), path].sum())
    return -np.log(total) if total > 0 else np.inf


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_every_logit_gradient_matches_central_differences(reduction):
    rng = np.random.default_rng(0)
    logits = _logits(rng)
    dloss = rng.normal(size=5) if reduction == "none" else 1.7  # a weighted sum of the losses for "none"

    def f(z):
        loss, _ = ctc_loss(z, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction=reduction)
        return float(np.dot(loss, dloss)) if reduction == "none" else dloss * loss

    _, cache = ctc_loss(logits, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction=reduction)
    grad = ctc_loss_backward(dloss, cache)
    numeric = np.zeros_like(logits)
    eps = 1e-6
    for i in np.ndindex(logits.shape):
        plus, minus = logits.copy(), logits.copy()
        plus[i] += eps
        minus[i] -= eps
        numeric[i] = (f(plus) - f(minus)) / (2 * eps)
    assert_close("dlogits", grad, numeric, 1e-7)
    past = np.arange(6)[:, None] >= INPUT_LENGTHS[None, :]  # (T, B) frames past each sequence's end
    assert np.all(grad[past] == 0) and np.abs(grad[~past]).min() > 0


def test_the_loss_is_minus_log_of_the_summed_probability_of_every_alignment():
    rng = np.random.default_rng(1)
    logits = _logits(rng)
    losses, _ = ctc_loss(logits, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    for b in range(5):
        expected = _brute_force_nll(logits[:, b], TARGETS[b, :TARGET_LENGTHS[b]], INPUT_LENGTHS[b])
        assert losses[b] == pytest.approx(expected, rel=1e-10)
        assert np.exp(-losses[b]) == pytest.approx(np.exp(-expected), rel=1e-10)


def test_log_probabilities_give_the_same_loss_as_their_logits():
    rng = np.random.default_rng(2)
    logits = _logits(rng)
    a, _ = ctc_loss(logits, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    b, _ = ctc_loss(log_softmax(logits, axis=2), TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    assert_close("loss", a, b, 1e-12)


def test_concatenated_targets_are_the_padded_ones():
    rng = np.random.default_rng(3)
    logits = _logits(rng)
    flat = np.concatenate([t[:n] for t, n in zip(TARGETS, TARGET_LENGTHS)])
    a, _ = ctc_loss(logits, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    b, _ = ctc_loss(logits, flat, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    assert_close("loss", a, b, 0.0)


def test_another_blank_index_is_the_same_loss_with_the_classes_renumbered():
    rng = np.random.default_rng(4)
    logits = _logits(rng)
    a, _ = ctc_loss(logits, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    moved = np.roll(logits, -1, axis=2)  # class k -> k - 1; the blank 0 -> C - 1
    b, _ = ctc_loss(moved, np.maximum(TARGETS - 1, 0), INPUT_LENGTHS, TARGET_LENGTHS, blank=3, reduction="none")
    assert_close("loss", a, b, 1e-12)


def _torch_ctc(torch, logits, targets, input_lengths, target_lengths, reduction, zero_infinity=False):
    x = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.ctc_loss(x.log_softmax(2), torch.tensor(targets), torch.tensor(input_lengths),
                                        torch.tensor(target_lengths), reduction=reduction,
                                        zero_infinity=zero_infinity)
    weights = torch.linspace(0.5, 1.5, logits.shape[1], dtype=x.dtype) if reduction == "none" else 1.0
    (loss * weights).sum().backward()
    return loss.detach().numpy(), x.grad.numpy(), np.asarray(weights)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_loss_and_gradient_match_torch(torch, reduction, dtype, tol):
    rng = np.random.default_rng(5)
    T, B, C = 30, 6, 7
    logits = (2 * rng.normal(size=(T, B, C))).astype(dtype)
    input_lengths = np.array([30, 25, 17, 12, 9, 30])
    target_lengths = np.array([10, 0, 8, 5, 4, 12])
    targets = rng.integers(1, C, size=(B, 12))
    targets[0, 3:6] = 2  # a run of repeats
    want_loss, want_grad, weights = _torch_ctc(torch, logits, targets, input_lengths, target_lengths, reduction)
    loss, cache = ctc_loss(logits, targets, input_lengths, target_lengths, reduction=reduction)
    grad = ctc_loss_backward(weights.astype(dtype) if reduction == "none" else 1.0, cache)
    assert grad.dtype == dtype and np.asarray(loss).dtype in (dtype, np.float64)
    scale = max(1.0, float(np.max(np.abs(want_loss))))
    assert_close("loss", np.asarray(loss) / scale, want_loss / scale, tol)
    assert_close("dlogits", grad, want_grad, tol)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_zero_infinity_on_an_impossible_labelling_matches_torch(torch, reduction):
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(4, 3, 3))
    targets = np.array([[1, 1, 1], [1, 2, 0], [2, 2, 2]])  # sequence 0: "1 1 1" needs 5 frames, has 4
    input_lengths, target_lengths = np.array([4, 4, 3]), np.array([3, 2, 1])
    want_loss, want_grad, weights = _torch_ctc(torch, logits, targets, input_lengths, target_lengths, reduction,
                                               zero_infinity=True)
    loss, cache = ctc_loss(logits, targets, input_lengths, target_lengths, reduction=reduction, zero_infinity=True)
    grad = ctc_loss_backward(weights if reduction == "none" else 1.0, cache)
    assert_close("loss", loss, want_loss, 1e-12)
    assert_close("dlogits", grad, want_grad, 1e-12)
    assert np.all(grad[:, 0] == 0)
    plain, cache = ctc_loss(logits, targets, input_lengths, target_lengths, reduction="none")
    assert np.isinf(plain[0]) and np.all(np.isfinite(plain[1:]))
    grad = ctc_loss_backward(np.ones(3), cache)
    assert np.all(np.isnan(grad[:, 0])) and np.all(np.isfinite(grad[:, 1:]))  # torch's nan too


def test_zero_infinity_lets_a_target_longer_than_its_input_count_zero(torch):
    logits = np.random.default_rng(7).normal(size=(3, 2, 4))
    targets, input_lengths, target_lengths = np.array([[1, 2, 3, 1], [1, 0, 0, 0]]), np.array([3, 3]), np.array([4, 1])
    loss, cache = ctc_loss(logits, targets, input_lengths, target_lengths, reduction="sum", zero_infinity=True)
    want_loss, want_grad, _ = _torch_ctc(torch, logits, targets, input_lengths, target_lengths, "sum", True)
    assert loss == pytest.approx(float(want_loss), rel=1e-12)
    assert_close("dlogits", ctc_loss_backward(1.0, cache), want_grad, 1e-12)


def test_float32_stays_float32_and_agrees_with_float64():
    rng = np.random.default_rng(8)
    logits = _logits(rng)
    loss64, cache64 = ctc_loss(logits, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    loss32, cache32 = ctc_loss(logits.astype(np.float32), TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    assert loss32.dtype == np.float32 and cache32.log_alpha.dtype == np.float32
    assert_close("loss", loss32, loss64, 1e-5)
    assert_close("dlogits", ctc_loss_backward(np.ones(5, np.float32), cache32),
                 ctc_loss_backward(np.ones(5), cache64), 1e-5)


def test_the_loss_alone_runs_no_beta_recursion_and_the_backward_runs_it_once(monkeypatch):
    """beta is read by the gradient only: a loss-only call (evaluation) skips it, a backward pays for it once,
    and the gradient is the posterior identity's, gamma from the same alpha and beta recursions."""
    import rnnkit.nn.ctc as ctc

    calls = []
    real = ctc.ctc_beta
    monkeypatch.setattr(ctc, "ctc_beta", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(5)
    logits = _logits(rng)
    loss, cache = ctc_loss(logits, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    assert calls == []
    dloss = rng.normal(size=5)
    grad = ctc_loss_backward(dloss, cache)
    assert calls == [1]
    # the same gradient from the recursions called here by hand: d/du_t(k) = dloss_b (y_t(k) - gamma_t(k))
    logp = log_softmax(logits, axis=2)
    ext, skip = ctc.extend_targets(TARGETS, TARGET_LENGTHS, 0)
    lp_ext = np.take_along_axis(logp, np.broadcast_to(ext[None], (6,) + ext.shape), axis=2)
    post = np.exp(ctc.ctc_alpha(lp_ext, skip, TARGET_LENGTHS) + real(lp_ext, skip, INPUT_LENGTHS, TARGET_LENGTHS)
                  + loss[None, :, None])  # (T, B, S')
    gamma = np.zeros_like(logp)
    for b in range(5):
        for s in range(ext.shape[1]):
            gamma[:, b, ext[b, s]] += post[:, b, s]
    expected = (np.exp(logp) - gamma) * dloss[None, :, None]
    expected[np.arange(6)[:, None] >= INPUT_LENGTHS[None, :]] = 0
    assert_close("dlogits", grad, expected, 1e-12)
