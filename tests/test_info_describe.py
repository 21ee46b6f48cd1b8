"""``rnnkit info``'s description of a task record (:func:`rnnkit.checkpoint_models.describe_task`): the
figures it prints are the file's own (a BPE model's piece count read from the SentencePiece model, not the
language model's vocabulary), and a damaged field is left out, never an error."""
from __future__ import annotations

import base64
import sys

import numpy as np
import pytest

from rnnkit.checkpoint_models import describe_task

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "red", "big"]


@pytest.mark.parametrize("kind, config", [("lm", "lm_config"), ("ngram", "config")])
def test_a_bpe_model_is_described_by_its_sentencepiece_piece_count(monkeypatch, kind, config):
    pytest.importorskip("sentencepiece")
    from rnnkit.data.bpe import train_bpe

    rng = np.random.default_rng(0)
    pieces = 30  # the SentencePiece model's size; the model's vocabulary is the pieces its text uses: fewer
    bpe = train_bpe([" ".join(rng.choice(WORDS, 6)) for _ in range(40)], pieces)
    task = {"model": kind, "level": "bpe", "bpe_model": base64.b64encode(bpe).decode("ascii"),
            config: {"vocab_size": 17, "order": 3, "smoothing": "kneser_ney"}}
    arch, sizes = describe_task(task)
    assert f"BPE: SentencePiece model of {pieces} pieces in the file" in arch["extras"] and sizes["vocabulary"] == 17
    for damaged in ("not base64!", "", base64.b64encode(b"\xff" * 8).decode()):  # not a model: no number
        assert "BPE: SentencePiece model in the file" in describe_task({**task, "bpe_model": damaged})[0]["extras"]
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # not installed: no number rather than a wrong one
    assert "BPE: SentencePiece model in the file" in describe_task(task)[0]["extras"]


@pytest.mark.parametrize("delta", ["x", None, [1], True])
def test_a_damaged_ngram_delta_is_left_out(delta):
    config = {"order": 3, "smoothing": "add_delta", "delta": delta}
    arch, _ = describe_task({"model": "ngram", "level": "word", "config": config})
    assert not any("add-delta" in extra for extra in arch["extras"])
    arch, _ = describe_task({"model": "ngram", "level": "word", "config": {**config, "delta": 0.25}})
    assert "add-delta 0.25" in arch["extras"]
