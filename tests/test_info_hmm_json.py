"""``rnnkit info`` on the JSON file ``HMMTagger.save`` writes: described as a checkpoint of the same HMM is (its
model and sizes), not refused; a damaged one gets the loader's one line."""
from __future__ import annotations

import json

from clirun import error_line, run_cli

from rnnkit.hmm import HMMTagger
from rnnkit.tagging.io import DataSpec, save_hmm


def _hmm() -> HMMTagger:
    return HMMTagger(order=2).fit([["a", "b", "a"], ["b", "c"]], [["X", "Y", "X"], ["Y", "Z"]])


def test_info_describes_hmm_json_as_its_checkpoint_does(tmp_path, capsys):
    hmm = _hmm()
    hmm.save(tmp_path / "h.json")
    save_hmm(tmp_path / "h.safetensors", hmm, DataSpec("conllu", scheme="none"), "accuracy")
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "h.json"), "--json"])
    assert code == 0, err
    got = json.loads(out)
    code, out, err = run_cli(capsys, ["info", str(tmp_path / "h.safetensors"), "--json"])
    want = json.loads(out)
    assert (got["format"], got["kind"], got["task"]) == ("json", "hmm-json", "hmm")
    assert got["architecture"] == want["architecture"] and got["sizes"] == want["sizes"] == {"vocabulary": 3,
                                                                                               "tags": 3}
    code, out, _ = run_cli(capsys, ["info", str(tmp_path / "h.json")])
    assert code == 0 and "HMMTagger.save" in out and "bigram HMM tagger" in out


def test_info_of_a_damaged_hmm_json_is_one_line(tmp_path, capsys):
    (tmp_path / "bad.json").write_text('{"format": "rnnkit-hmm-tagger", "version": 1}', encoding="utf-8")
    code, _, err = run_cli(capsys, ["info", str(tmp_path / "bad.json")])
    line = error_line(code, err)
    assert "bad.json" in line and "HMMTagger.save" in line


def test_hmm_save_is_atomic(tmp_path, monkeypatch):
    """A save that fails part-way (here: the document cannot be written) leaves the earlier file whole."""
    path = tmp_path / "h.json"
    first = _hmm()
    first.save(path)
    before, want = path.read_bytes(), first.document()

    def broken(self, tables=True):
        return {"format": "rnnkit-hmm-tagger", "bad": object()}  # json.dumps fails on it

    monkeypatch.setattr(HMMTagger, "document", broken)
    try:
        first.save(path)
    except TypeError:
        pass
    monkeypatch.undo()
    assert path.read_bytes() == before and HMMTagger.load(path).document() == want
    assert [p.name for p in tmp_path.iterdir()] == ["h.json"]  # no temporary left behind
