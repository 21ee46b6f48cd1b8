"""BLEU and chrF through sacrebleu on detokenised text, and exact match."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from rnnkit.data.tokenizer import Tokenizer
from rnnkit.metrics.translation import (
    BLEU_TOKENIZERS,
    CorpusScore,
    auto_bleu_tokenize,
    check_bleu_tokenize,
    corpus_bleu,
    corpus_chrf,
    exact_match,
    token_exact_match,
)

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


# Chinese is written without spaces: under 13a a whole line is one token, so it has no 4-grams.
CHINESE = [
    "两个年轻的白人男子在灌木丛附近的户外。",
    "几个戴安全帽的男人正在操作一个巨大的滑轮系统。",
    "一个小女孩爬进一个木制的游戏屋。",
    "一个穿蓝色衬衫的男人站在梯子上擦窗户。",
]
CHINESE_HYPOTHESES = [
    "两个年轻的白人男子在灌木附近的户外。",
    "几个戴头盔的男人操作一个巨大的滑轮系统。",
    "一个女孩爬进木制的游戏屋。",
    "一个穿蓝衬衫的男人站在梯子上擦窗户。",
]


def test_exact_chinese_translations_score_100_with_the_zh_tokenizer():
    """The audit: BLEU 0.00 (tok:13a) next to chrF 100 and exact match 100% for a Chinese target."""
    exact = corpus_bleu(CHINESE, CHINESE)
    assert exact.score == pytest.approx(100.0), f"BLEU {exact.score} ({exact.signature})"
    assert "tok:zh" in exact.signature, exact.signature
    ours = corpus_bleu(CHINESE_HYPOTHESES, CHINESE)
    theirs = sacrebleu.corpus_bleu(CHINESE_HYPOTHESES, [CHINESE], tokenize="zh")
    assert ours.score == pytest.approx(theirs.score, abs=1e-12) and 0.0 < ours.score < 100.0
    assert corpus_bleu(CHINESE_HYPOTHESES, CHINESE, tokenize="auto") == ours


def test_english_references_score_exactly_as_before_with_13a():
    for tokenize in ("auto", "13a"):
        ours = corpus_bleu(HYPOTHESES, REFERENCES, tokenize=tokenize)
        theirs = sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES])  # sacrebleu's default: 13a
        assert ours.score == theirs.score and "tok:13a" in ours.signature, (tokenize, ours)
    # a few Chinese names in an English test set do not make it Chinese
    named = REFERENCES[:3] + ["Li Wei (李伟) is standing on a ladder cleaning windows."]
    assert auto_bleu_tokenize(named) == "13a"
    assert corpus_bleu(named, named).signature == corpus_bleu(REFERENCES, REFERENCES).signature


def test_auto_tokenizer_by_script():
    assert auto_bleu_tokenize(CHINESE) == "zh"
    assert auto_bleu_tokenize(["Zwei junge weiße Männer sind im Freien.", "Двое мужчин стоят у стены."]) == "13a"
    # Japanese mixes kanji with kana and has no spaces: character BLEU (ja-mecab needs MeCab)
    japanese = ["二人の若い男性が外にいる。", "女の子が木の家に登っている。", "東京都知事選挙"]
    assert auto_bleu_tokenize(japanese) == "char"
    assert corpus_bleu(japanese, japanese).score == pytest.approx(100.0)
    # Korean is written with spaces between words: 13a gives word tokens
    assert auto_bleu_tokenize(["두 명의 젊은 남자가 밖에 있다.", "작은 소녀가 나무 집에 올라간다."]) == "13a"
    assert auto_bleu_tokenize(["", "  "]) == "13a"


def test_explicit_tokenizer_overrides_auto():
    for tokenize in ("13a", "zh", "intl", "char", "none"):
        ours = corpus_bleu(CHINESE_HYPOTHESES, CHINESE, tokenize=tokenize)
        theirs = sacrebleu.corpus_bleu(CHINESE_HYPOTHESES, [CHINESE], tokenize=tokenize)
        assert ours.score == pytest.approx(theirs.score, abs=1e-12), tokenize
        assert f"tok:{tokenize}" in ours.signature, ours.signature
    assert corpus_bleu(CHINESE, CHINESE, tokenize="13a").score == 0.0  # the old behaviour, now asked for
    with pytest.raises(ValueError, match=r"tokenize.*'auto'.*got 'moses'"):
        corpus_bleu(CHINESE, CHINESE, tokenize="moses")
    assert set(BLEU_TOKENIZERS) >= {"auto", "13a", "zh", "intl", "char", "none", "ja-mecab", "ko-mecab"}


def test_mecab_tokenizers_without_their_package_say_what_to_install(monkeypatch):
    from sacrebleu.tokenizers import tokenizer_ja_mecab, tokenizer_ko_mecab

    monkeypatch.setattr(tokenizer_ja_mecab, "MeCab", None)
    monkeypatch.setattr(tokenizer_ko_mecab, "MeCab", None)
    with pytest.raises(ImportError, match=r"ja-mecab.*pip install 'sacrebleu\[ja\]'"):
        corpus_bleu(["東京"], ["東京"], tokenize="ja-mecab")
    with pytest.raises(ImportError, match=r"ko-mecab.*pip install 'sacrebleu\[ko\]'"):
        check_bleu_tokenize("ko-mecab")


def test_token_exact_match_never_matches_an_unknown_reference():
    """Tokens and their ids give the same rate: an output <unk> (id 3) does not match a reference word outside
    the vocabulary, which as ids is <unk> too; tokens ignore how the text was spaced."""
    assert token_exact_match([[5, 3], [5, 6], [5]], [np.array([5, 3]), np.array([5, 6]), np.array([5, 6])], 3) == 1 / 3
    assert token_exact_match([["today", "."], ["<unk>"]], [["today", "."], ["Zürich"]]) == 0.5
