"""A classifier with attention pooling: it trains, its weights go to the cue words, it saves and loads with its
checkpoint, and checkpoints written before attention pooling existed still load."""
from __future__ import annotations

import numpy as np
import pytest
from test_classifier import _sentiment

from rnnkit.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.classify.model import Classifier, ClassifierConfig
from rnnkit.classify.task import (
    ClassifierEncoder,
    ClassifierTask,
    classifier_meta,
    load_classifier,
    pad_batch,
    predict_attention,
    predict_proba,
)
from rnnkit.train import TrainConfig, Trainer

CUES = {"great", "wonderful", "fun", "boring", "awful", "dull"}


def _train(tmp_path, pooling, epochs=4):
    rng = np.random.default_rng(4)
    texts, labels = _sentiment(rng, 200)
    vtexts, vlabels = _sentiment(rng, 60)
    enc = ClassifierEncoder.build(texts, labels, lowercase=True)
    cfg = ClassifierConfig(len(enc.vocab), 2, embedding_dim=8, hidden_size=8, dropout=0.1, pooling=pooling,
                           attention_size=8)
    model = Classifier(cfg, np.random.default_rng(0))
    task = ClassifierTask(model, enc.encode(texts), enc.encode_labels(labels), enc.encode(vtexts),
                          enc.encode_labels(vlabels), batch_size=16, meta=classifier_meta(model, enc))
    Trainer(task, TrainConfig(epochs=epochs, optimizer="adam", lr=0.02, progress="none"), tmp_path).fit()
    return model, enc, task, vtexts


def test_attention_pooling_learns_and_looks_at_the_cue_words(tmp_path):
    model, enc, task, vtexts = _train(tmp_path, "attention")
    assert {"attention.weight", "attention.bias", "attention.context"} <= set(model.params)
    assert model.params["attention.weight"].shape == (8, 16)  # (A, dirs*H)
    assert all(v.dtype == np.float32 for v in model.params.values())  # float32 in training
    assert task.evaluate()["accuracy"] > 0.9
    probs, weights = predict_attention(model, enc.encode(vtexts))
    np.testing.assert_allclose(probs, predict_proba(model, enc.encode(vtexts)), atol=1e-6)
    share = []  # the cue word's weight over a uniform weight's 1/L
    for text, w in zip(vtexts, weights):
        tokens = text.split()
        assert w.shape == (len(tokens),) and abs(w.sum() - 1) < 1e-5
        share.append(w[next(i for i, t in enumerate(tokens) if t in CUES)] * len(tokens))
    # one of 4 to 9 tokens decides the label; trained, the pooling gives it several times a uniform share
    # (3.9 here; an untrained model's is about 1)
    assert np.mean(share) > 2.0, np.mean(share)


def test_attention_weights_are_those_of_one_sentence_alone_in_any_batch():
    enc = ClassifierEncoder.build(["a b c d e f", "a b", "c d e"], ["x", "y", "x"])
    model = Classifier(ClassifierConfig(len(enc.vocab), 2, embedding_dim=4, hidden_size=3, pooling="attention",
                                        attention_size=5, dtype="float64"), np.random.default_rng(1))
    seqs = enc.encode(["a b c d e f", "a b", "c d e", "f e d c b a"])
    _, weights = predict_attention(model, seqs, batch_size=3)
    for s, w in zip(seqs, weights):
        _, alone = model.attention(*pad_batch([s]))
        np.testing.assert_allclose(w, alone[:, 0], atol=1e-12)
    with pytest.raises(ValueError, match="Expected a classifier with attention pooling to show its weights, got "
                                         "pooling 'max'"):
        Classifier(ClassifierConfig(len(enc.vocab), 2), np.random.default_rng(0)).attention(*pad_batch(seqs[:1]))


def test_attention_pooling_saves_and_loads(tmp_path):
    model, enc, _, vtexts = _train(tmp_path, "attention", epochs=1)
    loaded, enc2, meta = load_classifier(tmp_path / "last.safetensors")
    assert meta["classifier_config"]["pooling"] == "attention" and meta["classifier_config"]["attention_size"] == 8
    assert loaded.config == model.config
    for k, v in model.params.items():
        np.testing.assert_array_equal(loaded.params[k], v, err_msg=k)
    seqs = enc2.encode(vtexts)
    np.testing.assert_array_equal(predict_attention(loaded, seqs)[0], predict_attention(model, seqs)[0])


def test_a_checkpoint_from_before_attention_pooling_loads(tmp_path):
    """Written before attention pooling: its classifier_config has no attention_size, and it loads as it was."""
    model, enc, _, vtexts = _train(tmp_path, "max", epochs=1)
    arrays, meta = load_checkpoint(tmp_path / "last.safetensors")
    del meta["task"]["classifier_config"]["attention_size"]
    assert not any(k.startswith("model/attention.") for k in arrays)
    old = save_checkpoint(tmp_path / "old.safetensors", arrays, meta)
    loaded, _, _ = load_classifier(old)
    assert loaded.config.pooling == "max" and set(loaded.params) == set(model.params)
    np.testing.assert_array_equal(predict_proba(loaded, enc.encode(vtexts)), predict_proba(model, enc.encode(vtexts)))
