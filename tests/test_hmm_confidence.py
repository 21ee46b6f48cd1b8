"""rnnkit tag --nbest / --spans on HMMs trained by rnnkit train hmm, and LoadedTagger.nbest / .spans /
.marginals: every number against enumeration of every tag path of the checkpoint's own model, unknown
words included; HMMs trained with --train-scheme bioes on BIO or IOB1 data too, whose paths are BIOES
ones, printed in the data's scheme."""
from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from clirun import run_cli
from test_hmm_nbest import enumerate_paths, made_up_corpus
from test_tag_confidence import nbest_blocks

from rnnkit.cli.main import main
from rnnkit.data.spans import check_tags, convert
from rnnkit.data.spans import spans as read_spans
from rnnkit.tagging import LoadedTagger

# unknown words (zed, Quux, Smithers, berlin), an empty line, and "smith" (only ever I-PER, which cannot
# open a BIO sentence: with ml emissions no tag path has non-zero probability)
TEXT = "ann lee lives in paris\nzed Quux saw\n\nthe jordan Smithers in berlin\nlee paris\nsmith lives\n"
ADDK2 = ["--order", "2", "--emission", "add_k", "--add-k", "0.5"]
BIOES = ["--train-scheme", "bioes"]
# name: (train hmm options, the data's scheme); the made-up corpus has one-word places only: S-LOC, no B-LOC
MODELS = {"ml3": (["--order", "3"], "bio"), "addk2": (ADDK2, "bio"), "ml3-bioes": (["--order", "3", *BIOES], "bio"),
          "addk2-bioes": ([*ADDK2, *BIOES], "bio"), "addk2-iob1-bioes": ([*ADDK2, *BIOES], "iob1")}
SPANS = {"bio": "iob2", "iob1": "iob1"}  # our scheme names -> rnnkit.data.spans'


@pytest.fixture(scope="module")
def hmms(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hmm_confidence")
    sentences, tags = made_up_corpus(np.random.default_rng(11), size=80)
    paths = {}
    for scheme in SPANS:
        ours = [convert(ts, "iob2", SPANS[scheme]) for ts in tags]
        assert scheme == "bio" or ours != tags  # IOB1 begins a span with I- unless one of its type ends before
        text = "".join("".join(f"{w} {t}\n" for w, t in zip(s, ts)) + "\n" for s, ts in zip(sentences, ours))
        (tmp / f"{scheme}.txt").write_text(text, encoding="utf-8")
    for name, (options, scheme) in MODELS.items():
        paths[name] = str(tmp / f"{name}.st")
        assert main(["train", "hmm", "--train", str(tmp / f"{scheme}.txt"), "--format", "columns", "--scheme", scheme,
                     *options, "--output", paths[name]]) == 0
        loaded = LoadedTagger(paths[name])
        assert (loaded.train_scheme, loaded.spec.scheme) == ("bioes" if BIOES[1] in options else scheme, scheme)
        if BIOES[1] in options:
            assert {"S-LOC", "S-PER", "E-PER"} <= set(loaded.trained_tags) and all(t[0] in "BIO" for t in loaded.tags)
    return paths


def _tag(capsys, monkeypatch, args):
    monkeypatch.setattr("sys.stdin", io.StringIO(TEXT))
    code, out, err = run_cli(capsys, ["tag", *args])
    assert code == 0, err
    return out


def _exact(loaded, words):
    """{tags: P(tags | words)} of every tag path of non-zero probability under the checkpoint's HMM, the
    path of the HMM's own tags (BIOES when trained so) written in the data's scheme."""
    found = enumerate_paths(*loaded.model._scores(words))
    exact = {tuple(loaded.scheme_map.sequence([loaded.trained_tags[i] for i in path])): math.exp(lp)
             for path, lp in found}
    assert len(exact) == len(found), "two paths of non-zero probability read as the same sequence"
    return exact


@pytest.mark.parametrize("name", list(MODELS))
def test_tag_nbest_prints_every_path_with_its_enumerated_probability(hmms, name, capsys, monkeypatch):
    plain = _tag(capsys, monkeypatch, [hmms[name]]).splitlines()
    out = _tag(capsys, monkeypatch, [hmms[name], "--nbest", "1024"])  # 5 words: every path (4^5; 396 BIOES)
    blocks = nbest_blocks(out)
    assert len(blocks) == len(plain) == 6 and blocks[2] == [["1", "1", ""]]  # the empty line: its one sequence
    loaded = LoadedTagger(hmms[name])
    scheme = SPANS[MODELS[name][1]]
    impossible = 0
    for rows, line, sentence in zip(blocks, plain, TEXT.splitlines()):
        if not sentence:
            assert loaded.nbest(sentence, 3) == loaded.model.nbest([], 3) == [([], 1.0)]
            continue
        words = sentence.split()
        exact = _exact(loaded, words)
        lib = loaded.nbest(sentence, 1024)
        if not exact:  # "smith lives" under ml: the printed tags, probability undefined ('-'), no n best in Python
            assert name.startswith("ml3") and len(rows) == 1 and rows[0][1:] == ["-", line]
            assert lib == [] == loaded.model.nbest(words, 3) and np.isnan(loaded.marginals(sentence)).all()
            impossible += 1
            continue
        assert [r[0] for r in rows] == [str(k) for k in range(1, len(exact) + 1)]
        assert rows[0][2] == line, "the best sequence is the one rnnkit tag prints"
        assert [r[1] for r in rows] == [f"{p:.4g}" for _, p in lib]
        assert [r[2] for r in rows] == [" ".join(f"{w}/{t}" for w, t in zip(words, tags)) for tags, _ in lib]
        assert abs(sum(p for _, p in lib) - 1.0) < 1e-10 and len({tuple(t) for t, _ in lib}) == len(exact)
        want = np.zeros((len(words), len(loaded.tags)))  # the marginals (--probs): the paths' sums per data tag
        for tags, p in lib:
            assert abs(p - exact[tuple(tags)]) < 1e-10, (sentence, tags, p, exact[tuple(tags)])
            check_tags(tags, scheme)  # the data's scheme: no S- or E- when trained in BIOES
            want[np.arange(len(words)), [loaded.tags.index(t) for t in tags]] += p
        assert np.abs(loaded.marginals(sentence) - want).max() < 1e-10
        assert [p for _, p in lib] == sorted((p for _, p in lib), reverse=True)
        assert loaded.nbest(sentence, 3) == lib[:3] or abs(lib[2][1] - lib[3][1]) < 1e-12
    assert impossible == name.startswith("ml3")


@pytest.mark.parametrize("name", list(MODELS))
def test_tag_spans_prints_each_spans_summed_path_probability(hmms, name, capsys, monkeypatch):
    plain = _tag(capsys, monkeypatch, [hmms[name]]).splitlines()
    rows = [json.loads(line) for line in _tag(capsys, monkeypatch, [hmms[name], "--spans"]).splitlines()]
    loaded = LoadedTagger(hmms[name])
    scheme = SPANS[MODELS[name][1]]
    lib = loaded.spans(TEXT.splitlines())
    assert len(rows) == 6 and rows[2] == {"spans": []}
    checked = 0
    for row, line, sentence, lib_spans in zip(rows, plain, TEXT.splitlines(), lib):
        tags = [t.rsplit("/", 1)[1] for t in line.split()]
        assert [(s["type"], s["start"], s["end"]) for s in row["spans"]] == read_spans(tags, scheme)
        exact = _exact(loaded, sentence.split())
        for shown, got in zip(row["spans"], lib_spans):
            if not exact:  # no path of non-zero probability: null on the command line, NaN in Python
                assert shown["prob"] is None and math.isnan(got["prob"]), shown
                continue
            key = (shown["type"], shown["start"], shown["end"])
            want = sum(p for path, p in exact.items() if key in read_spans(list(path), scheme))
            assert abs(got["prob"] - want) < 1e-10 and shown["prob"] == round(got["prob"], 6), (key, got, want)
            assert 0 < want < 1 + 1e-12
            checked += 1
    assert checked >= 5
