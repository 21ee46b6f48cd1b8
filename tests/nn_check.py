"""What the nn-block tests share: the ``torch`` fixture (the test skips without torch; defined as torch_fixture so
that importing it does not shadow the test's ``torch`` argument) and assert_close, the largest absolute difference
of two arrays of one shape against a tolerance."""
from __future__ import annotations

import numpy as np
import pytest

TOL = 1e-6


@pytest.fixture(name="torch")
def torch_fixture():
    return pytest.importorskip("torch")


def assert_close(name, actual, expected, tol=TOL):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    diff = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    assert diff <= tol, f"{name}: max abs difference {diff:.3e} > {tol:.0e}"
