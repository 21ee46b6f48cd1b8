"""The classifier commands' inputs and outputs: validation and test data as polarity pairs
(``--valid-pos/--valid-neg``, ``--test-pos/--test-neg``, ``evaluate --pos/--neg``), and ``classify
--output`` (atomic, compressed by its name, never over its input or model).

Before: ``train classifier --format polarity`` could only be tested on a label<TAB>text file, and
``classify`` wrote to standard output alone while ``tag`` and ``segment`` took ``--output``."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from clirun import run_cli

TINY = ["--embed", "8", "--hidden", "8", "--batch-size", "8", "--epochs", "2", "--lr", "0.02", "--progress", "none",
        "--checkpoint-minutes", "0"]


def _texts(rng, n, cue):
    filler = "the a movie film plot actors story it was and".split()
    out = []
    for _ in range(n):
        words = [str(w) for w in rng.choice(filler, int(rng.integers(2, 6)))]
        words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(cue)))
        out.append(" ".join(words))
    return out


@pytest.fixture()
def pairs(tmp_path):
    """NAME.pos and NAME.neg for train, dev and test, and test.tsv holding test's texts labelled."""
    rng = np.random.default_rng(0)
    for name, n in (("train", 40), ("dev", 12), ("test", 15)):
        for side, cue in (("pos", ["great", "fun"]), ("neg", ["dull", "awful"])):
            (tmp_path / f"{name}.{side}").write_text("".join(t + "\n" for t in _texts(rng, n, cue)), encoding="utf-8")
    (tmp_path / "test.tsv").write_text("".join(f"{side}\t{t}" for side in ("neg", "pos")  # another order
                                               for t in (tmp_path / f"test.{side}").read_text().splitlines(True)),
                                       encoding="utf-8")
    return tmp_path


def _polarity(d, *more):
    return ["train", "classifier", "--format", "polarity", "--pos", str(d / "train.pos"), "--neg",
            str(d / "train.neg"), *more, *TINY]


def test_polarity_pairs_for_validation_and_test(pairs, capsys):
    d = pairs
    run = d / "run"
    code, out, err = run_cli(capsys, _polarity(d, "--valid-pos", str(d / "dev.pos"), "--valid-neg", str(d / "dev.neg"),
                                               "--test-pos", str(d / "test.pos"), "--test-neg", str(d / "test.neg"),
                                               "--run-dir", str(run)))
    assert code == 0 and out.startswith("test: accuracy ") and "over 30 texts" in out, (out, err)
    assert "held out" not in err  # the validation pair validates: nothing of the training data held out
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all("valid_accuracy" in r for r in records if r["type"] == "epoch") and records, records
    assert {r["selected_by"] for r in records if r["type"] == "epoch"} == {"accuracy"}, records
    model = str(run / "best.safetensors")
    # evaluate scores the pair as train --test did, and a TSV of the same texts the same
    code, pair_out, _ = run_cli(capsys, ["evaluate", model, "--pos", str(d / "test.pos"), "--neg", str(d / "test.neg")])
    assert code == 0 and pair_out == f"{d / 'test.pos'} / {d / 'test.neg'}: {out[len('test: '):]}", (pair_out, out)
    code, tsv_out, _ = run_cli(capsys, ["evaluate", model, str(d / "test.tsv")])
    assert code == 0 and tsv_out.split(": ", 1)[1] == pair_out.split(": ", 1)[1], (tsv_out, pair_out)


def test_evaluate_on_a_file_of_sentences_alone_says_how_to_score_them(pairs, capsys):
    """The README walk: 'evaluate MODEL test.pos' said only "expected label<TAB>text, got '...' without a tab"."""
    d = pairs
    run = d / "run"
    assert run_cli(capsys, _polarity(d, "--run-dir", str(run)))[0] == 0
    model = str(run / "last.safetensors")
    code, _, err = run_cli(capsys, ["evaluate", model, str(d / "test.pos")])
    first = (d / "test.pos").read_text().splitlines()[0]
    assert code == 2 and err == (
        f"rnnkit: error: {d / 'test.pos'}:1: expected label<TAB>text, got {first[:40]!r} without a tab; "
        f"{d / 'test.pos'} has no tab on any line: for one file of positive sentences and one of negative ones, "
        "give --pos FILE --neg FILE instead of DATA\n"), err
    # a label<TAB>text file with one bad line: that line, nothing more
    bad = d / "bad.tsv"
    bad.write_text((d / "test.tsv").read_text() + "no tab here\n", encoding="utf-8")
    code, _, err = run_cli(capsys, ["evaluate", model, str(bad)])
    assert code == 2 and err.endswith("got 'no tab here' without a tab\n"), err
    # a model of other labels: give them, or classify
    tsv = d / "abc.tsv"
    tsv.write_text("".join(f"{lab}\t{lab} text {k}\n" for k in range(20) for lab in ("a", "b", "c")), encoding="utf-8")
    assert run_cli(capsys, ["train", "classifier", "--train", str(tsv), "--run-dir", str(d / "abc"), *TINY])[0] == 0
    code, _, err = run_cli(capsys, ["evaluate", str(d / "abc" / "last.safetensors"), str(d / "test.pos")])
    assert code == 2 and err.endswith(f"{d / 'test.pos'} has no tab on any line: give label<TAB>text lines, the "
                                      "label one of the model's (a, b, c), or classify the texts with 'rnnkit "
                                      f"classify MODEL {d / 'test.pos'}'\n"), err


@pytest.mark.parametrize("more,said", [
    (["--test-pos", "P"], "--test-pos needs --test-neg too"),
    (["--valid-neg", "N"], "--valid-neg needs --valid-pos too"),
    (["--test", "T", "--test-pos", "P", "--test-neg", "N"], "would both be the test data"),
    (["--valid-pos", "{d}/dev.pos", "--valid-neg", "{d}/dev.pos"], "are the same file"),
])
def test_a_wrong_polarity_pair_is_one_clear_line(pairs, capsys, more, said):
    more = [m.format(d=pairs) for m in more]
    code, _, err = run_cli(capsys, _polarity(pairs, *more, "--run-dir", str(pairs / "r")))
    assert code == 2 and said in err and "Traceback" not in err, err
    assert not (pairs / "r" / "metrics.jsonl").exists()


def test_polarity_pairs_need_format_polarity_and_no_folds(pairs, capsys):
    d = pairs
    tsv = ["train", "classifier", "--train", str(d / "test.tsv"), "--run-dir", str(d / "r"), *TINY]
    code, _, err = run_cli(capsys, tsv + ["--test-pos", str(d / "test.pos"), "--test-neg", str(d / "test.neg")])
    assert code == 2 and "--test-pos and --test-neg are read with --format polarity" in err, err
    code, _, err = run_cli(capsys, _polarity(d, "--folds", "2", "--test-pos", "P", "--test-neg", "N", "--run-dir",
                                             str(d / "r")))
    assert code == 2 and "--folds 2 validates and tests on each fold's held-out part" in err, err
    code, _, err = run_cli(capsys, ["evaluate", "M", "--pos", "P"])
    assert code == 2, err


def test_classify_output_plain_compressed_and_never_over_its_input(pairs, capsys, monkeypatch):
    d = pairs
    run = d / "run"
    code, _, err = run_cli(capsys, _polarity(d, "--run-dir", str(run)))
    assert code == 0, err
    model = str(run / "best.safetensors")
    texts = d / "texts.txt"
    texts.write_text((d / "test.pos").read_text() + "\n" + (d / "test.neg").read_text(), encoding="utf-8")
    code, shown, err = run_cli(capsys, ["classify", model, str(texts), "--probs"])
    assert code == 0 and shown.count("\n") == 31, (shown, err)
    monkeypatch.setattr("rnnkit.cli.classify.BLOCK", 4)  # written a block at a time: the same file
    for name, read in (("out/labels.txt", lambda p: p.read_text(encoding="utf-8")),
                       ("labels.txt.gz", lambda p: gzip.decompress(p.read_bytes()).decode("utf-8"))):
        code, out, err = run_cli(capsys, ["classify", model, str(texts), "--probs", "--output", str(d / name)])
        assert code == 0 and out == "" and _rows(read(d / name)) == _rows(shown), (name, err)
    before = texts.read_bytes()
    for target in (texts, run / "best.safetensors"):
        code, _, err = run_cli(capsys, ["classify", model, str(texts), "--output", str(target)])
        assert code == 2 and f"--output {target} is a file this command reads" in err, err
    assert texts.read_bytes() == before


def _rows(text):
    """Labels and texts of classify's output, probabilities to 2 decimals (another block, another rounding)."""
    rows = []
    for line in text.split("\n"):
        cells = line.split("\t")
        if len(cells) == 3:
            cells[1] = " ".join(f"{k}:{float(v):.2f}" for k, v in (p.split(":") for p in cells[1].split()))
        rows.append(cells)
    return rows
