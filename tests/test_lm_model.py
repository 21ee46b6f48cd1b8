"""The recurrent language model: whole-model gradients, tying, class and adaptive softmax, dropout, overfitting."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.gradcheck import numeric_grad_at
from rnnkit.lm.class_softmax import frequency_classes
from rnnkit.lm.model import LanguageModel, LMConfig


def _model(seed=0, **kw):
    V = kw.pop("vocab_size", 13)
    cfg = LMConfig(vocab_size=V, embedding_dim=kw.pop("embedding_dim", 4), hidden_size=kw.pop("hidden_size", 4),
                   num_layers=2, dtype="float64", **kw)
    rng = np.random.default_rng(seed)
    classes = frequency_classes(rng.integers(1, 50, V), 4) if cfg.softmax == "class" else None
    m = LanguageModel(cfg, rng, word_classes=classes)
    for k, v in m.params.items():
        v[...] = rng.uniform(-0.5, 0.5, v.shape)
    return m


@pytest.mark.parametrize(
    "kw",
    [
        {"cell": "lstm"},
        {"cell": "gru", "tie_weights": True},
        {"cell": "rnn", "softmax": "class"},
        {"cell": "lstm", "softmax": "class", "tie_weights": True},
        {"cell": "lstm", "dropout_input": 0.3, "dropout_hidden": 0.3, "dropout_output": 0.3},
        {"cell": "gru", "dropout_input": 0.3, "dropout_hidden": 0.3, "dropout_output": 0.3, "variational": True},
        {"cell": "lstm", "softmax": "adaptive", "cutoffs": (4, 8), "div_value": 2.0},
        {"cell": "lstm", "dropout_input": 0.0, "dropout_hidden": 0.2, "weight_drop": 0.4},
    ],
    ids=["lstm", "gru-tied", "rnn-class", "lstm-class-tied", "dropout", "variational", "lstm-adaptive",
         "weight-drop"],
)
def test_model_gradient_matches_finite_differences(kw):
    m = _model(**kw)
    rng = np.random.default_rng(5)
    T, B = 5, 3
    ids = rng.integers(0, 13, (T, B))
    targets = rng.integers(0, 13, (T, B))
    mask = rng.random((T, B)) > 0.2
    state = m.initial_state(B)
    state = tuple(rng.standard_normal(s.shape) for s in state) if isinstance(state, tuple) else rng.standard_normal(state.shape)
    training = "dropout_input" in kw

    def loss():
        return m.forward(ids, targets, state, mask, training=training, rng=np.random.default_rng(77))[0]

    _, _, cache = m.forward(ids, targets, state, mask, training=training, rng=np.random.default_rng(77))
    grads = m.backward(0.7, cache)
    assert set(grads) == set(m.params)
    for name, p in m.params.items():
        idx = rng.choice(p.size, size=min(p.size, 25), replace=False)
        for i, d in zip(idx, numeric_grad_at(loss, p, idx)):
            num = 0.7 * d
            mine = grads[name].reshape(-1)[i]
            assert abs(mine - num) < 1e-6 * max(1, abs(num)), f"{name}[{i}]: {mine} vs {num}"


def test_tied_model_has_one_matrix():
    m = _model(tie_weights=True)
    assert "decoder.weight" not in m.params
    with pytest.raises(ValueError, match="embedding_dim == hidden_size"):
        LanguageModel(LMConfig(vocab_size=5, embedding_dim=3, hidden_size=4, tie_weights=True), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"to tie weights.*drop tie_weights \(--tie\) or change softmax "
                                         r"\(--softmax\)"):
        _model(tie_weights=True, softmax="adaptive", cutoffs=(4,))


@pytest.mark.parametrize("field,value,message", [
    ("dropout_input", 1.2, r"dropout_input in \[0, 1\), got 1.2"),
    ("dropout_output", -0.1, r"dropout_output in \[0, 1\)"),
    ("dropout_hidden", float("nan"), r"dropout_hidden in \[0, 1\), got nan"),
    ("weight_drop", True, r"weight_drop in \[0, 1\), got True"),
    ("embedding_dim", 0, r"embedding_dim to be an integer >= 1, got 0"),
    ("vocab_size", 2.0, r"vocab_size to be an integer >= 1, got 2.0"),
])
def test_config_names_the_bad_field(field, value, message):
    """A bad rate or size fails when the config is made, naming its field, not at the first training step."""
    with pytest.raises(ValueError, match=message):
        LMConfig(**{"vocab_size": 5, field: value})


def test_step_log_probs_normalised_and_consistent_with_loss():
    for kw in ({"softmax": "full"}, {"softmax": "class"}, {"softmax": "adaptive", "cutoffs": [5], "div_value": 2}):
        m = _model(**kw)
        rng = np.random.default_rng(2)
        ids = rng.integers(0, 13, (4, 2))
        targets = rng.integers(0, 13, (4, 2))
        logp, _ = m.step_log_probs(ids, None)
        np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, atol=1e-12)
        # the loss of the last step alone equals -log P from step_log_probs
        mask = np.zeros((4, 2), bool)
        mask[-1] = True
        loss, _, _ = m.forward(ids, targets, None, mask)
        np.testing.assert_allclose(loss, -logp[np.arange(2), targets[-1]].sum(), rtol=1e-10)


def test_adaptive_default_cutoffs_are_recorded_in_the_config():
    cfg = LMConfig(vocab_size=2500, embedding_dim=4, hidden_size=4, num_layers=1, softmax="adaptive")
    m = LanguageModel(cfg, np.random.default_rng(0))
    assert m.config.cutoffs == (2000,) and m.params["decoder.head.weight"].shape == (2001, 4)
    stored = json.loads(json.dumps(m.config.to_dict()))  # as a checkpoint's metadata holds it
    assert LMConfig(**stored) == m.config
