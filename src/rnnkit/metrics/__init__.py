"""Evaluation metrics for tagging, span labelling, word segmentation, classification, induced tags and transcriptions
(edit distance, label error rate)."""
from rnnkit.metrics.classification import (accuracy, confusion_macro_f1, confusion_matrix, confusion_prf, macro_f1,
                                            per_class_prf, top_confusions)
from rnnkit.metrics.edit_distance import edit_distance, label_error_rate
from rnnkit.metrics.induction import contingency, induction_scores, max_assignment
from rnnkit.metrics.segmentation import segmentation_prf
from rnnkit.metrics.tagging import span_prf, token_accuracy

__all__ = [
    "accuracy",
    "confusion_macro_f1",
    "confusion_matrix",
    "confusion_prf",
    "contingency",
    "edit_distance",
    "induction_scores",
    "label_error_rate",
    "macro_f1",
    "max_assignment",
    "per_class_prf",
    "segmentation_prf",
    "span_prf",
    "token_accuracy",
    "top_confusions",
]
