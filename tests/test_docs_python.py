"""The Python examples of the guides, docs/tutorial.md and docs/zh/, run as written, and print what their comments say.

Each file's ```python blocks run in order in one namespace (a page builds on its earlier blocks), in a
scratch folder (they write files).  A top-level ``print(...)`` whose line ends in a comment must print
that comment's text, ``...`` standing for any text; other prints are free.
"""
from __future__ import annotations

import ast
import contextlib
import io
import re
import tokenize
from pathlib import Path

import pytest
from docs_text import REFERENCE_PAGES

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p for p in (ROOT / "docs").glob("**/*.md")  # the reference pages' examples: test_readme_examples
               if "```python" in p.read_text(encoding="utf-8") and p not in REFERENCE_PAGES)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number of the block's first code line, code) of each ```python block of a Markdown text."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M)]


def shown_output(code: str) -> dict[int, str]:
    """{line: the comment's text} for each line of ``code`` that ends in a comment (1-based lines)."""
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string[1:].strip()
    return comments


def run_block(code: str, first_line: int, name: str, scope: dict) -> list[str]:
    """Run ``code`` statement by statement in ``scope``; the mismatches of its commented prints."""
    tree = ast.parse(code)
    comments = shown_output(code)
    wrong = []
    for statement in tree.body:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(ast.Module([statement], type_ignores=[]), f"{name}:{first_line}", "exec"), scope)
        is_print = (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
                    and getattr(statement.value.func, "id", None) == "print")
        shown = comments.get(statement.end_lineno) if is_print else None
        if shown is None:
            continue
        printed = out.getvalue().rstrip("\n")
        pattern = ".*".join(map(re.escape, shown.split("...")))
        if not re.fullmatch(pattern, printed, flags=re.S):
            wrong.append(f"{name}:{first_line + statement.lineno - 1}: printed {printed!r}, the page shows {shown!r}")
    return wrong


def test_the_pages_have_python_examples():
    assert {p.relative_to(ROOT).as_posix() for p in PAGES} >= {"docs/tutorial.md", "docs/zh/README.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_pages_examples_run_and_print_what_they_show(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = page.relative_to(ROOT).as_posix()
    scope: dict = {"__name__": "__docs__"}
    wrong = []
    for first_line, code in python_blocks(page.read_text(encoding="utf-8")):
        wrong += run_block(code, first_line, name, scope)
    assert not wrong, "\n".join(wrong)


def test_a_wrong_comment_is_caught(tmp_path):
    code = "x = 2\nprint(x + 1)  # 3\nprint('a b c')  # a ... c\nprint(x * 2)  # 5\n"
    assert run_block(code, 10, "page.md", {}) == ["page.md:13: printed '4', the page shows '5'"]


def test_the_chinese_guides_toy_corpus_is_one_corpus_in_three_formats(tmp_path):
    """docs/zh/toy_data.py, which the Chinese guide's commands read: the raw, segmented and CoNLL-U files hold
    the same sentences, rnnkit's readers read them, and the same seed writes the same files."""
    import importlib.util

    from rnnkit.data.conll import read_conllu
    from rnnkit.data.segmentation import read_segmented

    spec = importlib.util.spec_from_file_location("toy_data", ROOT / "docs" / "zh" / "toy_data.py")
    toy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(toy)
    files = {p.name: p for p in toy.write(tmp_path / "a", seed=0)}
    for split, raw in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt")):
        segmented = read_segmented(files[f"seg-{split}.txt"])
        conllu = read_conllu(files[f"pos-{split}.conllu"])
        assert [s.words for s in conllu] == segmented
        assert files[raw].read_text(encoding="utf-8").splitlines() == ["".join(words) for words in segmented]
        assert {t for s in conllu for t in s.tags} <= {"PRON", "NOUN", "PROPN", "VERB", "ADV", "ADJ", "ADP", "AUX",
                                                       "PART", "CCONJ", "PUNCT"}
    assert len(read_segmented(files["seg-train.txt"])) == 400
    again = {p.name: p for p in toy.write(tmp_path / "b", seed=0)}
    assert all(again[n].read_bytes() == p.read_bytes() for n, p in files.items())
    other = toy.write(tmp_path / "c", seed=1)[0]
    assert other.read_bytes() != files[other.name].read_bytes()


def test_the_chinese_guides_task_corpora_are_consistent_and_leave_the_first_files_as_they_were(tmp_path):
    """toy_data.py's reviews (label<TAB>text and the same reviews as labelled trees) and Chinese-English pairs,
    read by rnnkit's readers; the validation and test pairs are not training pairs; and the files the guide's
    earlier sections show (the language model's, the segmenter's, the tagger's) keep their bytes."""
    import hashlib
    import importlib.util

    from rnnkit.data.classification import read_tsv
    from rnnkit.data.parallel import read_tsv_pairs
    from rnnkit.data.trees import read_trees

    spec = importlib.util.spec_from_file_location("toy_data", ROOT / "docs" / "zh" / "toy_data.py")
    toy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(toy)
    files = {p.name: p for p in toy.write(tmp_path, seed=0)}
    first = ["train.txt", "valid.txt", "test.txt", "seg-train.txt", "seg-dev.txt", "seg-test.txt", "raw.txt",
             "pos-train.conllu", "pos-dev.conllu", "pos-test.conllu"]
    digest = hashlib.sha256(b"".join(files[name].read_bytes() for name in first)).hexdigest()
    assert digest == "7fbf5f2b41131579715e0a7de1b716e3a7c59adb8b2228b153fb7b200a03e76b"  # the guide's outputs need them
    for split, n in (("train", 400), ("dev", 60), ("test", 60)):
        texts = read_tsv(files[f"senti-{split}.tsv"])
        trees = read_trees(files[f"tree-{split}.txt"])
        assert len(texts) == len(trees) == n
        assert {t.label for t in texts} == {"正面", "负面"}
        assert [t.text for t in texts] == ["".join(tree.tokens) for tree in trees]
        assert [t.label for t in texts] == [{0: "负面", 2: "正面"}[tree.root_label] for tree in trees]
        assert {int(k) for tree in trees for k in tree.labels} == {0, 1, 2}
    pairs = {split: read_tsv_pairs(files[f"zh-en-{split}.tsv"]) for split in ("train", "dev", "test")}
    assert [len(p) for p in pairs.values()] == [1000, 100, 100]
    seen = {p.source_text for p in pairs["train"]}
    assert not seen & {p.source_text for p in pairs["dev"] + pairs["test"]}
    assert files["zh-en-test.zh"].read_text(encoding="utf-8").splitlines() == [p.source_text for p in pairs["test"]]
    assert files["zh-en-test.en"].read_text(encoding="utf-8").splitlines() == [p.target_text for p in pairs["test"]]
