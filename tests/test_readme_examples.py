"""The Python examples of README.md and its reference pages (docs/*.md) run as written, each on its own, in a
scratch folder (one writes a checkpoint)."""
from __future__ import annotations

import re
import numpy as np
import pytest
from docs_text import REFERENCE_PAGES, page_name

EXAMPLES = [(f"{page_name(page)} python block {k}", code) for page in REFERENCE_PAGES
            for k, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S))]
BLOCKS = [code for _, code in EXAMPLES]


def test_the_reference_pages_have_python_examples():
    """15 when the README held them all; the library page alone holds 6."""
    assert len(BLOCKS) >= 15
    assert sum(name.startswith("docs/library.md") for name, _ in EXAMPLES) >= 6


@pytest.mark.parametrize("k", range(len(BLOCKS)), ids=[name for name, _ in EXAMPLES])
def test_a_readme_example_runs(k, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scope: dict = {"__name__": "__readme__"}
    exec(compile(BLOCKS[k], EXAMPLES[k][0], "exec"), scope)
    # a print() whose comment shows its output must print that, "..." standing for any text
    prints = re.findall(r"^print\(.*?\)(?:\s+# (.*))?$", BLOCKS[k], flags=re.M)
    printed = capsys.readouterr().out.splitlines()[-len(prints):] if prints else []
    assert len(printed) == len(prints), (printed, prints)
    for line, shown in zip(printed, prints):
        pattern = ".*".join(map(re.escape, shown.split("..."))) if shown else ".*"
        assert re.fullmatch(pattern, line), f"printed {line!r}, {EXAMPLES[k][0]} shows {shown!r}"
    if "save_checkpoint" in BLOCKS[k]:  # the training loop's resume: the same weights and rate as saved
        assert (tmp_path / "run.safetensors").is_file()
        assert scope["opt"].lr == pytest.approx(1e-2 * 0.9**3)
        assert scope["opt"].step_count == 60 and np.isfinite(scope["loss"])
        history = scope["history"]  # learnable data: the loss falls well below log V (it stayed there)
        assert history[0] > 3.5 and max(history[-5:]) < 1.0, history
