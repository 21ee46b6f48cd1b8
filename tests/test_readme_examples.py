"""The README's Python examples run as written (in a scratch folder: one writes a checkpoint)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("k", range(len(BLOCKS)))
def test_a_readme_example_runs(k, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scope: dict = {"__name__": "__readme__"}
    exec(compile(BLOCKS[k], f"README.md python block {k}", "exec"), scope)
    # a print() whose comment shows its output must print that, "..." standing for any text
    prints = re.findall(r"^print\(.*?\)(?:\s+# (.*))?$", BLOCKS[k], flags=re.M)
    printed = capsys.readouterr().out.splitlines()[-len(prints):] if prints else []
    assert len(printed) == len(prints), (printed, prints)
    for line, shown in zip(printed, prints):
        pattern = ".*".join(map(re.escape, shown.split("..."))) if shown else ".*"
        assert re.fullmatch(pattern, line), f"printed {line!r}, the README shows {shown!r}"
    if "save_checkpoint" in BLOCKS[k]:  # the training loop's resume: the same weights and rate as saved
        assert (tmp_path / "run.safetensors").is_file()
        assert scope["opt"].lr == pytest.approx(1e-2 * 0.9**3)
        assert scope["opt"].step_count == 60 and np.isfinite(scope["loss"])
        history = scope["history"]  # learnable data: the loss falls well below log V (it stayed there)
        assert history[0] > 3.5 and max(history[-5:]) < 1.0, history
