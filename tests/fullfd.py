"""Whole-model gradient checks on every entry: float64 central differences against a backward pass.

    error = max |a - n| / max(1, |n|)   over every entry of every array

(relative for large gradients, absolute for small ones), with n = (f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps).
A wrong backward line is off by 1e-3 or more; float64 differences agree to about 1e-8 here.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from rnnkit.gradcheck import numeric_grad


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Many tiny GEMMs, one step at a time: threaded BLAS only adds contention there (import it to use it)."""
    with threadpool_limits(limits=1):
        yield


def randomise(params: Mapping[str, np.ndarray], rng: np.random.Generator, scale: float = 0.6) -> None:
    """Every entry from U(-scale, scale) (biases too, nothing zero); layer-norm gains around 1."""
    for k, v in params.items():
        gain = "ln_" in k.rsplit(".", 1)[-1] and "weight" in k
        v[...] = rng.uniform(-scale, scale, v.shape) + (1.0 if gain else 0.0)


def dense(g):
    """A row-sparse embedding gradient as a dense array; any other array as it is."""
    return g.to_dense() if hasattr(g, "to_dense") else g


def assert_every_entry(f: Callable[[], float], arrays: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
                       tol: float = 1e-6) -> None:
    """Every entry of every array in ``arrays`` (perturbed in place, restored) against ``grads``; each array's
    gradient must also be non-zero somewhere, so a parameter the loss never reaches is an error too."""
    assert set(grads) == set(arrays), f"gradient names differ: {sorted(set(grads) ^ set(arrays))}"
    for name, arr in arrays.items():
        a = np.asarray(dense(grads[name]), dtype=np.float64)
        assert a.shape == arr.shape, f"{name}: gradient shape {a.shape}, parameter {arr.shape}"
        n = numeric_grad(f, arr)
        err = float(np.max(np.abs(a - n) / np.maximum(1.0, np.abs(n))))
        assert err < tol, f"{name}: max difference {err:.3e} over {arr.size} entries"
        assert np.abs(n).max() > 1e-6, f"{name}: the loss does not depend on it"


def as_float32(layer, *arrays):
    """A float32 copy of a recurrent layer (its float64 weights rounded) and of ``arrays`` (tuples kept)."""
    from rnnkit.recurrent import make_recurrent

    f32 = make_recurrent({**layer.config.to_dict(), "dtype": "float32"}, np.random.default_rng(0))
    for k, v in layer.params.items():
        f32.params[k] = v.astype(np.float32)
    cast = [tuple(a.astype(np.float32) for a in x) if isinstance(x, tuple) else x.astype(np.float32) for x in arrays]
    return f32, *cast
