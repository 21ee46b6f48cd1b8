"""No tracked text file holds a merge's conflict markers: a resolved merge that kept one would ship it in the docs
(the doc tests read the pages' commands and links, not the prose between them)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^(<{7}|>{7}) \S", re.M)  # (a lone ======= is also a heading's underline)


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.splitlines() if name.endswith((".md", ".py", ".toml", ".txt", ".cfg"))]


def test_no_tracked_file_holds_conflict_markers():
    found = []
    for path in _tracked():
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}" for m in MARKER.finditer(text)]
    assert not found, "conflict markers left by a merge: " + ", ".join(found)


def test_the_pattern_finds_a_marker():
    assert MARKER.search("text\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> branch\n")
    assert not MARKER.search("Heading\n=======\n>>> a doctest\n")
