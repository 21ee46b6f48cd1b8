"""Which tags a tagger confuses: the most frequent gold -> predicted errors that evaluate and train tagger --test
print after the per-tag table, and the full confusion matrix in evaluate --json (the classifier's key names)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from clirun import run_cli, train_tiny_tagger, write_conllu

from rnnkit.cli.tagging import detail_lines, errors_table
from rnnkit.metrics import top_confusions
from rnnkit.tagging.io import TaggingData
from rnnkit.tagging.loaded import LoadedTagger
from rnnkit.tagging.scoring import score

GOLD = [["DET", "NOUN", "VERB", "NOUN"], ["NOUN", "VERB", "ADJ", "ADJ"], ["ADJ", "NOUN"]]
PRED = [["DET", "PROPN", "VERB", "PROPN"], ["NOUN", "NOUN", "NOUN", "NOUN"], ["NOUN", "PROPN"]]
# by hand: NOUN -> PROPN 3 (tokens 2, 4 of sentence 1 and 2 of sentence 3), ADJ -> NOUN 3, VERB -> NOUN 1;
# right: DET 1, VERB 1, NOUN 1; 7 of 10 tokens wrong


def test_confusion_counts_of_a_pos_tagger_by_hand():
    m = score("accuracy", GOLD, PRED)
    assert m["accuracy"] == 3 / 10
    assert m["labels"] == ["ADJ", "DET", "NOUN", "PROPN", "VERB"]
    assert m["confusion"] == [[0, 0, 3, 0, 0],   # ADJ: three predicted NOUN
                              [0, 1, 0, 0, 0],   # DET
                              [0, 0, 1, 3, 0],   # NOUN: one right, three PROPN
                              [0, 0, 0, 0, 0],   # PROPN: never gold
                              [0, 0, 1, 0, 1]]   # VERB: one NOUN, one right
    assert m["per_tag"]["NOUN"] == {"precision": 1 / 5, "recall": 1 / 4, "f1": 2 / 9, "support": 4}
    # ties keep the labels' order (ADJ before NOUN), then the smaller cells; n cuts the list
    assert top_confusions(np.array(m["confusion"]), m["labels"]) == [("ADJ", "NOUN", 3), ("NOUN", "PROPN", 3),
                                                                     ("VERB", "NOUN", 1)]
    assert top_confusions(np.array(m["confusion"]), m["labels"], n=1) == [("ADJ", "NOUN", 3)]
    assert top_confusions(np.eye(3, dtype=np.int64) * 4, ["A", "B", "C"]) == []  # no errors
    with pytest.raises(ValueError, match=r"Expected a \(2, 2\) confusion matrix for 2 labels, got shape \(3, 3\)"):
        top_confusions(np.zeros((3, 3)), ["A", "B"])


def test_the_errors_table_says_each_confusions_count_and_share():
    m = score("accuracy", GOLD, PRED)
    assert errors_table(m).splitlines() == [
        "most frequent tag errors (gold -> predicted; 3 kinds, 7 tokens wrong):",
        "  ADJ -> NOUN         3 (42.9% of errors)",
        "  NOUN -> PROPN       3 (42.9% of errors)",
        "  VERB -> NOUN        1 (14.3% of errors)"]
    assert errors_table(m, n=2).splitlines()[0] == ("most frequent tag errors (gold -> predicted; the 2 most "
                                                    "frequent of 3 kinds, 7 tokens wrong):")
    assert errors_table(score("accuracy", GOLD, GOLD)) == "most frequent tag errors: none, every token's tag is right\n"
    assert errors_table({"per_tag": {}}) == ""  # scores without a matrix (word F1's): nothing


def test_detail_lines_are_the_per_tag_lines_then_the_errors():
    """What evaluate prints under its headline: named per_kind_table while it printed the per-tag lines only."""
    m = score("accuracy", GOLD, PRED)
    lines = detail_lines(m).splitlines()
    assert [line.split(":")[0].strip() for line in lines[:5]] == ["ADJ", "DET", "NOUN", "PROPN", "VERB"]
    assert "\n".join(lines[5:]) + "\n" == errors_table(m) and lines[5].startswith("most frequent tag errors")
    assert detail_lines({"per_tag": {}}) == ""


def test_span_f1_has_the_token_tag_confusions_and_word_f1_none():
    m = score("span_f1", [["B-PER", "I-PER", "O", "B-LOC"]], [["B-ORG", "I-ORG", "O", "O"]], scheme="bio")
    assert m["labels"] == ["B-LOC", "B-ORG", "B-PER", "I-ORG", "I-PER", "O"]
    assert top_confusions(np.array(m["confusion"]), m["labels"]) == [("B-LOC", "O", 1), ("B-PER", "B-ORG", 1),
                                                                     ("I-PER", "I-ORG", 1)]
    seg = score("word_f1", [["B", "E"]], [["S", "S"]], words=[["a", "b"]], scheme="bmes")
    assert "confusion" not in seg and errors_table(seg) == ""


TRAIN = [[("the", "DET"), ("run", "NOUN"), ("sees", "VERB")], [("a", "DET"), ("dog", "NOUN"), ("runs", "VERB")]]


def _trained(kind: str, tmp_path, capsys, test) -> tuple:
    return train_tiny_tagger(kind, write_conllu(tmp_path / "train.conllu", TRAIN * 10), test, tmp_path, capsys)


@pytest.mark.parametrize("kind", ["tagger", "hmm"])
def test_evaluate_prints_the_most_frequent_errors_and_json_the_matrix(kind, tmp_path, capsys):
    sentence = [("the", "DET"), ("dog", "NOUN"), ("runs", "NOUN")]  # gold NOUN where training has only VERB
    test = write_conllu(tmp_path / "test.conllu", [sentence])
    model, train_out = _trained(kind, tmp_path, capsys, test)
    pred = LoadedTagger(model).predict(TaggingData([[w for w, _ in sentence]], None, None))[0]
    expected = score("accuracy", [[t for _, t in sentence]], [pred])
    code, out, err = run_cli(capsys, ["evaluate", str(model), str(test), "--json"])
    m = json.loads(out)
    assert code == 0 and (m["labels"], m["confusion"]) == (expected["labels"], expected["confusion"]), (out, err)
    code, out, err = run_cli(capsys, ["evaluate", str(model), str(test)])
    assert code == 0 and out.endswith(errors_table(expected)) and "        DET: precision" in out, (out, err)
    if kind == "hmm":  # its emissions of a known word are those seen, and DET NOUN VERB its one path
        assert out.splitlines()[-2:] == ["most frequent tag errors (gold -> predicted; 1 kind, 1 token wrong):",
                                         "  NOUN -> VERB       1 (100.0% of errors)"], out
    else:  # --test prints what evaluate prints, after 'test: '
        assert train_out.endswith(out.split("\n", 1)[1]), (train_out, out)


def test_a_span_taggers_evaluation_shows_its_bio_tag_confusions(tmp_path, capsys):
    train, test, model = tmp_path / "train.txt", tmp_path / "test.txt", tmp_path / "ner.safetensors"
    train.write_text("John B-PER\nlives O\nin O\nParis B-LOC\n\n" * 10, encoding="utf-8")
    test.write_text("John B-PER\nlives O\nin O\nParis B-PER\n\n", encoding="utf-8")  # Paris was only ever B-LOC
    code, _, err = run_cli(capsys, ["train", "hmm", "--train", str(train), "--format", "columns", "--scheme", "bio",
                                    "--output", str(model)])
    assert code == 0, err
    code, out, err = run_cli(capsys, ["evaluate", str(model), str(test)])
    assert code == 0 and out.splitlines()[-1] == "  B-PER -> B-LOC       1 (100.0% of errors)", (out, err)
    code, out, _ = run_cli(capsys, ["evaluate", str(model), str(test), "--json"])
    m = json.loads(out)
    assert m["labels"] == ["B-LOC", "B-PER", "O"] and m["confusion"] == [[0, 0, 0], [1, 1, 0], [0, 0, 2]], out


def test_evaluate_errors_writes_the_sentences_with_a_wrong_tag(tmp_path, capsys):
    """--errors FILE: each sentence with a wrong tag, numbered as in DATA, its wrong tokens bracketed with gold
    and predicted tags; refused for a model that is not a tagger."""
    sentences = [[("the", "DET"), ("dog", "NOUN"), ("sees", "VERB")],  # right
                 [("the", "DET"), ("dog", "NOUN"), ("runs", "NOUN")]]  # runs: gold NOUN, the HMM says VERB
    test = write_conllu(tmp_path / "test.conllu", sentences)
    model, _ = _trained("hmm", tmp_path, capsys, test)
    errors = tmp_path / "errors.txt"
    code, _, err = run_cli(capsys, ["evaluate", str(model), str(test), "--errors", str(errors)])
    assert code == 0 and f"1 sentence with a wrong tag written to {errors}" in err, err
    assert errors.read_text(encoding="utf-8") == "2\tthe/DET dog/NOUN [runs NOUN->VERB]\n"
    lm_text = tmp_path / "lm.txt"
    lm_text.write_text("the dog runs\n" * 30, encoding="utf-8")
    assert run_cli(capsys, ["train", "ngram", "--train", str(lm_text), "--order", "2", "--save",
                            str(tmp_path / "ng.safetensors")])[0] == 0
    code, _, err = run_cli(capsys, ["evaluate", str(tmp_path / "ng.safetensors"), str(lm_text), "--errors",
                                    str(tmp_path / "e.txt")])
    assert code == 2 and "--errors does not apply to" in err and not (tmp_path / "e.txt").exists(), err
