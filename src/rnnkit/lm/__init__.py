"""Language models: the RNN language model (embedding -> recurrent layers -> full, class-based or adaptive
softmax), its stateful training task, sampling and evaluation, and the n-gram baselines.

    model = LanguageModel(LMConfig(vocab_size=len(vocab), cell="lstm"), rng)
    loss, state, cache = model.forward(ids, targets, state, training=True, rng=rng)
"""
from rnnkit.lm.batching import batchify, windows
from rnnkit.lm.generate import sample_ids
from rnnkit.lm.io import load_language_model, load_lm, load_ngram, save_ngram
from rnnkit.lm.katz import good_turing_ratios
from rnnkit.lm.kneser_ney import modified_kn_discounts
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.lm.ngram import SMOOTHINGS, NGramLM
from rnnkit.lm.task import LMTask

__all__ = [
    "SMOOTHINGS",
    "LMConfig",
    "LMTask",
    "LanguageModel",
    "NGramLM",
    "batchify",
    "good_turing_ratios",
    "load_language_model",
    "load_lm",
    "load_ngram",
    "modified_kn_discounts",
    "sample_ids",
    "save_ngram",
    "windows",
]
