"""benchmarks/_lm_common.write_subsection: a rerun replaces its subsection's table and keeps the notes
written by hand after the NOTES line (a zh-seg rerun had dropped the history its table needed)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

SPEC = importlib.util.spec_from_file_location("_lm_common", Path(__file__).resolve().parents[1] / "benchmarks" /
                                              "_lm_common.py")
common = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(common)


def test_a_rerun_keeps_the_hand_written_notes(tmp_path):
    path = tmp_path / "RESULTS.md"
    common.write_subsection("Tagging", "intro", "run A", "old table", path)
    common.write_subsection("Tagging", "intro", "run B", "B's table", path)
    text = path.read_text(encoding="utf-8")
    notes = f"old table\n\n{common.NOTES}\n\nwhy the table moved\n"
    path.write_text(text.replace("old table\n", notes), encoding="utf-8")
    common.write_subsection("Tagging", "intro", "run A", "new table", path)
    text = path.read_text(encoding="utf-8")
    assert "old table" not in text and "new table" in text and "B's table" in text
    assert text.index("new table") < text.index(common.NOTES) < text.index("why the table moved") < text.index("run B")
    common.write_subsection("Tagging", "intro", "run A", "newer table", path)  # and again
    assert path.read_text(encoding="utf-8").count("why the table moved") == 1
    common.write_subsection("Tagging", "intro", "run B", "B's new table", path)  # no notes: replaced whole
    assert path.read_text(encoding="utf-8").endswith("### run B\n\nB's new table\n")


def test_the_recorded_tagging_reruns_name_one_neutral_work_folder():
    # a rerun command names the folder every tagging benchmark used, not one session's scratch folder
    text = (Path(__file__).resolve().parents[1] / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    works = re.findall(r"bench_tagging\.py [^\n]*--work ([^\s`,]+)", text)
    assert len(works) > 10 and set(works) == {"/work/runs/bench_tagging"}, sorted(set(works))
