"""The attention module alone: hand-derived backward against finite differences, masking, errors."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad as _numeric
from rnnkit.seq2seq.attention import (
    additive_scores,
    additive_scores_backward,
    attention_backward,
    attention_forward,
    init_attention_params,
    project_keys,
    project_keys_backward,
)

B, S, H, HK, A = 4, 6, 5, 7, 3
LENGTHS = np.array([6, 2, 4, 1])


def _setup(kind, seed=0):
    rng = np.random.default_rng(seed)
    hk = H if kind == "dot" else HK
    params = init_attention_params(kind, H, hk, A, rng, dtype=np.float64)
    for k, v in params.items():  # wider than the default init, so the tanh and softmax are not near-linear
        params[k] = rng.uniform(-1.0, 1.0, v.shape)
    query = rng.standard_normal((B, H))
    values = rng.standard_normal((B, S, hk))
    mask = np.arange(S)[None, :] < LENGTHS[:, None]  # (B, S)
    dcontext = rng.standard_normal((B, hk))  # random upstream gradient, never all ones
    return params, query, values, mask, dcontext


def _objective(kind, params, query, values, mask, dcontext):
    keys, _ = project_keys(kind, params, values)
    context, _, _ = attention_forward(kind, params, query, values, keys, mask)
    return float(np.sum(context * dcontext))


def _assert_close(name, mine, numeric, tol=1e-7):
    err = float(np.max(np.abs(mine - numeric) / np.maximum(1.0, np.abs(numeric))))
    assert err < tol, f"{name}: max relative difference {err:.3e}"


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_attention_gradients_match_finite_differences(kind):
    params, query, values, mask, dcontext = _setup(kind)
    keys, kcache = project_keys(kind, params, values)
    _, _, cache = attention_forward(kind, params, query, values, keys, mask)
    dquery, dvalues, dkeys, grads = attention_backward(dcontext, cache, params)
    dvalues_keys, kgrads = project_keys_backward(dkeys, kcache, params)
    grads.update(kgrads)
    assert set(grads) == set(params)

    def f():
        return _objective(kind, params, query, values, mask, dcontext)

    _assert_close("dquery", dquery, _numeric(f, query))
    _assert_close("dvalues", dvalues + dvalues_keys, _numeric(f, values))
    for name, p in params.items():
        _assert_close(name, grads[name], _numeric(f, p))


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_padded_positions_get_zero_weight_and_no_influence(kind):
    params, query, values, mask, _ = _setup(kind, seed=1)
    keys, _ = project_keys(kind, params, values)
    context, weights, _ = attention_forward(kind, params, query, values, keys, mask)
    assert np.all(weights[~mask] == 0.0), "weights at padded positions must be exactly 0"
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(weights[mask] > 0)
    # garbage (even huge) values at padded positions change nothing
    noisy = values.copy()
    noisy[~mask] = 1e3 * np.random.default_rng(3).standard_normal(noisy[~mask].shape)
    keys2, _ = project_keys(kind, params, noisy)
    context2, weights2, _ = attention_forward(kind, params, query, noisy, keys2, mask)
    assert np.max(np.abs(context2 - context)) < 1e-12, f"context max diff {np.max(np.abs(context2 - context))}"
    assert np.array_equal(weights2, weights)


def test_attention_matches_a_direct_computation():
    """The three score functions written out one position at a time, straight from the equations."""
    for kind in ("additive", "dot", "general"):
        params, query, values, mask, _ = _setup(kind, seed=4)
        keys, _ = project_keys(kind, params, values)
        context, weights, _ = attention_forward(kind, params, query, values, keys, mask)
        for b in range(B):
            n = LENGTHS[b]
            e = np.empty(n)
            for j in range(n):
                if kind == "dot":
                    e[j] = query[b] @ values[b, j]
                elif kind == "general":
                    e[j] = query[b] @ (params["W"] @ values[b, j])
                else:
                    e[j] = params["v"] @ np.tanh(params["W_q"] @ query[b] + params["W_k"] @ values[b, j])
            a = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
            diff = np.max(np.abs(weights[b, :n] - a))
            assert diff < 1e-12, f"{kind} weights[{b}] max diff {diff}"
            cdiff = np.max(np.abs(context[b] - a @ values[b, :n]))
            assert cdiff < 1e-12, f"{kind} context[{b}] max diff {cdiff}"


def test_attention_errors_name_the_problem():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="attention one of"):
        init_attention_params("cosine", 4, 4, 4, rng)
    with pytest.raises(ValueError, match="dot attention"):
        init_attention_params("dot", 4, 6, 4, rng)
    params, query, values, mask, _ = _setup("general")
    keys, _ = project_keys("general", params, values)
    with pytest.raises(ValueError, match="mask of shape"):
        attention_forward("general", params, query, values, keys, mask[:, :3])
    with pytest.raises(ValueError, match="query of shape"):
        attention_forward("general", params, query[:2], values, keys, mask)
    with pytest.raises(ValueError, match="values of shape"):
        project_keys("general", params, values[0])


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_wrong_feature_sizes_and_an_empty_mask_row_are_named(kind):
    """A query or values of the wrong width used to end in numpy's gufunc message, and a row of mask with no
    True gave NaN weights and context silently."""
    params, query, values, mask, _ = _setup(kind)
    keys, _ = project_keys(kind, params, values)
    with pytest.raises(ValueError, match=rf"query of shape \(B, H\) with H = {H} .*got \({B}, {H + 1}\)"):
        attention_forward(kind, params, np.ones((B, H + 1)), values, keys, mask)
    if kind != "dot":
        said = rf"values of shape \(B, S, Hk\) with Hk = {HK} .*got \({B}, {S}, {HK + 1}\)"
        with pytest.raises(ValueError, match=said):
            project_keys(kind, params, np.ones((B, S, HK + 1)))
    K = keys.shape[2]
    for bad in (keys[:, :2], keys[:, :, 0], np.concatenate([keys, keys[:, :, :1]], 2)):  # an IndexError or numpy's
        with pytest.raises(ValueError, match=rf"keys of shape \(B, S, K\) = \({B}, {S}, {K}\) \(K: .*, got "):
            attention_forward(kind, params, query, values, bad, mask)
    empty = mask.copy()
    empty[2] = False
    with pytest.raises(ValueError, match="a True in every row of mask .*got none in row 2"):
        attention_forward(kind, params, query, values, keys, empty)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_additive_v_gradient_keeps_the_bits_of_its_einsum(dtype):
    """dv = sum_{b,j} de_bj u_bj: a seq2seq step (B, S) sums as einsum("bs,bsa->a") did before the pointer's
    refactor (a tensordot sums in another order: float32 rel ~1e-7); the pointer's (T, B, S) to the same value."""
    rng = np.random.default_rng(5)
    params = {k: rng.uniform(-1, 1, (9, 6)).astype(dtype) if k == "W_q" else rng.uniform(-1, 1, 9).astype(dtype)
              for k in ("W_q", "v")}
    query = rng.standard_normal((5, 4, 6)).astype(dtype)  # (T, B, H)
    keys = rng.standard_normal((4, 11, 9)).astype(dtype)  # (B, S, A), one source for every step
    _, u = additive_scores(params, query, keys)  # (T, B, S, A)
    de = rng.standard_normal(u.shape[:-1]).astype(dtype)  # (T, B, S)
    flat_de, flat_u, flat_q = de.reshape(20, 11), u.reshape(20, 11, 9), query.reshape(20, 6)
    _, _, step = additive_scores_backward(flat_de, flat_u, flat_q, params)
    assert np.array_equal(step["v"], np.einsum("bs,bsa->a", flat_de, flat_u))
    _, _, steps = additive_scores_backward(de, u, query, params)
    tol = 1e-5 if dtype == np.float32 else 1e-12  # a sum of 220 terms of size ~1 in another order
    np.testing.assert_allclose(steps["v"], step["v"], rtol=tol, atol=tol * np.abs(step["v"]).max())
