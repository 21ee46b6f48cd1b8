"""How long a translation may be: the limit per sentence fitted to the training pairs
(rnnkit.seq2seq.lengths), its use by greedy and beam search, ``min_len``, and what the command line
says about outputs cut at the limit.

The decoding tests use a scripted model: for a source of n tokens it says token ``A`` ``k * n`` times
and then EOS (or never EOS), so what a limit cuts is known exactly.
"""
from __future__ import annotations

import json
import math
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rnnkit import checkpoint as ckpt
from rnnkit.cli.main import main
from rnnkit.data.parallel import BOS_ID, EOS_ID, build_vocab
from rnnkit.data.tokenizer import Tokenizer
from rnnkit.seq2seq.decode import beam_search, greedy_decode
from rnnkit.seq2seq.io import Translator, load_translator, save_translator
from rnnkit.seq2seq.lengths import MAX_RATIO, SLACK, LengthRule, fit_length_rule
from rnnkit.seq2seq.translate import count_cut, translate

CHAR = Tokenizer("char")


class _Carry(NamedTuple):
    feed: np.ndarray  # (B,) steps taken so far
    goal: np.ndarray  # (B,) tokens to say before EOS (-1: never EOS)


class Scripted:
    """Says token A ``per_token`` times per source token, then EOS with probability ``p_end``
    (``p_end=0``: never ends).  ``eos_first`` makes EOS the most probable first token."""

    A = 4

    def __init__(self, per_token: int, vocab_size: int = 6, p_end: float = 0.9, eos_first: bool = False):
        self.per_token, self.p_end, self.eos_first = per_token, p_end, eos_first
        self.spec = SimpleNamespace(vocab_size=vocab_size)
        self.config = SimpleNamespace(attention="none")

    def encode(self, src, src_lengths):
        return _Carry(np.zeros(len(src_lengths), dtype=np.int64), self.per_token * np.asarray(src_lengths))

    def decode_step(self, ids, carry):
        V = self.spec.vocab_size
        logp = np.full((len(ids), V), -np.inf)  # nothing else: a beam has no improbable hypotheses to finish
        for b, (step, goal) in enumerate(zip(carry.feed, carry.goal)):
            if step == 0 and self.eos_first:
                logp[b, EOS_ID], logp[b, self.A] = np.log(0.6), np.log(0.4)
            elif step >= goal and self.p_end > 0:
                logp[b, EOS_ID], logp[b, self.A] = np.log(self.p_end), np.log(1 - self.p_end)
            else:
                logp[b, self.A] = 0.0
        return logp, None, _Carry(carry.feed + 1, carry.goal)

    def select(self, carry, idx):
        return _Carry(carry.feed[idx], carry.goal[idx])


def translator(model, rule: LengthRule) -> Translator:
    vocab = build_vocab([list("abcdefghij")])  # <pad> <bos> <eos> <unk>, then a..j: A = 4 is "a"
    return Translator(model, vocab, vocab, CHAR, CHAR, length_rule=rule)


OLD = LengthRule(2.0, 10)  # the rule 2 n + 10 of earlier versions


# ---------------------------------------------------------------- the rule

def test_the_rule_covers_every_pair_of_a_small_set_and_leaves_odd_pairs_of_a_large_one_out():
    pairs = [(np.arange(4), np.arange(5)), (np.arange(2), np.arange(9)), (np.arange(0), np.arange(30))]
    rule = fit_length_rule(pairs)  # 1,000 pairs or fewer: the largest ratio (the empty source is skipped)
    assert rule == LengthRule(5.0, SLACK, longest_source=4)
    assert fit_length_rule([]) == OLD
    # 2,000 pairs of ratio 1.5 and one odd pair: the odd pair moves neither the slope nor the intercept
    common = [(np.arange(10), np.arange(14))] * 2000
    for odd in [(np.arange(1), np.arange(25)), (np.arange(1), np.arange(1500))]:
        rule = fit_length_rule(common + [odd])
        assert rule == LengthRule(1.5, SLACK, longest_source=10)
        assert rule.limits(np.array([10]))[0] == 15 + SLACK
        assert rule.limits(np.array([1]))[0] < len(odd[1])  # the odd pair alone is cut
    # ... but in a set of 1,000 it still fits
    rule = fit_length_rule(common[:999] + [(np.arange(1), np.arange(25))])
    assert rule.limits(np.array([1]))[0] >= 26 + SLACK
    assert list(LengthRule(2.5, 10).limits(np.array([1, 2, 7]))) == [13, 15, 28]
    assert list(LengthRule(2.5, 10).limits(np.array([1, 7]), max_len=4)) == [4, 4]
    assert LengthRule.from_dict(rule.to_dict()) == rule
    for bad in (0.0, -1.0, math.inf, math.nan, True, "2"):
        with pytest.raises(ValueError, match="ratio"):
            LengthRule(bad, 10)
    with pytest.raises(ValueError, match="extra"):
        LengthRule(2.0, 0)
    with pytest.raises(ValueError, match="max_len"):
        OLD.limits(np.array([3]), max_len=0)
    with pytest.raises(ValueError, match="length rule as"):
        LengthRule.from_dict({"ratio": 2.0})


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 200)), min_size=1, max_size=12))
def test_no_training_pair_of_a_small_set_is_cut_by_the_limit_it_sets(lengths):
    """Every training target, EOS included, fits the limit of its own source length with SLACK to spare."""
    pairs = [(np.zeros(n), np.zeros(m)) for n, m in lengths]
    limits = fit_length_rule(pairs).limits(np.array([n for n, _ in lengths]))
    assert all(limit >= m + 1 + SLACK for limit, (_, m) in zip(limits, lengths))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1001, 5000))
@example(23, 1442)  # two of the odd pairs had 1-token sources: 1,501 steps a token, beyond the bound MAX_RATIO
def test_at_most_one_pair_in_a_thousand_is_cut(seed, size):
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 40, size)
    m = np.maximum(0, np.round(n * rng.lognormal(0.3, 0.5, size))).astype(int)  # a long tail of odd pairs
    odd = rng.integers(0, size, 3)
    m[odd], n[odd] = 1500, np.maximum(n[odd], 2)  # within the rule's bounds (1500 / 2 < MAX_RATIO): cut only if
    assert np.all((m + 1) / n <= MAX_RATIO)  # the fit is wrong, not because a bound caps it
    limits = fit_length_rule([(np.zeros(a), np.zeros(b)) for a, b in zip(n, m)]).limits(n)
    assert np.sum(limits < m + 1 + SLACK) <= size // 1000


def test_lengths_and_ratios_are_checked():
    assert LengthRule(np.float32(2.0)) == LengthRule(2.0) and type(LengthRule(2).ratio) is float
    for bad in (np.array([2.5, 3.7]), np.array([-5, 3]), np.array([[3]])):
        with pytest.raises(ValueError, match="src_lengths"):
            LengthRule().limits(bad)
    with pytest.raises(TypeError, match="pairs"):
        fit_length_rule([1, 2, 3])


# ---------------------------------------------------------------- decoding

@pytest.mark.parametrize("beam", [1, 3])
def test_a_long_translation_is_complete_under_the_fitted_limit_and_cut_under_the_old_rule(beam):
    """Character-level zh->en is 1:4 or more; the old limit 2 n + 10 cut such a translation silently."""
    model = Scripted(per_token=10)
    sentences = ["ab", "abcdef"]  # 20 and 60 tokens of output
    pairs = [(np.zeros(len(s)), np.zeros(10 * len(s))) for s in sentences]
    full = translate(translator(model, fit_length_rule(pairs)), sentences, beam_size=beam)
    assert [t[0].text for t in full] == ["a" * 20, "a" * 60] and count_cut(full) == 0
    old = translate(translator(model, OLD), sentences, beam_size=beam)
    assert [len(t[0].tokens) for t in old] == [2 * 2 + SLACK, 2 * 6 + SLACK] and count_cut(old) == 2
    fixed = translate(translator(model, OLD), sentences, beam_size=beam, max_len=100)
    assert [t[0].text for t in fixed] == ["a" * 20, "a" * 60]
    short = translate(translator(model, LengthRule(50.0, 10)), sentences, beam_size=beam, max_len=7)
    assert [t[0].tokens for t in short] == [("a",) * 7] * 2 and not any(t[0].finished for t in short)


@pytest.mark.parametrize("beam", [1, 2])
def test_each_sentence_has_its_own_limit_whatever_its_batch(beam):
    """A model that never ends stops each sentence at ceil(r n) + 10: line k's output does not depend
    on the other lines (the old limit took the batch's longest source)."""
    tr = translator(Scripted(per_token=1, p_end=0.0), LengthRule(1.5, 10))
    sentences = ["a", "abcdefghij", "abc", "ab"]
    together = translate(tr, sentences, beam_size=beam, batch_size=4)
    alone = [translate(tr, [s], beam_size=beam)[0] for s in sentences]
    assert [len(t[0].tokens) for t in together] == [math.ceil(1.5 * len(s)) + SLACK for s in sentences]
    assert [t[0].tokens for t in together] == [t[0].tokens for t in alone]


def test_greedy_and_beam_take_one_limit_per_sentence():
    model = Scripted(per_token=1, p_end=0.0)
    src, lengths = np.zeros((3, 3), dtype=np.int64), np.array([3, 1, 2])
    limits = np.array([2, 5, 1])
    for hyps in (greedy_decode(model, src, lengths, limits, BOS_ID, EOS_ID),
                 [h[0] for h in beam_search(model, src, lengths, 2, limits, BOS_ID, EOS_ID)]):
        assert [len(h.tokens) for h in hyps] == [2, 5, 1] and not any(h.finished for h in hyps)
    for bad in (np.array([2, 0, 1]), np.array([[2, 5, 1]]), np.array([2.0, 5.0, 1.0])):
        with pytest.raises(ValueError, match="max_len"):
            greedy_decode(model, src, lengths, bad, BOS_ID, EOS_ID)
    with pytest.raises(ValueError, match=r"one limit per sentence, shape \(3,\)"):
        beam_search(model, src, lengths, 2, np.array([2, 5]), BOS_ID, EOS_ID)


@pytest.mark.parametrize("beam", [1, 4])
def test_min_len_keeps_the_translation_from_being_empty(beam):
    """EOS is the model's favourite first token here; the default min_len=1 forbids it there."""
    tr = translator(Scripted(per_token=1, eos_first=True), LengthRule(5.0, 10))
    default = translate(tr, ["abc"], beam_size=beam)[0][0]
    assert default.text == "aaa" and default.finished
    empty = translate(tr, ["abc"], beam_size=beam, min_len=0)[0][0]
    assert empty.text == "" and empty.finished and abs(empty.score - np.log(0.6)) < 1e-9
    four = translate(tr, ["abc"], beam_size=beam, min_len=4)[0][0]
    assert four.text == "aaaa"
    with pytest.raises(ValueError, match="min_len"):
        translate(tr, ["abc"], min_len=-1)


# ---------------------------------------------------------------- checkpoints

def _real_translator(rule: LengthRule) -> Translator:
    from rnnkit.seq2seq import Seq2Seq, Seq2SeqConfig

    vocab = build_vocab([list("abc")])
    model = Seq2Seq(Seq2SeqConfig(len(vocab), len(vocab), src_embedding_dim=4, tgt_embedding_dim=4,
                                  encoder_hidden_size=4, decoder_hidden_size=8), np.random.default_rng(0))
    return Translator(model, vocab, vocab, CHAR, CHAR, length_rule=rule)


def test_the_rule_is_saved_and_older_checkpoints_read_as_the_old_rule(tmp_path):
    path = save_translator(tmp_path / "t.safetensors", _real_translator(LengthRule(3.25, 17)))
    assert load_translator(path).length_rule == LengthRule(3.25, 17)
    arrays = ckpt.load_checkpoint(path)[0]
    meta = ckpt.load_meta(path)
    del meta["task"]["length_rule"]  # as written before the rule was stored
    old = ckpt.save_checkpoint(tmp_path / "old.safetensors", arrays, meta)
    assert load_translator(old).length_rule == OLD
    meta["task"]["length_rule"] = {"ratio": -1.0, "extra": 10}
    bad = ckpt.save_checkpoint(tmp_path / "bad.safetensors", arrays, meta)
    with pytest.raises(Exception, match="ratio"):
        load_translator(bad)


# ---------------------------------------------------------------- command line

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A char-level model trained for two steps on pairs whose targets are 5-8x their sources: it
    does not know when to stop yet."""
    d = tmp_path_factory.mktemp("lengths")
    pairs = [("貓。", "The cat sleeps."), ("狗。", "The dog barks."), ("謝謝你。", "Thank you very much.")]
    (d / "train.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in pairs * 4), encoding="utf-8")
    (d / "test.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in pairs), encoding="utf-8")
    code = main(["train", "seq2seq", "--train", str(d / "train.tsv"), "--level", "char", "--embed", "8",
                 "--hidden", "16", "--epochs", "1", "--max-steps", "2", "--progress", "none",
                 "--checkpoint-minutes", "0", "--run-dir", str(d / "run")])
    assert code == 0
    return d


def test_training_stores_the_rule_of_its_pairs(run):
    rule = load_translator(run / "run" / "last.safetensors").length_rule
    assert rule.ratio > 7 and rule.limits(np.array([4]))[0] >= len("Thank you very much.") + 1 + SLACK


def test_the_rule_keeps_the_longest_training_source_and_reads_a_rule_without_it():
    rule = fit_length_rule([(np.arange(3), np.arange(4)), (np.arange(7), np.arange(2))])
    assert rule.longest_source == 7 and rule.to_dict()["longest_source"] == 7
    assert LengthRule.from_dict({"ratio": 2.0, "extra": 10}) == OLD and "longest_source" not in OLD.to_dict()
    assert [rule.far_too_long(n) for n in (28, 29)] == [False, True]  # over 4 times the longest
    assert [OLD.far_too_long(n) for n in (1000, 1001)] == [False, True]  # not known: over 1,000 tokens
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="longest_source"):
            LengthRule(2.0, 10, bad)
    with pytest.raises(ValueError, match="length rule"):
        LengthRule.from_dict({"ratio": 2.0, "extra": 10, "longest": 3})


def test_translate_warns_once_of_lines_far_longer_than_the_training_sources(run, tmp_path, capsys):
    """A 200,000-token line ran for minutes without a word: one warning, the longest line named, what it
    costs and what to do; none for lines the model was trained on."""
    model = str(run / "run" / "last.safetensors")
    (tmp_path / "in.txt").write_text("貓。\n" + "貓" * 17 + "\n\n" + "狗" * 30 + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["translate", model, str(tmp_path / "in.txt"), "--max-len", "3"]) == 0
    err = capsys.readouterr().err
    assert err.count("source tokens") == 1 and err.count("\n") == 2, err  # and the cut outputs' warning
    assert (f"{tmp_path / 'in.txt'}: line 4 has 30 source tokens, over 4 times the longest training source (4), a "
            "length the model never learnt (so has 1 more line); decoding costs time and memory in proportion to "
            "its length times the output's (up to 3 output steps, each attending over all 30 tokens): split long "
            "lines into sentences, one a line") in err, err
    (tmp_path / "short.txt").write_text("謝謝你。\n" + "貓" * 16 + "\n", encoding="utf-8")  # 4 times: not far
    assert main(["translate", model, str(tmp_path / "short.txt"), "--max-len", "3"]) == 0
    assert "source tokens" not in capsys.readouterr().err
    # a checkpoint from before the longest source was kept: over 1,000 tokens
    meta = ckpt.load_meta(model)
    del meta["task"]["length_rule"]["longest_source"]
    old = ckpt.save_checkpoint(tmp_path / "old.safetensors", ckpt.load_checkpoint(model)[0], meta)
    (tmp_path / "long.txt").write_text("貓" * 1000 + "\n" + "狗" * 1001 + "\n", encoding="utf-8")
    assert main(["translate", str(old), str(tmp_path / "long.txt"), "--max-len", "2"]) == 0
    err = capsys.readouterr().err
    assert "line 2 has 1,001 source tokens, over 1,000, longer than training sentences are (this checkpoint" in err


def test_translate_says_how_many_outputs_were_cut_and_how_to_lift_the_limit(run, tmp_path, capsys, monkeypatch):
    import io

    model = str(run / "run" / "last.safetensors")
    (tmp_path / "in.txt").write_text("貓。\n\n狗。\n", encoding="utf-8")
    capsys.readouterr()
    # one step cannot hold a token (min_len 1) and the EOS after it: every sentence is cut
    assert main(["translate", model, str(tmp_path / "in.txt"), "--max-len", "1"]) == 0
    out, err = capsys.readouterr()
    lines = out.split("\n")
    assert len(lines[0]) == 1 and lines[1] == "" and len(lines[2]) == 1
    assert "2 of 2 translations stopped at the --max-len 1 limit" in err and "raise --max-len" in err
    assert main(["evaluate", model, str(run / "test.tsv"), "--max-len", "1", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["cut"] == 3 and "3 of 3 translations stopped" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("謝謝你。\n"))
    assert main(["translate", model, "--min-len", "0"]) == 0  # a decoding option evaluate and translate share
