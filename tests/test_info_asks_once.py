"""``rnnkit info`` looks for each file beside an export once: onnx_companions.companions asked is_file() of the
vocabulary file twice (and again of one info was reading), of a translator's other graph twice and of a
SentencePiece model up to three times, and
checkpoint_info's look for the export beside a vocabulary or SentencePiece file four times; what they say of the
files is the same."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rnnkit.checkpoint_info import checkpoint_info
from rnnkit.onnx_companions import companions


@pytest.fixture
def asked(monkeypatch):
    """The paths Path.is_file is asked of, counted."""
    counts: Counter[str] = Counter()
    real = Path.is_file

    def counting(self: Path) -> bool:
        counts[str(self)] += 1
        return real(self)

    monkeypatch.setattr(Path, "is_file", counting)
    return counts


def _vocab(path: Path, kind: str = "seq2seq", level: str = "bpe") -> None:
    doc = {"model": kind, "level": level, "vocab": {"tokens": ["<unk>", "<eos>", "a"]},
           "source_vocab": {"tokens": ["<unk>", "a"]}, "target_vocab": {"tokens": ["<unk>", "b"]}}
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_companions_ask_each_file_once(tmp_path, asked):
    _vocab(tmp_path / "m.vocab.json")
    (tmp_path / "m.bpe.model").write_bytes(b"not a model")  # there, and a problem
    found = companions(tmp_path / "m.onnx", "seq2seq", "encoder", {"target_vocabulary": 2})
    assert found["vocabulary"]["exists"] and found["sentencepiece"]["exists"]
    assert not found["decoder_step"]["exists"]  # m.step.onnx: missing, said once
    assert sum("m.step.onnx is missing" in p for p in found["problems"]) == 1, found["problems"]
    assert max(asked.values()) == 1, asked
    assert {Path(p).name for p in asked} == {"m.vocab.json", "m.step.onnx", "m.bpe.model"}, asked
    asked.clear()  # the vocabulary file info reads (rnnkit info m.vocab.json): there, not asked again
    vocab = tmp_path / "m.vocab.json"
    again = companions(tmp_path / "m.onnx", "seq2seq", "encoder", {"target_vocabulary": 2},
                       {str(vocab): json.loads(vocab.read_text(encoding="utf-8"))})
    assert again == found and str(vocab) not in asked, asked


@pytest.mark.parametrize("name, exports", [("m.vocab.json", ["m.onnx"]),
                                           ("m.bpe.model", ["m.onnx", "m.safetensors"])])
def test_a_file_beside_a_missing_export_asks_for_it_once(tmp_path, asked, name, exports):
    if name.endswith(".json"):
        _vocab(tmp_path / name, "lm", "word")
    else:
        pytest.importorskip("sentencepiece")
        from rnnkit.data.bpe import train_bpe

        (tmp_path / name).write_bytes(train_bpe(["the cat sat on the mat", "the dog ran"] * 20, 20))
    asked.clear()
    info = checkpoint_info(tmp_path / name)
    assert not info["companions"]["graph"]["exists"]
    assert info["companions"]["problems"][0].startswith(f"{tmp_path / exports[0]}"), info["companions"]
    assert all(asked[str(tmp_path / e)] == 1 for e in exports), asked
    assert max(asked.values()) == 1, asked
