"""rnnkit step's drawn layer-norm gains sit near 1 and shifts near 0; a seed's other numbers stay as they were."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.textbook import CELLS
from rnnkit.textbook.exercise import build_exercise

LN_CELLS = [c for c in CELLS if c.endswith(("_ln", "_ln_peephole"))]


@pytest.mark.parametrize("cell", LN_CELLS)
def test_gains_near_one_and_shifts_near_zero(cell):
    for seed in range(20):
        params = build_exercise(cell, np.random.default_rng(seed), input_size=2, hidden_size=3).params
        for name, value in params.items():
            if name.startswith("ln_") and name.endswith("_weight"):
                assert value.min() >= 0.5 and value.max() <= 1.5, (seed, name, value)  # was U(-1, 1): 0 or negative
            elif name.startswith("ln_"):
                assert np.abs(value).max() <= 0.2, (seed, name, value)


@pytest.mark.parametrize("cell", LN_CELLS)
def test_the_other_numbers_are_the_u_minus_one_one_draws_of_before(cell):
    ex = build_exercise(cell, np.random.default_rng(7), input_size=2, hidden_size=3, steps=2)
    rng = np.random.default_rng(7)
    drawn = {name: np.round(rng.uniform(-1, 1, value.shape), 1) + 0.0 for name, value in ex.params.items()}
    for name, value in ex.params.items():
        if not name.startswith("ln_"):
            np.testing.assert_array_equal(value, drawn[name])
    h0 = np.round(rng.uniform(-1, 1, 3), 1) + 0.0
    np.testing.assert_array_equal(ex.h0, h0)
    if ex.c0 is not None:
        rng.uniform(-1, 1, 3)
    np.testing.assert_array_equal(ex.xs, np.round(rng.uniform(-1, 1, (2, 2)), 1) + 0.0)
