"""The layer-norm derivation the textbook docstrings state: each step checked by central differences."""
from __future__ import annotations

import numpy as np

from rnnkit.cells import elman_ln as elman_kernel
from rnnkit.textbook import elman_ln, layernorm

K = 5


def _sigma(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - a.mean()) ** 2) + layernorm.EPS))


def _central(f, a: np.ndarray, k: int, h: float = 1e-6):
    e = np.zeros_like(a)
    e[k] = h
    return (f(a + e) - f(a - e)) / (2 * h)


def test_d_sigma_d_a_is_a_hat_over_k_as_the_docstring_says():
    doc = " ".join(layernorm.__doc__.split())
    assert "d sigma / d a_k = (a_k - mu) / (K sigma) = a_hat_k / K" in doc  # was a_hat_k / (K sigma)
    a = np.random.default_rng(0).standard_normal(K) * 3
    a_hat = (a - a.mean()) / _sigma(a)
    got = np.array([_central(_sigma, a, k) for k in range(K)])
    np.testing.assert_allclose(got, a_hat / K, rtol=1e-7)


def test_d_a_hat_d_a_is_the_stated_jacobian():
    doc = " ".join(layernorm.__doc__.split())
    assert "d a_hat_j / d a_k = ([j = k] - 1/K - a_hat_j a_hat_k / K) / sigma" in doc
    a = np.random.default_rng(1).standard_normal(K)
    s = _sigma(a)
    a_hat = (a - a.mean()) / s
    got = np.stack([_central(lambda v: (v - v.mean()) / _sigma(v), a, k) for k in range(K)], axis=1)  # [j, k]
    want = (np.eye(K) - 1 / K - np.outer(a_hat, a_hat) / K) / s
    np.testing.assert_allclose(got, want, atol=1e-8)


def test_the_elman_ln_bias_comment_gives_the_real_reason():
    for module in (elman_ln, elman_kernel):
        doc = " ".join(module.__doc__.split())
        assert "would remove it" not in doc  # LN removes only a bias's mean over H, and scales the rest
        assert "after LN" in doc
