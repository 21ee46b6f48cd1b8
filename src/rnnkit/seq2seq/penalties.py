r"""GNMT's length and coverage penalties (Wu et al. 2016, "Google's Neural Machine Translation System",
eq. 14), and the score beam search ranks its hypotheses by::

    lp(Y)    = (5 + |Y|) ** alpha / (5 + 1) ** alpha
    cp(X; Y) = beta * sum_{i=1}^{|X|} log(min(sum_{j=1}^{|Y|} p_ij, 1.0))
    s(Y, X)  = log P(Y | X) / lp(Y) + cp(X; Y)

|Y| counts the scored target steps (EOS included when the hypothesis ended with one), |X| the sentence's
source tokens (the batch's padding is left out) and p_ij the attention weight of target step j on source
token i: the weights the decoder had at each step of that very hypothesis, EOS's step included (what
``Hypothesis.attention`` holds).  alpha = 0 and beta = 0 give the plain log-probability.  cp <= 0: it
costs a hypothesis log(c_i) for every source token whose total attention c_i is below 1, so among
translations of similar probability it prefers those that attended to the whole source (the paper's aim:
fewer dropped source words).  Attention beyond 1 is not rewarded (the min), nor, unlike some later
variants, punished.

A source token never attended to at all (c_i exactly 0, which float32 attention reaches when a softmax
underflows) gives log 0 = -inf: cp = -inf, and the hypothesis ranks after every hypothesis with a finite
score, as the formula says.  The coverage is summed in float64.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.checks import check_number


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's lp(m) = ((5 + m) / 6) ** alpha; 1 for alpha = 0."""
    return ((5.0 + length) / 6.0) ** alpha


def may_still_win(live: Any, limit: Any, alpha: float, best: Any) -> Any:
    r"""Whether a live hypothesis of log-probability ``live`` = S_now may still finish with a score above
    ``best`` within ``limit`` steps (its EOS counted), by the bound (numpy arrays elementwise)::

        s(Y, X) = S(Y) / lp(m) + cp <= S_now / lp(limit)

    valid for every completion Y: S only falls as a hypothesis grows (log-probabilities <= 0), so S(Y) <= S_now
    <= 0; lp(m) <= lp(limit) for m <= limit (alpha >= 0), so S / lp(m) <= S / lp(limit); and cp <= 0.  A search
    may stop once this is False for its best live hypothesis (``best`` = -inf: nothing finished, go on)."""
    return live / length_penalty(limit, alpha) > best


def check_coverage_penalty(beta: Any) -> float:
    """beta of cp as a float: any finite real number >= 0 (a negative beta would reward leaving source
    tokens out)."""
    return check_number("coverage_penalty (beta)", beta, 0.0)


def coverage_penalty(attention: np.ndarray | None, beta: float, source_length: int | None = None) -> float:
    """cp(X; Y) of the attention rows ``attention`` (|Y|, S), one per target step, over the first
    ``source_length`` source positions (all S when None); 0.0 when beta is 0, whatever the attention."""
    if beta == 0:
        return 0.0  # 0 * log(0) would be nan
    if attention is None:
        raise ValueError("Expected attention weights for a coverage penalty, got None (a model without attention)")
    weights = np.asarray(attention)[:, :source_length]  # (|Y|, |X|)
    coverage = weights.sum(axis=0, dtype=np.float64)  # (|X|,) c_i = sum_j p_ij
    with np.errstate(divide="ignore"):  # c_i = 0: log 0 = -inf, as the module docstring says
        return float(beta * np.log(np.minimum(coverage, 1.0)).sum())


def gnmt_score(score: float, length: int, alpha: float, cp: float = 0.0) -> float:
    """s(Y, X) = score / lp(length) + cp, ``score`` = log P(Y | X) and ``cp`` from :func:`coverage_penalty`."""
    return score / length_penalty(length, alpha) + cp
