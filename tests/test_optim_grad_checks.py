"""Optimizer.step refuses a bad gradient before updating anything (wrong shape, an integer or bool dtype, NaN
or inf, a finite float64 beyond float32's range), naming the parameter; HalveOnPlateau.step refuses a metric
that is not a number.  all_finite's dot never refuses a large finite array."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.checks import all_finite
from rnnkit.errors import NonFiniteError
from rnnkit.optim import OPTIMIZERS, SGD, Adam, HalveOnPlateau
from rnnkit.row_sparse import RowSparseGrad


def _params():
    rng = np.random.default_rng(0)
    return {"w": rng.standard_normal((4, 3)).astype(np.float32), "b": rng.standard_normal(3).astype(np.float32)}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("bad, error, match", [
    (np.full((4, 3), np.nan, np.float32), NonFiniteError, r"Expected finite values in grads\['w'\], got NaN"),
    (np.full((4, 3), -np.inf), NonFiniteError, r"Expected finite values in grads\['w'\], got inf"),
    (np.ones((4, 3), np.int64), TypeError, r"Expected grads\['w'\] to be a floating-point array, got dtype int64"),
    (np.ones((4, 3), bool), TypeError, r"Expected grads\['w'\] to be a floating-point array, got dtype bool"),
    (np.ones((4, 3), np.complex64), TypeError, r"floating-point array, got dtype complex64"),
    (np.ones((3, 4), np.float32), ValueError, r"Expected grads\['w'\] of shape \(4, 3\), got \(3, 4\)"),
    (np.full((4, 3), 1e300), NonFiniteError, r"Expected grads\['w'\] within float32's range, got values up to 1e\+300"),
])
def test_a_bad_gradient_changes_nothing(name, bad, error, match):
    params = _params()
    before = {k: v.copy() for k, v in params.items()}
    opt = OPTIMIZERS[name](params, lr=0.1)
    # "b" comes first and is fine: it must not be updated either
    with pytest.raises(error, match=match):
        opt.step({"b": np.ones(3, np.float32), "w": bad})
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    assert opt.step_count == 0 and all(not s for s in opt.state.values())
    opt.step({"b": np.ones(3, np.float32), "w": np.ones((4, 3), np.float32)})  # still usable
    assert opt.step_count == 1 and np.isfinite(params["w"]).all()


def test_a_non_finite_row_sparse_gradient_is_refused_and_a_finite_one_taken():
    params = {"emb": np.zeros((6, 2), np.float32)}
    opt = SGD(params, lr=1.0)
    values = np.array([[1.0, np.nan], [1.0, 1.0]], np.float32)
    with pytest.raises(NonFiniteError, match=r"grads\['emb'\], got NaN"):
        opt.step({"emb": RowSparseGrad(np.array([1, 4]), values, (6, 2))})
    assert not params["emb"].any()
    with pytest.raises(TypeError, match=r"grads\['emb'\] to be a floating-point array, got dtype int64"):
        opt.step({"emb": RowSparseGrad(np.array([1, 4]), np.ones((2, 2), np.int64), (6, 2))})
    opt.step({"emb": RowSparseGrad(np.array([1, 4]), np.ones((2, 2), np.float32), (6, 2))})
    assert params["emb"][[1, 4]].tolist() == [[-1.0, -1.0], [-1.0, -1.0]]


def test_large_finite_gradients_are_taken_where_the_dot_overflows():
    # float32 1e20: its square overflows the dot, which all_finite confirms entry by entry
    g = np.full((5, 4), 1e20, np.float32)
    assert all_finite(g) and all_finite(np.full(3, 1e200)) and all_finite(np.zeros((0, 3), np.float32))
    assert not all_finite(np.array([1e20, np.nan], np.float32)) and not all_finite(np.array([np.inf, -np.inf]))
    assert all_finite(np.ones((4, 6))[:, ::2]) and not all_finite(np.full((4, 6), np.nan)[:, ::2])  # a view
    assert all_finite(np.float64(3.0) * np.ones(())) and not all_finite(np.array(np.nan, np.float16))
    params = {"w": np.zeros((5, 4), np.float32)}
    SGD(params, lr=1e-20).step({"w": g})
    np.testing.assert_allclose(params["w"], -1.0)


@pytest.mark.parametrize("metric", ["3.0", b"3", None, True, np.bool_(False), [3.0], np.array([3.0]),
                                    np.array("3.0")])
def test_halve_on_plateau_refuses_a_metric_that_is_not_a_number(metric):
    sched = HalveOnPlateau(SGD(_params(), lr=0.1))
    with pytest.raises(TypeError, match=r"Expected metric to be a number \(the epoch's validation loss or score\), "
                                        r"got "):
        sched.step(metric)
    assert sched.epoch == 0 and sched.best == np.inf


def test_halve_on_plateau_takes_numpy_numbers_and_nan():
    opt = SGD(_params(), lr=0.1)
    sched = HalveOnPlateau(opt)
    for metric in (np.float32(3.0), np.array(2.0), np.int64(1), 5):
        sched.step(metric)
    assert sched.best == 1.0 and opt.lr == 0.05
    sched.step(float("nan"))  # never improves, as documented
    assert sched.best == 1.0 and opt.lr == 0.025


def test_a_float32_model_stays_float32_with_a_float64_gradient():
    params = _params()
    Adam(params, lr=0.1).step({"w": np.ones((4, 3)), "b": np.ones(3)})
    assert params["w"].dtype == np.float32 and params["b"].dtype == np.float32


def test_finite_true_skips_the_check_and_the_training_loop_says_it_checked(monkeypatch, tmp_path):
    """The training loop has seen every gradient (its clipping norm, or guard.check_finite), so it passes
    finite=True and the optimizer does not look again; a NaN then gets through, as documented."""
    params = _params()
    SGD(params, lr=0.1).step({"w": np.full((4, 3), np.nan, np.float32)}, finite=True)
    assert np.isnan(params["w"]).all()
    with pytest.raises(TypeError, match="finite"):
        SGD(_params(), lr=0.1).step({}, finite="yes")
    from rnnkit.cli.main import main

    seen = []
    original = SGD.step

    def spy(self, grads, grad_scale=1.0, finite=False):
        seen.append(finite)
        return original(self, grads, grad_scale, finite)

    monkeypatch.setattr(SGD, "step", spy)
    text = tmp_path / "t.txt"
    text.write_text("a b c d e f\n" * 40, encoding="utf-8")
    for clip in ("0", "5"):
        assert main(["train", "lm", "--train", str(text), "--hidden", "4", "--embed", "4", "--layers", "1",
                     "--batch-size", "2", "--bptt", "4", "--max-steps", "2", "--optimizer", "sgd", "--clip", clip,
                     "--progress", "none", "--run-dir", str(tmp_path / f"r{clip}")]) == 0
    assert seen == [True] * 4, seen
