"""Sentence classification: embedding -> (Bi)RNN -> pooling -> softmax, and k-fold cross-validation."""
from rnnkit.classify.crossval import CrossValResult, cross_validate, holdout_split, kfold_indices
from rnnkit.classify.model import Classifier, ClassifierConfig
from rnnkit.classify.task import (ClassifierEncoder, ClassifierTask, classifier_meta, load_classifier,
                                  predict_attention, predict_proba, save_classifier)
from rnnkit.classify.weights import balanced_class_weights, class_weights_from

__all__ = [
    "Classifier",
    "ClassifierConfig",
    "ClassifierEncoder",
    "ClassifierTask",
    "CrossValResult",
    "balanced_class_weights",
    "class_weights_from",
    "classifier_meta",
    "cross_validate",
    "holdout_split",
    "kfold_indices",
    "load_classifier",
    "predict_attention",
    "predict_proba",
    "save_classifier",
]
