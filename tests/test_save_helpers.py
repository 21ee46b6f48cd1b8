"""One-call savers of models trained in Python (save_lm, save_tagger, save_classifier), read back by their loaders,
and the *_meta helpers refusing at write time, in one "Expected ..." line, what the loader would call damaged."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.classify import Classifier, ClassifierConfig, ClassifierEncoder, classifier_meta, load_classifier
from rnnkit.classify import save_classifier
from rnnkit.data.vocab import Vocabulary
from rnnkit.lm import LanguageModel, LMConfig, lm_meta, load_lm, save_lm
from rnnkit.tagging import DataSpec, LoadedTagger, Tagger, TaggerConfig, TaggerEncoder, TaggingData, save_tagger
from rnnkit.tagging import tagger_meta


def _lm(vocab_size: int) -> LanguageModel:
    return LanguageModel(LMConfig(vocab_size=vocab_size, embedding_dim=4, hidden_size=4), np.random.default_rng(0))


def _tagger() -> tuple[Tagger, TaggerEncoder]:
    data = TaggingData([["John", "lives", "here"], ["Mary", "sleeps"]], [["B-PER", "O", "O"], ["B-PER", "O"]], None)
    enc = TaggerEncoder.build(data)
    cfg = TaggerConfig(vocab_size=len(enc.words), num_tags=len(enc.tags), embedding_dim=4, hidden_size=4)
    return Tagger(cfg, np.random.default_rng(0)), enc


def _classifier(num_classes: int = 2) -> tuple[Classifier, ClassifierEncoder]:
    enc = ClassifierEncoder.build(["a good film", "a bad film"], ["pos", "neg"])
    cfg = ClassifierConfig(vocab_size=len(enc.vocab), num_classes=num_classes, embedding_dim=4, hidden_size=4)
    return Classifier(cfg, np.random.default_rng(0)), enc


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_save_lm_writes_what_load_lm_reads(tmp_path):
    vocab = Vocabulary(["<unk>", "<eos>", "a", "b"])
    model = _lm(len(vocab))
    path = save_lm(tmp_path / "lm.safetensors", model, vocab, "word")
    loaded, vocab2, level, _ = load_lm(path)
    assert _same(loaded.params, model.params) and vocab2.tokens == vocab.tokens and level == "word"


def test_save_tagger_writes_what_loaded_tagger_reads(tmp_path):
    model, enc = _tagger()
    path = save_tagger(tmp_path / "t.safetensors", model, enc, DataSpec("columns", -1, scheme="bio"))
    loaded = LoadedTagger(path)
    assert _same(loaded.model.params, model.params) and loaded.task["metric"] == "span_f1"
    assert len(loaded.tag("John sleeps")) == 2


def test_save_classifier_writes_what_load_classifier_reads(tmp_path):
    model, enc = _classifier()
    path = save_classifier(tmp_path / "c.safetensors", model, enc)
    loaded, enc2, _ = load_classifier(path)
    assert _same(loaded.params, model.params) and enc2.labels == enc.labels


def _refused(call, *fragments):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert message.startswith("Expected ") and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_lm_meta_refuses_what_load_lm_would_call_damaged():
    vocab = Vocabulary(["<unk>", "<eos>", "a", "b"])
    _refused(lambda: lm_meta(_lm(len(vocab)), vocab, "characters"), "'characters'")
    no_eos = Vocabulary(["<unk>", "a", "b", "c"], eos_token=None)
    _refused(lambda: lm_meta(_lm(len(no_eos)), no_eos, "word"), "end-of-sentence")
    _refused(lambda: lm_meta(_lm(len(vocab) + 1), vocab, "word"), "lm_config.vocab_size")


def test_tagger_meta_refuses_a_bad_metric_and_a_mismatched_size():
    model, enc = _tagger()
    _refused(lambda: tagger_meta(model, enc, DataSpec("columns", -1), "f1"), "metric", "'f1'")
    # no spans to score without a span scheme
    _refused(lambda: tagger_meta(model, enc, DataSpec("columns", -1), "span_f1"), "span_f1")
    enc.tags.append("I-PER")
    _refused(lambda: tagger_meta(model, enc, DataSpec("columns", -1, scheme="bio"), "span_f1"), "num_tags")


def test_classifier_meta_refuses_a_mismatched_label_count():
    model, enc = _classifier(num_classes=3)
    _refused(lambda: classifier_meta(model, enc), "num_classes")
