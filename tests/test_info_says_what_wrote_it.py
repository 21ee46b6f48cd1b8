"""``rnnkit info`` says what a file is as the file shows it: a graph it could not read as not read (not as no model
it knows), a demo's pointer network as the demo's (with its stored settings), a hand-built HMM by what it holds
(tables, its words), a pipe as no file info reads; and an HMM's JSON is parsed once."""
from __future__ import annotations

import json
import os
import re
import sys

import numpy as np
from clirun import error_line, run_cli

from rnnkit import checkpoint as ckpt
from rnnkit.hmm import HMMTagger
from rnnkit.tagging.io import DataSpec, save_hmm


def _info(capsys, path, *argv):
    code, out, err = run_cli(capsys, ["info", str(path), *argv])
    assert code == 0, err
    return json.loads(out) if "--json" in argv else out


def test_a_graph_not_read_is_said_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # not installed: the graph is not read
    (tmp_path / "m.onnx").write_bytes(b"\x08\x08not read")
    doc = {"model": "lm", "level": "word", "vocab": {"tokens": ["a", "b"]}}
    (tmp_path / "m.vocab.json").write_text(json.dumps(doc), encoding="utf-8")
    out = _info(capsys, tmp_path / "m.onnx")
    kind = re.search(r"^kind +(.*)$", out, re.M).group(1)
    assert kind.startswith("not read (no onnx package): ") and "no model rnnkit knows" not in out, out


def test_a_demo_pointer_network_is_the_demos_with_its_settings(tmp_path, capsys):
    code, _, err = run_cli(capsys, ["demo", "pointer", "--steps", "3", "--min-len", "4", "--max-len", "6",
                                    "--hidden", "8", "--test-size", "4", "--test-lengths", "5",
                                    "--save", str(tmp_path / "ptr")])
    assert code == 0, err
    path = tmp_path / "ptr" / "model.safetensors"
    demo = ckpt.load_document(path)["meta"]["task"]["demo"]
    info = _info(capsys, path, "--json")
    assert info["options"] == {"demo": demo}
    out = _info(capsys, path)
    kind = re.search(r"^kind +(.*)$", out, re.M).group(1)
    assert "rnnkit demo pointer" in kind and "export" not in kind, kind
    settings = re.search(r"^settings +(.*)$", out, re.M).group(1)
    for said in (f"task {demo['task']}", "steps 3", "lengths 4-6", f"lr {demo['lr']:g} to {demo['lr_end']:g}"):
        assert said in settings, (said, settings)


def _hand_built(state_counts=None):
    words = ["the", "cat", "sat", "down"]
    emissions = np.array([[0.7, 0.1], [0.1, 0.5], [0.1, 0.3], [0.1, 0.1]])  # (V, K): each tag's column sums to 1
    return HMMTagger.from_probabilities(["D", "N"], np.array([0.6, 0.4]), np.array([[0.2, 0.8], [0.5, 0.5]]),
                                        words, emissions, state_counts=state_counts), len(words)


def test_a_hand_built_hmm_is_described_by_what_it_holds(tmp_path, capsys):
    hmm, words = _hand_built()
    hmm.save(tmp_path / "h.json")
    info = _info(capsys, tmp_path / "h.json", "--json")
    assert info["sizes"] == {"vocabulary": words, "tags": 2}
    assert not any("emissions" in e or "suffix" in e for e in info["architecture"]["extras"]), info["architecture"]
    counted, _ = _hand_built(state_counts=np.array([30.0, 20.0]))  # with its tags' counts: a suffix model too
    counted.save(tmp_path / "c.json")
    save_hmm(tmp_path / "c.safetensors", counted, DataSpec("conllu", scheme="none"), "accuracy")
    for path in ("c.json", "c.safetensors"):  # the checkpoint's tables are arrays beside its JSON
        info = _info(capsys, tmp_path / path, "--json")
        assert any("suffix model" in e for e in info["architecture"]["extras"]), (path, info["architecture"])
        assert info["sizes"] == {"vocabulary": words, "tags": 2}


def test_an_hmm_json_is_parsed_once(tmp_path, capsys, monkeypatch):
    hmm, _ = _hand_built()
    hmm.save(tmp_path / "h.json")
    text = (tmp_path / "h.json").read_text(encoding="utf-8")
    parsed, real = [], json.loads
    monkeypatch.setattr(json, "loads", lambda s, *a, **k: (parsed.append(s) if s == text else None) or real(s, *a, **k))
    _info(capsys, tmp_path / "h.json")
    assert len(parsed) == 1


def test_a_pipe_is_no_file_info_reads(tmp_path, capsys):
    os.mkfifo(tmp_path / "p")
    code, _, err = run_cli(capsys, ["info", str(tmp_path / "p")])
    line = error_line(code, err, "not a regular file")
    assert "not a checkpoint" not in line and ".onnx" in line and "ARPA" in line
