"""Per-line scores of language models (`rnnkit score`): against step-by-step log-probabilities, the
whole-file evaluation and the n-gram model's own figures, whatever the batch."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.data import Vocabulary
from rnnkit.lm import NGramLM
from rnnkit.lm.model import LanguageModel, LMConfig
from rnnkit.lm.score import line_tokens, score_lines, start_token

LINES = ["the cat sat", "", "a dog ran far away from the cat", "zebra the", "the"]
WORDS = "the cat sat on a mat dog ran far away from".split()


def word_vocab():
    return Vocabulary(["<unk>", "<eos>", *WORDS], eos_token="<eos>")


def make_model(V, softmax, seed=0, cell="lstm"):
    kw = {}
    if softmax == "class":
        kw["word_classes"] = np.arange(V) % 3
    cfg = LMConfig(vocab_size=V, cell=cell, embedding_dim=6, hidden_size=8, num_layers=2, softmax=softmax,
                   num_classes=3 if softmax == "class" else 0, cutoffs=(4,) if softmax == "adaptive" else (),
                   div_value=2.0, dtype="float64")
    model = LanguageModel(cfg, np.random.default_rng(seed), **kw)
    rng = np.random.default_rng(seed + 1)
    for v in model.params.values():
        v[...] = rng.uniform(-0.5, 0.5, v.shape)  # biases too: nothing at its zero start
    return model


def stepwise(model, vocab, level, line):
    """log P(line) one token at a time through step_log_probs (an independent path)."""
    ids = vocab.encode(line_tokens(line, level))
    prev = vocab.token_id(start_token(vocab, level))
    state, total = None, 0.0
    for tok in ids:
        logp, state = model.step_log_probs(np.array([[prev]]), state)
        total += float(logp[0, tok])
        prev = tok
    return total


@pytest.mark.parametrize("softmax", ["full", "class", "adaptive"])
def test_rnn_line_scores_equal_step_by_step_for_any_batch(softmax):
    vocab = word_vocab()
    model = make_model(len(vocab), softmax)
    want = [stepwise(model, vocab, "word", line) for line in LINES]
    for batch in (1, 2, 32):
        got = score_lines(model, vocab, "word", LINES, batch_size=batch)
        np.testing.assert_allclose([s.logprob for s in got], want, rtol=1e-10, atol=1e-10)
    got = score_lines(model, vocab, "word", LINES)
    assert [s.tokens for s in got] == [4, 0, 9, 3, 2]
    assert [s.oov for s in got] == [0, 0, 0, 1, 0]  # "zebra"
    assert got[0].ppl == pytest.approx(math.exp(-want[0] / 4)) and math.isnan(got[1].ppl)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_lines_longer_than_a_window_carry_their_state_and_ended_lines_leave_the_batch(cell, monkeypatch):
    """Lines are read WINDOW steps at a time; shorter lines of a batch drop out as they end."""
    import rnnkit.lm.score as score

    monkeypatch.setattr(score, "WINDOW", 3)
    vocab = word_vocab()
    model = make_model(len(vocab), "full", seed=5, cell=cell)
    rng = np.random.default_rng(4)
    lines = [" ".join(rng.choice(WORDS, n)) for n in (11, 0, 2, 3, 5, 1, 8, 2, 14, 6)]  # ends inside, at a window's end
    want = [stepwise(model, vocab, "word", line) for line in lines]
    for batch in (1, 3, 32):
        got = score_lines(model, vocab, "word", lines, batch_size=batch)
        np.testing.assert_allclose([s.logprob for s in got], want, rtol=1e-10, atol=1e-10)


def test_a_long_line_needs_no_more_memory_than_a_window(monkeypatch):
    """One long line among short ones was padded with them to its length, caches and all: a 200 kB line
    of a small character model took 24 GB.  Peak memory now stays near one window's."""
    import tracemalloc

    vocab = word_vocab()
    model = make_model(len(vocab), "full", seed=6)
    lines = ["the cat sat"] * 31 + [" ".join(["the cat"] * 3000)]  # 6,001 tokens
    tracemalloc.start()
    try:
        got = score_lines(model, vocab, "word", lines)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 30e6, f"{peak / 1e6:.0f} MB"  # (6001, 32) of every buffer was over 150 MB
    assert got[-1].tokens == 6001 and got[0].logprob == pytest.approx(got[1].logprob, rel=1e-12)


def test_skip_unknown_leaves_unknown_tokens_out_of_the_score_and_the_count(monkeypatch):
    """Unknown words all share <unk>'s probability, high where a model saw many: a line of unknown words
    could outrank a real one.  With skip_unknown they count for nothing, as SRILM's OOVs."""
    import rnnkit.lm.score as score

    monkeypatch.setattr(score, "WINDOW", 2)  # across windows too
    vocab = word_vocab()
    lines = ["the zebra sat on a yak", "zebra yak", "the cat"]
    rnn = make_model(len(vocab), "full", seed=7)
    ngram = NGramLM(3).fit([vocab.encode("the cat sat on a mat <eos>".split())], len(vocab), eos_id=vocab.eos_id)
    for model in (rnn, ngram):
        every = score_lines(model, vocab, "word", lines)
        known = score_lines(model, vocab, "word", lines, batch_size=2, skip_unknown=True)
        for line, a, b in zip(lines, every, known):
            toks = line_tokens(line, "word")
            ids = vocab.encode(toks)
            if model is rnn:
                prev, state, per = vocab.token_id(start_token(vocab, "word")), None, []
                for tok in ids:
                    logp, state = model.step_log_probs(np.array([[prev]]), state)
                    per.append(float(logp[0, tok]))
                    prev = tok
            else:
                per = list(model.token_logprobs([ids]))
            want = sum(p for p, t in zip(per, toks) if t in vocab)
            assert b.logprob == pytest.approx(want, rel=1e-9, abs=1e-9) and b.tokens == sum(t in vocab for t in toks)
            assert a.logprob == pytest.approx(sum(per), rel=1e-9) and b.oov == a.oov == sum(t not in vocab for t in toks)


def test_character_level_scores_every_character_and_the_newline():
    text = "床前明月光\n疑是地上霜\n"
    vocab = Vocabulary(["<unk>", *sorted(set(text))], eos_token=None)
    model = make_model(len(vocab), "full", seed=3)
    lines = ["床前明月光", "", "月光x"]
    got = score_lines(model, vocab, "char", lines, batch_size=2)
    assert [s.tokens for s in got] == [6, 1, 4] and [s.oov for s in got] == [0, 0, 1]
    np.testing.assert_allclose([s.logprob for s in got], [stepwise(model, vocab, "char", x) for x in lines],
                               rtol=1e-10)


def test_ngram_line_scores_are_its_sentence_log_probabilities():
    vocab = word_vocab()
    rng = np.random.default_rng(2)
    train = [vocab.encode(line_tokens(" ".join(rng.choice(WORDS, size=6)), "word")) for _ in range(80)]
    model = NGramLM(3, "katz").fit(train, len(vocab), eos_id=vocab.eos_id)
    got = score_lines(model, vocab, "word", LINES)
    for line, s in zip(LINES, got):
        ids = vocab.encode(line_tokens(line, "word"))
        want = sum(model.logprob(ids[:t], ids[t]) for t in range(len(ids)))  # from <s>, token by token
        assert s.logprob == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_cli_single_line_matches_evaluate_and_lines_stay_aligned(tmp_path, capsys):
    rng = np.random.default_rng(0)
    train = tmp_path / "train.txt"
    train.write_text("\n".join(" ".join(rng.choice(WORDS, size=7)) for _ in range(150)) + "\n", encoding="utf-8")
    run = tmp_path / "run"
    assert main(["train", "lm", "--train", str(train), "--hidden", "12", "--embed", "8", "--layers", "1",
                 "--batch-size", "4", "--bptt", "8", "--epochs", "1", "--progress", "none", "--run-dir", str(run),
                 "--optimizer", "adam", "--lr", "0.01"]) == 0
    model = str(run / "last.safetensors")
    one = tmp_path / "one.txt"
    one.write_text("the cat sat on a mat\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["evaluate", model, str(one), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert main(["score", model, str(one), "--json"]) == 0
    sc = json.loads(capsys.readouterr().out)
    assert sc["tokens"] == ev["tokens"] == 7 and sc["text"] == "the cat sat on a mat" and sc["line"] == 1
    assert -sc["logprob"] / sc["tokens"] == pytest.approx(ev["loss"], rel=1e-5)
    many = tmp_path / "many.txt"
    many.write_text("\n".join(LINES), encoding="utf-8")  # no final newline: the last line still counts
    assert main(["score", model, str(many)]) == 0
    cap = capsys.readouterr()
    rows = cap.out.split("\n")[:-1]
    assert len(rows) == len(LINES) and [r.split("\t")[4] for r in rows] == LINES
    assert rows[1].split("\t")[:3] == ["0.0000", "0", "nan"]
    assert "5 lines, 18 tokens (1 not in the vocabulary)" in cap.err
    # lines scored and written in blocks of 2 (the 5 lines: three blocks): the same rows and the same summary
    import rnnkit.cli.score

    rnnkit.cli.score.BLOCK, whole = 2, cap
    try:
        assert main(["score", model, str(many)]) == 0
    finally:
        rnnkit.cli.score.BLOCK = 20_000
    cap = capsys.readouterr()
    blocked = [r.split("\t") for r in cap.out.split("\n")[:-1]]  # a batch of other lines: float32 rounding
    assert [(r[1], r[3], r[4]) for r in blocked] == [tuple(r.split("\t")[i] for i in (1, 3, 4)) for r in rows]
    assert [float(r[0]) for r in blocked] == pytest.approx([float(r.split("\t")[0]) for r in rows], abs=2e-4)
    assert cap.err.split("),")[0] == whole.err.split("),")[0]  # lines, tokens, unknown ones
    tabbed = tmp_path / "tabbed.txt"
    tabbed.write_text(f"{LINES[0]}\t{LINES[2]}\n", encoding="utf-8")  # the text, last, keeps its tab
    assert main(["score", model, str(tabbed)]) == 0
    assert capsys.readouterr().out.rstrip("\n").split("\t", 4)[4] == f"{LINES[0]}\t{LINES[2]}"


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9\n")
    model = NGramLM(2).fit([[2, 3, 1]], 4, eos_id=1)
    path = tmp_path / "ng.safetensors"
    model.save(path, Vocabulary(["<unk>", "<eos>", "a", "b"], eos_token="<eos>"), level="word")
    for argv, needle in ((["score", str(path), str(bad)], "UTF-8"),
                         (["score", str(tmp_path / "gone.safetensors"), str(bad)], "no such checkpoint"),
                         (["score", str(path), str(tmp_path / "gone.txt")], "no such file"),
                         (["score", str(path), str(bad), "--batch-size", "5"],  # was accepted and ignored
                          "--batch-size does not apply to")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err
