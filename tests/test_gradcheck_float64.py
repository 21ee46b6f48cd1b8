"""rnnkit.gradcheck's finite differences refuse a float32 array (its 1e-6 steps round to whole ulps)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad, numeric_grad_at


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_numeric_grad_refuses_a_low_precision_array_with_the_fix(dtype):
    a = np.random.default_rng(0).standard_normal(4).astype(dtype)
    for call in (lambda: numeric_grad(lambda: float(np.sum(a ** 2)), a),
                 lambda: numeric_grad_at(lambda: float(np.sum(a ** 2)), a, [0])):
        with pytest.raises(TypeError, match=r"float64.*x\.astype\(np\.float64\)") as err:
            call()
        assert "\n" not in str(err.value)


def test_numeric_grad_in_float64_is_exact_to_1e_8():
    a = np.random.default_rng(1).standard_normal((2, 3))
    got = numeric_grad(lambda: float(np.sum(np.tanh(a) ** 2)), a)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, 2 * np.tanh(a) * (1 - np.tanh(a) ** 2), atol=1e-8)
