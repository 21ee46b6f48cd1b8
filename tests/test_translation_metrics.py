"""BLEU and chrF through sacrebleu on detokenised text, and exact match."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from rnnkit.data.tokenizer import Tokenizer
from rnnkit.metrics.translation import CorpusScore, corpus_bleu, corpus_chrf, exact_match

sacrebleu = pytest.importorskip("sacrebleu")

REFERENCES = [
    "Two young, White males are outside near many bushes.",
    "Several men in hard hats are operating a giant pulley system.",
    "A little girl climbing into a wooden playhouse.",
    "A man in a blue shirt is standing on a ladder cleaning windows.",
]
HYPOTHESES = [
    "Two young white men are outside near some bushes.",
    "Several men in helmets operate a giant pulley system.",
    "A girl climbs into a wooden playhouse.",
    "A man in a blue shirt stands on a ladder and cleans windows.",
]


def test_bleu_equals_sacrebleu_corpus_bleu():
    ours = corpus_bleu(HYPOTHESES, REFERENCES)
    theirs = sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES])
    assert isinstance(ours, CorpusScore)
    assert ours.score == pytest.approx(theirs.score, abs=1e-12), f"BLEU {ours.score} vs {theirs.score}"
    assert 0.0 < ours.score < 100.0
    for part in ("nrefs:1", "case:mixed", "tok:13a", f"version:{sacrebleu.__version__}"):
        assert part in ours.signature, f"{part!r} missing from {ours.signature}"


def test_chrf_equals_sacrebleu_corpus_chrf():
    ours = corpus_chrf(HYPOTHESES, REFERENCES)
    theirs = sacrebleu.corpus_chrf(HYPOTHESES, [REFERENCES])
    assert ours.score == pytest.approx(theirs.score, abs=1e-12), f"chrF {ours.score} vs {theirs.score}"
    assert 0.0 < ours.score < 100.0
    assert "nc:6" in ours.signature and "nrefs:1" in ours.signature, ours.signature


def test_identical_output_scores_100_and_detokenised_tokens_do_too():
    assert corpus_bleu(REFERENCES, REFERENCES).score == pytest.approx(100.0)
    assert corpus_chrf(REFERENCES, REFERENCES).score == pytest.approx(100.0)
    # a perfect model's tokens, detokenised, are scored against the raw references
    tok = Tokenizer("punct")
    detok = [tok.detokenize(tok.tokenize(ref)) for ref in REFERENCES]
    assert corpus_bleu(detok, REFERENCES).score == pytest.approx(100.0)
    assert corpus_bleu(["One two three four five"], ["Six seven eight nine ten"]).score == 0.0


def test_bleu_is_cased_unless_asked():
    lowered = [ref.lower() for ref in REFERENCES]
    cased = corpus_bleu(lowered, REFERENCES)
    uncased = corpus_bleu(lowered, REFERENCES, lowercase=True)
    assert cased.score < 100.0
    assert uncased.score == pytest.approx(100.0)
    assert "case:lc" in uncased.signature, uncased.signature


def test_bad_inputs_raise_with_a_clear_message():
    with pytest.raises(ValueError, match="4 hypotheses and 3 references"):
        corpus_bleu(HYPOTHESES, REFERENCES[:3])
    with pytest.raises(TypeError, match="detokenised strings.*position 0"):
        corpus_chrf([h.split() for h in HYPOTHESES], REFERENCES)
    with pytest.raises(TypeError, match="single str"):
        corpus_bleu(HYPOTHESES[0], REFERENCES[0])
    with pytest.raises(ValueError, match="at least one"):
        corpus_bleu([], [])


def test_missing_sacrebleu_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sacrebleu", None)  # makes "import sacrebleu" fail
    with pytest.raises(ImportError, match=r"pip install 'rnnkit\[translate\]'"):
        corpus_bleu(HYPOTHESES, REFERENCES)


def test_exact_match_on_strings_token_lists_and_id_arrays():
    rng = np.random.default_rng(0)
    refs = [rng.integers(3, 12, size=rng.integers(1, 8)) for _ in range(10)]
    wrong = rng.permutation(10)[:4]
    hyps = []
    for k, ref in enumerate(refs):
        if k in wrong:
            hyps.append(np.r_[ref, 3])  # one token too many
        else:
            hyps.append(ref.copy())
    assert exact_match(hyps, refs) == pytest.approx(0.6)
    assert exact_match([list(h) for h in hyps], [tuple(int(x) for x in r) for r in refs]) == pytest.approx(0.6)
    assert exact_match(["abc", "cab", "ab"], ["abc", "abc", "ab"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="2 hypotheses and 1 references"):
        exact_match([[1], [2]], [[1]])
