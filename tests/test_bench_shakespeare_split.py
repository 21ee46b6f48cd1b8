"""char-rnn's train/validation split of Tiny Shakespeare (benchmarks/bench_shakespeare.py --split char-rnn):
its layout on hand-worked examples, and that ``evaluate --batch-size 50`` reads each validation chunk
as its own stream from a zero state, which is how char-rnn's eval_split scores it."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnkit.lm.evaluate import evaluate_stream
from rnnkit.lm.model import LanguageModel, LMConfig

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_shakespeare_under_test", BENCH / "bench_shakespeare.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.path.remove(str(BENCH))


def test_hand_worked_layout(bench):
    # 20 characters, 2 rows of 10, windows of 2 columns: 5 windows, floor(5 * 0.7) = 3 train (6 columns).
    train, valid = bench.char_rnn_parts("abcdefghijklmnopqrst", batch_size=2, seq_length=2, train_frac=0.7)
    assert train == "abcdef" + "klmnop"
    # Each row's last 4 characters, then the character the loader predicts after them: the next row's
    # first ("k"); after the last row char-rnn wraps to the text's first ("a").
    assert valid == ["ghij" + "k", "qrst" + "a"]


def test_tail_is_cut_as_char_rnn_cuts_it(bench):
    # 22 characters: the loader keeps 20 (a multiple of 2 x 2), so the answer is the same as above.
    assert bench.char_rnn_parts("abcdefghijklmnopqrstuv", 2, 2, 0.7) == bench.char_rnn_parts(
        "abcdefghijklmnopqrst", 2, 2, 0.7)


def test_tiny_shakespeare_sizes(bench):
    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list("abcdefgh \n"), size=1_115_394))
    train, valid = bench.char_rnn_parts(text)
    # 446 windows of 50 x 50; 423 train, 23 validate: 50 rows of 22,300 = 21,150 + 1,150.
    assert len(train) == 50 * 21_150 == 1_057_500
    assert len(valid) == 50 and all(len(s) == 1_151 for s in valid)
    for r in range(50):  # every kept character is in exactly one part, in its place
        row = text[r * 22_300:(r + 1) * 22_300]
        assert train[r * 21_150:(r + 1) * 21_150] + valid[r][:-1] == row


def test_no_validation_or_training_window_is_an_error(bench):
    with pytest.raises(ValueError, match="shorter than one"):
        bench.char_rnn_parts("abc", 2, 2, 0.7)
    with pytest.raises(ValueError, match="no training or no validation"):
        bench.char_rnn_parts("abcdefghijklmnopqrst", 2, 2, 0.1)


def test_streams_are_read_from_a_zero_state(tmp_path, bench):
    """evaluate_stream over the written valid.txt with one stream per chunk equals the chunks scored
    one by one (each from a zero state), and predicts every character after each chunk's first."""
    rng = np.random.default_rng(1)
    alphabet = list("abcdefgh")
    text = "".join(rng.choice(alphabet, size=127))  # 3 rows of 40, 10 windows of 4, 6 of them train
    _, streams = bench.char_rnn_parts(text, batch_size=3, seq_length=4, train_frac=0.65)
    assert [len(s) for s in streams] == [17, 17, 17]
    cfg = LMConfig(vocab_size=len(alphabet), cell="lstm", embedding_dim=5, hidden_size=7, num_layers=2,
                   dtype="float64")
    model = LanguageModel(cfg, np.random.default_rng(2))
    for v in model.params.values():
        v[...] = rng.uniform(-0.5, 0.5, v.shape)
    ids = {c: i for i, c in enumerate(alphabet)}
    joined = np.array([ids[c] for c in "".join(streams)])
    together = evaluate_stream(model, joined, batch_size=len(streams), bptt=3)
    parts = [evaluate_stream(model, np.array([ids[c] for c in s]), batch_size=1, bptt=5) for s in streams]
    assert together["tokens"] == sum(len(s) - 1 for s in streams)
    total = sum(p["loss"] * p["tokens"] for p in parts)
    assert together["loss"] == pytest.approx(total / together["tokens"], rel=1e-12)


def test_written_files(tmp_path, bench):
    """split_char_rnn (50 x 50 windows) writes the parts as they are; the counts are char-rnn's."""
    rng = np.random.default_rng(3)
    text = "".join(rng.choice(list("ab\n中"), size=50 * 50 * 20 + 13))  # 20 windows, 19 train
    train_path, valid_path, n_train, n_predicted = bench.split_char_rnn(text, tmp_path)
    train_text, streams = bench.char_rnn_parts(text)
    assert train_path.read_text(encoding="utf-8") == train_text and len(train_text) == n_train == 50 * 950
    assert valid_path.read_text(encoding="utf-8") == "".join(streams)
    assert n_predicted == 50 * 50
