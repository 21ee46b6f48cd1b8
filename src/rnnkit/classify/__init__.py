"""Sentence classification: embedding -> (Bi)RNN -> pooling -> softmax, and k-fold cross-validation;
:class:`LoadedClassifier` reads a saved classifier and labels texts as ``rnnkit classify`` does."""
from rnnkit.classify.crossval import CrossValResult, cross_validate, holdout_split, kfold_indices
from rnnkit.classify.loaded import LoadedClassifier
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
    "LoadedClassifier",
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
