"""A user dictionary for segmentation (rnnkit.data.user_dict): reading the file, finding its words in
raw text, and the constrained decoding that keeps them whole (CRF / softmax Viterbi and the HMM's, each
checked against brute-force enumeration of the paths the constraint allows)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.constraints import allowed_transitions, is_allowed
from rnnkit.crf import viterbi_decode
from rnnkit.data.segment_rules import fix_words, inner_offsets
from rnnkit.data.segmentation import words_to_tags
from rnnkit.data.user_dict import UserDict, keep_spans, read_user_dict, word_tags
from rnnkit.errors import DataError
from rnnkit.hmm import HMMTagger
from rnnkit.tagging.segmenter import _tag_mask, dictionary_spans, line_pieces

TAGS = ["B", "M", "E", "S"]


# ---------------------------------------------------------------- constrained Viterbi vs enumeration
def _forced_mask(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 4) mask forcing one or two random words (non-overlapping spans) to B M* E / S."""
    spans, a = [], int(rng.integers(0, 2))
    while a < n and len(spans) < 2:
        b = min(n, a + int(rng.integers(1, 4)))
        spans.append((a, b))
        a = b + int(rng.integers(1, 3))
    return _tag_mask(TAGS, word_tags(n, spans))


def _crf_score(path, E, A, s, e) -> float:
    return s[path[0]] + sum(E[t, y] for t, y in enumerate(path)) + sum(A[a, b] for a, b in zip(path, path[1:])) + e[
        path[-1]]


def test_constrained_crf_viterbi_is_the_best_path_the_mask_allows():
    """viterbi_decode with tag_mask returns, for every sequence of a padded batch, the highest-scoring
    path among all K^L that both the BMES constraints and the mask allow (enumerated), with its score."""
    rng = np.random.default_rng(0)
    allowed = allowed_transitions(TAGS, "bmes")
    differs = 0
    for _ in range(6):
        T, lengths = 6, np.array([6, 5, 3])
        E = rng.normal(0, 2, (T, 3, 4))  # (T, B, K)
        E[5, 1:] = 1e30  # padding holds anything: it must not count
        params = {"transitions": rng.normal(0, 1, (4, 4)), "start_transitions": rng.normal(0, 1, 4),
                  "end_transitions": rng.normal(0, 1, 4)}
        mask = np.ones((T, 3, 4), dtype=bool)  # (T, B, K)
        for b, n in enumerate(lengths):
            mask[:n, b] = _forced_mask(rng, int(n))
        paths, scores = viterbi_decode(E, lengths, params, allowed, mask)
        free, _ = viterbi_decode(E, lengths, params, allowed)
        for b, n in enumerate(lengths):
            legal = [p for p in itertools.product(range(4), repeat=int(n))
                     if is_allowed(p, *allowed) and all(mask[t, b, y] for t, y in enumerate(p))]
            A = np.where(allowed[0], params["transitions"], -np.inf)
            s = np.where(allowed[1], params["start_transitions"], -np.inf)
            e = np.where(allowed[2], params["end_transitions"], -np.inf)
            best = max(legal, key=lambda p: _crf_score(p, E[:, b], A, s, e))
            assert paths[b] == list(best), (b, paths[b], best)
            assert np.isclose(scores[b], _crf_score(best, E[:, b], A, s, e))
            differs += free[b] != paths[b]
    assert differs >= 3, differs  # the mask mattered: the unconstrained best broke it
    with pytest.raises(ValueError, match="tag_mask as a bool array of shape"):
        viterbi_decode(E, lengths, params, allowed, mask[:, :2])


def _hmm_score(model: HMMTagger, path, log_emit) -> float:
    lt, K = model.log_trans_, len(model.tags_)
    total = sum(log_emit[i, y] for i, y in enumerate(path))
    if model.order == 2:
        prev = [K, *path]
        return total + sum(lt[a, b] for a, b in zip(prev, path)) + lt[path[-1], K]
    prev = [K, K, *path]
    total += sum(lt[prev[i], prev[i + 1], y] for i, y in enumerate(path))
    return total + lt[prev[-2], prev[-1], K]


@pytest.mark.parametrize("order", [2, 3])
def test_constrained_hmm_viterbi_is_the_best_path_the_mask_allows(order):
    """HMMTagger.predict with tag masks (bigram and trigram) gives the best path by log P(w, t) among
    those the mask and the scheme allow, unknown characters (the suffix model) included."""
    words = [["我们", "喜欢", "北京"], ["老师", "在", "大学", "工作"], ["学生", "喜欢", "老师"], ["我", "在", "北京"]] * 3
    pairs = [words_to_tags(s) for s in words]
    model = HMMTagger(order=order, scheme="bmes").fit([c for c, _ in pairs], [t for _, t in pairs])
    assert model.tags_ == ["B", "E", "S"]  # no word of three characters: no M
    allowed = allowed_transitions(model.tags_, "bmes")
    rng = np.random.default_rng(1)
    differs = 0
    for sentence in ["我们喜欢欧阳丽", "老师在北京大学", "欧阳丽在工作"]:
        chars = list(sentence)
        _, log_emit = model._scores(chars)
        for _ in range(3):
            spans = [(a := int(rng.integers(0, len(chars) - 1)), a + 2)]
            mask = _tag_mask(model.tags_, word_tags(len(chars), spans, "BES"))
            tags, score = model.tag_with_score(chars, tag_mask=mask)
            legal = [p for p in itertools.product(range(3), repeat=len(chars))
                     if is_allowed(p, *allowed) and all(mask[i, y] for i, y in enumerate(p))]
            best = max(legal, key=lambda p: _hmm_score(model, p, log_emit))
            assert tags == [model.tags_[y] for y in best] and np.isclose(score, _hmm_score(model, best, log_emit))
            assert model.predict([chars], [mask]) == [tags]
            differs += tags != model.predict([chars])[0]
    assert differs >= 2, differs


def test_an_hmm_path_of_probability_zero_still_keeps_to_the_mask():
    """When every path the mask allows has probability 0 (a known character never seen with the forced
    tag), the fallback decode (impossible emissions floored) still keeps to the mask."""
    emissions = np.array([[0.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.5, 0.0], [0.5, 0.5, 0.5, 0.0]])  # (V, K) P(w | t)
    model = HMMTagger.from_probabilities(TAGS, np.array([0.5, 0, 0, 0.5]),
                                         np.array([[0, 0.5, 0.5, 0], [0, 0.5, 0.5, 0], [0.5, 0, 0, 0.5],
                                                   [0.5, 0, 0, 0.5]]), ["a", "b", "c"], emissions, scheme="bmes")
    assert model.predict([["a", "b", "c"]]) == [["S", "B", "E"]]
    mask = _tag_mask(TAGS, word_tags(3, [(0, 2)]))  # force "ab" whole: P("a" | B) = 0
    tags, score = model.tag_with_score(["a", "b", "c"], tag_mask=mask)
    assert score == -np.inf and tags[:2] == ["B", "E"], tags


# ---------------------------------------------------------------- finding the words
def test_leftmost_longest_matching_and_overlaps():
    words = UserDict(["研究", "研究生", "生命", "长江", "江大桥", "欧阳丽", "丽"])
    assert words.matches("研究生命") == [(0, 3)]  # 研究生 (longest at the leftmost start), then 命 alone
    assert words.matches("南京市长江大桥") == [(3, 5)]  # 长江 starts first; 江大桥 overlaps it: dropped
    assert words.matches("欧阳丽和丽丽") == [(0, 3), (4, 5), (5, 6)]
    assert words.matches("没有") == [] and UserDict().matches("研究") == []
    assert "研究生" in words and "研" not in words and len(words) == 7


def test_matches_are_width_folded_and_keep_to_what_the_rules_keep_whole():
    words = UserDict(["ＡＩ芯片", "Book", "example", "卡拉OK", "3"])
    assert words.matches("用AI芯片") == [(1, 5)]  # full-width in the dictionary, ASCII in the text
    text = "MacBook和Book和www.example.com和卡拉OK和35"
    found = [text[a:b] for a, b in words.matches(text, inner_offsets(text))]
    assert found == ["Book", "卡拉OK"], found  # not inside MacBook, the address, or the number 35
    # a space is a boundary: a word is found within the chunks of a line, never across them
    assert dictionary_spans(UserDict(["欧阳丽"]), ["欧阳", "丽"]) == []
    assert dictionary_spans(UserDict(["iPhone"]), ["买iPhone", "7"]) == [(1, 7)]  # ends at the space: fine
    assert dictionary_spans(UserDict(["iPhone"]), ["买iPhone7"]) == []  # ends inside iPhone7


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="我欢a1.:/w@Ａ１．😀\U0001f3fd\u200d\u0301\U0001f1e8\U0001f1f3。，《 ", max_size=16))
def test_inner_offsets_are_the_boundaries_the_rules_remove(text):
    """inner_offsets is exactly where fix_words never leaves a boundary: cut before and after every
    character, its output has none there, and each other offset is still cut."""
    words = fix_words(list(text))
    cuts = set(itertools.accumulate(len(w) for w in words[:-1]))
    assert cuts.isdisjoint(inner_offsets(text)) and cuts | inner_offsets(text) == set(range(1, len(text)))


def test_word_tags_and_keep_spans():
    assert word_tags(7, [(0, 1), (2, 5), (5, 7)]) == ["S", None, "B", "M", "E", "B", "E"]
    assert word_tags(5, [(0, 3), (3, 4)], "BES") == ["BS", None, "ES", "S", None]  # no M: ends only
    assert word_tags(2, [(0, 1)], "BME") == [None, None]  # no S: left to keep_spans
    mask = _tag_mask(["B", "E", "S"], ["BS", None, "ES"])
    assert mask.tolist() == [[True, False, True], [True, True, True], [False, True, True]]
    assert _tag_mask(TAGS, [None, None]) is None
    assert keep_spans(["《", "红楼梦", "》", "好"], [(0, 5)]) == ["《红楼梦》", "好"]
    assert keep_spans(["卡", "拉OK和"], [(0, 4)]) == ["卡拉OK", "和"]
    assert keep_spans(["好"], []) == ["好"]


def test_a_long_line_is_not_cut_inside_a_dictionary_word():
    text = "我们喜欢循环神经网络和北京"
    assert line_pieces(text, 6) == [(0, 6), (6, 12), (12, 13)]
    assert line_pieces(text, 6, whole=[(4, 10)]) == [(0, 4), (4, 10), (10, 13)]
    assert line_pieces(text, 6, whole=[(0, 6)]) == [(0, 6), (6, 12), (12, 13)]  # a cut at its end is fine


# ---------------------------------------------------------------- the file
def _dict(tmp_path, content, name="user.txt"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_jieba_format_comments_and_blank_lines(tmp_path):
    text = ("\ufeff# names and terms\n欧阳丽 5 nr\n循环神经网络\n\n  云计算 5\n凱特琳 nz\nC# 3 eng  # a language\n"
            "ＡＩ芯片\t10\tn\nnew york\n")
    words = read_user_dict(_dict(tmp_path, text))
    assert {"欧阳丽", "循环神经网络", "云计算", "凱特琳", "C#", "AI芯片", "new"} <= words.words and len(words) == 7
    more = read_user_dict(_dict(tmp_path, "机器学习\n", "more.txt"), words)  # several files: one dictionary
    assert more is words and "机器学习" in words


@pytest.mark.parametrize("content, message", [
    ("ok\n欧阳丽\n".encode("gb18030"), r"user\.txt:2: byte 0x.* is not valid UTF-8; .*GB18030.*iconv -f GB18030"),
    ("好\n欧阳 丽\n", r"user\.txt:2: '欧阳 丽' is not one word a line.*: a word holds no spaces"),
    ("好\nNew York 3\n", r"user\.txt:2: 'New York 3' is not one word a line"),
    ("好\n欧阳丽 3.5\n", r"user\.txt:2: .*a frequency is a whole number"),
    ("好\n\n\ue000\u200b 3\n", r"user\.txt:3: an empty word \('\\ue000\\u200b': invisible characters only\)"),
    ("好\n" + "很" * 5000 + "\n", r"user\.txt:2: a word of 5,000 characters \('很很很很很很很很很很'\.\.\.\), and a dictionary "
     r"word has at most 100: is this a word list\?"),
    ("好\n欧阳\x07丽\n", r"user\.txt:2: '欧阳\\x07丽' holds the control character U\+0007"),
    ("\n# only a comment\n", r"user\.txt: no word in it \(2 blank or comment lines\)"),
    ("", r"user\.txt: no word in it \(an empty file\)"),
    ("好\n\u0301abc\n", r"user\.txt:2: .* begins with the combining mark U\+0301"),
    ("好\n欧阳\u2060 丽\n", r"user\.txt:2: '欧阳\\u2060 丽' is not one word a line"),  # skipped only if a word but for it
    pytest.param("毒\u200b物 5\n#\n", r"user\.txt: no word in it \(1 skipped for an invisible character, 1 blank or "
                 r"comment", marks=pytest.mark.filterwarnings("ignore:.*skipped \\(line 1\\) for an invisible")),
], ids=["gbk", "space", "two-spaces", "frequency", "invisible", "huge", "control", "comments", "empty", "combining",
        "joiner-and-space", "hidden-only"])
def test_a_bad_dictionary_is_one_line_naming_file_and_line(tmp_path, content, message):
    with pytest.raises(DataError, match=message) as info:
        read_user_dict(_dict(tmp_path, content))
    assert "\n" not in str(info.value)


def _loaded_with_warnings(tmp_path, text):
    """The warnings of reading ``text`` as a dictionary, which must hold exactly 欧阳丽 and 循环神经网络."""
    with pytest.warns(UserWarning) as caught:
        words = read_user_dict(_dict(tmp_path, text))
    assert words.words == {"欧阳丽", "循环神经网络"}
    return [str(w.message) for w in caught]


def test_entries_with_an_invisible_character_are_skipped_with_one_warning_naming_their_lines(tmp_path):
    """UD Chinese GSD holds 毒\u200b\u200b物: a word list made from it was refused whole for that one word."""
    text = "欧阳丽 5 nr\n毒\u200b\u200b物\n循环神经网络\n欧阳丽\u200b 5 nr\n欧阳\u2060丽\n"
    assert _loaded_with_warnings(tmp_path, text) == [
        f"{tmp_path / 'user.txt'}: 3 entries skipped (lines 2, 4, 5) for an invisible character in the word ('毒\\u200b"
        "\\u200b物' holds U+200B (ZERO WIDTH SPACE)), which would match only text that holds it too; delete the "
        "character to keep the word"]
    with pytest.warns(UserWarning, match=r"user\.txt: 1 entry skipped \(line 1\) for"):
        read_user_dict(_dict(tmp_path, "毒\u200b物\n欧阳丽\n"))
    with pytest.raises(ValueError, match=r"holds the invisible character U\+200B"):  # a list is not a file
        UserDict(["毒\u200b物"])


def test_entries_of_invisible_characters_only_are_skipped_with_one_warning(tmp_path):
    """A lone U+200B line was refused as an empty word, while a lone combining mark's line was skipped."""
    text = "欧阳丽\n\u200b\n循环神经网络\n\u200b\u2060 3 n\n"
    assert _loaded_with_warnings(tmp_path, text) == [
        f"{tmp_path / 'user.txt'}: 2 entries skipped (lines 2, 4) for a word of invisible characters only ('\\u200b': "
        "U+200B ZERO WIDTH SPACE), which shows nothing, so it is no word"]
    with pytest.warns(UserWarning, match="invisible characters only"), pytest.raises(
            DataError, match=r"user\.txt: no word in it \(1 skipped as invisible characters only, 1 blank or comment"):
        read_user_dict(_dict(tmp_path, "\u200b\n# nothing\n"))
    with pytest.raises(ValueError, match=r"an empty word"):  # a list is not a file
        UserDict(["\u200b"])


def test_an_emoji_sequence_keeps_its_zero_width_joiner():
    words = UserDict(["👨\u200d👩\u200d👧"])  # one emoji on screen: its joiners are part of it
    assert words.matches("看👨\u200d👩\u200d👧") == [(1, 6)]


def test_user_words_given_as_a_list_are_checked():
    with pytest.raises(ValueError, match=r"got an empty word at position 1"):
        UserDict(["好", ""])
    with pytest.raises(ValueError, match=r"got '欧阳 丽' holds a space.* at position 0"):
        UserDict(["欧阳 丽"])
    with pytest.raises(TypeError, match=r"got a str '欧阳丽': pass \[word\]"):
        UserDict("欧阳丽")
    with pytest.raises(ValueError, match=r"got an int, not a str at position 0"):
        UserDict([3])


def test_one_character_entries_of_a_file_are_skipped_with_one_warning(tmp_path):
    """jieba's dict.txt holds 11,580 one-character words: forced, each cut every character from its neighbours."""
    with pytest.warns(UserWarning, match=r"user\.txt: 2 one-character entries \(的了\) skipped") as caught:
        words = read_user_dict(_dict(tmp_path, "的 318825 uj\n欧阳丽 3 nr\n了\n"))
    assert len(caught) == 1 and words.words == {"欧阳丽"}
    assert UserDict(["丽"]).words == {"丽"}  # a list of words is taken as it is


def test_a_lexicon_warning_needs_most_characters_covered_and_a_long_text_or_a_large_dictionary():
    from rnnkit.data.user_dict import LEXICON_WORDS, covered_characters, lexicon_warning

    names = UserDict(["欧阳丽"])
    assert covered_characters(names, ["欧阳丽来了", "欧阳丽 好"]) == (9, 6)
    assert lexicon_warning(names, 5, 3) is None  # 欧阳丽来了: a short text a name covers
    assert lexicon_warning(names, 200, 90) is None  # under half
    assert "cover 60% of the input's characters" in lexicon_warning(names, 200, 120)
    lexicon = UserDict(f"词{k}" for k in range(LEXICON_WORDS))
    assert "the --dict words (10,000) cover 71%" in lexicon_warning(lexicon, 7, 5)  # 研究生命的起源: 研究生, 起源


def test_entries_of_combining_marks_only_are_skipped_with_one_warning(tmp_path):
    """UD Chinese GSD's training tokens include a lone U+0304: a word list made from them was refused whole."""
    text = "欧阳丽\n\u0304\n循环神经网络\n\u0304\u0301 3 n\n毒\u200b物\n"
    assert _loaded_with_warnings(tmp_path, text) == [
        f"{tmp_path / 'user.txt'}: 1 entry skipped (line 5) for an invisible character in the word ('毒\\u200b物' "
        "holds U+200B (ZERO WIDTH SPACE)), which would match only text that holds it too; delete the character to "
        "keep the word; 2 entries skipped (lines 2, 4) for a word of combining marks only ('\\u0304': U+0304 "
        "COMBINING MACRON), which in text belong to the character before them, so they are no word of their own"]
    with pytest.warns(UserWarning, match="combining marks only"), pytest.raises(
            DataError, match=r"user\.txt: no word in it \(1 skipped as combining marks only, 1 blank or comment"):
        read_user_dict(_dict(tmp_path, "\u0304\n# marks\n"))
    with pytest.raises(DataError, match=r"user\.txt:2: .* begins with the combining mark U\+0301"):  # a word, badly
        read_user_dict(_dict(tmp_path, "好\n\u0301abc\n"))
    with pytest.raises(ValueError, match=r"an empty word"):  # a list is not a file
        UserDict(["\u0304"])
