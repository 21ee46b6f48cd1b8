"""A tagger's or HMM's task metadata is checked with its data spec built once per check (rnnkit.tagging.io.read_task):
the metric's check and the schemes' each built DataSpec(**task["data"]) again (twice in tagger_meta's and
load_tagger's check, three times in LoadedTagger's), and what the checks say is the same; LoadedTagger keeps what
load_tagger's check found rather than checking again."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit.tagging.io as tagging_io
from rnnkit.tagging import DataSpec, LoadedTagger, Tagger, TaggerConfig, TaggerEncoder, TaggingData, save_tagger
from rnnkit.tagging.io import read_task, tagger_meta


@pytest.fixture
def built(monkeypatch):
    """How many DataSpecs are built."""
    count = [0]
    real = DataSpec.__post_init__

    def counting(self: DataSpec) -> None:
        count[0] += 1
        real(self)

    monkeypatch.setattr(tagging_io.DataSpec, "__post_init__", counting)
    return count


def _tagger():
    data = TaggingData([["John", "lives", "here"], ["Mary", "sleeps"]], [["B-PER", "O", "O"], ["B-PER", "O"]], None)
    encoder = TaggerEncoder.build(data)
    config = TaggerConfig(vocab_size=len(encoder.words), num_tags=len(encoder.tags), embedding_dim=4, hidden_size=4)
    return Tagger(config, np.random.default_rng(0)), encoder


def test_each_check_builds_the_data_spec_once(tmp_path, built):
    model, encoder = _tagger()
    spec = DataSpec("columns", -1, scheme="bio")
    built[0] = 0
    task = tagger_meta(model, encoder, spec, "span_f1", train_scheme="bioes")
    assert built[0] == 1
    built[0] = 0
    got = read_task(task, ["B-PER", "E-PER", "O", "S-PER"])
    assert built[0] == 1 and got.spec == spec and got.train_scheme == "bioes" and not got.scheme_map.same
    path = save_tagger(tmp_path / "t.safetensors", model, encoder, DataSpec("columns", -1, scheme="bio"))
    built[0] = 0
    loaded = LoadedTagger(path)
    assert built[0] == 1  # load_tagger's check, whose findings LoadedTagger keeps
    assert loaded.spec == DataSpec("columns", -1, scheme="bio") and loaded.train_scheme == "bio"


def test_read_task_refuses_what_the_loader_refuses():
    task = {"data": DataSpec(scheme="none").to_dict(), "metric": "span_f1"}
    with pytest.raises(ValueError, match="for metric 'span_f1'"):
        read_task(task, ["NN"])
    with pytest.raises(KeyError):
        read_task({"metric": "accuracy"}, ["NN"])
