"""How the command line words what the library says: an encoding advice names the option first ("give --encoding
cp1252 (encoding='cp1252' in Python)", where the library keeps its "parameter (--option)"), a small share of gold
tags is not "0.0%", and ``score MODEL -`` reads standard input as tag, segment, classify and translate do."""
from __future__ import annotations

import io
import sys

import pytest
from clirun import run_cli

CP1252 = "the caf\u00e9 is open\nna\u00efve words\n".encode("cp1252")


def test_encoding_advice_names_the_option_first_on_the_command_line(tmp_path, capsys):
    from rnnkit.data.files import read_text_file
    from rnnkit.errors import DataError

    path = tmp_path / "w.txt"
    path.write_bytes(CP1252 * 3)
    with pytest.raises(DataError, match=r"pass encoding='cp1252' \(--encoding cp1252\), or convert it"):
        read_text_file(path)  # the library: its parameter first
    (tmp_path / "kn.txt").write_text("the cat sat\n" * 5, encoding="utf-8")
    model = str(tmp_path / "kn.safetensors")
    assert run_cli(capsys, ["train", "ngram", "--train", str(tmp_path / "kn.txt"), "--save", model])[0] == 0
    code, _, err = run_cli(capsys, ["score", model, str(path)])
    assert code == 2 and "give --encoding cp1252 (encoding='cp1252' in Python), or convert it: iconv" in err, err
    assert "pass encoding=" not in err


def test_option_first_rewords_every_form_of_the_advice():
    from rnnkit.data.encodings import option_first

    assert option_first("x: give encoding='utf-8' (--encoding utf-8, the default)") == \
        "x: give --encoding utf-8 (the default; encoding='utf-8' in Python)"
    assert option_first("pass encoding='utf-16-le' (--encoding utf-16-le), or") == \
        "give --encoding utf-16-le (encoding='utf-16-le' in Python), or"
    assert option_first("use tag_column=2 (--tag-column 2)") == "use tag_column=2 (--tag-column 2)"


def test_small_shares_are_not_shown_as_zero(capsys):
    from rnnkit.cli.tagging_data import warn_unknown_tags
    from rnnkit.cli.text_warnings import percent
    from rnnkit.tagging.io import TaggingData

    assert [percent(2, 47_377), percent(1, 3), percent(47_376, 47_377), percent(5, 5)] == \
        ["0.004%", "33.3%", ">99.9%", "100.0%"]
    assert [percent(1, 3_000_000), percent(1, 1001)] == ["0.00003%", "0.1%"]  # not "3e-05%", nor "0.10%"
    data = TaggingData(words=[["w"] * 1000] * 50, tags=[["B-NP"] * 999 + ["I-LST"]] + [["B-NP"] * 1000] * 49,
                       features=None)
    warn_unknown_tags(["B-NP"], data, "g.txt")  # was "(0.0%: 'I-LST')"
    assert "g.txt: 1 of its 50,000 gold tags (0.002%: 'I-LST') are tags the model" in capsys.readouterr().err


def test_score_reads_standard_input_as_dash(tmp_path, capsys, monkeypatch):
    (tmp_path / "kn.txt").write_text("the cat sat\n" * 5, encoding="utf-8")
    model = str(tmp_path / "kn.safetensors")
    assert run_cli(capsys, ["train", "ngram", "--train", str(tmp_path / "kn.txt"), "--save", model])[0] == 0
    (tmp_path / "in.txt").write_text("the cat sat\nthe cat\n", encoding="utf-8")
    code, from_file, _ = run_cli(capsys, ["score", model, str(tmp_path / "in.txt")])
    assert code == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbfthe cat sat\r\nthe cat\r\n")))
    code, out, err = run_cli(capsys, ["score", model, "-"])
    assert code == 0 and out == from_file and err.startswith("standard input: 2 lines,"), (out, err)
