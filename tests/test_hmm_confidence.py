"""rnnkit tag --nbest / --spans on HMMs trained by rnnkit train hmm, and LoadedTagger.nbest / .spans: every
number against enumeration of every tag path of the checkpoint's own model, unknown words included."""
from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from clirun import run_cli
from test_hmm_nbest import enumerate_paths, made_up_corpus

from rnnkit.cli.main import main
from rnnkit.data.spans import spans as read_spans
from rnnkit.tagging import LoadedTagger

# unknown words (zed, Quux, Smithers, berlin), an empty line, and "smith" (only ever I-PER, which cannot
# open a BIO sentence: with ml emissions no tag path has non-zero probability)
TEXT = "ann lee lives in paris\nzed Quux saw\n\nthe jordan Smithers in berlin\nlee paris\nsmith lives\n"
MODELS = {"ml3": ["--order", "3"], "addk2": ["--order", "2", "--emission", "add_k", "--add-k", "0.5"]}


@pytest.fixture(scope="module")
def hmms(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hmm_confidence")
    sentences, tags = made_up_corpus(np.random.default_rng(11), size=80)
    train = tmp / "train.txt"
    train.write_text("".join("".join(f"{w} {t}\n" for w, t in zip(s, ts)) + "\n" for s, ts in zip(sentences, tags)),
                     encoding="utf-8")
    paths = {}
    for name, options in MODELS.items():
        paths[name] = str(tmp / f"{name}.st")
        assert main(["train", "hmm", "--train", str(train), "--format", "columns", "--scheme", "bio", *options,
                     "--output", paths[name]]) == 0
    return paths


def _tag(capsys, monkeypatch, args):
    monkeypatch.setattr("sys.stdin", io.StringIO(TEXT))
    code, out, err = run_cli(capsys, ["tag", *args])
    assert code == 0, err
    return out


def _exact(loaded, words):
    """{tags: P(tags | words)} of every tag path of non-zero probability under the checkpoint's HMM."""
    found = enumerate_paths(*loaded.model._scores(words))
    return {tuple(loaded.tags[i] for i in path): math.exp(lp) for path, lp in found}


@pytest.mark.parametrize("name", list(MODELS))
def test_tag_nbest_prints_every_path_with_its_enumerated_probability(hmms, name, capsys, monkeypatch):
    plain = _tag(capsys, monkeypatch, [hmms[name]]).splitlines()
    out = _tag(capsys, monkeypatch, [hmms[name], "--nbest", "1024"])  # 4 tags, 5 words: every path
    blocks, block = [], []
    for row in out.split("\n")[:-1]:
        if row:
            block.append(row.split("\t"))
        else:
            blocks.append(block)
            block = []
    assert block == [] and len(blocks) == len(plain) == 6 and blocks[2] == []
    loaded = LoadedTagger(hmms[name])
    impossible = 0
    for rows, line, sentence in zip(blocks, plain, TEXT.splitlines()):
        if not sentence:
            continue
        words = sentence.split()
        exact = _exact(loaded, words)
        lib = loaded.nbest(sentence, 1024)
        if not exact:  # "smith lives" under ml: the printed tags, probability undefined
            assert name == "ml3" and len(rows) == 1 and rows[0][1:] == ["nan", line]
            assert len(lib) == 1 and math.isnan(lib[0][1]) and np.isnan(loaded.marginals(sentence)).all()
            impossible += 1
            continue
        assert [r[0] for r in rows] == [str(k) for k in range(1, len(exact) + 1)]
        assert rows[0][2] == line, "the best sequence is the one rnnkit tag prints"
        assert [r[1] for r in rows] == [f"{p:.4g}" for _, p in lib]
        assert [r[2] for r in rows] == [" ".join(f"{w}/{t}" for w, t in zip(words, tags)) for tags, _ in lib]
        assert abs(sum(p for _, p in lib) - 1.0) < 1e-10 and len({tuple(t) for t, _ in lib}) == len(exact)
        for tags, p in lib:
            assert abs(p - exact[tuple(tags)]) < 1e-10, (sentence, tags, p, exact[tuple(tags)])
        assert [p for _, p in lib] == sorted((p for _, p in lib), reverse=True)
        assert loaded.nbest(sentence, 3) == lib[:3] or abs(lib[2][1] - lib[3][1]) < 1e-12
    assert impossible == (name == "ml3")


@pytest.mark.parametrize("name", list(MODELS))
def test_tag_spans_prints_each_spans_summed_path_probability(hmms, name, capsys, monkeypatch):
    plain = _tag(capsys, monkeypatch, [hmms[name]]).splitlines()
    rows = [json.loads(line) for line in _tag(capsys, monkeypatch, [hmms[name], "--spans"]).splitlines()]
    loaded = LoadedTagger(hmms[name])
    lib = loaded.spans(TEXT.splitlines())
    assert len(rows) == 6 and rows[2] == {"spans": []}
    checked = 0
    for row, line, sentence, lib_spans in zip(rows, plain, TEXT.splitlines(), lib):
        tags = [t.rsplit("/", 1)[1] for t in line.split()]
        assert [(s["type"], s["start"], s["end"]) for s in row["spans"]] == read_spans(tags, "iob2")
        exact = _exact(loaded, sentence.split())
        for shown, got in zip(row["spans"], lib_spans):
            if not exact:  # no path of non-zero probability: null on the command line, NaN in Python
                assert shown["prob"] is None and math.isnan(got["prob"]), shown
                continue
            key = (shown["type"], shown["start"], shown["end"])
            want = sum(p for path, p in exact.items() if key in read_spans(list(path), "iob2"))
            assert abs(got["prob"] - want) < 1e-10 and shown["prob"] == round(got["prob"], 6), (key, got, want)
            assert 0 < want < 1 + 1e-12
            checked += 1
    assert checked >= 5
