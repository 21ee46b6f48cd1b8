"""Tagging with a progress display splits an HMM's input into batches of 512 sentences; the unknown words'
emission scores (a suffix model's distribution, the costly part) are cached once for the whole input, not
again in every batch."""
from __future__ import annotations

from clirun import run_cli

from rnnkit.tagging.io import TaggingData
from rnnkit.tagging.loaded import LoadedTagger


def test_an_unknown_word_is_scored_once_across_batches(tmp_path, capsys, monkeypatch):
    train = tmp_path / "train.txt"
    train.write_text("the/DET cat/NOUN sleeps/VERB\na/DET dog/NOUN runs/VERB\n" * 20, encoding="utf-8")
    model = tmp_path / "hmm.safetensors"
    assert run_cli(capsys, ["train", "hmm", "--train", str(train), "--format", "slash", "--output", str(model)])[0] == 0
    tagger = LoadedTagger(model)
    suffix = tagger.model.suffix_model_
    calls = []
    original = suffix.distribution
    monkeypatch.setattr(suffix, "distribution", lambda word: calls.append(word) or original(word))
    data = TaggingData(words=[["the", "zorbl", "sleeps"]] * 1200, tags=None, features=None)
    done = []
    tags = tagger.predict(data, on_batch=done.append)
    assert len(done) == 3 and sum(done) == 3600  # three batches of at most 512 sentences
    assert calls == ["zorbl"] and tags == tagger.predict(data)
