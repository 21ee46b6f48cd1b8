"""The JSON file HMMTagger.save writes, read where an HMM checkpoint is: LoadedTagger, rnnkit tag and evaluate
take it (through rnnkit.tagging.io.load_hmm_json), and a command that needs a checkpoint names it for what it is."""
from __future__ import annotations

import io

import pytest
from clirun import run_cli, write_conllu

from rnnkit.checkpoint import load_checkpoint
from rnnkit.errors import CheckpointError
from rnnkit.hmm import HMMTagger
from rnnkit.tagging import LoadedTagger

SENTENCES = ["the dog barks", "a cat sleeps", "the cat sees a dog", "a dog barks", "dogs fish"]
TAGS = ["D N V", "D N V", "D N V D N", "D N V", "N V"]


@pytest.fixture()
def hmm_json(tmp_path):
    hmm = HMMTagger(order=2).fit([s.split() for s in SENTENCES], [t.split() for t in TAGS])
    path = tmp_path / "h.json"
    hmm.save(path)
    return hmm, path


def test_loaded_tagger_reads_the_json_as_the_hmm_itself_tags(hmm_json):
    hmm, path = hmm_json
    loaded = LoadedTagger(path)
    words = ["a", "cat", "fish"]
    assert loaded.kind == "hmm" and loaded.from_json and loaded.tags == hmm.tags_
    assert loaded.tag(" ".join(words)) == hmm.predict([words])[0]
    assert (loaded.spec.format, loaded.task["metric"]) == ("conllu", "accuracy")


def test_a_bmes_hmm_json_is_a_segmenter(tmp_path):
    chars = [list("我们喜欢"), list("北京大学")]
    tags = [list("BEBE"), list("BEBE")]
    path = tmp_path / "seg.json"
    HMMTagger(scheme="bmes").fit(chars, tags).save(path)
    loaded = LoadedTagger(path)
    assert (loaded.spec.format, loaded.spec.scheme, loaded.task["metric"]) == ("segmented", "bmes", "word_f1")
    assert loaded.segment("我们喜欢北京") == ["我们", "喜欢", "北京"]


def test_rnnkit_tag_and_evaluate_take_the_json(hmm_json, tmp_path, capsys, monkeypatch):
    hmm, path = hmm_json
    monkeypatch.setattr("sys.stdin", io.StringIO("the dog sleeps\n"))
    code, out, err = run_cli(capsys, ["tag", str(path)])
    assert code == 0, err
    assert out.split() == [f"{w}/{t}" for w, t in zip("the dog sleeps".split(), hmm.predict([["the", "dog",
                                                                                              "sleeps"]])[0])]
    gold = write_conllu(tmp_path / "gold.conllu", [[("the", "D"), ("cat", "N"), ("barks", "V")]])
    code, out, err = run_cli(capsys, ["evaluate", str(path), str(gold), "--json"])
    assert code == 0, err
    assert '"accuracy": 1.0' in out
    columns = tmp_path / "gold.txt"  # its data format is the user's to say: the JSON holds none
    columns.write_text("the D\ncat N\nbarks V\n\n", encoding="utf-8")
    code, out, err = run_cli(capsys, ["evaluate", str(path), str(columns), "--format", "columns", "--json"])
    assert code == 0, err
    assert '"accuracy": 1.0' in out


def test_a_checkpoint_reader_names_the_json_and_blames_no_argument_order(hmm_json, capsys):
    _, path = hmm_json
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "HMMTagger.save" in message and "save_hmm" in message and "commands take" not in message
    assert "\n" not in message
    code, out, _ = run_cli(capsys, ["info", str(path)])  # info describes it (test_info_hmm_json)
    assert code == 0 and "HMMTagger.save" in out
