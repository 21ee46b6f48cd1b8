"""Translation metrics: corpus BLEU and chrF through sacrebleu, exact match for toy tasks, and a translator's exact
match (:func:`token_exact_match`, the one definition validation, ``evaluate`` and ``train seq2seq --test`` share).

BLEU and chrF are computed by ``sacrebleu`` (the reference implementation, so scores compare with
published ones) on *detokenised* text: the hypotheses as a user would read them and the raw,
untokenised references (``SentencePair.target_text``).  sacrebleu then applies its own tokenisation
and is case-sensitive by default, so the score never depends on how the model's training data was
tokenised.  Each score comes with sacrebleu's signature string
(``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``): report it next to the number; its
``tok:`` field names the BLEU tokenizer actually used.

BLEU counts n-grams of tokens, so the tokenizer must split the target language into words.  sacrebleu's
default, 13a (WMT's mteval-v13a), splits on spaces and punctuation: right for English, German, Russian
and other spaced scripts, but an unspaced Chinese line is then one token, without any 4-gram, and
even a perfect translation scores 0.  ``tokenize="auto"`` (the default) picks by the script of the
references (:func:`auto_bleu_tokenize`), as sacrebleu itself does when it knows the target language:

* ``zh`` when most reference lines hold CJK ideographs (and neither kana nor hangul): each ideograph
  is a token, the rest goes through 13a (sacrebleu's standard for Chinese, used at WMT);
* ``char`` when most hold Japanese kana: Japanese is unspaced too, and sacrebleu's standard
  ``ja-mecab`` needs MeCab and its IPA dictionary (``pip install 'sacrebleu[ja]'``); character BLEU
  needs nothing and is stable, and ``tokenize="ja-mecab"`` is there for scores comparable with WMT's;
* ``13a`` otherwise, Korean included: Korean is written with spaces between words, so 13a's tokens
  are words (with their particles) and the score is meaningful; ``ko-mecab``
  (``pip install 'sacrebleu[ko]'``) splits morphemes, as sacrebleu does for Korean targets.

A few Chinese names in an English test set leave it at 13a, so English scores stay exactly the 13a
scores published elsewhere.  Any of ``BLEU_TOKENIZERS`` can be asked for instead of ``auto``.

BLEU = BP * exp(sum_n 1/4 log p_n), p_n the clipped n-gram precisions (n = 1..4) over the corpus and
BP = min(1, exp(1 - r / c)) for reference length r and hypothesis length c; reported in [0, 100].
chrF = (1 + beta^2) P R / (beta^2 P + R) on character n-grams (n = 1..6), beta = 2, in [0, 100].

sacrebleu is an optional dependency: ``pip install 'rnnkit[translate]'``.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from rnnkit.data.scripts import script

_INSTALL_HINT = "BLEU and chrF need sacrebleu: pip install 'rnnkit[translate]' (or pip install sacrebleu)"

# "auto" first, then sacrebleu's tokenizers that need no model download (spm / flores do)
BLEU_TOKENIZERS = ("auto", "13a", "zh", "intl", "char", "none", "ja-mecab", "ko-mecab")
_EXTRAS = {"ja-mecab": ("MeCab", "sacrebleu[ja]"), "ko-mecab": ("mecab-ko", "sacrebleu[ko]")}
# what auto picks for the script most reference lines are in (see the module docstring)
_AUTO = {"han": "zh", "kana": "char", "hangul": "13a", None: "13a"}


class CorpusScore(NamedTuple):
    """A corpus score from :func:`corpus_bleu` or :func:`corpus_chrf`, with sacrebleu's signature."""

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


def auto_bleu_tokenize(references: Iterable[str]) -> str:
    """The sacrebleu tokenizer ``tokenize="auto"`` uses for ``references``: ``zh``, ``char`` or ``13a``.

    Each non-blank line counts for its script (kana: Japanese, hangul: Korean, ideographs alone:
    Chinese, or none of these).  When more than half the lines are in one of these scripts, the most
    common of them decides; otherwise 13a, so a few names in Chinese characters leave an English test
    set at 13a.  Blank or no references give 13a too.
    """
    counts = Counter(script(text) for text in references if text.strip())
    cjk = sum(n for script, n in counts.items() if script is not None)
    if 2 * cjk <= sum(counts.values()):
        return _AUTO[None]
    return _AUTO[max(("kana", "hangul", "han"), key=lambda script: counts[script])]  # a tie: the first


def check_bleu_tokenize(tokenize: str) -> None:
    """Raise ValueError for a name not in ``BLEU_TOKENIZERS``, and ImportError when sacrebleu, or the
    package ``ja-mecab`` / ``ko-mecab`` need, is missing (said with what to install)."""
    _bleu_metric(tokenize, False)


def _bleu_metric(tokenize: str, lowercase: bool) -> Any:
    """sacrebleu's BLEU with the named tokenizer (not "auto": resolve it first)."""
    if tokenize not in BLEU_TOKENIZERS:
        raise ValueError(f"Expected tokenize to be one of {BLEU_TOKENIZERS}, got {tokenize!r}")
    metrics = _metrics()
    if tokenize == "auto":
        tokenize = "13a"  # only checking: every name but auto is a sacrebleu tokenizer
    try:
        return metrics.BLEU(lowercase=lowercase, tokenize=tokenize)
    except (ImportError, RuntimeError) as exc:  # sacrebleu raises RuntimeError when MeCab is missing
        if tokenize not in _EXTRAS:
            raise
        package, extra = _EXTRAS[tokenize]
        raise ImportError(f"BLEU tokenizer {tokenize} needs {package} and its dictionary: pip install '{extra}' "
                          f"(or use another tokenizer, e.g. char)") from exc


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = False,
                tokenize: str = "auto") -> CorpusScore:
    """Corpus BLEU of detokenised ``hypotheses`` against one detokenised reference each (cased).

    ``tokenize`` is one of ``BLEU_TOKENIZERS``: ``"auto"`` picks ``zh`` for Chinese references,
    ``char`` for Japanese and 13a for the rest (:func:`auto_bleu_tokenize`); the signature's ``tok:``
    says which was used.  ``lowercase=True`` scores case-insensitively (the signature then says
    ``case:lc``): use it when the model was trained on lowercased targets but the references keep their case.
    """
    _check_texts(hypotheses, references)
    if tokenize == "auto":
        tokenize = auto_bleu_tokenize(references)
    bleu = _bleu_metric(tokenize, lowercase)
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


def token_exact_match(hypotheses: Sequence[Sequence], references: Sequence[Sequence], unknown: Any = None) -> float:
    """A translator's exact match: the fraction of outputs whose tokens, under the model's target tokenizer,
    equal their reference's (the reference tokenized by it, so lowercased when the model's targets are).
    Spacing and detokenisation do not count: "today." and "today ." are the same tokens at --target-level
    punct.  Tokens or their ids both do (training's validation compares ids); a reference holding
    ``unknown`` (the ``<unk>`` id: a word outside the target vocabulary) is never matched, as its word is
    never among the output's tokens, so ids and tokens give the same rate."""
    unmatched = (object(),)  # equal to no output
    return exact_match(hypotheses, [unmatched if unknown is not None and unknown in list(r) else r
                                    for r in references])
