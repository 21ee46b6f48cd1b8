"""--train-scheme: BIO and IOB1 tags trained as BIOES (IOB1 as BIO) and every output read back in the
data's scheme.  Round trips of valid and repaired sequences (hypothesis); the marginal map against
enumeration of every legal sequence; a trained CRF's and HMM's marginals, n-best and spans against
every legal path; the command line end to end (tag prints the data's tags, evaluate's F1 a hand
count); refusals, --resume and checkpoints written before the option."""
from __future__ import annotations

import io
import itertools
import json
import math
import re

import numpy as np
import pytest
from clirun import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hmm_forward import all_paths

from rnnkit.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.cli.main import main
from rnnkit.constraints import allowed_transitions, is_allowed
from rnnkit.data.spans import check_tags, convert, spans, spans_to_tags
from rnnkit.tagging import LoadedTagger
from rnnkit.tagging.train_scheme import SchemeMap, check_train_scheme, to_train

SPANS = {"bio": "iob2", "iob1": "iob1", "bioes": "bioes"}
PAIRS = [("bio", "bioes"), ("iob1", "bioes"), ("iob1", "bio")]  # (data, training) schemes
TYPES = ["X", "Y"]


def tag_set(scheme, types=TYPES):
    prefixes = "BIES" if scheme == "bioes" else "BI"
    return ["O"] + [f"{p}-{k}" for k in types for p in prefixes]


@st.composite
def span_lists(draw):
    """Non-overlapping spans over n tokens, adjacent ones of one type included."""
    n = draw(st.integers(0, 14))
    found, i = [], 0
    while i < n:
        if draw(st.booleans()):
            end = draw(st.integers(i + 1, min(n, i + 4)))
            found.append((draw(st.sampled_from(TYPES)), i, end))
            i = end
        else:
            i += 1
    return found, n


def _legal(tags, scheme):
    names = tag_set(scheme)
    return is_allowed([names.index(t) for t in tags], *allowed_transitions(names, scheme))


@settings(max_examples=300, deadline=None)
@given(span_lists(), st.sampled_from(PAIRS))
def test_valid_sequences_go_there_and_back_unchanged(case, schemes):
    found, n = case
    data, train = schemes
    tags = spans_to_tags(found, n, SPANS[data])
    trained = to_train([tags], data, train)[0]
    assert _legal(trained, train) and spans(trained, SPANS[train]) == found
    if train == "bioes":  # single-token spans are S-, the last token of a longer one E-
        assert [t[0] for t in trained].count("S") == sum(1 for _, a, b in found if b - a == 1)
        assert [t[0] for t in trained].count("E") == sum(1 for _, a, b in found if b - a > 1)
    back = SchemeMap(tag_set(train), data, train).sequence(trained)
    assert back == tags


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PAIRS), st.data())
def test_ill_formed_sequences_come_back_repaired_with_their_spans(schemes, draw):
    """Any sequence of the data's tags (O I-X, B-X I-Y ...) trains as a legal sequence of the spans
    conlleval reads in it, and comes back as those spans written in the data's scheme (what
    --repair-spans trains on)."""
    data, train = schemes
    tags = draw.draw(st.lists(st.sampled_from(tag_set(data)), max_size=14))
    trained = to_train([tags], data, train)[0]
    assert _legal(trained, train)
    back = SchemeMap(tag_set(train), data, train).sequence(trained)
    assert back == convert(tags, SPANS[data], SPANS[data])
    assert spans(back, SPANS[data]) == spans(tags, SPANS[data])
    check_tags(back, SPANS[data])


def _enumerate(names, scheme, n, rng):
    """Every legal sequence of n tags over ``names`` with a random probability: [(tags, p)]."""
    allowed = allowed_transitions(names, scheme)
    paths = [p for p in itertools.product(range(len(names)), repeat=n) if is_allowed(p, *allowed)]
    weights = np.exp(rng.normal(0, 2, len(paths)))
    return [([names[k] for k in p], w / weights.sum()) for p, w in zip(paths, weights)]


@pytest.mark.parametrize("schemes", PAIRS)
@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("missing", [(), ("S-Y", "E-X", "I-Y"), ("B-Y", "I-Y", "E-Y")])  # Y: single tokens only
def test_mapped_marginals_are_the_sums_over_every_legal_sequence(schemes, n, missing):
    """P(data tag at t) from the model's unary and pair marginals equals the sum of p over the legal
    sequences whose rewriting in the data's scheme has that tag at t; a tag set without some tags too."""
    data, train = schemes
    names = [t for t in tag_set(train) if t not in missing]
    mapped = SchemeMap(names, data, train)
    rng = np.random.default_rng(n)
    K, D = len(names), len(mapped.tags)
    unary, pairs, want = np.zeros((n, K)), np.zeros((n - 1, K, K)), np.zeros((n, D))
    for tags, p in _enumerate(names, train, n, rng):
        ids = [names.index(t) for t in tags]
        unary[np.arange(n), ids] += p
        pairs[np.arange(n - 1), ids[:-1], ids[1:]] += p
        want[np.arange(n), [mapped.tags.index(t) for t in mapped.sequence(tags)]] += p
    got = mapped.marginals(unary, pairs)
    assert got.shape == (n, D) and np.abs(got - want).max() < 1e-12
    assert mapped.needs_pairs == (data == "iob1")
    if data == "iob1":
        with pytest.raises(ValueError, match="pair marginals"):
            mapped.marginals(unary)


def test_the_data_tags_and_the_same_scheme_map_nothing():
    assert SchemeMap(tag_set("bioes"), "bio", "bioes").tags == ["B-X", "B-Y", "I-X", "I-Y", "O"]
    assert SchemeMap(["O", "S-X", "B-Y", "E-Y"], "iob1", "bioes").tags == ["B-X", "B-Y", "I-X", "I-Y", "O"]
    assert SchemeMap(["O", "S-X", "B-Y", "E-Y"], "bio", "bioes").tags == ["B-X", "B-Y", "I-Y", "O"]  # no I-X
    same = SchemeMap(["O", "B-X", "I-X"], "bio", "bio")
    unary = np.array([[0.2, 0.5, 0.3]])
    assert same.tags == ["O", "B-X", "I-X"] and same.marginals(unary) is unary
    assert same.sequence(["O", "I-X"]) == ["O", "I-X"]  # given back as it is
    for data, train in [("none", "bioes"), ("bmes", "bioes"), ("bioes", "bio"), ("bio", "bio2")]:
        with pytest.raises(ValueError, match="Expected"):
            check_train_scheme(data, train)


# ---------------------------------------------------------------------- trained models
PEOPLE = [["John", "Smith"], ["Mary"], ["Ann", "Lee"]]
PLACES = [["Paris"], ["New", "York"], ["Berlin"]]


def _ner(n=80, seed=0, scheme="bio"):
    """Column lines 'word TAG', people living in places; IOB1 with two places side by side now and then."""
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(n):
        toks = [(w, "PER") for w in PEOPLE[int(rng.integers(3))]] + [("lives", None), ("in", None)]
        found = [("PER", 0, len(toks) - 2)]
        for _ in range(1 + int(scheme == "iob1" and rng.random() < 0.3)):
            place = PLACES[int(rng.integers(3))]
            found.append(("LOC", len(toks), len(toks) + len(place)))
            toks += [(w, "LOC") for w in place]
        tags = spans_to_tags(found, len(toks), SPANS[scheme])
        sentences.append("".join(f"{w} {t}\n" for (w, _), t in zip(toks, tags)))
    return "\n".join(sentences)


COMMON = ["--epochs", "8", "--embed", "8", "--hidden", "8", "--lr", "0.05", "--progress", "none",
          "--checkpoint-minutes", "0"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train_scheme")
    paths = {}
    for scheme in ("bio", "iob1"):
        data = tmp / f"{scheme}.txt"
        data.write_text(_ner(scheme=scheme), encoding="utf-8")
        paths[f"{scheme}-data"] = data
        for output in ("crf", "softmax"):
            run = tmp / f"{scheme}-{output}"
            argv = ["train", "tagger", "--train", str(data), "--format", "columns", "--scheme", scheme,
                    "--train-scheme", "bioes", *COMMON, "--run-dir", str(run)] + (["--crf"] if output == "crf" else [])
            assert main(argv) == 0
            paths[f"{scheme}-{output}"] = str(run / "last.safetensors")
        assert main(["train", "hmm", "--train", str(data), "--format", "columns", "--scheme", scheme,
                     "--train-scheme", "bioes", "--output", str(tmp / f"{scheme}-hmm.st")]) == 0
        paths[f"{scheme}-hmm"] = str(tmp / f"{scheme}-hmm.st")
    paths["dir"] = tmp
    return paths


@pytest.mark.parametrize("kind", ["bio-crf", "bio-softmax", "iob1-crf", "iob1-softmax"])
def test_marginals_nbest_and_spans_agree_with_every_legal_path(models, kind):
    """All legal BIOES paths of a 4-word sentence by n-best: distinct once written in the data's scheme,
    summing to 1; their sums per data tag are the marginals, per span the span probabilities."""
    loaded = LoadedTagger(models[kind])
    scheme = kind.split("-")[0]
    assert loaded.train_scheme == "bioes" and loaded.spec.scheme == scheme
    assert any(t[0] in "ES" for t in loaded.trained_tags) and not any(t[0] in "ES" for t in loaded.tags)
    words = "Mary lives Paris Berlin"
    every = loaded.nbest(words, 5000)
    legal = [p for p in itertools.product(range(len(loaded.trained_tags)), repeat=4) if is_allowed(p, *loaded.allowed)]
    assert len(every) == len(legal) == len({tuple(tags) for tags, _ in every})
    assert abs(sum(p for _, p in every) - 1) < 1e-9
    assert every[0][0] == loaded.tag(words)
    want = np.zeros((4, len(loaded.tags)))
    for tags, p in every:
        check_tags(tags, SPANS[scheme])
        want[np.arange(4), [loaded.tags.index(t) for t in tags]] += p
    got = loaded.marginals(words)
    assert np.abs(got - want).max() < 1e-9, f"marginals differ from the path sums by {np.abs(got - want).max()}"
    if scheme == "iob1":  # B-LOC where a place follows a place: the pair marginals were needed
        assert want[3, loaded.tags.index("B-LOC")] > 1e-6
    found = loaded.spans(words)
    assert found
    for span in found:
        key = (span["type"], span["start"], span["end"])
        exact = sum(p for tags, p in every if key in spans(tags, SPANS[scheme]))
        assert abs(span["prob"] - exact) < 1e-9, (span, exact)


@pytest.mark.parametrize("scheme", ["bio", "iob1"])
def test_hmm_marginals_are_the_sums_over_every_path(models, scheme):
    loaded = LoadedTagger(models[f"{scheme}-hmm"])
    hmm = loaded.model
    names = hmm.tags_
    assert loaded.train_scheme == "bioes" and any(t.startswith("S-") for t in names)
    words = "Ann Lee lives in New York Paris".split() if scheme == "iob1" else "Ann Lee lives in New York".split()
    log_trans, log_emit = hmm._scores(words)
    scored = list(all_paths(log_trans, log_emit))
    log_p = np.logaddexp.reduce([s for _, s in scored])
    assert log_p > -np.inf
    want = np.zeros((len(words), len(loaded.tags)))
    for path, score in scored:
        if score > -np.inf:
            tags = loaded.scheme_map.sequence([names[k] for k in path])
            want[np.arange(len(words)), [loaded.tags.index(t) for t in tags]] += math.exp(score - log_p)
    got = loaded.marginals([words])[0]
    assert np.abs(got - want).max() < 1e-9
    if scheme == "iob1":  # the second place of two: B-LOC, from the pair posteriors
        assert want[-1, loaded.tags.index("B-LOC")] > 0.5
    assert loaded.tag([words])[0] == loaded.scheme_map.sequence(hmm.predict([words])[0])


# ---------------------------------------------------------------------- the command line
GOLD = ("John B-PER\nSmith I-PER\nlives O\nin O\nNew B-LOC\nYork I-LOC\n\n"
        "Mary B-PER\nlives O\nin O\nNew B-LOC\nYork B-LOC\n\n"  # gold: two places where the model reads one
        "Ann B-LOC\nLee I-LOC\nlives O\nin O\nParis B-LOC\n")  # gold: a place where the model reads a person


@pytest.mark.parametrize("trainer", ["tagger", "hmm"])
def test_tag_prints_bio_and_evaluate_counts_the_data_spans(tmp_path, capsys, monkeypatch, trainer):
    """Trained as BIOES on BIO data, tag prints the BIO tags of the spans it reads and evaluate scores
    them as the data's spans: predicted 6 spans, gold 7, 4 of them right (counted by hand below)."""
    data = tmp_path / "ner.txt"
    data.write_text(_ner(), encoding="utf-8")
    gold = tmp_path / "gold.txt"
    gold.write_text(GOLD, encoding="utf-8")
    model = str(tmp_path / ("hmm.st" if trainer == "hmm" else "run/last.safetensors"))
    argv = ["train", trainer, "--train", str(data), "--format", "columns", "--scheme", "bio", "--train-scheme",
            "bioes", "--test", str(gold)]
    argv += ["--output", model] if trainer == "hmm" else ["--crf", *COMMON, "--run-dir", str(tmp_path / "run"),
                                                          "--valid", str(gold)]
    code, out, err = run_cli(capsys, argv)
    said = "(BIOES, rewritten from BIO)" if trainer == "tagger" else "(BIOES tags, rewritten from BIO)"
    assert code == 0 and said in err, err
    trained_test = out
    monkeypatch.setattr("sys.stdin", io.StringIO("John Smith lives in New York\nMary lives in New York\n"
                                                 "Ann Lee lives in Paris\n"))
    code, out, err = run_cli(capsys, ["tag", model])
    assert code == 0, err
    assert out == ("John/B-PER Smith/I-PER lives/O in/O New/B-LOC York/I-LOC\n"
                   "Mary/B-PER lives/O in/O New/B-LOC York/I-LOC\n"
                   "Ann/B-PER Lee/I-PER lives/O in/O Paris/B-LOC\n")
    code, out, err = run_cli(capsys, ["tag", model, str(gold), "--format", "columns"])
    assert code == 0 and [line.split()[-1] for line in out.splitlines() if line][:6] == \
        ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC"], out
    code, out, err = run_cli(capsys, ["evaluate", model, str(gold)])
    assert code == 0, err
    # spans: John Smith, New York, Mary and Paris right; gold's New | York and Ann Lee (LOC) missed, the
    # predicted New York and Ann Lee (PER) wrong: P 4/6, R 4/7, F1 8/13; tokens: York, Ann, Lee wrong of 16
    assert f"precision {100 * 4 / 6:.2f}% recall {100 * 4 / 7:.2f}% F1 {100 * 8 / 13:.2f} (token accuracy " \
           f"{100 * 13 / 16:.2f}%)" in out, out
    assert "LOC: precision  66.67% recall  40.00% F1  50.00 (5 gold)" in out, out
    assert "PER: precision  66.67% recall 100.00% F1  80.00 (2 gold)" in out, out
    if trainer == "hmm":
        assert f"F1 {100 * 8 / 13:.2f}" in trained_test  # train's --test: the same spans
        return
    # the validation score of the model saved last; --test scores the best on validation, as evaluate does
    last = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()][-1]
    assert last["valid_f1"] == pytest.approx(8 / 13) and last["valid_accuracy"] == pytest.approx(13 / 16), last
    code, out, err = run_cli(capsys, ["evaluate", str(tmp_path / "run" / "best.safetensors"), str(gold)])
    assert code == 0 and trained_test.startswith("test: " + out.splitlines()[0].split(": ", 1)[1]), (trained_test, out)


@pytest.mark.parametrize("args, words", [
    (["--scheme", "none"], "--train-scheme bioes rewrites the span tags of BIO or IOB1 data, and --scheme none"),
    ([], "--scheme none (the default for CoNLL-U and column files) reads no spans"),
    (["--scheme", "bmes"], "--scheme bmes tags the characters of words, not spans"),
    (["--scheme", "bioes"], "--train-scheme bioes: the data is BIOES already (--scheme bioes); leave --train-scheme"),
    (["--scheme", "bio", "--train-scheme", "bio"], "--train-scheme bio: the data is BIO already"),
    (["--scheme", "bioes", "--train-scheme", "bio"], "BIOES data (--scheme bioes) is trained as it is: give --scheme "
                                                     "iob1 for data in IOB1, or leave --train-scheme out"),
    (["--format", "segmented"], "--scheme bmes tags the characters of words"),
])
@pytest.mark.parametrize("trainer", ["tagger", "hmm"])
def test_schemes_without_spans_to_rewrite_are_refused_in_one_line(tmp_path, capsys, args, words, trainer):
    data = tmp_path / "d.txt"
    data.write_text("北京 大学\n" if "segmented" in args else "John S-PER\nlives O\n", encoding="utf-8")
    if "--train-scheme" not in args:
        args = [*args, "--train-scheme", "bioes"]
    if "--format" not in args:
        args = [*args, "--format", "columns"]
    out_args = ["--output", str(tmp_path / "h.st")] if trainer == "hmm" else ["--run-dir", str(tmp_path / "r")]
    code, out, err = run_cli(capsys, ["train", trainer, "--train", str(data), *args, *out_args])
    assert code == 2 and words in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "r").exists() and not (tmp_path / "h.st").exists()


def _drop_train_scheme(path):
    arrays, meta = load_checkpoint(path)
    del meta["task"]["train_scheme"]
    save_checkpoint(path, arrays, meta)


def test_resume_refuses_another_train_scheme_and_old_checkpoints_read_as_before(tmp_path, capsys, monkeypatch):
    data = tmp_path / "ner.txt"
    data.write_text(_ner(30), encoding="utf-8")
    base = ["train", "tagger", "--train", str(data), "--format", "columns", "--scheme", "bio", "--crf", "--embed", "4",
            "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0"]
    run = ["--run-dir", str(tmp_path / "r")]
    assert run_cli(capsys, [*base, *run, "--epochs", "1", "--train-scheme", "bioes"])[0] == 0
    code, _, err = run_cli(capsys, [*base, *run, "--epochs", "2", "--resume"])
    assert code == 2 and "other data or options (--train-scheme (train_scheme) 'bioes' then, 'bio' now); " in err, err
    assert len([line for line in err.splitlines() if "error" in line]) == 1, err
    # a run of an earlier version: its checkpoints have no train_scheme, and it trained in the data's scheme
    old = ["--run-dir", str(tmp_path / "old")]
    assert run_cli(capsys, [*base, *old, "--epochs", "1"])[0] == 0
    before = LoadedTagger(tmp_path / "old" / "last.safetensors")
    sentences = ["Mary lives in Paris", "Ann Lee lives in New York"]
    tagged, probs = before.tag(sentences), before.marginals(sentences)
    _drop_train_scheme(tmp_path / "old" / "last.safetensors")  # no --valid: no best.safetensors
    loaded = LoadedTagger(tmp_path / "old" / "last.safetensors")
    assert "train_scheme" not in loaded.task and loaded.train_scheme == "bio" and loaded.tags == before.tags
    assert loaded.tag(sentences) == tagged
    assert all(np.array_equal(a, b) for a, b in zip(loaded.marginals(sentences), probs))
    code, _, err = run_cli(capsys, [*base, *old, "--epochs", "2", "--train-scheme", "bioes", "--resume"])
    assert code == 2 and "--train-scheme (train_scheme) 'bio' then, 'bioes' now" in err, err
    code, _, err = run_cli(capsys, [*base, *old, "--epochs", "2", "--resume"])
    assert code == 0 and "resumed from" in err, err


def test_a_damaged_train_scheme_in_a_checkpoint_is_said(models, tmp_path, capsys):
    path = tmp_path / "hmm.st"
    arrays, meta = load_checkpoint(models["bio-hmm"])
    meta["task"]["train_scheme"] = "bmes"
    save_checkpoint(path, arrays, meta)
    code, _, err = run_cli(capsys, ["evaluate", str(path), str(models["bio-data"])])
    assert code == 2 and "damaged tagger metadata" in err and "got 'bmes'" in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_resume_with_another_train_scheme_names_that_option_alone(tmp_path, capsys):
    """The new scheme's tags (encoder.tags, tagger_config.num_tags) and the --valid file encoded in them follow
    from --train-scheme: they were listed beside it, which docs/training.md says such messages leave out."""
    data = tmp_path / "ner.txt"
    data.write_text(_ner(30), encoding="utf-8")
    (tmp_path / "dev.txt").write_text(_ner(10, seed=1), encoding="utf-8")
    base = ["train", "tagger", "--train", str(data), "--valid", str(tmp_path / "dev.txt"), "--format", "columns", "--scheme", "bio",
            "--crf", "--embed", "4", "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0",
            "--run-dir", str(tmp_path / "r")]
    assert run_cli(capsys, [*base, "--epochs", "1"])[0] == 0
    code, _, err = run_cli(capsys, [*base, "--epochs", "2", "--train-scheme", "bioes", "--resume"])
    assert code == 2 and "(--train-scheme (train_scheme) 'bio' then, 'bioes' now); resume with" in err, err
    for consequence in ("encoded differently", "encoder.tags", "num_tags"):
        assert consequence not in err, err
    code, _, err = run_cli(capsys, [*base, "--epochs", "2", "--train-scheme", "bioes", "--resume", "--lr", "0.5"])
    assert code == 2 and "(--lr (TrainConfig.lr) 0.001 then, 0.5 now; --train-scheme (train_scheme) 'bio' then, " \
                         "'bioes' now); resume with" in err, err


def test_resume_with_another_train_scheme_and_another_valid_file_names_both(tmp_path, capsys):
    """Another --train-scheme always dropped the validation data's change as its consequence, hiding a --valid
    file changed at the same time: it is dropped only when the --valid file is the same bytes."""
    data = tmp_path / "ner.txt"
    data.write_text(_ner(30), encoding="utf-8")
    (tmp_path / "dev.txt").write_text(_ner(10, seed=1), encoding="utf-8")
    (tmp_path / "dev2.txt").write_text(_ner(10, seed=2), encoding="utf-8")
    base = ["train", "tagger", "--train", str(data), "--format", "columns", "--scheme", "bio", "--crf", "--embed", "4",
            "--hidden", "4", "--progress", "none", "--checkpoint-minutes", "0", "--run-dir", str(tmp_path / "r")]
    assert run_cli(capsys, [*base, "--valid", str(tmp_path / "dev.txt"), "--epochs", "1"])[0] == 0
    code, _, err = run_cli(capsys, [*base, "--valid", str(tmp_path / "dev2.txt"), "--epochs", "2", "--train-scheme",
                                    "bioes", "--resume"])
    assert code == 2 and "--train-scheme (train_scheme) 'bio' then, 'bioes' now" in err, err
    assert re.search(r"other training options \(validation data \w{12} then, \w{12} now; --train-scheme", err), err
