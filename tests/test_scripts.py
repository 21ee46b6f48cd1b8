"""rnnkit.data.scripts: one table of East Asian scripts for the unsegmented-text check and BLEU's tokenizer."""
from __future__ import annotations

from rnnkit.data.scripts import is_cjk, is_han, is_hangul, is_kana, script


def test_each_script_and_the_characters_at_its_edges():
    assert all(map(is_han, "中文々〆〇丽\U00020000\U000323af")) and not any(map(is_han, "aカ한。"))
    assert all(map(is_kana, "ひらカタｦﾟ")) and not any(map(is_kana, "中한a"))
    assert all(map(is_hangul, "한글ᄀㄱ")) and not any(map(is_hangul, "中カa"))
    assert all(map(is_cjk, "中カﾟ々")) and not any(map(is_cjk, "한a。1"))


def test_script_of_a_text_prefers_kana_then_hangul_then_han():
    assert script("東京へ行く") == "kana"  # Japanese: kanji and kana
    assert script("漢字 한국어") == "hangul"
    assert script("北京大学") == "han" and script("Hello, world") is None
