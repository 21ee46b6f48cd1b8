"""--fold-width: a tagger reads full-width characters as their half-width forms, one to one, and writes
the input's own characters back.  Chinese text is usually written with full-width punctuation (，。：)
while UD Chinese GSD uses ASCII (, . :), so without folding every such mark is unknown to the model."""
from __future__ import annotations

from clirun import run_cli

from rnnkit.checkpoint import load_checkpoint
from rnnkit.data.segmentation import fold_width
from rnnkit.tagging.io import TaggingData
from rnnkit.tagging.task import TaggerEncoder

HALF = ["我们 今天 去 公园 , 天气 很 好 .", "这 是 测试 : 看看 ( 一 ) 吧 .", "他们 说 , 明天 下雨 ."]


def _tiny_segmenter(tmp_path, capsys, folder: str = "seg"):
    """A one-epoch segmenter trained on HALF, without --fold-width; returns its run folder."""
    train = tmp_path / "train.txt"
    train.write_text("\n".join(HALF * 10) + "\n", encoding="utf-8")
    run = tmp_path / folder
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(train), "--format", "segmented", "--epochs", "1",
                                    "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0",
                                    "--run-dir", str(run)])
    assert code == 0, err
    return run


def test_fold_width_maps_one_character_to_one():
    assert fold_width("Ａｂｃ１２３，：；？！（）。") == "Abc123,:;?!().", fold_width("Ａｂｃ１２３，：；？！（）。")
    assert fold_width("ｶﾀｶﾅ") == "カタカナ"  # half-width katakana to full-width
    assert fold_width("我们、「北京」《书》") == "我们、「北京」《书》"  # CJK and its own punctuation stay
    assert fold_width("ﬁ½") == "ﬁ½"  # NFKC would make two or three characters: kept, so lengths match
    text = "混合 Ｔｅｘｔ，ｗｉｔｈ　全角"
    assert len(fold_width(text)) == len(text)


def test_encoder_reads_folded_text_and_saves_the_choice():
    train = TaggingData([list("公园,好.")], [["B", "E", "S", "S", "S"]], None)
    enc = TaggerEncoder.build(train, bigrams=True, char_features=True, fold_width=True)
    full = enc.encode(TaggingData([list("公园，好。")], None, None))
    half = enc.encode(TaggingData([list("公园,好.")], None, None))
    assert full.words[0].tolist() == half.words[0].tolist() and enc.words.unk_id not in full.words[0].tolist()
    assert full.bigrams[0].tolist() == half.bigrams[0].tolist()
    assert full.type_chars.tolist() == half.type_chars.tolist()
    plain = TaggerEncoder.build(train)
    assert plain.encode(TaggingData([list("公园，好。")], None, None)).words[0].tolist().count(plain.words.unk_id) == 2
    again = TaggerEncoder.from_json(enc.to_json())
    assert again.fold_width and not TaggerEncoder.from_json(plain.to_json()).fold_width
    old = enc.to_json()
    del old["fold_width"]  # a checkpoint written before the option existed
    assert not TaggerEncoder.from_json(old).fold_width


def test_segmenter_with_fold_width_treats_full_width_punctuation_as_half_width(tmp_path, capsys):
    train = tmp_path / "train.txt"
    train.write_text("\n".join(HALF * 20) + "\n", encoding="utf-8")
    run = tmp_path / "seg"
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(train), "--format", "segmented", "--bigrams",
                                    "--fold-width", "--epochs", "3", "--embed", "8", "--hidden", "8",
                                    "--progress", "none", "--checkpoint-minutes", "0", "--run-dir", str(run)])
    assert code == 0, err
    model = str(run / "last.safetensors")
    assert load_checkpoint(model)[1]["task"]["encoder"]["fold_width"] is True
    raw_half = tmp_path / "half.txt"
    raw_full = tmp_path / "full.txt"
    raw_half.write_text("他们说,明天去公园.\n这是测试:看看(一)吧.\n", encoding="utf-8")
    raw_full.write_text("他们说，明天去公园。\n这是测试：看看（一）吧。\n", encoding="utf-8")
    _, out_half, _ = run_cli(capsys, ["segment", model, str(raw_half)])
    _, out_full, err = run_cli(capsys, ["segment", model, str(raw_full)])
    assert fold_width(out_full) == out_half, (out_full, out_half)  # the same boundaries
    assert "，" in out_full and "。" in out_full and "," not in out_full  # the input's own characters come back
    assert "warning" not in err, err
    # a segmenter trained without the option says what it is missing
    plain = _tiny_segmenter(tmp_path, capsys, "plain")
    code, _, err = run_cli(capsys, ["segment", str(plain / "last.safetensors"), str(raw_full)])
    assert code == 0 and err.count("warning") == 1 and "--fold-width" in err and "，" in err, err
    code, _, err = run_cli(capsys, ["segment", str(plain / "last.safetensors"), str(raw_half)])
    assert code == 0 and "warning" not in err, err


def test_segment_never_splits_inside_a_character_on_screen(tmp_path, capsys):
    """A family emoji (parts joined by U+200D), a skin-tone modifier and a combining accent stay inside
    one word whatever the model predicts; every character of the input comes back, in order."""
    from rnnkit.data.segment_rules import join_clusters

    assert join_clusters(["家👨", "\u200d👩", "\u200d👧", "好"]) == ["家👨\u200d👩\u200d👧", "好"]
    assert join_clusters(["👍", "\U0001F3FD", "好"]) == ["👍\U0001F3FD", "好"]
    assert join_clusters(["cafe", "\u0301", "好"]) == ["cafe\u0301", "好"]
    assert join_clusters(["灣🇹", "🇼和"]) == ["灣🇹🇼和"]  # a flag is two regional indicators
    assert join_clusters(["🇹🇼", "🇯🇵"]) == ["🇹🇼", "🇯🇵"]  # two flags may be two words
    scotland = ["🏴", "\U000E0067\U000E0062", "\U000E0073\U000E0063\U000E0074\U000E007F"]
    assert join_clusters([*scotland, "好"]) == ["".join(scotland), "好"]  # a subdivision flag's tag characters
    run = _tiny_segmenter(tmp_path, capsys)
    text = "我们家👨\u200d👩\u200d👧很好👍\U0001F3FD去公园\n"
    raw = tmp_path / "raw.txt"
    raw.write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, ["segment", str(run / "last.safetensors"), str(raw)])
    assert code == 0, err
    words = out.split()
    assert "".join(words) == text.strip()
    assert not any(w.startswith(("\u200d", "\U0001F3FD")) or w.endswith("\u200d") for w in words), words


def test_classifier_fold_width_reads_both_forms_alike(tmp_path, capsys):
    """A classifier trained with --fold-width on half-width text reads full-width text as the same tokens
    (same probabilities); the option is saved with the model; without it those characters are <unk>."""
    from rnnkit.classify.task import ClassifierEncoder, load_classifier

    enc = ClassifierEncoder.build(["好,很好!"], ["pos"], level="char", fold_width=True)
    assert enc.tokenize("好，很好！") == enc.tokenize("好,很好!") == ["好", ",", "很", "好", "!"]
    assert ClassifierEncoder.from_json(enc.to_json()).fold_width
    old = enc.to_json()
    del old["fold_width"]
    assert not ClassifierEncoder.from_json(old).fold_width
    rows = [("pos", "这家餐厅真好,很满意!"), ("neg", "服务太差了,很失望!")] * 30
    (tmp_path / "train.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in rows), encoding="utf-8")
    run = tmp_path / "clf"
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tmp_path / "train.tsv"), "--level", "char",
                                    "--fold-width", "--epochs", "2", "--embed", "8", "--hidden", "8", "--progress",
                                    "none", "--checkpoint-minutes", "0", "--run-dir", str(run)])
    assert code == 0, err
    model = run / "best.safetensors"
    assert load_classifier(model)[1].fold_width
    (tmp_path / "half.txt").write_text("真好,满意!\n", encoding="utf-8")
    (tmp_path / "full.txt").write_text("真好，满意！\n", encoding="utf-8")
    _, half, _ = run_cli(capsys, ["classify", str(model), str(tmp_path / "half.txt"), "--probs"])
    _, full, _ = run_cli(capsys, ["classify", str(model), str(tmp_path / "full.txt"), "--probs"])
    assert half.split("\t")[:2] == full.split("\t")[:2], (half, full)  # label and probabilities


def test_segment_keeps_latin_words_numbers_and_web_addresses_whole(tmp_path, capsys):
    from rnnkit.data.segment_rules import keep_whole

    assert keep_whole(["我", "买", "了", "Mac", "Book", "。"]) == ["我", "买", "了", "MacBook", "。"]
    assert keep_whole(["访问", "https", ":", "/", "/ex", "ample", ".com", "/", "，", "然后"]) == [
        "访问", "https://example.com/", "，", "然后"]
    assert keep_whole(["价格", "3", ".", "5", "元", "."]) == ["价格", "3.5", "元", "."]
    assert keep_whole(["ＭａｃＢ", "ｏｏｋ", "好"]) == ["ＭａｃＢｏｏｋ", "好"]  # full-width Latin too
    assert keep_whole(["他", "说", "iPhone", "."]) == ["他", "说", "iPhone", "."]  # the full stop stays apart
    # an address is a word of its own, parentheses it opened included, one it did not left out
    assert keep_whole(["問https", "://en.wikipedia.org/wiki/Python_(", "programming_language", ")查"]) == [
        "問", "https://en.wikipedia.org/wiki/Python_(programming_language)", "查"]
    assert keep_whole(["(見", "https://example.com", ")。"]) == ["(見", "https://example.com", ")。"]
    assert keep_whole(["寄", "test", "@example.com", "給我"]) == ["寄", "test@example.com", "給我"]
    assert keep_whole(["花了", "6", ",", "000", "元"]) == ["花了", "6,000", "元"]  # as GSD writes numbers
    run = _tiny_segmenter(tmp_path, capsys)
    raw = tmp_path / "raw.txt"
    raw.write_text("我买了MacBook2,访问https://example.com/看看\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["segment", str(run / "last.safetensors"), str(raw)])
    assert code == 0, err
    words = out.split()
    # no boundary inside them (where they meet Chinese characters is the model's call: GSD has 第1, 20萬)
    assert any("MacBook2" in w for w in words) and any("https://example.com/" in w for w in words), words
    assert "".join(words) == raw.read_text(encoding="utf-8").strip()


def test_hmm_segmenter_with_fold_width(tmp_path, capsys):
    """train hmm --fold-width: the HMM reads full-width punctuation as the ASCII it was trained on."""
    train = tmp_path / "train.txt"
    train.write_text("\n".join(HALF * 20) + "\n", encoding="utf-8")
    outs = {}
    for fold in (True, False):
        model = tmp_path / f"hmm{fold}.safetensors"
        code, _, err = run_cli(capsys, ["train", "hmm", "--train", str(train), "--format", "segmented",
                                        "--output", str(model), *(["--fold-width"] if fold else [])])
        assert code == 0, err
        assert load_checkpoint(model)[1]["task"]["fold_width"] is fold
        for name, text in (("half", "他们说,明天去公园.\n"), ("full", "他们说，明天去公园。\n")):
            path = tmp_path / f"{name}.txt"
            path.write_text(text, encoding="utf-8")
            code, out, err = run_cli(capsys, ["segment", str(model), str(path)])
            assert code == 0, err
            outs[fold, name] = out
    assert fold_width(outs[True, "full"]) == outs[True, "half"], outs
    (tmp_path / "full3.txt").write_text("他们说，明天去公园。\n这是测试：看看（一）吧。\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["segment", str(tmp_path / "hmmFalse.safetensors"), str(tmp_path / "full3.txt")])
    assert code == 0 and "--fold-width" in err, err  # the HMM trained without it says what it misses
    assert "，" in outs[True, "full"] and "。" in outs[True, "full"]  # the input's own characters come back


def test_oov_counts_a_word_by_what_a_fold_width_model_reads():
    """For a --fold-width model, a full-width word whose folded form was in training is not unseen."""
    from rnnkit.metrics.segmentation import segmentation_prf

    gold = [["他们", "，", "公园", "。"]]
    plain = segmentation_prf(gold, gold, ["他们", ",", "公园", "."])
    folded = segmentation_prf(gold, gold, ["他们", ",", "公园", "."], fold_width)
    assert plain["oov_rate"] == 0.5 and folded["oov_rate"] == 0.0


def test_tag_and_classify_say_when_full_width_tokens_are_known_half_width(tmp_path, capsys):
    """The hint was segment's alone: a POS tagger or a classifier trained on ASCII punctuation read
    Chinese text's ，。 as unknown words, silently."""
    from clirun import write_conllu

    tags = {",": "PUNCT", ".": "PUNCT", ":": "PUNCT", "(": "PUNCT", ")": "PUNCT"}
    sentences = [[(w, tags.get(w, "NOUN")) for w in line.split()] for line in HALF] * 10
    conllu = write_conllu(tmp_path / "train.conllu", sentences)
    small = ["--epochs", "1", "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(conllu), *small, "--run-dir",
                                    str(tmp_path / "pos")])
    assert code == 0, err
    tsv = tmp_path / "cls.tsv"
    tsv.write_text("".join(f"{'ab'[i % 2]}\t{line}\n" for i, line in enumerate(HALF * 10)), encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "classifier", "--train", str(tsv), *small, "--run-dir",
                                    str(tmp_path / "cls")])
    assert code == 0, err
    half, full = tmp_path / "half.txt", tmp_path / "full.txt"
    half.write_text("\n".join(HALF) + "\n", encoding="utf-8")
    full.write_text("\n".join(line.replace(",", "，").replace(".", "。") for line in HALF) + "\n", encoding="utf-8")
    for command, run, said in (("tag", "pos", "tokens (。 ，) are unknown to the model but known in their half-width "
                                "form; a tagger trained with --fold-width"),
                               ("classify", "cls", "word tokens (。 ，) are unknown to the model but known in their "
                                "half-width form; a classifier trained with --fold-width")):
        model = next(p for p in ((tmp_path / run / "best.safetensors"), tmp_path / run / "last.safetensors")
                     if p.exists())
        code, _, err = run_cli(capsys, [command, str(model), str(full)])
        assert code == 0 and f"{full}: 5 {said}" in err, err
        code, _, err = run_cli(capsys, [command, str(model), str(half)])
        assert code == 0 and "half-width" not in err, err  # the text the model knows: no hint
