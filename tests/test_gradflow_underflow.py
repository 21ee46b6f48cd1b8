"""Gradient norms far below 1e-154: the squares underflow, the norm must not (gradflow's long runs)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit.cells._common import record_norm
from rnnkit.cli.main import main
from rnnkit.diagnostics import grad_norms_per_step, gradient_flow
from rnnkit.recurrent import GRU, LSTM, RNN


@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e-200), (np.float64, 1e-300), (np.float64, 1e200),
                                          (np.float32, 1e-25), (np.float32, 1e30), (np.float64, 1.0)])
def test_the_norm_of_tiny_and_huge_arrays_is_exact(dtype, scale):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((6, 5))
    a = (base * scale).astype(dtype)
    want = math.sqrt(float(np.sum(base.astype(np.float64) ** 2))) * scale
    buf = np.zeros(1)
    record_norm(buf, 0, a)
    assert buf[0] == pytest.approx(want, rel=1e-5 if dtype == np.float32 else 1e-12, abs=0)


def test_zero_and_nonfinite_arrays_keep_their_norm():
    buf = np.zeros(3)
    for t, a in enumerate([np.zeros((2, 3)), np.array([[1.0, np.nan]]), np.array([[1.0, np.inf]])]):
        record_norm(buf, t, a)
    assert buf[0] == 0.0 and math.isnan(buf[1]) and buf[2] == math.inf


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_norms_scale_with_the_upstream_gradient_down_to_1e_300(cell):
    rng = np.random.default_rng(1)
    layer = {"rnn": RNN, "lstm": LSTM, "gru": GRU}[cell](4, 5, 1, dtype=np.float64, rng=rng)
    x = rng.standard_normal((7, 3, 4))
    d = rng.standard_normal((1, 3, 5))
    pair = (lambda a: (a, np.zeros_like(a))) if cell == "lstm" else (lambda a: a)
    ref = grad_norms_per_step(layer, x, dstate=pair(d))
    tiny = grad_norms_per_step(layer, x, dstate=pair(d * 1e-300))  # BPTT is linear in dL/dh_T
    np.testing.assert_allclose(tiny, ref * 1e-300, rtol=1e-12)


def test_gradient_flow_has_no_zero_before_float64_runs_out():
    n = gradient_flow("rnn", steps=700, hidden=8, batch=2)
    assert n[0] < 1e-200 and np.all(n > 0)  # was exact 0 from about 1e-162 down


def test_gradflow_prints_a_finite_rate_and_names_a_real_underflow(capsys):
    assert main(["gradflow", "--cell", "rnn", "--steps", "700", "--every", "100", "--hidden", "8",
                 "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "0.000e+00" not in out and "-inf" not in out and " nan" not in out
    assert main(["gradflow", "--cell", "rnn", "--steps", "200", "--every", "50", "--hidden", "8", "--batch", "2",
                 "--init", "0.001"]) == 0
    out = capsys.readouterr().out
    rate = out.split("per step back, on average: rnn ")[1]
    assert math.isfinite(float(rate.split()[0])) and "underflowed float64" in out
