"""Translation metrics: corpus BLEU and chrF through sacrebleu, and exact match for toy tasks.

BLEU and chrF are computed by ``sacrebleu`` (the reference implementation, so scores compare with
published ones) on *detokenised* text: the hypotheses as a user would read them and the raw,
untokenised references (``SentencePair.target_text``).  sacrebleu then applies its own tokenisation
(13a for BLEU, as in WMT) and is case-sensitive by default, so the score never depends on how the
model's training data was tokenised.  Each score comes with sacrebleu's signature string
(``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``): report it next to the number.

BLEU = BP * exp(sum_n 1/4 log p_n), p_n the clipped n-gram precisions (n = 1..4) over the corpus and
BP = min(1, exp(1 - r / c)) for reference length r and hypothesis length c; reported in [0, 100].
chrF = (1 + beta^2) P R / (beta^2 P + R) on character n-grams (n = 1..6), beta = 2, in [0, 100].

sacrebleu is an optional dependency: ``pip install 'rnnkit[translate]'``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

_INSTALL_HINT = "BLEU and chrF need sacrebleu: pip install 'rnnkit[translate]' (or pip install sacrebleu)"


class CorpusScore(NamedTuple):
    score: float  # in [0, 100]
    signature: str  # sacrebleu's signature: how the score was computed


def _metrics() -> Any:
    """sacrebleu.metrics, imported only when a score is asked for."""
    try:
        from sacrebleu import metrics
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return metrics


def _check_texts(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    for name, texts in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(texts, str):
            raise TypeError(f"Expected {name} to be a list of sentences, got a single str")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"Expected {name} to be detokenised strings, got {type(text).__name__} at "
                                f"position {i} (join tokens with Tokenizer.detokenize first)")
    if len(hypotheses) != len(references):
        raise ValueError(f"Expected one reference per hypothesis, got {len(hypotheses)} hypotheses and "
                         f"{len(references)} references")
    if len(hypotheses) == 0:
        raise ValueError("Expected at least one hypothesis, got none")


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = False) -> CorpusScore:
    """Corpus BLEU of detokenised ``hypotheses`` against one detokenised reference each (13a, cased).

    ``lowercase=True`` scores case-insensitively (the signature then says ``case:lc``): use it when the
    model was trained on lowercased targets but the references keep their case.
    """
    _check_texts(hypotheses, references)
    bleu = _metrics().BLEU(lowercase=lowercase)
    result = bleu.corpus_score(list(hypotheses), [list(references)])
    return CorpusScore(float(result.score), str(bleu.get_signature()))


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> CorpusScore:
    """Corpus chrF (character 6-grams, beta = 2) of detokenised ``hypotheses`` against one reference each."""
    _check_texts(hypotheses, references)
    chrf = _metrics().CHRF()
    result = chrf.corpus_score(list(hypotheses), [list(references)])
    return CorpusScore(float(result.score), str(chrf.get_signature()))


def exact_match(hypotheses: Sequence[Sequence], references: Sequence[Sequence]) -> float:
    """Fraction of hypotheses equal to their reference (strings, or token / id sequences).

    For toy tasks (reverse, sort, add) where any difference is an error; arrays are compared by value.
    """
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("Expected hypotheses and references to be lists of outputs, got a single str")
    if len(hypotheses) != len(references):
        raise ValueError(f"Expected one reference per hypothesis, got {len(hypotheses)} hypotheses and "
                         f"{len(references)} references")
    if len(hypotheses) == 0:
        raise ValueError("Expected at least one hypothesis, got none")
    hits = 0
    for hyp, ref in zip(hypotheses, references):
        if isinstance(hyp, str) or isinstance(ref, str):
            hits += hyp == ref
        else:
            # as lists, numpy arrays and tuples compare element by element and lengths may differ
            hits += list(hyp) == list(ref)
    return hits / len(hypotheses)
