"""Prediction batches of sentences sorted by length: one very long line no longer pads a whole batch of
short ones to its length (a tagger took 4.6 GB and 11 s on 31 short lines and one of 20,000 words,
a classifier 5.5 GB; apart they need 0.2 GB)."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from rnnkit.classify.model import Classifier, ClassifierConfig
from rnnkit.classify.task import predict_proba
from rnnkit.packing import length_batches


@pytest.mark.parametrize("descending", [True, False])
def test_batches_cover_the_order_and_keep_an_outlier_apart(descending):
    lengths = np.array([12] * 40 + [20_000] + [9] * 30)
    order = np.argsort(-lengths if descending else lengths, kind="stable")
    batches = length_batches(order, lengths, batch_size=32)
    assert np.array_equal(np.concatenate(batches), order)  # in order, each index once
    assert all(0 < len(b) <= 32 for b in batches)
    assert [b.tolist() for b in batches if 40 in b.tolist()] == [[40]]  # the long line alone
    assert max(lengths[b].max() * len(b) for b in batches if 40 not in b.tolist()) <= 8192


def test_batches_of_similar_lengths_keep_their_full_size():
    lengths = np.full(1000, 200)  # long, but all alike: padding is no waste, so no early cut
    order = np.arange(1000)
    assert [len(b) for b in length_batches(order, lengths, batch_size=256)] == [256, 256, 256, 232]
    ragged = np.array([300, 260, 250, 240] * 20)
    cut = length_batches(np.argsort(-ragged, kind="stable"), ragged, batch_size=64)
    assert [len(b) for b in cut] == [64, 16]


def test_a_classifier_predicts_an_outlier_in_little_memory_and_the_same_probabilities():
    rng = np.random.default_rng(0)
    model = Classifier(ClassifierConfig(vocab_size=50, num_classes=2, embedding_dim=16, hidden_size=16), rng)
    seqs = [rng.integers(0, 50, 8) for _ in range(40)] + [rng.integers(0, 50, 6000)]
    tracemalloc.start()
    try:
        probs = predict_proba(model, seqs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 60e6, f"{peak / 1e6:.0f} MB"  # padded together, (6000, 41) of every buffer: over 200 MB
    alone = np.vstack([predict_proba(model, [s]) for s in (seqs[0], seqs[-1])])
    np.testing.assert_allclose(probs[[0, -1]], alone, rtol=1e-5, atol=1e-6)


def test_evaluation_batches_of_pairs_keep_an_outlier_apart_and_training_batches_are_unchanged():
    from rnnkit.data.parallel import make_batches

    rng = np.random.default_rng(1)
    pairs = [(rng.integers(4, 20, 6), rng.integers(4, 20, 7)) for _ in range(30)]
    pairs.insert(5, (rng.integers(4, 20, 9000), rng.integers(4, 20, 3)))
    batches = make_batches(pairs, 64)
    assert [b.index.tolist() for b in batches if 5 in b.index.tolist()] == [[5]]
    assert sorted(i for b in batches for i in b.index.tolist()) == list(range(31))
    train = make_batches(pairs, 64, rng=np.random.default_rng(0))  # training: batch_size pairs, as before
    assert [len(b.index) for b in train] == [31]


def test_prediction_batches_of_long_lines_stay_under_the_token_cap_with_the_same_tags():
    """128 lines of 1,000 characters once went through a segmenter as one batch: 1.2 GB."""
    from rnnkit.tagging.model import Tagger, TaggerConfig
    from rnnkit.tagging.task import Encoded, predict_ids

    lengths = np.full(300, 1000)
    batches = length_batches(np.arange(300), lengths, batch_size=128, token_cap=16_384)
    assert [len(b) for b in batches] == [16] * 18 + [12]  # the cap cuts batches the padding rule keeps whole
    assert [len(b) for b in length_batches(np.arange(300), lengths, batch_size=128)] == [128, 128, 44]
    assert [len(b) for b in length_batches(np.arange(3), np.full(3, 50_000), 128, token_cap=100)] == [1, 1, 1]

    rng = np.random.default_rng(1)
    model = Tagger(TaggerConfig(vocab_size=30, num_tags=4, embedding_dim=8, hidden_size=8, output="crf"), rng)
    seqs = [rng.integers(1, 30, n) for n in (900, 700, 800, 5)]
    enc = Encoded(seqs, None, None, None, None, None, None, np.array([len(s) for s in seqs]))
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("rnnkit.tagging.task.PREDICT_TOKENS", 1000)
        real = model.predict
        mp.setattr(model, "predict", lambda batch, *rest: calls.append(batch) or real(batch, *rest))
        capped = predict_ids(model, enc)
    assert len(calls) == 4  # under the cap every line is a batch of its own
    assert capped == predict_ids(model, enc)  # the same paths as in one batch
