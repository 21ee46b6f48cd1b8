"""The gradient-flow diagnostic's Frobenius norm and gradient clipping share one rescaled norm
(rnnkit.norms.scaled_norm, m * ||v / m||), and each keeps its exact results: the diagnostic's fallback worked in the
array's own dtype (a float32 array divided and summed in float32), clipping's in float64.  The two formulas as they
were written before they were shared are the oracles here, compared bit for bit on arrays whose squares underflow or
overflow (where the fallback runs) and on ordinary ones.  A float16 array is summed in float32 now (its float16 sum
of squares overflowed at 65504), and is compared with the norm in float64."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit.cells._common import record_norm
from rnnkit.norms import _SQUARES_OK, frobenius_norm, scaled_norm
from rnnkit.optim.clip import clip_grad_norm, grad_norm


def _diagnostic_before(a: np.ndarray) -> float:
    """cells._common.frobenius_norm as it was, its rescaled fallback inline."""
    s = float(np.vdot(a, a))
    lo, hi = _SQUARES_OK.get(a.dtype, _SQUARES_OK[np.dtype(np.float64)])
    if lo <= s <= hi:
        return math.sqrt(s)
    m = float(np.max(np.abs(a))) if a.size else 0.0
    if m == 0.0 or not math.isfinite(m):
        return m
    b = a / a.dtype.type(m)
    return m * math.sqrt(float(np.vdot(b, b)))


def _clip_before(v: np.ndarray, norm_type: float) -> float:
    """optim.clip._scaled_norm as it was (a float64 vector)."""
    if v.size == 0:
        return 0.0
    m = float(np.max(np.abs(v)))
    if m == 0.0 or not math.isfinite(m) or norm_type == math.inf:
        return m
    return m * float(np.linalg.norm(v / m, ord=norm_type))


SCALES = {np.float32: (1e-30, 1e-22, 1.0, 1e18, 1e36),
          np.float64: (1e-300, 1e-160, 1e-310, 1.0, 1e160, 1e300)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_diagnostic_norm_keeps_its_results_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    fell_back = 0
    for scale in SCALES[dtype]:
        for shape in [(16, 50), (7,), (3, 4, 5), (1, 1), (0, 3)]:
            for _ in range(20):
                a = (rng.standard_normal(shape) * scale).astype(dtype)
                want = _diagnostic_before(a)
                got = frobenius_norm(a)
                assert got == want or (math.isnan(got) and math.isnan(want)), (dtype, scale, shape, got, want)
                buf = np.zeros(1)
                record_norm(buf, 0, a)
                assert buf[0] == want or math.isnan(want)
                lo, hi = _SQUARES_OK[np.dtype(dtype)]
                fell_back += a.size > 0 and not lo <= float(np.vdot(a, a)) <= hi
    assert fell_back >= 40  # the rescaled path itself was compared, not only the plain one


def test_a_float16_norm_is_summed_in_float32_and_finite_whenever_the_norm_is():
    rng = np.random.default_rng(2)
    arrays = [np.ones(100_000, np.float16), np.full((300, 400), -60000.0, np.float16),
              np.full(7, np.finfo(np.float16).smallest_subnormal, np.float16)]
    arrays += [(rng.standard_normal(shape) * scale).astype(np.float16)
               for scale in (1e-6, 1e-4, 1.0, 200.0, 1e4) for shape in [(16, 50), (7,), (3000,)]]
    for a in arrays:
        want = float(np.linalg.norm(a.astype(np.float64)))  # float16 values are exact in float64; the sum: float32
        for got in (frobenius_norm(a), scaled_norm(a)):
            assert math.isfinite(got) and got == pytest.approx(want, rel=1e-4, abs=0), (a.shape, a.flat[0], got, want)
        buf = np.zeros(1)
        record_norm(buf, 0, a)
        assert buf[0] == frobenius_norm(a)
    assert frobenius_norm(np.ones(100_000, np.float16)) == math.sqrt(100_000)  # was inf


def test_the_diagnostic_norm_of_inf_nan_and_zero_is_as_before():
    for a in (np.array([np.inf, 1.0], np.float32), np.array([np.nan, 1e-30], np.float32), np.zeros(4, np.float32),
              np.array([1e-30, -np.inf]), np.zeros((0,), np.float32)):
        want, got = _diagnostic_before(a), frobenius_norm(a)
        assert got == want or (math.isnan(got) and math.isnan(want)), (a, got, want)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf])
def test_clippings_rescaled_norm_keeps_its_results_bit_for_bit(norm_type):
    rng = np.random.default_rng(1)
    for scale in (1e300, 1e200, 1e-200, 1.0):
        for size in (1, 5, 1000):
            for _ in range(10):
                v = rng.standard_normal(size) * scale
                with np.errstate(over="ignore"):
                    want = _clip_before(v, norm_type)
                assert scaled_norm(v, norm_type) == want, (scale, size)
    big = {"a": np.full((3, 4), 1e200), "b": np.full(5, -3e199)}  # the powers overflow: grad_norm's fallback
    norms = np.array([_clip_before(g.ravel(), norm_type) for g in big.values()])
    with np.errstate(over="ignore"):
        total = float(np.linalg.norm(norms, ord=norm_type))
    want = total if math.isfinite(total) else _clip_before(norms, norm_type)
    assert grad_norm(big, norm_type) == want and math.isfinite(want)



def test_clipping_falls_back_to_the_scaled_norm_on_underflow_too():
    tiny64, tiny32 = np.full(100, 1e-170), np.full((10, 10), 1e-24, np.float32)  # their squares underflow to 0
    assert grad_norm({"w": tiny64}) == pytest.approx(1e-169, rel=1e-15, abs=0)
    assert grad_norm({"w": tiny32}) == pytest.approx(10 * float(tiny32[0, 0]), rel=1e-15, abs=0)  # float32's 1e-24
    assert grad_norm({"w": tiny64, "b": np.full(300, -1e-170)}) == pytest.approx(2e-169, rel=1e-15, abs=0)
    assert clip_grad_norm({"w": tiny64.copy()}, 1.0) == grad_norm({"w": tiny64})  # the norm it returns
