"""What the command line says about Chinese data: character counts for segmented text, a warning for
raw text given as segmented, a closing hint the model can use, and library warnings as one line."""
from __future__ import annotations

import warnings

from clirun import run_cli

SEGMENTED = "我们 今天 去 公园\n\n天气 很 好\n\n这 是 测试\n"
RAW = "我们今天去公园散步天气很好\n这是一个测试句子看看\n"
SMALL = ["--epochs", "1", "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]


def _train_segmented(tmp_path, capsys, text: str) -> str:
    """stderr of train tagger --format segmented on ``text``."""
    path = tmp_path / "data.txt"
    path.write_text(text, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(path), "--format", "segmented",
                                    "--run-dir", str(tmp_path / "run"), *SMALL])
    assert code == 0, err
    return err


def test_segmented_training_counts_characters_and_skips_blank_lines(tmp_path, capsys):
    err = _train_segmented(tmp_path, capsys, SEGMENTED)
    # 14 distinct characters (天 twice): the count once included <unk>
    assert "train: 3 sentences (2 blank lines skipped), 15 characters, 14 character types (+ <unk>)" in err, err
    assert "warning" not in err, err


def test_raw_text_given_as_segmented_is_refused_and_long_words_are_warned_about(tmp_path, capsys):
    """Raw text trained a segmenter that splits nothing, with a warning and exit 0; 6-10 characters a word
    (an unspaced German corpus averages about 6) is still only warned about."""
    path = tmp_path / "raw.txt"
    path.write_text(RAW, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(path), "--format", "segmented",
                                    "--run-dir", str(tmp_path / "run"), *SMALL])
    assert code == 2 and f"{path}: its words average 11.5 characters, so it looks like raw, unsegmented" in err, err
    assert "would learn to split nothing" in err and err.count("\n") == 1, err
    err = _train_segmented(tmp_path, capsys, "我们今天去公园 散步天气很好\n这是一个测试句 子看看吧呀\n")
    warning = [line for line in err.splitlines() if line.startswith("rnnkit: warning:")]
    assert len(warning) == 1 and "average 6.2 characters" in warning[0] and "unsegmented" in warning[0], err


def test_language_model_hint_primes_with_the_training_texts_own_characters(tmp_path, capsys):
    path = tmp_path / "poem.txt"
    path.write_text("春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。\n" * 40, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(path), "--level", "char", "--bptt", "8",
                                    "--batch-size", "4", "--run-dir", str(tmp_path / "lm"), *SMALL])
    assert code == 0, err
    hint = [line for line in err.splitlines() if line.startswith("sample more with:")]
    assert hint and hint[0].endswith("--prime '春眠不觉'"), err
    model = hint[0].split("generate ")[1].split(" --prime")[0]
    code, out, err = run_cli(capsys, ["generate", model, "--prime", "春眠不觉", "--length", "5"])
    assert code == 0 and out.startswith("春眠不觉") and "not in the vocabulary" not in err, (out, err)
    # under --min-count 2 the first line's first character is <unk>: the next line's start, not the
    # commonest character ('，') as before
    path.write_text("床前明月光，疑是地上霜。\n" + "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。\n" * 40, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(path), "--level", "char", "--bptt", "8",
                                    "--min-count", "2", "--batch-size", "4", "--run-dir", str(tmp_path / "lm2"),
                                    *SMALL])
    assert code == 0 and "--prime '春眠不觉'" in err, err


def test_word_level_hint_primes_with_a_word_the_model_knows(tmp_path, capsys):
    """The hint took the training text's first word, which --min-count 2 had made <unk>."""
    path = tmp_path / "train.txt"
    path.write_text("aardvarks sing\n" + "the cat sat on the mat\n" * 40, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(path), "--min-count", "2", "--bptt", "8",
                                    "--batch-size", "4", "--run-dir", str(tmp_path / "lm"), *SMALL])
    hint = [line for line in err.splitlines() if line.startswith("sample more with:")]
    assert code == 0 and hint and hint[0].endswith("--prime the"), err
    code, out, err = run_cli(capsys, ["generate", str(tmp_path / "lm" / "last.safetensors"), "--prime", "the",
                                      "--length", "3"])
    assert code == 0 and "not in the model's vocabulary" not in err, err
    # unsegmented Chinese read as words: each "word" is a whole line, no prime to show (it was one whole sentence)
    zh = tmp_path / "zh.txt"
    zh.write_text("春眠不觉晓处处闻啼鸟夜来风雨声花落知多少\n" * 30 + "床前明月光疑是地上霜\n" * 30, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "lm", "--train", str(zh), "--bptt", "4", "--batch-size", "2",
                                    "--run-dir", str(tmp_path / "zhw"), *SMALL])
    hint = [line for line in err.splitlines() if line.startswith("sample more with:")]
    assert code == 0 and hint and hint[0].endswith("generate " + str(tmp_path / "zhw" / "last.safetensors")), err


def test_hmm_help_does_not_promise_checkpoints_or_early_stopping(capsys):
    code, out, _ = run_cli(capsys, ["train", "hmm", "--help"])
    assert code == 0
    start = out.index("  --valid VALID")  # the option's entry, not the usage line
    valid = out[start:out.index("  --test", start)]
    assert "early stopping" not in valid and "one pass" in valid, valid


def test_a_library_warning_is_one_line_on_the_command_line(tmp_path, capsys, monkeypatch):
    def warn_and_succeed(args):
        warnings.warn("no installed font has the characters ['我']", stacklevel=2)
        return 0

    monkeypatch.setattr("rnnkit.cli.ngram.run", warn_and_succeed)
    code, _, err = run_cli(capsys, ["train", "ngram", "--train", "unused.txt"])
    assert code == 0 and err == "rnnkit: warning: no installed font has the characters ['我']\n", err


def test_word_level_language_model_on_raw_chinese_is_warned_about(tmp_path, capsys):
    raw, seg = tmp_path / "raw.txt", tmp_path / "seg.txt"
    raw.write_text(RAW * 40, encoding="utf-8")
    seg.write_text(SEGMENTED.replace("\n\n", "\n") * 40, encoding="utf-8")
    for path, warned in ((raw, True), (seg, False)):
        code, _, err = run_cli(capsys, ["train", "lm", "--train", str(path), "--bptt", "4", "--batch-size", "2",
                                        "--run-dir", str(tmp_path / path.stem), *SMALL])
        assert code == 0, err
        lines = [line for line in err.splitlines() if line.startswith("rnnkit: warning:")]
        assert len(lines) == int(warned) and (not warned or "--level char" in lines[0]), err


def test_tagging_raw_chinese_with_a_word_tagger_is_warned_about(tmp_path, capsys):
    from clirun import write_conllu

    sentences = [[("我们", "PRON"), ("今天", "NOUN"), ("去", "VERB"), ("公园", "NOUN")],
                 [("天气", "NOUN"), ("很", "ADV"), ("好", "ADJ")]] * 5
    train = write_conllu(tmp_path / "train.conllu", sentences)
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(train), "--run-dir", str(tmp_path / "pos"),
                                    *SMALL])
    assert code == 0, err
    model = str(tmp_path / "pos" / "last.safetensors")
    for text, warned in ((RAW, True), ("我们 今天 去 公园\n天气 很 好\n", False)):
        path = tmp_path / "input.txt"
        path.write_text(text, encoding="utf-8")
        code, out, err = run_cli(capsys, ["tag", model, str(path)])
        assert code == 0 and len(out.splitlines()) == 2, (out, err)
        lines = [line for line in err.splitlines() if line.startswith("rnnkit: warning:")]
        assert len(lines) == int(warned) and (not warned or "rnnkit segment" in lines[0]), err


def test_dash_reads_standard_input_and_evaluate_and_valid_get_the_chinese_warnings(tmp_path, capsys, monkeypatch):
    import io

    train = tmp_path / "seg.txt"
    train.write_text("我们 今天 , 去 公园 .\n天气 很 好 !\n这 是 测试 :\n" * 5, encoding="utf-8")  # ASCII punctuation
    raw_valid = tmp_path / "raw-valid.txt"
    raw_valid.write_text(RAW, encoding="utf-8")
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(train), "--valid", str(raw_valid), "--format",
                                    "segmented", "--run-dir", str(tmp_path / "run"), *SMALL])
    assert code == 2 and f"rnnkit: error: {raw_valid}: its words average" in err, err  # a raw --valid file
    raw_valid.write_text("我们今天去公园 散步天气很好\n", encoding="utf-8")  # 6.5 characters a word: warned
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(train), "--valid", str(raw_valid), "--format",
                                    "segmented", "--run-dir", str(tmp_path / "run"), *SMALL])
    assert code == 0 and f"rnnkit: warning: {raw_valid}: its words average 6.5" in err, err
    model = str(tmp_path / "run" / "last.safetensors")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("我们今天去公园\n".encode())))
    code, out, err = run_cli(capsys, ["segment", model, "-"])
    assert code == 0 and out.replace(" ", "") == "我们今天去公园\n", (out, err)
    full = tmp_path / "full.txt"
    full.write_text("我们 今天 ， 去 公园 。\n天气 很 好 ！\n这 是 测试 ：\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["evaluate", model, str(full)])
    assert code == 0 and "--fold-width" in err, err  # evaluate says what the model cannot read, too


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("rnnkit: warning:")]


def test_every_word_reading_command_warns_about_raw_chinese(tmp_path, capsys):
    """train ngram, train hmm --format segmented, train seq2seq at word level, and evaluate / score of a
    word-level language model: each warns once about raw Chinese, and never about segmented text."""
    raw, seg = tmp_path / "raw.txt", tmp_path / "seg.txt"
    raw.write_text(RAW * 40, encoding="utf-8")
    seg.write_text(SEGMENTED.replace("\n\n", "\n") * 40, encoding="utf-8")
    pairs = {name: tmp_path / f"{name}.tsv" for name in ("raw", "seg")}
    pairs["raw"].write_text("".join(f"{a}\t{a}\n" for a in RAW.split("\n") if a) * 20, encoding="utf-8")
    pairs["seg"].write_text("".join(f"{a}\t{a}\n" for a in SEGMENTED.split("\n") if a) * 20, encoding="utf-8")
    for kind, path in (("seg", seg), ("raw", raw)):  # the segmented models first: both files are scored with them
        warned = kind == "raw"
        code, _, err = run_cli(capsys, ["train", "ngram", "--train", str(path), "--order", "2",
                                        "--save", str(tmp_path / f"ng-{kind}.safetensors")])
        assert code == 0 and len(_warnings(err)) == warned and (not warned or "--level char" in err), err
        code, _, err = run_cli(capsys, ["train", "hmm", "--train", str(path), "--format", "segmented",
                                        "--output", str(tmp_path / f"hmm-{kind}.safetensors")])
        assert (code, "looks like raw, unsegmented" in err) == ((2, True) if warned else (0, False)), err
        code, _, err = run_cli(capsys, ["train", "seq2seq", "--train", str(pairs[kind]), "--epochs", "1",
                                        "--max-steps", "1", "--run-dir", str(tmp_path / f"s2s-{kind}"), *SMALL])
        assert code == 0 and len(_warnings(err)) == 2 * warned, err  # source side and target side
        assert not warned or ("(source side)" in err and "(target side)" in err)
        for command in ("evaluate", "score"):  # the model read segmented text; the data is raw or not
            code, _, err = run_cli(capsys, [command, str(tmp_path / "ng-seg.safetensors"), str(path)])
            assert code == 0 and len(_warnings(err)) == warned and (not warned or "rnnkit segment" in err), err
        code, _, err = run_cli(capsys, ["evaluate", str(tmp_path / "hmm-seg.safetensors"), str(path)])
        assert code == 0 and len(_warnings(err)) == warned and (not warned or "mean nothing" in err), err


def _hmm_segmenter(tmp_path, capsys, text: str):
    """An HMM segmenter trained on ``text`` (words separated by spaces); returns its path."""
    train = tmp_path / "hmm-train.txt"
    train.write_text(text, encoding="utf-8")
    model = tmp_path / "hmm.safetensors"
    code, _, err = run_cli(capsys, ["train", "hmm", "--train", str(train), "--format", "segmented", "--output",
                                    str(model)])
    assert code == 0, err
    return model


def test_segmenting_text_in_the_other_script_names_the_unknown_characters(tmp_path, capsys):
    model = _hmm_segmenter(tmp_path, capsys, "我們 今天 去 公園 散步\n天氣 很 好\n這 是 一個 測試 句子\n" * 10)
    for text, warned in (("我們今天去公園散步天氣很好\n", False), ("我们今天去公园散步这是一个测试句子\n", True)):
        raw = tmp_path / "raw.txt"
        raw.write_text(text, encoding="utf-8")
        code, out, err = run_cli(capsys, ["segment", str(model), str(raw)])
        assert code == 0 and "".join(out.split()) == text.strip(), err
        assert len(_warnings(err)) == warned and (not warned or "Simplified" in err and "们" in err), err
        assert not warned or "the text is written in Simplified characters and the model was trained on " \
                             "Traditional ones" in err, err


def test_unknown_characters_in_the_models_own_script_are_blamed_on_the_training_text(tmp_path, capsys):
    """Both Simplified: the warning blamed Simplified against Traditional all the same."""
    model = _hmm_segmenter(tmp_path, capsys, "我们 今天 去 公园\n这 是 一个 测试\n他们 说 好\n" * 10)
    raw = tmp_path / "raw.txt"
    raw.write_text("这个国家的经济发展很快我们都知道\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["segment", str(model), str(raw)])
    assert code == 0 and "are unknown to the model" in err and "did not hold them" in err, err
    assert "OpenCC" not in err and "Traditional" not in err, err


def test_a_few_bad_lines_in_a_big_file_are_warned_of_line_by_line(tmp_path, capsys):
    """The user walk's file: 500 Traditional lines and 20 Simplified ones with full-width punctuation, given
    to a Traditional model trained on ASCII punctuation.  The 20 came out badly cut, and neither warning
    came: their characters are under 0.5% and 20% of the file's."""
    model = _hmm_segmenter(tmp_path, capsys, "我們 今天 去 公園 散步 , 天氣 很 好 .\n這 是 一個 測試 句子 .\n" * 10)
    raw = tmp_path / "raw.txt"
    raw.write_text("我們今天去公園散步,天氣很好.\n" * 500 + "我们今天去公园散步，这是一个测试句子。\n" * 3,
                   encoding="utf-8")
    code, _, err = run_cli(capsys, ["segment", str(model), str(raw)])
    assert code == 0 and len(_warnings(err)) == 2, err
    assert "3 of its 503 lines (lines 501, 502, 503) hold full-width characters (。，)" in err, err
    assert "3 of its 503 lines (lines 501, 502, 503) have a fifth or more of their Chinese" in err, err
    assert "the text is written in Simplified characters" in err, err
    raw.write_text("我們今天去公園散步，天氣很好。\n" * 500, encoding="utf-8")  # all of it: warned once, as before
    code, _, err = run_cli(capsys, ["segment", str(model), str(raw)])
    assert code == 0 and len(_warnings(err)) == 1 and "1,000 characters (。，) are unknown" in err, err
