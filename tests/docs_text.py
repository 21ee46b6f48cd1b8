"""The English reference documentation: README.md and the topic pages under docs/ it links to.

README.md keeps the overview; the details (each command's options, the Python examples, the measurements) live in
docs/*.md, one topic a page.  The tutorial and the Chinese guide are not reference pages: test_docs_python runs
their examples in one namespace a page, where test_readme_examples runs each reference example on its own.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GUIDES = {ROOT / "docs" / "tutorial.md"}  # and docs/zh/, which docs/*.md does not reach
REFERENCE_PAGES = [README, *sorted(p for p in (ROOT / "docs").glob("*.md") if p not in GUIDES)]


def reference_text() -> str:
    """README.md and every reference page, in that order, a blank line between pages."""
    return "".join(page.read_text(encoding="utf-8").rstrip("\n") + "\n\n" for page in REFERENCE_PAGES)


def page_name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()
