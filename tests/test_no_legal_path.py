"""Sentences the scheme's rules allow no sequence of a model's tags: a segmenter trained on no one-character
word has no S, so a one-character line (and, without M, any line of odd length) has no legal B M E S tags.
segment, tag and training's validation read them without the rules and name them in one warning."""
from __future__ import annotations

import io
import itertools
import warnings

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.constraints import allowed_transitions, has_legal_path, is_allowed, no_path_indices
from rnnkit.tagging.loaded import LoadedTagger

TRAIN = "甲乙 丙丁\n丙丁 甲乙\n甲乙 甲乙 丙丁\n" * 6  # two-character words only: tags B and E
TEXT = "甲乙丙丁\n甲乙丙\n\n丙丁\n甲\n"  # lines 2 and 5 have odd length
CAUSE = "the model has no S tag and no M tag (its training data had only two-character words)"
SPANS = "a/B-X b/E-X\nc/B-X d/I-X e/E-X\n" * 5  # BIOES without O or S-X


@pytest.mark.parametrize("scheme, tags", [("bmes", ["B", "E"]), ("bmes", ["B", "M", "E"]), ("bmes", ["S", "B", "E"]),
                                          ("bioes", ["B-X", "I-X", "E-X"]), ("bioes", ["B-X", "E-X", "O"]),
                                          ("bio", ["I-X"])])
def test_has_legal_path_agrees_with_enumerating_every_sequence(scheme, tags):
    constraints = allowed_transitions(tags, scheme)
    rng = np.random.default_rng(0)
    for n in range(0, 5):
        masks = [None] + [rng.random((n, len(tags))) < 0.7 for _ in range(5)]
        for mask in masks:
            brute = any(is_allowed(p, *constraints) and (mask is None or all(mask[t, k] for t, k in enumerate(p)))
                        for p in itertools.product(range(len(tags)), repeat=n))
            assert has_legal_path(constraints, n, mask) == brute, (tags, n, mask)
    assert no_path_indices(allowed_transitions(["B", "E"], "bmes"), [2, 1, 4, 3, 0]) == {1, 3}
    assert no_path_indices(None, [1]) == set()


@pytest.mark.parametrize("scheme, tags", [("bmes", ["B", "E"]), ("bmes", ["B", "M", "E"]), ("bmes", ["S", "B", "E"]),
                                          ("bioes", ["B-X", "I-X", "E-X", "B-Y", "E-Y"]), ("bio", ["B-X", "I-X", "O"])])
def test_the_batched_masked_reachability_finds_what_each_sentence_alone_finds(scheme, tags):
    constraints = allowed_transitions(tags, scheme)
    rng = np.random.default_rng(1)
    for keep in (0.6, 0.85, 0.97):
        lengths = [int(n) for n in rng.integers(0, 13, size=60)]
        masks = [None if rng.random() < 0.2 else rng.random((n, len(tags))) < keep for n in lengths]
        one_by_one = {i for i, (n, mask) in enumerate(zip(lengths, masks)) if not has_legal_path(constraints, n, mask)}
        assert no_path_indices(constraints, lengths, masks) == one_by_one, (keep, lengths)
    assert no_path_indices(constraints, [0, 0], [np.zeros((0, len(tags)), bool), None]) == set()
    odd = [np.ones((3, 1), bool), np.ones((4, len(tags)), int), np.zeros((5, len(tags)), bool)]  # read as before
    assert no_path_indices(constraints, [3, 3, 3], odd) == {i for i, m in enumerate(odd)
                                                            if not has_legal_path(constraints, 3, m)}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from rnnkit.cli.main import main

    tmp = tmp_path_factory.mktemp("nopath")
    (tmp / "train.txt").write_text(TRAIN, encoding="utf-8")
    (tmp / "spans.txt").write_text(SPANS, encoding="utf-8")
    small = ["--epochs", "1", "--hidden", "8", "--embed", "8"]
    assert main(["train", "hmm", "--train", str(tmp / "train.txt"), "--format", "segmented",
                 "--output", str(tmp / "hmm.st")]) == 0
    assert main(["train", "tagger", "--train", str(tmp / "train.txt"), "--format", "segmented", "--crf",
                 "--run-dir", str(tmp / "crf"), *small]) == 0
    assert main(["train", "tagger", "--train", str(tmp / "train.txt"), "--format", "segmented",
                 "--run-dir", str(tmp / "softmax"), *small]) == 0
    assert main(["train", "hmm", "--train", str(tmp / "spans.txt"), "--format", "slash", "--scheme", "bioes",
                 "--output", str(tmp / "spans_hmm.st")]) == 0
    assert main(["train", "tagger", "--train", str(tmp / "spans.txt"), "--format", "slash", "--scheme", "bioes",
                 "--crf", "--run-dir", str(tmp / "spans_crf"), *small]) == 0
    return {"hmm": tmp / "hmm.st", "crf": tmp / "crf" / "last.safetensors",
            "softmax": tmp / "softmax" / "last.safetensors", "spans_hmm": tmp / "spans_hmm.st",
            "spans_crf": tmp / "spans_crf" / "last.safetensors", "dir": tmp}


def _run(capsys, monkeypatch, argv, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    return run_cli(capsys, list(map(str, argv)))


@pytest.mark.parametrize("kind", ["hmm", "crf", "softmax"])
def test_segment_prints_every_line_and_names_the_odd_ones_with_the_cause(models, kind, capsys, monkeypatch):
    code, out, err = _run(capsys, monkeypatch, ["segment", models[kind]], TEXT)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 5 and [line.replace(" ", "") for line in lines] == TEXT.splitlines(), out
    assert len(err.strip().splitlines()) == 1, err
    assert f"standard input: lines 2, 5: {CAUSE}, so a line of odd length has no legal B M E S tags" in err, err
    assert "ignoring the BMES rules; to fix it, train on data that has one-character words" in err, err
    assert "probability 0" not in err  # an HMM's fallback is this cause's, not said twice
    code, out, err = _run(capsys, monkeypatch, ["segment", models[kind]], "甲乙丙丁\n")
    assert code == 0 and err == "", err


def test_training_warns_of_the_missing_tags_and_validates_odd_lines(models, capsys):
    from rnnkit.cli.main import main

    tmp = models["dir"]
    (tmp / "valid.txt").write_text("甲乙 丙\n丙丁\n", encoding="utf-8")  # a one-character word to validate
    code = main(["train", "tagger", "--train", str(tmp / "train.txt"), "--valid", str(tmp / "valid.txt"),
                 "--format", "segmented", "--crf", "--run-dir", str(tmp / "valid_run"), "--epochs", "1",
                 "--hidden", "8", "--embed", "8"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"train.txt: {CAUSE}" in err and "add one-character words" in err, err
    code = main(["train", "hmm", "--train", str(tmp / "train.txt"), "--valid", str(tmp / "valid.txt"),
                 "--format", "segmented", "--output", str(tmp / "valid_hmm.st")])
    err = capsys.readouterr().err
    assert code == 0 and f"train.txt: {CAUSE}" in err, err


@pytest.mark.parametrize("kind", ["spans_hmm", "spans_crf"])
@pytest.mark.parametrize("option", [[], ["--probs"], ["--nbest", "2"], ["--spans"]])
def test_tag_with_a_span_scheme_names_the_sentence_it_cannot_tag_by_the_rules(models, kind, option, capsys,
                                                                              monkeypatch):
    code, out, err = _run(capsys, monkeypatch, ["tag", models[kind], *option], "a b\nc\nc d e\n")
    assert code == 0, err
    assert "standard input: line 2: the model has no O or S-X tag" in err and "ignoring the BIOES rules" in err
    assert len(err.strip().splitlines()) == 1 and "probability 0" not in err, err
    if not option:
        assert out.splitlines()[0] == "a/B-X b/E-X" and out.splitlines()[1].startswith("c/"), out


def test_the_library_segments_with_one_warning(models):
    seg = LoadedTagger(models["hmm"])
    with pytest.warns(UserWarning, match=r"line 1 \(0-based\): the model has no S tag"):
        words = seg.segment(["甲乙丙丁", "甲乙丙"])
    assert ["".join(w) for w in words] == ["甲乙丙丁", "甲乙丙"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert seg.segment("甲乙丙丁") == ["甲乙", "丙丁"]
    no_path: list[int] = []
    from rnnkit.tagging.io import TaggingData

    seg.predict(TaggingData([list("甲"), list("甲乙"), []], None, None, None), no_path=no_path)
    assert no_path == [0]


@pytest.mark.parametrize("kind", ["hmm", "crf"])
def test_a_dictionary_word_that_leaves_a_lone_character_beside_it(models, kind, capsys, monkeypatch):
    words = models["dir"] / "words.txt"
    words.write_text("乙丙\n", encoding="utf-8")  # 甲|乙丙|丁: an even line, but 甲 and 丁 alone need S
    code, out, err = _run(capsys, monkeypatch, ["segment", models[kind], "--dict", words], "甲乙丙丁\n丙丁甲乙\n")
    assert code == 0, err
    assert out.splitlines()[0] == "甲 乙丙 丁" and out.splitlines()[1] == "丙丁 甲乙", out
    assert f"standard input: line 1: {CAUSE}, so a stretch of odd length has no legal B M E S tags, and the --dict " \
           "words kept whole leave such a stretch beside them" in err, err
    assert "to fix it, leave those words out of --dict, or train on data that has one-character words" in err
    assert "line of odd length" not in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("kind", ["hmm", "crf"])
def test_a_dictionary_word_that_needs_a_tag_the_model_lacks_is_named(models, kind, capsys, monkeypatch):
    words = models["dir"] / "words3.txt"
    words.write_text("乙丙丁\n", encoding="utf-8")  # three characters: B M E, and the model has no M
    code, out, err = _run(capsys, monkeypatch, ["segment", models[kind], "--dict", words], "甲乙丙丁甲乙\n甲乙丙\n")
    assert code == 0, err
    assert out.splitlines()[0].startswith("甲 乙丙丁 甲"), out  # an even line: its length alone has a legal path
    assert ("standard input: line 1: the --dict word 乙丙丁 needs the tag M, which the model lacks (its tags are B, "
            "E), so kept whole it leaves the line no legal B M E S tags") in err, err
    assert "to fix it, leave 乙丙丁 out of --dict, or train on data that has words of three or more characters" in err
    # line 2, odd, has no legal path whatever --dict says: the missing tags' cause, in a warning of its own
    assert f"standard input: line 2: {CAUSE}, so a line of odd length has no legal B M E S tags" in err, err
    assert len(err.splitlines()) == 2 and "line 1: the model" not in err and "line 2: the --dict" not in err, err
    seg = LoadedTagger(models[kind])
    with pytest.warns(UserWarning, match=r"the text \(0-based\): the user word 乙丙丁 needs the tag M, which the "
                                         r"model lacks.*to fix it, leave 乙丙丁 out of user_words, or"):
        assert seg.segment("甲乙丙丁甲乙", ["乙丙丁"])[:2] == ["甲", "乙丙丁"]


def test_dict_no_path_cause_names_each_word_with_the_tags_it_lacks():
    from rnnkit.constraints import dict_no_path_cause, word_needs

    assert [word_needs(w, ["B", "E"]) for w in ("甲", "甲乙", "甲乙丙")] == ["S", "", "M"]
    assert word_needs("甲乙丙", ["S"]) == "BME" and word_needs("甲", ["B", "M", "E", "S"]) == ""
    cause, fix = dict_no_path_cause(["B", "E"], ["甲", "乙丙丁"])
    assert cause.startswith("the --dict words 甲 (S), 乙丙丁 (M) need tags, which the model lacks (its tags are B, E)")
    assert fix == ("leave those words out of --dict, or train on data that has words of three or more characters and "
                   "one-character words")
    cause, fix = dict_no_path_cause(["S"], ["甲乙"])
    assert cause.startswith("the --dict word 甲乙 needs the tags B and E, which the model lacks (its tags are S)")
    assert fix.endswith("train on data that has words of two or more characters")
    cause, fix = dict_no_path_cause(["B", "E"], [], "user_words")  # LoadedTagger.segment's words: its parameter
    assert cause.endswith("and the user words kept whole leave such a stretch beside them"), cause
    assert fix.startswith("leave those words out of user_words, or train on data"), fix


@pytest.mark.parametrize("kind", ["hmm", "crf", "spans_hmm"])
def test_loaded_no_path_with_masks_is_has_legal_path_per_sentence(models, kind):
    from rnnkit.tagging.io import TaggingData

    loaded = LoadedTagger(models[kind])
    K = len(loaded.trained_tags)
    rng = np.random.default_rng(2)
    words = [["甲"] * int(n) for n in rng.integers(0, 9, size=80)]
    masks = [None if rng.random() < 0.3 else rng.random((len(w), K)) < 0.8 for w in words]
    found = loaded.no_path(TaggingData(words=words, tags=None, features=None), masks)
    rules = loaded._path_rules
    assert found == {i for i, (w, m) in enumerate(zip(words, masks)) if not has_legal_path(rules, len(w), m)}
    assert found and len(found) < len(words)


@pytest.mark.parametrize("kind", ["hmm", "crf", "softmax"])
def test_evaluate_names_the_gold_lines_without_a_legal_path_in_one_warning(models, kind, tmp_path, capsys):
    gold = tmp_path / "gold.txt"
    gold.write_text("甲乙 丙丁\n甲乙 丙\n\n丙丁\n甲\n", encoding="utf-8")  # TEXT segmented: lines 2 and 5 odd
    code, out, err = run_cli(capsys, ["evaluate", str(models[kind]), str(gold)])
    assert code == 0 and "F1" in out, err
    assert len(err.strip().splitlines()) == 1, err
    assert f"gold.txt: 2 of the 4 sentences (lines 2, 5) have no legal BMES path ({CAUSE}" in err, err
    assert "ignoring the rules (to fix it, train on data that has one-character words)" in err, err
    assert "probability 0" not in err  # an HMM's fallback is this cause's, not said twice


def test_one_builder_says_the_missing_tags_cause_and_fix_of_both_schemes():
    from rnnkit.constraints import missing_tags

    cause, fix = missing_tags(["B", "M", "E"], "bmes", "stretch")
    assert "a one-character stretch has no legal B M E S tags" in cause
    assert fix == "train on data that has one-character words"
    cause, fix = missing_tags(["B-X", "I-X", "E-X"], "bioes")
    assert cause.startswith("the model has no O or S-X tag")
    assert fix == "train on data that has one-token spans or tokens outside spans (O)"
