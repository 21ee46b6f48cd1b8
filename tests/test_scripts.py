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


def test_the_regular_expression_finds_exactly_the_characters_is_cjk_accepts():
    """cjk_characters (one compiled character class) against is_cjk over every code point but the surrogates."""
    import sys

    from rnnkit.data.scripts import cjk_characters, count_cjk, is_cjk

    text = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    found = cjk_characters(text)
    assert found == [ch for ch in text if is_cjk(ch)] and len(found) > 90_000
    assert count_cjk("abc 中文 かな 한국") == 4 and cjk_characters("plain ASCII") == []
