"""LoadedClassifier: a classifier checkpoint, text in and labels and probabilities out, the same numbers
rnnkit classify prints (which reads the model through it)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from clirun import run_cli

from rnnkit.classify import (Classifier, ClassifierConfig, ClassifierEncoder, LoadedClassifier, predict_attention,
                             predict_proba, save_classifier)

TEXTS = ["a good film", "a bad film", "good acting", "bad acting"]


@pytest.fixture()
def saved(tmp_path):
    enc = ClassifierEncoder.build(TEXTS, ["pos", "neg", "pos", "neg"])
    cfg = ClassifierConfig(vocab_size=len(enc.vocab), num_classes=2, embedding_dim=4, hidden_size=4,
                           pooling="attention")
    model = Classifier(cfg, np.random.default_rng(3))
    return save_classifier(tmp_path / "c.safetensors", model, enc), model, enc


def test_predict_proba_and_predict_are_the_models_on_the_encoded_texts(saved):
    path, model, enc = saved
    clf = LoadedClassifier(path)
    want = predict_proba(model, enc.encode(TEXTS))
    np.testing.assert_array_equal(clf.predict_proba(TEXTS), want)
    np.testing.assert_array_equal(clf.predict_proba(TEXTS[1]), want[1])  # one str: (K,)
    assert clf.labels == enc.labels == ["neg", "pos"]
    assert clf.predict(TEXTS) == [enc.labels[i] for i in want.argmax(axis=1)]
    assert clf.predict(TEXTS[0]) == enc.labels[int(want[0].argmax())]
    assert clf.predict_proba([]).shape == (0, 2) and clf.predict([]) == []


def test_attention_gives_one_weight_a_token(saved):
    path, model, enc = saved
    clf = LoadedClassifier(path)
    probs, weights = clf.attention(TEXTS[0])
    want_probs, want_weights = predict_attention(model, enc.encode([TEXTS[0]]))
    np.testing.assert_array_equal(probs, want_probs[0])
    np.testing.assert_array_equal(weights, want_weights[0])
    assert len(weights) == len(clf.tokens(TEXTS[0])) == 3


def test_a_list_of_texts_must_hold_strings(saved):
    with pytest.raises(TypeError, match="^Expected texts to be a list of strings"):
        LoadedClassifier(saved[0]).predict([1, 2])


def test_rnnkit_classify_prints_loaded_classifiers_probabilities(saved, capsys, monkeypatch):
    path, _, _ = saved
    clf = LoadedClassifier(path)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(TEXTS) + "\n"))
    code, out, err = run_cli(capsys, ["classify", str(path), "--probs"])
    assert code == 0, err
    want = [f"{label}\t" + " ".join(f"{lab}:{q:.4f}" for lab, q in zip(clf.labels, p)) + f"\t{text}"
            for text, label, p in zip(TEXTS, clf.predict(TEXTS), clf.predict_proba(TEXTS))]
    assert out.splitlines() == want
