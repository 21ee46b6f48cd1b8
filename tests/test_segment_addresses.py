"""Web and e-mail addresses in ``rnnkit segment``'s output (rnnkit.data.segment_rules): where one ends,
through the rules and through the command line, and that finding them stays linear in the text."""
from __future__ import annotations

from itertools import accumulate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.cli.main import main
from rnnkit.data import segment_rules
from rnnkit.data.segment_rules import _ADDRESS, fix_words, inner_offsets, keep_whole
from clirun import run_cli

_USER_START = r"(?<![A-Za-z0-9._%+-])"  # an e-mail's user part starts where its run of user characters does


def test_an_email_address_is_tried_only_from_the_start_of_its_user_run():
    """Tried from every character of a run of 10^5 dots, the e-mail pattern took 15 s (the square of the
    run); from its start alone, one pass."""
    assert _ADDRESS.match("ab@c.com", 1) is None and _ADDRESS.match("ab@c.com").group() == "ab@c.com"
    assert keep_whole(["." * 100_000 + "中a@b.com"]) == ["." * 100_000 + "中", "a@b.com"]


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="ab.@-_%+中文/:w", max_size=20))
def test_starting_at_the_run_finds_the_same_addresses(text):
    """The look-behind only skips starts that cannot give a different match: the leftmost start of a run
    already took the longest user part."""
    assert _USER_START in _ADDRESS.pattern
    before = segment_rules.re.compile(_ADDRESS.pattern.replace(_USER_START, ""))
    assert [m.span() for m in _ADDRESS.finditer(text)] == [m.span() for m in before.finditer(text)]


@pytest.fixture(scope="module")
def hmm(tmp_path_factory):
    """A small HMM segmenter: what it makes of the Chinese is its own, the addresses are the rules'."""
    tmp = tmp_path_factory.mktemp("addr")
    lines = ["我們 明天 去 公園 。", "請 訪問 網站 了解 更多 的 資訊 .", "他 說 很 好 , 我 不 知道 .",
             "謝謝 你 的 信 .", "然後 按 下 一 步 ."]
    (tmp / "train.txt").write_text("\n".join(lines * 4) + "\n", encoding="utf-8")
    assert main(["train", "hmm", "--train", str(tmp / "train.txt"), "--format", "segmented",
                 "--output", str(tmp / "hmm.st")]) == 0
    return tmp


def _segment(capsys, hmm, lines, *args):
    (hmm / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["segment", str(hmm / "hmm.st"), str(hmm / "in.txt"), *args])
    assert code == 0, err
    return [line.split() for line in out.splitlines()]


def test_a_space_ends_an_address(capsys, hmm):
    """segment reads a line without its spaces: the address took the Chinese after its space
    (http://www.abc.com/了解更多的資訊), and --dict could not find 了解 there."""
    text = ["請訪問 http://www.abc.com/ 了解更多的資訊.", "見https://example.com/看看 下一句很好."]
    for args in ((), ("--dict", str(hmm / "dict.txt"))):
        (hmm / "dict.txt").write_text("了解\n下一句\n", encoding="utf-8")
        first, second = _segment(capsys, hmm, text, *args)
        assert "http://www.abc.com/" in first and "https://example.com/看看" in second, (first, second)
        assert [w for w in first + second if "//" in w] == ["http://www.abc.com/", "https://example.com/看看"]
        assert "了解" in first and "下一句很好" not in second, (first, second)  # the model's words, not glued
        if args:
            assert "下一句" in second, second
    assert keep_whole(list("網址http://a.com/下載"), fixed=[15]) == [*"網址", "http://a.com/", *"下載"]
    assert 16 not in inner_offsets("網址http://a.com/下載", [15]) and 16 in inner_offsets("網址http://a.com/下載")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="我a1.:/w@中ｗ。 ", max_size=16), st.sets(st.integers(1, 15)))
def test_inner_offsets_with_fixed_boundaries_are_the_ones_the_rules_remove(text, fixed):
    """With a line's spaces as fixed boundaries, inner_offsets is still exactly where fix_words leaves none."""
    cuts = set(accumulate(len(w) for w in fix_words(list(text), fixed)[:-1]))
    inner = inner_offsets(text, fixed)
    assert cuts.isdisjoint(inner) and cuts | inner == set(range(1, len(text)))


ASCII_PUNCTUATED = {  # Chinese written with ASCII punctuation, as UD Chinese GSD is: the address ends at the mark
    "我的網站是www.abc.com.明天見.": "www.abc.com", "你知道www.abc.com?我不知道.": "www.abc.com",
    "網址http://abc.com;其他的網址也行.": "http://abc.com", "官方網站http://abc.com(英文版)很好.": "http://abc.com",
    "見http://abc.com/index.html.然後按下一步.": "http://abc.com/index.html", "請寫信到a@b.com.謝謝.": "a@b.com",
    "網址http://abc.com!太棒了": "http://abc.com", "網址:http://abc.com/下載,然後安裝.": "http://abc.com/下載",
}


def test_chinese_after_an_address_and_ascii_punctuation_is_not_part_of_it(capsys, hmm):
    """The address took the sentence after its . ? ; ! ( (www.abc.com.明天見): through segment, the
    address is a word and no other word holds ASCII beside Chinese."""
    got = _segment(capsys, hmm, list(ASCII_PUNCTUATED) + ["RT@小明.今天"])
    for words, address in zip(got, [*ASCII_PUNCTUATED.values(), None]):
        glued = [w for w in words if w != address and any(c.isascii() and c.isalnum() for c in w)
                 and any(not c.isascii() for c in w)]
        assert (address is None or address in words) and not glued, (words, address)


def test_where_chinese_belongs_to_an_address():
    cases = {
        "RT@小明.今天": [],  # not an e-mail address: 今天 is no top-level domain
        "寫信到a@例子.台灣.": ["a@例子.台灣"], "寄a@中文.com": ["a@中文.com"],
        "去www.百度.com搜": ["www.百度.com"],  # a host label: a dot and a label follow it
        "http://例子.台灣/路徑.謝謝": ["http://例子.台灣/路徑"], "http://user@中文.tw:8080/a": ["http://user@中文.tw:8080/a"],
        "https://例子.中国很好": ["https://例子.中国"],  # a Chinese top-level domain ends the host
        "https://xinhua.中国": ["https://xinhua.中国"], "www.abc.com.中國人很多": ["www.abc.com"],
        "https://zh.wikipedia.org/wiki/北京大學_(台灣).": ["https://zh.wikipedia.org/wiki/北京大學_(台灣)"],
        "https://zh.wikipedia.org/wiki/臺灣#歷史": ["https://zh.wikipedia.org/wiki/臺灣#歷史"],
        "見http://a.b/c?q=中文&x=1好": ["http://a.b/c?q=中文&x=1"], "http://a.b/c?中文": ["http://a.b/c"],
        "見http://abc.com/index.html(英文版)": ["http://abc.com/index.html(英文版)"],  # ( inside a path
        "https://例子.台灣、https://例子2.台灣": ["https://例子.台灣", "https://例子2.台灣"],
    }
    for text, addresses in cases.items():
        assert [w for w in fix_words(list(text)) if len(w) > 1 and not w.isalpha()] == addresses, text


def test_the_marks_after_an_address_are_cut_from_the_chinese_after_them():
    """The GSD HMM, reading com.明 as Latin, printed www.abc.com .明 天見 once the address stopped at com."""
    assert keep_whole(["我的網站是", "www.abc.com.明", "天見", "."]) == ["我的網站是", "www.abc.com", ".", "明", "天見", "."]
    assert keep_whole(["見", "http://a.com/x).然", "後"]) == ["見", "http://a.com/x", ").", "然", "後"]
    assert keep_whole(["寫", "a@b.com", ".謝謝"]) == ["寫", "a@b.com", ".", "謝謝"]
    assert keep_whole(["看", "www.abc.com.é"]) == ["看", "www.abc.com", ".é"]  # not Chinese after: the model's
