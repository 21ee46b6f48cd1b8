"""The rules applied to a segmenter's output (rnnkit.data.segment_rules), and that ``rnnkit evaluate``
scores exactly what ``rnnkit segment`` prints for the written text."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.segment_rules import fix_words, inner_offsets, keep_whole, split_punctuation, written_spaces
from clirun import run_cli


def test_chinese_punctuation_is_a_word_of_its_own():
    assert split_punctuation(["我買了iPhone。Mac", "Book也買了。"]) == ["我買了iPhone", "。", "Mac", "Book也買了", "。"]
    assert split_punctuation(["他說「好，", "走」"]) == ["他說", "「", "好", "，", "走", "」"]
    assert split_punctuation(["等等……好", "——是"]) == ["等等", "……", "好", "——", "是"]  # a run of one mark is one word
    assert split_punctuation(["10：30開會：好"]) == ["10：30開會", "：", "好"]  # a time keeps its colon
    # ASCII marks, the middle dot of names and the full-width decimal point are left to the model
    assert split_punctuation(["g(x)", "列夫·達維", "１．５"]) == ["g(x)", "列夫·達維", "１．５"]
    assert split_punctuation([]) == []


def test_a_latin_word_is_cut_from_the_chinese_or_japanese_beside_it():
    """An undertrained segmenter joined MacBook to the 和 after it; a run with a Latin letter is now cut
    from Han and kana on both sides (UD Chinese GSD: all but 2 of its 123,283 words), a run of digits
    alone is left to the model (GSD's 第1, 20萬), and so is anything else beside a Latin word."""
    assert keep_whole(["我們喜歡MacBook和"]) == ["我們喜歡", "MacBook", "和"]  # one word in, cut anyway
    assert keep_whole(["買了iPhone7手機", "。"]) == ["買了", "iPhone7", "手機", "。"]
    assert keep_whole(["ＭａｃＢｏｏｋ和"]) == ["ＭａｃＢｏｏｋ", "和"]  # full-width letters too
    assert keep_whole(["Windowsの", "設定"]) == ["Windows", "の", "設定"]  # kana
    assert keep_whole(["第1名", "20萬人", "3.5元"]) == ["第1名", "20萬人", "3.5元"]  # digits: the model's
    assert keep_whole(["3D打印"]) == ["3D", "打印"] and keep_whole(["Ab-c한국"]) == ["Ab-c한국"]  # Hangul, '-'
    assert keep_whole(["訪問www.example.com今天"]) == ["訪問", "www.example.com", "今天"]  # an address: as before
    assert keep_whole(["MacBook和"], fixed=[3]) == ["Mac", "Book", "和"]  # fixed boundaries stay
    # a word the training data joins this way stays whole (T恤, 卡拉OK, Tシャツ), as it is or width-folded
    known = {"T恤", "卡拉OK", "Tシャツ"}
    assert keep_whole(["買了T恤", "和", "卡拉OK"], known=known) == ["買了", "T恤", "和", "卡拉OK"]
    assert keep_whole(["Ｔシャツ", "を"], known=known) == ["Ｔシャツ", "を"]
    assert keep_whole(["T恤和", "卡拉OK"], known=known) == ["T", "恤和", "卡拉OK"]  # not that word: cut
    assert fix_words(["買了T恤。"], known=known) == ["買了", "T恤", "。"]


def test_segment_keeps_a_latin_chinese_word_its_training_data_had(tmp_path, capsys):
    """The reviewer's case: a model trained on 我 买 了 T恤 and Tシャツ を 買う printed T 恤 and T シャツ,
    and scored F1 70 on its own training data."""
    import json

    train = tmp_path / "train.txt"
    train.write_text("我 买 了 T恤 。\n卡拉OK 很 好 。\nTシャツ を 買う 。\n" * 30, encoding="utf-8")
    model = tmp_path / "hmm.st"
    args = ["train", "hmm", "--train", str(train), "--format", "segmented", "--output", str(model)]
    assert run_cli(capsys, args)[0] == 0
    raw = tmp_path / "raw.txt"
    raw.write_text("我买了T恤。\n卡拉OK很好。\nTシャツを買う。\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["segment", str(model), str(raw)])
    assert code == 0 and out == "我 买 了 T恤 。\n卡拉OK 很 好 。\nTシャツ を 買う 。\n", (out, err)
    code, out, err = run_cli(capsys, ["evaluate", str(model), str(train), "--json"])
    assert code == 0 and json.loads(out)["f1"] == 1.0, (out, err)


def test_full_width_separators_join_only_full_width_neighbours():
    """The ideographic full stop and a full-width comma between ASCII letters or digits are not the
    dot of v1.2 or the comma of 6,000 (the audit's iPhone。MacBook and 100，200，300)."""
    assert keep_whole(["iPhone", "。", "MacBook"]) == ["iPhone", "。", "MacBook"]
    assert keep_whole(["100", "，", "200", "，", "300", "分"]) == ["100", "，", "200", "，", "300", "分"]
    assert keep_whole(["v1", ".", "2", "。", "3號"]) == ["v1.2", "。", "3號"]
    assert keep_whole(["１", "，", "０００", "円"]) == ["１，０００", "円"]  # full-width throughout: a number
    assert keep_whole(["ＭａｃＢ", "ｏｏｋ", "１", "．", "５"]) == ["ＭａｃＢｏｏｋ１．５"]
    assert keep_whole(["３", "。", "５"]) == ["３", "。", "５"]
    assert fix_words(["我買了iPhone。MacBook也買了。"]) == ["我買了", "iPhone", "。", "MacBook", "也買了", "。"]
    assert fix_words(["分數是100，200，300分。"]) == ["分數是100", "，", "200", "，", "300分", "。"]


def test_written_spaces_stay_boundaries():
    words = ["在", "Hong", "Kong", "Secondary", "School", "讀", "iPhone", "7", "。"]
    spaces = written_spaces(words)
    text = "".join(words)
    assert sorted(spaces) == [5, 9, 18, 31]  # Hong|Kong|Secondary|School, and iPhone|7
    assert keep_whole(["在", "HongKongSecondarySchool", "讀"], spaces) == ["在", "Hong", "Kong", "Secondary", "School",
                                                                         "讀"]
    assert keep_whole(["在", "Ho", "ngKong"], {3}) == ["在", "Ho", "ngKong"] and text
    assert written_spaces(["我", "們"]) == set() and written_spaces([]) == set()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="我們a1。，、……——：（）「」.,·ＡＢ１，．😀\u200d", min_size=1, max_size=6),
                min_size=1, max_size=6))
def test_the_rules_keep_every_character_in_order_and_are_idempotent(words):
    out = fix_words(words)
    assert "".join(out) == "".join(words) and all(out)
    assert fix_words(out) == out


def _segmenter(tmp_path, capsys):
    lines = ["我們 在 Hong Kong Secondary School 讀書 。", "他 買 了 iPhone 7 ， 很 好 。", "價格 是 3.5 元 。",
             "天氣 很 好 ， 我們 去 公園 。"]
    train = tmp_path / "train.txt"
    train.write_text("\n".join(lines * 8) + "\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(train), "--format", "segmented", "--epochs",
                                    "1", "--embed", "4", "--hidden", "4", "--progress", "none",
                                    "--checkpoint-minutes", "0", "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    return tmp_path / "run" / "last.safetensors", lines


def test_evaluate_scores_what_segment_prints_for_the_written_text(tmp_path, capsys):
    """An undertrained model cuts everywhere; evaluate's F1 must equal that of segment's output on the
    text as written (spaces only between Latin words and numbers), scored by hand."""
    import json

    model, lines = _segmenter(tmp_path, capsys)
    gold = tmp_path / "gold.txt"
    gold.write_text("\n".join(lines) + "\n", encoding="utf-8")
    written = []
    for line in lines:
        words, spaces = line.split(), written_spaces(line.split())
        text, offset = "", 0
        for w in words:
            text += (" " if offset in spaces else "") + w
            offset += len(w)
        written.append(text)
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join(written) + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["segment", str(model), str(raw)])
    assert code == 0, err
    pred = [line.split() for line in out.splitlines()]

    def spans(words):
        out, i = set(), 0
        for w in words:
            out.add((i, i + len(w)))
            i += len(w)
        return out

    correct = sum(len(spans(g.split()) & spans(p)) for g, p in zip(lines, pred))
    n_gold, n_pred = sum(len(g.split()) for g in lines), sum(map(len, pred))
    code, out, err = run_cli(capsys, ["evaluate", str(model), str(gold), "--json"])
    assert code == 0, err
    m = json.loads(out)
    assert (m["correct"], m["gold_words"], m["pred_words"]) == (correct, n_gold, n_pred)
    assert abs(m["f1"] - 2 * correct / (n_gold + n_pred)) < 1e-12


def test_an_address_with_chinese_in_it_is_one_word():
    """The user walk's https://中文.tw and https://example.com/路徑 came out cut in two or five.  Chinese
    belongs to an address where a part of it starts (test_segment_addresses says where); Chinese right
    after an ASCII letter or digit, and anything after a full-width or ideographic mark, follows it."""
    cases = {
        "網址：https://中文.tw": ["網", "址", "：", "https://中文.tw"],
        "網址是https://example.com/路徑，好": ["網", "址", "是", "https://example.com/路徑", "，", "好"],
        "https://zh.wikipedia.org/wiki/北京大學_(台灣)。": ["https://zh.wikipedia.org/wiki/北京大學_(台灣)", "。"],
        "https://example.com/?q=中文&x=1」": ["https://example.com/?q=中文&x=1", "」"],
        "寄a@例子.台灣，謝": ["寄", "a@例子.台灣", "，", "謝"],
        # where it ends: Chinese after an ASCII letter, and full-width or ideographic marks
        "請看https://example.com很好": ["請", "看", "https://example.com", "很", "好"],
        "https://example.com/a/b這網頁": ["https://example.com/a/b", "這", "網", "頁"],
        "https://example.com/路徑：好": ["https://example.com/路徑", "：", "好"],
        "https://example.com/路徑、好": ["https://example.com/路徑", "、", "好"],
        "https://example.com/路徑（舊）": ["https://example.com/路徑", "（", "舊", "）"],
        "www.example.tw。": ["www.example.tw", "。"],
        "看https://example.com/看看 好": ["看", "https://example.com/看看", " ", "好"],  # after a slash: a path
        "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ／ａ好": ["ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ／ａ", "好"],  # full-width throughout
    }
    for text, words in cases.items():
        assert fix_words(list(text)) == words, text
    # a user dictionary's word is not matched inside one (路徑 in https://example.com/路徑)
    inner = inner_offsets("看看看https://example.com/路徑，好")
    assert set(range(4, 25)) <= inner and not {3, 25} & inner
