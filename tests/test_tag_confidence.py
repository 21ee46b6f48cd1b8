"""rnnkit tag --probs / --nbest / --spans and LoadedTagger.marginals / .nbest / .spans on tiny trained
models: the command line prints the library's numbers, the library's numbers are those of every path
enumerated, spans are those rnnkit's span reader finds in the predicted tags, and options that cannot
apply are refused in one line."""
from __future__ import annotations

import io
import itertools
import json

import numpy as np
import pytest
from clirun import run_cli, write_conllu

from rnnkit.cli.main import main
from rnnkit.constraints import is_allowed
from rnnkit.data.spans import spans as read_spans
from rnnkit.tagging import LoadedTagger

PEOPLE = [["John", "Smith"], ["Mary"], ["Ann", "Lee"]]
PLACES = [["Paris"], ["New", "York"], ["Berlin"]]
RAW = "John Smith lives in New York\nMary lives in Paris\n\nAnn Lee lives in Berlin\nParis lives in Mary Lee\n"


def _ner_lines(n=80, seed=0):
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        who = PEOPLE[int(rng.integers(3))]
        where = PLACES[int(rng.integers(3))]
        toks = [(w, ("B-" if i == 0 else "I-") + "PER") for i, w in enumerate(who)] + [("lives", "O"), ("in", "O")]
        toks += [(w, ("B-" if i == 0 else "I-") + "LOC") for i, w in enumerate(where)]
        lines += [f"{w} {t}" for w, t in toks] + [""]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("confidence")
    ner = tmp / "ner.txt"
    ner.write_text(_ner_lines(), encoding="utf-8")
    pos = write_conllu(tmp / "pos.conllu", [[("the", "DET"), ("cat", "NOUN"), ("sat", "VERB")],
                                            [("a", "DET"), ("dog", "NOUN"), ("ran", "VERB")]] * 10)
    common = ["--epochs", "3", "--embed", "6", "--hidden", "6", "--lr", "0.05", "--progress", "none",
              "--checkpoint-minutes", "0"]
    runs = {"crf": ["--train", str(ner), "--format", "columns", "--scheme", "bio", "--crf"],
            "softmax": ["--train", str(ner), "--format", "columns", "--scheme", "bio"],
            "pos": ["--train", str(pos)]}
    for name, args in runs.items():
        assert main(["train", "tagger", *args, *common, "--run-dir", str(tmp / name)]) == 0, name
    assert main(["train", "hmm", "--train", str(ner), "--format", "columns", "--scheme", "bio",
                 "--output", str(tmp / "hmm.st")]) == 0
    paths = {name: str(tmp / name / "last.safetensors") for name in runs}
    paths["hmm"] = str(tmp / "hmm.st")
    paths["dir"] = tmp
    return paths


def _tag(capsys, monkeypatch, args, text=RAW):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code, out, err = run_cli(capsys, ["tag", *args])
    assert code == 0, err
    return out


def nbest_blocks(out):
    """``tag --nbest`` output as its blocks: per sentence the rows (split at tabs) up to the blank line."""
    blocks, block = [], []
    for row in out.split("\n")[:-1]:
        if row:
            block.append(row.split("\t"))
        else:
            blocks.append(block)
            block = []
    assert block == [], "output ends inside a block"
    return blocks


@pytest.mark.parametrize("kind", ["crf", "softmax", "hmm"])
def test_probs_are_the_library_marginals_of_the_tags_tag_prints(models, kind, capsys, monkeypatch):
    plain = _tag(capsys, monkeypatch, [models[kind]])
    out = _tag(capsys, monkeypatch, [models[kind], "--probs"])
    loaded = LoadedTagger(models[kind])
    marginals = loaded.marginals([line for line in RAW.splitlines()])
    with pytest.raises(ValueError, match="Expected n to be an integer >= 1"):  # 0 was "not asked": None
        loaded.nbest(RAW.splitlines(), 0)
    assert len(out.splitlines()) == len(plain.splitlines()) == 5
    for line, plain_line, marg in zip(out.splitlines(), plain.splitlines(), marginals):
        items = [token.rsplit("/", 1) for token in line.split()]
        assert " ".join(tagged for tagged, _ in items) == plain_line  # the same tags as without --probs
        words = [token.rsplit("/", 2)[0] for token in line.split()]
        if kind == "hmm" and words and loaded.model.log_likelihood(words) == -np.inf:
            # no tag path of non-zero probability (Viterbi falls back to one of probability 0): NaN, shown '-'
            assert np.isnan(marg).all() and all(p == "-" for _, p in items)
            continue
        for k, (tagged, p) in enumerate(items):
            tag = tagged.rsplit("/", 1)[1]
            assert p == f"{marg[k, loaded.tags.index(tag)]:.4f}", (line, k)
        assert np.allclose(marg.sum(axis=1), 1.0)
        if kind == "hmm" and words:  # forward-backward's posteriors, columns in the order of .tags
            assert np.array_equal(marg, loaded.model.posteriors(words))
    monkeypatch.setattr("rnnkit.cli.tag.BLOCK", 1)  # a sentence a block: the same text
    assert _tag(capsys, monkeypatch, [models[kind], "--probs"]) == out


@pytest.mark.parametrize("kind", ["crf", "softmax"])
def test_nbest_and_marginals_agree_with_every_legal_path(models, kind):
    """All legal paths of a 3-word sentence by n-best: they sum to 1, are legal, and their sums per tag
    are the marginals, per span the span probabilities; the best one is the tags rnnkit tag prints."""
    loaded = LoadedTagger(models[kind])
    words = "Mary lives Paris"
    every = loaded.nbest(words, 200)
    K = len(loaded.tags)
    legal = [p for p in itertools.product(range(K), repeat=3) if is_allowed(p, *loaded.allowed)]
    assert len(every) == len(legal) and abs(sum(p for _, p in every) - 1) < 1e-9
    assert all(is_allowed([loaded.tags.index(t) for t in tags], *loaded.allowed) for tags, _ in every)
    probs = [p for _, p in every]
    assert probs == sorted(probs, reverse=True)
    assert every[0][0] == loaded.tag(words)
    for n in (0, -1, 2.5):  # 0 was read as "not asked" and gave None
        with pytest.raises((ValueError, TypeError), match="Expected n to be an integer >= 1"):
            loaded.nbest(words, n)
    want = np.zeros((3, K))
    for tags, p in every:
        want[np.arange(3), [loaded.tags.index(t) for t in tags]] += p
    err = np.abs(loaded.marginals(words) - want).max()
    assert err < 1e-9, f"marginals differ from the n-best sums by {err}"
    found = loaded.spans(words)
    assert found, "no span predicted: nothing checked"
    for span in found:  # the sum over the paths that read as holding it
        key = (span["type"], span["start"], span["end"])
        exact = sum(p for tags, p in every if key in read_spans(tags, "iob2"))
        assert abs(span["prob"] - exact) < 1e-9, (span, exact)


def test_softmax_marginals_without_constraints_are_the_softmax(models):
    loaded = LoadedTagger(models["pos"])
    from rnnkit.tagging.task import make_batch

    data_words = [["the", "dog", "sat"], ["a", "cat"]]
    from rnnkit.tagging.io import TaggingData

    enc = loaded.encoder.encode(TaggingData(data_words, None, None, None))
    s, _ = loaded.model.scores(make_batch(enc, np.array([0, 1])))  # (T, B, K)
    soft = np.exp(s - s.max(axis=2, keepdims=True))
    soft /= soft.sum(axis=2, keepdims=True)
    got = loaded.marginals(data_words)
    assert np.abs(got[0] - soft[:, 0]).max() < 1e-5 and np.abs(got[1] - soft[:2, 1]).max() < 1e-5


@pytest.mark.parametrize("kind", ["crf", "softmax", "hmm"])
def test_spans_are_those_of_the_predicted_tags_with_the_library_probabilities(models, kind, capsys, monkeypatch):
    plain = _tag(capsys, monkeypatch, [models[kind]])
    out = _tag(capsys, monkeypatch, [models[kind], "--spans"])
    loaded = LoadedTagger(models[kind])
    lib = loaded.spans(RAW.splitlines())
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 5 and rows[2] == {"spans": []}
    for row, plain_line, lib_spans in zip(rows, plain.splitlines(), lib):
        words = [t.rsplit("/", 1)[0] for t in plain_line.split()]
        tags = [t.rsplit("/", 1)[1] for t in plain_line.split()]
        assert [(s["type"], s["start"], s["end"]) for s in row["spans"]] == read_spans(tags, "iob2")
        assert [s["text"] for s in row["spans"]] == [" ".join(words[s["start"]:s["end"]]) for s in row["spans"]]
        for shown, exact in zip(row["spans"], lib_spans):
            if kind == "hmm" and shown["prob"] is None:  # a sentence no tag path can produce
                assert np.isnan(exact["prob"]) and loaded.model.log_likelihood(words) == -np.inf
            else:
                assert shown["prob"] == round(exact["prob"], 6) and 0 < exact["prob"] <= 1 + 1e-12


def test_nbest_output_format_and_the_first_sequence_is_the_prediction(models, capsys, monkeypatch):
    plain = _tag(capsys, monkeypatch, [models["crf"]]).splitlines()
    out = _tag(capsys, monkeypatch, [models["crf"], "--nbest", "3"])
    blocks = nbest_blocks(out)  # each sentence's lines, up to the blank line after them
    # the empty line's one sequence, the empty one, of probability 1: as the library gives it
    assert out.endswith("\n") and len(blocks) == 5 and blocks[2] == [["1", "1", ""]]
    loaded = LoadedTagger(models["crf"])
    for rows, line, sentence in zip(blocks, plain, RAW.splitlines()):
        if not line:
            assert loaded.nbest(sentence, 3) == [([], 1.0)] and loaded.nbest([[]], 3) == [[([], 1.0)]]
            continue
        assert [r[0] for r in rows] == ["1", "2", "3"] and rows[0][2] == line
        best = loaded.nbest(sentence, 3)
        assert [r[1] for r in rows] == [f"{p:.4g}" for _, p in best]
    # --nbest K reads BLOCK // K sentences at a time (a block of 10,000 at K = 500 held a gigabyte): the same text
    monkeypatch.setattr("rnnkit.cli.tag.BLOCK", 6)
    assert _tag(capsys, monkeypatch, [models["crf"], "--nbest", "3"]) == out


@pytest.mark.parametrize("kind", ["crf", "hmm"])
def test_conllu_tagged_by_a_model_trained_on_a_column_file_gets_its_tags_in_misc(models, kind, capsys, monkeypatch):
    """A NER model's B-PER is no part of speech: written into MISC as Tag=B-PER, UPOS and XPOS kept (they
    went into UPOS); with --probs, Tag= then TagProb=; a Tag= of an earlier run is replaced in its place."""
    conllu = write_conllu(models["dir"] / "ner.conllu", [[("Mary", "PROPN"), ("lives", "VERB"), ("in", "ADP"),
                                                          ("Paris", "PROPN")]], xpos="X")
    lines = conllu.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][: lines[2].rindex("\t")] + "\tSpaceAfter=No|Tag=old"  # kept; an earlier Tag= replaced
    conllu.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tags = LoadedTagger(models[kind]).tag("Mary lives in Paris")
    marg = LoadedTagger(models[kind]).marginals("Mary lives in Paris")
    for probs in ([], ["--probs"]):
        code, out, err = run_cli(capsys, ["tag", models[kind], str(conllu), "--format", "conllu", *probs])
        assert code == 0 and "not CoNLL-U: its tags go into the MISC column as Tag=TAG" in err, err
        out, given = out.splitlines(), conllu.read_text(encoding="utf-8").splitlines()
        assert len(out) == len(given) == 6 and out[0] == given[0] and out[5] == ""
        for k, tag in enumerate(tags):
            before, after = given[k + 1].split("\t"), out[k + 1].split("\t")
            misc = ("SpaceAfter=No|" if k == 1 else "") + f"Tag={tag}"
            if probs:
                misc += f"|TagProb={marg[k, LoadedTagger(models[kind]).tags.index(tag)]:.4f}"
            assert after[:9] == before[:9] and after[9] == misc, (after, misc)


def test_probs_in_conllu_misc_and_as_a_last_column(models, capsys, monkeypatch):
    tmp = models["dir"]
    conllu = write_conllu(tmp / "test.conllu", [[("the", "DET"), ("dog", "NOUN"), ("sat", "VERB")]])
    lines = conllu.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][: lines[2].rindex("\t")] + "\tSpaceAfter=No"  # a MISC value kept, TagProb added
    conllu.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plain = _tag(capsys, monkeypatch, [models["pos"], str(conllu), "--format", "conllu"]).splitlines()
    out = _tag(capsys, monkeypatch, [models["pos"], str(conllu), "--format", "conllu", "--probs"]).splitlines()
    marg = LoadedTagger(models["pos"]).marginals([["the", "dog", "sat"]])[0]
    tags = LoadedTagger(models["pos"]).tags
    assert out[0] == plain[0] and len(out) == len(plain) == 5
    for k in range(3):
        before, after = plain[k + 1].split("\t"), out[k + 1].split("\t")
        p = f"{marg[k, tags.index(after[3])]:.4f}"
        assert after[:9] == before[:9] and after[9] == ("SpaceAfter=No|" if k == 1 else "") + f"TagProb={p}"
    # tagged again (its own output in): the old TagProb is replaced, not kept beside the new one
    again = tmp / "again.conllu"
    again.write_text("\n".join(out).replace("TagProb=", "TagProb=9") + "\n", encoding="utf-8")
    assert _tag(capsys, monkeypatch, [models["pos"], str(again), "--format", "conllu", "--probs"]).splitlines() == out
    columns = tmp / "test.txt"
    columns.write_text("Mary B-PER\nlives O\n\n", encoding="utf-8")
    plain = _tag(capsys, monkeypatch, [models["crf"], str(columns), "--format", "columns"]).splitlines()
    out = _tag(capsys, monkeypatch, [models["crf"], str(columns), "--format", "columns", "--probs"]).splitlines()
    marg = LoadedTagger(models["crf"]).marginals("Mary lives")
    tags = LoadedTagger(models["crf"]).tags
    for k, (a, b) in enumerate(zip(plain[:2], out[:2])):
        assert b == a + " " + f"{marg[k, tags.index(a.split()[-1])]:.4f}"
    assert out[2:] == plain[2:] == [""]


@pytest.mark.parametrize("args, message", [
    (["pos", "--spans"], "--spans needs a model with span tags (scheme bio, iob1 or bioes)"),
    (["crf", "--probs", "--nbest", "2"], "--probs has no effect with --nbest"),
    (["crf", "--probs", "--spans"], "--probs has no effect with --spans"),
    (["crf", "--spans", "--nbest", "2"], "--nbest and --spans are two different outputs"),
    (["crf", "--nbest", "0"], "argument --nbest: Expected an integer >= 1, got 0"),
])
def test_options_that_cannot_apply_are_refused_in_one_line(models, capsys, monkeypatch, args, message):
    monkeypatch.setattr("sys.stdin", io.StringIO(RAW))
    code, out, err = run_cli(capsys, ["tag", models[args[0]], *args[1:]])
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err


def test_segment_refuses_probs_and_the_library_refuses_alike(models, capsys):
    code, _, err = run_cli(capsys, ["segment", models["crf"], "--probs"])
    assert code == 2 and "--probs is an option of rnnkit tag" in err
    with pytest.raises(ValueError, match="span tags"):
        LoadedTagger(models["pos"]).spans("the dog")


@pytest.mark.parametrize("kind", ["crf", "hmm"])
def test_a_tokenised_sentence_given_as_a_list_of_str_is_warned_about(models, kind):
    """A list of str is a list of sentences: ``tag("Mary lives in Paris".split())`` tags four one-word
    sentences (and "York" of "New York" loses its I- tag); that is warned about, at the caller's line."""
    import warnings

    loaded = LoadedTagger(models[kind])
    words = "Mary lives in Paris".split()
    for call in (lambda: loaded.tag(words), lambda: loaded.nbest(words, 2), lambda: loaded.marginals(words)):
        with pytest.warns(UserWarning, match=r"4 sentences of one word each: a list of str is a list of sentences") \
                as said:
            found = call()
        assert len(found) == 4 and said[0].filename == __file__, said[0].filename
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(loaded.tag([words])) == 1 and len(loaded.tag(" ".join(words))) == 4
        assert len(loaded.tag(["Mary lives", "Paris"])) == 2 and len(loaded.tag(["Paris"])) == 1
        assert len(loaded.tag([["Mary"], ["Paris"]])) == 2  # lists of words: meant as sentences


def test_loaded_tagger_still_imports_from_its_old_module():
    """LoadedTagger moved from rnnkit.tagging.io to rnnkit.tagging.loaded; the old import keeps working."""
    import rnnkit.tagging.io as io

    assert io.LoadedTagger is LoadedTagger and LoadedTagger.__module__ == "rnnkit.tagging.loaded"
    with pytest.raises(AttributeError, match="has no attribute 'Loaded'"):
        io.Loaded  # noqa: B018
