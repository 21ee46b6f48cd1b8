"""``rnnkit demo tagging``: its grammar's sentences, its held-out data, what a short run learns, the command."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from rnnkit.cli.main import main
from rnnkit.demos.tagging import (TaggingDemoConfig, make_data, most_frequent_tag_accuracy, run_tagging_demo,
                                  same_hmm_tags)
from rnnkit.demos.tagging_grammar import SHOWCASE, TAGS, generate_sentence

SMALL = TaggingDemoConfig(seed=3, train_size=400, valid_size=30, test_size=100, epochs=3)


def _sentences(seed: int, n: int) -> list[tuple[list[str], list[str]]]:
    rng = np.random.default_rng(seed)
    return [generate_sentence(rng) for _ in range(n)]


def test_the_grammar_is_deterministic_per_seed():
    assert _sentences(5, 50) == _sentences(5, 50)
    assert _sentences(5, 50) != _sentences(6, 50)


def test_the_grammar_makes_well_formed_tagged_sentences():
    sentences = _sentences(0, 3000)
    seen: dict[str, Counter] = {}
    for words, tags in sentences:
        assert len(words) == len(tags) >= 2, (words, tags)
        assert set(tags) <= set(TAGS), tags
        assert words[-1] in (".", "?") and tags[-1] == "PUNCT" and "PUNCT" not in tags[:-1], words
        for w in words:
            assert w and not any(c.isspace() for c in w) and "/" not in w, words  # a word/TAG file reads them back
        for w, nxt in zip(words, words[1:]):
            assert not (w == "a" and nxt[0] in "aeiou") and not (w == "an" and nxt[0] not in "aeiou"), words
        if words[0] == "time":  # "time flies": a verb of the third person or past, never "time fly"
            assert tags[:2] == ["NOUN", "VERB"] and words[1] not in ("fly", "swim", "fish"), words
        for w, t in zip(words, tags):
            seen.setdefault(w, Counter())[t] += 1
    # the classic ambiguities are in the data, each word with both of its parts of speech
    for word, both in (("can", {"AUX", "NOUN"}), ("like", {"VERB", "ADP"}), ("flies", {"NOUN", "VERB"}),
                       ("saw", {"VERB", "NOUN"}), ("fish", {"NOUN", "VERB"}), ("book", {"NOUN", "VERB"})):
        assert both <= set(seen[word]), (word, seen[word])
    assert any(w[:3] == ["fruit", "flies", "like"] and t[2] == "VERB" for w, t in sentences)
    assert any(w[:3] == ["time", "flies", "like"] and t[2] == "ADP" for w, t in sentences)


def test_showcase_sentences_are_tagged_one_tag_a_word():
    for text, tags, note in SHOWCASE:
        assert len(text.split()) == len(tags.split()) and set(tags.split()) <= set(TAGS) and note, text


def test_held_out_sentences_are_new_and_the_showcase_is_in_no_set():
    train, valid, test = make_data(SMALL)
    assert (len(train), len(valid), len(test)) == (400, 30, 100)
    texts = [{" ".join(w) for w, _ in part} for part in (train, valid, test)]
    assert len(texts[1]) == 30 and len(texts[2]) == 100  # no repeats within a held-out set
    assert not texts[0] & texts[1] and not texts[0] & texts[2] and not texts[1] & texts[2]
    showcase = {text for text, _, _ in SHOWCASE}
    assert not showcase & (texts[0] | texts[1] | texts[2])
    assert make_data(SMALL) == (train, valid, test)  # the seed decides


def test_most_frequent_tag_baseline():
    train = [(["the", "can", "can"], ["DET", "NOUN", "AUX"]), (["a", "can"], ["DET", "NOUN"]), (["cans"], ["NOUN"])]
    test = [(["the", "can", "new"], ["DET", "AUX", "NOUN"])]  # can -> NOUN (2 of 3); new, unseen -> NOUN (3 of 6)
    assert most_frequent_tag_accuracy(train, test) == pytest.approx(2 / 3)


def test_a_short_run_beats_the_most_frequent_tag_baseline(tmp_path):
    train, _, test = make_data(SMALL)
    # the baseline computed here: each word's most frequent training tag, NOUN for a word never seen
    counts: dict[str, Counter] = {}
    for words, tags in train:
        for w, t in zip(words, tags):
            counts.setdefault(w, Counter())[t] += 1
    gold = [t for _, tags in test for t in tags]
    guess = [counts[w].most_common(1)[0][0] if w in counts else "NOUN" for words, _ in test for w in words]
    baseline = float(np.mean([g == p for g, p in zip(gold, guess)]))
    lines: list[str] = []
    with threadpool_limits(limits=1, user_api="blas"):
        result = run_tagging_demo(SMALL, tmp_path, log=lines.append)
    print(baseline, result["hmm"], result["bilstm"], f"{result['seconds']:.1f} s")
    assert result["hmm"] > baseline + 0.02 and result["bilstm"] > baseline + 0.02, (baseline, result)
    assert result["baseline"] == pytest.approx(baseline, abs=0.02)  # the demo's own (unseen words: its top tag)
    assert len(result["showcase"]) == len(SHOWCASE)
    for words, gold_tags, hmm, bilstm in result["showcase"]:
        assert len(words) == len(gold_tags) == len(hmm) == len(bilstm)
    text = "\n".join(lines)
    assert f"  BiLSTM-CRF                                  {100 * result['bilstm']:6.2f}%  (known words" in text, text
    for name in ("best.safetensors", "hmm.safetensors", "train.txt", "valid.txt", "test.txt"):
        assert (tmp_path / name).exists(), name


def test_the_same_seed_gives_the_same_run(tmp_path):
    tiny = TaggingDemoConfig(seed=4, train_size=150, valid_size=20, test_size=40, epochs=1)
    with threadpool_limits(limits=1, user_api="blas"):
        first, second = (run_tagging_demo(tiny, tmp_path / name, log=lambda line: None) for name in ("a", "b"))
    for key in ("hmm", "bilstm", "baseline", "showcase"):
        assert first[key] == second[key], key


def test_the_hmm_remark_is_made_only_when_the_hmm_gave_both_sentences_the_same_tags():
    time_flies = ["time", "flies", "like", "an", "arrow", "."]
    fruit_flies = ["fruit", "flies", "like", "a", "banana", "."]
    gold_time = ["NOUN", "VERB", "ADP", "DET", "NOUN", "PUNCT"]
    gold_fruit = ["NOUN", "NOUN", "VERB", "DET", "NOUN", "PUNCT"]
    alike = [(time_flies, gold_time, gold_time, gold_time), (fruit_flies, gold_fruit, gold_time, gold_fruit)]
    said = same_hmm_tags(alike)
    assert "alike (NOUN VERB ADP DET NOUN PUNCT: right for time flies)" in said, said
    differ = [(time_flies, gold_time, gold_time, gold_time), (fruit_flies, gold_fruit, gold_fruit, gold_fruit)]
    assert same_hmm_tags(differ) == ""
    assert same_hmm_tags(alike[:1]) == ""


def test_cli_demo_tagging_runs_and_its_models_tag_and_evaluate(tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["demo", "tagging", "--train-size", "300", "--epochs", "2", "--seed", "1", "--run-dir", str(run)])
    out = capsys.readouterr().out
    assert code == 0
    assert "trigram HMM (Viterbi)" in out and "each word's most frequent tag (no context)" in out, out
    assert "time flies like an arrow ." in out and "fruit flies like a banana ." in out, out
    rows = [line for line in out.splitlines() if line.startswith(("  each word's", "  trigram HMM", "  BiLSTM-CRF "))]
    assert len(rows) == 3 and len({r.index("%") for r in rows}) == 1, rows  # the percentages line up
    accuracy = rows[2].split()[1]  # "99.80%"
    # what the demo says to do with its models works, and evaluate agrees with the demo's test score
    assert main(["evaluate", str(run / "best.safetensors"), str(run / "test.txt")]) == 0
    assert f"token accuracy {accuracy}" in capsys.readouterr().out
    (tmp_path / "in.txt").write_text("the duck can fish\n", encoding="utf-8")
    for model in ("best.safetensors", "hmm.safetensors"):
        assert main(["tag", str(run / model), str(tmp_path / "in.txt")]) == 0
        tagged = capsys.readouterr().out.split()
        assert [t.split("/")[0] for t in tagged] == ["the", "duck", "can", "fish"], tagged


def test_cli_demo_tagging_option_errors(tmp_path, capsys):
    for argv, said in ((["--epochs", "0"], "--epochs"), (["--train-size", "-3"], "--train-size"),
                       (["--seed", "x"], "--seed")):
        with pytest.raises(SystemExit) as exc:
            main(["demo", "tagging", *argv, "--run-dir", str(tmp_path / "r")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1 and said in err, err
    # an option of the main demo, written before this demo's name, is refused, not ignored
    assert main(["demo", "--run-dir", str(tmp_path / "x"), "tagging", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--run-dir before 'tagging' is an option of the default demo" in err, err
    assert not (tmp_path / "x").exists() and not (tmp_path / "r").exists()
    # a run folder that cannot be one is said in one line before any work
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main(["demo", "tagging", "--run-dir", str(tmp_path / "file")]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and "is a file, not a run folder" in out.err, out


def test_one_training_sentence_is_said_in_the_singular_and_no_empty_list_is_printed(tmp_path):
    """--train-size 1 printed "1 training sentences", "1 epochs" and "most evenly split:" over nothing."""
    lines: list[str] = []
    tiny = TaggingDemoConfig(seed=0, train_size=1, valid_size=5, test_size=5, epochs=1)
    with threadpool_limits(1):
        run_tagging_demo(tiny, tmp_path / "r", log=lines.append)
    text = "\n".join(lines)
    assert "1 training sentence from" in text and ": 1 epoch\n" in text + "\n", text
    assert "5 other sentences held out" in text, text
    assert "most evenly split" not in text and "no word was seen with more than one tag" in text, text
