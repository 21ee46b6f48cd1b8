"""The Chinese guide's teaching parts: its terms, its BPTT-by-hand example as the command prints it, and train's
--progress none help."""
from __future__ import annotations

import re
from pathlib import Path

from clirun import run_cli

ZH = Path(__file__).resolve().parents[1] / "docs" / "zh" / "README.md"


def _text():
    return ZH.read_text(encoding="utf-8")


def test_the_term_table_has_the_cells_words():
    table = _text().split("## 6. 术语对照", 1)[1].split("## 7.", 1)[0]
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    for term in ("双向", "多层、堆叠", "候选值", "细胞状态"):
        assert any(term in row for row in rows), term


def test_ngram_is_named_as_section_5_4_names_it():
    assert "n-gram 个数" not in _text() and "n 元语法的个数" in _text()


def test_states_is_shown():
    assert "$ rnnkit states runs/zh-char/best.safetensors" in _text()


def test_the_bptt_by_hand_example_is_what_step_prints(capsys):
    text = _text()
    block = text.split("$ rnnkit step --cell rnn --x 1,0 0,1 --backward --dh 0,0 1,-1\n", 1)[1].split("```", 1)[0]
    code, out, err = run_cli(capsys, ["step", "--cell", "rnn", "--x", "1,0", "0,1", "--backward", "--dh", "0,0",
                                      "1,-1"])
    assert code == 0, err
    shown = [line for line in block.splitlines() if line and line != "..."]
    assert len(shown) > 15 and all(line in out.splitlines() for line in shown)
    assert "dW_ih = sum_t da_t x_t^T" in block


def test_train_help_says_progress_none_hides_the_validation_lines(capsys):
    code, out, _ = run_cli(capsys, ["train", "lm", "--help"])
    assert code == 0
    assert "no per-epoch validation lines" in re.sub(r"\s+", " ", out)


def test_the_gradcheck_example_is_what_gradcheck_prints(capsys):
    """The shown lines are the command's, and the run of them before the first '...' is its first lines: the
    guide left out the third (RTRL compares no input gradient) without marking the gap."""
    block = _text().split("$ rnnkit gradcheck --cell lstm --steps 8\n", 1)[1].split("$ rnnkit", 1)[0]
    code, out, err = run_cli(capsys, ["gradcheck", "--cell", "lstm", "--steps", "8"])
    assert code == 0, err
    lines = out.splitlines()
    shown = block.splitlines()
    head = shown[:shown.index("...")]
    assert lines[:len(head)] == head, (head, lines)
    assert all(line in lines for line in shown if line != "...")


def test_the_cells_candidates_are_named_as_section_3_names_them():
    """The term table called GRU's n 候选值, LSTM's g's name, where section 3 calls it 候选状态."""
    text = _text()
    table = text.split("## 6. 术语对照", 1)[1].split("## 7.", 1)[0]
    for gate, cell, equation in (("g", "LSTM", "g_t = tanh"), ("n", "GRU", "n_t = tanh")):
        term = text.split(equation, 1)[1].split("# ", 1)[1].split("；", 1)[0].split()[0]
        rows = [line for line in table.splitlines() if f"{cell} 的 {gate}" in line]
        assert len(rows) == 1 and rows[0].split("|")[1].strip() == term, (term, rows)
