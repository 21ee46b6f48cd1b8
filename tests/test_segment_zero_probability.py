"""rnnkit segment on lines an HMM segmenter gives probability 0: the words are printed (a fallback guess),
then one warning after the output names their lines, as rnnkit tag does for sentences."""
from __future__ import annotations

import io

import pytest
from clirun import run_cli

from rnnkit.tagging.loaded import LoadedTagger
from rnnkit.tagging.segmenter import segment_lines

# 丙 is always a word of its own and 乙 always ends one; each sentence starts with a two-character word and
# ends with one, so deleted interpolation gives the tag unigram no weight and an unseen bigram is impossible
TRAIN = "甲乙 丙 丁戊\n丁戊 丙 甲乙\n甲乙 丙 甲乙 丙 丁戊\n" * 10
WARNED = "probability 0 under the model"


@pytest.fixture(scope="module")
def hmm(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("segzero")
    (tmp / "train.txt").write_text(TRAIN, encoding="utf-8")
    from rnnkit.cli.main import main

    assert main(["train", "hmm", "--train", str(tmp / "train.txt"), "--format", "segmented", "--output",
                 str(tmp / "hmm.st")]) == 0
    return tmp / "hmm.st"


def _segment(capsys, monkeypatch, argv, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    return run_cli(capsys, ["segment", *map(str, argv)])


def test_lines_of_probability_zero_are_warned_of_once_after_the_output(hmm, capsys, monkeypatch):
    loaded = LoadedTagger(hmm)
    text = "甲乙丙丁戊\n丙\n乙甲\n\n甲乙丙丙\n"
    zero = [n for n, line in enumerate(text.splitlines(), start=1)
            if line and loaded.model.log_likelihood(list(line)) == -float("inf")]
    assert zero == [2, 3, 5]  # a lone 丙 (BOS -> S -> EOS unseen), 乙 starting a word, 丙 after 丙
    code, out, err = _segment(capsys, monkeypatch, [hmm], text)
    assert code == 0 and out.splitlines() == ["甲乙 丙 丁戊", "丙", "乙甲", "", "甲乙 丙 丙"], out
    assert err.count(WARNED) == 1 and len(err.strip().splitlines()) == 1, err
    assert f"standard input: lines 2, 3, 5 have {WARNED}" in err and "their words are a fallback guess" in err
    assert "--dict" not in err and "probabilities are written" not in err
    code, out, err = _segment(capsys, monkeypatch, [hmm], "甲乙丙丁戊\n")
    assert code == 0 and err == "", err


def test_line_numbers_count_across_blocks_and_a_forced_dictionary_word_is_named(hmm, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("rnnkit.cli.tag.BLOCK", 2)  # written two lines at a time
    code, out, err = _segment(capsys, monkeypatch, [hmm], "甲乙丙丁戊\n甲乙丙丁戊\n甲乙丙丁戊\n丙\n")
    assert code == 0 and len(out.splitlines()) == 4 and f"line 4 has {WARNED}" in err, err
    (tmp_path / "words.txt").write_text("丙丁\n", encoding="utf-8")  # forces 丙 into B, never seen there
    code, out, err = _segment(capsys, monkeypatch, [hmm, "--dict", tmp_path / "words.txt"], "甲乙丙丁戊\n")
    assert code == 0 and out == "甲乙 丙丁 戊\n", out
    assert f"line 1 has {WARNED}" in err and "a --dict word forcing its characters" in err, err


def test_segment_lines_names_a_long_lines_index_once(hmm):
    from rnnkit.tagging.segmenter import LONG_LINE

    long = "甲乙丙丁戊" * (LONG_LINE // 5) + "。" + "丙丙"  # two pieces, the second impossible
    impossible: list[int] = []
    words = segment_lines(LoadedTagger(hmm), ["丙丙", "", long, "甲乙丙丁戊"], impossible=impossible)
    assert impossible == [0, 2] and words[1] == [] and "".join(words[2]) == long


def test_evaluate_names_the_gold_lines_of_probability_zero_in_one_warning(hmm, tmp_path, capsys):
    """evaluate scored them on the fallback guess without a word; segment names them."""
    gold = tmp_path / "gold.txt"
    gold.write_text("甲乙 丙 丁戊\n丙\n乙甲\n\n甲乙 丙 丙\n", encoding="utf-8")  # lines 2, 3, 5: as segment's test
    code, out, err = run_cli(capsys, ["evaluate", str(hmm), str(gold)])
    assert code == 0 and "F1" in out, err
    assert len(err.strip().splitlines()) == 1, err
    assert f"gold.txt: 3 of the 4 sentences (lines 2, 3, 5) have {WARNED}: no tag path can produce them" in err, err
    assert "their words are a fallback guess" in err and "they are scored as predicted" in err, err
    gold.write_text("甲乙 丙 丁戊\n丁戊 丙 甲乙\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["evaluate", str(hmm), str(gold)])
    assert code == 0 and err == "", err


def test_evaluate_counts_a_conllu_gold_files_sentences_by_number(hmm, tmp_path, capsys):
    """A CoNLL-U file read as segmented text keeps no line numbers: its sentences are named by number."""
    from clirun import write_conllu

    gold = write_conllu(tmp_path / "gold.conllu", [[("甲乙", "X"), ("丙", "X"), ("丁戊", "X")], [("丙", "X")]])
    code, out, err = run_cli(capsys, ["evaluate", str(hmm), str(gold)])
    assert code == 0 and "F1" in out, err
    assert f"gold.conllu: 1 of the 2 sentences (sentence 2) has {WARNED}" in err, err
