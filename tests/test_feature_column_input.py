"""A tagger trained with ``--feature-columns`` (a chunker reading POS) given raw text: ``rnnkit tag`` printed the
library's Python words (``read_tagged(path, loaded.spec)``) without the file's name; and from Python the message
did not say that ``LoadedTagger.tag`` takes the features itself (``features=``), nor was a wrongly nested
``features=`` refused (a str per word was read as its characters, one feature value each)."""
from __future__ import annotations

import numpy as np
import pytest
from clirun import SMALL, error_line, run_cli
from test_cli_tagging import _chunk_sentences

from rnnkit.tagging.io import read_tagged
from rnnkit.tagging.loaded import LoadedTagger


@pytest.fixture(scope="module")
def chunker(tmp_path_factory):
    d = tmp_path_factory.mktemp("features")
    rng = np.random.default_rng(1)
    text = "".join(" ".join(r) + "\n" for s in _chunk_sentences(rng, 30) for r in s + [()])
    (d / "train.txt").write_text(text, encoding="utf-8")
    (d / "raw.txt").write_text("the cat sat\n", encoding="utf-8")
    from rnnkit.cli.main import main

    assert main(["train", "tagger", "--train", str(d / "train.txt"), "--format", "columns", "--scheme", "bio",
                 "--feature-columns", "1", "--epochs", "1", "--run-dir", str(d / "run"), *SMALL]) == 0
    return d


def test_tag_of_raw_text_names_the_file_and_the_column_input_it_needs(chunker, capsys):
    model = str(chunker / "run" / "last.safetensors")
    code, _, err = run_cli(capsys, ["tag", model, str(chunker / "raw.txt")])
    error_line(code, err, f"{model} reads feature column 1 beside the words (trained with --feature-columns 1), "
                          f"and {chunker / 'raw.txt'} is read as raw text", "give --format columns and a file that "
                          "holds them, the words in column 0 and the features in column 1")
    assert "read_tagged" not in err
    code, out, err = run_cli(capsys, ["tag", model, str(chunker / "train.txt"), "--format", "columns"])
    assert code == 0 and len(out.splitlines()[0].split()) == 4, err  # the control: column input is tagged


def test_python_tag_takes_features_and_refuses_them_nested_wrongly(chunker):
    loaded = LoadedTagger(chunker / "run" / "last.safetensors")
    with pytest.raises(ValueError, match=r"got sentences without features: pass features=, for every sentence a "
                                         r"list of each word's feature values"):
        loaded.tag("the cat sat")
    data = read_tagged(chunker / "train.txt", loaded.spec)
    words = [" ".join(s) for s in data.words[:3]]
    assert loaded.tag(words, features=data.features[:3]) == loaded.predict(data)[:3]
    one = [[[f] for f in ["DET", "NOUN", "VERB"]]]
    assert loaded.tag("the cat sat", features=one) == loaded.tag(["the cat sat"], features=one)[0]
    with pytest.raises(ValueError, match=r"Expected features\[0\]\[0\] as a list of 1 value, one per feature column "
                                         r"\[1\], got 'DET'"):
        loaded.tag("the cat sat", features=[["DET", "NOUN", "VERB"]])  # was read as D, E, T: tagged silently
    with pytest.raises(ValueError, match=r"features\[0\]\[1\] as a list of 1 value.*got \['NOUN', 'x'\]"):
        loaded.tag("the cat sat", features=[[["DET"], ["NOUN", "x"], ["VERB"]]])
    with pytest.raises(TypeError, match=r"Expected features\[0\] as a list of each word's feature values, got str"):
        loaded.spans("the cat sat", features=["DET NOUN VERB"])


def test_python_features_of_another_type_or_length_are_said_in_the_callers_words(chunker, tmp_path):
    """An int or None feature value was tagged silently (matching no feature seen in training); a word count
    that differs was said as data.features[0], a name the caller never wrote; and features=[] on a model
    without feature columns was taken."""
    loaded = LoadedTagger(chunker / "run" / "last.safetensors")
    for value in (3, None):
        with pytest.raises(TypeError, match=rf"Expected features\[0\]\[1\] to hold str values, as a column file's "
                                            rf"are, got {type(value).__name__} {value}"):
            loaded.tag("the cat sat", features=[[["DET"], [value], ["VERB"]]])
    with pytest.raises(ValueError, match=r"^Expected features for sentence 1 to hold one entry per token \(3\), got 2$"):
        loaded.tag("the cat sat", features=[[["DET"], ["NOUN"]]])
    with pytest.raises(ValueError, match=r"^Expected features= for each of the 2 sentences, got 1$"):
        loaded.tag(["the cat", "a dog"], features=[[["DET"], ["NOUN"]]])
    from rnnkit.cli.main import main

    assert main(["train", "tagger", "--train", str(chunker / "train.txt"), "--format", "columns", "--scheme", "bio",
                 "--epochs", "1", "--run-dir", str(tmp_path / "plain"), *SMALL]) == 0
    plain = LoadedTagger(tmp_path / "plain" / "last.safetensors")
    for given in ([], [[["DET"], ["NOUN"], ["VERB"]]]):
        with pytest.raises(ValueError, match="features= given, but the model was trained without feature columns"):
            plain.tag(["the cat sat"], features=given)
