"""``rnnkit demo segment``: its grammar's segmented sentences, its held-out data, forward maximum matching, what
a short run learns, and the command with its Chinese columns lined up."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
from clirun import run_cli
from threadpoolctl import threadpool_limits

from rnnkit.cli.main import main
from rnnkit.data.segmentation import tags_to_words, words_to_tags
from rnnkit.demos.segment import SegmentDemoConfig, make_data, max_match, run_segment_demo, word_counts
from rnnkit.demos.segment_grammar import SHOWCASE, generate_sentence
from rnnkit.metrics.segmentation import segmentation_prf
from rnnkit.textwidth import align_columns, display_width

SMALL = SegmentDemoConfig(seed=2, train_size=400, valid_size=30, test_size=100, epochs=3)
CHINESE = re.compile(r"^[\u4e00-\u9fff]+$|^[。？，]$")  # a word of Chinese characters, or one punctuation mark


def _sentences(seed: int, n: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [generate_sentence(rng) for _ in range(n)]


def test_the_grammar_is_deterministic_per_seed():
    assert _sentences(5, 50) == _sentences(5, 50)
    assert _sentences(5, 50) != _sentences(6, 50)


def test_the_grammar_makes_well_formed_segmented_sentences():
    sentences = _sentences(0, 3000)
    ends = Counter()
    for words in sentences:
        assert words, words
        for w in words:
            assert CHINESE.match(w), (w, words)  # no empty word, no space, no Latin letter
        chars, tags = words_to_tags(words)
        assert tags_to_words(chars, tags) == words  # BMES tags give the words back
        assert all(w not in "。？" for w in words[:-1]), words  # the end mark ends the sentence
        ends[words[-1] if words[-1] in "。？" else "none"] += 1
    assert ends["。"] > ends["？"] > 0 and ends["none"] > 0, ends
    # both readings of each classic ambiguity have their words in the data
    counts = Counter(w for s in sentences for w in s)
    for word in ("南京市", "南京", "市长", "长江", "大桥", "乒乓球", "乒乓球拍", "拍卖", "卖", "研究", "研究生", "生命",
                 "起源", "长"):
        assert counts[word] > 0, word


def test_held_out_sentences_are_new_and_no_sentence_holds_a_showcase_sentence():
    train, valid, test = make_data(SMALL)
    assert (len(train), len(valid), len(test)) == (400, 30, 100)
    texts = [{"".join(s) for s in part} for part in (train, valid, test)]
    assert len(texts[1]) == 30 and len(texts[2]) == 100
    assert not texts[0] & texts[1] and not texts[0] & texts[2] and not texts[1] & texts[2]
    for text, readings in SHOWCASE:
        assert not any(text in t for part in texts for t in part), text
        for reading, meaning in readings:
            assert "".join(reading.split()) == text and meaning, reading
    assert make_data(SMALL) == (train, valid, test)


def test_forward_maximum_matching():
    words = {"研究", "研究生", "生命", "的", "起源", "南京市", "长江", "大桥", "市长"}
    assert max_match("研究生命的起源", words) == ["研究生", "命", "的", "起源"]  # greedy: the classic mistake
    assert max_match("南京市长江大桥", words) == ["南京市", "长江", "大桥"]
    assert max_match("熊猫", words) == ["熊", "猫"]  # characters of no word: one word each
    assert max_match("", words) == [] and max_match("长江", set()) == ["长", "江"]


def test_word_counts():
    assert word_counts([["我", "爱", "长江"], ["长江"]], ["长江", "江"]) == [("长江", 2), ("江", 0)]


def test_align_columns_lines_up_chinese_by_display_width():
    lines = align_columns([["characters", "南", "京"], ["HMM", "B", "E", "南京"]])
    assert lines == ["characters  南  京", "HMM         B   E   南京"]
    assert _column_starts(lines[0]) == _column_starts(lines[1])[:3] == [0, 12, 16]


def test_a_short_run_beats_single_characters_and_maximum_matching(tmp_path):
    train, _, test = make_data(SMALL)
    single = segmentation_prf(test, [list("".join(s)) for s in test])["f1"]  # baseline: every character a word
    with threadpool_limits(limits=1, user_api="blas"):
        result = run_segment_demo(SMALL, tmp_path, log=lambda line: None)
    f1 = {k: result[k]["f1"] for k in ("max_match", "hmm", "bilstm")}
    print(single, f1, f"{result['seconds']:.1f} s")
    assert f1["max_match"] > single + 0.2, (single, f1)
    assert f1["hmm"] > f1["max_match"] + 0.03 and f1["bilstm"] > f1["max_match"] + 0.03, f1
    for text, found in result["showcase"]:
        for model, words in found.items():
            assert "".join(words) == text, (model, words)
    for name in ("best.safetensors", "hmm.safetensors", "train.txt", "valid.txt", "test.txt"):
        assert (tmp_path / name).exists(), name


def test_the_same_seed_gives_the_same_run(tmp_path):
    tiny = SegmentDemoConfig(seed=4, train_size=150, valid_size=20, test_size=40, epochs=1)
    with threadpool_limits(limits=1, user_api="blas"):
        first, second = (run_segment_demo(tiny, tmp_path / name, log=lambda line: None) for name in ("a", "b"))
    for key in ("max_match", "hmm", "bilstm", "showcase"):
        assert first[key] == second[key], key


def _column_starts(line: str) -> list[int]:
    """The display column where each space-separated cell of ``line`` starts."""
    return [display_width(line[:m.start()]) for m in re.finditer(r"\S+", line)]


def test_cli_demo_segment_runs_in_utf8_with_chinese_columns_lined_up(tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["demo", "segment", "--train-size", "300", "--epochs", "2", "--seed", "1", "--run-dir", str(run)])
    out = capsys.readouterr().out
    assert code == 0
    assert "中文分词" in out and "dictionary, forward maximum matching" in out and "OOV recall" in out, out
    lines = out.splitlines()
    assert "reading 1  南京市 / 长江 / 大桥" in out, out
    for text, readings in SHOWCASE:
        at = lines.index(text)
        table = lines[at + len(readings) + 2: at + len(readings) + 6]
        labels = [row.split()[0] for row in table]
        assert labels == ["characters", "max-match", "HMM", "BiLSTM-CRF"], table
        chars = _column_starts(table[0])  # the label, then one cell a character
        assert len(chars) == len(text) + 1
        for row in table[1:]:  # each model's BMES tags stand under the characters, then its words
            assert _column_starts(row)[:len(chars)] == chars, (table[0], row)
            cells = row.split()
            words = [w for w in cells[len(text) + 1:] if CHINESE.match(w)]
            assert "".join(words) == text and cells[1:len(text) + 1] == words_to_tags(words)[1], row
    bilstm = next(line for line in lines if line.startswith("  BiLSTM-CRF, characters and bigrams"))
    f1 = bilstm.split("F1")[1].split()[0]
    scores = [line for line in lines if line.startswith(("  dictionary, ", "  trigram HMM ", "  BiLSTM-CRF, "))]
    assert len(scores) == 3 and len({(r.index(" P "), r.index(" F1 "), r.index(" OOV")) for r in scores}) == 1, scores
    assert main(["evaluate", str(run / "best.safetensors"), str(run / "test.txt")]) == 0
    assert f"F1 {f1} " in capsys.readouterr().out
    (tmp_path / "raw.txt").write_text("长江大桥很长\n", encoding="utf-8")
    for model in ("best.safetensors", "hmm.safetensors"):
        assert main(["segment", str(run / model), str(tmp_path / "raw.txt")]) == 0
        assert "".join(capsys.readouterr().out.split()) == "长江大桥很长"


def test_cli_demo_segment_option_errors(tmp_path, capsys):
    for argv, said in ((["--epochs", "0"], "--epochs"), (["--train-size", "0"], "--train-size")):
        with pytest.raises(SystemExit) as exc:
            main(["demo", "segment", *argv, "--run-dir", str(tmp_path / "r")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1 and said in err, err
    assert main(["demo", "--seed", "4", "segment"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seed before 'segment' is an option of the default demo" in err, err
    assert not (tmp_path / "r").exists()
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main(["demo", "segment", "--run-dir", str(tmp_path / "file" / "run")]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and "is a file, not a folder" in out.err, out


def test_one_training_sentence_is_said_in_the_singular(tmp_path):
    lines: list[str] = []
    tiny = SegmentDemoConfig(seed=0, train_size=1, valid_size=5, test_size=5, epochs=1)
    with threadpool_limits(1):
        run_segment_demo(tiny, tmp_path / "r", log=lines.append)
    text = "\n".join(lines)
    assert "1 training sentence from" in text and ": 1 epoch\n" in text + "\n", text
    assert "5 other sentences held out" in text, text


def test_a_run_folder_of_another_run_is_said_to_be_replaced(tmp_path, capsys):
    """The demos write train.txt, valid.txt, test.txt and hmm.safetensors beside the checkpoints: in a folder
    another run used (a language model's, another demo's), those were replaced without a word."""
    run = tmp_path / "lm"
    run.mkdir()
    (run / "last.safetensors").write_bytes(b"an earlier run's checkpoint")  # set aside, not read
    (run / "train.txt").write_text("an earlier run's data\n", encoding="utf-8")
    for demo in ("segment", "tagging"):
        code, out, err = run_cli(capsys, ["demo", demo, "--train-size", "30", "--epochs", "1", "--run-dir", str(run)])
        assert code == 0, err
        said = out + err
        replaced = "train.txt is replaced now" if demo == "segment" else "train.txt, valid.txt, test.txt and hmm"
        assert f"new run in {run}: the earlier run's {replaced}" in said, said
        assert f"new run in {run}: the earlier run's " in said.split(replaced)[1]  # the checkpoints', as train says
    code, out, err = run_cli(capsys, ["demo", "segment", "--train-size", "30", "--epochs", "1", "--run-dir",
                                      str(tmp_path / "new")])
    assert code == 0 and "new run in" not in out + err
