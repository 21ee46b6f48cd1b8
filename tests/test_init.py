"""Initialisers: bounds, orthogonality (whole matrix and per gate block), determinism, and
``init_recurrent_params`` on PyTorch-named LSTM/GRU parameter dicts, including ``forget_bias``."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.init import (
    init_recurrent_params,
    orthogonal,
    pytorch_default,
    uniform_,
    xavier_normal,
    xavier_uniform,
)


def assert_close(name, actual, expected, tol):
    diff = float(np.max(np.abs(np.asarray(actual, np.float64) - np.asarray(expected, np.float64))))
    assert diff <= tol, f"{name}: max abs difference {diff:.3e} > {tol:.0e}"


def recurrent_params(gates, D=5, H=4, layers=2, bidirectional=True, dtype=np.float32):
    """A PyTorch-shaped parameter dict (zeros) plus keys init must leave alone."""
    params = {}
    for k in range(layers):
        for suffix in ("", "_reverse") if bidirectional else ("",):
            d_in = D if k == 0 else H * (2 if bidirectional else 1)
            params[f"encoder.weight_ih_l{k}{suffix}"] = np.zeros((gates * H, d_in), dtype)
            params[f"encoder.weight_hh_l{k}{suffix}"] = np.zeros((gates * H, H), dtype)
            params[f"encoder.bias_ih_l{k}{suffix}"] = np.zeros(gates * H, dtype)
            params[f"encoder.bias_hh_l{k}{suffix}"] = np.zeros(gates * H, dtype)
    params["encoder.h0_l0"] = np.full((H,), 7.0, dtype)
    params["embedding.weight"] = np.full((3, D), 9.0, dtype)
    return params


# ---------------------------------------------------------------- single initialisers

@pytest.mark.parametrize("shape", [(6, 6), (12, 5), (5, 12)], ids=["square", "tall", "wide"])
@pytest.mark.parametrize("gain", [1.0, 1.7])
def test_orthogonal(shape, gain):
    q = orthogonal(shape, np.random.default_rng(0), gain=gain, dtype=np.float64)
    assert q.shape == shape
    r, c = shape
    gram = q.T @ q if r >= c else q @ q.T
    assert_close(f"gram {shape}", gram, gain**2 * np.eye(min(r, c)), 1e-10)


def test_orthogonal_blocks_each_orthogonal():
    H = 6
    w = orthogonal((4 * H, H), np.random.default_rng(1), dtype=np.float64, blocks=4)  # (4H, H)
    for g in range(4):
        block = w[g * H:(g + 1) * H]  # (H, H)
        assert_close(f"block {g} Q^T Q", block.T @ block, np.eye(H), 1e-10)
        assert_close(f"block {g} Q Q^T", block @ block.T, np.eye(H), 1e-10)
    assert not np.allclose(w[:H], w[H:2 * H]), "blocks must be drawn independently"
    with pytest.raises(ValueError, match="blocks"):
        orthogonal((10, 4), np.random.default_rng(1), blocks=3)


def test_orthogonal_is_not_biased_by_qr_signs():
    # without the sign fix QR returns Q with a positive-diagonal R, so diag(Q) is skewed positive
    rng = np.random.default_rng(2)
    diag_mean = np.mean([orthogonal((3, 3), rng, dtype=np.float64)[0, 0] for _ in range(2000)])
    assert abs(diag_mean) < 0.05


def test_bounds_and_scales():
    rng = np.random.default_rng(3)
    u = uniform_((200, 300), 0.1, rng)
    assert u.dtype == np.float32
    assert np.abs(u).max() <= 0.1
    assert np.abs(u).max() > 0.099
    p = pytorch_default((64, 50), 25, rng, dtype=np.float64)
    assert p.dtype == np.float64
    assert 0.19 < np.abs(p).max() <= 0.2
    fan_out, fan_in = 120, 80
    xu = xavier_uniform((fan_out, fan_in), rng, gain=2.0)
    bound = 2.0 * np.sqrt(6 / (fan_in + fan_out))
    assert 0.98 * bound < np.abs(xu).max() <= bound
    xn = xavier_normal((fan_out, fan_in), rng, gain=2.0, dtype=np.float64)
    std = 2.0 * np.sqrt(2 / (fan_in + fan_out))
    assert abs(xn.std() / std - 1) < 0.03
    assert abs(xn.mean()) < 0.03 * std


@pytest.mark.parametrize("make", [
    lambda rng: uniform_((7, 3), 0.5, rng),
    lambda rng: pytorch_default((7, 3), 4, rng),
    lambda rng: orthogonal((8, 4), rng, blocks=2),
    lambda rng: xavier_uniform((7, 3), rng),
    lambda rng: xavier_normal((7, 3), rng),
], ids=["uniform", "pytorch", "orthogonal", "xavier_uniform", "xavier_normal"])
def test_same_seed_same_result(make):
    a = make(np.random.default_rng(42))
    b = make(np.random.default_rng(42))
    c = make(np.random.default_rng(43))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_initialiser_errors():
    rng = np.random.default_rng(4)
    with pytest.raises(TypeError, match="Generator"):
        uniform_((2, 2), 0.1, np.random)
    with pytest.raises(ValueError, match="2-D"):
        orthogonal((2, 3, 4), rng)
    with pytest.raises(TypeError, match="floating dtype"):
        uniform_((2, 2), 0.1, rng, dtype=np.int32)
    with pytest.raises(ValueError, match="hidden_size"):
        pytorch_default((2, 2), 0, rng)


# ---------------------------------------------------------------- init_recurrent_params

@pytest.mark.parametrize("scheme,scale", [("pytorch", None), ("uniform", 0.1), ("orthogonal", None), ("xavier", None)])
def test_init_recurrent_params_schemes(scheme, scale):
    H = 4
    params = recurrent_params(gates=4, H=H)
    arrays_before = {k: v for k, v in params.items()}
    init_recurrent_params(params, H, np.random.default_rng(5), scheme=scheme, scale=scale)
    for key, arr in params.items():
        assert arr is arrays_before[key], f"{key}: must be written in place"
        assert arr.dtype == np.float32, key
    assert np.all(params["encoder.h0_l0"] == 7.0)
    assert np.all(params["embedding.weight"] == 9.0)
    recurrent = {k: v for k, v in params.items() if "_l" in k and "h0" not in k}
    assert len(recurrent) == 16
    for key, arr in recurrent.items():
        assert np.all(arr != 0), f"{key} was not initialised"
        if scheme == "uniform":
            bound = scale
        elif scheme == "xavier" and ".weight" in key:
            bound = np.sqrt(6 / sum(arr.shape))
        elif scheme == "orthogonal" and "weight_hh" in key:
            for g in range(4):
                block = arr[g * H:(g + 1) * H].astype(np.float64)
                assert_close(f"{key} block {g}", block.T @ block, np.eye(H), 1e-6)
            continue
        else:
            bound = 1 / np.sqrt(H)
        assert np.abs(arr).max() <= bound + 1e-7, f"{key}: {np.abs(arr).max()} > {bound}"


def test_init_recurrent_params_same_seed_same_result():
    a = recurrent_params(gates=3)
    b = recurrent_params(gates=3)
    c = recurrent_params(gates=3)
    init_recurrent_params(a, 4, np.random.default_rng(6), scheme="orthogonal")
    init_recurrent_params(b, 4, np.random.default_rng(6), scheme="orthogonal")
    init_recurrent_params(c, 4, np.random.default_rng(7), scheme="orthogonal")
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert not np.array_equal(a["encoder.weight_hh_l0"], c["encoder.weight_hh_l0"])


def test_forget_bias_slices():
    H = 4
    params = recurrent_params(gates=4, H=H)
    init_recurrent_params(params, H, np.random.default_rng(8), forget_bias=1.0)
    for key, arr in params.items():
        if ".bias_ih" in key:
            assert np.all(arr[H:2 * H] == 1.0), key
            hh = params[key.replace("bias_ih", "bias_hh")]
            assert np.all(hh[H:2 * H] == 0.0), key
            assert_close(f"{key} total forget bias", arr[H:2 * H] + hh[H:2 * H], np.ones(H), 0.0)
            for other in (slice(0, H), slice(2 * H, 4 * H)):  # i, g, o untouched by forget_bias
                assert np.all(arr[other] != 0) and np.all(np.abs(arr[other]) <= 1 / np.sqrt(H)), key


def test_init_recurrent_params_errors():
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError, match=r"\(16,\).*got \(12,\)"):
        init_recurrent_params(recurrent_params(gates=3), 4, rng, forget_bias=1.0)  # a GRU has no forget gate
    with pytest.raises(ValueError, match="scale"):
        init_recurrent_params(recurrent_params(gates=4), 4, rng, scheme="uniform")
    with pytest.raises(ValueError, match="scale"):
        init_recurrent_params(recurrent_params(gates=4), 4, rng, scheme="pytorch", scale=0.1)
    with pytest.raises(ValueError, match="scheme"):
        init_recurrent_params(recurrent_params(gates=4), 4, rng, scheme="kaiming")
    with pytest.raises(ValueError, match="multiple of hidden_size=5"):
        init_recurrent_params(recurrent_params(gates=4, H=4), 5, rng)
    with pytest.raises(ValueError, match="no"):
        init_recurrent_params({"weight_hh_l0": np.zeros((16, 4), np.float32)}, 4, rng, forget_bias=1.0)


def test_keys_match_torch_lstm():
    torch = pytest.importorskip("torch")
    H = 3
    module = torch.nn.LSTM(2, H, num_layers=2, bidirectional=True)
    params = {k: np.zeros(tuple(v.shape), np.float32) for k, v in module.state_dict().items()}
    init_recurrent_params(params, H, np.random.default_rng(10), forget_bias=2.0)
    for key, arr in params.items():
        assert arr.shape == tuple(module.state_dict()[key].shape)
        assert np.count_nonzero(arr) >= arr.size - H, f"{key} was not initialised"
