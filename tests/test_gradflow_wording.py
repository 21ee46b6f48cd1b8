"""What gradflow says about its numbers: its norms are accurate down to float64's smallest normal number (about
1e-308) and lose digits in the subnormal range below it (its help said norms far below 1e-154 were exact), and the
rate line names the ratio of an LSTM's c columns as ||dL/dc_t|| / ||dL/dc_t+1|| (it named dL/dh alone)."""
from __future__ import annotations

import math

import numpy as np

from rnnkit.cells._common import record_norm
from rnnkit.cli.main import main


def _rel_error(scale: float) -> float:
    base = np.random.default_rng(0).standard_normal((6, 5))
    buf = np.zeros(1)
    record_norm(buf, 0, base * scale)
    want = math.sqrt(float(np.sum(base ** 2)))  # the norm of the values meant, over scale
    return abs(buf[0] / scale - want) / want


def test_the_help_says_where_norms_are_accurate_and_where_they_lose_digits(capsys):
    try:
        main(["gradflow", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "are exact" not in text and "accurate down to about 1e-308" in text, text
    assert "lose digits in float64's subnormal range below it" in text, text
    # what it says: accurate at 1e-300, digits lost in the subnormal range
    assert _rel_error(1e-300) < 1e-12 and _rel_error(1e-318) > 1e-9


def _rate_line(capsys, *argv: str) -> str:
    assert main(["gradflow", "--steps", "6", "--hidden", "4", "--batch", "2", *argv]) == 0
    return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("per step back"))


def test_the_rate_line_names_the_cell_paths_ratio_for_the_c_columns(capsys):
    line = _rate_line(capsys, "--cell", "lstm")
    assert "lstm c " in line and "in the c columns ||dL/dc_t|| / ||dL/dc_t+1||" in line, line
    line = _rate_line(capsys, "--cell", "gru")
    assert "||dL/dh_t|| / ||dL/dh_t+1||" in line and "dL/dc" not in line, line
