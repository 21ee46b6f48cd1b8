"""The savers that wrote ``{"model/" + name: array}`` and ``{"kind": ..., "task": ...}`` by hand (the pointer
network's, the n-gram model's, the character-LM demo's) call :func:`rnnkit.checkpoint_task.save_task_checkpoint`:
their files are byte for byte those the hand-built layout gives, so files written before read the same."""
from __future__ import annotations

import numpy as np

from rnnkit.checkpoint import load_meta, save_checkpoint
from rnnkit.data.vocab import Vocabulary
from rnnkit.lm.ngram import NGramLM
from rnnkit.seq2seq.pointer import PointerNet
from rnnkit.seq2seq.pointer_io import save_pointer


def _by_hand(path, params, kind, task):
    return save_checkpoint(path, {"model/" + k: v for k, v in params.items()}, {"kind": kind, "task": task})


def test_a_pointer_networks_file_is_the_hand_built_layouts(tmp_path):
    model = PointerNet(3, 4, 5)
    got = save_pointer(tmp_path / "p.safetensors", model, {"task": "sort"})
    task = load_meta(got)["task"]
    assert task["model"] == "pointer" and task["task"] == "sort"
    want = _by_hand(tmp_path / "hand.safetensors", model.params, "model", task)
    assert got.read_bytes() == want.read_bytes()


def test_an_ngram_models_file_is_the_hand_built_layouts(tmp_path):
    vocab = Vocabulary(["<unk>", "<eos>", "a", "b"])
    model = NGramLM(2).fit(np.array([2, 3, 1, 2, 1]), 4, eos_id=vocab.eos_id)
    model.save(tmp_path / "n.safetensors", vocab=vocab, level="word")
    meta = load_meta(tmp_path / "n.safetensors")
    want = _by_hand(tmp_path / "hand.safetensors", model.arrays(), "ngram-lm", meta["task"])
    assert meta["kind"] == "ngram-lm" and (tmp_path / "n.safetensors").read_bytes() == want.read_bytes()
