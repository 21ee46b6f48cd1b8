"""Row-sparse embedding gradients and clipping folded into the optimizer step.

Each path is checked against the dense, unfolded one it replaces: ``embedding_backward(sparse=True)``
against the dense gradient, ``grad_norm``/``clip_grad_norm`` on a RowSparseGrad against the same
numbers dense, ``step(grads, grad_scale=c)`` against ``clip_grad_norm`` then ``step``, and a sparse
step against a dense one, for every optimizer.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit.guard import TrainingDivergedError, check_finite
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.nn.embedding import Embedding, embedding_backward, embedding_forward
from rnnkit.optim import OPTIMIZERS, clip_coefficient, clip_grad_norm, grad_norm, make_optimizer
from rnnkit.row_sparse import RowSparseGrad

V, E = 11, 4
OPTIMIZER_CASES = [
    ("sgd", {"lr": 0.3}),
    ("sgd", {"lr": 0.3, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adagrad", {"lr": 0.1}),
    ("rmsprop", {"lr": 0.01, "centered": True}),
    ("adadelta", {}),
    ("adam", {"lr": 0.01}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
]


def sparse_and_dense(rng: np.random.Generator, dtype=np.float64, padding_idx=None):
    ids = rng.integers(0, V, (6, 3))
    ids[0, 0] = ids[2, 1] = ids[5, 2]  # a repeated id whose rows must be summed
    weight = rng.standard_normal((V, E)).astype(dtype)
    _, cache = embedding_forward(ids, weight, padding_idx)
    dout = rng.standard_normal((6, 3, E)).astype(dtype)
    _, sparse = embedding_backward(dout, cache, sparse=True)
    _, dense = embedding_backward(dout, cache)
    return ids, sparse["weight"], dense["weight"]


@pytest.mark.parametrize("padding_idx", [None, 3])
def test_sparse_embedding_gradient_equals_dense(padding_idx):
    rng = np.random.default_rng(0)
    ids, sparse, dense = sparse_and_dense(rng, padding_idx=padding_idx)
    assert isinstance(sparse, RowSparseGrad) and sparse.shape == (V, E) and sparse.dtype == np.float64
    seen = sorted(set(ids.ravel().tolist()) - {padding_idx})
    assert sparse.indices.tolist() == seen  # unique, sorted, padding row left out
    np.testing.assert_array_equal(sparse.to_dense(), dense)
    # the dense gradient is zero outside the listed rows
    others = np.setdiff1d(np.arange(V), sparse.indices)
    assert not dense[others].any()


def test_embedding_module_sparse_flag():
    rng = np.random.default_rng(1)
    emb = Embedding(V, E, rng, sparse=True)
    out, cache = emb.forward(np.array([[1, 2], [2, 5]]))
    _, g = emb.backward(np.ones_like(out), cache)
    assert isinstance(g["weight"], RowSparseGrad)
    assert g["weight"].indices.tolist() == [1, 2, 5]
    np.testing.assert_array_equal(g["weight"].values[1], np.full(E, 2.0, np.float32))  # id 2 read twice


def test_row_sparse_grad_rejects_bad_parts():
    with pytest.raises(ValueError, match="unique, sorted"):
        RowSparseGrad(np.array([2, 1]), np.zeros((2, E)), (V, E))
    with pytest.raises(ValueError, match="unique, sorted"):
        RowSparseGrad(np.array([1, V]), np.zeros((2, E)), (V, E))
    with pytest.raises(ValueError, match="values of shape"):
        RowSparseGrad(np.array([1, 2]), np.zeros((2, E + 1)), (V, E))
    with pytest.raises(ValueError, match="integer"):
        RowSparseGrad(np.array([1.0]), np.zeros((1, E)), (V, E))
    empty = RowSparseGrad(np.zeros(0, np.int64), np.zeros((0, E), np.float32), (V, E))
    assert not empty.to_dense().any() and empty.to_dense().dtype == np.float32


def test_norm_and_clipping_of_a_sparse_gradient_equal_the_dense_ones():
    rng = np.random.default_rng(2)
    _, sparse, dense = sparse_and_dense(rng)
    other = rng.standard_normal((3, 5))
    total = grad_norm({"e": sparse, "w": other})
    assert math.isclose(total, grad_norm({"e": dense, "w": other}), rel_tol=1e-12)
    assert math.isclose(total, float(np.sqrt((dense ** 2).sum() + (other ** 2).sum())), rel_tol=1e-12)
    dense_grads = {"e": dense.copy(), "w": other.copy()}
    sparse_grads = {"e": sparse, "w": other.copy()}
    n1 = clip_grad_norm(dense_grads, 0.5 * total)
    n2 = clip_grad_norm(sparse_grads, 0.5 * total)
    assert n1 == pytest.approx(n2, rel=1e-12)
    np.testing.assert_allclose(sparse_grads["e"].to_dense(), dense_grads["e"], rtol=1e-14, atol=0)
    assert grad_norm(sparse_grads) == pytest.approx(0.5 * total, rel=1e-6)


def test_grad_norm_reads_read_only_arrays_and_clip_coefficient():
    g = np.arange(4.0)
    g.flags.writeable = False
    assert grad_norm({"g": g}) == pytest.approx(math.sqrt(14.0))
    assert grad_norm({"g": g}, "inf") == 3.0
    assert clip_coefficient(10.0, 5.0) == pytest.approx(5.0 / (10.0 + 1e-6))
    assert clip_coefficient(1.0, 5.0) == 1.0
    assert clip_coefficient(float("nan"), 5.0) == 1.0 and clip_coefficient(float("inf"), 5.0) == 1.0
    with pytest.raises(ValueError, match="max_norm"):
        clip_coefficient(1.0, 0.0)


def test_check_finite_names_a_nan_in_a_sparse_gradient():
    values = np.ones((2, E))
    values[1, 2] = np.nan
    with pytest.raises(TrainingDivergedError, match="embedding.weight has NaN"):
        check_finite(7, 1.0, {"embedding.weight": RowSparseGrad(np.array([0, 4]), values, (V, E))})


def _params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"embedding.weight": rng.standard_normal((V, E)), "rnn.weight": rng.standard_normal((3, E)),
            "rnn.bias": rng.standard_normal(3)}


@pytest.mark.parametrize("name,kw", OPTIMIZER_CASES)
def test_sparse_and_scaled_steps_equal_dense_clipped_steps(name, kw):
    """Five steps with the embedding's gradient row-sparse and clipping passed as grad_scale give the
    parameters and state of five steps with dense gradients clipped in place first (clipping on
    alternate steps, so both the scaled and the unscaled paths run)."""
    rng = np.random.default_rng(3)
    start = _params(rng)
    ref_params = {k: v.copy() for k, v in start.items()}
    new_params = {k: v.copy() for k, v in start.items()}
    ref, new = make_optimizer(name, ref_params, **kw), make_optimizer(name, new_params, **kw)
    for step in range(5):
        _, sparse, dense = sparse_and_dense(rng)
        rest = {"rnn.weight": rng.standard_normal((3, E)), "rnn.bias": rng.standard_normal(3)}
        g_ref = {"embedding.weight": dense, **{k: v.copy() for k, v in rest.items()}}
        g_new = {"embedding.weight": sparse, **rest}
        max_norm = 2.0 if step % 2 == 0 else 1e3  # clip on some steps only
        clip_grad_norm(g_ref, max_norm)
        ref.step(g_ref)
        new.step(g_new, grad_scale=clip_coefficient(grad_norm(g_new), max_norm))
    # to rounding: plain SGD computes (lr c) g where the reference has lr (c g), and the global norm of
    # the sparse rows may be summed in another order than the dense array's
    for k in start:
        np.testing.assert_allclose(new_params[k], ref_params[k], rtol=1e-13, atol=1e-13)
    for k, buffers in ref.state.items():
        assert set(new.state[k]) == set(buffers)
        for b, arr in buffers.items():
            np.testing.assert_allclose(new.state[k][b], arr, rtol=1e-13, atol=1e-13)


def test_plain_sgd_sparse_step_touches_only_the_rows_and_leaves_the_gradient():
    rng = np.random.default_rng(4)
    params = _params(rng)
    before = params["embedding.weight"].copy()
    _, sparse, _ = sparse_and_dense(rng)
    values = sparse.values.copy()
    make_optimizer("sgd", params, lr=0.5).step({"embedding.weight": sparse}, grad_scale=0.25)
    untouched = np.setdiff1d(np.arange(V), sparse.indices)
    np.testing.assert_array_equal(params["embedding.weight"][untouched], before[untouched])
    np.testing.assert_allclose(params["embedding.weight"][sparse.indices],
                               before[sparse.indices] - 0.125 * values, rtol=1e-15)
    np.testing.assert_array_equal(sparse.values, values)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adagrad_sparse_steps_touch_only_the_rows_and_equal_dense_steps_bit_for_bit(dtype):
    """Adagrad without weight decay: a zero gradient row changes neither its sum nor its weights, so the
    row-sparse step updates only the rows and is the dense step exactly (with grad_scale too)."""
    rng = np.random.default_rng(6)
    start = {k: v.astype(dtype) for k, v in _params(rng).items()}
    dense_params = {k: v.copy() for k, v in start.items()}
    sparse_params = {k: v.copy() for k, v in start.items()}
    kw = {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}
    ref, new = make_optimizer("adagrad", dense_params, **kw), make_optimizer("adagrad", sparse_params, **kw)
    for step in range(4):
        _, sparse, dense = sparse_and_dense(rng, dtype)
        before = sparse_params["embedding.weight"].copy()
        values = sparse.values.copy()
        scale = 0.5 if step % 2 else 1.0
        ref.step({"embedding.weight": dense}, grad_scale=scale)
        new.step({"embedding.weight": sparse}, grad_scale=scale)
        untouched = np.setdiff1d(np.arange(V), sparse.indices)
        np.testing.assert_array_equal(sparse_params["embedding.weight"][untouched], before[untouched])
        np.testing.assert_array_equal(sparse.values, values)
    np.testing.assert_array_equal(sparse_params["embedding.weight"], dense_params["embedding.weight"])
    np.testing.assert_array_equal(new.state["embedding.weight"]["sum"], ref.state["embedding.weight"]["sum"])


def test_step_checks_sparse_gradients_and_grad_scale():
    rng = np.random.default_rng(5)
    params = _params(rng)
    opt = make_optimizer("sgd", params, lr=0.1)
    wrong = RowSparseGrad(np.array([0]), np.ones((1, E)), (V + 1, E))
    with pytest.raises(ValueError, match="shape"):
        opt.step({"embedding.weight": wrong})
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="grad_scale"):
            opt.step({"rnn.bias": np.ones(3)}, grad_scale=bad)
    # a float32 model given float64 values stays float32
    p32 = {"w": np.ones((V, E), np.float32)}
    make_optimizer("sgd", p32, lr=0.1).step({"w": RowSparseGrad(np.array([2]), np.ones((1, E)), (V, E))})
    assert p32["w"].dtype == np.float32 and p32["w"][2, 0] == np.float32(0.9)
    assert set(OPTIMIZERS) == {name for name, _ in OPTIMIZER_CASES}  # every optimizer is covered above


@pytest.mark.parametrize("tie", [False, True])
def test_language_model_sparse_embedding_gradient(tie):
    rng = np.random.default_rng(6)
    model = LanguageModel(LMConfig(vocab_size=13, embedding_dim=5, hidden_size=5, tie_weights=tie,
                                   dtype="float64"), rng)
    ids = rng.integers(0, 13, (6, 2))
    targets = rng.integers(0, 13, (6, 2))
    _, _, cache = model.forward(ids, targets)
    dense = model.backward(0.5, cache)
    _, _, cache = model.forward(ids, targets)
    sparse = model.backward(0.5, cache, sparse_embedding=True)
    g = sparse["embedding.weight"]
    if tie:  # the tied decoder's gradient fills every row: it stays dense
        assert isinstance(g, np.ndarray)
    else:
        assert isinstance(g, RowSparseGrad) and g.indices.tolist() == sorted(set(ids.ravel().tolist()))
        g = g.to_dense()
    np.testing.assert_array_equal(g, dense["embedding.weight"])
