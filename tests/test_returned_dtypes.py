"""Arrays a model returns are in its dtype whichever call returns them: LanguageModel.token_log_probs as
step_log_probs, rnnkit.classify.predict_proba as Classifier.predict_proba; what sums them (a classifier's
validation loss) still sums in float64."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.classify import Classifier, ClassifierConfig, ClassifierTask, predict_attention, predict_proba
from rnnkit.lm import LanguageModel, LMConfig


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_token_log_probs_are_in_the_models_dtype_as_step_log_probs(dtype):
    model = LanguageModel(LMConfig(vocab_size=7, embedding_dim=4, hidden_size=5, dtype=dtype),
                          np.random.default_rng(0))
    ids = np.array([[1, 2], [3, 4], [5, 6]])  # (T, B)
    targets = np.array([[2, 3], [4, 5], [6, 1]])
    logp, _ = model.token_log_probs(ids, targets)
    step, _ = model.step_log_probs(ids, None)  # (B, V) after the last step
    assert logp.dtype == step.dtype == np.dtype(dtype)
    np.testing.assert_allclose(logp[-1], step[np.arange(2), targets[-1]], rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_proba_and_predict_attention_are_in_the_models_dtype(dtype):
    model = Classifier(ClassifierConfig(vocab_size=6, num_classes=3, embedding_dim=4, hidden_size=4, dtype=dtype,
                                        pooling="attention"), np.random.default_rng(0))
    seqs = [np.array([1, 2, 3]), np.array([4]), np.array([5, 1])]
    probs = predict_proba(model, seqs)
    ids = np.array([[1, 4, 5], [2, 0, 1], [3, 0, 0]])
    assert probs.dtype == model.predict_proba(ids, np.array([3, 1, 2])).dtype == np.dtype(dtype)
    found, weights = predict_attention(model, seqs)
    assert found.dtype == np.dtype(dtype) and {w.dtype for w in weights} == {np.dtype(dtype)}


def test_a_float32_classifiers_validation_loss_stays_finite_where_a_probability_underflows():
    model = Classifier(ClassifierConfig(vocab_size=6, num_classes=2, embedding_dim=4, hidden_size=4),
                       np.random.default_rng(0))
    model.params["output.bias"][...] = [200.0, -200.0]  # P(class 1) = e^-400: 0 in float32 and in float64
    seqs = [np.array([1, 2]), np.array([3])]
    task = ClassifierTask(model, seqs, np.array([0, 1]), valid_seqs=seqs, valid_labels=np.array([0, 1]))
    loss = task.evaluate()["loss"]
    assert np.isfinite(loss) and loss > 300  # the floor at 1e-300 in float64: -log(1e-300) / 2 = 345
