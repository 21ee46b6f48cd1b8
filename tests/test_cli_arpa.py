"""`rnnkit evaluate`, `score` and `generate` on an ARPA file give the numbers of the n-gram checkpoint it
was exported from; `--level char` reads a character model's file; a bad file is one line and exit 2."""
from __future__ import annotations

import json
import lzma

import numpy as np
import pytest
from clirun import run_cli
from test_arpa import random_corpus

from rnnkit.cli.main import main

TEXT_LINES = ["the cat sat on the mat", "a dog ran far", "the dog sat", "zebra on a mat"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A word-level KN trigram and a character-level 4-gram, each as a checkpoint and an ARPA file."""
    folder = tmp_path_factory.mktemp("arpa")
    rng = np.random.default_rng(5)
    train = folder / "train.txt"
    train.write_text("".join(" ".join(s) + "\n" for s in random_corpus(rng, 120)), encoding="utf-8")
    test = folder / "test.txt"
    test.write_text("\n".join(TEXT_LINES) + "\n", encoding="utf-8")
    out = {"test": test}
    for level, order in (("word", 3), ("char", 4)):
        stem = folder / f"{level}{order}"
        assert main(["train", "ngram", "--train", str(train), "--order", str(order), "--level", level,
                     "--save", f"{stem}.safetensors", "--arpa", f"{stem}.arpa.xz"]) == 0
        out[level] = (f"{stem}.safetensors", f"{stem}.arpa.xz")
    return out


def json_rows(text):
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("level", ["word", "char"])
def test_evaluate_and_score_an_arpa_file_as_its_checkpoint(models, capsys, level):
    ckpt, arpa = models[level]
    test = str(models["test"])
    level_args = []  # rnnkit's character file says it is one: no --level needed (test_level_* gives it)
    code, native, err = run_cli(capsys, ["evaluate", ckpt, test, "--json"])
    assert code == 0, err
    code, read, err = run_cli(capsys, ["evaluate", arpa, test, "--json", *level_args])
    assert code == 0, err
    native, read = json.loads(native), json.loads(read)
    assert read["tokens"] == native["tokens"] and read["ppl"] == pytest.approx(native["ppl"], rel=1e-7)
    code, text, err = run_cli(capsys, ["evaluate", arpa, test, *level_args])
    assert code == 0 and f"perplexity {native['ppl']:.2f}" in text, (text, err)
    code, native, _ = run_cli(capsys, ["score", ckpt, test, "--per-token", "--json"])
    code, read, err = run_cli(capsys, ["score", arpa, test, "--per-token", "--json", *level_args])
    assert code == 0, err
    native, read = json_rows(native), json_rows(read)
    assert [r["token"] for r in read] == [r["token"] for r in native] and len(read) > 20
    np.testing.assert_allclose([r["logprob"] for r in read], [r["logprob"] for r in native], rtol=1e-7)
    assert [r["oov"] for r in read] == [r["oov"] for r in native]


def test_generate_next_and_interpolate_take_an_arpa_file(models, capsys):
    ckpt, arpa = models["word"]
    rows = []
    for model in (ckpt, arpa):
        code, text, err = run_cli(capsys, ["generate", model, "--prime", "the", "--next", "5", "--json"])
        assert code == 0, err
        rows.append(json_rows(text))
    assert [r["token"] for r in rows[0]] == [r["token"] for r in rows[1]]
    np.testing.assert_allclose([r["prob"] for r in rows[1]], [r["prob"] for r in rows[0]], rtol=1e-7)
    mixed = []
    for other in (ckpt, arpa):
        code, text, err = run_cli(capsys, ["evaluate", ckpt, str(models["test"]), "--interpolate", other,
                                           "--weight", "0.3", "--json"])
        assert code == 0, err
        mixed.append(json.loads(text)["ppl"])
    assert mixed[1] == pytest.approx(mixed[0], rel=1e-7)
    code, text, err = run_cli(capsys, ["generate", arpa, "--length", "12", "--seed", "1"])
    assert code == 0 and len(text.split()) >= 1, err


def test_level_is_for_arpa_files_only(models, capsys):
    ckpt, arpa = models["word"]
    for argv in (["evaluate", ckpt, str(models["test"]), "--level", "word"],
                 ["score", ckpt, str(models["test"]), "--level", "char"],
                 ["generate", ckpt, "--level", "word"]):
        code, _, err = run_cli(capsys, argv)
        assert code == 2 and "--level says how to read an ARPA file's tokens" in err and err.count("\n") == 1, err
    # rnnkit's character file says what it is; a file without that comment line (another tool's) is read at
    # --level word unless told, so interpolating it with a character checkpoint is refused with the hint
    code, out, err = run_cli(capsys, ["evaluate", models["char"][0], str(models["test"]), "--interpolate",
                                      models["char"][1], "--weight", "0.5", "--json"])
    assert code == 0 and json.loads(out)["tokens"] > 20, err
    plain = models["char"][1].replace(".arpa.xz", "-plain.arpa")
    with lzma.open(models["char"][1], "rt", encoding="utf-8") as f:
        lines = f.read().splitlines(keepends=True)
    assert lines[0].startswith("# rnnkit: text=stream")
    with open(plain, "w", encoding="utf-8") as f:
        f.writelines(lines[1:])
    code, _, err = run_cli(capsys, ["evaluate", models["char"][0], str(models["test"]), "--interpolate", plain])
    assert code == 2 and "read at --level word unless told or written by rnnkit of characters" in err, err
    code, _, err = run_cli(capsys, ["evaluate", models["char"][1], str(models["test"]), "--level", "word"])
    assert code == 0 and "are not in" in err and "--level" in err, err  # told: read as told, and warned
    assert (f"rnnkit: warning: {models['char'][1]} is a character model's ARPA file (rnnkit wrote it so: '# rnnkit: "
            "text=stream'), read at --level word as asked") in err, err
    assert err.count("is a character model's ARPA file") == 1, err  # evaluate checks --level twice: says it once
    code, _, err = run_cli(capsys, ["generate", models["char"][1], "--level", "word", "--length", "3", "--seed", "1"])
    assert code == 0 and "is a character model's ARPA file" in err, err
    code, by_file, _ = run_cli(capsys, ["evaluate", models["char"][1], str(models["test"]), "--json"])
    code, told, _ = run_cli(capsys, ["evaluate", plain, str(models["test"]), "--level", "char", "--json"])
    assert json.loads(by_file)["ppl"] == pytest.approx(json.loads(told)["ppl"], rel=1e-12)


def test_a_bad_arpa_file_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t<unk>\n-1\t</s>\n\n\\end\\\n", encoding="utf-8")
    for argv in (["evaluate", str(bad), str(bad)], ["score", str(bad), str(bad)], ["generate", str(bad)]):
        code, out, err = run_cli(capsys, argv)
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert f"{bad}:8: the \\1-grams: section lists 2 n-grams, but the header says ngram 1=3" in err, err


def test_a_character_model_of_one_line_evaluates_from_its_arpa_file_as_from_its_checkpoint(tmp_path, capsys):
    # trained on one line, no n-gram runs on after a newline: the file says the text is one stream all the same
    train = tmp_path / "one.txt"
    train.write_text(" ".join(TEXT_LINES * 5) + "\n", encoding="utf-8")
    test = tmp_path / "test.txt"
    test.write_text("\n".join(TEXT_LINES) + "\n", encoding="utf-8")
    assert main(["train", "ngram", "--train", str(train), "--order", "4", "--level", "char",
                 "--save", str(tmp_path / "c.safetensors"), "--arpa", str(tmp_path / "c.arpa")]) == 0
    capsys.readouterr()
    got = []
    for argv in ([str(tmp_path / "c.safetensors")], [str(tmp_path / "c.arpa")]):
        code, out, err = run_cli(capsys, ["evaluate", argv[0], str(test), "--json", *argv[1:]])
        assert code == 0, err
        got.append(json.loads(out))
    assert got[1]["tokens"] == got[0]["tokens"] and got[1]["ppl"] == pytest.approx(got[0]["ppl"], rel=1e-7)
    first = (tmp_path / "c.arpa").read_text(encoding="utf-8").splitlines()[:2]
    assert first[0].startswith("# rnnkit: text=stream") and first[1] == "\\data\\", first
