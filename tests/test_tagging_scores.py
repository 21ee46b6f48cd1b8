"""What evaluate reports for a POS tagger beyond token accuracy: each tag's precision, recall and F1,
and the accuracy on words the model knows and on words it does not (TnT's known / unknown split)."""
from __future__ import annotations

import json

import pytest
from clirun import run_cli, train_tiny_tagger, write_conllu

from rnnkit.tagging.io import TaggingData
from rnnkit.tagging.loaded import LoadedTagger
from rnnkit.tagging.scoring import score


def test_per_tag_and_known_unknown_accuracy_hand_computed():
    gold = [["DET", "NOUN", "VERB"], ["NOUN", "VERB"]]
    pred = [["DET", "VERB", "VERB"], ["NOUN", "NOUN"]]
    known = [[True, False, True], [False, True]]
    m = score("accuracy", gold, pred, known=known)
    assert m["accuracy"] == 3 / 5
    # NOUN: gold 2, predicted 2, right 1; VERB: gold 2, predicted 2, right 1; DET 1 of 1
    assert m["per_tag"]["NOUN"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["per_tag"]["DET"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    # unknown tokens: NOUN->VERB (wrong), NOUN->NOUN (right); known: DET, VERB right, VERB->NOUN wrong
    assert (m["oov_rate"], m["oov_accuracy"], m["iv_accuracy"]) == (2 / 5, 1 / 2, 2 / 3)
    all_known = score("accuracy", gold, pred, known=[[True] * 3, [True] * 2])
    assert all_known["oov_accuracy"] is None and all_known["iv_accuracy"] == 3 / 5
    assert "oov_rate" not in score("accuracy", gold, pred)  # no vocabulary given: not reported
    with pytest.raises(ValueError, match="one known flag per token"):
        score("accuracy", gold, pred, known=[[True], [True]])


SENTENCES = [[("the", "DET"), ("Cat", "NOUN"), ("sees", "VERB")], [("a", "DET"), ("dog", "NOUN"), ("runs", "VERB")]]


@pytest.mark.parametrize("kind", ["tagger", "hmm"])
def test_evaluate_splits_accuracy_by_the_models_vocabulary(kind, tmp_path, capsys):
    train, test = tmp_path / "train.conllu", tmp_path / "test.conllu"
    write_conllu(train, SENTENCES * 10)
    write_conllu(test, [[("the", "DET"), ("cat", "NOUN"), ("barks", "VERB")]])  # 'cat' and 'barks' unseen
    model, out = train_tiny_tagger(kind, train, test, tmp_path, capsys)
    if kind == "tagger":  # --test prints the per-tag table evaluate prints
        assert "test: token accuracy" in out and "of the tokens unknown" in out and "        DET: precision" in out
    assert LoadedTagger(model).known([["the", "cat", "Cat", "barks"]]) == [[True, False, True, False]]
    code, out, err = run_cli(capsys, ["evaluate", str(model), str(test), "--json"])
    m = json.loads(out)
    assert code == 0 and m["oov_rate"] == 2 / 3 and set(m["per_tag"]) <= {"DET", "NOUN", "VERB"}, (out, err)
    right = [p == g for p, g in zip(LoadedTagger(model).predict(TaggingData([["the", "cat", "barks"]], None, None))[0],
                                    ["DET", "NOUN", "VERB"])]
    assert m["iv_accuracy"] == right[0] and m["oov_accuracy"] == sum(right[1:]) / 2
    code, out, _ = run_cli(capsys, ["evaluate", str(model), str(test)])
    assert code == 0 and "66.67% of the tokens unknown" in out and "        DET: precision" in out, out


def test_a_lowercasing_tagger_knows_a_word_in_any_case(tmp_path, capsys):
    train = tmp_path / "train.conllu"
    write_conllu(train, SENTENCES * 10)
    code, _, err = run_cli(capsys, ["train", "tagger", "--train", str(train), "--epochs", "1", "--embed", "4",
                                    "--hidden", "4", "--lowercase", "--progress", "none", "--checkpoint-minutes", "0",
                                    "--run-dir", str(tmp_path / "run")])
    assert code == 0, err
    assert LoadedTagger(tmp_path / "run" / "last.safetensors").known([["CAT", "The", "barks"]]) == [[True, True, False]]
