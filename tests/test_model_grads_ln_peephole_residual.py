"""Language model, classifier and tagger with layer norm, peepholes and residual stacks: every entry of every
parameter against float64 central differences.  Random non-zero parameters (layer-norm gains around 1), a random
dloss, masks and unequal lengths, dropout and weight-drop masks fixed by a seeded rng."""
from __future__ import annotations

import numpy as np
import pytest
from fullfd import assert_every_entry, one_blas_thread, randomise  # noqa: F401 (a fixture)
from test_tagger_model import K as TAGS
from test_tagger_model import V as WORDS
from test_tagger_model import _batch as tagger_batch

from rnnkit.classify.model import Classifier, ClassifierConfig
from rnnkit.lm.class_softmax import frequency_classes
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.tagging.model import Tagger, TaggerConfig


def _ids(case):
    return "-".join(f"{k}={v}" if not isinstance(v, str) else v for k, v in case.items())


LM_CASES = [
    dict(cell="lstm", layer_norm=True, peephole=True, residual=True, softmax="adaptive",
         cutoffs=(3, 5), div_value=2.0, dropout_input=0.3, dropout_hidden=0.3, dropout_output=0.3, variational=True,
         weight_drop=0.3),
    dict(cell="gru", layer_norm=True, residual=True, softmax="class", tie_weights=True),
    dict(cell="rnn", layer_norm=True, dropout_hidden=0.3),
    dict(cell="lstm", peephole=True, residual=True, dropout_output=0.3),
]


@pytest.mark.parametrize("case", LM_CASES, ids=_ids)
def test_language_model_gradient_matches_finite_differences_at_every_entry(case):
    case = dict(case)
    rng = np.random.default_rng(1)
    V, T, B = 7, 5, 2
    cfg = LMConfig(vocab_size=V, embedding_dim=4, hidden_size=4, num_layers=case.pop("num_layers", 2),
                   dtype="float64", **case)
    classes = frequency_classes(rng.integers(1, 50, V), 3) if cfg.softmax == "class" else None
    model = LanguageModel(cfg, rng, word_classes=classes)
    randomise(model.params, rng)
    ids, targets = rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B))
    mask = np.arange(T)[:, None] < np.array([5, 3])[None, :]
    targets[mask] = np.resize(rng.permutation(V), mask.sum())  # every word a real target: each tail cluster used
    st = model.initial_state(B)  # a random carried-over state: its path into the loss is checked too
    state = tuple(rng.standard_normal(s.shape) for s in st) if isinstance(st, tuple) else rng.standard_normal(st.shape)
    training = any(getattr(cfg, k) > 0 for k in ("dropout_input", "dropout_hidden", "dropout_output", "weight_drop"))
    dloss = float(rng.uniform(0.5, 1.5))

    def loss():
        return dloss * model.forward(ids, targets, state, mask, training=training, rng=np.random.default_rng(7))[0]

    _, _, cache = model.forward(ids, targets, state, mask, training=training, rng=np.random.default_rng(7))
    assert_every_entry(loss, model.params, model.backward(dloss, cache))


CLASSIFIER_CASES = [
    dict(cell="gru", layer_norm=True, residual=True, pooling="attention", dropout=0.3, weight_drop=0.3),
    dict(cell="lstm", layer_norm=True, peephole=True, pooling="last", bidirectional=False, dropout=0.2),
    dict(cell="lstm", peephole=True, residual=True, pooling="max", dropout=0.2, bidirectional=False),
    dict(cell="rnn", layer_norm=True, residual=True, pooling="mean", dropout=0.0, bidirectional=False),
]


@pytest.mark.parametrize("case", CLASSIFIER_CASES, ids=_ids)
def test_classifier_gradient_matches_finite_differences_at_every_entry(case):
    case = dict(case)
    rng = np.random.default_rng(2)
    T, V, K = 6, 7, 3
    lengths = np.array([6, 2, 4])
    model = Classifier(ClassifierConfig(V, K, embedding_dim=3, hidden_size=3, attention_size=3, dtype="float64",
                                        num_layers=case.pop("num_layers", 2), **case), rng)
    randomise(model.params, rng)
    ids, labels = rng.integers(0, V, (T, 3)), rng.integers(0, K, 3)
    dloss = float(rng.uniform(-1.5, -0.5))

    def loss():
        return dloss * model.loss(ids, lengths, labels, training=True, rng=np.random.default_rng(9))[0]

    _, cache = model.loss(ids, lengths, labels, training=True, rng=np.random.default_rng(9))
    assert_every_entry(loss, model.params, model.backward(dloss, cache))


TAGGER_CASES = [
    dict(cell="lstm", layer_norm=True, peephole=True, residual=True, output="crf", weight_drop=0.3, words_only=True,
         bidirectional=False),
    dict(cell="gru", layer_norm=True, residual=True, output="softmax", bidirectional=False),
]


@pytest.mark.parametrize("case", TAGGER_CASES, ids=_ids)
def test_tagger_gradient_matches_finite_differences_at_every_entry(case):
    """Words (and the char BiLSTM, bigrams and a feature column) feed the stack; CRF or softmax on top."""
    case = dict(case)
    more = not case.pop("words_only", False)
    rng = np.random.default_rng(3)
    cfg = TaggerConfig(vocab_size=WORDS, num_tags=TAGS, embedding_dim=3, char_vocab_size=6 * more, char_embedding_dim=2,
                       char_hidden=2, bigram_vocab_size=7 * more, bigram_embedding_dim=2,
                       feature_vocab_sizes=(5,) * more, feature_embedding_dim=2, hidden_size=3, num_layers=2,
                       dropout=0.3, dtype="float64", **case)
    model = Tagger(cfg, rng)
    randomise(model.params, rng)
    batch = tagger_batch(rng, chars=more, bigrams=more, features=more)
    dloss = float(rng.uniform(0.5, 1.5))

    def loss():
        return dloss * model.loss(batch, training=True, rng=np.random.default_rng(5))[0]

    _, cache = model.loss(batch, training=True, rng=np.random.default_rng(5))
    assert_every_entry(loss, model.params, model.backward(dloss, cache))
