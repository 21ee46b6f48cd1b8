"""Language models: the RNN language model (embedding -> recurrent layers -> full, class-based or adaptive
softmax), its stateful training task, sampling and evaluation, and the n-gram baselines (and ARPA files
read as one: ``model, vocab = read_arpa("kn5.arpa")``).

    model = LanguageModel(LMConfig(vocab_size=len(vocab), cell="lstm"), rng)
    loss, state, cache = model.forward(ids, targets, state, training=True, rng=rng)

The RNN's parts load on first use (PEP 562), so that ``train ngram``, which imports ``rnnkit.lm.ngram``,
does not wait for them.
"""
from __future__ import annotations

from rnnkit._lazy import lazy_exports
from rnnkit.lm.katz import good_turing_ratios
from rnnkit.lm.kneser_ney import modified_kn_discounts
from rnnkit.lm.ngram import SMOOTHINGS, NGramLM

_LAZY = {"LanguageModel": "rnnkit.lm.model", "LMConfig": "rnnkit.lm.model", "LMTask": "rnnkit.lm.task",
         "batchify": "rnnkit.lm.batching", "windows": "rnnkit.lm.batching", "sample_ids": "rnnkit.lm.generate",
         "load_language_model": "rnnkit.lm.io", "load_lm": "rnnkit.lm.io", "load_ngram": "rnnkit.lm.io",
         "save_ngram": "rnnkit.lm.io", "save_lm": "rnnkit.lm.io", "lm_meta": "rnnkit.lm.io",
         "BackoffLM": "rnnkit.lm.backoff", "read_arpa": "rnnkit.lm.arpa_read", "hidden_states": "rnnkit.lm.states"}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "SMOOTHINGS",
    "BackoffLM",
    "LMConfig",
    "LMTask",
    "LanguageModel",
    "NGramLM",
    "batchify",
    "good_turing_ratios",
    "hidden_states",
    "lm_meta",
    "load_language_model",
    "load_lm",
    "load_ngram",
    "modified_kn_discounts",
    "read_arpa",
    "sample_ids",
    "save_lm",
    "save_ngram",
    "windows",
]
