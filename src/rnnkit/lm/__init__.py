"""Language models: n-gram baselines (and, later, the RNN language model)."""
from rnnkit.lm.katz import good_turing_ratios
from rnnkit.lm.kneser_ney import modified_kn_discounts
from rnnkit.lm.ngram import SMOOTHINGS, NGramLM

__all__ = ["SMOOTHINGS", "NGramLM", "good_turing_ratios", "modified_kn_discounts"]
