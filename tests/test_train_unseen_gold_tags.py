"""``train tagger`` and ``train hmm`` warn of --valid and --test gold tags the training data never has, as
evaluate does: they can only be counted wrong (a 'PROPN' the training sample lacks, another tag set)."""
from __future__ import annotations

import pytest
from clirun import run_cli, write_conllu

SENTS = [[("the", "DET"), ("cat", "NOUN"), ("sees", "VERB")], [("a", "DET"), ("dog", "NOUN")]] * 4
OTHER = [[("Kim", "PROPN"), ("sees", "VERB")], [("the", "DET"), ("cat", "NOUN")]]


@pytest.mark.parametrize("command", [["tagger", "--epochs", "1", "--embed", "4", "--hidden", "4", "--progress",
                                      "none", "--checkpoint-minutes", "0", "--run-dir"], ["hmm", "--output"]])
def test_gold_tags_the_training_data_lacks_are_warned_of(tmp_path, capsys, command):
    train = write_conllu(tmp_path / "t.conllu", SENTS)
    dev = write_conllu(tmp_path / "d.conllu", OTHER)
    code, _, err = run_cli(capsys, ["train", command[0], "--train", str(train), "--valid", str(dev), "--test",
                                    str(dev), *command[1:], str(tmp_path / "out")])
    said = (f"rnnkit: warning: {dev}: 1 of its 4 gold tags (25.0%: 'PROPN') are tags the model was not trained on "
            "(it knows 'DET', 'NOUN', 'VERB'); they are counted as wrong")
    assert code == 0 and err.count(said) == 1, err  # one file given as --valid and --test: said once, not twice
    other = write_conllu(tmp_path / "d2.conllu", OTHER)  # two files with the same tags: one warning each
    code, _, err = run_cli(capsys, ["train", command[0], "--train", str(train), "--valid", str(dev), "--test",
                                    str(other), *command[1:], str(tmp_path / "out3")])
    assert code == 0 and err.count(said) == 1 and err.count(said.replace(str(dev), str(other))) == 1, err
    code, _, err = run_cli(capsys, ["train", command[0], "--train", str(train), "--valid", str(train),
                                    *command[1:], str(tmp_path / "out2")])
    assert code == 0 and "not trained on" not in err, err
