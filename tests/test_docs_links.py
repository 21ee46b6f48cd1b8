"""Every relative link in README.md and docs/**/*.md leads somewhere: to a file or folder that exists and, when it
names a ``#fragment`` of a Markdown file, to a heading of that file.

Anchors are made as GitHub makes them (github-slugger): the heading's text as it renders (code spans' marks,
emphasis marks and link syntax gone: ``__init__`` shows as a bold init; character references such as ``&amp;``
decoded), lowercased, every character that is not a letter, a mark, a decimal digit or a letter number, ``_``,
a space, a hyphen or an alphabetic symbol (ⓐ) dropped (x² gives x), each space turned into a hyphen; a slug met
again gets ``-1``, ``-2``, ... in the order the headings come.
Headings and links inside fenced code blocks and code spans are not Markdown and are skipped.  A link that leaves
the repository (``https:``, ``mailto:``, ``//host``) is not checked.
"""
from __future__ import annotations

import html
import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
CODE_SPAN = re.compile(r"(`+)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.DOTALL)  # within a paragraph
# [text](destination "title"): the text may hold one level of brackets and wrap across lines
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(<[^<>\n]*>|[^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)"
                  r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)")
DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*(<[^<>\n]*>|\S+)", re.MULTILINE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
TAG = re.compile(r"<[^<>]+>")
KEPT = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "Pc"}
CODE_MARK = 0xF0000  # a private-use plane: one character per code span while the rest is rendered
# emphasis: ** and * anywhere, __ and _ not inside a word (snake_case is no emphasis)
EMPHASIS = [re.compile(rf"{left}{mark}(?=\S)(.+?)(?<=\S){mark}{right}") for mark, left, right in (
    (r"\*\*", "", ""), ("__", "(?<![A-Za-z0-9])", "(?![A-Za-z0-9])"), (r"\*", "", ""),
    ("_", "(?<![A-Za-z0-9])", "(?![A-Za-z0-9])"))]


def outside_fences(markdown: str) -> list[str]:
    """``markdown``'s lines with every fenced code block's lines (fences included) blanked, so numbers stay."""
    lines = markdown.splitlines()
    opened = ""  # the open fence's characters, "" outside a block
    for k, line in enumerate(lines):
        fence = FENCE.match(line)
        if opened:
            if fence and fence.group(1)[0] == opened[0] and len(fence.group(1)) >= len(opened) \
                    and not line.strip().strip(opened[0]):
                opened = ""
            lines[k] = ""
        elif fence:
            opened = fence.group(1)
            lines[k] = ""
    return lines


def rendered(text: str) -> str:
    """A heading's text as GitHub shows it: code spans' contents kept as they are, link syntax, HTML tags and
    emphasis marks gone (``__init__`` shows as a bold init), character references decoded (``&amp;``)."""
    code: list[str] = []

    def hold(m: re.Match) -> str:  # a code span's contents, kept out of the rest's rules
        code.append(m.group(2).strip(" ") if m.group(2).strip(" ") else m.group(2))
        return chr(CODE_MARK + len(code) - 1)

    text = CODE_SPAN.sub(hold, text)
    text = TAG.sub("", LINK.sub(lambda m: m.group(1), text))
    for emphasis in EMPHASIS:
        text = emphasis.sub(lambda m: m.group(1), text)
    text = html.unescape(text)
    return re.sub(f"[{chr(CODE_MARK)}-{chr(CODE_MARK + 0xFFFD)}]", lambda m: code[ord(m.group()) - CODE_MARK], text)


def slug(text: str) -> str:
    """github-slugger's slug of a heading's rendered text (without the -N of a repeated one): it drops Other_Number
    (², ½), punctuation but ``-`` and ``_``, symbols, controls, format and unassigned characters and separators but
    the space, except alphabetic ones (circled and squared letters, ⓐ, are symbols with the Alphabetic property)."""
    kept = "".join(c for c in text.lower() if c in " -" or unicodedata.category(c) in KEPT or _alphabetic_symbol(c))
    return kept.replace(" ", "-")


def _alphabetic_symbol(c: str) -> bool:
    """A symbol with Unicode's Alphabetic property (Other_Alphabetic): circled, squared and negative
    circled or squared Latin letters, which github-slugger keeps."""
    o = ord(c)
    return 0x24B6 <= o <= 0x24E9 or 0x1F130 <= o <= 0x1F149 or 0x1F150 <= o <= 0x1F169 or 0x1F170 <= o <= 0x1F189


def heading_texts(markdown: str) -> list[str]:
    """The text of each ATX (``## Title``) and setext (``Title`` over ``---``) heading, in order."""
    lines = outside_fences(markdown)
    texts: list[str] = []
    for k, line in enumerate(lines):
        atx = ATX.match(line)
        if atx:
            texts.append((atx.group(1) or "").strip())
        elif SETEXT.match(line) and k > 0 and lines[k - 1].strip() and not ATX.match(lines[k - 1]) \
                and not SETEXT.match(lines[k - 1]):
            texts.append(lines[k - 1].strip())
    return texts


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives ``markdown``'s headings: a repeated slug gets -1, -2, ..."""
    made: set[str] = set()
    for text in heading_texts(markdown):
        base = slug(rendered(text))
        anchor, n = base, 0
        while anchor in made:
            n += 1
            anchor = f"{base}-{n}"
        made.add(anchor)
    return made


def links(markdown: str) -> list[tuple[int, str]]:
    """(line number, destination) of each inline link, image and link definition outside code."""
    text = "\n".join(outside_fences(markdown))
    # a code span is blanked to spaces (its newlines kept), so a bracket inside it starts no link
    text = CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    found = [(m.start(), m.group(2)) for m in LINK.finditer(text)]
    found += [(m.start(), m.group(1)) for m in DEFINITION.finditer(text)]
    return sorted((text.count("\n", 0, start) + 1, dest.strip("<>")) for start, dest in found)


def broken_links(page: Path) -> list[str]:
    """One line per relative link of ``page`` whose file or heading is missing: 'path:line: link: what'."""
    name = page.relative_to(ROOT).as_posix()
    problems = []
    for line, dest in links(page.read_text(encoding="utf-8")):
        if SCHEME.match(dest) or dest.startswith("//"):
            continue
        path, _, fragment = dest.partition("#")
        target = (page.parent / unquote(path)).resolve() if path else page
        where = f"{name}:{line}: ({dest})"
        if not target.exists():
            problems.append(f"{where}: no file {Path(os.path.relpath(target, ROOT)).as_posix()}")
        elif fragment and target.suffix == ".md" and unquote(fragment) not in anchors(target.read_text("utf-8")):
            problems.append(f"{where}: no heading of {target.relative_to(ROOT).as_posix()} has the anchor "
                            f"#{unquote(fragment)}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_reach_a_file_and_heading(page: Path) -> None:
    problems = broken_links(page)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_pages_have_links_to_check() -> None:
    """The link finder finds the README's links to its pages, so an empty pass above is not a parser gone blind."""
    found = {dest for _, dest in links((ROOT / "README.md").read_text(encoding="utf-8"))}
    assert {"docs/tutorial.md", "docs/training.md#reproducibility-and-threads"} <= found


@pytest.mark.parametrize(("markdown", "expected"), [
    ("# Files\n## Files\n## Files\n", {"files", "files-1", "files-2"}),
    ("## ONNX export (`--onnx`)\n", {"onnx-export---onnx"}),
    ("### A user dictionary for 分词\n", {"a-user-dictionary-for-分词"}),
    ("## Reproducibility, and threads!\n", {"reproducibility-and-threads"}),
    ("## [Linked](x.md) *title* <b>bold</b> `a_b`\n", {"linked-title-bold-a_b"}),
    ("Setext title\n---\n", {"setext-title"}),
    ("```\n# not a heading\n```\n## Real\n", {"real"}),
])
def test_anchors_follow_github(markdown: str, expected: set[str]) -> None:
    assert anchors(markdown) == expected


def test_other_numbers_go_and_alphabetic_symbols_stay() -> None:
    """github-slugger drops Other_Number (x², ½, ①) but keeps a symbol with the Alphabetic property (ⓐ, Ⓑ)."""
    assert slug("x² and ½ ①") == "x-and--" and slug("Ⓑ ⓐ 🅰") == "ⓑ-ⓐ-🅰" and slug("Ⅻ 3") == "ⅻ-3"


def test_emphasis_marks_go_but_not_in_code_or_a_word() -> None:
    assert rendered("The __init__ method") == "The init method" and slug(rendered("**Bold** *it* _x_")) == "bold-it-x"
    assert rendered("`__init__` and snake_case_name") == "__init__ and snake_case_name"


def test_character_references_are_decoded_before_slugging() -> None:
    """``&amp;`` shows as & (dropped as punctuation), ``&auml;`` as ä (a letter, kept); not inside code."""
    assert anchors("## A &amp; B &auml;\n## `&amp;`\n") == {"a--b-ä", "amp"}


def test_links_skip_code_and_find_wrapped_text() -> None:
    markdown = ("see [Subword language\nmodels](language-models.md#subword-language-models) and `[x](no.md)`\n"
                "```\n[y](no.md)\n```\n[ref]: files.md#shipping-a-model\n")
    assert links(markdown) == [(1, "language-models.md#subword-language-models"), (6, "files.md#shipping-a-model")]


def test_a_stray_backtick_hides_no_link_of_the_next_paragraph() -> None:
    assert links("a stray ` here\n\n[z](z.md) and ` later\n") == [(3, "z.md")]
